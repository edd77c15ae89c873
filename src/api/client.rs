//! The HTTP implementation of [`super::Api`]: one `reqwest` client per run, talking to the
//! Cloudflare API (or anything that speaks its envelope, such as `svcbind emulator`).
//!
//! This module owns the wire conversation: URLs from the calls' [`Endpoint`]s, the headers
//! (credentials marked sensitive, and never sent over plain `http://` beyond loopback unless
//! the user accepts that risk), timeouts, pacing ([`super::pace`], fed each answer's
//! `Ratelimit` header), answers read as a stream and capped, and turning every answer into a
//! domain value or an [`ApiError`] in one place (`decode`, over the types of
//! [`super::answer`]: never a generic JSON tree). Every request goes through one
//! private method, `HttpClient::send`, which logs it at info level (method, route template,
//! status, duration, time waited for pacing; never a header). Each call is sent once: retries
//! are a layer around the [`super::Api`] trait ([`super::retry`]). This module never prints
//! and never lets a credential reach an error message, a log line or a `Debug`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::de::{DeserializeOwned, IgnoredAny};

use super::answer::{Head, Loose, ReadBinding, ReadPrefix, ReadService, ResultInfo, ResultOnly};
use super::credentials::Credentials;
use super::endpoint::{Endpoint, Method, Route, TypedEndpoint};
use super::pace::{Pacer, Pacing, RateLimit};
use super::retry::DEFAULT_MAX_RETRY_WAIT;
use super::wire::{CreateBindingRequest, FieldError};
use super::{Api, ApiError, ApiErrorKind, Confirmed, Created, ForeignPrefix};
use crate::model::{
    AccountId, Binding, BindingId, Prefix, PrefixId, ProvisioningState, Service, ServiceId,
};

/// Request timeout when none is given (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect timeout when none is given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer body read when none is given: several times the largest real answer
/// (List Prefixes of 1,000 prefixes is about 1 MB; List Bindings of 256 bindings about
/// 100 KB), small enough that a broken or hostile server cannot exhaust memory, even with
/// `--concurrency` reads at once: answers are decoded straight into typed values, never into a
/// generic JSON tree several times their size.
pub const DEFAULT_MAX_BODY: u64 = 8 * 1024 * 1024;

/// The longest excerpt of a non-JSON body kept in an error, in characters.
const EXCERPT_MAX: usize = 200;

/// What [`HttpClient::new`] needs. `Debug` shows no credential.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API root, e.g. `https://api.cloudflare.com/client/v4` (a trailing `/` is fine).
    pub base_url: String,
    /// The account every call is scoped to.
    pub account_id: AccountId,
    pub credentials: Credentials,
    /// Timeout of a whole request, answer included (more than zero).
    pub timeout: Duration,
    /// Timeout of establishing a connection (more than zero).
    pub connect_timeout: Duration,
    /// svcbind's own request budget.
    pub pacing: Pacing,
    /// The longest the API's `Ratelimit` header may make a request wait (`--max-retry-wait`):
    /// a header that says its window resets later is not followed (see [`super::pace`]).
    pub max_retry_wait: Duration,
    /// The largest answer body read, in bytes.
    pub max_body: u64,
    /// Send the credentials over plain `http://` to a host that is not loopback (anyone on the
    /// way can read them). Off: such a base URL is refused.
    pub allow_insecure_http: bool,
}

impl ClientConfig {
    /// A configuration with the defaults: 60 s per request, 10 s to connect, 600 requests in
    /// any 300 s, the `Ratelimit` header followed for up to 300 s, answers up to 8 MiB,
    /// `http://` only to loopback.
    pub fn new(
        base_url: impl Into<String>,
        account_id: AccountId,
        credentials: Credentials,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            account_id,
            credentials,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pacing: Pacing::default(),
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            max_body: DEFAULT_MAX_BODY,
            allow_insecure_http: false,
        }
    }
}

