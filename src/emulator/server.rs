//! The emulator over HTTP (axum): routing of the API's calls below `/client/v4`, credentials,
//! the envelope and headers of every answer, the admin endpoints, and faults that really drop
//! the connection.
//!
//! Routing is done here rather than by axum's router so that no answer, however malformed the
//! request, is ever one of axum's plain-text rejections: every answer is the JSON envelope.
//! Paths are matched against the routes of [`crate::api::endpoint`], the same ones the client
//! builds its paths from. The rules live in [`super::Account`]; this module only translates.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::{Account, After, Emulator, FaultRule, Gate, Rejection};
use crate::api::endpoint::{self, Endpoint, Parsed, RawEndpoint};
use crate::api::error::codes;
use crate::api::wire::{
    BareEnvelope, CreateBindingRequest, Envelope, FailureEnvelope, Message, ResultInfo,
    WireBinding, WireService,
};

/// The path of the API root, which every call's path follows.
pub(crate) const API_ROOT: &str = "/client/v4";
/// The largest request body read (a create body is about 80 bytes).
const MAX_BODY: usize = 64 * 1024;
/// "Method not allowed".
const METHOD_NOT_ALLOWED: u32 = 10405;
const BAD_AUTHORIZATION: (u32, &str) = (
    codes::BAD_AUTHORIZATION,
    "Invalid format for Authorization header",
);
const BAD_AUTH_EMAIL: (u32, &str) = (
    codes::BAD_AUTH_EMAIL,
    "Invalid format for X-Auth-Email header",
);
const BAD_AUTH_KEY: (u32, &str) = (codes::BAD_AUTH_KEY, "Invalid format for X-Auth-Key header");
const MISSING_CREDENTIALS: &str = "Missing X-Auth-Key, X-Auth-Email or Authorization headers";

/// What every handler shares: the emulator, and whether the admin endpoints need the token.
#[derive(Clone)]
struct App {
    em: Emulator,
    /// Listening on loopback only: the admin endpoints are open. Beyond loopback anyone who
    /// can reach the port could change the account or its faults, so they need the token.
    admin_open: bool,
}

