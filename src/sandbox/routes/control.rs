//! Control endpoints under `/_sandbox` (not Everflow's): no auth, no rate limit,
//! not logged. They let a demo, a test or an operator rehearsing a change read
//! the request log, set faults and make source-side changes.
//!
//! - `GET /_sandbox/requests`: the log; `DELETE /_sandbox/requests`: empty it (204).
//! - `GET`/`PUT /_sandbox/faults`: `{error_rate, drop_after_commit_rate, burst_429,
//!   latency_ms}` (PUT replaces all four; omitted ones become 0).
//! - `PATCH /_sandbox/sources/{network}/offers/{id}/payouts/{entry_name}` with
//!   `{"payout_amount": 300}` and/or `{"payout_percentage": 30}`: returns the entry.
//! - `GET /_sandbox/offerit`: the Offerit install as JSON (advertisers, goals, offers
//!   with the fields they were sent, landing pages; see [`Sandbox::offerit`]), since
//!   Offerit itself has no endpoint that reads an offer back. 404 without an install.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::error::{ApiError, SandboxError};
use super::super::faults::Faults;
use super::super::money;
use super::super::{LoggedRequest, Sandbox, lock};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/requests", get(requests).delete(clear_requests))
        .route("/_sandbox/faults", get(faults).put(set_faults))
        .route("/_sandbox/offerit", get(offerit))
        .route(
            "/_sandbox/sources/{network}/offers/{offer_id}/payouts/{entry_name}",
            patch(set_payout),
        )
}

async fn requests(State(sb): State<Sandbox>) -> Json<Vec<LoggedRequest>> {
    Json(sb.requests())
}

async fn clear_requests(State(sb): State<Sandbox>) -> StatusCode {
    sb.clear_requests();
    StatusCode::NO_CONTENT
}

async fn offerit(State(sb): State<Sandbox>) -> Result<Json<Value>, ApiError> {
    sb.offerit()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("this sandbox has no Offerit install"))
}

/// Faults plus latency, as the control API reads and writes them.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FaultSettings {
    error_rate: f64,
    drop_after_commit_rate: f64,
    burst_429: u32,
    latency_ms: u64,
}

fn current(sb: &Sandbox) -> FaultSettings {
    let state = lock(&sb.inner.faults);
    let f = state.faults();
    FaultSettings {
        error_rate: f.error_rate,
        drop_after_commit_rate: f.drop_after_commit_rate,
        burst_429: f.burst_429,
        latency_ms: u64::try_from(state.latency.as_millis()).unwrap_or(u64::MAX),
    }
}

async fn faults(State(sb): State<Sandbox>) -> Json<FaultSettings> {
    Json(current(&sb))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

async fn set_faults(
    State(sb): State<Sandbox>,
    body: Bytes,
) -> Result<Json<FaultSettings>, ApiError> {
    let s: FaultSettings = parse(&body)?;
    let f = Faults {
        error_rate: s.error_rate,
        drop_after_commit_rate: s.drop_after_commit_rate,
        burst_429: s.burst_429,
    };
    if let Some(problem) = f.problem() {
        return Err(ApiError::bad_request(problem));
    }
    sb.set_faults(f);
    sb.set_latency(Duration::from_millis(s.latency_ms));
    Ok(Json(current(&sb)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayoutChange {
    #[serde(default)]
    payout_amount: Option<Value>,
    #[serde(default)]
    payout_percentage: Option<Value>,
}

async fn set_payout(
    State(sb): State<Sandbox>,
    Path((network, offer_id, entry_name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let change: PayoutChange = parse(&body)?;
    let decimal = |v: Option<Value>, name: &str| -> Result<Option<Decimal>, ApiError> {
        v.map(|v| {
            money::parse(&v)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a number")))
        })
        .transpose()
    };
    let amount = decimal(change.payout_amount, "payout_amount")?;
    let percentage = decimal(change.payout_percentage, "payout_percentage")?;
    if amount.is_none() && percentage.is_none() {
        return Err(ApiError::bad_request(
            "payout_amount or payout_percentage is required",
        ));
    }
    let offer_id = offer_id
        .parse::<u64>()
        .map_err(|_| ApiError::no_such("offer", offer_id))?;
    sb.world()
        .source_payout_mut(&network, offer_id, &entry_name, amount, percentage)
        .map(Json)
        .map_err(|e| match e {
            SandboxError::NegativePayout(_) => ApiError::bad_request(e.to_string()),
            _ => ApiError::not_found(e.to_string()),
        })
}