/// The Cloudflare API over HTTP, scoped to one account.
pub struct HttpClient {
    http: reqwest::Client,
    /// The validated base URL.
    base: Url,
    /// Its path without a trailing `/` (empty for a bare host).
    base_path: String,
    /// The base URL as errors name it, without a trailing `/`.
    base_shown: Arc<str>,
    account_id: AccountId,
    /// How the client authenticates, for `Debug` (never the secret).
    auth: String,
    /// Shared by every request of this client (and cheap to move with it).
    pacer: Arc<Pacer>,
    /// What the last List Prefixes left out as another account's.
    foreign: std::sync::Mutex<Vec<ForeignPrefix>>,
    max_body: u64,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.base.as_str())
            .field("account_id", &self.account_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// reqwest's value of a method.
fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// One call: its route, its method, its path below the base URL and that base URL; builds
/// the errors that name it.
#[derive(Debug, Clone)]
struct Call {
    route: Route,
    method: Method,
    path: String,
    base: Arc<str>,
}

impl Call {
    fn error(&self, kind: ApiErrorKind) -> ApiError {
        let mut e = ApiError::new(self.method.as_str(), self.path.clone(), kind);
        e.details.base_url = Some(self.base.to_string());
        e
    }

    /// An error about an answer: it carries the answer's `Retry-After`, whatever its body.
    fn answer_error(&self, answer: &Answer, kind: ApiErrorKind) -> ApiError {
        let mut e = self.error(kind);
        e.details.retry_after = retry_after(&answer.headers);
        e
    }

    fn field_error(&self, e: FieldError) -> ApiError {
        self.error(ApiErrorKind::Decode {
            field: e.field,
            message: e.message,
        })
    }
}

/// Why no answer could be read.
enum Failure {
    Http(reqwest::Error),
    /// The body was larger than `max_body`.
    TooLarge,
}

/// What the server answered, before any interpretation.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpClient {
    /// Builds the client: checks the base URL and the credentials, and sets the headers and
    /// timeouts every request shares. Nothing is sent.
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let invalid = |message: String| ApiError::new("", "", ApiErrorKind::Invalid { message });
        let base = parse_base_url(&config.base_url).map_err(invalid)?;
        let base_path = base.path().trim_end_matches('/').to_owned();
        if base.scheme() == "http" && !is_loopback(&base) && !config.allow_insecure_http {
            return Err(invalid(format!(
                "refusing to send the API credentials over plain http:// to {}: anyone on the way could read them and use the account; use an https:// URL (--api-url or CLOUDFLARE_BASE_URL), or pass --allow-insecure-http to accept that risk",
                base.host_str().unwrap_or_default()
            )));
        }
        if config.timeout.is_zero() {
            return Err(invalid(String::from(
                "the request timeout is 0s, so every request would fail: give --timeout a duration such as 60s",
            )));
        }
        if config.connect_timeout.is_zero() {
            return Err(invalid(String::from(
                "the connect timeout is 0s, so every request would fail",
            )));
        }

        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let auth = match &config.credentials {
            Credentials::Token(token) => {
                let value = sensitive("Bearer ", token.expose())
                    .ok_or_else(|| invalid(bad_header("the API token")))?;
                headers.insert(header::AUTHORIZATION, value);
                String::from("bearer token")
            }
            Credentials::Legacy { email, key } => {
                let email_value = HeaderValue::from_str(email).map_err(|_| {
                    invalid(format!(
                        "the e-mail `{}` cannot be sent in an HTTP header: check CLOUDFLARE_EMAIL",
                        crate::sanitize::text(email)
                    ))
                })?;
                let key_value = sensitive("", key.expose())
                    .ok_or_else(|| invalid(bad_header("the API key")))?;
                headers.insert("x-auth-email", email_value);
                headers.insert("x-auth-key", key_value);
                format!("legacy API key of {email}")
            }
        };

        // TLS through rustls with the `ring` provider (see the README's development section);
        // installed once per process, unless the embedding program chose another.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("svcbind/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // The API never redirects; following one could carry a request somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid(format!("cannot set up the HTTP client: {e}")))?;

        let base_shown = Arc::from(base.as_str().trim_end_matches('/'));
        Ok(Self {
            http,
            base,
            base_path,
            base_shown,
            account_id: config.account_id,
            auth,
            pacer: Arc::new(Pacer::new(config.pacing).max_wait(config.max_retry_wait)),
            foreign: std::sync::Mutex::default(),
            max_body: config.max_body,
        })
    }

    /// The account every call is scoped to.
    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    /// A call of this client's account. Its path holds only the template's literals and
    /// validated id newtypes, so it needs no escaping.
    fn call(&self, endpoint: TypedEndpoint<'_>) -> Call {
        Call {
            route: endpoint.route(),
            method: endpoint.method(),
            path: endpoint.path(&self.account_id),
            base: Arc::clone(&self.base_shown),
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base_path));
        url
    }

    /// Sends one request, once, when the pacer lets it go, and reads its answer (at most
    /// `max_body` bytes). Every call goes through here; it logs the request at info level.
    async fn send(
        &self,
        call: &Call,
        body: Option<&CreateBindingRequest>,
    ) -> Result<Answer, ApiError> {
        let mut request = self
            .http
            .request(http_method(call.method), self.url(&call.path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let permit = self.pacer.admit().await;
        let waited_ms = permit.waited.as_millis();
        let started = Instant::now();
        let result = match request.send().await {
            Ok(response) => {
                permit.answered(ratelimit(response.headers()));
                self.read(response).await
            }
            Err(e) => {
                drop(permit);
                Err(Failure::Http(e))
            }
        };
        let duration_ms = started.elapsed().as_millis();
        let (method, route) = (call.method.as_str(), call.route.template());
        match result {
            Ok(answer) => {
                tracing::info!(
                    method,
                    route,
                    status = answer.status,
                    duration_ms,
                    waited_ms,
                    "api request"
                );
                tracing::debug!(method, path = %call.path, "api request path");
                Ok(answer)
            }
            Err(failure) => {
                let kind = match failure {
                    Failure::Http(e) => self.classify(e),
                    Failure::TooLarge => ApiErrorKind::TooLarge {
                        limit: self.max_body,
                    },
                };
                tracing::info!(
                    method,
                    route,
                    error = %kind,
                    duration_ms,
                    waited_ms,
                    "api request failed"
                );
                tracing::debug!(method, path = %call.path, "api request path");
                Err(call.error(kind))
            }
        }
    }

    /// Reads an answer's body as a stream, giving up past `max_body` bytes (announced or
    /// read), so an endless or huge answer never fills memory.
    async fn read(&self, mut response: reqwest::Response) -> Result<Answer, Failure> {
        let status = response.status().as_u16();
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(Failure::TooLarge);
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Failure::Http)? {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sorts a transport failure into connect (nothing reached the server), timeout, or a
    /// broken connection. The message is built from the error chain without the URL and never
    /// holds a header.
    fn classify(&self, e: reqwest::Error) -> ApiErrorKind {
        let e = e.without_url();
        if e.is_builder() {
            ApiErrorKind::Invalid {
                message: format!("cannot build the request: {}", chain(&e)),
            }
        } else if e.is_connect() {
            let host = self.base.host_str().unwrap_or("the API");
            let port = self
                .base
                .port_or_known_default()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            ApiErrorKind::Connect {
                message: format!("{host}{port}: {}", chain(&e)),
            }
        } else if e.is_timeout() {
            ApiErrorKind::Timeout
        } else {
            ApiErrorKind::Transport { message: chain(&e) }
        }
    }

    /// Sends a request and decodes the `result` of its answer, which must be present.
    async fn fetch<T: DeserializeOwned>(&self, call: &Call) -> Result<T, ApiError> {
        let answer = self.send(call, None).await?;
        decode::<T>(call, &answer)?
            .0
            .ok_or_else(|| missing_result(call, &answer))
    }

    /// Sends a list call and decodes its items (`null` or absent is no item when `nullable`),
    /// checking that `result_info` does not announce more than came.
    async fn list<T: DeserializeOwned>(
        &self,
        call: &Call,
        items: &'static str,
        nullable: bool,
    ) -> Result<Vec<T>, ApiError> {
        let answer = self.send(call, None).await?;
        let (result, info) = decode::<Vec<T>>(call, &answer)?;
        let list = match result {
            Some(list) => list,
            None if nullable => Vec::new(),
            None => return Err(missing_result(call, &answer)),
        };
        let returned = u32::try_from(list.len()).unwrap_or(u32::MAX);
        if let Some((total, pages)) = info.and_then(|i| i.missing(returned)) {
            return Err(call.answer_error(
                &answer,
                ApiErrorKind::Incomplete {
                    items,
                    returned,
                    total,
                    pages,
                },
            ));
        }
        Ok(list)
    }

    /// Sends a write and reads its answer with `read`. A success status whose answer cannot
    /// be read is [`ApiErrorKind::Accepted`]: the write most likely happened.
    async fn write<T>(
        &self,
        call: &Call,
        body: Option<&CreateBindingRequest>,
        read: impl FnOnce(&Call, &Answer) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let answer = self.send(call, body).await?;
        read(call, &answer).map_err(|e| accepted(e, answer.status))
    }

    /// A prefix, and its owner when its `account_id` names another account than this
    /// client's.
    fn owned_prefix(
        &self,
        call: &Call,
        read: ReadPrefix,
        path: &str,
    ) -> Result<(Prefix, Option<String>), ApiError> {
        let owner = read.account_id.clone().and_then(Loose::into_string);
        let prefix = convert_prefix(read, path).map_err(|e| call.field_error(e))?;
        let foreign = owner
            .filter(|owner| !owner.eq_ignore_ascii_case(self.account_id.as_str()))
            .map(|owner| crate::sanitize::text(&owner).into_owned());
        Ok((prefix, foreign))
    }
}

/// `result` was absent or null where the call needs one.
fn missing_result(call: &Call, answer: &Answer) -> ApiError {
    call.answer_error(
        answer,
        ApiErrorKind::Decode {
            field: String::from("result"),
            message: String::from("missing or null"),
        },
    )
}

/// A write's answer that could not be read, though its status says the API accepted the
/// write, becomes [`ApiErrorKind::Accepted`]; any other error is left as it is. The emulator's
/// in-process handle reports its answers through here too.
pub(crate) fn accepted(e: ApiError, status: u16) -> ApiError {
    if !(200..300).contains(&status) {
        return e;
    }
    match &e.kind {
        ApiErrorKind::NotJson { .. } | ApiErrorKind::Decode { .. } => {
            let problem = e.kind.to_string();
            ApiError {
                kind: ApiErrorKind::Accepted { status, problem },
                ..e
            }
        }
        _ => e,
    }
}

impl Api for HttpClient {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        let call = self.call(Endpoint::ListServices);
        let items: Vec<ReadService> = self.list(&call, "services", false).await?;
        convert_all(&call, items, convert_service)
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        let call = self.call(Endpoint::ListPrefixes);
        // The contract allows `result: null`: an account without prefixes.
        let items: Vec<ReadPrefix> = self.list(&call, "prefixes", true).await?;
        let mut prefixes = Vec::with_capacity(items.len());
        let mut foreign = Vec::new();
        for (i, read) in items.into_iter().enumerate() {
            match self.owned_prefix(&call, read, &format!("result[{i}]."))? {
                (prefix, None) => prefixes.push(prefix),
                // Listed, but another account's: never planned, and said so.
                (prefix, Some(owner)) => {
                    let kind = ApiErrorKind::Foreign {
                        cidr: prefix.cidr.to_string(),
                        owner: owner.clone(),
                    };
                    tracing::warn!("{kind}; svcbind leaves it alone");
                    foreign.push(ForeignPrefix { prefix, owner });
                }
            }
        }
        *self
            .foreign
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = foreign;
        Ok(prefixes)
    }

    fn foreign_prefixes(&self) -> Vec<ForeignPrefix> {
        self.foreign
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        let call = self.call(Endpoint::GetPrefix(prefix));
        match self.fetch::<ReadPrefix>(&call).await {
            Ok(read) => match self.owned_prefix(&call, read, "result.")? {
                (prefix, None) => Ok(Some(prefix)),
                (prefix, Some(owner)) => Err(call.error(ApiErrorKind::Foreign {
                    cidr: prefix.cidr.to_string(),
                    owner,
                })),
            },
            Err(e) if e.is_prefix_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        let call = self.call(Endpoint::ListBindings(prefix));
        let items: Vec<ReadBinding> = self.list(&call, "bindings", false).await?;
        convert_all(&call, items, convert_binding)
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        let call = self.call(Endpoint::GetBinding(prefix, binding));
        match self.fetch::<ReadBinding>(&call).await {
            Ok(read) => convert_binding(read, "result.")
                .map(Some)
                .map_err(|e| call.field_error(e)),
            Err(e) if e.is_binding_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> Result<Created, ApiError> {
        let call = self.call(Endpoint::CreateBinding(prefix));
        let body = CreateBindingRequest {
            cidr: cidr.to_string(),
            service_id: service.to_string(),
        };
        let binding = self
            .write(&call, Some(&body), |call, answer| {
                let read = decode::<ReadBinding>(call, answer)?
                    .0
                    .ok_or_else(|| missing_result(call, answer))?;
                convert_binding(read, "result.")
                    .map_err(|e| call.answer_error(answer, field_kind(e)))
            })
            .await?;
        Ok(Created {
            binding,
            confirmed: Confirmed::Answered,
        })
    }

    async fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Confirmed, ApiError> {
        let call = self.call(Endpoint::DeleteBinding(prefix, binding));
        // The answer is the envelope only; whatever `result` holds, if anything, is not used.
        self.write(&call, None, |call, answer| {
            decode::<IgnoredAny>(call, answer).map(|_| Confirmed::Answered)
        })
        .await
    }
}

/// A field error as an error kind.
fn field_kind(e: FieldError) -> ApiErrorKind {
    ApiErrorKind::Decode {
        field: e.field,
        message: e.message,
    }
}

/// Converts read items to domain values; field errors name the item (`result[3].cidr`).
fn convert_all<W, M>(
    call: &Call,
    items: Vec<W>,
    convert: fn(W, &str) -> Result<M, FieldError>,
) -> Result<Vec<M>, ApiError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, w)| convert(w, &format!("result[{i}].")).map_err(|e| call.field_error(e)))
        .collect()
}

fn id_field<T>(
    path: &str,
    name: &str,
    value: String,
    make: fn(String) -> Result<T, crate::model::IdError>,
) -> Result<T, FieldError> {
    make(value).map_err(|e| FieldError {
        field: format!("{path}{name}"),
        message: e.to_string(),
    })
}

fn cidr_field(path: &str, value: &str) -> Result<IpNet, FieldError> {
    value.parse().map_err(|_| FieldError {
        field: format!("{path}cidr"),
        message: format!("`{}` is not a CIDR", crate::sanitize::text(value)),
    })
}

/// A binding; a `provisioning.state` that is absent, null or not a string is unknown: never
/// active, so never drift and never settled for `--wait`.
fn convert_binding(read: ReadBinding, path: &str) -> Result<Binding, FieldError> {
    let state = read
        .state()
        .map_or_else(ProvisioningState::unknown, ProvisioningState::from);
    Ok(Binding {
        id: id_field(path, "id", read.id, BindingId::new)?,
        cidr: cidr_field(path, &read.cidr)?,
        service_id: id_field(path, "service_id", read.service_id, ServiceId::new)?,
        service_name: read.service_name.and_then(Loose::into_string),
        state,
    })
}

/// A service; one without a name (absent, null, not a string, or empty) is named by its id,
/// so it is shown, and may be written, by id only.
fn convert_service(read: ReadService, path: &str) -> Result<Service, FieldError> {
    let id = id_field(path, "id", read.id, ServiceId::new)?;
    let name = read
        .name
        .and_then(Loose::into_string)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| id.to_string());
    Ok(Service { id, name })
}

