//! The HTTP client for one Everflow API key: base URL, authentication header, timeouts,
//! retries that cannot duplicate, and typed errors.
//!
//! Everflow has no idempotency keys (facts file, "Idempotency"): a POST whose response is
//! lost may still have created something. So a POST is re-sent only when the request
//! certainly never reached the server (the connection could not be made, or a 429 which
//! Everflow returns before doing anything). GET, PUT and PATCH are idempotent and are
//! retried on connection errors, timeouts, 429 and 5xx with capped backoff. The loop
//! and the policy are [`crate::http::retry`]'s.
//!
//! Every request first takes its turn from the key's rate-limit bucket ([`Limiter`]),
//! and every answer's `X-RateLimit-*` headers correct the bucket's count. A 429 is
//! retried after `Retry-After` when the server gives one (capped), else after backoff,
//! with a larger budget than other failures: it only ever means "later".
//!
//! Errors carry the method, the path, the status and a short excerpt of the body; never
//! the key, which travels only in the `X-Eflow-API-Key` header.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::Semaphore;
use url::Url;

use super::pacing::{Limiter, RateLimit};
use super::types::{Paging, RawObject};
use crate::http::retry::{self, Failure, Retry, RetryOptions, Retryable};
use crate::http::{BodyError, describe_transport};
use crate::secret::{Redactor, Secret};

/// Which Everflow API a key belongs to. A key of one kind gets 403 "Out of realm" on the
/// other's paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Network,
    Affiliate,
}

/// Tunables of a client. The defaults suit Everflow.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryOptions,
    /// Responses larger than this are refused (hostile or broken servers).
    pub max_body_bytes: usize,
    /// The key's bucket; `None` means Everflow's default for the API.
    pub rate_limit: Option<RateLimit>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryOptions::default(),
            max_body_bytes: 64 * 1024 * 1024,
            rate_limit: None,
        }
    }
}

/// What went wrong with a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a non-success status.
    #[error("{method} {path}: HTTP {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        message: String,
    },
    /// No (complete) answer: connection refused, reset, timed out.
    #[error("{method} {path}: {reason}")]
    Transport {
        method: Method,
        path: String,
        reason: String,
        /// Whether the server may have received and acted on the request.
        maybe_delivered: bool,
    },
    /// The answer was not the JSON we expected.
    #[error("{method} {path}: unexpected response: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether a write that failed this way may still have taken effect: the request
    /// went out and no clear answer came back (a lost response, a success whose body
    /// cannot be read, or a server error that a proxy may have raised after the API
    /// acted).
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            ApiError::Transport {
                maybe_delivered, ..
            } => *maybe_delivered,
            ApiError::Status { status, .. } => *status >= 500,
            ApiError::Decode { .. } => true,
        }
    }
}

impl Retryable for ApiError {
    fn status(&self) -> Option<u16> {
        ApiError::status(self)
    }

    fn maybe_delivered(&self) -> Option<bool> {
        match self {
            ApiError::Transport {
                maybe_delivered, ..
            } => Some(*maybe_delivered),
            _ => None,
        }
    }
}

/// A client bound to one key and one API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: Secret,
    api: Api,
    options: ClientOptions,
    redactor: Redactor,
    /// Shared by every clone: one bucket per key.
    limiter: Arc<Limiter>,
    /// Requests of this key on the wire at once, at most [`MAX_IN_FLIGHT`].
    in_flight: Arc<Semaphore>,
}

/// Requests one key has on the wire at once. The rate limit allows a whole window's
/// quota in one burst (900 on the Network API); a burst of thousands (a fleet's
/// tracking links at a raised limit) would overflow the server's connection backlog
/// and stall on TCP's SYN retries for half a minute. Far above what the default limits
/// ever have in flight.
const MAX_IN_FLIGHT: usize = 512;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// An answer to `method path` that is not what was expected.
pub(crate) fn decode_error(method: &str, path: &str, detail: String) -> ApiError {
    ApiError::Decode {
        method: method.parse().unwrap_or_default(),
        path: path.to_owned(),
        detail,
    }
}

