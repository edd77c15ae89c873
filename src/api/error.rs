//! [`ApiError`]: what went wrong with one API call, typed so callers can branch on it
//! (not found, retryable, authentication) and printed without ever including a credential.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of the envelope's `errors` (or `messages`) array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: u32,
    pub message: String,
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
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
    /// Invalid request headers (malformed credentials).
    pub const INVALID_HEADERS: u32 = 6003;
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
    /// A request was refused before it was sent (bad id, bad URL, missing credentials).
    Invalid { message: String },
}

/// A failed API call: which call, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{kind}", call_prefix(.method, .path))]
pub struct ApiError {
    /// HTTP method of the call (empty when no call was involved, e.g. a bad base URL).
    pub method: &'static str,
    /// Path below the base URL, e.g. `/accounts/…/addressing/prefixes`.
    pub path: String,
    pub kind: ApiErrorKind,
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
        match self {
            Self::Status { status, errors, .. } => {
                write!(f, "HTTP {status}")?;
                if errors.is_empty() {
                    f.write_str(" (success: false, no error message)")
                } else {
                    f.write_str(": ")?;
                    for (i, e) in errors.iter().enumerate() {
                        if i > 0 {
                            f.write_str("; ")?;
                        }
                        write!(f, "{e}")?;
                    }
                    Ok(())
                }
            }
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
        }
    }
}

impl ApiError {
    pub fn new(method: &'static str, path: impl Into<String>, kind: ApiErrorKind) -> Self {
        Self {
            method,
            path: path.into(),
            kind,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Status { status, .. } | ApiErrorKind::NotJson { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The API's error codes, when it sent any.
    pub fn codes(&self) -> Vec<u32> {
        match &self.kind {
            ApiErrorKind::Status { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
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

    /// The credentials were refused.
    pub fn is_auth(&self) -> bool {
        let codes = self.codes();
        codes.contains(&codes::AUTHENTICATION) || codes.contains(&codes::INVALID_HEADERS)
    }

    /// Trying again may succeed: 429, 5xx, timeouts and connection errors.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Status { status, .. } | ApiErrorKind::NotJson { status, .. } => {
                *status == 429 || *status >= 500
            }
            ApiErrorKind::Connect { .. }
            | ApiErrorKind::Timeout
            | ApiErrorKind::Transport { .. } => true,
            ApiErrorKind::Decode { .. } | ApiErrorKind::Invalid { .. } => false,
        }
    }

    /// The server surely did not process the request (so even a POST may be sent again).
    pub fn surely_not_processed(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Status { status, .. } | ApiErrorKind::NotJson { status, .. } => {
                *status == 429
            }
            ApiErrorKind::Connect { .. } | ApiErrorKind::Invalid { .. } => true,
            ApiErrorKind::Timeout
            | ApiErrorKind::Transport { .. }
            | ApiErrorKind::Decode { .. } => false,
        }
    }

    /// `Retry-After` of a 429, if sent.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ApiErrorKind::Status { retry_after, .. } => *retry_after,
            _ => None,
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
                errors: vec![ApiMessage {
                    code,
                    message: "binding not found".into(),
                }],
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
            errors.push(ApiMessage {
                code: 1002,
                message: "binding not found".into(),
            });
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
}
