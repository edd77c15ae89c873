//! [`Pacer`]: how fast svcbind sends requests, so that it waits rather than meeting a 429.
//!
//! Cloudflare allows 1,200 requests per 5 minutes per token, all clients together, and answers
//! a request over the limit with 429 and a block of every call for the next five minutes. So
//! svcbind paces itself twice over:
//!
//! - **its own budget**: at most [`Pacing::budget`] requests in any [`Pacing::window`]
//!   (a sliding window: by default 600 per 300 s, half the account's limit, leaving the rest
//!   to other clients of the same token);
//! - **the API's word**: every answer carries `Ratelimit: "default";r=<remaining>;t=<seconds>`.
//!   Once the requests svcbind may still send before the API's window resets (what remains,
//!   less the requests already on their way) are spent, it waits for the reset. The API's
//!   window is 5 minutes; a header whose reset lies further away than [`Pacer::max_wait`]
//!   (`--max-retry-wait`, 300 s by default) is not followed, and said so once: a broken or
//!   hostile header never stalls a run for a day. If the API really is blocking, its 429 says
//!   how long in `Retry-After`, which the retry layer honours within the same limit.
//!
//! A request that must wait says so once per wait, through the [`Notice`] callback (by default
//! a `tracing` warning, which the command line prints on stderr); this module never prints.
//! Time is tokio's, so the tests run on a paused clock, and every sum of an instant and a
//! duration is checked: no value of a header or a flag can overflow it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::retry::DEFAULT_MAX_RETRY_WAIT;

/// The default budget: half the account's 1,200 requests per 5 minutes.
pub const DEFAULT_BUDGET: u32 = 600;
/// The default window of [`DEFAULT_BUDGET`].
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// svcbind's own request budget: at most `budget` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Requests allowed in any window (at least 1).
    pub budget: u32,
    /// The window's length (more than zero).
    pub window: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            budget: DEFAULT_BUDGET,
            window: DEFAULT_WINDOW,
        }
    }
}

/// What the API's `Ratelimit` header says: `remaining` requests until its window resets in
/// `reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: u32,
    pub reset: Duration,
}

impl RateLimit {
    /// Parses the header's value, `"default";r=<remaining>;t=<seconds>` (the first item when
    /// there are several; parameters in any order, unknown ones ignored). `None` when it holds
    /// no `r` or no `t`.
    pub fn parse(value: &str) -> Option<Self> {
        let first = value.split(',').next()?;
        let (mut remaining, mut reset) = (None, None);
        for param in first.split(';').skip(1) {
            match param.trim().split_once('=') {
                Some(("r", v)) => remaining = v.trim().parse::<u32>().ok(),
                Some(("t", v)) => reset = v.trim().parse::<u64>().ok().map(Duration::from_secs),
                _ => {}
            }
        }
        Some(Self {
            remaining: remaining?,
            reset: reset?,
        })
    }
}

/// Why a request waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// svcbind's own budget is spent for now.
    Budget(Pacing),
    /// The API's `Ratelimit` header says nothing is left until its window resets.
    RateLimit,
}

/// A wait, as announced once through the [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// How long, from now.
    pub duration: Duration,
    pub reason: WaitReason,
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole tenths of a second read better than humantime's nanoseconds.
        let secs = (self.duration.as_secs_f64() * 10.0).ceil() / 10.0;
        write!(f, "waiting {secs:.1} s before the next API request: ")?;
        match self.reason {
            WaitReason::Budget(p) => write!(
                f,
                "svcbind's budget of {} requests in any {} is spent (--request-budget, --request-window)",
                p.budget,
                humantime::format_duration(p.window)
            ),
            WaitReason::RateLimit => f.write_str(
                "the API's Ratelimit header says no request is left until its window resets",
            ),
        }
    }
}