/// Serves `emulator` on `listener` until `shutdown` resolves, then lets answers in flight finish.
/// The admin endpoints (`/__svcbind/…`) need the token, with the API's header rules, unless
/// the listener's address is loopback.
pub async fn serve(
    listener: TcpListener,
    emulator: Emulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let admin_open = listener.local_addr()?.ip().is_loopback();
    let app = Router::new().fallback(handle).with_state(App {
        em: emulator,
        admin_open,
    });
    axum::serve(
        Incoming(listener),
        app.into_make_service_with_connect_info::<Connection>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The listener: TCP connections wrapped so that a handler can abort its own connection.
struct Incoming(TcpListener);

impl Listener for Incoming {
    type Io = Abortable;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Abortable, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // Small answers go out at once: Nagle would add delay to every call.
                    let _ = stream.set_nodelay(true);
                    return (
                        Abortable {
                            stream,
                            aborted: Arc::default(),
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP stream that fails every read and write once aborted, so hyper gives the connection up
/// (and closes it) without writing the answer that was being sent: the client sees the
/// connection close with no response, as when a proxy or the network drops it.
struct Abortable {
    stream: TcpStream,
    aborted: Arc<AtomicBool>,
}

impl Abortable {
    fn check(&self) -> io::Result<()> {
        if self.aborted.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by an injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for Abortable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Abortable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// What a handler knows of its connection: the switch that aborts it.
#[derive(Clone)]
struct Connection {
    aborted: Arc<AtomicBool>,
}

impl Connection {
    fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, Incoming>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Incoming>) -> Self {
        Self {
            aborted: stream.io().aborted.clone(),
        }
    }
}

async fn handle(
    State(app): State<App>,
    ConnectInfo(conn): ConnectInfo<Connection>,
    request: Request,
) -> Response {
    let em = &app.em;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    match path.strip_prefix("/__svcbind/") {
        Some(rest) => {
            if !app.admin_open
                && let Err((status, errors)) =
                    check_credentials(&parts.headers, &em.options().token)
            {
                return failure(em, status, errors, None);
            }
            admin(em, &parts.method, rest, body).await
        }
        None => api(em, &conn, &parts.method, path, &parts.headers, body).await,
    }
}

/// One API request, in order: latency, routing, counting, credentials, budget and faults, the
/// rules core, faults after processing.
async fn api(
    em: &Emulator,
    conn: &Connection,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    em.pause().await;
    let parsed = match path.strip_prefix(API_ROOT) {
        Some(below) => endpoint::parse(method.as_str(), below),
        None => Parsed::NoRoute,
    };
    em.count(parsed.key(method.as_str()));
    let (account, endpoint) = match parsed {
        Parsed::Call { account, endpoint } => (account, endpoint),
        Parsed::WrongMethod { allowed, .. } => {
            let mut response = failure(
                em,
                405,
                vec![Message::new(METHOD_NOT_ALLOWED, "Method not allowed")],
                None,
            );
            let allow = allowed
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return response;
        }
        Parsed::NoRoute => {
            return failure(
                em,
                404,
                vec![Message::new(codes::UNKNOWN_ROUTE, "No route for that URI")],
                None,
            );
        }
    };
    if let Err((status, errors)) = check_credentials(headers, &em.options().token) {
        return failure(em, status, errors, None);
    }
    let after = match em.gate(method.as_str(), path).await {
        Gate::Proceed(after) => after,
        Gate::Refuse(r) => return failure(em, r.status, r.errors, r.retry_after),
        Gate::Drop => {
            conn.abort();
            return Response::new(Body::empty());
        }
        Gate::Malformed { status, body } => return malformed(em, status, body),
        Gate::Oversized { bytes } => return oversized(em, bytes),
    };
    let body = if matches!(endpoint, Endpoint::CreateBinding(_)) {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return failure(
                    em,
                    413,
                    vec![Message::new(
                        codes::UNSUPPORTED_BINDING,
                        format!("the request body is larger than {MAX_BODY} bytes"),
                    )],
                    None,
                );
            }
        }
    } else {
        Bytes::new()
    };
    let json = json_content_type(headers);
    let answer = em.process(|a, now| run(endpoint, a, account, json, &body, now));
    match after {
        None => match answer {
            Ok((status, json)) => respond(em, status, json, None),
            Err(r) => failure(em, r.status, r.errors, None),
        },
        Some(After::Status(r)) => failure(em, r.status, r.errors, None),
        Some(After::Drop) => {
            conn.abort();
            Response::new(Body::empty())
        }
        Some(After::Malformed { status }) => {
            let answered = match &answer {
                Ok((status, _)) => *status,
                Err(r) => r.status,
            };
            let (status, body) = super::faults::malformed_answer(Some(status.unwrap_or(answered)));
            malformed(em, status, body)
        }
    }
}

/// Whether the request says its body is JSON (`application/json`, parameters such as a
/// charset allowed). `multipart/form-data`, the other type the API names, passes too; its body
/// then fails to decode as JSON.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("multipart/form-data")
}

/// Runs one call on the rules core: the status and JSON body of the answer. `json` says
/// whether the request's `Content-Type` is one the API takes for a body.
///
/// A create is checked in the order the API routes it: the account, the prefix, the
/// `Content-Type` (400 / 6003 with 6105), the body as JSON (400 / 6007), the body's fields
/// (400 / 1003, pointing at the field), then the rules.
fn run(
    endpoint: RawEndpoint<'_>,
    a: &mut Account,
    account: &str,
    json: bool,
    body: &[u8],
    now: Duration,
) -> Result<(u16, Vec<u8>), Rejection> {
    Ok(match endpoint {
        Endpoint::ListServices => (200, encode(&Envelope::ok(a.list_services(account)?))),
        Endpoint::ListPrefixes => {
            let prefixes = a.list_prefixes(account)?;
            let count = prefixes.len() as u64;
            let mut envelope = Envelope::ok(prefixes);
            envelope.result_info = Some(ResultInfo {
                count: Some(count),
                page: Some(1),
                per_page: Some(count.max(20)),
                total_count: Some(count),
            });
            (200, encode(&envelope))
        }
        Endpoint::GetPrefix(p) => (200, encode(&Envelope::ok(a.get_prefix(account, p)?))),
        Endpoint::ListBindings(p) => (
            200,
            encode(&Envelope::ok(a.list_bindings(account, p, now)?)),
        ),
        Endpoint::CreateBinding(p) => {
            a.check_create_target(account, p)?;
            if !json {
                return Err(Rejection::invalid_content_type());
            }
            let request = parse_create(body)?;
            let created = a.create_binding(account, p, &request.cidr, &request.service_id, now)?;
            (201, encode(&Envelope::ok(created)))
        }
        Endpoint::GetBinding(p, b) => (
            200,
            encode(&Envelope::ok(a.get_binding(account, p, b, now)?)),
        ),
        Endpoint::DeleteBinding(p, b) => {
            a.delete_binding(account, p, b, now)?;
            (200, encode(&BareEnvelope::ok()))
        }
    })
}

/// The body of a create: JSON (else 400 / 6007), an object with string `cidr` and
/// `service_id` (else 400 / 1003, pointing at the field).
fn parse_create(body: &[u8]) -> Result<CreateBindingRequest, Rejection> {
    let bad = |message: String, pointer: Option<&str>| {
        let mut m = Message::new(codes::UNSUPPORTED_BINDING, message);
        if let Some(p) = pointer {
            m = m.with_pointer(p);
        }
        Rejection {
            status: 400,
            errors: vec![m],
        }
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Rejection::malformed_json())?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad(
            "the request body must be a JSON object with `cidr` and `service_id`".to_owned(),
            None,
        ));
    };
    let field = |name: &str, example: &str| {
        let pointer = format!("/{name}");
        match map.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            None | Some(serde_json::Value::Null) => Err(bad(
                format!("`{name}` is required: {example}"),
                Some(&pointer),
            )),
            Some(_) => Err(bad(
                format!("`{name}` must be a string: {example}"),
                Some(&pointer),
            )),
        }
    };
    Ok(CreateBindingRequest {
        cidr: field("cidr", "the CIDR to bind, e.g. \"192.0.2.0/24\"")?,
        service_id: field("service_id", "the id of a service from List Services")?,
    })
}

