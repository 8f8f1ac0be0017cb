//! Affiliates ("partners") of the destination network.
//!
//! They exist only as fixtures: the Network API's affiliate endpoints are not
//! simulated. Partner postbacks, tracking links and the postback delivery
//! report name them. The object is the `relationship.affiliate` of a partner
//! postback (seed 001, `GET /v1/networks/pixels/{id}`), key for key, including
//! its `adress_id` spelling; a fixture affiliate only spells out what matters
//! and the rest gets its proto3 default.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde_json::{Map, Value, json};

use super::destination::Destination;

/// `account_status` of an affiliate. No affiliate schema is in reference/; these
/// are the advertiser's statuses (advertisers.yaml), which Everflow shares
/// between account types.
pub(crate) const ACCOUNT_STATUS: &[&str] = &["active", "inactive", "pending", "suspended"];

/// The keys of the seed-001 affiliate object after the id, name and status,
/// with their defaults.
fn defaults() -> [(&'static str, Value); 13] {
    [
        ("network_employee_id", json!(0)),
        ("internal_notes", json!("")),
        ("has_notifications", json!(false)),
        ("network_traffic_source_id", json!(0)),
        ("account_executive_id", json!(0)),
        ("adress_id", json!(0)),
        ("default_currency_id", json!("USD")),
        ("is_contact_address_enabled", json!(false)),
        ("enable_media_cost_tracking_links", json!(false)),
        ("time_created", json!(0)),
        ("time_saved", json!(0)),
        ("referrer_id", json!(0)),
        ("account_status", json!("active")),
    ]
}

/// The fixture affiliates by id, normalized; what is wrong goes to `problems`.
pub(crate) fn load(
    network_id: u64,
    fixtures: &[Map<String, Value>],
    problems: &mut Vec<String>,
) -> BTreeMap<u64, Map<String, Value>> {
    let mut out = BTreeMap::new();
    for (i, raw) in fixtures.iter().enumerate() {
        let at = format!("destination.affiliates[{i}]");
        let Some(id) = raw
            .get("network_affiliate_id")
            .and_then(Value::as_u64)
            .filter(|id| *id > 0)
        else {
            problems.push(format!("{at} needs a positive network_affiliate_id"));
            continue;
        };
        if raw
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            problems.push(format!("{at}: name is required"));
            continue;
        }
        let mut a = raw.clone();
        a.insert("network_id".into(), json!(network_id));
        for (k, v) in defaults() {
            a.entry(k).or_insert(v);
        }
        let status = a["account_status"].as_str().unwrap_or("");
        if !ACCOUNT_STATUS.contains(&status) {
            problems.push(format!(
                "{at}: account_status `{status}` is not one of {}",
                ACCOUNT_STATUS.join(", ")
            ));
            continue;
        }
        match out.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert(a);
            }
            Entry::Occupied(_) => {
                problems.push(format!("destination affiliate {id} is defined twice"));
            }
        }
    }
    out
}

impl Destination {
    /// The whole affiliate object (a partner postback's `relationship.affiliate`).
    pub fn affiliate_json(&self, id: u64) -> Option<Value> {
        self.affiliates.get(&id).cloned().map(Value::Object)
    }

    /// The affiliate's name, `""` for 0 or an unknown id (as the seed-001 table
    /// row shows for a postback of no particular affiliate).
    pub fn affiliate_name(&self, id: u64) -> &str {
        self.affiliates
            .get(&id)
            .and_then(|a| a.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Whether the affiliate exists with `account_status` active.
    pub fn affiliate_is_active(&self, id: u64) -> bool {
        self.affiliates
            .get(&id)
            .is_some_and(|a| a.get("account_status") == Some(&json!("active")))
    }

    /// The short affiliate object of a postback report row (seed 002).
    pub fn affiliate_summary(&self, id: u64) -> Value {
        let a = self.affiliates.get(&id);
        let get = |k: &str, default: Value| a.and_then(|a| a.get(k)).cloned().unwrap_or(default);
        json!({
            "network_affiliate_id": id,
            "network_id": self.network_id,
            "name": get("name", json!("")),
            "account_status": get("account_status", json!("")),
            "network_traffic_source_id": get("network_traffic_source_id", json!(0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affiliates_get_defaults_and_bad_ones_are_problems() {
        let fx: Vec<Map<String, Value>> = serde_json::from_value(json!([
            {"network_affiliate_id": 7, "name": "Bluewave Media"},
            {"network_affiliate_id": 7, "name": "Twice"},
            {"network_affiliate_id": 0, "name": "No id"},
            {"network_affiliate_id": 9, "name": " "},
            {"network_affiliate_id": 10, "name": "Odd", "account_status": "gone"},
        ]))
        .unwrap();
        let mut problems = Vec::new();
        let a = load(7001, &fx, &mut problems);
        assert_eq!(a.len(), 1);
        assert_eq!(a[&7]["name"], "Bluewave Media");
        assert_eq!(a[&7]["account_status"], "active");
        assert_eq!(a[&7]["network_id"], 7001);
        assert_eq!(a[&7]["adress_id"], 0);
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