/// Items per page of list calls: Everflow's maximum ("typically 2,000", SNAP paging.mdx;
/// 2,000 for offer URLs, LEGACY).
pub const PAGE_SIZE: u64 = 2000;

impl Client {
    /// `base` has been validated by settings (https, or http to loopback).
    pub fn new(base: &Url, key: Secret, api: Api, options: ClientOptions) -> Self {
        let http = crate::http::api_client(options.connect_timeout, options.request_timeout);
        let rate_limit = options.rate_limit.unwrap_or(match api {
            Api::Network => RateLimit::NETWORK,
            Api::Affiliate => RateLimit::AFFILIATE,
        });
        Self {
            http,
            base: base.clone(),
            redactor: Redactor::new([key.clone()]),
            key,
            api,
            options,
            limiter: Arc::new(Limiter::new(rate_limit)),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// The limiter of this key's bucket.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        self.send(Method::GET, path, query, None::<&()>).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::POST, path, query, Some(body)).await
    }

    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::PUT, path, &[], Some(body)).await
    }

    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.send(Method::PATCH, path, &[], Some(body)).await
    }

    /// Every item of a paged list (`{<key>: [...], paging}`), raw, in order. Page 1 tells
    /// the total; the other pages are then asked for at once (each still paced by the
    /// limiter), so a long list costs two round trips rather than one per page. The
    /// items of a page are slices of its text ([`RawObject`]), never decoded into values.
    pub async fn pages(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<RawObject>, ApiError> {
        let (mut items, paging) = self.page(path, key, query, 1).await?;
        if !paging.has_more(items.len()) {
            return Ok(items);
        }
        let last = paging.total_count.div_ceil(PAGE_SIZE);
        let rest = futures_util::future::try_join_all(
            (2..=last).map(|number| self.page(path, key, query, number)),
        )
        .await?;
        for (page, _) in rest {
            items.extend(page);
        }
        Ok(items)
    }

    /// One page of [`Client::pages`], with its `paging` block.
    async fn page(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, String)],
        number: u64,
    ) -> Result<(Vec<RawObject>, Paging), ApiError> {
        let decode_error = |detail| decode_error("GET", path, detail);
        let mut query = query.to_vec();
        query.push(("page", number.to_string()));
        query.push(("page_size", PAGE_SIZE.to_string()));
        let bytes = self
            .send_bytes(Method::GET, path, &query, None::<&()>, Retry::Idempotent)
            .await?;
        let text = Arc::new(String::from_utf8(bytes).map_err(|error| {
            decode_error(format!("not UTF-8 text: {}", excerpt(error.as_bytes())))
        })?);
        let batch: BTreeMap<String, &RawValue> =
            self.decode(&Method::GET, path, text.as_bytes())?;
        let paging: Paging = batch
            .get("paging")
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(|error| decode_error(format!("paging: {error}")))?
            .unwrap_or_default();
        let list: Vec<&RawValue> = match batch.get(key) {
            None => Vec::new(),
            Some(raw) => serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get())
                .map_err(|_| decode_error(format!("`{key}` is not a list")))?
                .unwrap_or_default(),
        };
        let items = list
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                RawObject::within(&text, item)
                    .map_err(|detail| decode_error(format!("{key}[{index}] {detail}")))
            })
            .collect::<Result<_, _>>()?;
        Ok((items, paging))
    }

    /// A POST that may be sent twice without harm, retried like a GET: reads sent with
    /// POST (`*table` searches, tracking-link generation) and temp uploads (an upload
    /// nobody attaches is simply discarded).
    pub async fn post_retryable<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &B,
    ) -> Result<T, ApiError> {
        self.send_with(Method::POST, path, query, Some(body), Retry::Idempotent)
            .await
    }

    /// A read sent with POST whose answer is not one JSON document (an export stream).
    pub async fn search_raw<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_bytes(Method::POST, path, &[], Some(body), Retry::Idempotent)
            .await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let retry = if method == Method::POST {
            Retry::OnlyIfUndelivered
        } else {
            Retry::Idempotent
        };
        self.send_with(method, path, query, body, retry).await
    }

    async fn send_with<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        retry: Retry,
    ) -> Result<T, ApiError> {
        let bytes = self
            .send_bytes(method.clone(), path, query, body, retry)
            .await?;
        self.decode(&method, path, &bytes)
    }

    /// Sends a request, retrying as `retry` allows, and returns the body of the answer.
    async fn send_bytes<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        retry: Retry,
    ) -> Result<Vec<u8>, ApiError> {
        let url = self.url(path);
        let body = match body {
            Some(body) => Some(serde_json::to_vec(body).map_err(|error| ApiError::Decode {
                method: method.clone(),
                path: path.to_owned(),
                detail: format!("cannot encode the request: {error}"),
            })?),
            None => None,
        };
        retry::send(&self.options.retry, retry, &method, path, || {
            self.attempt(&method, &url, path, query, body.as_deref())
        })
        .await
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, Failure<ApiError>> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("X-Eflow-API-Key", self.key.expose());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let transport = |error: reqwest::Error| ApiError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            reason: self.redactor.redact(&describe_transport(&error)),
            // A failed connect never sent anything; anything later may have been acted on.
            maybe_delivered: !error.is_connect(),
        };
        let asked = Instant::now();
        // Never closed, so acquiring cannot fail.
        let _on_the_wire = self.in_flight.acquire().await.ok();
        let booking = self.limiter.acquire().await;
        let booked = Instant::now();
        let sent = request.send().await;
        // Answered (or given up): the server has counted it, if ever.
        drop(booking);
        tracing::trace!(
            %method,
            path,
            paced_ms = (booked - asked).as_millis(),
            answered_ms = booked.elapsed().as_millis(),
            "request"
        );
        let response = sent.map_err(transport)?;
        let status = response.status();
        let headers = response.headers();
        // A 429 is answered by backing off and asking again, not by closing the bucket
        // for a whole window: the server's window may reset any moment.
        if status != StatusCode::TOO_MANY_REQUESTS {
            self.limiter.observe(
                header_number(headers, "x-ratelimit-limit"),
                header_number(headers, "x-ratelimit-remaining"),
            );
        }
        let retry_after = retry::retry_after(headers);
        let bytes = crate::http::read_body(response, self.options.max_body_bytes)
            .await
            .map_err(|error| match error {
                BodyError::Transport(error) => transport(error),
                BodyError::TooLarge(detail) => ApiError::Decode {
                    method: method.clone(),
                    path: path.to_owned(),
                    detail,
                },
            })?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(Failure {
                error: ApiError::Status {
                    method: method.clone(),
                    path: path.to_owned(),
                    status: status.as_u16(),
                    message: self.redactor.redact(&error_message(status, &bytes)),
                },
                retry_after,
            })
        }
    }

    fn decode<'a, T: Deserialize<'a>>(
        &self,
        method: &Method,
        path: &str,
        bytes: &'a [u8],
    ) -> Result<T, ApiError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let detail = if bytes.iter().all(u8::is_ascii_whitespace) {
                "an empty body where JSON was expected".to_owned()
            } else if error.inner().is_syntax() || error.inner().is_eof() {
                // serde_json says where (line and column); the start shows what it is.
                format!("not JSON ({}): {}", error.inner(), excerpt(bytes))
            } else {
                super::types::decode_detail(error)
            };
            ApiError::Decode {
                method: method.clone(),
                path: path.to_owned(),
                detail: self.redactor.redact(&detail),
            }
        })
    }

    fn url(&self, path: &str) -> Url {
        crate::http::join(&self.base, path)
    }
}