/// A `Ratelimit` header whose reset lies further away than the pacer waits for: not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfollowed {
    /// When the header says its window resets, from now.
    pub reset: Duration,
    /// The longest the pacer waits for the header ([`Pacer::max_wait`]).
    pub max_wait: Duration,
}

impl fmt::Display for Unfollowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the API's Ratelimit header says its window resets in {}, longer than --max-retry-wait ({}) and than the API's 5-minute window: svcbind does not wait for it (said once)",
            humantime::format_duration(self.reset),
            humantime::format_duration(self.max_wait)
        )
    }
}

/// What the pacer says: a wait (once per wait), or a header it does not follow (once per run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    Wait(Wait),
    Unfollowed(Unfollowed),
}

impl fmt::Display for Announcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Announcement::Wait(w) => w.fmt(f),
            Announcement::Unfollowed(u) => u.fmt(f),
        }
    }
}

/// Where the pacer's announcements go.
pub type Notice = Arc<dyn Fn(&Announcement) + Send + Sync>;

/// The default [`Notice`]: a warning through `tracing`.
pub fn warn_notice() -> Notice {
    Arc::new(|said: &Announcement| tracing::warn!("{said}"))
}

/// `at + d`, or, past what an instant can hold, the furthest instant it can (a wait that long
/// never ends within a run anyway).
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(|| {
        // Halve until it fits: some instant a century or more away always does.
        let mut d = d;
        loop {
            d /= 2;
            if let Some(t) = at.checked_add(d) {
                return t;
            }
        }
    })
}

/// Paces the requests of one run (share it across every request of one token).
pub struct Pacer {
    pacing: Pacing,
    max_wait: Duration,
    notice: Notice,
    state: Mutex<State>,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// When the requests of the last window were sent, oldest first (at most `budget`).
    sent: VecDeque<Instant>,
    /// Requests sent and not answered yet.
    in_flight: u32,
    /// What the last `Ratelimit` header allows, while its window lasts.
    server: Option<Allowance>,
    /// The end of the last wait announced: waiters until then say nothing more.
    announced_until: Option<Instant>,
    /// A header beyond `max_wait` was announced already.
    unfollowed_said: bool,
}

/// Requests svcbind may still send before the API's window resets.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    left: u32,
    reset_at: Instant,
}

/// Permission to send one request, from [`Pacer::admit`]. Hand it the answer's `Ratelimit`
/// header with [`Permit::answered`]; dropping it without an answer (a transport error) just
/// ends the request.
#[derive(Debug)]
pub struct Permit<'a> {
    pacer: &'a Pacer,
    /// How long the request waited for its turn.
    pub waited: Duration,
    /// The answer's `Ratelimit`, handed to the pacer when the permit ends.
    header: Option<RateLimit>,
}

impl Pacer {
    /// A pacer that announces waits as `tracing` warnings.
    pub fn new(pacing: Pacing) -> Self {
        Self::with_notice(pacing, warn_notice())
    }

    /// A pacer that announces waits through `notice`.
    pub fn with_notice(pacing: Pacing, notice: Notice) -> Self {
        Self {
            pacing: Pacing {
                budget: pacing.budget.max(1),
                window: pacing.window.max(Duration::from_millis(1)),
            },
            max_wait: DEFAULT_MAX_RETRY_WAIT,
            notice,
            state: Mutex::new(State::default()),
        }
    }

