//! The Offerit API of the sandbox's install: `/api/<endpoint>/<action>` (seed 003,
//! offerit-api-facts.md section 3), behind the `/api` pipeline (auth, faults, form
//! decoding, log; `pipeline.rs`).
//!
//! | call | method | success answer |
//! |---|---|---|
//! | `offer/add_offer` | POST | `{"result":"Success","message":{"landing_pageid":"432","offerid":"400"}}` |
//! | `offer/edit_offer` | PATCH | `{"result":"Success","message":{"offerid":"400"}}` |
//! | `offer/add_landing_page` | POST | `{"result":"Success","message":{"landing_pageid":"433"}}` |
//! | `offer/edit_landing_page` | PATCH | `{"result":"Success","message":{"landing_pageid":"433"}}` |
//! | `offer/pause_offer` | PATCH | `{"result":"success","message":"Offer expired."}` |
//! | `offer/activate_offer` | PATCH | `{"result":"success","message":"Offer activated."}` |
//! | `offer/set_offer_goals` | PATCH | `{"result":"Success","message":{"offerid":"400"}}` |
//!
//! The add_offer, pause_offer and activate_offer answers are the documented samples,
//! ids as strings. The others were not retrieved (facts file section 6); these follow
//! add_offer's shape, naming the id the call created or changed (inferred).
//!
//! Errors are `{"result":"error","message":...}`: 400 for a missing or invalid
//! field, 404 for an id that names nothing and for an unknown endpoint or action,
//! 405 (with `Allow`) for a known action called with another method. pause_offer is
//! PATCH as in its example, although its page is headed GET.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::super::Sandbox;
use super::super::error::{ApiError, offerit_error_response};
use super::super::form::FormMap;
use super::super::pipeline::OfferitForm;
use super::super::world::offerit::Offerit;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/api", any(api))
        .route("/api/{*call}", any(api))
}

/// What one call does to the install, and its success answer.
type Handler = fn(&mut Offerit, FormMap) -> Result<Response, ApiError>;

/// The calls served: `endpoint/action`, its method and its handler.
const CALLS: &[(&str, &str, Handler)] = &[
    ("offer/add_offer", "POST", add_offer),
    ("offer/edit_offer", "PATCH", edit_offer),
    ("offer/add_landing_page", "POST", add_landing_page),
    ("offer/edit_landing_page", "PATCH", edit_landing_page),
    ("offer/pause_offer", "PATCH", pause_offer),
    ("offer/activate_offer", "PATCH", activate_offer),
    ("offer/set_offer_goals", "PATCH", set_offer_goals),
];

/// `{"result":"Success","message":{<key>: "<id>", ...}}`: ids as strings, as in
/// add_offer's sample.
fn success_ids(ids: &[(&str, u64)]) -> Response {
    let message: serde_json::Map<String, Value> = ids
        .iter()
        .map(|(key, id)| ((*key).to_owned(), Value::String(id.to_string())))
        .collect();
    Json(json!({ "result": "Success", "message": message })).into_response()
}

/// `{"result":"success","message": text}`: the lowercase form of pause_offer's sample.
fn success_text(text: &str) -> Response {
    Json(json!({ "result": "success", "message": text })).into_response()
}

fn add_offer(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    let (offer, page) = o.add_offer(form)?;
    Ok(success_ids(&[("landing_pageid", page), ("offerid", offer)]))
}

fn edit_offer(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    let offer = o.edit_offer(form)?;
    Ok(success_ids(&[("offerid", offer)]))
}

fn add_landing_page(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    let page = o.add_landing_page(form)?;
    Ok(success_ids(&[("landing_pageid", page)]))
}

fn edit_landing_page(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    let page = o.edit_landing_page(form)?;
    Ok(success_ids(&[("landing_pageid", page)]))
}

fn pause_offer(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    o.pause_offer(form)?;
    Ok(success_text("Offer expired."))
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "every handler has the signature of `Handler`"
)]
fn activate_offer(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    o.activate_offer(&form)?;
    Ok(success_text("Offer activated."))
}

fn set_offer_goals(o: &mut Offerit, form: FormMap) -> Result<Response, ApiError> {
    let offer = o.set_offer_goals(form)?;
    Ok(success_ids(&[("offerid", offer)]))
}

async fn api(
    State(sb): State<Sandbox>,
    method: Method,
    uri: Uri,
    form: Option<Extension<OfferitForm>>,
) -> Response {
    let call = uri.path().strip_prefix("/api/").unwrap_or("");
    let Some((_, allowed, handler)) = CALLS.iter().find(|(known, ..)| *known == call) else {
        return offerit_error_response(
            StatusCode::NOT_FOUND,
            &format!("unknown endpoint or action `{}`", crate::text::shown(call)),
        );
    };
    if method.as_str() != *allowed {
        let mut resp = offerit_error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{call} takes {allowed}, not {method}"),
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allowed));
        return resp;
    }
    // The pipeline decodes the form of every `/api` request that gets this far.
    let Some(Extension(OfferitForm(form))) = form else {
        return offerit_error_response(StatusCode::INTERNAL_SERVER_ERROR, "no form decoded");
    };
    let mut world = sb.world();
    let Some(install) = world.offerit.as_mut() else {
        return offerit_error_response(
            StatusCode::NOT_FOUND,
            "this sandbox has no Offerit install",
        );
    };
    handler(install, form)
        .unwrap_or_else(|error| offerit_error_response(error.status, &error.message))
}
