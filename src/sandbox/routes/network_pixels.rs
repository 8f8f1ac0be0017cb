//! Network API partner postbacks (seed 001, LIVE,
//! partner-postbacks-extras.yaml): `GET`/`POST /v1/networks/pixels` (the list
//! is paged: `{pixels, paging}` with `filter=`), `GET`/`PUT`/`DELETE
//! /v1/networks/pixels/{id}`, and the search `POST /v1/networks/pixelstable`
//! (a read despite the POST; `page`/`page_size` in the query, the filters in
//! the body). The rules live in `world/pixels.rs` and
//! `world/partner_pixels.rs`.
//!
//! SNAP's partner-postbacks.yaml describes another object (`pixel_code`,
//! `fire_on`) that LIVE and the seed contradict; the sandbox follows LIVE.

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{DEFAULT_PAGE_SIZE, Paging, QueryParams};
use super::super::world::partner_pixels::parse_pixel_query;
use super::super::world::pixels::{Side, parse_pixel_body};
use super::{Caller, JsonBody, list_body, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/pixels", get(list).post(create))
        .route(
            "/v1/networks/pixels/{pixel_id}",
            get(one).put(replace).delete(remove),
        )
        .route("/v1/networks/pixelstable", post(table))
}

const WHAT: &str = "postback";

fn pixel_json(sb: &Sandbox, id: u64) -> Result<Json<Value>, ApiError> {
    let world = sb.world();
    let d = &world.destination;
    d.pixels
        .get(id)
        .map(|p| Json(d.partner_pixel_json(p)))
        .ok_or_else(|| ApiError::no_such(WHAT, id))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let input = parse_pixel_body(body.as_ref(), Side::Partner, None)?;
    let id = {
        let mut world = sb.world();
        let world = &mut *world;
        world
            .destination
            .create_partner_pixel(input, &mut world.clock)?
    };
    pixel_json(&sb, id)
}

async fn replace(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, WHAT)?;
    {
        let mut world = sb.world();
        let world = &mut *world;
        // An unknown id is a 404 whatever the body says.
        if world.destination.pixels.get(id).is_none() {
            return Err(ApiError::no_such(WHAT, id));
        }
        let input = parse_pixel_body(body.as_ref(), Side::Partner, Some(id))?;
        world
            .destination
            .replace_partner_pixel(id, input, &mut world.clock)?;
    }
    pixel_json(&sb, id)
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    pixel_json(&sb, path_id(&raw, WHAT)?)
}

/// partner-postbacks-extras.yaml: `{"result": true}`.
async fn remove(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, WHAT)?;
    sb.world().destination.delete_partner_pixel(id)?;
    Ok(Json(json!({ "result": true })))
}

/// The object's fields a `filter=` may name.
const FILTERABLE: &[&str] = &[
    "network_pixel_id",
    "network_affiliate_id",
    "network_offer_id",
    "network_offer_payout_revenue_id",
    "delivery_method",
    "pixel_level",
    "pixel_status",
    "pixel_type",
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
    let pixels = d.pixels.values().map(|p| d.partner_pixel_json(p)).collect();
    list_body("pixels", &q, pixels, FILTERABLE, DEFAULT_PAGE_SIZE).map(Json)
}

async fn table(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let q = QueryParams::parse(query.as_deref());
    let paging = Paging::from_query(&q)?;
    let search = parse_pixel_query(body.as_ref())?;
    let rows = sb.world().destination.partner_pixel_rows(&search);
    let (rows, paging) = paging.apply(rows);
    Ok(Json(json!({ "pixels": rows, "paging": paging })))
}
