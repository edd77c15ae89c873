//! Fault injection: rules that make the next N matching requests fail in a chosen way, so
//! the client's retries, timeouts and recovery are tested against real failures, and holds
//! that keep a request waiting until a test releases it, so a test can act while a call is in
//! flight without guessing how long it takes.
//!
//! This module describes and matches rules and keeps the holds; carrying out the other actions
//! is the job of the path that received the request (HTTP server or in-process handle).

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The HTTP methods a rule can be limited to: those of the API's calls.
pub use crate::api::endpoint::Method as FaultMethod;

/// What happens to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer this status with an error envelope, without processing the request
    /// (`Retry-After` too when given, e.g. with 429). The envelope's error is `code` and
    /// `message` when given (e.g. 404 with 7000 "No route for that URI"), else 971 for a 429
    /// and 9000 otherwise, with a message naming the status.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Process the request (a POST really creates the binding), then answer this status
    /// with an error envelope (`code` and `message` as for `Status`): how a client learns that
    /// a failed call may have happened.
    StatusAfterProcessing {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Wait this long before going on as usual (e.g. longer than the client's timeout).
    Delay { millis: u64 },
    /// Close the connection without an answer, before processing.
    Drop,
    /// Process the request, then close the connection without an answer.
    DropAfterProcessing,
    /// Answer an HTML error page instead of JSON, without processing: with `status` (e.g. 404,
    /// a proxy's own "not found") the page names it; without, a 502 page is answered with 200.
    Malformed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// Process the request (a POST really creates the binding), then answer an HTML page
    /// instead of the API's JSON: with `status` when given, else with the status the call
    /// itself answered (201 for a create, 200 for a delete). A write the API accepted whose
    /// answer cannot be read.
    MalformedAfterProcessing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// Wait, after counting and before processing, until released (`POST /__svcbind/release`),
    /// then go on as usual.
    Hold,
    /// Answer 200 with a body of `bytes` bytes, without processing: the start of an envelope
    /// that never ends (`{"success":true,"result":[` and spaces), streamed without a length,
    /// as a broken or hostile server might. A client must stop reading at its own cap.
    Oversized { bytes: u64 },
}

impl FaultAction {
    /// `Status` with its default error.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after_secs: None,
            code: None,
            message: None,
        }
    }

    /// `StatusAfterProcessing` with its default error.
    pub fn status_after_processing(status: u16) -> Self {
        Self::StatusAfterProcessing {
            status,
            code: None,
            message: None,
        }
    }
}

