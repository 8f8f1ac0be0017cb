//! Partner postbacks of the destination network (`/v1/networks/pixels`,
//! `/v1/networks/pixelstable`; seed 001, LIVE, partner-postbacks-extras.yaml):
//! the postbacks iScale fires to its own affiliates.
//!
//! Besides the rules shared with affiliate postbacks (`pixels.rs`):
//! `network_affiliate_id` names one of the network's affiliates and is
//! required for `global` (every offer of that affiliate) and `specific` (one
//! offer) postbacks. A `global_offer` postback fires for one offer "regardless
//! of the partner" (seed 001), and its object shows `network_affiliate_id` 0
//! even when the create body named one (the seed's create example sends 7 and
//! gets 0 back), so the sandbox keeps 0; a non-zero one must still exist. An
//! offer's post_conversion postback names one of its events or 0 for all of
//! them (seed 001). DELETE removes a postback for good
//! (partner-postbacks-extras.yaml).
//!
//! Shapes: the object is seed 001's GET one (plus `time_created`/`time_saved`
//! of its create response) with `relationship.affiliate` (the whole affiliate)
//! and `relationship.offer` (the offer summary) for what it names; a
//! `pixelstable` row is seed 001's table row, with the names and an empty
//! `relationship`.
//!
//! `pixelstable` takes seed 001's body `{"query": {"filters": {...},
//! "search_terms": [...]}}`. The seed's examples spell the status filter
//! `status` while its field list says `offer_status`; both are accepted.
//! Global postbacks match any `network_offer_ids` and global_offer ones any
//! `network_affiliate_ids`, as documented. Several search terms must all
//! match, like `offerstable`'s.

use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::destination::Destination;
use super::pixels::{self, PIXEL_STATUS, PIXEL_TYPES, Pixel, PixelInput};

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

/// The `pixelstable` filters and search terms.
#[derive(Debug, Default)]
pub(crate) struct PixelQuery {
    status: Option<String>,
    pixel_type: Option<String>,
    offer_ids: Vec<u64>,
    affiliate_ids: Vec<u64>,
    delivery_methods: Vec<String>,
    terms: Vec<(String, String)>,
}

/// seed 001's `delivery_methods` list names tiktok too (an integration the
/// sandbox does not model: it matches nothing).
const FILTER_DELIVERY_METHODS: &[&str] = &["facebook", "tiktok", "postback", "html"];

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| bad(format!("{what} must be an object")))
}

fn ids(v: &Value, what: &str) -> Result<Vec<u64>, ApiError> {
    v.as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| bad(format!("{what} must be an array of integers")))
}

fn choice(v: &Value, what: &str, list: &[&str]) -> Result<Option<String>, ApiError> {
    match v.as_str() {
        Some("") => Ok(None),
        Some(s) if list.contains(&s) => Ok(Some(s.to_owned())),
        _ => Err(bad(format!("{what} must be one of {}", list.join(", ")))),
    }
}

/// Validates a `pixelstable` body (none: every postback).
pub(crate) fn parse_pixel_query(body: Option<&Value>) -> Result<PixelQuery, ApiError> {
    let mut out = PixelQuery::default();
    let Some(body) = body.filter(|b| !b.is_null()) else {
        return Ok(out);
    };
    let top = object(body, "request body")?;
    if let Some(k) = top.keys().find(|k| *k != "query") {
        return Err(bad(format!(
            "unknown field {k} (filters and search_terms go inside query)"
        )));
    }
    let Some(query) = top.get("query").filter(|q| !q.is_null()) else {
        return Ok(out);
    };
    for (k, v) in object(query, "query")? {
        if v.is_null() {
            continue;
        }
        match k.as_str() {
            "filters" => {
                for (name, v) in object(v, "query.filters")? {
                    if v.is_null() {
                        continue;
                    }
                    let what = format!("query.filters.{name}");
                    match name.as_str() {
                        "status" | "offer_status" => {
                            let s = choice(v, &what, PIXEL_STATUS)?;
                            if out.status.is_some() && s.is_some() && out.status != s {
                                return Err(bad(
                                    "query.filters.status and offer_status disagree".into()
                                ));
                            }
                            out.status = out.status.take().or(s);
                        }
                        "pixel_type" => out.pixel_type = choice(v, &what, PIXEL_TYPES)?,
                        "network_offer_ids" => out.offer_ids = ids(v, &what)?,
                        "network_affiliate_ids" => out.affiliate_ids = ids(v, &what)?,
                        "delivery_methods" => {
                            let list = v.as_array().ok_or_else(|| {
                                bad(format!("{what} must be an array of strings"))
                            })?;
                            for m in list {
                                let m = choice(m, &what, FILTER_DELIVERY_METHODS)?
                                    .ok_or_else(|| bad(format!("{what} must not hold \"\"")))?;
                                out.delivery_methods.push(m);
                            }
                        }
                        other => return Err(bad(format!("unknown filter {other}"))),
                    }
                }
            }
            "search_terms" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| bad("query.search_terms must be an array".into()))?;
                for t in list {
                    let t = object(t, "query.search_terms[]")?;
                    if let Some(k) = t
                        .keys()
                        .find(|k| !matches!(k.as_str(), "search_type" | "value"))
                    {
                        return Err(bad(format!("unknown field query.search_terms[].{k}")));
                    }
                    let ty = t.get("search_type").and_then(Value::as_str).unwrap_or("");
                    if !matches!(ty, "pixel_id" | "description" | "payload") {
                        return Err(bad(format!(
                            "search_type must be one of pixel_id, description, payload, got `{ty}`"
                        )));
                    }
                    let value = t.get("value").and_then(Value::as_str).unwrap_or("").trim();
                    if ty == "pixel_id" && !value.is_empty() && value.parse::<u64>().is_err() {
                        return Err(bad(format!(
                            "a pixel_id search needs a postback id, got `{value}`"
                        )));
                    }
                    out.terms.push((ty.to_owned(), value.to_owned()));
                }
            }
            other => return Err(bad(format!("unknown field query.{other}"))),
        }
    }
    Ok(out)
}

