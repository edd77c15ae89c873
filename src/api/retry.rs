//! [`Retrying`]: a layer around any [`Api`] that sends a failed call again when that is safe,
//! and learns what became of a write whose answer was lost, so that a retry never creates a
//! second binding and a replace always finishes.
//!
//! The policy ([`RetryPolicy`]) is a type of its own, tested on a paused clock:
//!
//! - up to 4 tries, waiting between them with jittered exponential backoff from 0.5 s up to
//!   8 s (the delays of the `backon` crate's exponential backoff);
//! - a call that reads (GET) is sent again on 408, 409, 429, 5xx, timeouts and connection
//!   errors (the official SDKs' set);
//! - an answer with `Retry-After` (a 429, or a 5xx; the API's envelope or a proxy's page) is
//!   sent again after that wait (or the backoff, if longer), unless it asks to wait longer
//!   than `max_retry_wait` (`--max-retry-wait`, 300 s by default): then the call fails at
//!   once, with an error saying how long the answer asked to wait;
//! - a write (POST, DELETE) is sent again blindly only when it surely was not processed: a 429,
//!   or no connection at all; a 409 on a write is final. When its outcome is unknown (a
//!   timeout, a 408, a broken connection, a 5xx, or a success status whose answer cannot be
//!   read), the prefix's bindings are read back after the
//!   backoff's wait: a binding with the CIDR and service created is adopted as the create's
//!   result, a binding deleted that is gone counts as deleted (both reported as
//!   [`Confirmed::ReadBack`]); otherwise the write is sent again. A refusal by the API after
//!   an unknown outcome (a create of a CIDR that now exists, a delete of a binding now gone)
//!   is checked against the prefix the same way, since the lost attempt may have done it.
//!
//! Each attempt runs in a `call{attempt=N}` tracing span, so the client's per-request log line
//! says which attempt it was; each retry is announced as a warning (method, path, what
//! failed, how long until the next attempt). Not found is not retried: it is an answer.
//! This module does not print; time is tokio's.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use ipnet::IpNet;
use tracing::Instrument;

use super::{Api, ApiError, ApiErrorKind, Confirmed, Created, Outcome};
use crate::model::{Binding, BindingId, Prefix, PrefixId, Service, ServiceId};

/// Tries of one call when none is given (the first and three more).
pub const DEFAULT_TRIES: u32 = 4;
/// The first wait between tries.
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_millis(500);
/// The longest wait of the backoff.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(8);
/// The longest `Retry-After` honoured when none is given (`--max-retry-wait`).
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// When and how long to wait before sending a failed call again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries of one call, the first included (at least 1).
    pub tries: u32,
    /// The backoff's first wait; each next one doubles, up to `max_delay`, plus up to as much
    /// again of random jitter.
    pub min_delay: Duration,
    /// The backoff's longest wait, jitter included.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the call at once.
    pub max_retry_wait: Duration,
    /// A fixed seed for the jitter (tests); random when `None`.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            tries: DEFAULT_TRIES,
            min_delay: DEFAULT_MIN_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            jitter_seed: None,
        }
    }
}

/// The waits between the tries of one call, in order.
struct Backoff {
    delays: backon::ExponentialBackoff,
    max_delay: Duration,
}

impl Backoff {
    /// The wait before the next try, or `None` when no try is left.
    fn next(&mut self) -> Option<Duration> {
        self.delays.next().map(|d| d.min(self.max_delay))
    }
}

impl RetryPolicy {
    /// A policy with the defaults and `max_retry_wait`.
    pub fn with_max_retry_wait(max_retry_wait: Duration) -> Self {
        Self {
            max_retry_wait,
            ..Self::default()
        }
    }

