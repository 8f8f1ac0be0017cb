//! Per-customer fixed-window rate limiting (LIVE user-guide/rate-limiting).
//!
//! One bucket per customer: the destination network is `network:<network_id>`,
//! and every affiliate key of one source network shares `affiliate:<name>` ("the
//! affiliate quota is shared across all affiliates of the same network"). Windows
//! are fixed slices (Everflow's: 30 s) counted from the sandbox's start; the limit is
//! per window.

use std::collections::HashMap;
use std::time::Duration;

/// Everflow's window: "Rate limits reset every 30 seconds".
pub(crate) const WINDOW: Duration = Duration::from_secs(30);

/// What one request got from its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    /// Requests allowed per window (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left in this window after this one (`X-RateLimit-Remaining`).
    pub remaining: u32,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    window: Duration,
    buckets: HashMap<String, (u128, u32)>,
}

impl RateLimiter {
    pub fn new(window: Duration) -> RateLimiter {
        RateLimiter {
            window: window.max(Duration::from_millis(1)),
            buckets: HashMap::new(),
        }
    }

    /// Counts one request against `bucket` at `elapsed` since the sandbox started.
    pub fn check(&mut self, bucket: &str, limit: u32, elapsed: Duration) -> Verdict {
        let window = elapsed.as_millis() / self.window.as_millis();
        let (w, used) = self.buckets.entry(bucket.to_owned()).or_insert((window, 0));
        if *w != window {
            *w = window;
            *used = 0;
        }
        if *used < limit {
            *used += 1;
            Verdict {
                allowed: true,
                limit,
                remaining: limit - *used,
            }
        } else {
            Verdict {
                allowed: false,
                limit,
                remaining: 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_per_window_and_resets() {
        let mut rl = RateLimiter::new(WINDOW);
        let t = Duration::from_secs(5);
        assert_eq!(rl.check("a", 2, t).remaining, 1);
        assert_eq!(rl.check("a", 2, t).remaining, 0);
        let third = rl.check("a", 2, t);
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        // Same window, other bucket: independent.
        assert!(rl.check("b", 2, t).allowed);
        // Next window: fresh.
        let later = rl.check("a", 2, Duration::from_secs(31));
        assert!(later.allowed);
        assert_eq!(later.remaining, 1);
    }
}
