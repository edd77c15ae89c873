//! The emulated Cloudflare account, served in process and over HTTP.
//!
//! An in-memory model of one account's BYOIP addressing API (services, prefixes, service
//! bindings) that enforces the API's rules and svcbind's assumptions about them (the rules
//! core, [`crate::rules`]), and answers with the real envelope, status codes and error codes.
//! It is used two ways:
//!
//! - in process, behind [`crate::api::Api`] ([`InProcess`], for `--emulate SEED.yaml`);
//! - over HTTP at `/client/v4/...` ([`serve`], [`run`]: `svcbind emulator`), for the tests,
//!   users' pipeline tests and any Cloudflare client.
//!
//! The account ([`Account`]) is split by concern: `catalog` (the default catalog and
//! seeding), `store` (storage and indexes), `wire` (wire objects, refusals, generated ids) and
//! `account` (the façade of the seven calls).
//!
//! This module owns the emulator and nothing else: it never talks to the real API, and prints
//! only from [`run`] (its one "listening" line, and a warning for a non-loopback address).
//!
//! # The rules (the API's, and the assumptions svcbind makes where the API is silent)
//!
//! - The rules of a create and a delete are the rules core's ([`crate::rules`]); a violation
//!   is answered 400 / 1003 with its message and a JSON pointer (`/cidr` or `/service_id`;
//!   none for a delete). A `cidr` or `service_id` missing from the body, or not a CIDR or an
//!   id at all, is refused the same way before the rules are asked.
//! - Unknown prefix: 404 / 1000 "prefix not found"; unknown binding: 404 / 1002 "binding not
//!   found"; another account id: 400 / 7003 + 7000, as the API routes it.
//! - New bindings are `provisioning` and turn `active` once the provisioning delay has passed
//!   (a zero delay: active from the next read). Seeded bindings keep their seeded state.
//!
//! # HTTP
//!
//! Every answer is the JSON envelope (`Content-Type: application/json`) with
//! `Ratelimit: "default";r=<remaining>;t=<seconds>` and
//! `Ratelimit-Policy: "default";q=<quota>;w=<seconds>` headers. Create answers 201; delete
//! answers the envelope without `result`. Unknown route: 404 / 7000; wrong method: 405 / 10405.
//! Credentials: `Authorization: Bearer <token>`, or `X-Auth-Email` (non-empty) with
//! `X-Auth-Key: <token>`. Missing: 400 / 9106 "Missing X-Auth-Key, X-Auth-Email or
//! Authorization headers"; malformed: 400 / 6003 "Invalid request headers" with the specific
//! code in its `error_chain`, 6111 (Authorization), 6102 (X-Auth-Email) or 6103 (X-Auth-Key),
//! as Cloudflare nests them; wrong token: 403 / 10000. With a rate limit, a spent budget
//! answers 429 / 971 with `Retry-After` and blocks every call for one window.
//! Requests are handled in this order: latency, routing, counting, credentials, budget,
//! faults, the rules core.
//!
//! # Admin endpoints (open on loopback; beyond it, they need the token like the API)
//!
//! | call | what |
//! |---|---|
//! | `GET /__svcbind/requests` | `{"total": N, "routes": {"<METHOD> <template>": N, …}, "rate_limited": N}`: requests per route key (`crate::api::Route::key`; `<METHOD> (no route)` for a path of no call), and how many the budget answered 429 |
//! | `DELETE /__svcbind/requests` | resets the counts |
//! | `POST /__svcbind/faults` | adds one fault rule (below) |
//! | `GET /__svcbind/faults` | the pending rules, as a JSON array |
//! | `DELETE /__svcbind/faults` | removes every pending rule and lets every held request go on |
//! | `POST /__svcbind/release` | `{"count": N}` (optional, default 1): lets the N longest-held requests go on; answers `{"success": true, "result": {"released": R, "held": H, "ahead": A}}` |
//! | `GET /__svcbind/held` | `{"released": 0, "held": H, "ahead": A}` |
//! | `GET /__svcbind/state` | `{"account_id", "services": [{id, name}], "prefixes": [{id, cidr, bindings: [binding objects]}]}` |
//! | `POST /__svcbind/clock` | `{"advance_secs": N}`: moves the emulated clock forward (provisioning, budget windows); at most 100 years ahead of real time in all, else 400 |
//!
//! Admin answers are JSON: `{"success": true, …}` or the failure envelope; they are neither
//! counted nor delayed, and faults and the budget do not apply to them. In a release's answer,
//! `released` is how many held requests it let go on, `held` how many still wait, and `ahead`
//! how many releases were given before their request arrived: that many holds to come pass at
//! once, so a test may release a request before it reaches its hold.
//!
//! # Fault rules
//!
//! A rule applies to the next `times` (default 1) requests that match its optional `method`
//! (`"GET"`, `"POST"`, `"DELETE"`) and `path_contains` (a substring of the path, which starts
//! with `/client/v4`), then disappears; the first matching rule wins. JSON:
//!
//! ```json
//! {"method": "POST", "path_contains": "/bindings", "times": 1,
//!  "action": {"type": "status", "status": 429, "retry_after_secs": 30}}
//! ```
//!
//! Actions (`type`): `status` (`status`, optional `retry_after_secs`, `code`, `message`: answer
//! that status without processing; the error is `code` and `message` when given, else 429
//! carries code 971 and others code 9000), `status_after_processing` (`status`, optional
//! `code`, `message`: process, then answer it), `delay` (`millis`: wait, then go on), `drop`
//! (close the connection without an answer), `drop_after_processing` (process, then close),
//! `malformed` (optional `status`: answer an HTML page instead of JSON, without processing;
//! 200 with a 502 page by default), `malformed_after_processing` (optional `status`: process,
//! then answer an HTML page with that status, by default the call's own), `hold` (wait until released by `POST /__svcbind/release`,
//! then go on; the request is counted before it waits), `oversized` (`bytes`: answer 200 with
//! an envelope that never ends, `bytes` long, streamed without a length, without processing).
//! In process, a drop is a transport error, a malformed answer a non-JSON error (a write's
//! with a success status: accepted, its answer unreadable) and an oversized one too large
//! (beyond the client's 8 MiB) or not JSON, as the HTTP client would report them.