/// Checks the credentials like the API: a bearer token, or the legacy email + key pair.
/// None at all: 400 / 9106. Malformed: 400 / 6003 "Invalid request headers" with the specific
/// code nested in its `error_chain` (6111, 6102, 6103). Wrong: 403 / 10000.
fn check_credentials(headers: &HeaderMap, token: &str) -> Result<(), (u16, Vec<Message>)> {
    let invalid = |(code, message): (u32, &str)| {
        let error = Message::new(codes::INVALID_HEADERS, "Invalid request headers")
            .caused_by(Message::new(code, message));
        (400, vec![error])
    };
    let forbidden = || {
        (
            403,
            vec![Message::new(codes::AUTHENTICATION, "Authentication error")],
        )
    };
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let given = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace));
        return match given {
            None => Err(invalid(BAD_AUTHORIZATION)),
            Some(given) if same_secret(given, token) => Ok(()),
            Some(_) => Err(forbidden()),
        };
    }
    let email = headers.get("x-auth-email");
    let key = headers.get("x-auth-key");
    if email.is_none() && key.is_none() {
        return Err((
            400,
            vec![Message::new(
                codes::MISSING_CREDENTIALS,
                MISSING_CREDENTIALS,
            )],
        ));
    }
    fn text(v: Option<&HeaderValue>) -> Option<&str> {
        v.and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    if text(email).is_none() {
        return Err(invalid(BAD_AUTH_EMAIL));
    }
    match text(key) {
        None => Err(invalid(BAD_AUTH_KEY)),
        Some(key) if same_secret(key, token) => Ok(()),
        Some(_) => Err(forbidden()),
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && !expected.is_empty()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The body of `GET /__svcbind/state`: the account as the API would show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateView {
    pub account_id: String,
    pub services: Vec<WireService>,
    pub prefixes: Vec<PrefixView>,
}

/// A prefix of [`StateView`] with its bindings (the API's binding objects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixView {
    pub id: String,
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub bindings: Vec<WireBinding>,
}

fn state_view(a: &mut Account, now: Duration) -> StateView {
    let account = a.id().to_string();
    // The account's own id is always routed, and its own prefixes always exist.
    let prefixes = a.list_prefixes(&account).unwrap_or_default();
    StateView {
        services: a.list_services(&account).unwrap_or_default(),
        prefixes: prefixes
            .into_iter()
            .map(|p| p.prefix)
            .map(|p| PrefixView {
                bindings: a.list_bindings(&account, &p.id, now).unwrap_or_default(),
                id: p.id,
                cidr: p.cidr,
                description: p.description,
            })
            .collect(),
        account_id: account,
    }
}

/// `{"count": N}` for `POST /__svcbind/release`; no body releases one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    #[serde(default = "one")]
    count: u64,
}