/// A header holding a whole number (the `X-RateLimit-*` counts).
fn header_number(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Everflow errors are `{"Error": "..."}` (observed), `{"error": "..."}` (documented), or
/// not JSON at all (a proxy's HTML page).
fn error_message(status: StatusCode, body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["Error", "error", "message"] {
            if let Some(serde_json::Value::String(text)) = map.get(key) {
                return truncate(text, 300);
            }
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return status
            .canonical_reason()
            .unwrap_or("no response body")
            .to_owned();
    }
    excerpt(body)
}

/// The first characters of a body, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(600)]);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("`{}`", truncate(&flat, 200))
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((index, _)) => format!("{}...", &text[..index]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that holds every request until `hold` of them are open at once, then
    /// answers them all (and every later one at once); returns the most it saw open.
    async fn holding_server(hold: usize) -> (Url, Arc<std::sync::Mutex<(usize, usize)>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        // (open now, most open at once)
        let open = Arc::new(std::sync::Mutex::new((0usize, 0usize)));
        let released = Arc::new(tokio::sync::Notify::new());
        let seen = Arc::clone(&open);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (open, released) = (Arc::clone(&open), Arc::clone(&released));
                tokio::spawn(async move {
                    loop {
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                                return;
                            }
                            head.push(byte[0]);
                        }
                        let wait = released.notified();
                        let full = {
                            let mut open = open.lock().unwrap();
                            open.0 += 1;
                            open.1 = open.1.max(open.0);
                            open.1 >= hold
                        };
                        if full {
                            released.notify_waiters();
                        } else {
                            wait.await;
                        }
                        open.lock().unwrap().0 -= 1;
                        let body = "{}";
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_has_at_most_max_in_flight_requests_on_the_wire() {
        let (url, seen) = holding_server(MAX_IN_FLIGHT).await;
        let options = ClientOptions {
            rate_limit: Some(RateLimit {
                per_second: 100_000,
                window: Duration::from_secs(1),
            }),
            ..ClientOptions::default()
        };
        let client = Client::new(&url, Secret::new("key"), Api::Network, options);
        let requests =
            (0..MAX_IN_FLIGHT + 100).map(|_| client.get::<serde_json::Value>("/v1/x", &[]));
        let answers = futures_util::future::join_all(requests).await;
        assert!(answers.iter().all(Result::is_ok));
        // All went out, never more than the cap at once (without it, all would be open
        // before the server answered any).
        assert_eq!(seen.lock().unwrap().1, MAX_IN_FLIGHT);
    }

    #[test]
    fn error_message_reads_both_error_keys_and_plain_bodies() {
        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, br#"{"Error":"name is required"}"#),
            "name is required"
        );
        assert_eq!(
            error_message(StatusCode::UNAUTHORIZED, br#"{"error":"nope"}"#),
            "nope"
        );
        assert_eq!(
            error_message(
                StatusCode::BAD_GATEWAY,
                b"<html>\n<body>Bad   gateway</body></html>"
            ),
            "`<html> <body>Bad gateway</body></html>`"
        );
        assert_eq!(
            error_message(StatusCode::SERVICE_UNAVAILABLE, b""),
            "Service Unavailable"
        );
    }

    #[test]
    fn post_is_retried_only_when_certainly_undelivered() {
        let transport = |maybe_delivered| ApiError::Transport {
            method: Method::POST,
            path: "/v1/networks/offers".into(),
            reason: "x".into(),
            maybe_delivered,
        };
        let status = |status| ApiError::Status {
            method: Method::POST,
            path: "/v1/networks/offers".into(),
            status,
            message: String::new(),
        };
        assert!(Retry::OnlyIfUndelivered.allows(&transport(false)));
        assert!(!Retry::OnlyIfUndelivered.allows(&transport(true)));
        assert!(Retry::OnlyIfUndelivered.allows(&status(429)));
        assert!(!Retry::OnlyIfUndelivered.allows(&status(500)));
        assert!(Retry::Idempotent.allows(&status(503)));
        assert!(Retry::Idempotent.allows(&transport(true)));
        assert!(!Retry::Idempotent.allows(&status(400)));
    }

    #[test]
    fn url_keeps_a_base_path_prefix() {
        let client = Client::new(
            &Url::parse("http://127.0.0.1:9/proxy/").unwrap(),
            Secret::new("k"),
            Api::Network,
            ClientOptions::default(),
        );
        assert_eq!(
            client.url("/v1/networks/offers").as_str(),
            "http://127.0.0.1:9/proxy/v1/networks/offers"
        );
    }
}
