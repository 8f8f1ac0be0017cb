//! Network API tracking links: `POST /v1/networks/tracking/offers/clicks`
//! (tracking.yaml, seed 004). It creates nothing, so the request log counts it
//! as a read (`log.rs`). The rules live in `world/tracking_links.rs`.

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::super::Sandbox;
use super::super::error::ApiError;
use super::{Caller, JsonBody, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/v1/networks/tracking/offers/clicks", post(clicks))
}

async fn clicks(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    sb.world()
        .destination
        .tracking_link(body.as_ref())
        .map(Json)
}
