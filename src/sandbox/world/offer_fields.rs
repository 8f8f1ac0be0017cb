//! The destination offer's fields: which are writable, their types, enums and
//! defaults, and the validation of a `POST`/`PUT /v1/networks/offers` body.
//!
//! Writable fields are the `OfferRequestBody` properties of offers.yaml, plus
//! `thumbnail_file` (ISCALE) and `payout_revenue[]`. PUT is a full replacement
//! (LIVE put-networksoffer: "Omitted non-required fields revert to defaults"), so
//! every parse fills each writable field, from the body or from its default.
//! Output-only fields that GET returns are accepted and ignored, because clients
//! update by GET -> overlay -> PUT (terraform-provider-everflow `offer.go`).

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::super::money;
use super::uploads::{FileRef, parse_file_ref};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Text,
    /// A non-negative integer id (0 = none).
    Id,
    /// A non-negative integer quantity.
    Count,
    Flag,
    Choice(&'static [&'static str]),
    /// An array of strings.
    Labels,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum DefaultValue {
    Str(&'static str),
    Num(u64),
    Bool(bool),
    List,
}

impl DefaultValue {
    fn value(self) -> Value {
        match self {
            DefaultValue::Str(s) => json!(s),
            DefaultValue::Num(n) => json!(n),
            DefaultValue::Bool(b) => json!(b),
            DefaultValue::List => json!([]),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
}

const fn field(name: &'static str, kind: Kind, default: DefaultValue) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        default,
    }
}

const fn flag(name: &'static str) -> FieldSpec {
    field(name, Kind::Flag, DefaultValue::Bool(false))
}

const fn text(name: &'static str) -> FieldSpec {
    field(name, Kind::Text, DefaultValue::Str(""))
}

const fn count(name: &'static str) -> FieldSpec {
    field(name, Kind::Count, DefaultValue::Num(0))
}

const fn id(name: &'static str) -> FieldSpec {
    field(name, Kind::Id, DefaultValue::Num(0))
}

/// `offer_status` values a client may set (`deleted` is output-only).
pub(crate) const OFFER_STATUS: &[&str] = &["active", "paused", "pending"];
pub(crate) const VISIBILITY: &[&str] = &["public", "require_approval", "private"];
/// offers.yaml, plus `html_pixel_cookie_based` that tap-everflow saw in real data.
const CONVERSION_METHOD: &[&str] = &[
    "server_postback",
    "http_image_pixel",
    "https_image_pixel",
    "http_iframe_pixel",
    "https_iframe_pixel",
    "javascript",
    "cookie_based",
    "html_pixel_cookie_based",
];
const REDIRECT_MODE: &[&str] = &["standard", "single_meta_refresh", "double_meta_refresh"];
const SESSION_DEFINITION: &[&str] = &["cookie", "ip", "ip_user_agent", "google_ad_id", "idfa"];
const ATTRIBUTION_METHOD: &[&str] = &["first_touch", "last_touch"];
// These two default to "" (proto3 empty enum) until their feature is switched on.
const BLOCK_ACTION: &[&str] = &["", "block", "fail_traffic"];
const SCRUB_RATE_STATUS: &[&str] = &["", "rejected", "pending"];
/// SNAP reporting.yaml (proto-derived), wider than offers.yaml's request enum.
pub(crate) const PAYOUT_TYPES: &[&str] = &[
    "blank",
    "cpc",
    "cpa",
    "cpm",
    "cps",
    "cpa_cps",
    "prv",
    "cpa_sku",
    "cps_sku",
    "cpa_cps_sku",
    "prv_sku",
];
pub(crate) const REVENUE_TYPES: &[&str] = &[
    "blank",
    "rpc",
    "rpa",
    "rpm",
    "rps",
    "rpa_rps",
    "rpa_sku",
    "rps_sku",
    "rpa_rps_sku",
];

/// Writable base fields with their defaults (the value a PUT leaves when omitted).
///
/// Defaults not given by the docs: `visibility` public, `conversion_method`
/// server_postback, `redirect_mode` standard, `session_definition` cookie (the
/// values of the LIVE PUT example), `session_duration` 24 (offers.yaml "default
/// 24"), `attribution_method` last_touch (the LEGACY advertiser sample).
pub(crate) const FIELDS: &[FieldSpec] = &[
    id("network_advertiser_id"),
    id("network_offer_group_id"),
    text("name"),
    field(
        "offer_status",
        Kind::Choice(OFFER_STATUS),
        DefaultValue::Str("active"),
    ),
    field(
        "visibility",
        Kind::Choice(VISIBILITY),
        DefaultValue::Str("public"),
    ),
    text("currency_id"),
    text("destination_url"),
    text("server_side_url"),
    text("preview_url"),
    text("html_description"),
    text("internal_notes"),
    id("network_category_id"),
    text("project_id"),
    text("date_live_until"),
    text("app_identifier"),
    field("labels", Kind::Labels, DefaultValue::List),
    id("caps_timezone_id"),
    id("network_tracking_domain_id"),
    field(
        "conversion_method",
        Kind::Choice(CONVERSION_METHOD),
        DefaultValue::Str("server_postback"),
    ),
    field(
        "redirect_mode",
        Kind::Choice(REDIRECT_MODE),
        DefaultValue::Str("standard"),
    ),
    field(
        "session_definition",
        Kind::Choice(SESSION_DEFINITION),
        DefaultValue::Str("cookie"),
    ),
    field("session_duration", Kind::Count, DefaultValue::Num(24)),
    field(
        "attribution_method",
        Kind::Choice(ATTRIBUTION_METHOD),
        DefaultValue::Str("last_touch"),
    ),
    flag("is_use_secure_link"),
    flag("is_seo_friendly"),
    flag("is_allow_deep_link"),
    flag("is_whitelist_check_enabled"),
    flag("is_use_direct_linking"),
    flag("is_caps_enabled"),
    count("daily_conversion_cap"),
    count("weekly_conversion_cap"),
    count("monthly_conversion_cap"),
    count("global_conversion_cap"),
    count("daily_payout_cap"),
    count("weekly_payout_cap"),
    count("monthly_payout_cap"),
    count("global_payout_cap"),
    count("daily_revenue_cap"),
    count("weekly_revenue_cap"),
    count("monthly_revenue_cap"),
    count("global_revenue_cap"),
    count("daily_click_cap"),
    count("weekly_click_cap"),
    count("monthly_click_cap"),
    count("global_click_cap"),
    flag("is_duplicate_filter_enabled"),
    field(
        "duplicate_filter_targeting_action",
        Kind::Choice(BLOCK_ACTION),
        DefaultValue::Str(""),
    ),
    flag("is_block_already_converted"),
    field(
        "already_converted_action",
        Kind::Choice(BLOCK_ACTION),
        DefaultValue::Str(""),
    ),
    flag("is_must_approve_conversion"),
    flag("is_allow_duplicate_conversion"),
    flag("is_use_scrub_rate"),
    field(
        "scrub_rate_status",
        Kind::Choice(SCRUB_RATE_STATUS),
        DefaultValue::Str(""),
    ),
    count("scrub_rate_percentage"),
    flag("is_view_through_enabled"),
    text("view_through_destination_url"),
    flag("is_session_tracking_enabled"),
    count("session_tracking_lifespan_hour"),
    count("session_tracking_minimum_lifespan_second"),
    flag("is_fail_traffic_enabled"),
    flag("is_using_explicit_terms_and_conditions"),
    text("terms_and_conditions"),
    flag("is_force_terms_and_conditions"),
];

/// Required on POST and PUT, in the order they are checked. The first four are
/// offers.yaml's; `network_tracking_domain_id` is from real 400s seen by
/// terraform-provider-everflow; `offer_status` and `payout_revenue` from a
/// generated client and ISCALE ("PUT must include payout_revenue").
pub(crate) const REQUIRED: &[&str] = &[
    "network_advertiser_id",
    "name",
    "destination_url",
    "currency_id",
    "network_tracking_domain_id",
    "offer_status",
    "payout_revenue",
];

/// Output-only fields a GET (or real Everflow, per the tap-everflow schema)
/// returns; accepted in a body and ignored.
pub(crate) const OUTPUT_ONLY: &[&str] = &[
    "network_offer_id",
    "network_id",
    "time_created",
    "time_saved",
    "thumbnail_url",
    "relationship",
    "is_using_suppression_list",
    "suppression_list_id",
    "session_tracking_start_on",
    "is_view_through_session_tracking_enabled",
    "view_through_session_tracking_lifespan_minute",
    "view_through_session_tracking_minimal_lifespan_second",
    "redirect_routing_method",
    "redirect_internal_routing_type",
    "is_description_plain_text",
    "is_email_attribution_enabled",
    "email_attribution_method",
    "is_email_attribution_window_enabled",
    "email_attribution_window_minute",
    "email_attribution_window_type",
    "is_soft_cap",
];

/// Writable fields of a `payout_revenue[]` entry besides its id.
const ENTRY_FLAGS: &[&str] = &[
    "is_default",
    "is_private",
    "is_postback_disabled",
    "is_enforce_caps",
    "is_must_approve_conversion",
    "is_allow_duplicate_conversion",
];
/// Output-only fields of a GET `relationship.payout_revenue.entries[]` element.
const ENTRY_OUTPUT_ONLY: &[&str] = &[
    "network_id",
    "network_offer_id",
    "time_created",
    "is_email_attribution_default_event",
    "remote_offer_resource",
];

/// One payout/revenue event of a destination offer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PayoutEntry {
    pub id: u64,
    pub entry_name: String,
    pub payout_type: String,
    pub payout_amount: Decimal,
    pub payout_percentage: Decimal,
    pub revenue_type: String,
    pub revenue_amount: Decimal,
    pub revenue_percentage: Decimal,
    pub is_default: bool,
    pub is_private: bool,
    pub is_postback_disabled: bool,
    pub is_enforce_caps: bool,
    pub is_must_approve_conversion: bool,
    pub is_allow_duplicate_conversion: bool,
    pub global_advertiser_event_id: u64,
    pub time_created: u64,
}

impl PayoutEntry {
    /// The GET shape (tap-everflow `relationship.payout_revenue.entries[]`).
    pub fn to_json(&self, network_id: u64, offer_id: u64) -> Value {
        json!({
            "network_offer_payout_revenue_id": self.id,
            "network_id": network_id,
            "network_offer_id": offer_id,
            "entry_name": self.entry_name,
            "payout_type": self.payout_type,
            "payout_amount": money::to_json(self.payout_amount),
            "payout_percentage": money::to_json(self.payout_percentage),
            "revenue_type": self.revenue_type,
            "revenue_amount": money::to_json(self.revenue_amount),
            "revenue_percentage": money::to_json(self.revenue_percentage),
            "is_default": self.is_default,
            "is_private": self.is_private,
            "is_postback_disabled": self.is_postback_disabled,
            "is_enforce_caps": self.is_enforce_caps,
            "is_must_approve_conversion": self.is_must_approve_conversion,
            "is_allow_duplicate_conversion": self.is_allow_duplicate_conversion,
            "global_advertiser_event_id": self.global_advertiser_event_id,
            "time_created": self.time_created,
        })
    }
}

/// A validated offer body: every writable field filled, entries, thumbnail.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OfferInput {
    pub base: Map<String, Value>,
    /// Entries with the id the client sent (`None` or 0: a new entry).
    pub payouts: Vec<(Option<u64>, PayoutEntry)>,
    /// `thumbnail_file` (ISCALE): a temp upload to attach.
    pub thumbnail: Option<FileRef>,
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Number(n)) => n.as_u64() == Some(0),
        _ => false,
    }
}

