//! What every `/v1` request goes through before (and after) its route handler.
//!
//! In order:
//! 1. latency (sleep);
//! 2. authentication: no `X-Eflow-API-Key` -> 401 `No Authentication Method
//!    Found`, unknown key -> 401 `invalid API key` (these count against nothing
//!    and carry no rate-limit headers: there is no customer to count them for);
//! 3. `burst_429` fault -> 429 (does not use up quota);
//! 4. the customer's rate-limit bucket -> 429 `Too Many Requests` when exhausted;
//! 5. realm: an Affiliate key on `/v1/networks/...` (or the reverse) -> 403 `Out of
//!    realm` (authentication.mdx); `/v1/advertisers` and `/v1/partners` have no keys here;
//!    then the concurrency cap of `/v1/networks/reporting/*` -> 429 (below);
//! 6. `error_rate` fault -> 500 `internal error`, before any effect;
//! 7. a body that is not JSON -> 400;
//! 8. the route, with the caller and the parsed body in request extensions;
//! 9. `drop_after_commit_rate` fault on a successful write (see `conn.rs`).
//!
//! Every response after step 2 carries `X-RateLimit-Limit`/`X-RateLimit-Remaining`
//! and no `Retry-After` (Everflow documents none). Every request is logged.
//!
//! "The `/v1/networks/reporting/*` endpoints allow a maximum of 10 concurrent
//! requests. Additional concurrent requests will return an error"
//! (rate-limiting.mdx). A reporting request holds one of 10 slots from its
//! arrival (before the latency sleep, which stands for the time it takes)
//! until its response; one that finds them all taken gets 429 `Too Many
//! Requests` (the docs name no status; 429 is their status for limits) and
//! takes none.
//!
//! Offerit (`/api/...`, [`offerit`]) goes through the same stages where Offerit has
//! them, answering with its envelope `{"result":"error","message":...}`:
//! 1. latency;
//! 2. authentication with the `api-key` and `api-username` headers (names are not
//!    case-sensitive): both must be the install's admin's. Missing or wrong -> 400
//!    (`api-key and api-username headers are required`, `invalid api-key or
//!    api-username`). The docs list only 200, 400, 404 and 405, and 400 is "invalid
//!    or unsupported request"; nothing documents a 401 or 403. The
//!    `ADMIN_API_ALLOWED_IPS` check is not simulated (everything is on loopback);
//! 3. no rate limit, no `burst_429`: Offerit documents no rate limits;
//! 4. `error_rate` fault -> 500 `internal error`, before any effect;
//! 5. a body that is not `application/x-www-form-urlencoded` -> 400; the form is
//!    decoded as PHP does (`form.rs`) and logged (`LoggedRequest::form`);
//! 6. the route, with the form in the request extensions ([`OfferitForm`]);
//! 7. `drop_after_commit_rate` on a successful write, as for `/v1`.
//!
//! The query string of an `/api` request is logged but not read: every endpoint
//! served takes its parameters in the body.

use std::sync::atomic::Ordering;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::conn::ConnHandle;
use super::error::{error_response, offerit_error_response};
use super::faults::Decision;
use super::form::{self, FormMap};
use super::log::{self, LoggedRequest};
use super::rate_limit::Verdict;
use super::{KeyOwner, Sandbox, lock};

/// Bodies above this are refused (temp uploads of base64 images are the largest).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// rate-limiting.mdx: at most 10 concurrent `/v1/networks/reporting/*` requests.
pub(crate) const MAX_CONCURRENT_REPORTS: usize = 10;

/// One of the reporting slots, given back when dropped.
struct ReportSlot(Sandbox);

impl ReportSlot {
    /// A slot for a reporting path: `None` for other paths, `Some(Err(()))`
    /// when all are taken.
    fn take(sb: &Sandbox, path: &str) -> Option<Result<ReportSlot, ()>> {
        if !path.starts_with("/v1/networks/reporting/") {
            return None;
        }
        let taken =
            sb.inner
                .reports_in_flight
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < MAX_CONCURRENT_REPORTS).then_some(n + 1)
                });
        Some(taken.map(|_| ReportSlot(sb.clone())).map_err(|_| ()))
    }
}