impl Default for ReleaseRequest {
    fn default() -> Self {
        Self { count: one() }
    }
}

fn one() -> u64 {
    1
}

/// `{"advance_secs": N}` for `POST /__svcbind/clock`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_secs: u64,
}

/// The admin endpoints below `/__svcbind/` (see the module doc of [`super`]).
async fn admin(em: &Emulator, method: &Method, rest: &str, body: Body) -> Response {
    let bad_request = |message: String| {
        failure(
            em,
            400,
            vec![Message::new(codes::UNSUPPORTED_BINDING, message)],
            None,
        )
    };
    let known = ["requests", "faults", "release", "held", "state", "clock"];
    match (method.as_str(), rest) {
        ("GET", "requests") => respond(em, 200, encode(&em.request_counts()), None),
        ("DELETE", "requests") => {
            em.reset_request_counts();
            respond(em, 200, encode(&BareEnvelope::ok()), None)
        }
        ("GET", "faults") => respond(em, 200, encode(&em.pending_faults()), None),
        ("DELETE", "faults") => {
            em.clear_faults();
            respond(em, 200, encode(&BareEnvelope::ok()), None)
        }
        ("POST", "faults") => {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
                return bad_request(format!("the request body is larger than {MAX_BODY} bytes"));
            };
            let rule: FaultRule = match serde_json::from_slice(&bytes) {
                Ok(rule) => rule,
                Err(e) => {
                    return bad_request(format!(
                        "not a fault rule: {e}; expected e.g. {{\"method\": \"POST\", \"times\": 1, \"action\": {{\"type\": \"status\", \"status\": 503}}}}"
                    ));
                }
            };
            if let Err(message) = rule.validate() {
                return bad_request(format!("not a fault rule: {message}"));
            }
            em.add_fault(rule.clone());
            respond(em, 200, encode(&Envelope::ok(rule)), None)
        }
        ("POST", "release") => {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
                return bad_request(format!("the request body is larger than {MAX_BODY} bytes"));
            };
            let request = if bytes.iter().all(u8::is_ascii_whitespace) {
                Ok(ReleaseRequest::default())
            } else {
                serde_json::from_slice::<ReleaseRequest>(&bytes)
            };
            match request {
                Ok(r) => respond(em, 200, encode(&Envelope::ok(em.release(r.count))), None),
                Err(e) => bad_request(format!(
                    "not a release request: {e}; expected {{\"count\": 1}} or no body"
                )),
            }
        }
        ("GET", "held") => respond(em, 200, encode(&em.held()), None),
        ("GET", "state") => {
            let view = em.process(state_view);
            respond(em, 200, encode(&view), None)
        }
        ("POST", "clock") => {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
                return bad_request(format!("the request body is larger than {MAX_BODY} bytes"));
            };
            match serde_json::from_slice::<ClockRequest>(&bytes) {
                Ok(r) => match em.advance(Duration::from_secs(r.advance_secs)) {
                    Ok(()) => respond(em, 200, encode(&BareEnvelope::ok()), None),
                    Err(e) => bad_request(e.to_string()),
                },
                Err(e) => bad_request(format!(
                    "not a clock request: {e}; expected {{\"advance_secs\": 3600}}"
                )),
            }
        }
        (_, r) if known.contains(&r) => failure(
            em,
            405,
            vec![Message::new(METHOD_NOT_ALLOWED, "Method not allowed")],
            None,
        ),
        _ => failure(
            em,
            404,
            vec![Message::new(codes::UNKNOWN_ROUTE, "No route for that URI")],
            None,
        ),
    }
}

