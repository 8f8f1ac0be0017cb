//! The request log: one entry per `/v1` (Everflow) and `/api` (Offerit) request,
//! never with headers (so never with an API key, an `api-key` or an `api-username`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `/v1` or `/api` request as the sandbox saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, e.g. `/v1/networks/offers/1001`.
    pub path: String,
    /// The raw query string (`""` when none).
    pub query: String,
    /// The rate-limit bucket (`network:7001`, `affiliate:trimrx`); `""` when the
    /// key was missing or unknown, and for Offerit, which has no rate limits.
    pub bucket: String,
    /// The status the sandbox produced (for a dropped response: the status whose
    /// headers went out before the connection was cut).
    pub status: u16,
    /// POST/PUT/PATCH/DELETE, except searches (`*table` endpoints), bulk
    /// edit previews (`.../patch/.../submit`), reports (`/networks/reporting/...`)
    /// and tracking link generation (`/networks/tracking/...`).
    pub is_write: bool,
    /// The request body when it was JSON.
    pub body: Option<Value>,
    /// An Offerit request's form body as PHP decodes it (see `sandbox/form.rs`),
    /// shown as JSON: text values, PHP arrays as lists or objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Value>,
    /// The injected fault, if any: `burst_429`, `error_500` or `drop_after_commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// `endpoint/action` of an Offerit request (`offer/add_offer` for
    /// `/api/offer/add_offer`, `""` for `/api` itself); `None` for everything else.
    pub fn offerit_call(&self) -> Option<&str> {
        if self.path == "/api" {
            return Some("");
        }
        self.path.strip_prefix("/api/")
    }

    /// Whether this request could change something (POST/PUT/PATCH/DELETE, not
    /// a `*table` search, a bulk edit preview, a report or a tracking link).
    pub fn is_write(&self) -> bool {
        self.is_write
    }
}

/// POST/PUT/PATCH/DELETE are writes, except the `POST .../*table` searches, which
/// Everflow documents as list endpoints taking their filters in the body, the
/// `POST .../patch/.../submit` previews of bulk edits ("no changes", LEGACY),
/// the reports under `POST /v1/networks/reporting/...` (their query is the
/// body; seed 002) and `POST /v1/networks/tracking/...`, which computes a
/// tracking link and stores nothing (tracking.yaml: it "returns a ready-to-use
/// tracking URL"; a click only happens when someone follows it).
pub(crate) fn is_write(method: &str, path: &str) -> bool {
    let writes = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
    let path = path.trim_end_matches('/');
    let search = path.ends_with("table");
    let preview = path.contains("/patch/") && path.ends_with("/submit");
    let computed = ["/v1/networks/reporting/", "/v1/networks/tracking/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    writes && !search && !preview && !computed
}

#[cfg(test)]
mod tests {
    use super::{LoggedRequest, is_write};

    #[test]
    fn offerit_calls_are_the_paths_under_api() {
        let at = |path: &str| LoggedRequest {
            method: "POST".into(),
            path: path.into(),
            query: String::new(),
            bucket: String::new(),
            status: 200,
            is_write: true,
            body: None,
            form: None,
            fault: None,
        };
        assert_eq!(
            at("/api/offer/add_offer").offerit_call(),
            Some("offer/add_offer")
        );
        assert_eq!(at("/api").offerit_call(), Some(""));
        assert_eq!(at("/apis/x").offerit_call(), None);
        assert_eq!(at("/v1/networks/offers").offerit_call(), None);
        assert!(is_write("PATCH", "/api/offer/pause_offer"));
    }

    #[test]
    fn table_searches_are_reads() {
        assert!(is_write("POST", "/v1/networks/offers"));
        assert!(is_write("PUT", "/v1/networks/offers/1"));
        assert!(is_write("PATCH", "/v1/networks/patch/offers/apply"));
        assert!(!is_write("POST", "/v1/networks/offerstable"));
        assert!(!is_write("POST", "/v1/affiliates/pixelstable"));
        assert!(!is_write("GET", "/v1/networks/offers"));
        assert!(!is_write("POST", "/v1/networks/patch/offers/submit"));
        assert!(is_write("POST", "/v1/networks/uploads/temp"));
        assert!(is_write("PUT", "/v1/networks/offers/1/targeting"));
        assert!(!is_write("POST", "/v1/networks/tracking/offers/clicks"));
        assert!(!is_write("POST", "/v1/networks/reporting/affiliate/pixels"));
        assert!(!is_write(
            "POST",
            "/v1/networks/reporting/affiliate/pixels/export"
        ));
        assert!(!is_write("POST", "/v1/networks/patch/advertiser/submit"));
        assert!(is_write("PATCH", "/v1/networks/patch/advertiser/apply"));
        assert!(is_write("DELETE", "/v1/networks/pixels/1"));
    }
}