mod account;
mod catalog;
mod counters;
mod faults;
mod inprocess;
mod limit;
mod server;
mod store;
mod wire;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::api::wire::Message;
use crate::model::{AccountId, StateFile};

pub use account::Account;
pub use catalog::{
    CDN_ID, DEFAULT_ACCOUNT_ID, MAGIC_TRANSIT_ID, SPECTRUM_ID, default_account_id, default_services,
};
pub use counters::RequestCounts;
pub use faults::{FaultAction, FaultMethod, FaultRule, HoldCounts};
pub use inprocess::InProcess;
pub use limit::{DEFAULT_QUOTA, DEFAULT_WINDOW};
pub use server::{PrefixView, StateView, serve};
pub use store::SeedError;
pub use wire::{EmulatedPrefix, Rejection, seed_prefix_id};

use faults::{Faults, Holds};
use limit::RateLimiter;

/// Error code of a 429 answer: the API's own.
pub const RATE_LIMITED: u32 = 971;
/// Error code of an injected failure status other than 429.
pub const INJECTED_FAULT: u32 = 9000;

/// How far the emulated clock may run ahead of real time, and the longest provisioning delay:
/// far beyond any test, and far from where time arithmetic could overflow.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The emulated clock cannot move that far.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot move the emulated clock {}s ahead: it is already {}s ahead of real time, and may be at most {}s (100 years) ahead",
    .by.as_secs(),
    .ahead.as_secs(),
    MAX_CLOCK_AHEAD.as_secs()
)]
pub struct ClockError {
    /// The advance asked for.
    pub by: Duration,
    /// How far ahead the clock already is.
    pub ahead: Duration,
}