fn choices(list: &[&str]) -> String {
    list.iter()
        .filter(|c| !c.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one value against its kind; `name` is the field's path for messages.
pub(crate) fn check(name: &str, kind: Kind, v: &Value) -> Result<Value, ApiError> {
    let bad = |what: &str| ApiError::bad_request(format!("{name} must be {what}"));
    match kind {
        Kind::Text => v.as_str().map(|_| v.clone()).ok_or_else(|| bad("a string")),
        Kind::Id | Kind::Count => v
            .as_u64()
            .map(|n| json!(n))
            .ok_or_else(|| bad("a non-negative integer")),
        Kind::Flag => v
            .as_bool()
            .map(|_| v.clone())
            .ok_or_else(|| bad("a boolean")),
        Kind::Choice(list) => match v.as_str() {
            Some(s) if list.contains(&s) => Ok(v.clone()),
            _ => Err(bad(&format!("one of {}", choices(list)))),
        },
        Kind::Labels => match v.as_array() {
            Some(a) if a.iter().all(Value::is_string) => Ok(v.clone()),
            _ => Err(bad("an array of strings")),
        },
    }
}

/// Validates a POST/PUT body (structure, required fields, types, enums); the
/// references (advertiser, tracking domain, entry ids) are checked by the caller.
pub(crate) fn parse_offer_body(body: Option<&Value>) -> Result<OfferInput, ApiError> {
    let empty = Map::new();
    let obj = match body {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::bad_request("request body must be a json object")),
    };
    for key in obj.keys() {
        let known = FIELDS.iter().any(|f| f.name == key)
            || OUTPUT_ONLY.contains(&key.as_str())
            || key == "payout_revenue"
            || key == "thumbnail_file";
        if !known {
            return Err(ApiError::bad_request(format!("unknown field {key}")));
        }
    }
    for name in REQUIRED {
        if is_blank(obj.get(*name)) {
            return Err(ApiError::bad_request(format!("{name} is required")));
        }
    }
    let mut base = Map::new();
    for f in FIELDS {
        let value = match obj.get(f.name) {
            None | Some(Value::Null) => f.default.value(),
            Some(v) => check(f.name, f.kind, v)?,
        };
        base.insert(f.name.to_owned(), value);
    }
    check_formats(&base)?;
    let payouts = parse_payouts(&obj["payout_revenue"])?;
    let thumbnail = match obj.get("thumbnail_file") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_file_ref("thumbnail_file", v)?),
    };
    Ok(OfferInput {
        base,
        payouts,
        thumbnail,
    })
}

