//! Network API account: `GET /v1/networks/settings` and the tracking domains
//! `GET /v1/networks/domains/tracking` (developers.everflow.io tracking-domains.yaml:
//! `{"domains": [...]}`, no paging).

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::{Caller, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/settings", get(settings))
        .route("/v1/networks/domains/tracking", get(tracking_domains))
}

/// ISCALE reads only `network_id` here; nothing else is documented.
async fn settings(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let network_id = sb.world().destination.network_id;
    Ok(Json(json!({ "network_id": network_id })))
}

async fn tracking_domains(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let world = sb.world();
    let domains: Vec<Value> = world
        .destination
        .tracking_domains
        .values()
        .cloned()
        .map(Value::Object)
        .collect();
    Ok(Json(json!({ "domains": domains })))
}
