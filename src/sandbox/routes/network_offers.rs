//! Network API offers (offers.yaml): create `POST /v1/networks/offers`, full
//! replacement `PUT /v1/networks/offers/{id}`, `GET /v1/networks/offers/{id}`
//! with `relationship=`, the list `GET /v1/networks/offers` with `filter=`, and
//! the search `POST /v1/networks/offerstable` (a read despite the POST).

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::{Filter, Paging, QueryParams};
use super::super::world::offer_fields::{self, FIELDS};
use super::super::world::{DestOffer, Destination, Relationships, links};
use super::{Caller, JsonBody, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/offers", get(list).post(create))
        .route("/v1/networks/offers/{offer_id}", get(one).put(replace))
        .route("/v1/networks/offerstable", post(table))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let input = offer_fields::parse_offer_body(body.as_ref())?;
    let mut world = sb.world();
    let world = &mut *world;
    let id = world.destination.create(input, &mut world.clock)?;
    let rels = Relationships::default();
    world
        .destination_offer_json(id, &rels)
        .map(Json)
        .ok_or_else(|| ApiError::no_such("offer", id))
}

async fn replace(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "offer")?;
    let mut world = sb.world();
    let world = &mut *world;
    // An unknown id is a 404 whatever the body says.
    if !world.destination.offers.contains_key(&id) {
        return Err(ApiError::no_such("offer", id));
    }
    let input = offer_fields::parse_offer_body(body.as_ref())?;
    world.destination.replace(id, input, &mut world.clock)?;
    world
        .destination_offer_json(id, &Relationships::default())
        .map(Json)
        .ok_or_else(|| ApiError::no_such("offer", id))
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "offer")?;
    let rels = Relationships::from_query(&QueryParams::parse(query.as_deref()));
    sb.world()
        .destination_offer_json(id, &rels)
        .map(Json)
        .ok_or_else(|| ApiError::no_such("offer", id))
}

/// Base fields a `filter=` may name.
fn filterable(field: &str) -> bool {
    FIELDS.iter().any(|f| f.name == field)
        || matches!(
            field,
            "network_offer_id" | "network_id" | "time_created" | "time_saved" | "thumbnail_url"
        )
}

/// Whether `offer` passes every filter (they are ANDed, api-filters.mdx).
fn passes(offer: &DestOffer, filters: &[Filter]) -> Result<bool, ApiError> {
    for f in filters {
        let actual = offer.base.get(&f.field).unwrap_or(&Value::Null);
        if !f.matches(actual)? {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn list(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let q = QueryParams::parse(query.as_deref());
    let paging = Paging::from_query(&q)?;
    let filters = Filter::all_from(&q)?;
    if let Some(f) = filters.iter().find(|f| !filterable(&f.field)) {
        return Err(ApiError::bad_request(format!(
            "unsupported filter field {}",
            f.field
        )));
    }
    let rels = Relationships::from_query(&q);
    let world = sb.world();
    let mut offers = Vec::new();
    for offer in world.destination_offers() {
        if passes(offer, &filters)? {
            offers.push(world.destination.list_element(offer, &rels));
        }
    }
    let (offers, paging) = paging.apply(offers);
    Ok(Json(json!({ "offers": offers, "paging": paging })))
}

/// The `filters` of an offerstable body (offers.yaml).
#[derive(Debug, Default)]
struct TableFilters {
    offer_status: Option<String>,
    advertiser_ids: Vec<u64>,
    group_id: Option<u64>,
    category_ids: Vec<u64>,
    visibilities: Vec<String>,
    labels: Vec<String>,
    tracking_domain_ids: Vec<u64>,
    payout_types: Vec<String>,
    revenue_types: Vec<String>,
}

/// Filters offers.yaml documents that the sandbox does not model (yet): accepted
/// and ignored so a client using them is not refused.
const UNMODELLED_FILTERS: &[&str] = &[
    "business_unit_ids",
    "account_manager_ids",
    "sales_manager_ids",
    "network_channel_ids",
    "country_ids",
    "platforms_ids",
    "device_types_ids",
];

#[derive(Debug, Default)]
struct TableQuery {
    terms: Vec<(String, String)>,
    filters: TableFilters,
}

fn ids(v: &Value, name: &str) -> Result<Vec<u64>, ApiError> {
    v.as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| {
            ApiError::bad_request(format!("filters.{name} must be an array of integers"))
        })
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| ApiError::bad_request(format!("filters.{name} must be an array of strings")))
}

fn parse_table_query(body: Option<&Value>) -> Result<TableQuery, ApiError> {
    let empty = Map::new();
    let obj = match body {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::bad_request("request body must be a json object")),
    };
    let mut out = TableQuery::default();
    for (key, v) in obj {
        match key.as_str() {
            "search_terms" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| ApiError::bad_request("search_terms must be an array"))?;
                for t in list {
                    let ty = t.get("search_type").and_then(Value::as_str).unwrap_or("");
                    if !matches!(ty, "name" | "encoded_value" | "advertiser_name") {
                        return Err(ApiError::bad_request(format!(
                            "search_type must be one of name, encoded_value, advertiser_name, got `{ty}`"
                        )));
                    }
                    let value = t.get("value").and_then(Value::as_str).unwrap_or("");
                    out.terms.push((ty.to_owned(), value.to_owned()));
                }
            }
            "filters" => {
                let Some(filters) = v.as_object() else {
                    return Err(ApiError::bad_request("filters must be an object"));
                };
                let f = &mut out.filters;
                for (name, v) in filters {
                    if v.is_null() {
                        continue;
                    }
                    match name.as_str() {
                        "offer_status" => {
                            let s = v.as_str().unwrap_or("");
                            if !matches!(s, "" | "active" | "paused" | "pending" | "deleted") {
                                return Err(ApiError::bad_request(
                                    "filters.offer_status must be one of active, paused, pending, deleted",
                                ));
                            }
                            f.offer_status = (!s.is_empty()).then(|| s.to_owned());
                        }
                        "network_advertiser_ids" => f.advertiser_ids = ids(v, name)?,
                        "network_offer_group_id" => {
                            f.group_id = v.as_u64().filter(|g| *g != 0);
                        }
                        "network_category_ids" => f.category_ids = ids(v, name)?,
                        "visibilities" => f.visibilities = strings(v, name)?,
                        "labels" => f.labels = strings(v, name)?,
                        "network_tracking_domain_ids" => f.tracking_domain_ids = ids(v, name)?,
                        "payout_types" => f.payout_types = strings(v, name)?,
                        "revenue_types" => f.revenue_types = strings(v, name)?,
                        other if UNMODELLED_FILTERS.contains(&other) => {}
                        other => {
                            return Err(ApiError::bad_request(format!("unknown filter {other}")));
                        }
                    }
                }
            }
            other => return Err(ApiError::bad_request(format!("unknown field {other}"))),
        }
    }
    Ok(out)
}

