//! The HTTP routes, one file per route family, and the helpers they share.
//!
//! Adding a family: write `routes/<family>.rs` with `pub(super) fn routes() ->
//! Router<Sandbox>`, merge it below. Handlers get the caller and the parsed JSON
//! body from the pipeline as [`Caller`] and [`JsonBody`] extensions, parse path
//! ids with [`path_id`] and queries with `QueryParams`, and return
//! `Result<Json<Value>, ApiError>` so every error is `{"Error": ...}`.

mod affiliate_account;
mod affiliate_offers;
mod affiliate_pixels;
mod control;
mod meta;
mod network_account;
mod network_advertisers;
mod network_creatives;
mod network_custom_payouts;
mod network_offer_patch;
mod network_offer_urls;
mod network_offers;
mod network_pixels;
mod network_reporting;
mod network_tracking;
mod network_uploads;
mod offerit;
mod web;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{ApiError, error_response};
use super::pipeline;
pub(crate) use super::pipeline::{Caller, JsonBody};
use super::query::{Filter, Paging, QueryParams};
use super::{KeyOwner, Sandbox};

/// The whole app: `/v1` families and the Offerit `/api` behind their pipelines,
/// `/_sandbox` control routes.
pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(affiliate_offers::routes())
        .merge(affiliate_account::routes())
        .merge(affiliate_pixels::routes())
        .merge(network_offers::routes())
        .merge(network_advertisers::routes())
        .merge(network_account::routes())
        .merge(network_offer_urls::routes())
        .merge(network_creatives::routes())
        .merge(network_custom_payouts::routes())
        .merge(network_offer_patch::routes())
        .merge(network_uploads::routes())
        .merge(network_tracking::routes())
        .merge(network_pixels::routes())
        .merge(network_reporting::routes())
        .merge(offerit::routes())
        .merge(meta::routes())
        .merge(control::routes())
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // `layer` (not `route_layer`) so unknown `/v1` paths are authenticated,
        // counted and logged like real ones before their 404.
        .layer(from_fn_with_state(sandbox.clone(), pipeline::v1))
        .layer(from_fn_with_state(sandbox.clone(), pipeline::offerit))
        .with_state(sandbox)
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "not found")
}

async fn method_not_allowed() -> Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Parses a numeric path segment; anything else is a 404 like an unknown id.
pub(crate) fn path_id(raw: &str, what: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| ApiError::no_such(what, raw))
}

/// The source network and the affiliate id of an Affiliate API caller (the
/// pipeline already checked the realm; this keeps the handlers total).
pub(crate) fn source_affiliate(caller: &Caller) -> Result<(&str, u64), ApiError> {
    match &caller.0 {
        KeyOwner::Affiliate {
            network,
            affiliate_id,
        } => Ok((network, *affiliate_id)),
        KeyOwner::Network => Err(ApiError::forbidden()),
    }
}

/// Rejects Affiliate API callers on Network API handlers (see [`source_affiliate`]).
pub(crate) fn require_network(caller: &Caller) -> Result<(), ApiError> {
    match caller.0 {
        KeyOwner::Network => Ok(()),
        KeyOwner::Affiliate { .. } => Err(ApiError::forbidden()),
    }
}

/// A list response body `{<key>: [...], paging}`: `items` (JSON objects)
/// through every `filter=` (each must name one of `filterable`, api-filters.mdx)
/// and then paging, whose page size defaults to `default_page_size`.
pub(crate) fn list_body(
    key: &str,
    q: &QueryParams,
    items: Vec<Value>,
    filterable: &[&str],
    default_page_size: u64,
) -> Result<Value, ApiError> {
    let paging = Paging::from_query_or(q, default_page_size)?;
    let filters = Filter::all_from(q)?;
    if let Some(f) = filters
        .iter()
        .find(|f| !filterable.contains(&f.field.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unsupported filter field {} (filterable: {})",
            f.field,
            filterable.join(", ")
        )));
    }
    let mut kept = Vec::with_capacity(items.len());
    'items: for item in items {
        for f in &filters {
            if !f.matches(item.get(&f.field).unwrap_or(&Value::Null))? {
                continue 'items;
            }
        }
        kept.push(item);
    }
    let (page, paging) = paging.apply(kept);
    Ok(json!({ key: page, "paging": paging }))
}