pub(crate) fn check_formats(base: &Map<String, Value>) -> Result<(), ApiError> {
    let s = |k: &str| base.get(k).and_then(Value::as_str).unwrap_or_default();
    let url = s("destination_url");
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ApiError::bad_request(
            "destination_url must be an absolute http or https url",
        ));
    }
    let currency = s("currency_id");
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::bad_request(
            "currency_id must be an iso 4217 code such as USD",
        ));
    }
    let date = s("date_live_until");
    let is_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !date.is_empty() && !is_date {
        return Err(ApiError::bad_request(
            "date_live_until must be a date as YYYY-MM-DD",
        ));
    }
    Ok(())
}

fn parse_payouts(v: &Value) -> Result<Vec<(Option<u64>, PayoutEntry)>, ApiError> {
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::bad_request("payout_revenue must be an array"))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        out.push(parse_entry(i, item)?);
    }
    for (i, (_, e)) in out.iter().enumerate() {
        if out[..i].iter().any(|(_, o)| o.entry_name == e.entry_name) {
            return Err(ApiError::bad_request(format!(
                "payout_revenue entry_name `{}` is used twice",
                e.entry_name
            )));
        }
    }
    let defaults = out.iter().filter(|(_, e)| e.is_default).count();
    if defaults != 1 {
        return Err(ApiError::bad_request(format!(
            "payout_revenue must have exactly one entry with is_default true, found {defaults}"
        )));
    }
    let mut ids: Vec<u64> = out.iter().filter_map(|(id, _)| *id).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApiError::bad_request(format!(
            "payout_revenue network_offer_payout_revenue_id {} is used twice",
            w[0]
        )));
    }
    Ok(out)
}

