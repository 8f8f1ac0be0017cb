//! The partner postback delivery log behind
//! `POST /v1/networks/reporting/affiliate/pixels` and its `/export` (seed 002,
//! "Affiliate Postback"; LIVE renamed it Partner Pixel Log).
//!
//! Nothing converts in the sandbox, so the log is synthetic: computed on each
//! request from the network as it is now (nothing is stored) and
//! deterministic, so the same request gives the same rows. The model:
//!
//! - For every destination offer (whatever its status: the log is what the
//!   postbacks as they are now would have fired), every *active* partner
//!   postback that applies to it and every UTC day in `[from, to]`, there are
//!   `volume` deliveries per postback per day ([`DEFAULT_VOLUME`], set with
//!   `Sandbox::set_postback_volume`). A `global` postback applies to every
//!   offer and its affiliate converts; a `specific` one to its offer; a
//!   `global_offer` one to its offer, each delivery for one of the network's
//!   active affiliates (picked by the hash below).
//! - A conversion or cpc postback delivers the base conversion (event 0, as
//!   in the seed's row); a post_conversion one its event, or for "all events"
//!   (0) the offer's events in turn. A payout entry with
//!   `is_postback_disabled` fires nothing. Facebook postbacks are Conversions
//!   API calls the sandbox does not simulate and are not in the log.
//! - Each delivery's ids and timing come from SHA-256 of (network, offer,
//!   postback, day, index): `transaction_id` and `conversion_id` (32 hex
//!   digits, as in the seed), a timestamp within the day, and whether it
//!   failed, which about 1 in 8 postback deliveries do (`is_success` false,
//!   `failed_attempts` 3, `last_attempt` 15 minutes after the first attempt;
//!   `debug_information` an HTTP 500 or a timeout). Html pixels are fired by
//!   the browser, so Everflow cannot see them fail: they always succeed, with
//!   empty `debug_information`.
//! - `payload` is the postback URL (or the html code) with the macros filled:
//!   `{transaction_id}`, `{conversion_id}`, `{offer_id}`, `{affiliate_id}`,
//!   `{event_id}`, `{payout_amount}` (the event's payout), and `{sub1}`..
//!   `{sub5}`, `{source_id}` as empty values (no click carried any). Other
//!   macros are left as written.
//!
//! Requests: `timezone_id` (a positive integer) and `from`/`to`
//! (`YYYY-mm-DD` or `YYYY-mm-DD HH:MM:SS`) are required; a date alone means
//! the whole day. Timezones are not modelled: days and times are UTC. The
//! span is limited to 366 days, a sandbox guard the docs do not state.
//! `query.filters[]` `{resource_type: offer|affiliate|delivery_status,
//! filter_id_value}`: the same resource type ORed, different ones ANDed.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::super::error::ApiError;
use super::destination::{DestOffer, Destination};
use super::pixels::Pixel;

/// Deliveries per postback per offer per day unless a test sets another.
pub(crate) const DEFAULT_VOLUME: u32 = 3;
/// "The maximum number of postbacks that can be returned by this endpoint is :
/// 1000" (seed 002).
pub(crate) const REPORT_CAP: usize = 1000;
/// Sandbox guard on `to - from` (not an Everflow rule).
const MAX_DAYS: i64 = 366;
const DAY: i64 = 86_400;
/// When a failed delivery was last retried, after its first attempt.
const RETRY_SPAN: i64 = 900;

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

/// The export formats (seed 002).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    /// Newline-delimited JSON.
    Json,
}

