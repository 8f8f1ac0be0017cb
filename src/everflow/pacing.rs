//! Pacing: one limiter per rate-limit bucket, so a run stays under Everflow's limits
//! instead of finding them with 429s.
//!
//! Everflow counts requests per customer in fixed 30 s windows whose start the client
//! cannot see (facts file, "Rate limits"). A client that never sends more than the limit
//! in ANY 30 s span (a sliding window) also never exceeds it in the server's fixed
//! windows, whatever their phase. The span is widened by a small margin so that
//! requests whose travel times differ cannot crowd one server window.
//!
//! The bucket is shared with everything else using the same customer (other tools, the
//! UI's API calls), so each answer's `X-RateLimit-Remaining` corrects the local count:
//! when the server has fewer requests left than this client thinks, the difference is
//! booked as requests made by others just now.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Everflow's window: "The window resets every 30 s".
pub const EVERFLOW_WINDOW: Duration = Duration::from_secs(30);

/// Added to the window so that jitter in travel time cannot push two windows' worth
/// of requests into one server window.
const MARGIN: Duration = Duration::from_millis(500);

/// A bucket's limit: so many requests per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub window: Duration,
}

impl RateLimit {
    /// Everflow's defaults (LIVE rate-limiting page): Network 30/s, Affiliate 5/s.
    pub const NETWORK: RateLimit = RateLimit::per_second(30);
    pub const AFFILIATE: RateLimit = RateLimit::per_second(5);

    pub const fn per_second(per_second: u32) -> RateLimit {
        RateLimit {
            per_second,
            window: EVERFLOW_WINDOW,
        }
    }

    /// Requests allowed in one window (what `X-RateLimit-Limit` reports).
    pub fn per_window(self) -> u32 {
        let seconds = self.window.as_secs_f64();
        ((f64::from(self.per_second) * seconds).floor() as u32).max(1)
    }
}

/// The limiter of one bucket. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Limiter {
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    /// Requests allowed per window; lowered if the server reports a smaller limit.
    limit: u32,
    /// When each request of the current span was sent (or booked for others), oldest
    /// first.
    sent: VecDeque<Instant>,
}

impl Window {
    fn forget_before(&mut self, cutoff: Option<Instant>) {
        let Some(cutoff) = cutoff else { return };
        while self.sent.front().is_some_and(|&at| at <= cutoff) {
            self.sent.pop_front();
        }
    }

    fn left(&self) -> u32 {
        self.limit
            .saturating_sub(u32::try_from(self.sent.len()).unwrap_or(u32::MAX))
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            window: limit.window + MARGIN,
            state: Mutex::new(Window {
                limit: limit.per_window(),
                sent: VecDeque::new(),
            }),
        }
    }

    /// Waits until one more request fits in the bucket, and books it.
    pub async fn acquire(&self) {
        loop {
            let wait_until = {
                let mut state = self.lock();
                let now = Instant::now();
                state.forget_before(now.checked_sub(self.window));
                if state.left() > 0 {
                    state.sent.push_back(now);
                    return;
                }
                // Full: the oldest booking leaves the span first.
                let oldest = state.sent.front().copied().unwrap_or(now);
                oldest + self.window
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// What the server said of the bucket after one of our requests: its limit per
    /// window and how many requests are left in the current window.
    pub fn observe(&self, limit: Option<u32>, remaining: Option<u32>) {
        let mut state = self.lock();
        let now = Instant::now();
        state.forget_before(now.checked_sub(self.window));
        if let Some(limit) = limit.filter(|&limit| limit > 0 && limit < state.limit) {
            tracing::debug!(
                "the server allows {limit} requests per window, not {}",
                state.limit
            );
            state.limit = limit;
        }
        if let Some(remaining) = remaining {
            let others = state.left().saturating_sub(remaining);
            if others > 0 {
                tracing::debug!("{others} requests of this bucket were made by others");
                state.sent.extend(std::iter::repeat_n(now, others as usize));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_window: u32) -> RateLimit {
        RateLimit {
            per_second: per_window,
            window: Duration::from_secs(1),
        }
    }

    #[test]
    fn everflow_defaults_per_window() {
        assert_eq!(RateLimit::NETWORK.per_window(), 900);
        assert_eq!(RateLimit::AFFILIATE.per_window(), 150);
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let limiter = Limiter::new(limit(3));
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..10 {
            limiter.acquire().await;
            sent.push(Instant::now() - start);
        }
        // The first three go at once; each later one waits for a slot to leave the span.
        assert_eq!(sent[..3], [Duration::ZERO; 3]);
        let span = Duration::from_secs(1) + MARGIN;
        for (index, at) in sent.iter().enumerate().skip(3) {
            assert!(*at >= sent[index - 3] + span, "request {index} at {at:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_made_by_others_slow_us_down() {
        let limiter = Limiter::new(limit(10));
        limiter.acquire().await;
        // The server has 2 left where we think 9: 7 were made by someone else.
        limiter.observe(Some(10), Some(2));
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(Instant::now(), start, "two fit at once");
        limiter.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_smaller_server_limit_is_adopted() {
        let limiter = Limiter::new(limit(10));
        limiter.observe(Some(2), None);
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        limiter.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }
}
