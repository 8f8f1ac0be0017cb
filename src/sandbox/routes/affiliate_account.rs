//! Affiliate API account: `GET /v1/affiliates/settings`.
//!
//! ISCALE reads `network_affiliate_id` from it; the other keys are the basic
//! affiliate fields of relationships.mdx (`network_affiliate_id, network_id,
//! name, account_status`). Nothing else is documented, so nothing else is sent.

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::{Caller, source_affiliate};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/v1/affiliates/settings", get(settings))
}

async fn settings(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let world = sb.world();
    let source = world
        .sources
        .get(network)
        .ok_or_else(|| ApiError::not_found("not found"))?;
    let name = source
        .affiliate_name_of(affiliate)
        .ok_or_else(|| ApiError::not_found("not found"))?;
    Ok(Json(json!({
        "network_affiliate_id": affiliate,
        "network_id": source.network_id,
        "name": name,
        "account_status": "active",
    })))
}
