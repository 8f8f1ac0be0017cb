//! Affiliate API offers (affiliate-offers.yaml): `GET /v1/affiliates/offersrunnable`,
//! `GET /v1/affiliates/offers/{id}` and `GET /v1/affiliates/offers/{id}/url/{urlId}`,
//! each as the calling affiliate sees them (see `Source::view_for`).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{Paging, QueryParams};
use super::{Caller, path_id, source_affiliate};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/affiliates/offersrunnable", get(runnable))
        .route("/v1/affiliates/offers/{offer_id}", get(offer))
        .route("/v1/affiliates/offers/{offer_id}/url/{url_id}", get(url))
}

/// Offers we may run: public ones and those we are approved for.
async fn runnable(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let q = QueryParams::parse(raw.as_deref());
    let paging = Paging::from_query(&q)?;
    let search = q.get("search").unwrap_or("");
    let world = sb.world();
    let offers: Vec<Value> = world
        .sources
        .get(network)
        .into_iter()
        .flat_map(|s| {
            s.offers
                .values()
                .filter(move |o| s.runnable_by(o, affiliate) && o.matches_search(search))
                .map(move |o| Value::Object(s.view_for(o, affiliate)))
        })
        .collect();
    let (offers, paging) = paging.apply(offers);
    Ok(Json(json!({ "offers": offers, "paging": paging })))
}

/// One offer as we see it; 404 when it does not exist or is not visible to us.
async fn offer(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(offer_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let id = path_id(&offer_id, "offer")?;
    let world = sb.world();
    let source = world.sources.get(network);
    let view = source
        .and_then(|s| Some(s.view_for(s.visible_offer(id, affiliate)?, affiliate)))
        .ok_or_else(|| ApiError::no_such("offer", id))?;
    Ok(Json(Value::Object(view)))
}

/// The tracking link as `{"url": ...}` (LIVE and ISCALE; SNAP's `tracking_url`
/// key is outdated per the facts file).
async fn url(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path((offer_id, url_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (network, affiliate) = source_affiliate(&caller)?;
    let offer_id = path_id(&offer_id, "offer")?;
    let url_id = path_id(&url_id, "offer url")?;
    let world = sb.world();
    let source = world
        .sources
        .get(network)
        .ok_or_else(|| ApiError::no_such("offer", offer_id))?;
    let link = source.tracking_link(offer_id, url_id, affiliate)?;
    Ok(Json(json!({ "url": link })))
}