/// How the emulator behaves, beyond its account.
#[derive(Clone)]
pub struct EmulatorOptions {
    /// The token accepted as `Authorization: Bearer` and as `X-Auth-Key` (HTTP only).
    pub token: String,
    /// How long a new binding stays `provisioning`.
    pub provisioning_delay: Duration,
    /// Added to every API answer.
    pub latency: Duration,
    /// `(N, window)`: answer 429 after N requests in a window, like the real limit.
    pub rate_limit: Option<(u32, Duration)>,
}

impl EmulatorOptions {
    /// Accepts `token`; no delay, no latency, no enforced limit. A provisioning delay beyond
    /// [`MAX_CLOCK_AHEAD`] counts as that.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            provisioning_delay: Duration::ZERO,
            latency: Duration::ZERO,
            rate_limit: None,
        }
    }
}

impl fmt::Debug for EmulatorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorOptions")
            .field("token", &"<redacted>")
            .field("provisioning_delay", &self.provisioning_delay)
            .field("latency", &self.latency)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// A shared handle on one emulated account, its counters, faults and budget. Clones share
/// everything; the HTTP server and any number of [`InProcess`] handles may use it at once.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

struct Shared {
    account: Mutex<Account>,
    counts: Mutex<RequestCounts>,
    faults: Mutex<Faults>,
    holds: Holds,
    limiter: Mutex<RateLimiter>,
    /// How far the emulated clock was moved ahead of real time.
    skew: Mutex<Duration>,
    start: Instant,
    options: EmulatorOptions,
}

