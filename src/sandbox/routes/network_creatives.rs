//! Network API creatives (creatives.yaml, LIVE): `POST /v1/networks/creatives`,
//! the list `GET /v1/networks/creatives` (`{creatives, paging}`), and
//! `GET`/`PUT /v1/networks/creatives/{id}`. The rules live in
//! `world/creatives.rs`.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{DEFAULT_PAGE_SIZE, QueryParams};
use super::super::world::creatives::parse_creative_body;
use super::{Caller, JsonBody, list_body, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/creatives", get(list).post(create))
        .route(
            "/v1/networks/creatives/{creative_id}",
            get(one).put(replace),
        )
}

fn creative_json(sb: &Sandbox, id: u64) -> Result<Json<Value>, ApiError> {
    let world = sb.world();
    let d = &world.destination;
    d.creatives
        .get(id)
        .map(|c| Json(d.creative_json(c)))
        .ok_or_else(|| ApiError::no_such("creative", id))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let (input, file) = parse_creative_body(body.as_ref(), None)?;
    let id = {
        let mut world = sb.world();
        let world = &mut *world;
        world
            .destination
            .create_creative(input, file.as_ref(), &mut world.clock)?
    };
    creative_json(&sb, id)
}

async fn replace(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "creative")?;
    {
        let mut world = sb.world();
        let world = &mut *world;
        if world.destination.creatives.get(id).is_none() {
            return Err(ApiError::no_such("creative", id));
        }
        let (input, file) = parse_creative_body(body.as_ref(), Some(id))?;
        world
            .destination
            .replace_creative(id, input, file.as_ref(), &mut world.clock)?;
    }
    creative_json(&sb, id)
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    creative_json(&sb, path_id(&raw, "creative")?)
}

/// The facts file infers `filter=network_offer_id`; the other scalar fields
/// of the creatives table search are allowed too.
const FILTERABLE: &[&str] = &[
    "network_offer_id",
    "network_offer_creative_id",
    "creative_type",
    "creative_status",
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
    let world = sb.world();
    let d = &world.destination;
    let creatives = d.creatives.values().map(|c| d.creative_json(c)).collect();
    list_body("creatives", &q, creatives, FILTERABLE, DEFAULT_PAGE_SIZE).map(Json)
}
