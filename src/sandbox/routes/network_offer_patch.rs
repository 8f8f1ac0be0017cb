//! Network API offer edits outside the offer PUT: the bulk edit
//! `PATCH /v1/networks/patch/offers/apply`, its dry run
//! `POST /v1/networks/patch/offers/submit` (a read), and ISCALE's
//! undocumented `PUT /v1/networks/offers/{id}/targeting`. The rules live in
//! `world/bulk_patch.rs` and `world/targeting.rs`.

use axum::extract::{Path, State};
use axum::routing::{patch, post, put};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::world::bulk_patch::parse_patch;
use super::{Caller, JsonBody, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/patch/offers/apply", patch(apply))
        .route("/v1/networks/patch/offers/submit", post(submit))
        .route("/v1/networks/offers/{offer_id}/targeting", put(targeting))
}

/// LIVE: `{"result": true}`.
async fn apply(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let p = parse_patch(body.as_ref())?;
    let mut world = sb.world();
    let world = &mut *world;
    world.destination.patch_offers(&p, &mut world.clock)?;
    Ok(Json(json!({ "result": true })))
}

async fn submit(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let p = parse_patch(body.as_ref())?;
    Ok(Json(sb.world().destination.preview_patch(&p)))
}

/// No document shows this endpoint's answer. The sandbox answers like the
/// bulk PATCH it stands beside (`{"result": true}`) rather than echoing the
/// targeting, which would contradict the quirk that targeting is not read back.
async fn targeting(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "offer")?;
    sb.world().destination.put_targeting(id, body.as_ref())?;
    Ok(Json(json!({ "result": true })))
}
