//! The request log: one entry per `/v1` request, never with headers (so never
//! with an API key).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `/v1` request as the sandbox saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, e.g. `/v1/networks/offers/1001`.
    pub path: String,
    /// The raw query string (`""` when none).
    pub query: String,
    /// The rate-limit bucket (`network:7001`, `affiliate:trimrx`); `""` when the
    /// key was missing or unknown.
    pub bucket: String,
    /// The status the sandbox produced (for a dropped response: the status whose
    /// headers went out before the connection was cut).
    pub status: u16,
    /// POST/PUT/PATCH/DELETE, except searches (`*table` endpoints) and bulk
    /// edit previews (`.../patch/.../submit`).
    pub is_write: bool,
    /// The request body when it was JSON.
    pub body: Option<Value>,
    /// The injected fault, if any: `burst_429`, `error_500` or `drop_after_commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl LoggedRequest {
    /// Whether this request could change something (POST/PUT/PATCH/DELETE, not
    /// a `*table` search or a bulk edit preview).
    pub fn is_write(&self) -> bool {
        self.is_write
    }
}

/// POST/PUT/PATCH/DELETE are writes, except the `POST .../*table` searches, which
/// Everflow documents as list endpoints taking their filters in the body, and
/// the `POST .../patch/.../submit` previews of bulk edits ("no changes", LEGACY).
pub(crate) fn is_write(method: &str, path: &str) -> bool {
    let writes = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
    let path = path.trim_end_matches('/');
    let search = path.ends_with("table");
    let preview = path.contains("/patch/") && path.ends_with("/submit");
    writes && !search && !preview
}

#[cfg(test)]
mod tests {
    use super::is_write;

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
    }
}
