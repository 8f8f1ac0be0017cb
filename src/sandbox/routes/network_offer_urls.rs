//! Network API offer URLs (offer-urls.yaml): `POST /v1/networks/offerurls`,
//! the list `GET /v1/networks/offerurls` (`{urls, paging}`), and
//! `GET`/`PUT /v1/networks/offerurls/{id}`.
//!
//! There is no DELETE. `DELETE /v1/networks/offerurls/{id}` is a 405 with an
//! `Allow: GET,PUT` header rather than a 404: the URL exists, only the method
//! does not, and the answer tells a client what to do instead (`PUT` with
//! `url_status: deleted`, ISCALE). It is the same 405 every known path gives
//! an unsupported method in the sandbox.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::super::Sandbox;
use super::super::error::{ApiError, error_response};
use super::super::query::{MAX_PAGE_SIZE, QueryParams};
use super::super::world::offer_urls::parse_url_body;
use super::{Caller, JsonBody, list_body, path_id, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/networks/offerurls", get(list).post(create))
        .route(
            "/v1/networks/offerurls/{url_id}",
            get(one).put(replace).delete(no_delete),
        )
}

fn url_json(sb: &Sandbox, id: u64) -> Result<Json<Value>, ApiError> {
    let world = sb.world();
    let d = &world.destination;
    d.urls
        .get(id)
        .map(|u| Json(d.url_json(u)))
        .ok_or_else(|| ApiError::no_such("offer url", id))
}

async fn create(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let input = parse_url_body(body.as_ref(), None)?;
    let id = {
        let mut world = sb.world();
        let world = &mut *world;
        world.destination.create_url(input, &mut world.clock)?
    };
    url_json(&sb, id)
}

async fn replace(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    let id = path_id(&raw, "offer url")?;
    {
        let mut world = sb.world();
        let world = &mut *world;
        // An unknown id is a 404 whatever the body says.
        if world.destination.urls.get(id).is_none() {
            return Err(ApiError::no_such("offer url", id));
        }
        let input = parse_url_body(body.as_ref(), Some(id))?;
        world.destination.replace_url(id, input, &mut world.clock)?;
    }
    url_json(&sb, id)
}

async fn one(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    url_json(&sb, path_id(&raw, "offer url")?)
}

/// Filters LEGACY offer_urls documents.
const FILTERABLE: &[&str] = &[
    "network_offer_id",
    "url_status",
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
    let urls = d.urls.values().map(|u| d.url_json(u)).collect();
    // LEGACY offer_urls: omitting page/page_size returns the first 2000.
    list_body("urls", &q, urls, FILTERABLE, MAX_PAGE_SIZE).map(Json)
}

async fn no_delete(Extension(caller): Extension<Caller>) -> Response {
    if let Err(e) = require_network(&caller) {
        return e.into_response();
    }
    let mut resp = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "offer urls cannot be deleted: set url_status to deleted with PUT",
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET,PUT"));
    resp
}