/// Locks a mutex; a panic in another holder leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("account_id", &self.account_id())
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Serves `account`; its provisioning delay becomes `options.provisioning_delay` (at most
    /// [`MAX_CLOCK_AHEAD`], so that the time a binding turns active is always defined).
    pub fn new(mut account: Account, options: EmulatorOptions) -> Self {
        account.set_provisioning_delay(options.provisioning_delay.min(MAX_CLOCK_AHEAD));
        Self {
            shared: Arc::new(Shared {
                account: Mutex::new(account),
                counts: Mutex::new(RequestCounts::default()),
                faults: Mutex::new(Faults::default()),
                holds: Holds::default(),
                limiter: Mutex::new(RateLimiter::new(options.rate_limit)),
                skew: Mutex::new(Duration::ZERO),
                start: Instant::now(),
                options,
            }),
        }
    }

    /// The emulated account's id.
    pub fn account_id(&self) -> AccountId {
        lock(&self.shared.account).id().clone()
    }

    /// An [`crate::api::Api`] for `account_id` (another account's id gets the API's 7003).
    pub fn in_process(&self, account_id: AccountId) -> InProcess {
        InProcess::new(self.clone(), account_id)
    }

    /// The requests counted so far.
    pub fn request_counts(&self) -> RequestCounts {
        lock(&self.shared.counts).clone()
    }

    /// Forgets the requests counted so far.
    pub fn reset_request_counts(&self) {
        *lock(&self.shared.counts) = RequestCounts::default();
    }

    /// Adds a fault rule after the pending ones. A rule with `times: 0` is ignored.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).add(rule);
    }

    /// Removes every pending fault rule and lets every held request go on.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
        self.shared.holds.release_all();
    }

    /// Lets the `count` longest-held requests (`hold` rules) go on; releases beyond the
    /// requests held let the next holds pass at once.
    pub fn release(&self, count: u64) -> HoldCounts {
        self.shared.holds.release(count)
    }

    /// How many requests are held, and how many releases were given ahead.
    pub fn held(&self) -> HoldCounts {
        self.shared.holds.counts()
    }

    /// The rules not used up yet, in order.
    pub fn pending_faults(&self) -> Vec<FaultRule> {
        lock(&self.shared.faults).pending()
    }

    /// The whole account in the seed format, states as of now.
    pub fn snapshot(&self) -> StateFile {
        let now = self.now();
        let mut account = lock(&self.shared.account);
        account.advance_to(now);
        account.snapshot()
    }

    /// Runs `f` on the account (e.g. to set up or inspect state in a test). Nothing is counted.
    pub fn with_account<R>(&self, f: impl FnOnce(&mut Account) -> R) -> R {
        f(&mut lock(&self.shared.account))
    }

    /// Moves the emulated clock forward, as if `by` had passed: provisioning completes and
    /// budget windows pass without waiting. Refused when the clock would end up more than
    /// [`MAX_CLOCK_AHEAD`] ahead of real time.
    pub fn advance(&self, by: Duration) -> Result<(), ClockError> {
        let mut skew = lock(&self.shared.skew);
        match skew.checked_add(by) {
            Some(ahead) if ahead <= MAX_CLOCK_AHEAD => {
                *skew = ahead;
                Ok(())
            }
            _ => Err(ClockError { by, ahead: *skew }),
        }
    }

    /// Emulated time since the emulator started.
    pub fn now(&self) -> Duration {
        self.shared
            .start
            .elapsed()
            .saturating_add(*lock(&self.shared.skew))
    }

    pub(crate) fn options(&self) -> &EmulatorOptions {
        &self.shared.options
    }

    /// Counts one request under its route key, `METHOD template`.
    pub(crate) fn count(&self, key: String) {
        lock(&self.shared.counts).record(key);
    }

    /// Waits the configured latency.
    pub(crate) async fn pause(&self) {
        let latency = self.shared.options.latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// Spends budget and applies the first matching fault: what happens before (and after)
    /// the rules core sees a request.
    pub(crate) async fn gate(&self, method: &str, path: &str) -> Gate {
        let now = self.now();
        if let Err(wait) = lock(&self.shared.limiter).admit(now) {
            lock(&self.shared.counts).rate_limited += 1;
            return Gate::Refuse(Refusal {
                status: 429,
                errors: vec![Message::new(
                    RATE_LIMITED,
                    "Please wait and consider throttling your request speed",
                )],
                retry_after: Some(limit::ceil_secs(wait).max(1)),
            });
        }
        let action = lock(&self.shared.faults).take(method, path);
        match action {
            None => Gate::Proceed(None),
            Some(FaultAction::Status {
                status,
                retry_after_secs,
                code,
                message,
            }) => Gate::Refuse(Refusal::injected(status, retry_after_secs, code, message)),
            Some(FaultAction::StatusAfterProcessing {
                status,
                code,
                message,
            }) => Gate::Proceed(Some(After::Status(Refusal::injected(
                status, None, code, message,
            )))),
            Some(FaultAction::Delay { millis }) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Gate::Proceed(None)
            }
            Some(FaultAction::Drop) => Gate::Drop,
            Some(FaultAction::DropAfterProcessing) => Gate::Proceed(Some(After::Drop)),
            Some(FaultAction::Malformed { status }) => {
                let (status, body) = faults::malformed_answer(status);
                Gate::Malformed { status, body }
            }
            Some(FaultAction::MalformedAfterProcessing { status }) => {
                Gate::Proceed(Some(After::Malformed { status }))
            }
            Some(FaultAction::Hold) => {
                self.shared.holds.wait().await;
                Gate::Proceed(None)
            }
            Some(FaultAction::Oversized { bytes }) => Gate::Oversized { bytes },
        }
    }

    /// Runs one operation of the rules core at the current emulated time.
    pub(crate) fn process<T>(&self, f: impl FnOnce(&mut Account, Duration) -> T) -> T {
        let now = self.now();
        f(&mut lock(&self.shared.account), now)
    }

    /// The `Ratelimit` and `Ratelimit-Policy` header values.
    pub(crate) fn ratelimit_headers(&self) -> (String, String) {
        let now = self.now();
        let limiter = lock(&self.shared.limiter);
        let (remaining, reset) = limiter.status(now);
        let (quota, window) = limiter.policy();
        (
            format!("\"default\";r={remaining};t={reset}"),
            format!("\"default\";q={quota};w={window}"),
        )
    }
}

