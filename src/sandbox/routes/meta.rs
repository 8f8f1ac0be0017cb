//! Metadata: `GET /v1/meta/countries` (LEGACY metadata/countries, LIVE
//! get-metacountries): `{"countries": [{country_id, country_code,
//! country_name}]}`, no paging.
//!
//! Only countries whose ids some document shows are listed (see
//! `world/targeting.rs`): the sandbox does not invent ids. The path is under
//! no portal, so any valid key may call it (the pipeline's realm check passes
//! `/v1/meta`); it counts against the caller's own rate-limit bucket.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::world::targeting::KNOWN_COUNTRIES;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/v1/meta/countries", get(countries))
}

async fn countries() -> Json<Value> {
    let countries: Vec<Value> = KNOWN_COUNTRIES
        .iter()
        .map(|(id, code, name)| {
            json!({"country_id": id, "country_code": code, "country_name": name})
        })
        .collect();
    Json(json!({ "countries": countries }))
}
