//! [`ApiError`]: what went wrong with one API call, typed so callers can branch on it
//! (not found, retryable, authentication) and printed without ever including a credential.
//!
//! The classification that retries rely on lives here, next to the kinds it classifies:
//! [`ApiError::is_retryable`] (trying again may succeed) and [`ApiError::outcome`] (whether the
//! server may have carried out the call). The retry policy itself is `api::retry`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of the envelope's `errors` (or `messages`) array, with the more specific errors
/// Cloudflare nests in its `error_chain` (e.g. 6003 "Invalid request headers" caused by 6111
/// "Invalid format for Authorization header").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: u32,
    pub message: String,
    /// The nested `error_chain`, outermost first; empty when the API sent none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ApiMessage>,
}

impl ApiMessage {
    /// An entry without a chain.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            chain: Vec::new(),
        }
    }

    /// This entry's code followed by the codes of its chain, depth first.
    fn codes(&self, out: &mut Vec<u32>) {
        out.push(self.code);
        for nested in &self.chain {
            nested.codes(out);
        }
    }
}

impl fmt::Display for ApiMessage {
    /// `message (code)`, then each nested error after `: ` (`Invalid request headers (6003):
    /// Invalid format for Authorization header (6111)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)?;
        for (i, nested) in self.chain.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{nested}")?;
        }
        Ok(())
    }
}

impl From<crate::api::wire::Message> for ApiMessage {
    fn from(m: crate::api::wire::Message) -> Self {
        Self {
            code: m.code,
            message: m.message,
            chain: m.error_chain.into_iter().map(Self::from).collect(),
        }
    }
}

/// The API error codes svcbind knows by meaning.
pub mod codes {
    /// Prefix not found.
    pub const PREFIX_NOT_FOUND: u32 = 1000;
    /// Binding not found.
    pub const BINDING_NOT_FOUND: u32 = 1002;
    /// Unsupported binding configuration.
    pub const UNSUPPORTED_BINDING: u32 = 1003;
    /// Invalid request headers (malformed credentials); the specific problem is nested in its
    /// `error_chain` ([`BAD_AUTHORIZATION`], [`BAD_AUTH_EMAIL`], [`BAD_AUTH_KEY`]).
    pub const INVALID_HEADERS: u32 = 6003;
    /// Invalid format for the `Authorization` header (nested under 6003).
    pub const BAD_AUTHORIZATION: u32 = 6111;
    /// Invalid format for the `X-Auth-Email` header (nested under 6003).
    pub const BAD_AUTH_EMAIL: u32 = 6102;
    /// Invalid format for the `X-Auth-Key` header (nested under 6003).
    pub const BAD_AUTH_KEY: u32 = 6103;
    /// No credentials at all: "Missing X-Auth-Key, X-Auth-Email or Authorization headers".
    pub const MISSING_CREDENTIALS: u32 = 9106;
    /// Rate limited (HTTP 429).
    pub const RATE_LIMITED: u32 = 971;
    /// Could not route (bad account id or object identifier).
    pub const NO_ROUTE: u32 = 7003;
    /// No route for that URI.
    pub const UNKNOWN_ROUTE: u32 = 7000;
    /// Authentication error.
    pub const AUTHENTICATION: u32 = 10000;
}