/// A prefix: `id`, `cidr`, and `description` when it is a string.
fn convert_prefix(read: ReadPrefix, path: &str) -> Result<Prefix, FieldError> {
    Ok(Prefix {
        id: id_field(path, "id", read.id, PrefixId::new)?,
        cidr: cidr_field(path, &read.cidr)?,
        description: read.description.and_then(Loose::into_string),
    })
}

/// The one place answers are interpreted, for every call, straight from the bytes (see
/// [`super::answer`]):
///
/// - a body that is not JSON, or JSON that is not the envelope (no `success`): `NotJson` with
///   the status and a short sanitized excerpt;
/// - `success: false` whatever the status, or any non-2xx status: `Status` with the first
///   errors (sanitized), how many more there were, and `Retry-After` when sent;
/// - otherwise the decoded `result` (`None` when absent or null) and `result_info`; a field
///   that does not decode is a `Decode` error naming its path, e.g. `result[2].cidr`.
///
/// Every error carries the answer's `Retry-After`.
fn decode<T: DeserializeOwned>(
    call: &Call,
    answer: &Answer,
) -> Result<(Option<T>, Option<ResultInfo>), ApiError> {
    let status = answer.status;
    let fail = |kind| call.answer_error(answer, kind);
    let not_json = || {
        fail(ApiErrorKind::NotJson {
            status,
            excerpt: excerpt(&answer.body),
        })
    };
    let head: Head = serde_json::from_slice(&answer.body).map_err(|_| not_json())?;
    let success = match head.success {
        None => return Err(not_json()),
        Some(Loose::Bool(success)) => success,
        Some(other) => {
            return Err(fail(ApiErrorKind::Decode {
                field: String::from("success"),
                message: format!("expected a boolean, got `{}`", other.describe()),
            }));
        }
    };

    if !success || !(200..300).contains(&status) {
        let mut e = fail(ApiErrorKind::Status {
            status,
            errors: head.errors.messages(),
            retry_after: retry_after(&answer.headers),
        });
        e.details.more_errors = head.errors.more;
        return Err(e);
    }

    let mut json = serde_json::Deserializer::from_slice(&answer.body);
    let result = serde_path_to_error::deserialize::<_, ResultOnly<T>>(&mut json)
        .map(|r| r.result)
        .map_err(|e| {
            let mut field = e.path().to_string();
            let message = e.inner().to_string();
            // serde_json adds where in the body; the path says it better.
            let message = message
                .split_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            // serde reports a missing field at its parent; name the field itself.
            if let Some(name) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
            {
                field = format!("{field}.{name}");
            }
            fail(ApiErrorKind::Decode {
                field,
                message: crate::sanitize::text(message).into_owned(),
            })
        })?;
    Ok((result, head.result_info.0))
}