/// The answer of a `malformed` fault: its status and an HTML page, such as a proxy sends.
pub(crate) fn malformed_answer(status: Option<u16>) -> (u16, String) {
    // Without a status: a proxy that hides its 502 behind a 200.
    let page = status.unwrap_or(502);
    let reason = reason(page);
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{page} {reason}</title></head>\
<body><h1>{page} {reason}</h1><p>The upstream answered something that is not JSON.</p></body></html>\n"
    );
    (status.unwrap_or(200), body)
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

    /// Checks what serde cannot: a positive count, an error status for `status` actions, and
    /// a status a proxy could answer for `malformed`.
    pub fn validate(&self) -> Result<(), String> {
        if self.times == 0 {
            return Err("`times` must be at least 1".to_owned());
        }
        match self.action {
            FaultAction::Status { status, .. }
            | FaultAction::StatusAfterProcessing { status, .. }
                if !(400..=599).contains(&status) =>
            {
                Err(format!(
                    "`status` {status} is not an error status: use 400 to 599"
                ))
            }
            FaultAction::Malformed {
                status: Some(status),
            }
            | FaultAction::MalformedAfterProcessing {
                status: Some(status),
            } if !(200..=599).contains(&status) => Err(format!(
                "`status` {status} cannot carry a page: use 200 to 599"
            )),
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

/// The reason phrase of a status (`Not Found`), or `Error` for a status without one.
pub(crate) fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
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

/// The requests held by `hold` rules, and the releases that let them go on.
///
/// Each held request takes the next ticket; ticket `n` goes on once `n` releases have been
/// given. So requests go on in the order they were held, and a release given before its
/// request arrives is not lost: the next hold passes at once. A test therefore never has to
/// know whether the request it releases has reached its hold yet. A held request whose client
/// gave up still holds its ticket, and takes a release like any other.
#[derive(Debug)]
pub(crate) struct Holds {
    state: watch::Sender<Tickets>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Tickets {
    /// Requests that reached a hold.
    arrived: u64,
    /// Releases given.
    released: u64,
}

impl Tickets {
    fn counts(self) -> HoldCounts {
        HoldCounts {
            released: 0,
            held: self.arrived.saturating_sub(self.released),
            ahead: self.released.saturating_sub(self.arrived),
        }
    }
}

/// Where the holds stand, as `POST /__svcbind/release` and `GET /__svcbind/held` answer it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldCounts {
    /// Held requests this release let go on (0 when only asked).
    pub released: u64,
    /// Requests still held.
    pub held: u64,
    /// Releases given ahead of any held request: that many holds to come pass at once.
    pub ahead: u64,
}

impl Default for Holds {
    fn default() -> Self {
        Self {
            state: watch::Sender::new(Tickets::default()),
        }
    }
}

impl Holds {
    /// Holds the calling request until its release.
    pub(crate) async fn wait(&self) {
        let mut ticket = 0;
        self.state.send_modify(|t| {
            t.arrived += 1;
            ticket = t.arrived;
        });
        let mut tickets = self.state.subscribe();
        // The sender lives as long as `self`, so the wait ends only with a release.
        let _ = tickets.wait_for(|t| t.released >= ticket).await;
    }

    /// Lets the `count` longest-held requests go on; releases beyond the requests held let
    /// the next holds pass at once.
    pub(crate) fn release(&self, count: u64) -> HoldCounts {
        let mut before = Tickets::default();
        self.state.send_modify(|t| {
            before = *t;
            t.released = t.released.saturating_add(count);
        });
        let mut counts = self.counts();
        counts.released = count.min(before.counts().held);
        counts
    }

    /// Lets every held request go on, giving no release ahead.
    pub(crate) fn release_all(&self) -> HoldCounts {
        let mut before = Tickets::default();
        self.state.send_modify(|t| {
            before = *t;
            t.released = t.released.max(t.arrived);
        });
        let mut counts = self.counts();
        counts.released = before.counts().held;
        counts
    }

    /// Where the holds stand.
    pub(crate) fn counts(&self) -> HoldCounts {
        self.state.borrow().counts()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn rules_apply_n_times_in_order_then_disappear() {
        let mut faults = Faults::default();
        faults.add(
            FaultRule::new(FaultAction::Drop)
                .method(FaultMethod::Post)
                .times(2),
        );
        faults.add(FaultRule::new(FaultAction::Hold).path_contains("/services"));
        let p = "/client/v4/accounts/a/addressing/prefixes/p/bindings";
        assert_eq!(faults.take("GET", p), None);
        assert_eq!(faults.take("POST", p), Some(FaultAction::Drop));
        assert_eq!(faults.take("POST", p), Some(FaultAction::Drop));
        assert_eq!(faults.take("POST", p), None);
        let s = "/client/v4/accounts/a/addressing/services";
        assert_eq!(faults.take("GET", s), Some(FaultAction::Hold));
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
                retry_after_secs: Some(7),
                code: None,
                message: None,
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
                r#"{"type":"status","status":503}"#,
                FaultAction::status(503),
            ),
            (
                r#"{"type":"status_after_processing","status":502}"#,
                FaultAction::status_after_processing(502),
            ),
            (
                r#"{"type":"malformed"}"#,
                FaultAction::Malformed { status: None },
            ),
            (r#"{"type":"drop"}"#, FaultAction::Drop),
            (
                r#"{"type":"malformed_after_processing"}"#,
                FaultAction::MalformedAfterProcessing { status: None },
            ),
            (
                r#"{"type":"malformed_after_processing","status":204}"#,
                FaultAction::MalformedAfterProcessing { status: Some(204) },
            ),
            (r#"{"type":"hold"}"#, FaultAction::Hold),
            (
                r#"{"type":"oversized","bytes":70000000}"#,
                FaultAction::Oversized { bytes: 70_000_000 },
            ),
        ] {
            assert_eq!(serde_json::from_str::<FaultAction>(json).unwrap(), action);
            // Optional fields left out are not written back.
            assert_eq!(serde_json::to_string(&action).unwrap(), json);
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
    fn a_status_may_carry_its_own_code_and_message() {
        for (json, action) in [
            (
                r#"{"type":"status","status":404,"code":7000,"message":"No route for that URI"}"#,
                FaultAction::Status {
                    status: 404,
                    retry_after_secs: None,
                    code: Some(7000),
                    message: Some("No route for that URI".into()),
                },
            ),
            (
                r#"{"type":"status_after_processing","status":404,"code":1002}"#,
                FaultAction::StatusAfterProcessing {
                    status: 404,
                    code: Some(1002),
                    message: None,
                },
            ),
        ] {
            assert_eq!(serde_json::from_str::<FaultAction>(json).unwrap(), action);
            assert_eq!(serde_json::to_string(&action).unwrap(), json);
            assert!(FaultRule::new(action).validate().is_ok());
        }
    }

    #[test]
    fn a_malformed_answer_may_carry_a_status_and_its_page_names_it() {
        let action: FaultAction =
            serde_json::from_str(r#"{"type":"malformed","status":404}"#).unwrap();
        assert_eq!(action, FaultAction::Malformed { status: Some(404) });
        assert!(FaultRule::new(action).validate().is_ok());

        let (status, page) = malformed_answer(Some(404));
        assert_eq!(status, 404);
        assert_eq!(
            page,
            "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>\
<p>The upstream answered something that is not JSON.</p></body></html>\n"
        );
        // Without a status: a 502 page behind a 200.
        let (status, page) = malformed_answer(None);
        assert_eq!(status, 200);
        assert!(page.contains("<title>502 Bad Gateway</title>"), "{page}");
        assert!(serde_json::from_str::<serde_json::Value>(&page).is_err());
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
        assert!(FaultRule::new(FaultAction::status(503)).validate().is_ok());
        assert_eq!(
            FaultRule::new(FaultAction::status_after_processing(200))
                .validate()
                .unwrap_err(),
            "`status` 200 is not an error status: use 400 to 599"
        );
        assert!(
            FaultRule::new(FaultAction::Malformed { status: Some(200) })
                .validate()
                .is_ok()
        );
        assert_eq!(
            FaultRule::new(FaultAction::Malformed { status: Some(99) })
                .validate()
                .unwrap_err(),
            "`status` 99 cannot carry a page: use 200 to 599"
        );
    }

    /// A request held on `holds` that sends `id` once released.
    fn hold(holds: &Arc<Holds>, id: usize, done: &tokio::sync::mpsc::UnboundedSender<usize>) {
        let holds = Arc::clone(holds);
        let done = done.clone();
        tokio::spawn(async move {
            holds.wait().await;
            let _ = done.send(id);
        });
    }

    /// Lets the spawned requests run until `held` of them wait.
    async fn until_held(holds: &Holds, held: u64) {
        while holds.counts().held != held {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn held_requests_go_on_one_release_at_a_time_in_arrival_order() {
        let holds = Arc::new(Holds::default());
        let (done, mut released) = tokio::sync::mpsc::unbounded_channel();
        for id in 0..3 {
            hold(&holds, id, &done);
            until_held(&holds, id as u64 + 1).await;
        }
        assert_eq!(
            holds.counts(),
            HoldCounts {
                released: 0,
                held: 3,
                ahead: 0
            }
        );
        assert!(released.try_recv().is_err(), "nothing goes on unreleased");

        assert_eq!(
            holds.release(1),
            HoldCounts {
                released: 1,
                held: 2,
                ahead: 0
            }
        );
        assert_eq!(released.recv().await, Some(0), "the first held goes first");
        assert_eq!(holds.release(1).held, 1);
        assert_eq!(released.recv().await, Some(1));
        assert!(released.try_recv().is_err(), "the third is still held");

        assert_eq!(
            holds.release_all(),
            HoldCounts {
                released: 1,
                held: 0,
                ahead: 0
            }
        );
        assert_eq!(released.recv().await, Some(2));
    }

    #[tokio::test]
    async fn a_release_given_before_its_request_arrives_is_kept() {
        let holds = Arc::new(Holds::default());
        let (done, mut released) = tokio::sync::mpsc::unbounded_channel();
        assert_eq!(
            holds.release(2),
            HoldCounts {
                released: 0,
                held: 0,
                ahead: 2
            }
        );
        hold(&holds, 0, &done);
        assert_eq!(released.recv().await, Some(0));
        assert_eq!(holds.counts().ahead, 1);
        hold(&holds, 1, &done);
        assert_eq!(released.recv().await, Some(1));
        hold(&holds, 2, &done);
        until_held(&holds, 1).await;
        assert!(released.try_recv().is_err(), "the third is held");
        assert_eq!(holds.release_all().released, 1);
        assert_eq!(released.recv().await, Some(2));
        // Releasing all gives nothing ahead.
        assert_eq!(holds.release_all(), HoldCounts::default());
        assert_eq!(holds.counts(), HoldCounts::default());
    }
}