    fn backoff(&self) -> Backoff {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.tries.saturating_sub(1) as usize)
            .with_jitter();
        let builder = match self.jitter_seed {
            Some(seed) => builder.with_jitter_seed(seed),
            None => builder,
        };
        Backoff {
            delays: builder.build(),
            max_delay: self.max_delay,
        }
    }

    /// How long to wait before sending the call of `error` again, given the backoff's `next`
    /// wait (`None`: no try left); or the error to give up with.
    fn wait_before_retry(
        &self,
        error: ApiError,
        next: Option<Duration>,
    ) -> Result<Duration, ApiError> {
        // `Retry-After` counts whatever the answer's body: a proxy's 429 page sends one too.
        if let Some(asked) = error.retry_after()
            && asked > self.max_retry_wait
        {
            let errors = match &error.kind {
                ApiErrorKind::Status { errors, .. } => errors.clone(),
                _ => Vec::new(),
            };
            return Err(ApiError {
                kind: ApiErrorKind::WaitTooLong {
                    status: error.status().unwrap_or(0),
                    errors,
                    retry_after: asked,
                    max_wait: self.max_retry_wait,
                },
                ..error
            });
        }
        match next {
            Some(backoff) => Ok(error
                .retry_after()
                .map_or(backoff, |asked| asked.max(backoff))),
            None => Err(error),
        }
    }

    /// Runs a call that changes nothing, sending it again while it fails in a way that may
    /// pass (see [`ApiError::is_retryable`]).
    pub async fn read<T, F, Fut>(&self, mut op: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut backoff = self.backoff();
        let mut attempt = 1;
        loop {
            let mut error = match op().instrument(span(attempt)).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            error.attempts = attempt;
            if !error.is_retryable() {
                return Err(error);
            }
            let wait = self.wait_before_retry(error.clone(), backoff.next())?;
            self.announce_retry(&error, wait, attempt + 1);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Runs a write, sending it again only when that cannot do it twice; after an attempt
    /// whose outcome is unknown, asks `read_back` whether the write happened (`Some`: it did,
    /// with this result).
    pub async fn write<T, F, Fut, R, RFut>(
        &self,
        mut op: F,
        mut read_back: R,
    ) -> Result<(T, Confirmed), ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
        R: FnMut() -> RFut,
        RFut: Future<Output = Result<Option<T>, ApiError>>,
    {
        let mut backoff = self.backoff();
        let mut attempt = 1;
        // An earlier attempt may have been carried out without its answer arriving.
        let mut uncertain = false;
        loop {
            let mut error = match op().instrument(span(attempt)).await {
                Ok(value) => return Ok((value, Confirmed::Answered)),
                Err(e) => e,
            };
            error.attempts = attempt;
            if !error.is_retryable() {
                // An answer that sending again would not change (a refusal by the API, an
                // answer that is not the API's own). After a lost answer it may mean that a
                // lost attempt did the write already (a create refused as a duplicate, a delete
                // of a binding now gone): the prefix tells.
                if uncertain && let Some(value) = look(&error, &mut read_back).await {
                    return Ok((value, Confirmed::ReadBack));
                }
                return Err(error);
            }
            let outcome = error.outcome();
            uncertain |= outcome == Outcome::Unknown;
            let wait = match self.wait_before_retry(error.clone(), backoff.next()) {
                Ok(wait) => wait,
                Err(give_up) => {
                    // A last look: the write may have happened all the same.
                    if uncertain && let Some(value) = look(&error, &mut read_back).await {
                        return Ok((value, Confirmed::ReadBack));
                    }
                    return Err(give_up);
                }
            };
            if outcome == Outcome::Unknown {
                tracing::warn!(
                    "{}; whether it happened is unknown: the prefix's bindings are read back in {}",
                    described(&error),
                    seconds(wait)
                );
                // The server may still be carrying the write out: look after the wait.
                tokio::time::sleep(wait).await;
                if let Some(value) = look(&error, &mut read_back).await {
                    return Ok((value, Confirmed::ReadBack));
                }
                tracing::warn!(
                    "{} {}: it did not happen; sending it again (attempt {} of {})",
                    error.method,
                    error.path,
                    attempt + 1,
                    self.tries
                );
            } else {
                self.announce_retry(&error, wait, attempt + 1);
                tokio::time::sleep(wait).await;
            }
            attempt += 1;
        }
    }

    fn announce_retry(&self, error: &ApiError, wait: Duration, next_attempt: u32) {
        tracing::warn!(
            "{}; trying again in {} (attempt {next_attempt} of {})",
            described(error),
            seconds(wait),
            self.tries
        );
    }
}

/// Asks `read_back` whether the write of `error` happened; a read-back that fails counts as
/// "not known to have happened".
async fn look<T, R, RFut>(error: &ApiError, read_back: &mut R) -> Option<T>
where
    R: FnMut() -> RFut,
    RFut: Future<Output = Result<Option<T>, ApiError>>,
{
    match read_back().await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(
                "{} {}: cannot read the prefix back to learn whether it happened: {e}",
                error.method,
                error.path
            );
            None
        }
    }
}