/// JSON of an answer. Encoding these plain types cannot fail; if it ever did, the answer
/// says so in the failure envelope instead of panicking.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| {
        br#"{"success":false,"errors":[{"code":9000,"message":"the emulator could not encode its answer"}],"messages":[],"result":null}"#
            .to_vec()
    })
}

fn failure(em: &Emulator, status: u16, errors: Vec<Message>, retry_after: Option<u64>) -> Response {
    respond(
        em,
        status,
        encode(&FailureEnvelope::new(errors)),
        retry_after,
    )
}

/// A JSON answer with the headers every answer carries.
fn respond(em: &Emulator, status: u16, body: Vec<u8>, retry_after: Option<u64>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_ratelimit_headers(em, headers);
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn add_ratelimit_headers(em: &Emulator, headers: &mut HeaderMap) {
    let (ratelimit, policy) = em.ratelimit_headers();
    for (name, value) in [("ratelimit", ratelimit), ("ratelimit-policy", policy)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// The start of the `oversized` fault's body; spaces follow.
pub(crate) const OVERSIZED_START: &[u8] = br#"{"success":true,"result":["#;

/// The `oversized` fault: 200, then `bytes` bytes of an envelope that never ends, streamed in
/// chunks without a length (nothing that large is ever held in memory).
fn oversized(em: &Emulator, bytes: u64) -> Response {
    static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let start = Bytes::from_static(OVERSIZED_START);
    let mut left = bytes.saturating_sub(start.len() as u64);
    let rest = std::iter::from_fn(move || {
        let n = usize::try_from(left.min(SPACES.len() as u64)).ok()?;
        left -= n as u64;
        (n > 0).then(|| Bytes::from_static(&SPACES[..n]))
    });
    let chunks = std::iter::once(start).chain(rest).map(Ok::<_, io::Error>);
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_ratelimit_headers(em, headers);
    response
}

/// The `malformed` fault: an HTML page with its status.
fn malformed(em: &Emulator, status: u16, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    add_ratelimit_headers(em, headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_errors_name_the_field() {
        let err = |body: &str| {
            let r = parse_create(body.as_bytes()).unwrap_err();
            assert_eq!((r.status, r.codes()), (400, vec![1003]));
            let m = &r.errors[0];
            (
                m.message.clone(),
                m.source.as_ref().and_then(|s| s.pointer.clone()),
            )
        };
        let (message, pointer) = err(r#"{"service_id":"x"}"#);
        assert!(message.starts_with("`cidr` is required"), "{message}");
        assert_eq!(pointer.as_deref(), Some("/cidr"));
        let (message, pointer) = err(r#"{"cidr":"192.0.2.0/24","service_id":7}"#);
        assert!(
            message.starts_with("`service_id` must be a string"),
            "{message}"
        );
        assert_eq!(pointer.as_deref(), Some("/service_id"));
        // Not JSON at all: the API's malformed-body answer, not a field's.
        for body in ["cidr=192.0.2.0/24", "", "{\"cidr\":"] {
            let r = parse_create(body.as_bytes()).unwrap_err();
            assert_eq!((r.status, r.codes()), (400, vec![6007]), "{body}");
            assert_eq!(r.errors[0].message, "Malformed JSON in request body");
            assert!(r.errors[0].source.is_none());
        }
        let (message, _) = err("[1]");
        assert!(message.contains("JSON object"), "{message}");
        let ok = parse_create(br#"{"cidr":"192.0.2.0/24","service_id":"s"}"#).unwrap();
        assert_eq!(ok.cidr, "192.0.2.0/24");
    }

    #[test]
    fn a_create_body_is_json_by_its_content_type() {
        let with = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            }
            json_content_type(&headers)
        };
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "multipart/form-data; boundary=x",
        ] {
            assert!(with(Some(ok)), "{ok}");
        }
        for refused in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/jsonx",
        ] {
            assert!(!with(Some(refused)), "{refused}");
        }
        assert!(!with(None));
        let r = Rejection::invalid_content_type();
        assert_eq!((r.status, r.codes()), (400, vec![6003]));
        assert_eq!(r.errors[0].error_chain[0].code, 6105);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", ""));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn missing_credentials_are_9106_and_malformed_ones_nest_their_code_under_6003() {
        let (status, errors) = check_credentials(&headers(&[]), "t0k").unwrap_err();
        assert_eq!(status, 400);
        assert_eq!(
            errors,
            [Message::new(
                9106,
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
            )]
        );
        let (status, errors) =
            check_credentials(&headers(&[("authorization", "Basic x")]), "t0k").unwrap_err();
        assert_eq!(status, 400);
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!([{"code": 6003, "message": "Invalid request headers",
                "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}]}])
        );
        assert!(check_credentials(&headers(&[("authorization", "Bearer t0k")]), "t0k").is_ok());
    }

    /// Serves a fresh emulator on `addr`; the address to reach it at and the emulator.
    async fn start(addr: &str) -> (String, Emulator) {
        let listener = TcpListener::bind(addr).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let em = Emulator::new(
            Account::new(
                super::super::default_account_id(),
                super::super::default_services(),
            ),
            super::super::EmulatorOptions::new("t0k"),
        );
        tokio::spawn(serve(listener, em.clone(), std::future::pending()));
        (format!("http://127.0.0.1:{port}"), em)
    }

    fn http() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    async fn answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    #[tokio::test]
    async fn admin_endpoints_need_the_token_beyond_loopback() {
        let client = http();
        // Beyond loopback (every address): the API's header rules.
        let (url, _) = start("0.0.0.0:0").await;
        let state = format!("{url}/__svcbind/state");
        let (status, body) = answer(client.get(&state)).await;
        assert_eq!(
            (status, body["errors"][0]["code"].clone()),
            (400, 9106.into())
        );
        let (status, body) = answer(client.get(&state).bearer_auth("wrong")).await;
        assert_eq!(
            (status, body["errors"][0]["code"].clone()),
            (403, 10000.into())
        );
        let (status, body) = answer(
            client
                .post(format!("{url}/__svcbind/faults"))
                .header("authorization", "Token t0k")
                .body(r#"{"action":{"type":"drop"}}"#),
        )
        .await;
        assert_eq!(
            (status, body["errors"][0]["code"].clone()),
            (400, 6003.into())
        );
        let (status, body) = answer(client.get(&state).bearer_auth("t0k")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["account_id"], super::super::DEFAULT_ACCOUNT_ID);

        // On loopback: open.
        let (url, _) = start("127.0.0.1:0").await;
        let (status, _) = answer(client.get(format!("{url}/__svcbind/state"))).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_clock_advance_too_far_is_refused_and_the_emulator_goes_on() {
        let client = http();
        let (url, em) = start("127.0.0.1:0").await;
        let clock = format!("{url}/__svcbind/clock");
        let (status, body) = answer(
            client
                .post(&clock)
                .body(format!(r#"{{"advance_secs": {}}}"#, u64::MAX)),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            format!(
                "cannot move the emulated clock {}s ahead: it is already 0s ahead of real time, and may be at most 3153600000s (100 years) ahead",
                u64::MAX
            )
        );
        // Up to the limit it moves; one second more is refused.
        let (status, _) = answer(client.post(&clock).body(format!(
            r#"{{"advance_secs": {}}}"#,
            super::super::MAX_CLOCK_AHEAD.as_secs()
        )))
        .await;
        assert_eq!(status, 200);
        assert!(em.advance(Duration::from_secs(1)).is_err());
        // Every call still answers.
        let services = format!(
            "{url}/client/v4/accounts/{}/addressing/services",
            super::super::DEFAULT_ACCOUNT_ID
        );
        let (status, body) = answer(client.get(&services).bearer_auth("t0k")).await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = answer(client.get(format!("{url}/__svcbind/state"))).await;
        assert_eq!(status, 200);
    }
}
