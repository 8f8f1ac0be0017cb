//! Network API temp uploads: `POST /v1/networks/uploads/temp` (LEGACY and
//! LIVE uploading_files). The rules live in `world/uploads.rs`.

use axum::extract::{RawQuery, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::ApiError;
use super::super::query::QueryParams;
use super::{Caller, JsonBody, require_network};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/v1/networks/uploads/temp", post(upload))
}

async fn upload(
    State(sb): State<Sandbox>,
    Extension(caller): Extension<Caller>,
    Extension(JsonBody(body)): Extension<JsonBody>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    require_network(&caller)?;
    // `?unzip=true` (documented for zip files) would need the sandbox to unpack
    // archives; it says so instead of storing the zip as one file.
    match QueryParams::parse(query.as_deref()).get("unzip") {
        None | Some("" | "false") => {}
        Some("true") => {
            return Err(ApiError::bad_request(
                "unzip=true is not supported by the sandbox",
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unzip must be true or false, got `{other}`"
            )));
        }
    }
    let url = sb.world().destination.media.upload(body.as_ref())?;
    Ok(Json(json!({ "urls": [{ "url": url, "name": "" }] })))
}
