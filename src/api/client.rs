//! The HTTP implementation of [`super::Api`]: one `reqwest` client per run, talking to the
//! Cloudflare API (or anything that speaks its envelope, such as `svcbind emulator`).
//!
//! This module owns the wire conversation: URLs from the calls' [`Endpoint`]s, the headers
//! (credentials marked sensitive, and never sent over plain `http://` beyond loopback unless
//! the user accepts that risk), timeouts, pacing ([`super::pace`], fed each answer's
//! `Ratelimit` header), answers read as a stream and capped, and turning every answer into a
//! domain value or an [`ApiError`] in one place (`decode`). Every request goes through one
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
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::credentials::Credentials;
use super::endpoint::{Endpoint, Method, Route, TypedEndpoint};
use super::pace::{Pacer, Pacing, RateLimit};
use super::wire::{CreateBindingRequest, FieldError, WireBinding, WirePrefix, WireService};
use super::{Api, ApiError, ApiErrorKind, ApiMessage, Confirmed, Created};
use crate::model::{AccountId, Binding, BindingId, Prefix, PrefixId, Service, ServiceId};

/// Request timeout when none is given (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect timeout when none is given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer body read when none is given: far beyond any real answer (a list of
/// 1,000 bindings is about 200 KB), small enough that a broken or hostile server cannot
/// exhaust memory.
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024 * 1024;

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
    /// The largest answer body read, in bytes.
    pub max_body: u64,
    /// Send the credentials over plain `http://` to a host that is not loopback (anyone on the
    /// way can read them). Off: such a base URL is refused.
    pub allow_insecure_http: bool,
}