/// `Retry-After`: a number of seconds (the form Cloudflare sends) or an HTTP date, which a
/// proxy in front of the API may send instead (a date already past means "now").
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, std::time::SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Ratelimit` header, when present and readable.
fn ratelimit(headers: &HeaderMap) -> Option<RateLimit> {
    RateLimit::parse(headers.get("ratelimit")?.to_str().ok()?)
}

/// The base URL's host is this machine: `localhost` or a loopback address.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let host = host.trim_end_matches('.').to_ascii_lowercase();
            host == "localhost" || host.ends_with(".localhost")
        }
    }
}

/// The start of a body for an error message: whitespace runs collapsed to one space, control
/// characters escaped, at most [`EXCERPT_MAX`] characters in all (escapes included), `…` when cut.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(4 * EXCERPT_MAX)]);
    let collapsed = head.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut width = 0;
    let mut end = collapsed.len();
    for (i, c) in collapsed.char_indices() {
        let w = if c.is_control() {
            c.escape_unicode().count()
        } else {
            1
        };
        if width + w > EXCERPT_MAX - 1 {
            end = i;
            break;
        }
        width += w;
    }
    let cut = end < collapsed.len() || body.len() > 4 * EXCERPT_MAX;
    let mut out = crate::sanitize::text(&collapsed[..end]).into_owned();
    if cut {
        out.push('…');
    }
    out
}

/// A transport error's causes, joined, without repeats and without the wrappers reqwest and
/// hyper put around them (`error sending request`, `client error (Connect)`, …).
fn chain(e: &reqwest::Error) -> String {
    const WRAPPERS: [&str; 6] = [
        "error sending request",
        "error decoding response body",
        "request or response body error",
        "client error (Connect)",
        "client error (SendRequest)",
        "client error (Other)",
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !WRAPPERS.contains(&text.as_str()) && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    crate::sanitize::text(&parts.join(": ")).into_owned()
}

/// Checks and normalizes the base URL: http(s), a host, no credentials, query or fragment;
/// a trailing `/` in the path is allowed (dropped when paths are joined).
fn parse_base_url(raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    let shown = if raw.contains('@') {
        String::from("(not shown: it contains `@`)")
    } else {
        format!("`{}`", crate::sanitize::text(raw))
    };
    let fix = "set --api-url or CLOUDFLARE_BASE_URL to an http(s) URL such as https://api.cloudflare.com/client/v4";
    let url = Url::parse(raw).map_err(|e| format!("invalid API base URL {shown}: {e}; {fix}"))?;
    let problem = if !matches!(url.scheme(), "http" | "https") {
        Some("it is not http or https")
    } else if url.host_str().is_none_or(str::is_empty) {
        Some("it has no host")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("it must not contain credentials")
    } else if url.query().is_some() || url.fragment().is_some() {
        Some("it must not have a query or a fragment")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(format!("invalid API base URL {shown}: {problem}; {fix}"));
    }
    Ok(url)
}

/// `prefix` + `secret` as a header value marked sensitive (kept out of reqwest's and hyper's
/// debug output), or `None` when the secret is empty or holds anything but printable ASCII
/// without spaces.
fn sensitive(prefix: &str, secret: &str) -> Option<HeaderValue> {
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut value = HeaderValue::from_str(&format!("{prefix}{secret}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn bad_header(what: &str) -> String {
    format!(
        "{what} contains a space, a control character or a non-ASCII character and cannot be sent in an HTTP header: copy it again without stray characters"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{HeaderMap as AxumHeaders, StatusCode};
    use axum::response::Response;
    use serde_json::json;

    use super::*;
    use crate::api::ApiMessage;
    use crate::api::credentials::Secret;
    use crate::model::ProvisioningState;

    const TOKEN: &str = "Yq3fZ8rT1uV0wX9aB2cD4eF6gH7iJ5kL0mN1oP2q";
    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const PREFIX: &str = "2af39739cc4e3b5910c918468bb89828";
    const BINDING: &str = "0429b49b6a5155297b78e75a44b09e14";
    const SERVICE: &str = "2db684ee7ca04e159946fd05b99e1bcd";

    /// What the test server received.
    #[derive(Debug, Clone)]
    struct Received {
        method: String,
        path: String,
        headers: AxumHeaders,
        body: Vec<u8>,
    }

    /// What the test server answers, every time.
    #[derive(Debug, Clone)]
    struct Canned {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: String,
    }

    fn canned(status: u16, body: serde_json::Value) -> Canned {
        Canned {
            status,
            headers: vec![("content-type", "application/json")],
            body: body.to_string(),
        }
    }

    fn ok(result: serde_json::Value) -> Canned {
        canned(
            200,
            json!({"success": true, "errors": [], "messages": [], "result": result}),
        )
    }

    fn failure(status: u16, code: u32, message: &str) -> Canned {
        canned(
            status,
            json!({"success": false, "errors": [{"code": code, "message": message}],
                   "messages": [], "result": null}),
        )
    }

    fn binding_json(id: &str, cidr: serde_json::Value) -> serde_json::Value {
        json!({"id": id, "cidr": cidr, "provisioning": {"state": "provisioning"},
               "service_id": SERVICE, "service_name": "CDN"})
    }

    type Log = Arc<Mutex<Vec<Received>>>;

    async fn answer(State((canned, log)): State<(Canned, Log)>, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
        log.lock().unwrap().push(Received {
            method: parts.method.to_string(),
            path: parts.uri.to_string(),
            headers: parts.headers,
            body,
        });
        let mut response = Response::builder().status(StatusCode::from_u16(canned.status).unwrap());
        for (k, v) in &canned.headers {
            response = response.header(*k, *v);
        }
        response.body(Body::from(canned.body)).unwrap()
    }

    /// Serves `canned` on 127.0.0.1 at `/client/v4/...`; returns the base URL and the log.
    async fn serve(canned: Canned) -> (String, Log) {
        let log = Log::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state((canned, Arc::clone(&log)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/client/v4"), log)
    }

    fn config(base_url: &str) -> ClientConfig {
        ClientConfig::new(
            base_url,
            AccountId::new(ACCOUNT).unwrap(),
            Credentials::Token(Secret::new(TOKEN)),
        )
    }

    fn client(base_url: &str) -> HttpClient {
        HttpClient::new(config(base_url)).unwrap()
    }

    fn prefix() -> PrefixId {
        PrefixId::new(PREFIX).unwrap()
    }

    fn binding() -> BindingId {
        BindingId::new(BINDING).unwrap()
    }

    fn only(log: &Log) -> Received {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "expected exactly one request: {log:?}");
        log[0].clone()
    }

    fn header<'a>(r: &'a Received, name: &str) -> Option<&'a str> {
        r.headers.get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn sends_bearer_user_agent_and_accept() {
        let (url, log) = serve(ok(json!([]))).await;
        client(&url).list_services().await.unwrap();
        let r = only(&log);
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(header(&r, "authorization"), Some(bearer.as_str()));
        let ua = format!("svcbind/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(header(&r, "user-agent"), Some(ua.as_str()));
        assert_eq!(header(&r, "accept"), Some("application/json"));
        assert_eq!(header(&r, "content-type"), None);
        assert_eq!(header(&r, "x-auth-key"), None);
        assert!(r.body.is_empty());
    }

    #[tokio::test]
    async fn legacy_credentials_send_the_email_and_key_pair() {
        let (url, log) = serve(ok(json!([]))).await;
        let mut cfg = config(&url);
        cfg.credentials = Credentials::Legacy {
            email: "ops@example.com".into(),
            key: Secret::new(TOKEN),
        };
        HttpClient::new(cfg).unwrap().list_prefixes().await.unwrap();
        let r = only(&log);
        assert_eq!(header(&r, "x-auth-email"), Some("ops@example.com"));
        assert_eq!(header(&r, "x-auth-key"), Some(TOKEN));
        assert_eq!(header(&r, "authorization"), None);
    }

    #[tokio::test]
    async fn create_posts_exactly_cidr_and_service_id_and_decodes_the_201() {
        let mut answer = canned(
            201,
            json!({"success": true, "errors": [], "messages": [],
                   "result": binding_json(BINDING, json!("192.0.2.16/29"))}),
        );
        answer
            .headers
            .push(("ratelimit", "\"default\";r=1199;t=300"));
        let (url, log) = serve(answer).await;
        let created = client(&url)
            .create_binding(
                &prefix(),
                "192.0.2.16/29".parse().unwrap(),
                &ServiceId::new(SERVICE).unwrap(),
            )
            .await
            .unwrap()
            .binding;
        assert_eq!(created.id, binding());
        assert_eq!(created.cidr, "192.0.2.16/29".parse::<IpNet>().unwrap());
        assert_eq!(created.service_id.as_str(), SERVICE);
        assert_eq!(created.state, ProvisioningState::Provisioning);

        let r = only(&log);
        assert_eq!(r.method, "POST");
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert!(header(&r, "authorization").is_some());
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"cidr": "192.0.2.16/29", "service_id": SERVICE})
        );
    }

    #[tokio::test]
    async fn every_call_has_its_path_with_or_without_a_trailing_slash() {
        let base = format!("/client/v4/accounts/{ACCOUNT}/addressing");
        let bindings = format!("{base}/prefixes/{PREFIX}/bindings");
        for trailing in ["", "/", "//"] {
            let (url, log) = serve(ok(json!([]))).await;
            let c = client(&format!("{url}{trailing}"));
            c.list_services().await.unwrap();
            c.list_prefixes().await.unwrap();
            let _ = c.get_prefix(&prefix()).await;
            c.list_bindings(&prefix()).await.unwrap();
            let _ = c.get_binding(&prefix(), &binding()).await;
            let _ = c
                .create_binding(
                    &prefix(),
                    "192.0.2.0/24".parse().unwrap(),
                    &ServiceId::new(SERVICE).unwrap(),
                )
                .await;
            c.delete_binding(&prefix(), &binding()).await.unwrap();
            let seen: Vec<(String, String)> = log
                .lock()
                .unwrap()
                .iter()
                .map(|r| (r.method.clone(), r.path.clone()))
                .collect();
            let expected: Vec<(String, String)> = [
                ("GET", format!("{base}/services")),
                ("GET", format!("{base}/prefixes")),
                ("GET", format!("{base}/prefixes/{PREFIX}")),
                ("GET", bindings.clone()),
                ("GET", format!("{bindings}/{BINDING}")),
                ("POST", bindings.clone()),
                ("DELETE", format!("{bindings}/{BINDING}")),
            ]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p))
            .collect();
            assert_eq!(seen, expected, "base URL with {trailing:?}");
        }
    }

    #[tokio::test]
    async fn a_bare_host_base_url_works() {
        let (url, log) = serve(ok(json!([]))).await;
        let host = url.trim_end_matches("/client/v4");
        client(&format!("{host}/")).list_services().await.unwrap();
        assert_eq!(
            only(&log).path,
            format!("/accounts/{ACCOUNT}/addressing/services")
        );
    }

    #[tokio::test]
    async fn lists_decode_into_domain_types() {
        let (url, _) = serve(ok(json!([
            {"id": SERVICE, "name": "Magic Transit"},
            {"id": "56d7fd7b6a0a4d6e8fbee0f8b3e6d6b4", "name": "CDN"}
        ])))
        .await;
        let services = client(&url).list_services().await.unwrap();
        assert_eq!(services.len(), 2);
        assert_eq!(services[0].name, "Magic Transit");
        assert_eq!(services[0].id.as_str(), SERVICE);

        let (url, _) = serve(ok(json!([{"id": PREFIX, "cidr": "2001:db8:1000::/48",
            "account_id": ACCOUNT, "description": "lab", "asn": 13335, "approved": "V",
            "advertised": true, "on_demand_enabled": false, "new_field": {"x": 1}}])))
        .await;
        let prefixes = client(&url).list_prefixes().await.unwrap();
        assert_eq!(prefixes.len(), 1);
        assert_eq!(prefixes[0].id, prefix());
        assert_eq!(prefixes[0].description.as_deref(), Some("lab"));

        let (url, _) = serve(ok(json!([
            binding_json(BINDING, json!("192.0.2.0/24")),
            {"id": "b2", "cidr": "192.0.2.1/32", "provisioning": {"state": "paused"},
             "service_id": SERVICE}
        ])))
        .await;
        let bindings = client(&url).list_bindings(&prefix()).await.unwrap();
        assert_eq!(bindings.len(), 2);
        assert_eq!(bindings[1].state, ProvisioningState::Other("paused".into()));
        assert_eq!(bindings[1].service_name, None);
    }

    #[tokio::test]
    async fn delete_accepts_the_envelope_with_or_without_result() {
        for body in [
            json!({"success": true, "errors": [], "messages": []}),
            json!({"success": true, "errors": [], "messages": [], "result": null}),
            json!({"success": true, "errors": [], "messages": [], "result": {"id": BINDING}}),
        ] {
            let (url, log) = serve(canned(200, body.clone())).await;
            client(&url)
                .delete_binding(&prefix(), &binding())
                .await
                .unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(only(&log).method, "DELETE");
        }
    }

    #[tokio::test]
    async fn success_false_on_a_200_is_an_error_with_its_codes() {
        let (url, _) = serve(failure(200, 1003, "unsupported binding configuration")).await;
        let err = client(&url)
            .delete_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert_eq!(err.method, "DELETE");
        assert_eq!(err.status(), Some(200));
        assert_eq!(err.codes(), vec![1003]);
        assert!(
            err.to_string()
                .ends_with(": HTTP 200: unsupported binding configuration (1003)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_4xx_envelope_carries_codes_and_messages() {
        let (url, _) = serve(canned(
            400,
            json!({"success": false, "messages": [], "result": null, "errors": [
                {"code": 1003, "message": "cidr not inside prefix",
                 "source": {"pointer": "/cidr"}},
                {"code": 1004, "message": "second\u{1b}[31m"}
            ]}),
        ))
        .await;
        let err = client(&url)
            .create_binding(
                &prefix(),
                "198.51.100.0/24".parse().unwrap(),
                &ServiceId::new(SERVICE).unwrap(),
            )
            .await
            .unwrap_err();
        let ApiErrorKind::Status {
            status,
            errors,
            retry_after,
        } = &err.kind
        else {
            panic!("{err:?}")
        };
        assert_eq!(*status, 400);
        assert_eq!(*retry_after, None);
        assert_eq!(
            errors,
            &vec![
                ApiMessage::new(1003, "cidr not inside prefix"),
                ApiMessage::new(1004, "second\\u{1b}[31m"),
            ]
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_4xx_envelope_with_odd_errors_is_still_a_status_error() {
        let (url, _) = serve(canned(
            403,
            json!({"success": false, "errors": [{"message": "no code"}, {"code": 10000}]}),
        ))
        .await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.codes(), vec![0, 10000]);
        assert!(err.is_auth());
        assert!(err.to_string().contains("no code (0)"), "{err}");
    }

    #[tokio::test]
    async fn html_on_a_502_is_not_json_with_a_short_sanitized_excerpt() {
        let html = format!(
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x1b[2J\x07{}</body></html>",
            "x".repeat(1000)
        );
        let (url, _) = serve(Canned {
            status: 502,
            headers: vec![("content-type", "text/html")],
            body: html,
        })
        .await;
        let err = client(&url).list_prefixes().await.unwrap_err();
        let ApiErrorKind::NotJson { status, excerpt } = &err.kind else {
            panic!("{err:?}")
        };
        assert_eq!(*status, 502);
        assert!(
            excerpt.starts_with(
                "<html> <head><title>502 Bad Gateway</title></head> <body>\\u{1b}[2J\\u{7}xxx"
            ),
            "{excerpt}"
        );
        assert!(excerpt.ends_with('…'), "{excerpt}");
        assert!(
            excerpt.chars().count() <= 200,
            "{}",
            excerpt.chars().count()
        );
        assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn json_that_is_not_the_envelope_is_reported_with_an_excerpt() {
        let (url, _) = serve(canned(404, json!({"message": "not here"}))).await;
        let err = client(&url).get_prefix(&prefix()).await.unwrap_err();
        assert_eq!(
            err.kind,
            ApiErrorKind::NotJson {
                status: 404,
                excerpt: r#"{"message":"not here"}"#.into()
            }
        );
    }

    #[test]
    fn short_bodies_are_kept_whole() {
        assert_eq!(excerpt(b"Bad gateway\n"), "Bad gateway");
        assert_eq!(excerpt(b""), "");
        let controls = "\x01".repeat(300);
        let out = excerpt(controls.as_bytes());
        assert!(out.chars().count() <= 200, "{out}");
        assert!(
            out.starts_with("\\u{1}\\u{1}") && out.ends_with('…'),
            "{out}"
        );
    }

    #[tokio::test]
    async fn a_field_that_does_not_decode_is_named() {
        let (url, _) = serve(ok(json!([
            binding_json(BINDING, json!("192.0.2.0/24")),
            binding_json("b1", json!("192.0.2.8/29")),
            binding_json("b2", json!(17)),
        ])))
        .await;
        let err = client(&url).list_bindings(&prefix()).await.unwrap_err();
        let ApiErrorKind::Decode { field, message } = &err.kind else {
            panic!("{err:?}")
        };
        assert_eq!(field, "result[2].cidr");
        assert!(message.contains("invalid type: integer `17`"), "{message}");
        assert!(!err.is_retryable());

        let (url, _) = serve(ok(json!([
            binding_json(BINDING, json!("192.0.2.0/24")),
            binding_json("../../x", json!("192.0.2.8/29")),
        ])))
        .await;
        let err = client(&url).list_bindings(&prefix()).await.unwrap_err();
        let ApiErrorKind::Decode { field, message } = &err.kind else {
            panic!("{err:?}")
        };
        assert_eq!(field, "result[1].id");
        assert!(
            message.contains("invalid binding id `../../x`"),
            "{message}"
        );

        let (url, _) = serve(ok(json!([{"name": "CDN"}]))).await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(
            err.kind,
            ApiErrorKind::Decode {
                field: "result[0].id".into(),
                message: "missing field `id`".into()
            }
        );

        // Lists that are not nullable need their `result`.
        let (url, _) = serve(ok(json!(null))).await;
        let err = client(&url).list_bindings(&prefix()).await.unwrap_err();
        assert!(
            matches!(&err.kind, ApiErrorKind::Decode { field, .. } if field == "result"),
            "{err:?}"
        );

        let (url, _) = serve(canned(200, json!({"success": "yes", "result": []}))).await;
        let err = client(&url).list_prefixes().await.unwrap_err();
        assert!(
            matches!(&err.kind, ApiErrorKind::Decode { field, .. } if field == "success"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn gets_answer_none_when_not_found() {
        let (url, _) = serve(failure(404, 1000, "prefix not found")).await;
        assert_eq!(client(&url).get_prefix(&prefix()).await.unwrap(), None);

        let (url, _) = serve(failure(404, 1002, "binding not found")).await;
        assert_eq!(
            client(&url)
                .get_binding(&prefix(), &binding())
                .await
                .unwrap(),
            None
        );

        let (url, _) = serve(ok(binding_json(BINDING, json!("192.0.2.0/24")))).await;
        let found = client(&url)
            .get_binding(&prefix(), &binding())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, binding());

        let (url, _) = serve(ok(json!({"id": PREFIX, "cidr": "192.0.2.0/24"}))).await;
        let found = client(&url).get_prefix(&prefix()).await.unwrap().unwrap();
        assert_eq!(found.cidr, "192.0.2.0/24".parse::<IpNet>().unwrap());
    }

    #[tokio::test]
    async fn not_found_is_only_a_404_envelope_with_the_objects_code() {
        // The code of the other kind of object, or the right code with another status: the
        // call addressed something else, so it is an error, not an absence.
        for (status, code, message) in [
            (404, 1000, "prefix not found"),
            (400, 1002, "binding not found"),
        ] {
            let (url, _) = serve(failure(status, code, message)).await;
            let err = client(&url)
                .get_binding(&prefix(), &binding())
                .await
                .unwrap_err();
            assert_eq!((err.status(), err.codes()), (Some(status), vec![code]));
            assert!(!err.is_binding_not_found(), "{err}");
        }
        let (url, _) = serve(failure(404, 1002, "binding not found")).await;
        let err = client(&url).get_prefix(&prefix()).await.unwrap_err();
        assert!(!err.is_prefix_not_found(), "{err}");
        let (url, _) = serve(failure(400, 1000, "prefix not found")).await;
        let err = client(&url).get_prefix(&prefix()).await.unwrap_err();
        assert!(!err.is_prefix_not_found(), "{err}");
    }

    #[tokio::test]
    async fn a_delete_answered_not_found_by_the_api_is_a_binding_not_found() {
        let (url, log) = serve(failure(404, 1002, "binding not found")).await;
        let err = client(&url)
            .delete_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert!(err.is_binding_not_found(), "{err}");
        assert!(!err.is_prefix_not_found(), "{err}");
        assert_eq!(only(&log).method, "DELETE");
    }

    #[tokio::test]
    async fn a_delete_answered_404_no_route_is_not_a_binding_not_found() {
        let (url, _) = serve(failure(404, 7000, "No route for that URI")).await;
        let err = client(&url)
            .delete_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.codes()), (Some(404), vec![7000]));
        assert!(!err.is_binding_not_found(), "{err}");
        assert!(!err.is_prefix_not_found(), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "DELETE /accounts/{ACCOUNT}/addressing/prefixes/{PREFIX}/bindings/{BINDING}: HTTP 404: No route for that URI (7000)"
            )
        );
    }

    #[tokio::test]
    async fn a_delete_answered_by_a_proxys_html_404_is_not_a_binding_not_found() {
        let (url, _) = serve(Canned {
            status: 404,
            headers: vec![("content-type", "text/html")],
            body: "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>".into(),
        })
        .await;
        let err = client(&url)
            .delete_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind, ApiErrorKind::NotJson { status: 404, .. }),
            "{err:?}"
        );
        assert!(!err.is_binding_not_found(), "{err}");
        assert!(!err.is_prefix_not_found(), "{err}");
    }

    #[tokio::test]
    async fn a_wrong_base_url_is_not_mistaken_for_not_found() {
        let (url, _) = serve(failure(404, 7000, "No route for that URI")).await;
        let err = client(&url).get_prefix(&prefix()).await.unwrap_err();
        assert_eq!(err.codes(), vec![7000]);
        let err = client(&url)
            .get_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert_eq!(err.codes(), vec![7000]);

        let (url, _) = serve(Canned {
            status: 404,
            headers: vec![],
            body: "404 page not found".into(),
        })
        .await;
        let err = client(&url)
            .get_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind, ApiErrorKind::NotJson { status: 404, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (url, log) = serve(Canned {
            status: 301,
            headers: vec![("location", "/elsewhere")],
            body: String::new(),
        })
        .await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(
            err.kind,
            ApiErrorKind::NotJson {
                status: 301,
                excerpt: String::new()
            }
        );
        assert_eq!(log.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn retry_after_is_captured_on_a_429() {
        let mut answer = failure(
            429,
            971,
            "Please wait and consider throttling your request speed",
        );
        answer.headers.push(("retry-after", "37"));
        let (url, _) = serve(answer).await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(37)));
        assert_eq!(err.status(), Some(429));
        assert!(err.is_retryable() && err.surely_not_processed());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, value.parse().unwrap());
            h
        };
        let in_90s = httpdate::fmt_http_date(now + Duration::from_secs(90));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(
            retry_after_at(&headers(" 12 "), now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            retry_after_at(&headers(&in_90s), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(retry_after_at(&headers(&past), now), Some(Duration::ZERO));
        assert_eq!(retry_after_at(&headers("soon"), now), None);
        assert_eq!(retry_after_at(&headers("-5"), now), None);
        assert_eq!(retry_after_at(&HeaderMap::new(), now), None);
    }

    #[tokio::test]
    async fn connection_refused_is_a_connect_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = client(&format!("http://{addr}"))
            .list_services()
            .await
            .unwrap_err();
        let ApiErrorKind::Connect { message } = &err.kind else {
            panic!("{err:?}")
        };
        assert!(message.starts_with(&format!("{addr}: ")), "{message}");
        assert!(message.contains("tcp connect error: "), "{message}");
        assert!(!message.contains("error sending request"), "{message}");
        assert!(err.surely_not_processed());
        assert!(!err.to_string().contains("http://"), "{err}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
    }

    #[tokio::test]
    async fn https_goes_through_rustls() {
        // A server that answers plain text to a TLS handshake: the client must fail the
        // handshake (proving a crypto provider is in place), not panic, and send nothing.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 5];
            stream.read_exact(&mut hello).await.unwrap();
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            hello
        });
        let err = client(&format!("https://{addr}"))
            .list_services()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.kind,
                ApiErrorKind::Connect { .. } | ApiErrorKind::Transport { .. }
            ),
            "{err:?}"
        );
        // 0x16: a TLS handshake record, so TLS was really attempted.
        assert_eq!(server.await.unwrap()[0], 0x16);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        async fn hang() -> &'static str {
            std::future::pending::<()>().await;
            "never"
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(hang);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let mut cfg = config(&format!("http://{addr}"));
        cfg.timeout = Duration::from_millis(200);
        let started = Instant::now();
        let err = HttpClient::new(cfg)
            .unwrap()
            .delete_binding(&prefix(), &binding())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ApiErrorKind::Timeout, "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.is_retryable() && !err.surely_not_processed());
    }

    #[tokio::test]
    async fn a_connection_closed_mid_answer_is_a_transport_error() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 500\r\n\r\n{\"succ")
                .await
                .unwrap();
            // Dropping the socket closes the connection mid-body.
        });
        let err = client(&format!("http://{addr}"))
            .create_binding(
                &prefix(),
                "192.0.2.0/24".parse().unwrap(),
                &ServiceId::new(SERVICE).unwrap(),
            )
            .await
            .unwrap_err();
        let ApiErrorKind::Transport { message } = &err.kind else {
            panic!("{err:?}")
        };
        assert_eq!(
            message,
            "error reading a body from connection: end of file before message length reached"
        );
        assert!(!err.surely_not_processed());
        assert!(!format!("{err} {err:?}").contains(TOKEN));
    }

    #[test]
    fn bad_base_urls_are_refused_naming_the_flag() {
        for bad in [
            "api.cloudflare.com/client/v4",
            "ftp://api.cloudflare.com/",
            "https://api.cloudflare.com/client/v4?x=1",
            "https://user:pw@api.cloudflare.com/client/v4",
        ] {
            let err = HttpClient::new(config(bad)).unwrap_err();
            assert!(
                matches!(err.kind, ApiErrorKind::Invalid { .. }),
                "{bad}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.starts_with("invalid API base URL "), "{msg}");
            assert!(msg.contains("--api-url or CLOUDFLARE_BASE_URL"), "{msg}");
            assert!(!msg.contains("pw"), "{msg}");
        }
        let ok = HttpClient::new(config(" https://api.cloudflare.com/client/v4/\n")).unwrap();
        assert_eq!(ok.account_id().as_str(), ACCOUNT);
    }

    #[test]
    fn credentials_that_cannot_be_a_header_are_refused_without_echo() {
        for bad in [format!("{TOKEN} x"), format!("{TOKEN}\n"), String::new()] {
            let mut cfg = config("https://api.cloudflare.com/client/v4");
            cfg.credentials = Credentials::Token(Secret::new(bad));
            let err = HttpClient::new(cfg).unwrap_err();
            assert!(matches!(err.kind, ApiErrorKind::Invalid { .. }), "{err:?}");
            assert!(!format!("{err} {err:?}").contains(TOKEN), "{err}");
        }
    }

    #[test]
    fn credential_headers_are_marked_sensitive() {
        let value = sensitive("Bearer ", TOKEN).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), format!("Bearer {TOKEN}"));
        assert!(sensitive("", "two words").is_none());
        assert!(sensitive("", "").is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cfg = config("https://api.cloudflare.com/client/v4");
        let client = HttpClient::new(cfg.clone()).unwrap();
        let shown = format!("{cfg:?} {client:?} {client:#?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(
            shown.contains(ACCOUNT) && shown.contains("bearer token"),
            "{shown}"
        );

        let mut legacy = cfg;
        legacy.credentials = Credentials::Legacy {
            email: "ops@example.com".into(),
            key: Secret::new(TOKEN),
        };
        let client = HttpClient::new(legacy.clone()).unwrap();
        let shown = format!("{legacy:?} {client:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("ops@example.com"), "{shown}");
    }

    #[test]
    fn credentials_never_go_over_plain_http_beyond_loopback_unless_allowed() {
        for remote in [
            "http://api.example.com/client/v4",
            "http://192.0.2.7:8787/client/v4",
            "http://[2001:db8::1]/client/v4",
            "http://localhost.example.com/",
        ] {
            let err = HttpClient::new(config(remote)).unwrap_err();
            assert!(matches!(err.kind, ApiErrorKind::Invalid { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.starts_with("refusing to send the API credentials over plain http:// to "),
                "{msg}"
            );
            assert!(msg.contains("--allow-insecure-http"), "{msg}");
            assert!(!msg.contains(TOKEN), "{msg}");
            let mut allowed = config(remote);
            allowed.allow_insecure_http = true;
            assert!(HttpClient::new(allowed).is_ok(), "{remote}");
        }
        for local in [
            "http://127.0.0.1:8787/client/v4",
            "http://127.9.9.9/",
            "http://[::1]:8787/client/v4",
            "http://localhost:8787/client/v4",
            "http://LOCALHOST./client/v4",
            "https://api.example.com/client/v4",
        ] {
            assert!(HttpClient::new(config(local)).is_ok(), "{local}");
        }
    }

    #[test]
    fn a_zero_timeout_is_refused_naming_the_flag() {
        let mut cfg = config("https://api.cloudflare.com/client/v4");
        cfg.timeout = Duration::ZERO;
        let err = HttpClient::new(cfg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the request timeout is 0s, so every request would fail: give --timeout a duration such as 60s"
        );
    }

    /// A server that answers `head` then `body_len` bytes of `x`, as one stream.
    async fn serve_raw(head: &'static str, body_len: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            socket.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b'x'; 8192];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if socket.write_all(&chunk[..n]).await.is_err() {
                    // The client stopped reading: what the test wants.
                    return;
                }
                left -= n;
            }
        });
        format!("http://{addr}/client/v4")
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_not_read_whole() {
        // Announced by its length, or streamed without one: either way the read stops at the cap.
        for (head, len) in [
            ("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n", 100_000),
            ("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", 1_000_000),
        ] {
            let url = serve_raw(head, len).await;
            let mut cfg = config(&url);
            cfg.max_body = 64 * 1024;
            let err = HttpClient::new(cfg)
                .unwrap()
                .list_prefixes()
                .await
                .unwrap_err();
            assert_eq!(
                err.kind,
                ApiErrorKind::TooLarge { limit: 64 * 1024 },
                "{head}"
            );
            assert!(!err.is_retryable());
            assert!(
                err.to_string().starts_with(&format!(
                    "GET /accounts/{ACCOUNT}/addressing/prefixes: the answer is larger than 64 KiB, more than svcbind reads"
                )),
                "{err}"
            );
        }
        assert_eq!(
            ApiError::new(
                "GET",
                "/x",
                ApiErrorKind::TooLarge {
                    limit: DEFAULT_MAX_BODY
                }
            )
            .to_string(),
            "GET /x: the answer is larger than 8 MiB, more than svcbind reads; it was not read further"
        );
    }

    #[tokio::test]
    async fn nested_error_chains_are_kept_and_shown() {
        let (url, _) = serve(canned(
            400,
            json!({"success": false, "errors": [{"code": 6003, "message": "Invalid request headers",
                   "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}]}],
                   "messages": [], "result": null}),
        ))
        .await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(err.codes(), vec![6003, 6111]);
        assert!(err.is_auth());
        assert_eq!(
            err.to_string(),
            format!(
                "GET /accounts/{ACCOUNT}/addressing/services: HTTP 400: Invalid request headers (6003): Invalid format for Authorization header (6111)"
            )
        );
    }

    fn html(status: u16, extra: Vec<(&'static str, &'static str)>) -> Canned {
        let mut headers = vec![("content-type", "text/html")];
        headers.extend(extra);
        Canned {
            status,
            headers,
            body: format!("<html><head><title>{status}</title></head><body>proxy</body></html>"),
        }
    }

    #[tokio::test]
    async fn a_binding_without_a_provisioning_state_is_listed_with_an_unknown_state() {
        let binding = |i: usize, provisioning: Option<serde_json::Value>| {
            let mut b = json!({"id": format!("b{i}"), "cidr": format!("192.0.2.{i}/32"),
                               "service_id": SERVICE});
            if let Some(p) = provisioning {
                b["provisioning"] = p;
            }
            b
        };
        let (url, _) = serve(ok(json!([
            binding(0, None),
            binding(1, Some(json!(null))),
            binding(2, Some(json!({}))),
            binding(3, Some(json!({"state": null}))),
            binding(4, Some(json!({"state": 7}))),
            binding(5, Some(json!("active"))),
            binding(6, Some(json!({"state": "active", "since": {"x": 1}}))),
        ])))
        .await;
        let states: Vec<ProvisioningState> = client(&url)
            .list_bindings(&prefix())
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.state)
            .collect();
        let unknown = ProvisioningState::unknown();
        assert_eq!(
            states,
            [
                unknown.clone(),
                unknown.clone(),
                unknown.clone(),
                unknown.clone(),
                unknown.clone(),
                unknown.clone(),
                ProvisioningState::Active
            ]
        );
        assert!(!unknown.is_active());
        assert_eq!(unknown.to_string(), "unknown");
    }

    #[tokio::test]
    async fn list_prefixes_with_a_null_result_is_an_empty_list() {
        for body in [
            json!({"success": true, "errors": [], "messages": [], "result": null,
                   "result_info": {"count": 0, "page": 1, "per_page": 20, "total_count": 0}}),
            json!({"success": true, "errors": [], "messages": []}),
        ] {
            let (url, _) = serve(canned(200, body.clone())).await;
            assert_eq!(
                client(&url).list_prefixes().await.unwrap(),
                Vec::new(),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn a_list_shorter_than_its_result_info_says_fails_loudly() {
        let one_prefix = json!([{"id": PREFIX, "cidr": "192.0.2.0/24"}]);
        let answer = |result: serde_json::Value, info: serde_json::Value| {
            canned(
                200,
                json!({"success": true, "errors": [], "messages": [], "result": result,
                       "result_info": info}),
            )
        };
        let (url, _) = serve(answer(
            one_prefix.clone(),
            json!({"count": 1, "page": 1, "per_page": 1, "total_count": 3}),
        ))
        .await;
        let err = client(&url).list_prefixes().await.unwrap_err();
        assert_eq!(
            err.kind,
            ApiErrorKind::Incomplete {
                items: "prefixes",
                returned: 1,
                total: Some(3),
                pages: None
            }
        );
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            format!(
                "GET /accounts/{ACCOUNT}/addressing/prefixes: the API listed 1 of 3 prefixes, and documents no way to ask for the rest: svcbind never works from part of a list, since it could delete what it did not see"
            )
        );

        let (url, _) = serve(answer(
            json!([binding_json(BINDING, json!("192.0.2.0/24"))]),
            json!({"page": 1, "per_page": 1, "total_pages": 2}),
        ))
        .await;
        let err = client(&url).list_bindings(&prefix()).await.unwrap_err();
        assert!(
            err.to_string().ends_with(
                "/bindings: the API listed 1 bindings (page 1 of 2), and documents no way to ask for the rest: svcbind never works from part of a list, since it could delete what it did not see"
            ),
            "{err}"
        );

        let (url, _) = serve(answer(
            json!([{"id": SERVICE, "name": "CDN"}]),
            json!({"count": 1, "total_count": 2}),
        ))
        .await;
        let err = client(&url).list_services().await.unwrap_err();
        assert!(
            matches!(
                err.kind,
                ApiErrorKind::Incomplete {
                    items: "services",
                    ..
                }
            ),
            "{err}"
        );

        // A whole list, as the emulator and the API answer it.
        let (url, _) = serve(answer(
            one_prefix,
            json!({"count": 1, "page": 1, "per_page": 20, "total_count": 1}),
        ))
        .await;
        assert_eq!(client(&url).list_prefixes().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn retry_after_is_kept_whatever_the_body() {
        for status in [429, 503] {
            let (url, _) = serve(html(status, vec![("retry-after", "37")])).await;
            let err = client(&url).list_services().await.unwrap_err();
            assert!(
                matches!(err.kind, ApiErrorKind::NotJson { status: s, .. } if s == status),
                "{err:?}"
            );
            assert_eq!(err.retry_after(), Some(Duration::from_secs(37)));
            assert!(err.is_retryable());
        }
    }

    #[tokio::test]
    async fn a_write_accepted_with_an_answer_that_cannot_be_read_says_so() {
        let create = |canned: Canned| async move {
            let (url, _) = serve(canned).await;
            client(&url)
                .create_binding(
                    &prefix(),
                    "192.0.2.16/29".parse().unwrap(),
                    &ServiceId::new(SERVICE).unwrap(),
                )
                .await
                .unwrap_err()
        };
        let delete = |canned: Canned| async move {
            let (url, _) = serve(canned).await;
            client(&url)
                .delete_binding(&prefix(), &binding())
                .await
                .unwrap_err()
        };
        let bad_cidr = canned(
            201,
            json!({"success": true, "errors": [], "messages": [],
                   "result": binding_json(BINDING, json!(5))}),
        );
        for err in [
            create(html(201, vec![])).await,
            create(bad_cidr).await,
            create(canned(201, json!({"result": {}}))).await,
            create(canned(201, json!({"success": true, "result": null}))).await,
            delete(Canned {
                status: 204,
                headers: vec![],
                body: String::new(),
            })
            .await,
            delete(canned(200, json!({"success": "yes"}))).await,
        ] {
            let ApiErrorKind::Accepted { status, problem } = &err.kind else {
                panic!("{err:?}")
            };
            assert!((200..300).contains(status), "{err}");
            assert!(!problem.is_empty());
            // Like a lost answer: maybe done, so read back before anything is sent again.
            assert!(err.is_retryable() && !err.surely_not_processed(), "{err}");
            assert_eq!(err.outcome(), crate::api::Outcome::Unknown);
        }
        assert_eq!(
            create(html(201, vec![])).await.to_string(),
            format!(
                "POST /accounts/{ACCOUNT}/addressing/prefixes/{PREFIX}/bindings: HTTP 201: the API accepted the write, but its answer cannot be read: HTTP 201 with a body that is not JSON: \"<html><head><title>201</title></head><body>proxy</body></html>\""
            )
        );
        // A refusal, or a read, is what it was.
        let err = create(html(400, vec![])).await;
        assert!(matches!(
            err.kind,
            ApiErrorKind::NotJson { status: 400, .. }
        ));
        let (url, _) = serve(html(200, vec![])).await;
        let err = client(&url).list_bindings(&prefix()).await.unwrap_err();
        assert!(matches!(
            err.kind,
            ApiErrorKind::NotJson { status: 200, .. }
        ));
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn fields_svcbind_does_not_use_never_fail_a_list() {
        let (url, _) = serve(ok(json!([{"id": PREFIX, "cidr": "192.0.2.0/24",
            "asn": -1, "advertised": "true", "approved": false, "description": 7,
            "created_at": {}, "on_demand_enabled": "yes", "loa_document_id": [1],
            "rpki_validation_state": null}])))
        .await;
        let prefixes = client(&url).list_prefixes().await.unwrap();
        assert_eq!(prefixes.len(), 1);
        assert_eq!(prefixes[0].description, None);

        // A service without a name is named by its id: usable by id only.
        let (url, _) = serve(ok(json!([
            {"id": SERVICE},
            {"id": "s2", "name": null},
            {"id": "s3", "name": 4},
            {"id": "s4", "name": "CDN"}
        ])))
        .await;
        let names: Vec<String> = client(&url)
            .list_services()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, [SERVICE, "s2", "s3", "CDN"]);
    }

    #[tokio::test]
    async fn an_answer_with_many_errors_shows_the_first_few_and_counts_the_rest() {
        let errors: Vec<serde_json::Value> = (0..200)
            .map(|i| json!({"code": 1003, "message": format!("problem {i}")}))
            .collect();
        let (url, _) = serve(canned(
            400,
            json!({"success": false, "errors": errors, "messages": [], "result": null}),
        ))
        .await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(err.codes().len(), 5);
        assert_eq!(err.details.more_errors, 195);
        assert_eq!(
            err.to_string(),
            format!(
                "GET /accounts/{ACCOUNT}/addressing/services: HTTP 400: problem 0 (1003); problem 1 (1003); problem 2 (1003); problem 3 (1003); problem 4 (1003); and 195 more"
            )
        );
    }

    #[tokio::test]
    async fn a_prefix_of_another_account_is_never_managed() {
        let (url, _) = serve(ok(json!([
            {"id": PREFIX, "cidr": "192.0.2.0/24", "account_id": ACCOUNT},
            {"id": "p2", "cidr": "198.51.100.0/24", "account_id": "ffffffffffffffffffffffffffffffff"},
            {"id": "p3", "cidr": "203.0.113.0/24", "account_id": ACCOUNT.to_uppercase()},
            {"id": "p4", "cidr": "2001:db8::/48"}
        ])))
        .await;
        let c = client(&url);
        let cidrs: Vec<String> = c
            .list_prefixes()
            .await
            .unwrap()
            .iter()
            .map(|p| p.cidr.to_string())
            .collect();
        assert_eq!(cidrs, ["192.0.2.0/24", "203.0.113.0/24", "2001:db8::/48"]);
        let foreign = c.foreign_prefixes();
        assert_eq!(foreign.len(), 1);
        assert_eq!(foreign[0].prefix.id.as_str(), "p2");
        assert_eq!(foreign[0].owner, "ffffffffffffffffffffffffffffffff");

        let (url, _) = serve(ok(json!({"id": PREFIX, "cidr": "192.0.2.0/24",
            "account_id": "ffffffffffffffffffffffffffffffff"})))
        .await;
        let err = client(&url).get_prefix(&prefix()).await.unwrap_err();
        assert_eq!(
            err.kind.to_string(),
            "prefix 192.0.2.0/24 belongs to account ffffffffffffffffffffffffffffffff, another account than the one svcbind works on: a delegated prefix's bindings are managed in the account that owns it"
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn an_absurd_ratelimit_header_neither_panics_nor_stalls() {
        for header in [
            "\"default\";r=0;t=18446744073709551615",
            "\"default\";r=0;t=86400",
        ] {
            let mut answer = ok(json!([]));
            answer.headers.push(("ratelimit", header));
            let (url, log) = serve(answer).await;
            let c = client(&url);
            c.list_services().await.unwrap();
            c.list_services().await.unwrap();
            assert_eq!(log.lock().unwrap().len(), 2, "{header}");
        }
    }

    #[tokio::test]
    async fn errors_name_the_base_url_they_went_to() {
        let (url, _) = serve(failure(404, 7000, "No route for that URI")).await;
        let err = client(&format!("{url}/"))
            .list_services()
            .await
            .unwrap_err();
        assert_eq!(err.details.base_url.as_deref(), Some(url.as_str()));
        assert!(!err.to_string().contains("http://"), "{err}");
    }
}
