//! Pacing: one limiter per rate-limit bucket, so a run stays under Everflow's limits
//! instead of finding them with 429s.
//!
//! Everflow counts requests per customer in fixed 30 s windows whose start the client
//! cannot see (facts file, "Rate limits"). A client that never sends more than the limit
//! in ANY 30 s span (a sliding window) also never exceeds it in the server's fixed
//! windows, whatever their phase, provided each request is counted for a window from
//! the moment the server may count it. The server counts a request somewhere between
//! its sending and its answer, so a request holds its slot from the moment it is booked
//! until a whole window after its answer came: however long requests travel or queue
//! (many at once, a slow server), the requests the server can count in one of its
//! windows never outnumber the limit.
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

/// Added to the window for clock granularity on either side.
const MARGIN: Duration = Duration::from_millis(100);

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
    /// Wakes the waiters when a request in flight is answered (its slot starts ageing).
    answered: tokio::sync::Notify,
}

#[derive(Debug)]
struct Window {
    /// Requests allowed per window; lowered if the server reports a smaller limit.
    limit: u32,
    /// Requests booked and not yet answered: each holds a slot.
    in_flight: u32,
    /// When each answered request of the current span was answered (or a request of
    /// others booked), oldest first.
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
            .saturating_sub(self.in_flight)
            .saturating_sub(u32::try_from(self.sent.len()).unwrap_or(u32::MAX))
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            window: limit.window + MARGIN,
            state: Mutex::new(Window {
                limit: limit.per_window(),
                in_flight: 0,
                sent: VecDeque::new(),
            }),
            answered: tokio::sync::Notify::new(),
        }
    }

    /// Waits until one more request fits in the bucket, and books it. The slot is held
    /// until the returned booking is dropped (when the answer came, or the request was
    /// given up), then for a window more.
    pub async fn acquire(&self) -> Booking<'_> {
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let wait_until = {
                let mut state = self.lock();
                let now = Instant::now();
                state.forget_before(now.checked_sub(self.window));
                if state.left() > 0 {
                    state.in_flight += 1;
                    return Booking { limiter: self };
                }
                // Full: the oldest answered request leaves the span first, unless a
                // request in flight is answered before (and starts ageing).
                state.sent.front().map(|&oldest| oldest + self.window)
            };
            match wait_until {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = answered => {}
                    }
                }
                None => answered.await,
            }
        }
    }

    /// How long ago each request of the current span was answered (a request in flight
    /// counts as answered now): what a later run must still count (see
    /// [`Limiter::book_earlier`]).
    pub fn recent(&self) -> Vec<Duration> {
        let mut state = self.lock();
        let now = Instant::now();
        state.forget_before(now.checked_sub(self.window));
        let in_flight = std::iter::repeat_n(Duration::ZERO, state.in_flight as usize);
        state
            .sent
            .iter()
            .map(|&at| now - at)
            .chain(in_flight)
            .collect()
    }

    /// Books requests answered `ages` ago (by an earlier run with the same key), so that
    /// a run started right after another does not spend the window twice.
    pub fn book_earlier(&self, ages: impl IntoIterator<Item = Duration>) {
        let mut state = self.lock();
        let now = Instant::now();
        let mut at: Vec<Instant> = ages
            .into_iter()
            .filter(|age| *age < self.window)
            .filter_map(|age| now.checked_sub(age))
            .chain(state.sent.drain(..))
            .collect();
        at.sort();
        state.sent = at.into();
    }

    fn answer(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.sent.push_back(Instant::now());
        drop(state);
        self.answered.notify_waiters();
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

/// One request's slot in its bucket: dropping it (the answer came, or the request was
/// given up) starts the window after which the slot is free again.
#[derive(Debug)]
#[must_use = "the slot is freed when the booking is dropped"]
pub struct Booking<'a> {
    limiter: &'a Limiter,
}

impl Drop for Booking<'_> {
    fn drop(&mut self) {
        self.limiter.answer();
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
            drop(limiter.acquire().await);
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
    async fn a_slot_ages_from_the_answer_not_from_the_sending() {
        let limiter = Limiter::new(limit(2));
        let start = Instant::now();
        let slow = limiter.acquire().await;
        drop(limiter.acquire().await);
        // The first request takes 5 s to be answered: the server may count it as late
        // as that, so its slot is held until a window after.
        let later = async {
            drop(limiter.acquire().await);
            Instant::now() - start
        };
        let answer = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(slow);
        };
        let (waited, ()) = tokio::join!(later, answer);
        let span = Duration::from_secs(1) + MARGIN;
        // The answered-at-once request frees its slot after one span...
        assert_eq!(waited, span);
        // ...but the slow one's slot only a span after its answer.
        let start = Instant::now();
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        assert!(
            Instant::now() - start >= span,
            "{:?}",
            Instant::now() - start
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_runs_requests_count() {
        let earlier = Limiter::new(limit(3));
        drop(earlier.acquire().await);
        tokio::time::advance(Duration::from_millis(300)).await;
        drop(earlier.acquire().await);
        let _in_flight = earlier.acquire().await;
        let ages = earlier.recent();
        assert_eq!(
            ages,
            [Duration::from_millis(300), Duration::ZERO, Duration::ZERO]
        );
        let later = Limiter::new(limit(3));
        later.book_earlier(ages.into_iter().chain([Duration::from_secs(60)]));
        let start = Instant::now();
        drop(later.acquire().await);
        // The oldest of the three leaves the span first; 60 s ago is long gone.
        let span = Duration::from_secs(1) + MARGIN;
        assert_eq!(Instant::now() - start, span - Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_made_by_others_slow_us_down() {
        let limiter = Limiter::new(limit(10));
        drop(limiter.acquire().await);
        // The server has 2 left where we think 9: 7 were made by someone else.
        limiter.observe(Some(10), Some(2));
        let start = Instant::now();
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        assert_eq!(Instant::now(), start, "two fit at once");
        drop(limiter.acquire().await);
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_smaller_server_limit_is_adopted() {
        let limiter = Limiter::new(limit(10));
        limiter.observe(Some(2), None);
        let start = Instant::now();
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }
}