impl Drop for ReportSlot {
    fn drop(&mut self) {
        self.0
            .inner
            .reports_in_flight
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// The caller of a `/v1` request, for the routes.
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub KeyOwner);

/// The request body parsed as JSON (`None` when empty), for the routes.
#[derive(Clone, Debug)]
pub(crate) struct JsonBody(pub Option<Value>);

/// An Offerit request's decoded form body, for the routes.
#[derive(Clone, Debug)]
pub(crate) struct OfferitForm(pub FormMap);

fn api_key(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    // HeaderMap lookups are case-insensitive, as HTTP header names are; the docs
    // spell it both X-Eflow-API-Key and X-Eflow-Api-Key.
    header_text(headers, "x-eflow-api-key")
}

fn with_rate_headers(mut resp: Response, v: Verdict) -> Response {
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
    resp
}

/// Whether `owner`'s key may call `path`: `networks` needs the Network key,
/// `affiliates` an Affiliate key; `advertisers` and `partners` have no keys here;
/// anything else passes (and ends in a 404).
fn realm_allows(path: &str, owner: &KeyOwner) -> bool {
    let portal = path
        .trim_start_matches("/v1/")
        .split('/')
        .next()
        .unwrap_or("");
    match portal {
        "networks" => matches!(owner, KeyOwner::Network),
        "affiliates" => matches!(owner, KeyOwner::Affiliate { .. }),
        "advertisers" | "partners" => false,
        _ => true,
    }
}

/// The `/v1` middleware (see the module docs); other paths pass straight through.
pub(crate) async fn v1(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path != "/v1" && !path.starts_with("/v1/") {
        return next.run(req).await;
    }
    // Held until this function returns, i.e. until the response is made.
    let report_slot = ReportSlot::take(&sb, &path);
    sleep_latency(&sb).await;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await;
    let parsed: Result<Option<Value>, String> = match &bytes {
        Err(_) => Err("request body could not be read".to_owned()),
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(b) => serde_json::from_slice(b)
            .map(Some)
            .map_err(|e| format!("request body is not valid json: {e}")),
    };
    let mut entry = arrived(&parts, &path);
    entry.body = parsed.clone().ok().flatten();

    let owner = match api_key(&parts.headers) {
        None => {
            let resp = error_response(StatusCode::UNAUTHORIZED, "No Authentication Method Found");
            return finish(&sb, entry, resp);
        }
        Some(Err(())) => {
            return finish(
                &sb,
                entry,
                error_response(StatusCode::UNAUTHORIZED, "invalid API key"),
            );
        }
        Some(Ok(key)) => match sb.inner.keys.get(key) {
            Some(owner) => owner.clone(),
            None => {
                return finish(
                    &sb,
                    entry,
                    error_response(StatusCode::UNAUTHORIZED, "invalid API key"),
                );
            }
        },
    };
    let (bucket, limit) = match &owner {
        KeyOwner::Network => (sb.inner.network_bucket.clone(), sb.inner.network_limit),
        KeyOwner::Affiliate { network, .. } => {
            (format!("affiliate:{network}"), sb.inner.affiliate_limit)
        }
    };
    entry.bucket.clone_from(&bucket);
    let elapsed = sb.inner.epoch.elapsed();

    if lock(&sb.inner.faults).take_burst() {
        entry.fault = Some("burst_429".into());
        let v = Verdict {
            allowed: false,
            limit,
            remaining: 0,
        };
        let resp = error_response(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        return finish(&sb, entry, with_rate_headers(resp, v));
    }
    let verdict = lock(&sb.inner.limiter).check(&bucket, limit, elapsed);
    let respond = |entry, resp| finish(&sb, entry, with_rate_headers(resp, verdict));
    if !verdict.allowed {
        let resp = error_response(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        return respond(entry, resp);
    }
    if !realm_allows(&path, &owner) {
        return respond(entry, error_response(StatusCode::FORBIDDEN, "Out of realm"));
    }
    if let Some(Err(())) = report_slot {
        let message = format!(
            "Too Many Requests: at most {MAX_CONCURRENT_REPORTS} concurrent reporting requests"
        );
        let resp = error_response(StatusCode::TOO_MANY_REQUESTS, &message);
        return respond(entry, resp);
    }
    let Some(drop_if_write) = roll_faults(&sb, &mut entry) else {
        let resp = error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        return respond(entry, resp);
    };
    let body = match parsed {
        Ok(body) => body,
        Err(message) => {
            return respond(entry, error_response(StatusCode::BAD_REQUEST, &message));
        }
    };

    let mut req = Request::from_parts(parts, Body::from(bytes.unwrap_or_default()));
    req.extensions_mut().insert(Caller(owner));
    req.extensions_mut().insert(JsonBody(body));
    let resp = run_route(next, req, drop_if_write, &mut entry).await;
    respond(entry, resp)
}

// The stages both passes share: the latency sleep, the log entry, the fault roll and
// the route with its dropped connection. What they answer stays with each pass.

/// `latency`: the time a request takes, slept as it arrives.
async fn sleep_latency(sb: &Sandbox) {
    let latency = lock(&sb.inner.faults).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// The log entry of a request that has just arrived (no body, bucket, status or fault
/// yet).
fn arrived(parts: &Parts, path: &str) -> LoggedRequest {
    LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path: path.to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        bucket: String::new(),
        status: 0,
        is_write: log::is_write(parts.method.as_str(), path),
        body: None,
        form: None,
        fault: None,
    }
}

/// Logs `entry` with the status of `resp`, and returns `resp`.
fn finish(sb: &Sandbox, mut entry: LoggedRequest, resp: Response) -> Response {
    entry.status = resp.status().as_u16();
    lock(&sb.inner.log).push(entry);
    resp
}

/// The `error_rate` roll, before any effect: `None` for an injected 500 (noted in
/// `entry`; the caller answers it), else whether a successful write loses its
/// connection after the headers (`drop_after_commit_rate`).
fn roll_faults(sb: &Sandbox, entry: &mut LoggedRequest) -> Option<bool> {
    match lock(&sb.inner.faults).roll() {
        Decision::Error500 => {
            entry.fault = Some("error_500".into());
            None
        }
        Decision::Pass { drop_if_write } => Some(drop_if_write),
    }
}

/// Runs the route; when `drop_if_write`, a successful write's connection is cut after
/// its headers (see `conn.rs`) and `entry` says so.
async fn run_route(
    next: Next,
    req: Request,
    drop_if_write: bool,
    entry: &mut LoggedRequest,
) -> Response {
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());
    let resp = next.run(req).await;
    if drop_if_write
        && entry.is_write
        && resp.status().is_success()
        && let Some(conn) = conn
    {
        conn.cut_after_headers();
        entry.fault = Some("drop_after_commit".into());
    }
    resp
}

/// A header's value, trimmed; `None` when absent or blank, `Some(Err)` when not text.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<Result<&'a str, ()>> {
    match headers.get(name)?.to_str() {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(Ok(text.trim())),
        Err(_) => Some(Err(())),
    }
}

/// Whether the body is declared a form (or not declared: PHP reads it as one).
fn is_form(headers: &HeaderMap) -> bool {
    match headers.get(axum::http::header::CONTENT_TYPE) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|text| {
            text.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }),
    }
}