/// The span each attempt runs in.
fn span(attempt: u32) -> tracing::Span {
    tracing::info_span!("call", attempt)
}

/// `METHOD path: what happened`, without the attempts note (the caller says which attempt).
fn described(error: &ApiError) -> String {
    format!("{} {}: {}", error.method, error.path, error.kind)
}

/// `0.6 s`: tenths of a second, rounded up.
fn seconds(d: Duration) -> String {
    format!("{:.1} s", (d.as_secs_f64() * 10.0).ceil() / 10.0)
}

/// An [`Api`] whose calls are retried by a [`RetryPolicy`].
#[derive(Debug)]
pub struct Retrying<A> {
    inner: A,
    policy: RetryPolicy,
}

impl<A: Api> Retrying<A> {
    pub fn new(inner: A, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The implementation each attempt goes to.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The prefix's bindings, for a read-back.
    async fn bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        self.policy.read(|| self.inner.list_bindings(prefix)).await
    }
}

impl<A: Api> Api for Retrying<A> {
    async fn list_services(&self) -> Result<Vec<Service>, ApiError> {
        self.policy.read(|| self.inner.list_services()).await
    }

    async fn list_prefixes(&self) -> Result<Vec<Prefix>, ApiError> {
        self.policy.read(|| self.inner.list_prefixes()).await
    }

    fn foreign_prefixes(&self) -> Vec<super::ForeignPrefix> {
        self.inner.foreign_prefixes()
    }

    async fn get_prefix(&self, prefix: &PrefixId) -> Result<Option<Prefix>, ApiError> {
        self.policy.read(|| self.inner.get_prefix(prefix)).await
    }

    async fn list_bindings(&self, prefix: &PrefixId) -> Result<Vec<Binding>, ApiError> {
        self.bindings(prefix).await
    }

    async fn get_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Option<Binding>, ApiError> {
        self.policy
            .read(|| self.inner.get_binding(prefix, binding))
            .await
    }

    async fn create_binding(
        &self,
        prefix: &PrefixId,
        cidr: IpNet,
        service: &ServiceId,
    ) -> Result<Created, ApiError> {
        let (created, confirmed) = self
            .policy
            .write(
                || async {
                    Ok(self
                        .inner
                        .create_binding(prefix, cidr, service)
                        .await?
                        .binding)
                },
                || async {
                    // The create happened if its CIDR is now bound to its service.
                    let bindings = self.bindings(prefix).await?;
                    Ok(bindings
                        .into_iter()
                        .find(|b| b.cidr == cidr && &b.service_id == service))
                },
            )
            .await?;
        if confirmed == Confirmed::ReadBack {
            tracing::warn!(
                "{cidr}: the answer to its create was lost, but the binding is there (id {}): adopted",
                created.id
            );
        }
        Ok(Created {
            binding: created,
            confirmed,
        })
    }

    async fn delete_binding(
        &self,
        prefix: &PrefixId,
        binding: &BindingId,
    ) -> Result<Confirmed, ApiError> {
        let ((), confirmed) = self
            .policy
            .write(
                || async {
                    self.inner.delete_binding(prefix, binding).await?;
                    Ok(())
                },
                || async {
                    // The delete happened if the binding is gone.
                    let bindings = self.bindings(prefix).await?;
                    Ok((!bindings.iter().any(|b| &b.id == binding)).then_some(()))
                },
            )
            .await?;
        if confirmed == Confirmed::ReadBack {
            tracing::warn!(
                "binding {binding}: the answer to its delete was lost, but the binding is gone: deleted"
            );
        }
        Ok(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::time::Instant;

    use super::*;
    use crate::api::{ApiMessage, Route};
    use crate::emulator::{
        Account, CDN_ID, Emulator, EmulatorOptions, FaultAction, FaultMethod, FaultRule,
        MAGIC_TRANSIT_ID, default_account_id, default_services,
    };
    use crate::model::{Prefix, ProvisioningState};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            jitter_seed: Some(7),
            ..RetryPolicy::default()
        }
    }

    fn error(kind: ApiErrorKind) -> ApiError {
        ApiError::new("GET", "/accounts/a/addressing/services", kind)
    }