impl PixelQuery {
    fn matches(&self, p: &Pixel) -> bool {
        let f = &p.fields;
        let contains =
            |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        let terms = self.terms.iter().all(|(ty, value)| {
            value.is_empty()
                || match ty.as_str() {
                    "pixel_id" => value.parse::<u64>() == Ok(p.id),
                    "description" => contains(&f.description, value),
                    _ => contains(&f.postback_url, value) || contains(&f.html_code, value),
                }
        });
        terms
            && self.status.as_ref().is_none_or(|s| *s == f.pixel_status)
            && self.pixel_type.as_ref().is_none_or(|t| *t == f.pixel_type)
            && (self.offer_ids.is_empty()
                || f.pixel_level == "global"
                || self.offer_ids.contains(&f.offer_id))
            && (self.affiliate_ids.is_empty()
                || f.pixel_level == "global_offer"
                || self.affiliate_ids.contains(&f.affiliate_id))
            && (self.delivery_methods.is_empty()
                || self.delivery_methods.contains(&f.delivery_method))
    }
}

impl Destination {
    /// Checks what a postback names; returns it with `network_affiliate_id`
    /// as it is stored (0 for global_offer postbacks).
    fn check_partner_refs(&self, mut p: PixelInput) -> Result<PixelInput, ApiError> {
        let level = p.pixel_level.as_str();
        if p.affiliate_id == 0 && level != "global_offer" {
            return Err(bad(format!(
                "network_affiliate_id is required when pixel_level is {level}"
            )));
        }
        if p.affiliate_id != 0 && !self.affiliates.contains_key(&p.affiliate_id) {
            return Err(bad(format!(
                "network_affiliate_id {} does not exist",
                p.affiliate_id
            )));
        }
        if level == "global_offer" {
            p.affiliate_id = 0;
        }
        if p.offer_id != 0 {
            let offer = self
                .offers
                .get(&p.offer_id)
                .ok_or_else(|| bad(format!("network_offer_id {} does not exist", p.offer_id)))?;
            if p.pixel_type == "post_conversion" {
                let default = offer.default_entry().map(|e| e.id);
                let events: Vec<u64> = offer
                    .payouts
                    .iter()
                    .filter(|e| !e.is_default)
                    .map(|e| e.id)
                    .collect();
                pixels::check_event(p.offer_id, p.event_id, default, &events)?;
            }
            if p.pixel_type == "cpc" && !offer.payouts.iter().any(|e| e.payout_type == "cpc") {
                return Err(bad(format!(
                    "pixel_type cpc needs a cpc payout on offer {}",
                    p.offer_id
                )));
            }
        }
        Ok(p)
    }

    /// `POST /v1/networks/pixels` after body validation.
    pub fn create_partner_pixel(
        &mut self,
        input: PixelInput,
        clock: &mut Clock,
    ) -> Result<u64, ApiError> {
        let input = self.check_partner_refs(input)?;
        let id = self.pixels.allocate();
        let now = clock.now();
        let pixel = Pixel {
            id,
            owner: input.affiliate_id,
            fields: input,
            time_created: now,
            time_saved: now,
        };
        self.pixels.items.insert(id, pixel);
        Ok(id)
    }