/// The `/api` (Offerit) middleware (see the module docs); other paths pass through.
pub(crate) async fn offerit(State(sb): State<Sandbox>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path != "/api" && !path.starts_with("/api/") {
        return next.run(req).await;
    }
    sleep_latency(&sb).await;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await;
    let empty = bytes
        .as_ref()
        .map_or(true, |b| b.iter().all(u8::is_ascii_whitespace));
    let decoded: Result<FormMap, &str> = match &bytes {
        Err(_) => Err("request body could not be read"),
        Ok(_) if !empty && !is_form(&parts.headers) => {
            Err("the request body must be application/x-www-form-urlencoded")
        }
        Ok(b) => Ok(form::decode(b)),
    };
    let mut entry = arrived(&parts, &path);
    entry.form = decoded.as_ref().ok().map(FormMap::to_json);
    let refuse =
        |entry, status, message: &str| finish(&sb, entry, offerit_error_response(status, message));

    let Some(admin) = &sb.inner.offerit_admin else {
        return refuse(
            entry,
            StatusCode::NOT_FOUND,
            "this sandbox has no Offerit install",
        );
    };
    let key = header_text(&parts.headers, "api-key");
    let username = header_text(&parts.headers, "api-username");
    let (Some(key), Some(username)) = (key, username) else {
        return refuse(
            entry,
            StatusCode::BAD_REQUEST,
            "api-key and api-username headers are required",
        );
    };
    if key != Ok(admin.api_key.as_str()) || username != Ok(admin.api_username.as_str()) {
        return refuse(
            entry,
            StatusCode::BAD_REQUEST,
            "invalid api-key or api-username",
        );
    }
    let Some(drop_if_write) = roll_faults(&sb, &mut entry) else {
        return refuse(entry, StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    let form = match decoded {
        Ok(form) => form,
        Err(message) => return refuse(entry, StatusCode::BAD_REQUEST, message),
    };

    let mut req = Request::from_parts(parts, Body::empty());
    req.extensions_mut().insert(OfferitForm(form));
    let resp = run_route(next, req, drop_if_write, &mut entry).await;
    finish(&sb, entry, resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_content_types() {
        let mut h = HeaderMap::new();
        assert!(is_form(&h));
        h.insert(
            "content-type",
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&h));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        assert!(!is_form(&h));
    }

    #[test]
    fn offerit_headers_blank_is_missing() {
        let mut h = HeaderMap::new();
        assert!(header_text(&h, "api-key").is_none());
        h.insert("API-Key", HeaderValue::from_static(" "));
        assert!(header_text(&h, "api-key").is_none());
        h.insert("Api-Username", HeaderValue::from_static(" admin "));
        assert_eq!(header_text(&h, "api-username"), Some(Ok("admin")));
    }

    #[test]
    fn realms_follow_the_path_prefix() {
        let aff = KeyOwner::Affiliate {
            network: "trimrx".into(),
            affiliate_id: 42,
        };
        assert!(realm_allows("/v1/networks/offers", &KeyOwner::Network));
        assert!(!realm_allows("/v1/networks/offers", &aff));
        assert!(realm_allows("/v1/affiliates/offersrunnable", &aff));
        assert!(!realm_allows(
            "/v1/affiliates/offersrunnable",
            &KeyOwner::Network
        ));
        assert!(!realm_allows("/v1/advertisers/offers", &KeyOwner::Network));
        assert!(realm_allows("/v1/unknown", &aff));
    }

    #[test]
    fn api_key_header_blank_is_missing() {
        let mut h = HeaderMap::new();
        assert!(api_key(&h).is_none());
        h.insert("X-Eflow-Api-Key", HeaderValue::from_static("  "));
        assert!(api_key(&h).is_none());
        h.insert("x-eflow-api-key", HeaderValue::from_static("abc"));
        assert_eq!(api_key(&h), Some(Ok("abc")));
    }
}