/// What kind of failure, independent of which call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The API answered with `success: false` or an error status and a JSON envelope.
    Status {
        status: u16,
        errors: Vec<ApiMessage>,
        /// `Retry-After`, when the answer carried one.
        retry_after: Option<Duration>,
    },
    /// The answer was not the JSON envelope: the status and a short, sanitized excerpt.
    NotJson { status: u16, excerpt: String },
    /// The envelope was JSON but a field did not decode.
    Decode { field: String, message: String },
    /// No connection could be made (nothing reached the server).
    Connect { message: String },
    /// The request or the connection timed out (the server may have processed it).
    Timeout,
    /// The connection broke after the request was sent (the server may have processed it).
    Transport { message: String },
    /// An answer that may pass when sent again (a 429, a 5xx) asked, in `Retry-After`, to wait
    /// longer than svcbind may wait before trying again (`max_wait`, `--max-retry-wait`);
    /// `errors` is empty when the answer was not the API's envelope.
    WaitTooLong {
        status: u16,
        errors: Vec<ApiMessage>,
        retry_after: Duration,
        max_wait: Duration,
    },
    /// The answer's body was larger than svcbind reads (`limit` bytes); the rest was not read.
    TooLarge { limit: u64 },
    /// A request was refused before it was sent (bad id, bad URL, missing credentials).
    Invalid { message: String },
    /// A write (create, delete) was answered with a success status, but the answer could not
    /// be read (`problem`: not JSON, not the envelope, or a field that does not decode). The
    /// API accepted the write, so it most likely happened; only reading the prefix back tells
    /// what it made. Treated like a lost answer.
    Accepted { status: u16, problem: String },
    /// A list came back with fewer items than its `result_info` says there are (`total`, or
    /// `pages` as page N of M), and the API documents no way to ask for the rest. svcbind never
    /// works from part of a list: it could delete bindings it did not see.
    Incomplete {
        /// What was listed: `prefixes`, `bindings`, `services`.
        items: &'static str,
        returned: u32,
        total: Option<u32>,
        pages: Option<(u32, u32)>,
    },
    /// The prefix belongs to another account (`owner`) than the one svcbind works on: a
    /// delegated prefix, whose bindings are managed in the account that owns it.
    Foreign { cidr: String, owner: String },
}

/// Whether the server may have carried out a call that failed, which decides whether a write
/// may simply be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Surely not carried out: nothing reached the server (no connection), the request was
    /// never sent, or the server refused it before processing (429).
    NotProcessed,
    /// The server answered that it did not do it, with an error of its own (4xx but 429):
    /// sending it again gets the same answer.
    Refused,
    /// Unknown: the request was sent and no trustworthy answer came back (timeout, broken
    /// connection, 5xx, an answer that was not the API's).
    Unknown,
}

/// How many entries of an error answer's `errors` (and of each nested `error_chain`) are
/// kept and shown; the rest are counted ("and N more").
pub const ERRORS_SHOWN: usize = 5;

/// A failed API call: which call, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}{}",
    call_prefix(.method, .path),
    KindWithMore(kind, .details.more_errors),
    attempts_note(*.attempts)
)]
pub struct ApiError {
    /// HTTP method of the call (empty when no call was involved, e.g. a bad base URL).
    pub method: &'static str,
    /// Path below the base URL, e.g. `/accounts/…/addressing/prefixes`.
    pub path: String,
    pub kind: ApiErrorKind,
    /// How many times the call was sent (1 unless retried); `kind` is the last attempt's.
    pub attempts: u32,
    /// What else is known of the call and its answer (boxed: errors travel in every
    /// `Result`, so they stay small).
    pub details: Box<Details>,
}

/// What an [`ApiError`] carries beside its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// `Retry-After` of the answer, whatever its body: a 429 or 5xx from a proxy in front of
    /// the API carries one as well as the API's own envelope does.
    pub retry_after: Option<Duration>,
    /// Entries of the answer's `errors` beyond the [`ERRORS_SHOWN`] kept in the kind: an
    /// answer may hold any number, and a message or a report must stay readable.
    pub more_errors: u64,
    /// The base URL the call went to (the HTTP client's; `None` in process), so a hint can
    /// name it when the server does not know the route.
    pub base_url: Option<String>,
}

/// A kind, with "and N more" after the errors it shows.
struct KindWithMore<'a>(&'a ApiErrorKind, u64);

impl fmt::Display for KindWithMore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, self.1)
    }
}