    /// `PUT /v1/networks/pixels/{id}`: full replacement.
    pub fn replace_partner_pixel(
        &mut self,
        id: u64,
        input: PixelInput,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.pixels.get(id).cloned() else {
            return Err(ApiError::no_such("postback", id));
        };
        let input = self.check_partner_refs(input)?;
        let time_saved = if input == old.fields {
            old.time_saved
        } else {
            clock.after(old.time_saved)
        };
        let pixel = Pixel {
            owner: input.affiliate_id,
            fields: input,
            time_saved,
            ..old
        };
        self.pixels.items.insert(id, pixel);
        Ok(())
    }

    /// `DELETE /v1/networks/pixels/{id}`.
    pub fn delete_partner_pixel(&mut self, id: u64) -> Result<(), ApiError> {
        self.pixels
            .items
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| ApiError::no_such("postback", id))
    }

    /// The postback object (`GET /v1/networks/pixels/{id}`, seed 001).
    pub fn partner_pixel_json(&self, p: &Pixel) -> Value {
        let f = &p.fields;
        let mut m = p.base_json(self.network_id);
        m.insert("description".into(), json!(f.description));
        let mut rel = Map::new();
        if let Some(a) = self.affiliate_json(f.affiliate_id) {
            rel.insert("affiliate".into(), a);
        }
        if let Some(o) = self.offer_summary(f.offer_id) {
            rel.insert("offer".into(), o);
        }
        m.insert("relationship".into(), Value::Object(rel));
        m.insert("facebook_pixel".into(), p.facebook_json());
        Value::Object(m)
    }

    /// A `pixelstable` row (seed 001).
    pub fn partner_pixel_row(&self, p: &Pixel) -> Value {
        let f = &p.fields;
        let mut m = p.base_json(self.network_id);
        m.insert("description".into(), json!(f.description));
        m.insert(
            "network_affiliate_name".into(),
            json!(self.affiliate_name(f.affiliate_id)),
        );
        let offer_name = self
            .offers
            .get(&f.offer_id)
            .map_or("", |o| o.str_field("name"));
        m.insert("network_offer_name".into(), json!(offer_name));
        m.insert("relationship".into(), json!({}));
        Value::Object(m)
    }

    /// The `pixelstable` rows matching `q`, in id order.
    pub fn partner_pixel_rows(&self, q: &PixelQuery) -> Vec<Value> {
        self.pixels
            .values()
            .filter(|p| q.matches(p))
            .map(|p| self.partner_pixel_row(p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::pixels::DELIVERY_METHODS;
    use super::*;

    #[test]
    fn table_bodies_follow_seed_001() {
        let q = parse_pixel_query(Some(&json!({
            "query": {
                "filters": {"status": "active", "pixel_type": "post_conversion", "delivery_methods": ["postback"]},
                "search_terms": [{"search_type": "payload", "value": "some-site"}]
            }
        })))
        .unwrap();
        assert_eq!(q.status.as_deref(), Some("active"));
        assert_eq!(q.delivery_methods, ["postback"]);
        assert_eq!(q.terms, [("payload".to_owned(), "some-site".to_owned())]);
        let q = parse_pixel_query(Some(
            &json!({"query": {"filters": {"offer_status": "inactive"}}}),
        ))
        .unwrap();
        assert_eq!(q.status.as_deref(), Some("inactive"));
        assert!(parse_pixel_query(None).unwrap().terms.is_empty());
        for bad in [
            json!({"filters": {}}),
            json!({"query": {"filters": {"colour": 1}}}),
            json!({"query": {"filters": {"status": "paused"}}}),
            json!({"query": {"filters": {"status": "active", "offer_status": "inactive"}}}),
            json!({"query": {"filters": {"delivery_methods": ["email"]}}}),
            json!({"query": {"filters": {"network_offer_ids": "1"}}}),
            json!({"query": {"search_terms": [{"search_type": "name", "value": "x"}]}}),
            json!({"query": {"search_terms": [{"search_type": "pixel_id", "value": "x"}]}}),
            json!({"query": {"paging": {}}}),
        ] {
            assert!(parse_pixel_query(Some(&bad)).is_err(), "{bad}");
        }
        assert!(
            DELIVERY_METHODS
                .iter()
                .all(|m| FILTER_DELIVERY_METHODS.contains(m))
        );
    }
}