fn table_matches(dest: &Destination, offer: &DestOffer, q: &TableQuery) -> bool {
    let contains = |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
    let terms_ok = q.terms.iter().all(|(ty, value)| {
        value.is_empty()
            || match ty.as_str() {
                "name" => contains(offer.str_field("name"), value),
                "encoded_value" => {
                    links::token(dest.network_id, offer.id()).eq_ignore_ascii_case(value.trim())
                }
                _ => dest
                    .advertisers
                    .get(&offer.u64_field("network_advertiser_id"))
                    .and_then(|a| a.get("name"))
                    .and_then(Value::as_str)
                    .is_some_and(|n| contains(n, value)),
            }
    });
    let f = &q.filters;
    let in_ids =
        |list: &[u64], field: &str| list.is_empty() || list.contains(&offer.u64_field(field));
    let in_strs = |list: &[String], v: &str| list.is_empty() || list.iter().any(|s| s == v);
    let default = offer.default_entry();
    terms_ok
        && f.offer_status
            .as_deref()
            .is_none_or(|s| offer.str_field("offer_status") == s)
        && in_ids(&f.advertiser_ids, "network_advertiser_id")
        && f.group_id
            .is_none_or(|g| offer.u64_field("network_offer_group_id") == g)
        && in_ids(&f.category_ids, "network_category_id")
        && in_strs(&f.visibilities, offer.str_field("visibility"))
        && (f.labels.is_empty() || offer.labels().iter().any(|l| f.labels.contains(l)))
        && in_ids(&f.tracking_domain_ids, "network_tracking_domain_id")
        && in_strs(
            &f.payout_types,
            default.map_or("", |e| e.payout_type.as_str()),
        )
        && in_strs(
            &f.revenue_types,
            default.map_or("", |e| e.revenue_type.as_str()),
        )
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
    let rels = Relationships::from_query(&q);
    let search = parse_table_query(body.as_ref())?;
    let world = sb.world();
    let dest = &world.destination;
    let offers: Vec<Value> = world
        .destination_offers()
        .filter(|o| table_matches(dest, o, &search))
        .map(|o| dest.table_row(o, &rels))
        .collect();
    let (offers, paging) = paging.apply(offers);
    Ok(Json(json!({ "offers": offers, "paging": paging })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_query_rejects_unknown_and_accepts_documented() {
        let q = parse_table_query(Some(&json!({
            "search_terms": [{"search_type": "name", "value": "trim"}],
            "filters": {"offer_status": "active", "network_advertiser_ids": [13], "country_ids": [227]}
        })))
        .unwrap();
        assert_eq!(q.terms, vec![("name".to_owned(), "trim".to_owned())]);
        assert_eq!(q.filters.advertiser_ids, vec![13]);
        assert_eq!(q.filters.offer_status.as_deref(), Some("active"));
        assert!(parse_table_query(Some(&json!({"filters": {"colour": 1}}))).is_err());
        assert!(
            parse_table_query(Some(&json!({"search_terms": [{"search_type": "id"}]}))).is_err()
        );
        assert!(parse_table_query(Some(&json!({"page": 1}))).is_err());
        assert!(parse_table_query(None).unwrap().terms.is_empty());
    }

    #[test]
    fn filterable_fields_are_base_fields() {
        assert!(filterable("network_advertiser_id"));
        assert!(filterable("time_saved"));
        assert!(filterable("offer_status"));
        assert!(!filterable("payout_amount"));
    }
}
