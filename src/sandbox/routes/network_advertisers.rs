//! Network API advertisers: `GET /v1/networks/advertisers/{id}` in the shape of
//! the LEGACY advertisers sample (including `verification_token`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::super::Sandbox;
use super::super::error::ApiError;
use super::{Caller, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/v1/networks/advertisers/{advertiser_id}", get(advertiser))
}

async fn advertiser(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "advertiser")?;
    sb.world()
        .destination
        .advertiser_json(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("advertiser {id} not found")))
}