    fn status(status: u16, code: u32) -> ApiError {
        error(ApiErrorKind::Status {
            status,
            errors: vec![ApiMessage::new(code, "injected")],
            retry_after: None,
        })
    }

    fn rate_limited(retry_after: u64) -> ApiError {
        error(ApiErrorKind::Status {
            status: 429,
            errors: vec![ApiMessage::new(971, "Please wait")],
            retry_after: Some(Duration::from_secs(retry_after)),
        })
    }

    fn timeout() -> ApiError {
        error(ApiErrorKind::Timeout)
    }

    fn refused() -> ApiError {
        error(ApiErrorKind::Connect {
            message: "127.0.0.1:9: connection refused".into(),
        })
    }

    /// A call that answers from a script, one answer per attempt, and counts its attempts.
    struct Script<T> {
        answers: Mutex<VecDeque<Result<T, ApiError>>>,
        calls: AtomicU32,
    }

    impl<T> Script<T> {
        fn new(answers: Vec<Result<T, ApiError>>) -> Self {
            Self {
                answers: Mutex::new(answers.into()),
                calls: AtomicU32::new(0),
            }
        }

        async fn call(&self) -> Result<T, ApiError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("a call more than the script has answers for")
        }

        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn backoff_grows_from_half_a_second_with_jitter_and_never_passes_the_cap() {
        for seed in 0..50 {
            let mut backoff = RetryPolicy {
                jitter_seed: Some(seed),
                ..RetryPolicy::default()
            }
            .backoff();
            let waits: Vec<Duration> = std::iter::from_fn(|| backoff.next()).collect();
            assert_eq!(waits.len(), 3, "4 tries: 3 waits");
            for (i, wait) in waits.iter().enumerate() {
                let base = DEFAULT_MIN_DELAY * 2u32.pow(i as u32);
                assert!(*wait >= base && *wait < base * 2, "{i}: {wait:?}");
            }
        }
        let mut long = RetryPolicy {
            tries: 12,
            ..RetryPolicy::default()
        }
        .backoff();
        let waits: Vec<Duration> = std::iter::from_fn(|| long.next()).collect();
        assert_eq!(waits.len(), 11);
        assert!(waits.iter().all(|w| *w <= DEFAULT_MAX_DELAY), "{waits:?}");
        assert_eq!(waits.last(), Some(&DEFAULT_MAX_DELAY));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_is_sent_again_on_5xx_429_timeouts_and_connection_errors() {
        let script = Script::new(vec![
            Err(status(503, 9000)),
            Err(timeout()),
            Err(refused()),
            Ok(7),
        ]);
        let t0 = Instant::now();
        assert_eq!(policy().read(|| script.call()).await, Ok(7));
        assert_eq!(script.calls(), 4);
        // The backoff's three waits: 0.5-1 s, 1-2 s, 2-4 s.
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(3500) && waited < Duration::from_secs(7),
            "{waited:?}"
        );

        let script = Script::new(vec![Err(rate_limited(1)), Ok(1)]);
        assert_eq!(policy().read(|| script.call()).await, Ok(1));
        assert_eq!(script.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_gives_up_after_four_tries_and_says_so() {
        let script: Script<u32> = Script::new((0..4).map(|_| Err(status(502, 9000))).collect());
        let err = policy().read(|| script.call()).await.unwrap_err();
        assert_eq!(script.calls(), 4);
        assert_eq!(err.attempts, 4);
        assert_eq!(
            err.to_string(),
            "GET /accounts/a/addressing/services: HTTP 502: injected (9000) (after 4 attempts)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_that_would_not_change_are_not_asked_again() {
        let not_found = error(ApiErrorKind::Status {
            status: 404,
            errors: vec![ApiMessage::new(1000, "prefix not found")],
            retry_after: None,
        });
        let decode = error(ApiErrorKind::Decode {
            field: "result[0].cidr".into(),
            message: "bad".into(),
        });
        for answer in [not_found, status(400, 1003), status(403, 10000), decode] {
            let script: Script<u32> = Script::new(vec![Err(answer.clone())]);
            let t0 = Instant::now();
            assert_eq!(policy().read(|| script.call()).await, Err(answer));
            assert_eq!((script.calls(), t0.elapsed()), (1, Duration::ZERO));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let script = Script::new(vec![Err(rate_limited(2)), Ok(())]);
        let t0 = Instant::now();
        policy().read(|| script.call()).await.unwrap();
        // Two seconds, as asked: longer than the first backoff (under one second).
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_beyond_the_maximum_fails_at_once_saying_how_long() {
        let script: Script<()> = Script::new(vec![Err(rate_limited(600))]);
        let t0 = Instant::now();
        let err = policy().read(|| script.call()).await.unwrap_err();
        assert_eq!((script.calls(), t0.elapsed()), (1, Duration::ZERO));
        assert!(
            matches!(
                err.kind,
                ApiErrorKind::WaitTooLong { status: 429, retry_after, max_wait, .. }
                    if retry_after == Duration::from_secs(600) && max_wait == DEFAULT_MAX_RETRY_WAIT
            ),
            "{err:?}"
        );
        assert_eq!((err.status(), err.codes()), (Some(429), vec![971]));
        assert_eq!(
            err.to_string(),
            "GET /accounts/a/addressing/services: HTTP 429: Please wait (971); the API asks to wait 10m before the next request, longer than --max-retry-wait (5m): try again later, or raise --max-retry-wait"
        );
        // Up to the maximum, it waits.
        let script = Script::new(vec![Err(rate_limited(300)), Ok(())]);
        let t0 = Instant::now();
        policy().read(|| script.call()).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_surely_not_processed_is_sent_again_without_looking() {
        let script = Script::new(vec![Err(rate_limited(1)), Err(refused()), Ok(5)]);
        let looks: Script<Option<u32>> = Script::new(vec![]);
        let got = policy()
            .write(|| script.call(), || looks.call())
            .await
            .unwrap();
        assert_eq!(got, (5, Confirmed::Answered));
        assert_eq!((script.calls(), looks.calls()), (3, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_whose_answer_was_lost_is_read_back_and_not_sent_twice() {
        for lost in [
            timeout(),
            status(503, 9000),
            error(ApiErrorKind::Transport {
                message: "connection closed before message completed".into(),
            }),
        ] {
            let script = Script::new(vec![Err(lost.clone())]);
            let looks = Script::new(vec![Ok(Some(9))]);
            let got = policy()
                .write(|| script.call(), || looks.call())
                .await
                .unwrap();
            assert_eq!(got, (9, Confirmed::ReadBack), "{lost}");
            assert_eq!((script.calls(), looks.calls()), (1, 1), "{lost}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_did_not_happen_is_sent_again() {
        let script = Script::new(vec![Err(timeout()), Ok(3)]);
        let looks = Script::new(vec![Ok(None)]);
        let got = policy()
            .write(|| script.call(), || looks.call())
            .await
            .unwrap();
        assert_eq!(got, (3, Confirmed::Answered));
        assert_eq!((script.calls(), looks.calls()), (2, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_after_a_lost_answer_is_checked_against_the_prefix() {
        // The first create was slow: not there when read back, there when the second was
        // refused as a duplicate.
        let script = Script::new(vec![Err(timeout()), Err(status(400, 1003))]);
        let looks = Script::new(vec![Ok(None), Ok(Some(4))]);
        let got = policy()
            .write(|| script.call(), || looks.call())
            .await
            .unwrap();
        assert_eq!(got, (4, Confirmed::ReadBack));
        assert_eq!((script.calls(), looks.calls()), (2, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_final_when_no_answer_was_lost() {
        let script: Script<u32> = Script::new(vec![Err(status(400, 1003))]);
        let looks: Script<Option<u32>> = Script::new(vec![]);
        let err = policy()
            .write(|| script.call(), || looks.call())
            .await
            .unwrap_err();
        assert_eq!(err.codes(), vec![1003]);
        assert_eq!((script.calls(), looks.calls()), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_lost_every_time_gets_a_last_look_then_fails() {
        let script: Script<u32> = Script::new((0..4).map(|_| Err(timeout())).collect());
        let looks = Script::new((0..4).map(|_| Ok(None)).collect());
        let err = policy()
            .write(|| script.call(), || looks.call())
            .await
            .unwrap_err();
        assert_eq!((err.kind.clone(), err.attempts), (ApiErrorKind::Timeout, 4));
        assert_eq!((script.calls(), looks.calls()), (4, 4));

        // A read-back that fails is no proof either way.
        let script: Script<u32> = Script::new(vec![Err(timeout())]);
        let looks: Script<Option<u32>> = Script::new(vec![Err(status(400, 1003))]);
        let policy = RetryPolicy {
            tries: 1,
            ..policy()
        };
        let err = policy
            .write(|| script.call(), || looks.call())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ApiErrorKind::Timeout);
    }

    fn on(method: &'static str, kind: ApiErrorKind) -> ApiError {
        ApiError::new(method, "/accounts/a/addressing/prefixes/p/bindings", kind)
    }

    fn status_on(method: &'static str, status: u16) -> ApiError {
        on(
            method,
            ApiErrorKind::Status {
                status,
                errors: vec![ApiMessage::new(0, "injected")],
                retry_after: None,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_408_is_retried_and_a_write_answered_408_is_read_back_first() {
        let script = Script::new(vec![Err(status_on("GET", 408)), Ok(1)]);
        assert_eq!(policy().read(|| script.call()).await, Ok(1));
        assert_eq!(script.calls(), 2);

        for method in ["POST", "DELETE"] {
            let script = Script::new(vec![Err(status_on(method, 408))]);
            let looks = Script::new(vec![Ok(Some(6))]);
            let got = policy()
                .write(|| script.call(), || looks.call())
                .await
                .unwrap();
            assert_eq!(got, (6, Confirmed::ReadBack), "{method}");
            assert_eq!((script.calls(), looks.calls()), (1, 1), "{method}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_409_is_retried_on_a_read_and_final_on_a_write() {
        let script = Script::new(vec![Err(status_on("GET", 409)), Ok(2)]);
        assert_eq!(policy().read(|| script.call()).await, Ok(2));
        assert_eq!(script.calls(), 2);

        for method in ["POST", "DELETE"] {
            let script: Script<u32> = Script::new(vec![Err(status_on(method, 409))]);
            let looks: Script<Option<u32>> = Script::new(vec![]);
            let err = policy()
                .write(|| script.call(), || looks.call())
                .await
                .unwrap_err();
            assert_eq!(err.status(), Some(409));
            assert_eq!((script.calls(), looks.calls()), (1, 0), "{method}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_when_the_answer_is_not_the_envelope() {
        let page = |seconds: u64| {
            let mut e = error(ApiErrorKind::NotJson {
                status: 429,
                excerpt: "<html>Too Many Requests</html>".into(),
            });
            e.details.retry_after = Some(Duration::from_secs(seconds));
            e
        };
        let script = Script::new(vec![Err(page(3)), Ok(())]);
        let t0 = Instant::now();
        policy().read(|| script.call()).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(3));

        let script: Script<()> = Script::new(vec![Err(page(600))]);
        let t0 = Instant::now();
        let err = policy().read(|| script.call()).await.unwrap_err();
        assert_eq!((script.calls(), t0.elapsed()), (1, Duration::ZERO));
        assert_eq!(
            err.to_string(),
            "GET /accounts/a/addressing/services: HTTP 429; the API asks to wait 10m before the next request, longer than --max-retry-wait (5m): try again later, or raise --max-retry-wait"
        );
    }

    // Over the emulator, in process: its faults, counters and state.

    const PREFIX: &str = "p4";
    const WIDE: &str = "b0000000000000000000000000000001";

    /// 192.0.2.0/24 with its Magic Transit prefix-wide binding.
    fn emulator() -> Emulator {
        let mut a = Account::new(default_account_id(), default_services());
        let p = PrefixId::new(PREFIX).unwrap();
        a.add_prefix(Prefix {
            id: p.clone(),
            cidr: "192.0.2.0/24".parse().unwrap(),
            description: None,
        })
        .unwrap();
        a.insert_binding(
            &p,
            Binding {
                id: BindingId::new(WIDE).unwrap(),
                cidr: "192.0.2.0/24".parse().unwrap(),
                service_id: ServiceId::new(MAGIC_TRANSIT_ID).unwrap(),
                service_name: None,
                state: ProvisioningState::Active,
            },
        )
        .unwrap();
        Emulator::new(a, EmulatorOptions::new("t"))
    }

    fn retrying(em: &Emulator) -> Retrying<crate::emulator::InProcess> {
        Retrying::new(em.in_process(default_account_id()), policy())
    }

    fn cidrs(em: &Emulator) -> Vec<String> {
        em.snapshot().prefixes[0]
            .bindings
            .iter()
            .map(|b| b.cidr.to_string())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_whose_answer_was_lost_is_adopted_not_made_twice() {
        for lost in [
            FaultAction::DropAfterProcessing,
            FaultAction::status_after_processing(502),
        ] {
            let em = emulator();
            em.add_fault(FaultRule::new(lost.clone()).method(FaultMethod::Post));
            let cdn = ServiceId::new(CDN_ID).unwrap();
            let created = retrying(&em)
                .create_binding(
                    &PrefixId::new(PREFIX).unwrap(),
                    "192.0.2.16/29".parse().unwrap(),
                    &cdn,
                )
                .await
                .unwrap();
            assert_eq!(created.confirmed, Confirmed::ReadBack, "{lost:?}");
            assert_eq!(created.binding.service_id, cdn);
            let counts = em.request_counts();
            assert_eq!(counts.get(Route::CreateBinding), 1, "{lost:?}");
            assert_eq!(counts.get(Route::ListBindings), 1, "{lost:?}");
            assert_eq!(cidrs(&em), ["192.0.2.0/24", "192.0.2.16/29"]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_accepted_with_an_unreadable_answer_is_read_back_not_made_twice() {
        let em = emulator();
        em.add_fault(
            FaultRule::new(FaultAction::MalformedAfterProcessing { status: None })
                .method(FaultMethod::Post),
        );
        let cdn = ServiceId::new(CDN_ID).unwrap();
        let p = PrefixId::new(PREFIX).unwrap();
        let created = retrying(&em)
            .create_binding(&p, "192.0.2.16/29".parse().unwrap(), &cdn)
            .await
            .unwrap();
        assert_eq!(created.confirmed, Confirmed::ReadBack);
        let counts = em.request_counts();
        assert_eq!(counts.get(Route::CreateBinding), 1);
        assert_eq!(counts.get(Route::ListBindings), 1);
        assert_eq!(cidrs(&em), ["192.0.2.0/24", "192.0.2.16/29"]);

        em.add_fault(
            FaultRule::new(FaultAction::MalformedAfterProcessing { status: Some(204) })
                .method(FaultMethod::Delete),
        );
        let confirmed = retrying(&em)
            .delete_binding(&p, &created.binding.id)
            .await
            .unwrap();
        assert_eq!(confirmed, Confirmed::ReadBack);
        assert_eq!(em.request_counts().get(Route::DeleteBinding), 1);
        assert_eq!(cidrs(&em), ["192.0.2.0/24"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_dropped_before_processing_is_sent_again_once() {
        let em = emulator();
        em.add_fault(FaultRule::new(FaultAction::Drop).method(FaultMethod::Post));
        let created = retrying(&em)
            .create_binding(
                &PrefixId::new(PREFIX).unwrap(),
                "192.0.2.16/29".parse().unwrap(),
                &ServiceId::new(CDN_ID).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(created.confirmed, Confirmed::Answered);
        let counts = em.request_counts();
        assert_eq!(counts.get(Route::CreateBinding), 2);
        assert_eq!(counts.get(Route::ListBindings), 1);
        assert_eq!(cidrs(&em), ["192.0.2.0/24", "192.0.2.16/29"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_whose_answer_was_lost_is_confirmed_by_reading_back() {
        let em = emulator();
        em.add_fault(FaultRule::new(FaultAction::DropAfterProcessing).method(FaultMethod::Delete));
        let confirmed = retrying(&em)
            .delete_binding(
                &PrefixId::new(PREFIX).unwrap(),
                &BindingId::new(WIDE).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(confirmed, Confirmed::ReadBack);
        let counts = em.request_counts();
        assert_eq!(counts.get(Route::DeleteBinding), 1);
        assert_eq!(counts.get(Route::ListBindings), 1);
        assert!(cidrs(&em).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn reads_ride_out_a_503_and_a_429() {
        let em = emulator();
        em.add_fault(FaultRule::new(FaultAction::status(503)).method(FaultMethod::Get));
        em.add_fault(
            FaultRule::new(FaultAction::Status {
                status: 429,
                retry_after_secs: Some(2),
                code: None,
                message: None,
            })
            .method(FaultMethod::Get),
        );
        let services = retrying(&em).list_services().await.unwrap();
        assert_eq!(services.len(), 3);
        assert_eq!(em.request_counts().get(Route::ListServices), 3);
    }
}