/// `" (after N attempts)"` when the call was sent more than once.
fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// `"GET /path: "`, or nothing for an error that belongs to no call.
fn call_prefix(method: &str, path: &str) -> String {
    if method.is_empty() {
        String::new()
    } else {
        format!("{method} {path}: ")
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

impl ApiErrorKind {
    /// The kind as text; `more` errors beyond those it holds are counted after them.
    fn write(&self, f: &mut fmt::Formatter<'_>, more: u64) -> fmt::Result {
        match self {
            Self::Status { status, errors, .. } => write_status(f, *status, errors, more),
            Self::WaitTooLong {
                status,
                errors,
                retry_after,
                max_wait,
            } => {
                if errors.is_empty() && more == 0 {
                    // Not the API's envelope (a proxy's page): there is nothing more to say.
                    write!(f, "HTTP {status}")?;
                } else {
                    write_status(f, *status, errors, more)?;
                }
                write!(
                    f,
                    "; the API asks to wait {} before the next request, longer than --max-retry-wait ({}): try again later, or raise --max-retry-wait",
                    humantime::format_duration(*retry_after),
                    humantime::format_duration(*max_wait)
                )
            }
            Self::TooLarge { limit } => write!(
                f,
                "the answer is larger than {}, more than svcbind reads; it was not read further",
                size(*limit)
            ),
            Self::NotJson { status, excerpt } => {
                write!(f, "HTTP {status} with a body that is not JSON: {excerpt:?}")
            }
            Self::Decode { field, message } => {
                write!(f, "unexpected response: field `{field}`: {message}")
            }
            Self::Connect { message } => write!(f, "cannot connect: {message}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Transport { message } => write!(f, "connection failed: {message}"),
            Self::Invalid { message } => f.write_str(message),
            Self::Accepted { status, problem } => write!(
                f,
                "HTTP {status}: the API accepted the write, but its answer cannot be read: {problem}"
            ),
            Self::Incomplete {
                items,
                returned,
                total,
                pages,
            } => {
                write!(f, "the API listed {returned}")?;
                if let Some(total) = total {
                    write!(f, " of {total}")?;
                }
                write!(f, " {items}")?;
                if let Some((page, of)) = pages {
                    write!(f, " (page {page} of {of})")?;
                }
                write!(
                    f,
                    ", and documents no way to ask for the rest: svcbind never works from part of a list, since it could delete what it did not see"
                )
            }
            Self::Foreign { cidr, owner } => write!(
                f,
                "prefix {cidr} belongs to account {owner}, another account than the one svcbind works on: a delegated prefix's bindings are managed in the account that owns it"
            ),
        }
    }
}

/// `64 MiB`, `64 KiB` or `100 bytes`.
pub(crate) fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// `HTTP 400: message (code); message (code)`, then `; and N more` when `more` errors were
/// not kept.
fn write_status(
    f: &mut fmt::Formatter<'_>,
    status: u16,
    errors: &[ApiMessage],
    more: u64,
) -> fmt::Result {
    write!(f, "HTTP {status}")?;
    if errors.is_empty() && more == 0 {
        return f.write_str(" (success: false, no error message)");
    }
    f.write_str(": ")?;
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{e}")?;
    }
    if more > 0 {
        let sep = if errors.is_empty() { "" } else { "; " };
        write!(f, "{sep}and {more} more")?;
    }
    Ok(())
}

impl ApiError {
    pub fn new(method: &'static str, path: impl Into<String>, kind: ApiErrorKind) -> Self {
        Self {
            method,
            path: path.into(),
            kind,
            attempts: 1,
            details: Box::default(),
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Status { status, .. }
            | ApiErrorKind::NotJson { status, .. }
            | ApiErrorKind::WaitTooLong { status, .. }
            | ApiErrorKind::Accepted { status, .. } => Some(*status),
            ApiErrorKind::Decode { .. }
            | ApiErrorKind::Connect { .. }
            | ApiErrorKind::Timeout
            | ApiErrorKind::Transport { .. }
            | ApiErrorKind::TooLarge { .. }
            | ApiErrorKind::Invalid { .. }
            | ApiErrorKind::Incomplete { .. }
            | ApiErrorKind::Foreign { .. } => None,
        }
    }

    /// The API's error codes, when it sent any, nested ones (`error_chain`) after the error
    /// that holds them.
    pub fn codes(&self) -> Vec<u32> {
        let mut codes = Vec::new();
        if let ApiErrorKind::Status { errors, .. } | ApiErrorKind::WaitTooLong { errors, .. } =
            &self.kind
        {
            for e in errors {
                e.codes(&mut codes);
            }
        }
        codes
    }

    /// The prefix addressed does not exist: the API answered 404 with its envelope and code
    /// 1000. Nothing else means that: a 404 with another code (7000 "No route for that URI":
    /// a wrong base URL), a 404 page that is not the envelope (a proxy's), or code 1000 with
    /// another status is an error like any other.
    pub fn is_prefix_not_found(&self) -> bool {
        self.is_not_found_with(codes::PREFIX_NOT_FOUND)
    }

    /// The binding addressed does not exist: the API answered 404 with its envelope and code
    /// 1002, on the same terms as [`Self::is_prefix_not_found`]. A missing prefix (1000) is
    /// not a missing binding: the call addressed the wrong place.
    pub fn is_binding_not_found(&self) -> bool {
        self.is_not_found_with(codes::BINDING_NOT_FOUND)
    }

    /// 404 with the envelope, and `code` among its errors.
    fn is_not_found_with(&self, code: u32) -> bool {
        match &self.kind {
            ApiErrorKind::Status {
                status: 404,
                errors,
                ..
            } => errors.iter().any(|e| e.code == code),
            _ => false,
        }
    }

    /// The credentials were refused, malformed or missing.
    pub fn is_auth(&self) -> bool {
        self.codes().iter().any(|c| {
            [
                codes::AUTHENTICATION,
                codes::INVALID_HEADERS,
                codes::MISSING_CREDENTIALS,
            ]
            .contains(c)
        })
    }

    /// Trying again may succeed: 408, 429, 5xx, timeouts and connection errors, as the
    /// official SDKs retry them; 409 (a conflict with a change in progress) too, but only for a
    /// read, since sending a write again blindly could do it twice. A write the API accepted
    /// but whose answer cannot be read ([`ApiErrorKind::Accepted`]) counts too: like a lost
    /// answer, it is settled by reading the prefix back before anything is sent again.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Status { status, .. } | ApiErrorKind::NotJson { status, .. } => {
                matches!(*status, 408 | 429 | 500..)
                    || (*status == 409 && self.method == crate::api::Method::Get.as_str())
            }
            ApiErrorKind::Connect { .. }
            | ApiErrorKind::Timeout
            | ApiErrorKind::Transport { .. }
            | ApiErrorKind::Accepted { .. } => true,
            ApiErrorKind::Decode { .. }
            | ApiErrorKind::Invalid { .. }
            | ApiErrorKind::TooLarge { .. }
            | ApiErrorKind::WaitTooLong { .. }
            | ApiErrorKind::Incomplete { .. }
            | ApiErrorKind::Foreign { .. } => false,
        }
    }

    /// Whether the server may have carried out the call (see [`Outcome`]).
    pub fn outcome(&self) -> Outcome {
        match &self.kind {
            ApiErrorKind::Status { status: 429, .. }
            | ApiErrorKind::NotJson { status: 429, .. }
            | ApiErrorKind::WaitTooLong { .. }
            | ApiErrorKind::Connect { .. }
            | ApiErrorKind::Invalid { .. }
            | ApiErrorKind::Foreign { .. } => Outcome::NotProcessed,
            // The API's own envelope with a client error: it looked at the call and said no.
            // Not a 408: the server gave up waiting, and may have gone on with the call.
            ApiErrorKind::Status { status, .. }
                if (400..500).contains(status) && *status != 408 =>
            {
                Outcome::Refused
            }
            ApiErrorKind::Status { .. }
            | ApiErrorKind::NotJson { .. }
            | ApiErrorKind::Timeout
            | ApiErrorKind::Transport { .. }
            | ApiErrorKind::Decode { .. }
            | ApiErrorKind::TooLarge { .. }
            | ApiErrorKind::Accepted { .. }
            | ApiErrorKind::Incomplete { .. } => Outcome::Unknown,
        }
    }

    /// The server surely did not process the request (so even a POST may be sent again).
    pub fn surely_not_processed(&self) -> bool {
        self.outcome() == Outcome::NotProcessed
    }

    /// `Retry-After` of the answer, if it sent one, whatever its body.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ApiErrorKind::Status {
                retry_after: Some(asked),
                ..
            } => Some(*asked),
            _ => self.details.retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, code: u32) -> ApiError {
        ApiError::new(
            "DELETE",
            "/accounts/a/addressing/prefixes/p/bindings/b",
            ApiErrorKind::Status {
                status,
                errors: vec![ApiMessage::new(code, "binding not found")],
                retry_after: None,
            },
        )
    }

    #[test]
    fn display_names_call_status_code_and_message() {
        assert_eq!(
            status(404, 1002).to_string(),
            "DELETE /accounts/a/addressing/prefixes/p/bindings/b: HTTP 404: binding not found (1002)"
        );
    }

    #[test]
    fn not_found_is_a_404_envelope_with_the_not_found_code() {
        assert!(status(404, 1002).is_binding_not_found());
        assert!(!status(404, 1002).is_prefix_not_found());
        assert!(status(404, 1000).is_prefix_not_found());
        assert!(!status(404, 1000).is_binding_not_found());
        // Another status with the code, or a 404 with another code: an error.
        for other in [status(400, 1002), status(400, 1000), status(410, 1002)] {
            assert!(
                !other.is_binding_not_found() && !other.is_prefix_not_found(),
                "{other}"
            );
        }
        for other in [status(404, 7000), status(404, 1003), status(404, 0)] {
            assert!(
                !other.is_binding_not_found() && !other.is_prefix_not_found(),
                "{other}"
            );
        }
        // The code among others still counts.
        let mut both = status(404, 7003);
        if let ApiErrorKind::Status { errors, .. } = &mut both.kind {
            errors.push(ApiMessage::new(1002, "binding not found"));
        }
        assert!(both.is_binding_not_found());
        // A 404 page that is not the envelope, or no answer at all: an error.
        let html = ApiError::new(
            "DELETE",
            "/x",
            ApiErrorKind::NotJson {
                status: 404,
                excerpt: "<html><title>404 Not Found</title></html>".into(),
            },
        );
        assert!(!html.is_binding_not_found() && !html.is_prefix_not_found());
        let empty = ApiError::new(
            "DELETE",
            "/x",
            ApiErrorKind::Status {
                status: 404,
                errors: Vec::new(),
                retry_after: None,
            },
        );
        assert!(!empty.is_binding_not_found() && !empty.is_prefix_not_found());
        let timeout = ApiError::new("DELETE", "/x", ApiErrorKind::Timeout);
        assert!(!timeout.is_binding_not_found());
    }

    #[test]
    fn classification() {
        assert!(status(503, 1).is_retryable());
        assert!(status(429, 1).surely_not_processed());
        assert!(!status(503, 1).surely_not_processed());
        assert!(status(403, 10000).is_auth());
        let timeout = ApiError::new("POST", "/x", ApiErrorKind::Timeout);
        assert!(timeout.is_retryable() && !timeout.surely_not_processed());
    }

    #[test]
    fn a_408_is_retried_like_a_lost_answer_and_a_409_only_when_reading() {
        let on = |method: &'static str, status: u16| {
            ApiError::new(
                method,
                "/x",
                ApiErrorKind::Status {
                    status,
                    errors: vec![ApiMessage::new(0, "x")],
                    retry_after: None,
                },
            )
        };
        for method in ["GET", "POST", "DELETE"] {
            let timeout = on(method, 408);
            assert!(timeout.is_retryable(), "{method}");
            // The server gave up waiting and may have gone on: a write is read back.
            assert_eq!(timeout.outcome(), Outcome::Unknown, "{method}");
        }
        assert!(on("GET", 409).is_retryable());
        for method in ["POST", "DELETE"] {
            assert!(!on(method, 409).is_retryable(), "{method}");
            assert_eq!(on(method, 409).outcome(), Outcome::Refused);
        }
        assert!(!on("GET", 400).is_retryable() && !on("GET", 410).is_retryable());
    }

    #[test]
    fn more_errors_than_shown_are_counted_after_them() {
        let mut e = status(400, 1003);
        e.details.more_errors = 12;
        assert!(
            e.to_string()
                .ends_with(": HTTP 400: binding not found (1003); and 12 more")
        );
        let mut e = ApiError::new(
            "GET",
            "/x",
            ApiErrorKind::WaitTooLong {
                status: 429,
                errors: Vec::new(),
                retry_after: Duration::from_secs(600),
                max_wait: Duration::from_secs(300),
            },
        );
        assert_eq!(
            e.to_string(),
            "GET /x: HTTP 429; the API asks to wait 10m before the next request, longer than --max-retry-wait (5m): try again later, or raise --max-retry-wait"
        );
        e.details.retry_after = Some(Duration::from_secs(3));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }
}
