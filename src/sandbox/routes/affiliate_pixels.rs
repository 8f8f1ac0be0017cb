//! Affiliate API postbacks (affiliate-postbacks.yaml, LIVE, LEGACY):
//! `GET`/`POST /v1/affiliates/pixels` and `GET`/`PUT /v1/affiliates/pixels/{id}`,
//! each for the calling affiliate's own postbacks. The rules live in
//! `world/pixels.rs` and `world/affiliate_pixels.rs`.
//!
//! The list is `{"pixels": [...]}` without paging (the LEGACY example shows
//! none). It takes LIVE's plain query filters `network_offer_id`,
//! `pixel_status`, `pixel_type` (and `delivery_method`, which
//! affiliate-postbacks.yaml adds), and LEGACY's `filter=` on the fields LEGACY
//! lists; values outside a field's enum are a 400 rather than an empty list.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{Filter, QueryParams};
use super::super::world::pixels::{
    DELIVERY_METHODS, PIXEL_STATUS, PIXEL_TYPES, Side, parse_pixel_body,
};
use super::{Caller, JsonBody, path_id, source_affiliate};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/affiliates/pixels", get(list).post(create))
        .route("/v1/affiliates/pixels/{pixel_id}", get(one).put(replace))
}

const WHAT: &str = "postback";

fn pixel_json(
    sb: &Sandbox,
    network: &str,
    affiliate: u64,
    id: u64,
) -> Result<Json<Value>, ApiError> {
    let world = sb.world();
    world
        .sources
        .get(network)
        .and_then(|s| Some(s.pixel_json(s.own_pixel(affiliate, id)?)))
        .map(Json)
        .ok_or_else(|| ApiError::no_such(WHAT, id))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let input = parse_pixel_body(body.as_ref(), Side::Affiliate, None)?;
    let id = {
        let mut world = sb.world();
        let world = &mut *world;
        let source = world
            .sources
            .get_mut(network)
            .ok_or_else(|| ApiError::not_found("not found"))?;
        source.create_pixel(affiliate, input, &mut world.clock)?
    };
    pixel_json(&sb, network, affiliate, id)
}

async fn replace(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let id = path_id(&raw, WHAT)?;
    {
        let mut world = sb.world();
        let world = &mut *world;
        let source = world
            .sources
            .get_mut(network)
            .filter(|s| s.own_pixel(affiliate, id).is_some())
            .ok_or_else(|| ApiError::no_such(WHAT, id))?;
        let input = parse_pixel_body(body.as_ref(), Side::Affiliate, Some(id))?;
        source.replace_pixel(affiliate, id, input, &mut world.clock)?;
    }
    pixel_json(&sb, network, affiliate, id)
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    pixel_json(&sb, network, affiliate, path_id(&raw, WHAT)?)
}

/// LEGACY's filterable fields.
const FILTERABLE: &[&str] = &[
    "network_offer_id",
    "network_affiliate_id",
    "network_offer_payout_revenue_id",
    "pixel_status",
    "pixel_type",
    "delivery_method",
    "time_created",
    "time_saved",
];

/// The plain query filters as `filter=` equalities, checked.
fn plain_filters(q: &QueryParams) -> Result<Vec<Filter>, ApiError> {
    let mut out = Vec::new();
    if let Some(v) = q.get("network_offer_id") {
        if v.trim().parse::<u64>().is_err() {
            return Err(ApiError::bad_request(
                "network_offer_id must be a non-negative integer",
            ));
        }
        out.push(format!("network_offer_id={}", v.trim()));
    }
    for (k, allowed) in [
        ("pixel_status", PIXEL_STATUS),
        ("pixel_type", PIXEL_TYPES),
        ("delivery_method", DELIVERY_METHODS),
    ] {
        if let Some(v) = q.get(k) {
            if !allowed.contains(&v) {
                return Err(ApiError::bad_request(format!(
                    "{k} must be one of {}",
                    allowed.join(", ")
                )));
            }
            out.push(format!("{k}={v}"));
        }
    }
    out.iter().map(|s| s.parse()).collect()
}

async fn list(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let q = QueryParams::parse(query.as_deref());
    let mut filters = plain_filters(&q)?;
    let legacy = Filter::all_from(&q)?;
    if let Some(f) = legacy
        .iter()
        .find(|f| !FILTERABLE.contains(&f.field.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unsupported filter field {} (filterable: {})",
            f.field,
            FILTERABLE.join(", ")
        )));
    }
    filters.extend(legacy);
    let all = sb
        .world()
        .sources
        .get(network)
        .map(|s| s.pixels_of(affiliate))
        .unwrap_or_default();
    let mut pixels = Vec::with_capacity(all.len());
    'pixels: for p in all {
        for f in &filters {
            if !f.matches(p.get(&f.field).unwrap_or(&Value::Null))? {
                continue 'pixels;
            }
        }
        pixels.push(p);
    }
    Ok(Json(json!({ "pixels": pixels })))
}
