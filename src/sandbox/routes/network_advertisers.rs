//! Network API advertisers: `GET /v1/networks/advertisers/{id}` and the list
//! `GET /v1/networks/advertisers` (`{advertisers, paging}` with `filter=`) in
//! the shape of the LEGACY advertisers sample (including
//! `verification_token`), and the bulk edit
//! `PATCH /v1/networks/patch/advertiser/apply` with its dry run
//! `POST /v1/networks/patch/advertiser/submit` (a read). The rules of the
//! bulk edit live in `world/advertiser_patch.rs`.
//!
//! SNAP's advertisers.yaml answers the list with a bare array; the LEGACY
//! sample, which the sandbox follows, wraps it like every other list.

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{DEFAULT_PAGE_SIZE, QueryParams};
use super::super::world::advertiser_patch::parse_advertiser_patch;
use super::{Caller, JsonBody, list_body, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/advertisers", get(list))
        .route("/v1/networks/advertisers/{advertiser_id}", get(advertiser))
        .route("/v1/networks/patch/advertiser/apply", patch(apply))
        .route("/v1/networks/patch/advertiser/submit", post(submit))
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
        .ok_or_else(|| ApiError::no_such("advertiser", id))
}

/// Fields of the LEGACY sample a `filter=` may name.
const FILTERABLE: &[&str] = &[
    "network_advertiser_id",
    "name",
    "account_status",
    "network_employee_id",
    "sales_manager_id",
    "default_currency_id",
    "verification_token",
    "time_created",
    "time_saved",
];

async fn list(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let q = QueryParams::parse(query.as_deref());
    let advertisers = sb.world().destination.advertisers_json();
    list_body(
        "advertisers",
        &q,
        advertisers,
        FILTERABLE,
        DEFAULT_PAGE_SIZE,
    )
    .map(Json)
}

/// `{"result": true}`, like the offers bulk edit (LIVE).
async fn apply(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let p = parse_advertiser_patch(body.as_ref())?;
    let mut world = sb.world();
    let world = &mut *world;
    world.destination.patch_advertisers(&p, &mut world.clock)?;
    Ok(Json(json!({ "result": true })))
}

async fn submit(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let p = parse_advertiser_patch(body.as_ref())?;
    Ok(Json(sb.world().destination.preview_advertiser_patch(&p)))
}
