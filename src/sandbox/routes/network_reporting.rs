//! Network API postback reports (seed 002): `POST
//! /v1/networks/reporting/affiliate/pixels` answers `{"pixels": [rows]}`, at
//! most 1000; `POST /v1/networks/reporting/affiliate/pixels/export` takes the
//! same body plus `format` and streams every row, as CSV with a header line or
//! as newline-delimited JSON. Both are reads (`log.rs`), and the pipeline
//! holds `/v1/networks/reporting/*` to 10 requests at a time. The rows come
//! from the synthetic delivery log of `world/delivery_log.rs`.
//!
//! Seed 002: "If there are more than 1000 postbacks for the period / filters
//! requested, they will not be returned". Whether that means none or only the
//! ones past 1000 is not said; the sandbox returns the first 1000 in timestamp
//! order, so a client that ignores the cap silently misses rows (and a test of
//! it sees exactly 1000), which is what the export is documented to avoid.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::json;

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::world::delivery_log::{Format, REPORT_CAP, export_body, parse_report};
use super::{Caller, JsonBody, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/reporting/affiliate/pixels", post(report))
        .route(
            "/v1/networks/reporting/affiliate/pixels/export",
            post(export),
        )
}

async fn report(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Response, ApiError> {
    require_network(&caller)?;
    let q = parse_report(body.as_ref(), false)?;
    let world = sb.world();
    let rows = world
        .destination
        .delivery_rows(&q, world.postback_volume, Some(REPORT_CAP));
    Ok(Json(json!({ "pixels": rows })).into_response())
}

/// Newline-delimited JSON is not `application/json`; the docs name no media
/// type, so the sandbox uses the common `application/x-ndjson`.
async fn export(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Response, ApiError> {
    require_network(&caller)?;
    let q = parse_report(body.as_ref(), true)?;
    let format = q.format.unwrap_or(Format::Json);
    let text = {
        let world = sb.world();
        let rows = world
            .destination
            .delivery_rows(&q, world.postback_volume, None);
        export_body(&rows, format)
    };
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Json => "application/x-ndjson",
    };
    Ok(([(CONTENT_TYPE, content_type)], text).into_response())
}
