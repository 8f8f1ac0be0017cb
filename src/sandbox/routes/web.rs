//! The web host and the asset downloads (not Everflow's): no auth, no rate
//! limit, not in the `/v1` request log, but every request is recorded in
//! [`Sandbox::web_requests`].
//!
//! - `GET /_sandbox/web/<path>`: a fixture web file with its content type.
//! - `GET /_sandbox/assets/<id>/<name>`: an uploaded file attached as a
//!   thumbnail or creative, with the mime type it was uploaded with.
//! - `GET /favicon.ico`, `/apple-touch-icon.png`: always 404, so a client that
//!   looks for a page's icons at the sandbox's root finds none and falls back to
//!   its placeholder.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::super::{Sandbox, lock};

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/web/{*path}", get(web_file))
        .route("/_sandbox/web/", get(nothing_here))
        .route("/_sandbox/assets/{asset_id}/{name}", get(asset))
        .route("/favicon.ico", get(nothing_here))
        .route("/apple-touch-icon.png", get(nothing_here))
}

fn record(sb: &Sandbox, uri: &Uri) {
    lock(&sb.inner.web_log).push(uri.path().to_owned());
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

fn file(content_type: &str, body: impl Into<Body>) -> Response {
    match axum::http::HeaderValue::from_str(content_type) {
        Ok(ct) => ([(header::CONTENT_TYPE, ct)], body.into()).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "bad content type").into_response(),
    }
}

async fn web_file(State(sb): State<Sandbox>, uri: Uri, Path(path): Path<String>) -> Response {
    record(&sb, &uri);
    match sb.inner.web.get(&path) {
        Some(f) => file(&f.content_type, f.body.clone()),
        None => not_found(),
    }
}

async fn asset(
    State(sb): State<Sandbox>,
    uri: Uri,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    record(&sb, &uri);
    let found = {
        let world = sb.world();
        id.parse::<u64>()
            .ok()
            .and_then(|id| world.destination.media.asset(id))
            .filter(|a| a.filename == name)
            .map(|a| (a.content_type.clone(), a.bytes.clone()))
    };
    match found {
        Some((ct, bytes)) => file(&ct, bytes),
        None => not_found(),
    }
}

async fn nothing_here(State(sb): State<Sandbox>, uri: Uri) -> Response {
    record(&sb, &uri);
    not_found()
}
