//! Fault injection: rules that make the next N matching requests fail in a chosen way, so
//! the client's retries, timeouts and recovery are tested against real failures.
//!
//! This module only describes and matches rules; carrying out an action is the job of the
//! path that received the request (HTTP server or in-process handle).

use serde::{Deserialize, Serialize};

/// The HTTP methods a rule can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FaultMethod {
    Get,
    Post,
    Delete,
}

impl FaultMethod {
    /// The method's name, as in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// What happens to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer this status with an error envelope, without processing the request
    /// (`Retry-After` too when given, e.g. with 429).
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Process the request (a POST really creates the binding), then answer this status
    /// with an error envelope: how a client learns that a failed call may have happened.
    StatusAfterProcessing { status: u16 },
    /// Wait this long before going on as usual (e.g. longer than the client's timeout).
    Delay { millis: u64 },
    /// Close the connection without an answer, before processing.
    Drop,
    /// Process the request, then close the connection without an answer.
    DropAfterProcessing,
    /// Answer 200 with a body that is not JSON (an HTML error page), without processing.
    Malformed,
}

/// One rule: which requests it matches, how many times, and what it does to them.
///
/// As JSON (`POST /__svcbind/faults`):
/// `{"method": "POST", "path_contains": "/bindings", "times": 2,
///   "action": {"type": "status", "status": 503}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Only requests with this method (any method when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<FaultMethod>,
    /// Only requests whose path (e.g. `/client/v4/accounts/…/bindings`) contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    /// How many matching requests the rule applies to before it disappears.
    #[serde(default = "one")]
    pub times: u32,
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A rule for the next request of any kind.
    pub fn new(action: FaultAction) -> Self {
        Self {
            method: None,
            path_contains: None,
            times: 1,
            action,
        }
    }

    /// Limits the rule to one method.
    pub fn method(mut self, method: FaultMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Limits the rule to paths containing `text`.
    pub fn path_contains(mut self, text: impl Into<String>) -> Self {
        self.path_contains = Some(text.into());
        self
    }

    /// Applies the rule to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Checks what serde cannot: a positive count and an error status.
    pub fn validate(&self) -> Result<(), String> {
        if self.times == 0 {
            return Err("`times` must be at least 1".to_owned());
        }
        match self.action {
            FaultAction::Status { status, .. } | FaultAction::StatusAfterProcessing { status }
                if !(400..=599).contains(&status) =>
            {
                Err(format!(
                    "`status` {status} is not an error status: use 400 to 599"
                ))
            }
            _ => Ok(()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.is_none_or(|m| m.as_str() == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|text| path.contains(text))
    }
}

/// The pending rules, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    pub(crate) fn add(&mut self, rule: FaultRule) {
        if rule.times > 0 {
            self.rules.push(rule);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn pending(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// The action of the first rule matching this request, which is used up by one.
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let index = self.rules.iter().position(|r| r.matches(method, path))?;
        let rule = &mut self.rules[index];
        let action = rule.action.clone();
        rule.times -= 1;
        if rule.times == 0 {
            self.rules.remove(index);
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_n_times_in_order_then_disappear() {
        let mut faults = Faults::default();
        faults.add(
            FaultRule::new(FaultAction::Drop)
                .method(FaultMethod::Post)
                .times(2),
        );
        faults.add(FaultRule::new(FaultAction::Malformed).path_contains("/services"));
        let p = "/client/v4/accounts/a/addressing/prefixes/p/bindings";
        assert_eq!(faults.take("GET", p), None);
        assert_eq!(faults.take("POST", p), Some(FaultAction::Drop));
        assert_eq!(faults.take("POST", p), Some(FaultAction::Drop));
        assert_eq!(faults.take("POST", p), None);
        let s = "/client/v4/accounts/a/addressing/services";
        assert_eq!(faults.take("GET", s), Some(FaultAction::Malformed));
        assert_eq!(faults.take("GET", s), None);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn json_shape() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"method":"POST","path_contains":"/bindings","times":3,
                "action":{"type":"status","status":429,"retry_after_secs":7}}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::new(FaultAction::Status {
                status: 429,
                retry_after_secs: Some(7)
            })
            .method(FaultMethod::Post)
            .path_contains("/bindings")
            .times(3)
        );
        let rule: FaultRule =
            serde_json::from_str(r#"{"action":{"type":"drop_after_processing"}}"#).unwrap();
        assert_eq!(rule, FaultRule::new(FaultAction::DropAfterProcessing));
        for (json, action) in [
            (
                r#"{"type":"delay","millis":5}"#,
                FaultAction::Delay { millis: 5 },
            ),
            (
                r#"{"type":"status_after_processing","status":502}"#,
                FaultAction::StatusAfterProcessing { status: 502 },
            ),
            (r#"{"type":"malformed"}"#, FaultAction::Malformed),
            (r#"{"type":"drop"}"#, FaultAction::Drop),
        ] {
            assert_eq!(serde_json::from_str::<FaultAction>(json).unwrap(), action);
        }
        assert!(serde_json::from_str::<FaultRule>(r#"{"action":{"type":"explode"}}"#).is_err());
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"methd":"GET","action":{"type":"drop"}}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"method":"PUT","action":{"type":"drop"}}"#)
                .is_err()
        );
    }

    #[test]
    fn validation() {
        assert!(FaultRule::new(FaultAction::Drop).validate().is_ok());
        assert!(
            FaultRule::new(FaultAction::Drop)
                .times(0)
                .validate()
                .is_err()
        );
        let ok = FaultAction::Status {
            status: 503,
            retry_after_secs: None,
        };
        assert!(FaultRule::new(ok).validate().is_ok());
        let bad = FaultAction::StatusAfterProcessing { status: 200 };
        assert_eq!(
            FaultRule::new(bad).validate().unwrap_err(),
            "`status` 200 is not an error status: use 400 to 599"
        );
    }
}