/// What the gate decided for one request.
#[derive(Debug)]
pub(crate) enum Gate {
    /// Process it; then, if given, fail anyway.
    Proceed(Option<After>),
    /// Answer this failure without processing.
    Refuse(Refusal),
    /// Close the connection without an answer, without processing.
    Drop,
    /// Answer this status with an HTML body, without processing.
    Malformed { status: u16, body: String },
    /// Answer 200 with an endless envelope of this many bytes, without processing.
    Oversized { bytes: u64 },
}

/// A failure injected after processing.
#[derive(Debug, Clone)]
pub(crate) enum After {
    Status(Refusal),
    Drop,
    /// An HTML page with this status, or the one the call answered.
    Malformed {
        status: Option<u16>,
    },
}

/// A failure answer that does not come from the rules core.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) errors: Vec<Message>,
    /// `Retry-After`, in seconds.
    pub(crate) retry_after: Option<u64>,
}

impl Refusal {
    /// The answer of a `status` fault: `code` and `message` when given, else the API's 971
    /// for a 429 and 9000 with a message naming the status otherwise.
    pub(crate) fn injected(
        status: u16,
        retry_after: Option<u64>,
        code: Option<u32>,
        message: Option<String>,
    ) -> Self {
        let (default_code, default_message) = if status == 429 {
            (
                RATE_LIMITED,
                "Please wait and consider throttling your request speed".to_owned(),
            )
        } else {
            (
                INJECTED_FAULT,
                format!("injected fault: HTTP {status} {}", faults::reason(status)),
            )
        };
        Self {
            status,
            errors: vec![Message::new(
                code.unwrap_or(default_code),
                message.unwrap_or(default_message),
            )],
            retry_after,
        }
    }
}

/// `svcbind emulator`: serves an account seeded from `seed` (else an empty one with the default
/// catalog) on `listen` until Ctrl-C or SIGTERM.
///
/// Prints exactly one line to stdout once bound,
/// `svcbind emulator listening on http://<ADDR>/client/v4`, with the real address (so port 0
/// works), and warns on stderr when the address is not loopback. Never prints the token.
pub async fn run(
    seed: Option<&StateFile>,
    listen: SocketAddr,
    options: EmulatorOptions,
) -> anyhow::Result<()> {
    run_until(seed, listen, options, &mut std::io::stdout(), stop_signal()).await
}

/// [`run`], writing its line to `out` and stopping when `stop` resolves.
async fn run_until(
    seed: Option<&StateFile>,
    listen: SocketAddr,
    options: EmulatorOptions,
    out: &mut (dyn std::io::Write + Send),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let account = match seed {
        Some(seed) => Account::from_seed(seed).context("cannot seed the emulator")?,
        None => Account::new(default_account_id(), default_services()),
    };
    if !listen.ip().is_loopback() {
        // A full or closed stderr is no reason to stop (nor to panic, as `eprintln!` would).
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!(
                "warning: the emulator listens on {listen}, which is not a loopback address: \
             anyone who can reach it and has the token can use it (its admin endpoints need the \
             token too); use 127.0.0.1 unless that is intended\n"
            ),
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; choose another --listen address"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the address listened on")?;
    writeln!(out, "svcbind emulator listening on http://{addr}/client/v4")
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;

    let emulator = Emulator::new(account, options);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = serve(listener, emulator, async {
        let _ = stop_rx.await;
    });
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => return result.context("the emulator stopped"),
        () = stop => {}
    }
    let _ = stop_tx.send(());
    // Answers in flight get a moment to finish; a connection held open longer is dropped.
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(result) => result.context("the emulator stopped"),
        Err(_) => Ok(()),
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests;