/// A validated report request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReportQuery {
    /// Unix seconds, inclusive.
    from: i64,
    to: i64,
    offers: Vec<u64>,
    affiliates: Vec<u64>,
    /// `Some(true)`: success only; `Some(false)`: failure only; both: either.
    statuses: Vec<bool>,
    pub format: Option<Format>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-mm-DD` (with `end_of_day`: its last second) or
/// `YYYY-mm-DD HH:MM:SS`, as Unix seconds.
fn parse_time(k: &str, s: &str, end_of_day: bool) -> Result<i64, ApiError> {
    let invalid = || {
        bad(format!(
            "{k} must be a date as YYYY-mm-DD or YYYY-mm-DD HH:MM:SS, got `{s}`"
        ))
    };
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Result<i64, ApiError> {
        let part = s.get(r).ok_or_else(invalid)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    if !(b.len() == 10 || b.len() == 19) || b[4] != b'-' || b[7] != b'-' {
        return Err(invalid());
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(invalid());
    }
    let day = days_from_civil(y, m, d) * DAY;
    if b.len() == 10 {
        return Ok(if end_of_day { day + DAY - 1 } else { day });
    }
    if b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return Err(invalid());
    }
    let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(invalid());
    }
    Ok(day + hh * 3600 + mm * 60 + ss)
}

/// Validates a report body (`export`: the export's, which needs `format`).
pub(crate) fn parse_report(body: Option<&Value>, export: bool) -> Result<ReportQuery, ApiError> {
    let empty = Map::new();
    let obj = match body {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(bad("request body must be a json object".into())),
    };
    let known: &[&str] = if export {
        &["timezone_id", "from", "to", "query", "format"]
    } else {
        &["timezone_id", "from", "to", "query"]
    };
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        let hint = if k == "format" {
            " (format is for /export)"
        } else {
            ""
        };
        return Err(bad(format!("unknown field {k}{hint}")));
    }
    match obj.get("timezone_id").filter(|v| !v.is_null()) {
        None => return Err(bad("timezone_id is required".into())),
        Some(v) if v.as_u64().is_some_and(|t| t > 0) => {}
        Some(_) => return Err(bad("timezone_id must be a positive integer".into())),
    }
    let time = |k: &str, end: bool| -> Result<i64, ApiError> {
        match obj.get(k).filter(|v| !v.is_null()) {
            None => Err(bad(format!("{k} is required"))),
            Some(Value::String(s)) => parse_time(k, s.trim(), end),
            Some(_) => Err(bad(format!("{k} must be a string"))),
        }
    };
    let (from, to) = (time("from", false)?, time("to", true)?);
    if to < from {
        return Err(bad("to must not be before from".into()));
    }
    if to.div_euclid(DAY) - from.div_euclid(DAY) >= MAX_DAYS {
        return Err(bad(format!(
            "a report covers at most {MAX_DAYS} days in the sandbox"
        )));
    }
    let format = if export {
        match obj.get("format").and_then(Value::as_str) {
            Some("csv") => Some(Format::Csv),
            Some("json") => Some(Format::Json),
            None if obj.get("format").is_none_or(Value::is_null) => {
                return Err(bad("format is required (csv or json)".into()));
            }
            _ => return Err(bad("format must be one of csv, json".into())),
        }
    } else {
        None
    };
    let mut q = ReportQuery {
        from,
        to,
        offers: Vec::new(),
        affiliates: Vec::new(),
        statuses: Vec::new(),
        format,
    };
    let Some(query) = obj.get("query").filter(|v| !v.is_null()) else {
        return Ok(q);
    };
    let query = query
        .as_object()
        .ok_or_else(|| bad("query must be an object".into()))?;
    if let Some(k) = query.keys().find(|k| *k != "filters") {
        return Err(bad(format!("unknown field query.{k}")));
    }
    let Some(filters) = query.get("filters").filter(|v| !v.is_null()) else {
        return Ok(q);
    };
    let filters = filters
        .as_array()
        .ok_or_else(|| bad("query.filters must be an array".into()))?;
    for (i, f) in filters.iter().enumerate() {
        let at = format!("query.filters[{i}]");
        let f = f
            .as_object()
            .ok_or_else(|| bad(format!("{at} must be an object")))?;
        if let Some(k) = f
            .keys()
            .find(|k| !matches!(k.as_str(), "resource_type" | "filter_id_value"))
        {
            return Err(bad(format!("unknown field {at}.{k}")));
        }
        // seed 002 sends ids as strings ("15"); that is the only form.
        let value = f
            .get("filter_id_value")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("{at}.filter_id_value must be a non-empty string")))?;
        let id = || {
            value
                .parse::<u64>()
                .map_err(|_| bad(format!("{at}.filter_id_value must be an id, got `{value}`")))
        };
        match f.get("resource_type").and_then(Value::as_str) {
            Some("offer") => q.offers.push(id()?),
            Some("affiliate") => q.affiliates.push(id()?),
            Some("delivery_status") => q.statuses.push(match value {
                "success" => true,
                "failure" => false,
                _ => {
                    return Err(bad(format!(
                        "{at}.filter_id_value must be success or failure for delivery_status"
                    )));
                }
            }),
            _ => {
                return Err(bad(format!(
                    "{at}.resource_type must be one of offer, affiliate, delivery_status"
                )));
            }
        }
    }
    Ok(q)
}

/// The bytes of SHA-256 of `parts` joined with `:`.
fn digest(parts: &[&dyn std::fmt::Display]) -> [u8; 32] {
    let mut text = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{p}");
    }
    Sha256::digest(text.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

fn fill_macros(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        let token = format!("{{{name}}}");
        if out.contains(&token) {
            out = out.replace(&token, value);
        }
    }
    out
}

impl ReportQuery {
    fn wants_offer(&self, id: u64) -> bool {
        self.offers.is_empty() || self.offers.contains(&id)
    }

    fn wants(&self, affiliate: u64, success: bool, timestamp: i64) -> bool {
        (self.from..=self.to).contains(&timestamp)
            && (self.affiliates.is_empty() || self.affiliates.contains(&affiliate))
            && (self.statuses.is_empty() || self.statuses.contains(&success))
    }
}

impl Destination {
    /// The events a postback delivers on `offer`: `(event id, payout)` in the
    /// order they are taken in turn; empty when it fires nothing there.
    fn delivered_events(&self, offer: &DestOffer, p: &Pixel) -> Vec<(u64, Decimal)> {
        let f = &p.fields;
        let firing = |e: &&super::offer_fields::PayoutEntry| !e.is_postback_disabled;
        if f.pixel_type != "post_conversion" {
            return offer
                .default_entry()
                .filter(firing)
                .map(|e| vec![(0, e.payout_amount)])
                .unwrap_or_default();
        }
        offer
            .payouts
            .iter()
            .filter(|e| !e.is_default && (f.event_id == 0 || e.id == f.event_id))
            .filter(firing)
            .map(|e| (e.id, e.payout_amount))
            .collect()
    }

    /// Whether postback `p` fires on `offer`.
    fn applies(p: &Pixel, offer_id: u64) -> bool {
        let f = &p.fields;
        f.pixel_status == "active"
            && f.delivery_method != "facebook"
            && (f.pixel_level == "global" || f.offer_id == offer_id)
    }

    /// One day's deliveries of every postback on every offer that `q` asks
    /// for, passing its filters, in timestamp order.
    fn day_rows(
        &self,
        q: &ReportQuery,
        day: i64,
        volume: u32,
        active: &[u64],
    ) -> Vec<(i64, u64, String, Value)> {
        let mut rows = Vec::new();
        for offer in self.offers.values().filter(|o| q.wants_offer(o.id())) {
            for p in self
                .pixels
                .values()
                .filter(|p| Self::applies(p, offer.id()))
            {
                let events = self.delivered_events(offer, p);
                if events.is_empty() {
                    continue;
                }
                for index in 0..volume {
                    if let Some(row) = self.delivery(q, offer, p, day, index, &events, active) {
                        rows.push(row);
                    }
                }
            }
        }
        rows.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        rows
    }

    /// One delivery, or `None` when `q` filters it out.
    #[allow(clippy::too_many_arguments)]
    fn delivery(
        &self,
        q: &ReportQuery,
        offer: &DestOffer,
        p: &Pixel,
        day: i64,
        index: u32,
        events: &[(u64, Decimal)],
        active: &[u64],
    ) -> Option<(i64, u64, String, Value)> {
        let f = &p.fields;
        let ids = digest(&[&self.network_id, &offer.id(), &p.id, &day, &index]);
        let meta = digest(&[
            &"delivery",
            &self.network_id,
            &offer.id(),
            &p.id,
            &day,
            &index,
        ]);
        let affiliate = if f.pixel_level == "global_offer" {
            let n = u64::try_from(active.len()).ok().filter(|n| *n > 0)?;
            let pick = usize::try_from(word(&meta[17..25]) % n).ok()?;
            active[pick]
        } else {
            f.affiliate_id
        };
        let html = f.delivery_method == "html";
        let success = html || !word(&meta[8..16]).is_multiple_of(8);
        let timestamp = day * DAY + i64::try_from(word(&meta[0..8]) % 86_400).unwrap_or(0);
        if !q.wants(affiliate, success, timestamp) {
            return None;
        }
        let (event_id, payout) = events[usize::try_from(index).unwrap_or(0) % events.len()];
        let transaction_id = hex(&ids[0..16]);
        let conversion_id = hex(&ids[16..32]);
        let values = [
            ("transaction_id", transaction_id.clone()),
            ("conversion_id", conversion_id.clone()),
            ("offer_id", offer.id().to_string()),
            ("affiliate_id", affiliate.to_string()),
            ("event_id", event_id.to_string()),
            ("payout_amount", payout.normalize().to_string()),
            ("sub1", String::new()),
            ("sub2", String::new()),
            ("sub3", String::new()),
            ("sub4", String::new()),
            ("sub5", String::new()),
            ("source_id", String::new()),
        ];
        let template = if html { &f.html_code } else { &f.postback_url };
        let payload = fill_macros(template, &values);
        let debug = if html {
            String::new()
        } else if success {
            format!(
                "PostbackUrl: {payload}\nStatus: 200\nScheme: \nPath: \nAuthority: \nHeaders: Server: [nginx]"
            )
        } else if meta[16].is_multiple_of(2) {
            format!(
                "PostbackUrl: {payload}\nStatus: 500\nScheme: \nPath: \nAuthority: \nHeaders: Server: [nginx]"
            )
        } else {
            format!(
                "PostbackUrl: {payload}\nError: Get \"{payload}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )
        };
        let row = json!({
            "network_id": self.network_id,
            "network_offer_id": offer.id(),
            "network_offer_payout_revenue_id": event_id,
            "affiliate_id": affiliate,
            "pixel_id": p.id,
            "conversion_id": conversion_id,
            "transaction_id": transaction_id,
            "timestamp": timestamp,
            "delivery_method": f.delivery_method,
            "pixel_level": f.pixel_level,
            "pixel_status": f.pixel_status,
            "pixel_type": f.pixel_type,
            "payload": payload,
            "is_success": success,
            "debug_information": debug,
            "last_attempt": if success { 0 } else { timestamp + RETRY_SPAN },
            "failed_attempts": if success { 0 } else { 3 },
            "relationship": {
                "offer": self.offer_summary(offer.id()).unwrap_or(Value::Null),
                "affiliate": self.affiliate_summary(affiliate),
            },
        });
        Some((timestamp, p.id, transaction_id, row))
    }

    /// The rows `q` asks for in timestamp order, at most `cap` of them (the
    /// first ones).
    pub fn delivery_rows(&self, q: &ReportQuery, volume: u32, cap: Option<usize>) -> Vec<Value> {
        let active: Vec<u64> = self
            .affiliates
            .keys()
            .copied()
            .filter(|id| self.affiliate_is_active(*id))
            .collect();
        let mut out = Vec::new();
        for day in q.from.div_euclid(DAY)..=q.to.div_euclid(DAY) {
            for (.., row) in self.day_rows(q, day, volume, &active) {
                if cap.is_some_and(|cap| out.len() >= cap) {
                    return out;
                }
                out.push(row);
            }
        }
        out
    }
}

/// The scalar columns of a CSV export, in the seed's row order (the nested
/// `relationship` is left out: CSV has no place for it).
const CSV_COLUMNS: &[&str] = &[
    "network_id",
    "network_offer_id",
    "network_offer_payout_revenue_id",
    "affiliate_id",
    "pixel_id",
    "conversion_id",
    "transaction_id",
    "timestamp",
    "delivery_method",
    "pixel_level",
    "pixel_status",
    "pixel_type",
    "payload",
    "is_success",
    "debug_information",
    "last_attempt",
    "failed_attempts",
];

fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The export body: CSV with a header line (RFC 4180 quoting, CRLF line ends),
/// or one JSON row per line.
pub(crate) fn export_body(rows: &[Value], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            for row in rows {
                out.push_str(&row.to_string());
                out.push('\n');
            }
        }
        Format::Csv => {
            out.push_str(&CSV_COLUMNS.join(","));
            out.push_str("\r\n");
            for row in rows {
                let fields: Vec<String> = CSV_COLUMNS
                    .iter()
                    .map(|k| csv_field(row.get(*k).unwrap_or(&Value::Null)))
                    .collect();
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_utc_and_dates_cover_their_day() {
        assert_eq!(parse_time("from", "1970-01-01", false).unwrap(), 0);
        assert_eq!(parse_time("to", "1970-01-01", true).unwrap(), DAY - 1);
        // seed 002's example row: 1707425899 is 2024-02-08 20:58:19 UTC.
        assert_eq!(
            parse_time("from", "2024-02-08 20:58:19", false).unwrap(),
            1_707_425_899
        );
        assert_eq!(
            parse_time("from", "2024-02-29", false).unwrap(),
            1_709_164_800
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-02-08T20:58:19",
            "2024-02-08 24:00:00",
            "yesterday",
            "2024-02-0８",
        ] {
            assert!(parse_time("from", bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn report_bodies_follow_seed_002() {
        let q = parse_report(
            Some(&json!({
                "timezone_id": 90, "from": "2024-02-07", "to": "2024-02-08",
                "query": {"filters": [
                    {"resource_type": "offer", "filter_id_value": "11"},
                    {"resource_type": "offer", "filter_id_value": "15"},
                    {"resource_type": "delivery_status", "filter_id_value": "success"}
                ]}
            })),
            false,
        )
        .unwrap();
        assert_eq!(q.offers, [11, 15]);
        assert_eq!(q.statuses, [true]);
        assert_eq!(q.to - q.from, 2 * DAY - 1);
        let base = json!({"timezone_id": 90, "from": "2024-02-07", "to": "2024-02-08"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let err = |b: &Value, export: bool| parse_report(Some(b), export).unwrap_err().message;
        assert_eq!(
            err(&with("timezone_id", Value::Null), false),
            "timezone_id is required"
        );
        assert!(err(&with("to", json!("2024-02-06")), false).contains("before"));
        assert!(err(&with("to", json!("2025-02-07")), false).contains("366 days"));
        assert!(err(&with("format", json!("csv")), false).contains("format is for /export"));
        assert_eq!(err(&base, true), "format is required (csv or json)");
        assert!(err(&with("format", json!("xml")), true).contains("csv, json"));
        assert_eq!(
            parse_report(Some(&with("format", json!("json"))), true)
                .unwrap()
                .format,
            Some(Format::Json)
        );
        let filter = |f: Value| with("query", json!({"filters": [f]}));
        assert!(
            err(
                &filter(json!({"resource_type": "offer", "filter_id_value": 11})),
                false
            )
            .contains("non-empty string")
        );
        assert!(
            err(
                &filter(json!({"resource_type": "campaign", "filter_id_value": "1"})),
                false
            )
            .contains("resource_type")
        );
        assert!(
            err(
                &filter(json!({"resource_type": "delivery_status", "filter_id_value": "ok"})),
                false
            )
            .contains("success or failure")
        );
        assert!(
            err(
                &filter(json!({"resource_type": "affiliate", "filter_id_value": "x"})),
                false
            )
            .contains("must be an id")
        );
        assert!(
            err(&with("query", json!({"exclusions": []})), false)
                .contains("unknown field query.exclusions")
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let rows = [
            json!({"network_id": 1, "payload": "a,b", "debug_information": "x\n\"y\"", "is_success": true}),
        ];
        let csv = export_body(&rows, Format::Csv);
        let mut lines = csv.split("\r\n");
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("network_id,network_offer_id,")
        );
        let row = lines.next().unwrap();
        assert!(row.starts_with("1,,,"), "{row}");
        assert!(row.contains(",\"a,b\","), "{row}");
        assert!(csv.contains("\"x\n\"\"y\"\"\""), "{csv}");
        assert_eq!(export_body(&rows, Format::Json).lines().count(), 1);
    }
}