    /// The longest wait the `Ratelimit` header may impose (`--max-retry-wait`; 300 s unless
    /// set): a header whose window resets later is not followed.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters: still usable after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request may be sent, then counts it as sent. The first request to wait
    /// for a given moment announces the wait; those that wait for the same moment do not.
    pub async fn admit(&self) -> Permit<'_> {
        let started = Instant::now();
        loop {
            let now = Instant::now();
            let (until, announce) = {
                let mut state = self.lock();
                let Some((until, reason)) = self.ready_at(&mut state, now) else {
                    state.sent.push_back(now);
                    state.in_flight += 1;
                    if let Some(server) = &mut state.server {
                        server.left = server.left.saturating_sub(1);
                    }
                    return Permit {
                        pacer: self,
                        waited: started.elapsed(),
                        header: None,
                    };
                };
                let announce = state.announced_until.is_none_or(|a| a < until);
                if announce {
                    state.announced_until = Some(until);
                }
                let wait = Wait {
                    duration: until.saturating_duration_since(now),
                    reason,
                };
                (until, announce.then_some(wait))
            };
            if let Some(wait) = announce {
                (self.notice)(&Announcement::Wait(wait));
            }
            tokio::time::sleep_until(until).await;
        }
    }

    /// `None` when a request may go now; else when it may go at the earliest, and why.
    fn ready_at(&self, state: &mut State, now: Instant) -> Option<(Instant, WaitReason)> {
        let window = self.pacing.window;
        while state.sent.front().is_some_and(|&t| later(t, window) <= now) {
            state.sent.pop_front();
        }
        if state.server.is_some_and(|s| s.reset_at <= now) {
            // The API's window has reset: what it allows now comes with the next answer.
            state.server = None;
        }
        let budget = (state.sent.len() >= self.pacing.budget as usize)
            .then(|| state.sent.front().map(|&t| later(t, window)))
            .flatten()
            .map(|at| (at, WaitReason::Budget(self.pacing)));
        let server = state
            .server
            .filter(|s| s.left == 0)
            .map(|s| (s.reset_at, WaitReason::RateLimit));
        match (budget, server) {
            (Some(b), Some(s)) => Some(if s.0 > b.0 { s } else { b }),
            (b, s) => b.or(s),
        }
    }

    /// An answer came, with the `Ratelimit` header's value if it had one.
    fn answered(&self, header: Option<RateLimit>) {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        let Some(header) = header else {
            return;
        };
        if header.reset > self.max_wait {
            // Not the API's 5-minute window: a broken header, not followed.
            let first = !std::mem::replace(&mut state.unfollowed_said, true);
            drop(state);
            if first {
                (self.notice)(&Announcement::Unfollowed(Unfollowed {
                    reset: header.reset,
                    max_wait: self.max_wait,
                }));
            }
            return;
        }
        // The API may not have counted the requests still on their way: they will use some of
        // what remains.
        let fresh = Allowance {
            left: header.remaining.saturating_sub(state.in_flight),
            reset_at: later(now, header.reset),
        };
        state.server = Some(match state.server {
            // The same window of the API (its reset, in whole seconds rounded up, agrees to
            // within a second): answers may arrive out of order, so the smaller allowance and
            // the earlier reset, both upper bounds, are the better guesses.
            Some(old) if fresh.reset_at <= later(old.reset_at, Duration::from_secs(1)) => {
                Allowance {
                    left: old.left.min(fresh.left),
                    reset_at: old.reset_at.min(fresh.reset_at),
                }
            }
            // A new window, or none known.
            _ => fresh,
        });
    }
}

impl Permit<'_> {
    /// The request was answered; `header` is the answer's `Ratelimit`, if any.
    pub fn answered(mut self, header: Option<RateLimit>) {
        self.header = header;
    }
}