fn parse_entry(i: usize, item: &Value) -> Result<(Option<u64>, PayoutEntry), ApiError> {
    let path = |k: &str| format!("payout_revenue[{i}].{k}");
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::bad_request(format!("payout_revenue[{i}] must be an object")))?;
    for key in obj.keys() {
        let known = matches!(
            key.as_str(),
            "network_offer_payout_revenue_id"
                | "entry_name"
                | "payout_type"
                | "payout_amount"
                | "payout_percentage"
                | "revenue_type"
                | "revenue_amount"
                | "revenue_percentage"
                | "global_advertiser_event_id"
        ) || ENTRY_FLAGS.contains(&key.as_str())
            || ENTRY_OUTPUT_ONLY.contains(&key.as_str());
        if !known {
            return Err(ApiError::bad_request(format!(
                "unknown field {}",
                path(key)
            )));
        }
    }
    let present = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let entry_name = match present("entry_name").map(Value::as_str) {
        Some(Some(s)) if !s.trim().is_empty() => s.to_owned(),
        Some(Some(_)) | None => {
            return Err(ApiError::bad_request(format!(
                "{} is required",
                path("entry_name")
            )));
        }
        Some(None) => {
            return Err(ApiError::bad_request(format!(
                "{} must be a string",
                path("entry_name")
            )));
        }
    };
    let choice = |k: &str, list: &'static [&'static str]| -> Result<String, ApiError> {
        match present(k) {
            None => Ok("blank".to_owned()),
            Some(v) => Ok(check(&path(k), Kind::Choice(list), v)?
                .as_str()
                .unwrap_or("blank")
                .to_owned()),
        }
    };
    let amount = |k: &str| -> Result<Decimal, ApiError> {
        match present(k) {
            None => Ok(Decimal::ZERO),
            Some(v) => match money::parse(v) {
                Some(d) if d >= Decimal::ZERO => Ok(d.normalize()),
                Some(_) => Err(ApiError::bad_request(format!(
                    "{} must not be negative",
                    path(k)
                ))),
                None => Err(ApiError::bad_request(format!(
                    "{} must be a number",
                    path(k)
                ))),
            },
        }
    };
    let flag = |k: &str| -> Result<bool, ApiError> {
        match present(k) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| ApiError::bad_request(format!("{} must be a boolean", path(k)))),
        }
    };
    let uint = |k: &str| -> Result<u64, ApiError> {
        match present(k) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| {
                ApiError::bad_request(format!("{} must be a non-negative integer", path(k)))
            }),
        }
    };
    let id = uint("network_offer_payout_revenue_id")?;
    let entry = PayoutEntry {
        id: 0,
        entry_name,
        payout_type: choice("payout_type", PAYOUT_TYPES)?,
        payout_amount: amount("payout_amount")?,
        payout_percentage: amount("payout_percentage")?,
        revenue_type: choice("revenue_type", REVENUE_TYPES)?,
        revenue_amount: amount("revenue_amount")?,
        revenue_percentage: amount("revenue_percentage")?,
        is_default: flag("is_default")?,
        is_private: flag("is_private")?,
        is_postback_disabled: flag("is_postback_disabled")?,
        is_enforce_caps: flag("is_enforce_caps")?,
        is_must_approve_conversion: flag("is_must_approve_conversion")?,
        is_allow_duplicate_conversion: flag("is_allow_duplicate_conversion")?,
        global_advertiser_event_id: uint("global_advertiser_event_id")?,
        time_created: 0,
    };
    Ok(((id != 0).then_some(id), entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        json!({
            "network_advertiser_id": 13,
            "name": "Offer",
            "destination_url": "https://example.com/lp?sub5={transaction_id}",
            "currency_id": "USD",
            "network_tracking_domain_id": 1,
            "offer_status": "active",
            "payout_revenue": [
                {"entry_name": "Base", "payout_type": "cpa", "payout_amount": 280, "revenue_type": "rpa", "revenue_amount": 350, "is_default": true}
            ]
        })
    }

    fn err(body: &Value) -> String {
        parse_offer_body(Some(body)).unwrap_err().message
    }

    #[test]
    fn minimal_body_fills_defaults() {
        let input = parse_offer_body(Some(&minimal())).unwrap();
        assert_eq!(input.base["visibility"], "public");
        assert_eq!(input.base["internal_notes"], "");
        assert_eq!(input.base["session_duration"], 24);
        assert_eq!(input.base["labels"], json!([]));
        assert_eq!(input.payouts.len(), 1);
        assert_eq!(input.payouts[0].1.revenue_amount, Decimal::from(350));
        assert_eq!(input.base.len(), FIELDS.len());
    }

    #[test]
    fn output_only_fields_are_ignored_and_unknown_rejected() {
        let mut b = minimal();
        b["network_offer_id"] = json!(5);
        b["relationship"] = json!({"payout_revenue": {}});
        b["time_saved"] = json!(1);
        assert!(parse_offer_body(Some(&b)).is_ok());
        b["colour"] = json!("red");
        assert_eq!(err(&b), "unknown field colour");
    }

    #[test]
    fn enums_and_types_are_checked() {
        let mut b = minimal();
        b["visibility"] = json!("hidden");
        assert!(err(&b).starts_with("visibility must be one of public"));
        let mut b = minimal();
        b["is_caps_enabled"] = json!("yes");
        assert_eq!(err(&b), "is_caps_enabled must be a boolean");
        let mut b = minimal();
        b["payout_revenue"][0]["payout_type"] = json!("cpx");
        assert!(err(&b).starts_with("payout_revenue[0].payout_type must be one of"));
        let mut b = minimal();
        b["payout_revenue"][0]["payout_amount"] = json!(-1);
        assert_eq!(
            err(&b),
            "payout_revenue[0].payout_amount must not be negative"
        );
        let mut b = minimal();
        b["currency_id"] = json!("usd");
        assert!(err(&b).starts_with("currency_id must be"));
    }

    #[test]
    fn payout_entries_need_one_default_and_unique_names() {
        let mut b = minimal();
        b["payout_revenue"][0]["is_default"] = json!(false);
        assert!(err(&b).contains("exactly one entry with is_default"));
        let mut b = minimal();
        b["payout_revenue"] = json!([
            {"entry_name": "Base", "is_default": true},
            {"entry_name": "Base"}
        ]);
        assert!(err(&b).contains("used twice"));
        let mut b = minimal();
        b["payout_revenue"][0]["entry_name"] = json!("");
        assert_eq!(err(&b), "payout_revenue[0].entry_name is required");
    }
}