impl ClientConfig {
    /// A configuration with the defaults: 60 s per request, 10 s to connect, 600 requests in
    /// any 300 s, answers up to 64 MiB, `http://` only to loopback.
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
    account_id: AccountId,
    /// How the client authenticates, for `Debug` (never the secret).
    auth: String,
    /// Shared by every request of this client (and cheap to move with it).
    pacer: Arc<Pacer>,
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

/// One call: its route, its method and its path below the base URL; builds the errors that
/// name it.
#[derive(Debug, Clone)]
struct Call {
    route: Route,
    method: Method,
    path: String,
}

impl Call {
    fn error(&self, kind: ApiErrorKind) -> ApiError {
        ApiError::new(self.method.as_str(), self.path.clone(), kind)
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

        Ok(Self {
            http,
            base,
            base_path,
            account_id: config.account_id,
            auth,
            pacer: Arc::new(Pacer::new(config.pacing)),
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
    async fn fetch<T: DeserializeOwned>(
        &self,
        call: &Call,
        body: Option<&CreateBindingRequest>,
    ) -> Result<T, ApiError> {
        let answer = self.send(call, body).await?;
        decode::<T>(call, &answer)?.ok_or_else(|| {
            call.error(ApiErrorKind::Decode {
                field: String::from("result"),
                message: String::from("missing or null"),
            })
        })
    }
}

impl Api for HttpClient {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        let call = self.call(Endpoint::ListServices);
        let items: Vec<WireService> = self.fetch(&call, None).await?;
        convert_all(&call, items, WireService::into_service)
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        let call = self.call(Endpoint::ListPrefixes);
        let items: Vec<WirePrefix> = self.fetch(&call, None).await?;
        convert_all(&call, items, WirePrefix::into_prefix)
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        let call = self.call(Endpoint::GetPrefix(prefix));
        match self.fetch::<WirePrefix>(&call, None).await {
            Ok(wire) => wire
                .into_prefix("result.")
                .map(Some)
                .map_err(|e| call.field_error(e)),
            Err(e) if e.is_prefix_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        let call = self.call(Endpoint::ListBindings(prefix));
        let items: Vec<WireBinding> = self.fetch(&call, None).await?;
        convert_all(&call, items, WireBinding::into_binding)
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        let call = self.call(Endpoint::GetBinding(prefix, binding));
        match self.fetch::<WireBinding>(&call, None).await {
            Ok(wire) => wire
                .into_binding("result.")
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
        let wire: WireBinding = self.fetch(&call, Some(&body)).await?;
        let binding = wire
            .into_binding("result.")
            .map_err(|e| call.field_error(e))?;
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
        let answer = self.send(&call, None).await?;
        // The answer is the envelope only; whatever `result` holds, if anything, is not used.
        decode::<IgnoredAny>(&call, &answer).map(|_| Confirmed::Answered)
    }
}

/// Converts wire items to domain values; field errors name the item (`result[3].cidr`).
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

/// `result` alone, so that other envelope fields can never fail a decode.
#[derive(Deserialize)]
struct ResultOnly<T> {
    #[serde(default = "none")]
    result: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// The one place answers are interpreted, for every call:
///
/// - a body that is not JSON, or JSON that is not the envelope (no `success`): `NotJson` with
///   the status and a short sanitized excerpt;
/// - `success: false` whatever the status, or any non-2xx status: `Status` with the errors
///   (sanitized) and `Retry-After` when sent;
/// - otherwise the decoded `result` (`None` when absent or null); a field that does not decode
///   is a `Decode` error naming its path, e.g. `result[2].cidr`.
fn decode<T: DeserializeOwned>(call: &Call, answer: &Answer) -> Result<Option<T>, ApiError> {
    let status = answer.status;
    let not_json = || {
        call.error(ApiErrorKind::NotJson {
            status,
            excerpt: excerpt(&answer.body),
        })
    };
    let value: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|_| not_json())?;
    let Some(success) = value.get("success") else {
        return Err(not_json());
    };
    let Some(success) = success.as_bool() else {
        return Err(call.error(ApiErrorKind::Decode {
            field: String::from("success"),
            message: format!("expected a boolean, got `{}`", short_json(success)),
        }));
    };

    if !success || !(200..300).contains(&status) {
        return Err(call.error(ApiErrorKind::Status {
            status,
            errors: envelope_errors(&value),
            retry_after: retry_after(&answer.headers),
        }));
    }

    serde_path_to_error::deserialize::<_, ResultOnly<T>>(&value)
        .map(|r| r.result)
        .map_err(|e| {
            let mut field = e.path().to_string();
            let message = e.inner().to_string();
            // serde reports a missing field at its parent; name the field itself.
            if let Some(name) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
            {
                field = format!("{field}.{name}");
            }
            call.error(ApiErrorKind::Decode {
                field,
                message: crate::sanitize::text(&message).into_owned(),
            })
        })
}

/// The envelope's `errors`, read leniently: a failure is reported even when its entries are
/// oddly shaped (a missing code is 0; a missing message is the entry's JSON).
fn envelope_errors(value: &serde_json::Value) -> Vec<ApiMessage> {
    messages(value.get("errors"), 0)
}

/// How deep nested `error_chain`s are read (Cloudflare nests one level).
const CHAIN_DEPTH: usize = 4;

/// An array of error entries, each with its nested `error_chain`, read leniently.
fn messages(value: Option<&serde_json::Value>, depth: usize) -> Vec<ApiMessage> {
    let Some(entries) = value.and_then(|e| e.as_array()) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| {
            let code = e
                .get("code")
                .and_then(serde_json::Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0);
            let message = match e.get("message").and_then(|m| m.as_str()) {
                Some(m) => crate::sanitize::text(m).into_owned(),
                None => short_json(e),
            };
            let chain = if depth < CHAIN_DEPTH {
                messages(e.get("error_chain"), depth + 1)
            } else {
                Vec::new()
            };
            ApiMessage {
                code,
                message,
                chain,
            }
        })
        .collect()
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

/// A JSON value as short, printable text.
fn short_json(value: &serde_json::Value) -> String {
    crate::sanitize::text(&value.to_string()).into_owned()
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

        let (url, _) = serve(ok(json!([{"id": SERVICE}]))).await;
        let err = client(&url).list_services().await.unwrap_err();
        assert_eq!(
            err.kind,
            ApiErrorKind::Decode {
                field: "result[0].name".into(),
                message: "missing field `name`".into()
            }
        );

        let (url, _) = serve(ok(json!(null))).await;
        let err = client(&url).list_prefixes().await.unwrap_err();
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
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(TOKEN) && !shown.contains("http://"),
            "{shown}"
        );
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
            "GET /x: the answer is larger than 64 MiB, more than svcbind reads; it was not read further"
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
}
