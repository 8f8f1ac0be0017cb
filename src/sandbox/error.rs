//! Errors: the HTTP error body every `/v1` route returns, Offerit's error envelope
//! for `/api`, and the typed errors of the sandbox's Rust API.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;

/// An error answered over HTTP as `{"Error": "..."}`.
///
/// The capital `E` is what practitioners observe (terraform-provider-everflow
/// `errors.go` calls it "an Everflow quirk"; laravel-everflow reads `Error` too),
/// although the LIVE errors page shows `error`. The facts file recommends `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// The 404 of an id that names nothing: `{what} {id} not found`.
    pub fn no_such(what: &str, id: impl std::fmt::Display) -> ApiError {
        ApiError::not_found(format!("{what} {id} not found"))
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Out of realm")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message)
    }
}

/// `{"Error": message}` with `status`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "Error": message }))).into_response()
}

/// Offerit's error envelope, `{"result":"error","message": message}`, with `status`.
///
/// Lowercase `error`: every error sample in the Offerit docs has it, none shows
/// `Error` (offerit-api-facts.md section 2).
pub(crate) fn offerit_error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "result": "error", "message": message });
    (status, Json(body)).into_response()
}

/// A failed call of the sandbox's Rust API (test and demo helpers).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No source network has that name.
    #[error("unknown source network `{0}`")]
    UnknownNetwork(String),
    /// The source network has no offer with that id.
    #[error("source network `{network}` has no offer {offer_id}")]
    UnknownSourceOffer { network: String, offer_id: u64 },
    /// The source offer has no payout entry with that name.
    #[error("offer {offer_id} of `{network}` has no payout entry `{entry_name}`")]
    UnknownPayoutEntry {
        network: String,
        offer_id: u64,
        entry_name: String,
    },
    /// An edit of a source offer that fixtures could not hold either.
    #[error("edit of offer {offer_id} of `{network}` rejected: {message}")]
    InvalidSourceEdit {
        network: String,
        offer_id: u64,
        message: String,
    },
    /// The source network has no postback with that id.
    #[error("source network `{network}` has no postback {pixel_id}")]
    UnknownSourcePixel { network: String, pixel_id: u64 },
    /// An edit of a source postback that the API would reject.
    #[error("edit of postback {pixel_id} of `{network}` rejected: {message}")]
    InvalidSourcePixelEdit {
        network: String,
        pixel_id: u64,
        message: String,
    },
    /// A payout amount or percentage below zero.
    #[error("payout must not be negative, got {0}")]
    NegativePayout(Decimal),
    /// The destination network has no offer with that id.
    #[error("destination offer {0} does not exist")]
    UnknownDestinationOffer(u64),
    /// The destination network has no advertiser with that id.
    #[error("destination advertiser {0} does not exist")]
    UnknownAdvertiser(u64),
    /// An edit of a destination advertiser that the API would reject.
    #[error("edit of destination advertiser {advertiser_id} rejected: {message}")]
    InvalidAdvertiserEdit { advertiser_id: u64, message: String },
    /// An edit of a destination offer that the API would reject.
    #[error("edit of destination offer {offer_id} rejected: {message}")]
    InvalidEdit { offer_id: u64, message: String },
}

/// Fixtures that cannot be read or do not describe a usable sandbox.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read fixtures `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON of the fixture shape.
    #[error("invalid fixtures `{path}`: {error}")]
    Json {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// The file is not valid YAML of the fixture shape.
    #[error("invalid fixtures `{path}`: {error}")]
    Yaml {
        path: PathBuf,
        error: serde_yaml::Error,
    },
    /// The fixtures parse but are inconsistent (duplicate ids, missing defaults...).
    #[error("invalid fixtures `{path}`: {}", problems.join("; "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}
