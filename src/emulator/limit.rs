//! The request budget: a fixed window of `quota` requests per `window`, reported in the
//! `Ratelimit` headers and, when enforced, answered with 429 once spent. Like the real limit,
//! a spent budget blocks every call for a whole window.
//!
//! Time is passed in; this module has no clock. Its arithmetic saturates, so no window, however
//! long, and no time, however late, can overflow.

use std::time::Duration;

/// The quota and window reported when no limit is enforced (the API's own: 1200 per 5 min).
pub const DEFAULT_QUOTA: u32 = 1200;
/// The window of [`DEFAULT_QUOTA`].
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    quota: u32,
    window: Duration,
    enforce: bool,
    window_start: Option<Duration>,
    used: u32,
    blocked_until: Option<Duration>,
}

impl RateLimiter {
    /// Enforces `limit` when given; otherwise only counts against the API's default quota.
    pub(crate) fn new(limit: Option<(u32, Duration)>) -> Self {
        let (quota, window, enforce) = match limit {
            Some((quota, window)) => (quota, window.max(Duration::from_secs(1)), true),
            None => (DEFAULT_QUOTA, DEFAULT_WINDOW, false),
        };
        Self {
            quota,
            window,
            enforce,
            window_start: None,
            used: 0,
            blocked_until: None,
        }
    }

    fn roll(&mut self, now: Duration) {
        if self.blocked_until.is_some_and(|b| now >= b) {
            self.blocked_until = None;
            self.window_start = None;
            self.used = 0;
        }
        if self
            .window_start
            .is_some_and(|s| now >= s.saturating_add(self.window))
        {
            self.window_start = None;
            self.used = 0;
        }
    }

    /// Spends one request, or says how long until calls are accepted again.
    pub(crate) fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.roll(now);
        if let Some(until) = self.blocked_until {
            return Err(until.saturating_sub(now));
        }
        self.window_start.get_or_insert(now);
        if self.enforce && self.used >= self.quota {
            self.blocked_until = Some(now.saturating_add(self.window));
            return Err(self.window);
        }
        self.used = self.used.saturating_add(1);
        Ok(())
    }

    /// `(remaining, seconds until reset)` for the `Ratelimit` header.
    pub(crate) fn status(&self, now: Duration) -> (u32, u64) {
        let mut s = self.clone();
        s.roll(now);
        if let Some(until) = s.blocked_until {
            return (0, ceil_secs(until.saturating_sub(now)));
        }
        let reset = s.window_start.map_or(s.window, |start| {
            start.saturating_add(s.window).saturating_sub(now)
        });
        (s.quota.saturating_sub(s.used), ceil_secs(reset))
    }

    /// `(quota, window seconds)` for the `Ratelimit-Policy` header.
    pub(crate) fn policy(&self) -> (u32, u64) {
        (self.quota, ceil_secs(self.window))
    }
}

/// Whole seconds, rounded up, at least 1 when `d` is not zero.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn enforced_limit_blocks_for_a_whole_window() {
        let mut l = RateLimiter::new(Some((2, S(10))));
        assert_eq!(l.status(S(0)), (2, 10));
        assert_eq!(l.policy(), (2, 10));
        assert!(l.admit(S(0)).is_ok());
        assert!(l.admit(S(3)).is_ok());
        assert_eq!(l.status(S(3)), (0, 7));
        // Spent: blocked for a whole window from the first refusal.
        assert_eq!(l.admit(S(4)), Err(S(10)));
        assert_eq!(l.admit(S(11)), Err(S(3)));
        assert_eq!(l.status(S(11)), (0, 3));
        assert_eq!(l.admit(S(13)), Err(S(1)));
        assert!(l.admit(S(14)).is_ok());
        assert_eq!(l.status(S(14)), (1, 10));
    }

    #[test]
    fn window_resets_when_it_passes() {
        let mut l = RateLimiter::new(Some((1, S(5))));
        assert!(l.admit(S(0)).is_ok());
        assert!(l.admit(S(5)).is_ok());
        assert_eq!(l.status(S(6)), (0, 4));
    }

    #[test]
    fn unenforced_limit_only_reports() {
        let mut l = RateLimiter::new(None);
        for _ in 0..1300 {
            assert!(l.admit(S(1)).is_ok());
        }
        assert_eq!(l.status(S(1)), (0, 300));
        assert_eq!(l.policy(), (1200, 300));
        assert_eq!(l.status(S(301)), (1200, 300));
    }

    #[test]
    fn huge_windows_and_late_times_never_overflow() {
        let mut l = RateLimiter::new(Some((1, Duration::MAX)));
        let late = Duration::MAX - S(1);
        assert!(l.admit(late).is_ok());
        assert_eq!(l.admit(late), Err(Duration::MAX));
        assert_eq!(l.status(late).0, 0);
        assert!(l.admit(Duration::MAX).is_ok(), "the block ends");
        assert_eq!(ceil_secs(Duration::MAX), u64::MAX);
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(S(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
    }
}
