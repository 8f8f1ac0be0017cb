//! Retries that cannot duplicate a write, shared by the API clients (Everflow, Offerit):
//! the policy ([`Retry`]), the budgets and waits ([`RetryOptions`]) and the loop that
//! sends an attempt again ([`send`]).
//!
//! Neither API has idempotency keys: a create whose answer is lost may still have
//! happened. So a create is sent again only when it certainly never reached the server
//! (the connection could not be made) or was refused with 429, which comes before
//! anything is done. Requests that may be sent twice without harm are also retried
//! after timeouts, cut connections and 5xx. A 429 is retried after `Retry-After` when
//! the server gives one (capped), else after backoff, with a larger budget than other
//! failures: it only ever means "later".
//!
//! What a request is, how it is sent and what its errors are stay with each client;
//! this module sees an error only through [`Retryable`].

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;

/// How often and after how long a failed request is sent again.
#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// Attempts in all, for requests that may be retried after an error.
    pub max_attempts: u32,
    /// Attempts in all while the server answers 429 (it will take the request later).
    pub max_throttled_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_attempts: 4,
            max_throttled_attempts: 10,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// What the retry loop needs to know of a client's error.
pub trait Retryable: fmt::Display {
    /// The HTTP status of the answer, if one came.
    fn status(&self) -> Option<u16>;
    /// For a request that got no (complete) answer, whether the server may have
    /// received it; `None` for every other error.
    fn maybe_delivered(&self) -> Option<bool>;
}

/// Which failures a request may be sent again after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Sending it twice does no harm (reads, PUT, a PATCH that sets values): retried
    /// after any transport error, 429 and 5xx.
    Idempotent,
    /// A create: retried only when certainly not delivered, or on 429.
    OnlyIfUndelivered,
}

impl Retry {
    /// Whether a request that failed with `error` may be sent again.
    pub fn allows(self, error: &impl Retryable) -> bool {
        let status = error.status();
        if status == Some(429) {
            return true;
        }
        match self {
            Retry::Idempotent => {
                error.maybe_delivered().is_some() || status.is_some_and(|status| status >= 500)
            }
            Retry::OnlyIfUndelivered => error.maybe_delivered() == Some(false),
        }
    }
}

/// A failed attempt, and when the server asked to be tried again.
pub struct Failure<E> {
    pub error: E,
    pub retry_after: Option<Duration>,
}

impl<E> From<E> for Failure<E> {
    fn from(error: E) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Runs `attempt` until it succeeds, `retry` does not allow another, or the budget of
/// the failure's kind (429 or other) is spent; returns the last error then. `method`
/// and `path` name the request in the log.
pub async fn send<T, E, F, Fut>(
    options: &RetryOptions,
    retry: Retry,
    method: &Method,
    path: &str,
    mut attempt: F,
) -> Result<T, E>
where
    E: Retryable,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut errors = 0;
    let mut throttled = 0;
    let mut backoff = options.initial_backoff;
    loop {
        let Failure { error, retry_after } = match attempt().await {
            Ok(answer) => return Ok(answer),
            Err(failure) => failure,
        };
        if !retry.allows(&error) {
            return Err(error);
        }
        let (used, budget) = if error.status() == Some(429) {
            throttled += 1;
            (throttled, options.max_throttled_attempts)
        } else {
            errors += 1;
            (errors, options.max_attempts)
        };
        if used >= budget {
            return Err(error);
        }
        let wait = match retry_after {
            Some(asked) => asked.min(options.max_retry_after),
            None => jitter(backoff),
        };
        tracing::debug!(%method, path, ?wait, "retrying after: {error}");
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

/// `Retry-After` in its delay-seconds form (the HTTP-date form is not used by the APIs).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// `wait` spread over 75%..125%, so that requests throttled together do not all come
/// back together.
fn jitter(wait: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let roll = RandomState::new().hash_one(std::time::SystemTime::now()) % 1000;
    wait.mul_f64(0.75 + roll as f64 / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error as the loop sees it: a status, or a transport failure.
    struct Seen {
        status: Option<u16>,
        maybe_delivered: Option<bool>,
    }

    impl fmt::Display for Seen {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?} {:?}", self.status, self.maybe_delivered)
        }
    }

    impl Retryable for Seen {
        fn status(&self) -> Option<u16> {
            self.status
        }
        fn maybe_delivered(&self) -> Option<bool> {
            self.maybe_delivered
        }
    }

    fn status(status: u16) -> Seen {
        Seen {
            status: Some(status),
            maybe_delivered: None,
        }
    }

    fn quick() -> RetryOptions {
        RetryOptions {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            ..RetryOptions::default()
        }
    }

    /// Calls `send` with answers taken in turn from `answers`; returns the outcome and
    /// how many attempts were made.
    async fn run(retry: Retry, answers: Vec<Result<u8, Seen>>) -> (Result<u8, Seen>, usize) {
        let answers = std::cell::RefCell::new(answers.into_iter());
        let attempts = std::cell::Cell::new(0);
        let outcome = send(&quick(), retry, &Method::GET, "/x", || {
            attempts.set(attempts.get() + 1);
            let next = answers.borrow_mut().next().expect("an answer per attempt");
            async move { next.map_err(Failure::from) }
        })
        .await;
        (outcome, attempts.get())
    }

    #[tokio::test]
    async fn other_failures_and_429_have_their_own_budgets() {
        // Three 503s and nine 429s fit the budgets (4 and 10 attempts) together.
        let mut answers: Vec<Result<u8, Seen>> = Vec::new();
        answers.extend((0..3).map(|_| Err(status(503))));
        answers.extend((0..9).map(|_| Err(status(429))));
        answers.push(Ok(7));
        assert_eq!(run(Retry::Idempotent, answers).await.0.ok(), Some(7));

        let answers = (0..5).map(|_| Err(status(503))).collect();
        let (outcome, attempts) = run(Retry::Idempotent, answers).await;
        assert_eq!((outcome.err().unwrap().status, attempts), (Some(503), 4));
    }

    #[tokio::test]
    async fn an_error_the_policy_refuses_is_returned_at_once() {
        let answers = vec![Err(status(500)), Ok(1)];
        let (outcome, attempts) = run(Retry::OnlyIfUndelivered, answers).await;
        assert_eq!((outcome.err().unwrap().status, attempts), (Some(500), 1));
    }

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", " 3 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..100 {
            let wait = jitter(Duration::from_millis(1000));
            assert!((750..=1250).contains(&wait.as_millis()), "{wait:?}");
        }
    }
}