impl Drop for Permit<'_> {
    /// The request is no longer on its way (answered, or failed without an answer).
    fn drop(&mut self) {
        self.pacer.answered(self.header.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A pacer of `budget` per `window` seconds whose announced waits are kept.
    fn pacer(budget: u32, window: u64) -> (Pacer, Arc<Mutex<Vec<Wait>>>) {
        let waits = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&waits);
        let notice: Notice = Arc::new(move |a: &Announcement| {
            if let Announcement::Wait(w) = a {
                kept.lock().unwrap().push(*w);
            }
        });
        let pacing = Pacing {
            budget,
            window: secs(window),
        };
        (Pacer::with_notice(pacing, notice), waits)
    }

    /// A pacer of `budget` per `window` seconds whose announcements are all kept.
    fn pacer_saying(budget: u32, window: u64) -> (Pacer, Arc<Mutex<Vec<Announcement>>>) {
        let said = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&said);
        let notice: Notice = Arc::new(move |a: &Announcement| kept.lock().unwrap().push(*a));
        let pacing = Pacing {
            budget,
            window: secs(window),
        };
        (Pacer::with_notice(pacing, notice), said)
    }

    /// Sends one request answered at once with `header`; returns when it was sent.
    async fn send(pacer: &Pacer, t0: Instant, header: Option<RateLimit>) -> Duration {
        let permit = pacer.admit().await;
        let at = t0.elapsed();
        permit.answered(header);
        at
    }

    fn header(remaining: u32, reset: u64) -> Option<RateLimit> {
        Some(RateLimit {
            remaining,
            reset: secs(reset),
        })
    }

    #[test]
    fn the_ratelimit_header_parses_as_the_api_sends_it() {
        assert_eq!(
            RateLimit::parse(r#""default";r=1199;t=300"#),
            Some(RateLimit {
                remaining: 1199,
                reset: secs(300)
            })
        );
        assert_eq!(
            RateLimit::parse(r#""default";t=7; r=0, "other";r=5;t=1"#),
            Some(RateLimit {
                remaining: 0,
                reset: secs(7)
            })
        );
        for bad in ["", "default", r#""default";r=5"#, r#""default";r=x;t=1"#] {
            assert_eq!(RateLimit::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_holds_in_any_window() {
        let (pacer, waits) = pacer(3, 10);
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for pause in [0, 4, 4, 0, 0, 0, 0] {
            tokio::time::sleep(secs(pause)).await;
            sent.push(send(&pacer, t0, None).await);
        }
        // Sent at 0, 4 and 8: the fourth waits for the first to leave the window, and so on.
        assert_eq!(
            sent,
            [0, 4, 8, 10, 14, 18, 20].map(secs),
            "{:?}",
            waits.lock().unwrap()
        );
        let waits = waits.lock().unwrap();
        assert_eq!(waits.len(), 4);
        assert_eq!(
            waits[0],
            Wait {
                duration: secs(2),
                reason: WaitReason::Budget(pacer.pacing())
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_waits_within_the_budget() {
        let (pacer, waits) = pacer(600, 300);
        let t0 = Instant::now();
        for _ in 0..600 {
            assert_eq!(send(&pacer, t0, header(1000, 300)).await, Duration::ZERO);
        }
        assert!(waits.lock().unwrap().is_empty());
        assert_eq!(send(&pacer, t0, None).await, secs(300));
    }

    #[tokio::test(start_paused = true)]
    async fn what_the_api_says_is_left_is_not_exceeded() {
        let (pacer, waits) = pacer(600, 300);
        let t0 = Instant::now();
        assert_eq!(send(&pacer, t0, header(2, 5)).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        // Two were left, two went: the next waits for the API's window to reset.
        assert_eq!(send(&pacer, t0, None).await, secs(5));
        // After the reset, what is left comes with the next answer.
        assert_eq!(send(&pacer, t0, None).await, secs(5));
        assert_eq!(
            *waits.lock().unwrap(),
            [Wait {
                duration: secs(5),
                reason: WaitReason::RateLimit
            }]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_on_their_way_count_against_what_is_left() {
        let (pacer, _) = pacer(600, 300);
        let t0 = Instant::now();
        let first = pacer.admit().await;
        let second = pacer.admit().await;
        let third = pacer.admit().await;
        // Four left when the first was answered, but two more are still on their way.
        first.answered(header(4, 10));
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, None).await, secs(10));
        drop((second, third));
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_never_raises_what_is_left() {
        let (pacer, _) = pacer(600, 300);
        let t0 = Instant::now();
        let early = pacer.admit().await;
        let late = pacer.admit().await;
        // The later request's answer comes first: 2 left, less the earlier one still on its
        // way. The earlier one's says 3 (it was counted before the other): stale, so 1 it stays.
        late.answered(header(2, 20));
        early.answered(header(3, 20));
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, header(9, 1)).await, secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_is_announced_once_however_many_wait() {
        let (pacer, waits) = pacer(2, 10);
        let t0 = Instant::now();
        let sent = futures::future::join_all((0..6).map(|_| send(&pacer, t0, None))).await;
        assert_eq!(sent, [0, 0, 10, 10, 20, 20].map(secs));
        // Four waited, for two moments: two notices.
        let waits = waits.lock().unwrap();
        assert_eq!(
            waits.iter().map(|w| w.duration).collect::<Vec<_>>(),
            [secs(10), secs(10)]
        );
    }

    #[test]
    fn a_wait_says_how_long_and_why() {
        let budget = Wait {
            duration: Duration::from_millis(12_340),
            reason: WaitReason::Budget(Pacing::default()),
        };
        assert_eq!(
            budget.to_string(),
            "waiting 12.4 s before the next API request: svcbind's budget of 600 requests in any 5m is spent (--request-budget, --request-window)"
        );
        let api = Wait {
            duration: secs(3),
            reason: WaitReason::RateLimit,
        };
        assert_eq!(
            api.to_string(),
            "waiting 3.0 s before the next API request: the API's Ratelimit header says no request is left until its window resets"
        );
    }

    #[test]
    fn absurd_resets_parse_without_overflow() {
        assert_eq!(
            RateLimit::parse(r#""default";r=0;t=18446744073709551615"#),
            Some(RateLimit {
                remaining: 0,
                reset: Duration::from_secs(u64::MAX)
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_beyond_the_longest_wait_is_not_followed_and_said_once() {
        for reset in [u64::MAX, 86_400, 301] {
            let (pacer, said) = pacer_saying(600, 300);
            let t0 = Instant::now();
            // Nothing left, says the header, for a day (or forever): not followed, no panic.
            assert_eq!(send(&pacer, t0, header(0, reset)).await, Duration::ZERO);
            assert_eq!(send(&pacer, t0, header(0, reset)).await, Duration::ZERO);
            assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
            let said = said.lock().unwrap();
            assert_eq!(
                *said,
                [Announcement::Unfollowed(Unfollowed {
                    reset: secs(reset),
                    max_wait: DEFAULT_MAX_RETRY_WAIT
                })],
                "{reset}"
            );
        }
        // Up to the longest wait (here lowered, as --max-retry-wait does), it is followed.
        let (pacer, said) = pacer_saying(600, 300);
        let pacer = pacer.max_wait(secs(30));
        let t0 = Instant::now();
        assert_eq!(send(&pacer, t0, header(0, 30)).await, Duration::ZERO);
        assert_eq!(send(&pacer, t0, header(0, 31)).await, secs(30));
        assert_eq!(
            said.lock().unwrap().len(),
            2,
            "one wait, one header not followed"
        );
        assert_eq!(
            Announcement::Unfollowed(Unfollowed {
                reset: secs(86_400),
                max_wait: secs(300)
            })
            .to_string(),
            "the API's Ratelimit header says its window resets in 1day, longer than --max-retry-wait (5m) and than the API's 5-minute window: svcbind does not wait for it (said once)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_too_long_for_an_instant_never_panics() {
        let pacer = Pacer::with_notice(
            Pacing {
                budget: 1,
                window: Duration::MAX,
            },
            Arc::new(|_: &Announcement| {}),
        );
        let t0 = Instant::now();
        assert_eq!(send(&pacer, t0, None).await, Duration::ZERO);
        // The second would wait "forever": it is still waiting when the test gives up on it.
        let second = tokio::time::timeout(secs(3600), send(&pacer, t0, None)).await;
        assert!(second.is_err());
    }
}
