//! HipChat's rate limits: requests per token per 5 minutes and messages per
//! room per minute, as fixed windows, plus a knob that forces 429s.

use std::collections::HashMap;
use std::time::Duration;

/// The limits a host enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// REST requests one access token may make per `token_window` (HipChat: 100, later 500).
    pub requests_per_token: u32,
    /// The window of `requests_per_token` (HipChat: 5 minutes).
    pub token_window: Duration,
    /// Notifications one room accepts per `room_window` (HipChat: 30).
    pub messages_per_room: u32,
    /// The window of `messages_per_room` (HipChat: 1 minute).
    pub room_window: Duration,
    /// `Retry-After` of answers forced by [`super::Host::force_rate_limit`].
    pub forced_retry_after: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            requests_per_token: 100,
            token_window: Duration::from_secs(300),
            messages_per_room: 30,
            room_window: Duration::from_secs(60),
            forced_retry_after: Duration::from_secs(1),
        }
    }
}

/// Where a request stands against one limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The limit.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// When the window ends, Unix seconds.
    pub reset: u64,
    /// Whether the request is refused.
    pub exceeded: bool,
}

impl Quota {
    /// Seconds to wait before retrying (at least 1).
    pub fn retry_after(&self, now: u64) -> u64 {
        self.reset.saturating_sub(now).max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: u64,
    count: u32,
}

/// Counts requests in fixed windows. Refused requests do not count.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    per_token: HashMap<String, Window>,
    per_room: HashMap<u64, Window>,
    forced: u32,
}

fn take<K: std::hash::Hash + Eq>(
    windows: &mut HashMap<K, Window>,
    key: K,
    limit: u32,
    length: Duration,
    now: u64,
) -> Quota {
    let length = length.as_secs().max(1);
    let window = windows.entry(key).or_insert(Window {
        started: now,
        count: 0,
    });
    if now >= window.started.saturating_add(length) {
        *window = Window {
            started: now,
            count: 0,
        };
    }
    let reset = window.started.saturating_add(length);
    let exceeded = window.count >= limit;
    if !exceeded {
        window.count += 1;
    }
    Quota {
        limit,
        remaining: limit.saturating_sub(window.count),
        reset,
        exceeded,
    }
}

impl Limiter {
    /// Counts one REST request by `token`.
    pub(crate) fn token_request(&mut self, limits: &RateLimits, token: &str, now: u64) -> Quota {
        take(
            &mut self.per_token,
            token.to_owned(),
            limits.requests_per_token,
            limits.token_window,
            now,
        )
    }

    /// Counts one notification in `room`.
    pub(crate) fn room_message(&mut self, limits: &RateLimits, room: u64, now: u64) -> Quota {
        take(
            &mut self.per_room,
            room,
            limits.messages_per_room,
            limits.room_window,
            now,
        )
    }

    /// Makes the next `n` REST answers 429.
    pub(crate) fn force(&mut self, n: u32) {
        self.forced = n;
    }

    /// Consumes one forced 429, if any is pending.
    pub(crate) fn take_forced(&mut self) -> bool {
        if self.forced > 0 {
            self.forced -= 1;
            true
        } else {
            false
        }
    }

    /// Forgets a token's window (when it is revoked).
    pub(crate) fn forget_token(&mut self, token: &str) {
        self.per_token.remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits {
            requests_per_token: 2,
            token_window: Duration::from_secs(300),
            messages_per_room: 1,
            room_window: Duration::from_secs(60),
            forced_retry_after: Duration::from_secs(1),
        }
    }

    #[test]
    fn refuses_the_request_after_the_limit_until_the_window_resets() {
        let mut limiter = Limiter::default();
        let a = limiter.token_request(&limits(), "t", 1000);
        assert_eq!((a.remaining, a.reset, a.exceeded), (1, 1300, false));
        let b = limiter.token_request(&limits(), "t", 1001);
        assert_eq!((b.remaining, b.exceeded), (0, false));
        let c = limiter.token_request(&limits(), "t", 1002);
        assert!(c.exceeded);
        assert_eq!(c.retry_after(1002), 298);
        let d = limiter.token_request(&limits(), "t", 1300);
        assert_eq!((d.remaining, d.reset, d.exceeded), (1, 1600, false));
    }

    #[test]
    fn counts_tokens_and_rooms_separately() {
        let mut limiter = Limiter::default();
        assert!(!limiter.room_message(&limits(), 1, 10).exceeded);
        assert!(limiter.room_message(&limits(), 1, 11).exceeded);
        assert!(!limiter.room_message(&limits(), 2, 11).exceeded);
        assert!(!limiter.token_request(&limits(), "a", 11).exceeded);
        assert!(!limiter.token_request(&limits(), "b", 11).exceeded);
    }

    #[test]
    fn forces_exactly_n_refusals() {
        let mut limiter = Limiter::default();
        limiter.force(2);
        assert!(limiter.take_forced());
        assert!(limiter.take_forced());
        assert!(!limiter.take_forced());
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let q = Quota {
            limit: 1,
            remaining: 0,
            reset: 5,
            exceeded: true,
        };
        assert_eq!(q.retry_after(9), 1);
    }
}
