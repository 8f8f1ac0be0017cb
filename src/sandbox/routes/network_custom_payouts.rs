//! Network API custom payout/revenue settings (LIVE):
//! `POST /v1/networks/custom/payoutrevenue`, the list
//! `GET /v1/networks/custom/payoutrevenue` (`{custom_payout_revenue_settings,
//! paging}`), and `GET`/`PUT`/`DELETE /v1/networks/custom/payoutrevenue/{id}`.
//! The rules live in `world/custom_payouts.rs`.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{DEFAULT_PAGE_SIZE, QueryParams};
use super::super::world::custom_payouts::parse_rule_body;
use super::{Caller, JsonBody, list_body, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/custom/payoutrevenue", get(list).post(create))
        .route(
            "/v1/networks/custom/payoutrevenue/{setting_id}",
            get(one).put(replace).delete(remove),
        )
}

const WHAT: &str = "custom payout/revenue setting";

fn rule_json(sb: &Sandbox, id: u64) -> Result<Json<Value>, ApiError> {
    let world = sb.world();
    let d = &world.destination;
    d.payout_rules
        .get(id)
        .map(|r| Json(d.rule_json(r)))
        .ok_or_else(|| ApiError::no_such(WHAT, id))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let input = parse_rule_body(body.as_ref(), None)?;
    let id = {
        let mut world = sb.world();
        let world = &mut *world;
        world.destination.create_rule(input, &mut world.clock)?
    };
    rule_json(&sb, id)
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
        if world.destination.payout_rules.get(id).is_none() {
            return Err(ApiError::no_such(WHAT, id));
        }
        let input = parse_rule_body(body.as_ref(), Some(id))?;
        world
            .destination
            .replace_rule(id, input, &mut world.clock)?;
    }
    rule_json(&sb, id)
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    rule_json(&sb, path_id(&raw, WHAT)?)
}

/// custom-payout-revenue.yaml: DELETE answers `{"result": true}`.
async fn remove(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, WHAT)?;
    sb.world().destination.delete_rule(id)?;
    Ok(Json(json!({ "result": true })))
}

const FILTERABLE: &[&str] = &[
    "network_offer_id",
    "network_offer_payout_revenue_id",
    "custom_setting_status",
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
    let rules = d.payout_rules.values().map(|r| d.rule_json(r)).collect();
    list_body(
        "custom_payout_revenue_settings",
        &q,
        rules,
        FILTERABLE,
        DEFAULT_PAGE_SIZE,
    )
    .map(Json)
}
