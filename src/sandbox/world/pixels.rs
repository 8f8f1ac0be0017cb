//! Postbacks ("pixel" in the API is "postback" in the UI): what affiliate
//! postbacks (`/v1/affiliates/pixels`, affiliate-postbacks.yaml and LIVE) and
//! partner postbacks (`/v1/networks/pixels`, seed 001 and LIVE) share: the
//! body's fields, their rules, and the common part of the object.
//!
//! Rules, documented: `delivery_method` html|postback|facebook, `pixel_level`
//! global|specific (partner postbacks also global_offer), `pixel_status`
//! active|inactive, `pixel_type` conversion|post_conversion|cpc, all four
//! required (PostbackInput); `postback_url` "requires http(s)://" and is
//! required for postback delivery, `html_code` for html delivery,
//! `facebook_pixel` for facebook delivery; `network_offer_id` for an offer's
//! postback; `delay_ms` at most 300000 (seed 001). PUT is a full replacement:
//! an omitted optional field is reset.
//!
//! Not documented, chosen strictly (the sandbox refuses what would make a
//! postback mean something other than what was sent): the content of another
//! delivery method must be empty (`html_code` on a postback), a global
//! postback names no offer, and `network_offer_payout_revenue_id` is 0 unless
//! the postback is a post_conversion one for an offer (for any other it could
//! not mean anything). Which events an offer has is checked by the caller.

use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::body::Fields;

pub(crate) const DELIVERY_METHODS: &[&str] = &["html", "postback", "facebook"];
pub(crate) const AFFILIATE_LEVELS: &[&str] = &["global", "specific"];
pub(crate) const PARTNER_LEVELS: &[&str] = &["global", "specific", "global_offer"];
pub(crate) const PIXEL_STATUS: &[&str] = &["active", "inactive"];
pub(crate) const PIXEL_TYPES: &[&str] = &["conversion", "post_conversion", "cpc"];
/// "The maximum delay allowed is 5 minutes, or 300000 milliseconds" (seed 001).
pub(crate) const MAX_DELAY_MS: u64 = 300_000;

/// Which API a postback body came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// `/v1/affiliates/pixels`: the caller's own postbacks.
    Affiliate,
    /// `/v1/networks/pixels`: the network's postbacks for its partners.
    Partner,
}

const COMMON: &[&str] = &[
    "delivery_method",
    "pixel_level",
    "pixel_status",
    "pixel_type",
    "postback_url",
    "html_code",
    "network_offer_id",
    "network_offer_payout_revenue_id",
    "delay_ms",
    "facebook_pixel",
    "network_affiliate_id",
    // Output-only: accepted so a client can PUT what it read.
    "network_pixel_id",
    "network_id",
    "time_created",
    "time_saved",
    "relationship",
    "tiktok_pixel",
    "snapchat_pixel",
    "rumble_pixel",
];
/// Partner postbacks also have a description, and their `pixelstable` rows
/// (seed 001) carry the names, which a client may PUT back.
const PARTNER_ONLY: &[&str] = &[
    "description",
    "network_affiliate_name",
    "network_offer_name",
];

/// The keys of `facebook_pixel`: affiliate-postbacks.yaml for affiliates, the
/// LIVE response prefix (a superset of seed 001's request) for partners.
const FACEBOOK_AFFILIATE: &[&str] = &["pixel_id", "event_name", "access_token"];
const FACEBOOK_PARTNER: &[&str] = &[
    "network_affiliate_integration_facebook_business_id",
    "pixel_id",
    "event_name",
    "event_id",
    "action_source",
    "event_source_url",
    "user_data",
    "custom_data",
];

/// The writable fields of one postback, validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PixelInput {
    /// Partner postbacks: the body's (0 for global_offer ones); affiliate
    /// postbacks: what the body said, if anything (the owner is the caller).
    pub affiliate_id: u64,
    /// 0 for a global postback.
    pub offer_id: u64,
    /// 0: the base conversion, or every event of the offer (partner
    /// post_conversion postbacks, seed 001).
    pub event_id: u64,
    pub delivery_method: String,
    pub pixel_level: String,
    pub pixel_status: String,
    pub pixel_type: String,
    pub postback_url: String,
    pub html_code: String,
    pub delay_ms: u64,
    /// Partner postbacks only.
    pub description: String,
    /// The object as sent, for facebook delivery.
    pub facebook_pixel: Option<Value>,
}

/// One stored postback.
#[derive(Clone, Debug)]
pub(crate) struct Pixel {
    pub id: u64,
    /// Who owns it: the affiliate for affiliate postbacks; for partner
    /// postbacks the same as `fields.affiliate_id`.
    pub owner: u64,
    pub fields: PixelInput,
    pub time_created: u64,
    pub time_saved: u64,
}

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

fn check_facebook(v: Option<&Value>, side: Side) -> Result<Option<Value>, ApiError> {
    let Some(v) = v else {
        return Ok(None);
    };
    let obj = v
        .as_object()
        .ok_or_else(|| bad("facebook_pixel must be an object".into()))?;
    let known = match side {
        Side::Affiliate => FACEBOOK_AFFILIATE,
        Side::Partner => FACEBOOK_PARTNER,
    };
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!("unknown field facebook_pixel.{k}")));
    }
    for k in ["pixel_id", "event_name"] {
        if obj
            .get(k)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(bad(format!("facebook_pixel.{k} is required")));
        }
    }
    Ok(Some(v.clone()))
}

/// An absolute http(s) URL with a host (seed 001: "the URL requires
/// http(s)://"); macros in braces may appear anywhere after the host.
fn check_postback_url(url: &str) -> Result<(), ApiError> {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    match host {
        Some(h) if !h.is_empty() && !h.contains(['{', '}']) => Ok(()),
        _ => Err(bad(
            "postback_url must be an absolute http or https url".into()
        )),
    }
}

/// Validates a POST body, or a PUT body for `path_id`. References (the
/// affiliate, the offer, its events) are checked by the caller.
pub(crate) fn parse_pixel_body(
    body: Option<&Value>,
    side: Side,
    path_id: Option<u64>,
) -> Result<PixelInput, ApiError> {
    let known: Vec<&str> = match side {
        Side::Affiliate => COMMON.to_vec(),
        Side::Partner => COMMON.iter().chain(PARTNER_ONLY).copied().collect(),
    };
    let f = Fields::new(body, &known)?;
    if let Some(id) = path_id {
        f.same_id("network_pixel_id", id)?;
    }
    let levels = match side {
        Side::Affiliate => AFFILIATE_LEVELS,
        Side::Partner => PARTNER_LEVELS,
    };
    let delivery_method = f.choice("delivery_method", DELIVERY_METHODS)?;
    let pixel_level = f.choice("pixel_level", levels)?;
    let pixel_status = f.choice("pixel_status", PIXEL_STATUS)?;
    let pixel_type = f.choice("pixel_type", PIXEL_TYPES)?;
    let input = PixelInput {
        affiliate_id: f.opt_u64("network_affiliate_id")?.unwrap_or(0),
        offer_id: f.opt_u64("network_offer_id")?.unwrap_or(0),
        event_id: f.opt_u64("network_offer_payout_revenue_id")?.unwrap_or(0),
        postback_url: f.url("postback_url", delivery_method == "postback")?,
        html_code: if delivery_method == "html" {
            f.text("html_code")?
        } else {
            f.opt_text("html_code")?
        },
        delay_ms: f.opt_u64("delay_ms")?.unwrap_or(0),
        description: f.opt_text("description")?,
        facebook_pixel: check_facebook(f.get("facebook_pixel"), side)?,
        delivery_method,
        pixel_level,
        pixel_status,
        pixel_type,
    };
    check_consistency(&input, side)?;
    Ok(input)
}

fn check_consistency(p: &PixelInput, side: Side) -> Result<(), ApiError> {
    let method = p.delivery_method.as_str();
    if method == "postback" {
        check_postback_url(&p.postback_url)?;
    } else if !p.postback_url.is_empty() {
        return Err(bad(format!(
            "postback_url must be empty for delivery_method {method}"
        )));
    }
    if method != "html" && !p.html_code.is_empty() {
        return Err(bad(format!(
            "html_code must be empty for delivery_method {method}"
        )));
    }
    match (method, &p.facebook_pixel) {
        ("facebook", None) => {
            return Err(bad(
                "facebook_pixel is required for delivery_method facebook".into(),
            ));
        }
        ("facebook", Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(bad(format!(
                "facebook_pixel must be left out for delivery_method {method}"
            )));
        }
    }
    if p.delay_ms > MAX_DELAY_MS {
        return Err(bad(format!(
            "delay_ms must be between 0 and {MAX_DELAY_MS}"
        )));
    }
    let level = p.pixel_level.as_str();
    if level == "global" {
        if p.offer_id != 0 {
            return Err(bad(
                "network_offer_id must be 0 (or left out) for a global postback".into(),
            ));
        }
    } else if p.offer_id == 0 {
        return Err(bad(format!(
            "network_offer_id is required when pixel_level is {level}"
        )));
    }
    let ty = p.pixel_type.as_str();
    if ty != "post_conversion" && p.event_id != 0 {
        return Err(bad(format!(
            "network_offer_payout_revenue_id must be 0 for pixel_type {ty} (it names the event of a post_conversion postback)"
        )));
    }
    if ty == "post_conversion" {
        if level == "global" && p.event_id != 0 {
            return Err(bad(
                "network_offer_payout_revenue_id must be 0 for a global postback (it fires on every event)"
                    .into(),
            ));
        }
        // Partner postbacks: 0 selects every event of the offer (seed 001).
        // Affiliate postbacks name the one event (ISCALE's event postback);
        // nothing documents 0 there.
        if side == Side::Affiliate && level == "specific" && p.event_id == 0 {
            return Err(bad(
                "network_offer_payout_revenue_id is required for a post_conversion postback of one offer"
                    .into(),
            ));
        }
    }
    Ok(())
}

impl Pixel {
    /// The fields every postback object has, in the order of the documented
    /// examples (LIVE affiliate response prefix, seed 001).
    pub fn base_json(&self, network_id: u64) -> Map<String, Value> {
        let f = &self.fields;
        let v = json!({
            "network_pixel_id": self.id,
            "network_id": network_id,
            "network_affiliate_id": f.affiliate_id,
            "network_offer_id": f.offer_id,
            "network_offer_payout_revenue_id": f.event_id,
            "delivery_method": f.delivery_method,
            "pixel_level": f.pixel_level,
            "pixel_status": f.pixel_status,
            "pixel_type": f.pixel_type,
            "postback_url": f.postback_url,
            "html_code": f.html_code,
            "delay_ms": f.delay_ms,
            "time_created": self.time_created,
            "time_saved": self.time_saved,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// `facebook_pixel` as GET shows it: the object, or `null` (seed 001).
    pub fn facebook_json(&self) -> Value {
        self.fields.facebook_pixel.clone().unwrap_or(Value::Null)
    }
}

/// Where an event id of a post_conversion postback must come from: the ids
/// of an offer's payout entries that are not its default entry. The default
/// entry is the base conversion, which a conversion postback covers (and
/// custom payout settings call 0, LIVE); naming it would make the postback
/// fire on conversions while it says post_conversion.
pub(crate) fn check_event(
    offer_id: u64,
    event_id: u64,
    default_id: Option<u64>,
    event_ids: &[u64],
) -> Result<(), ApiError> {
    if event_id == 0 || event_ids.contains(&event_id) {
        return Ok(());
    }
    if default_id == Some(event_id) {
        return Err(bad(format!(
            "network_offer_payout_revenue_id {event_id} is the base conversion of offer {offer_id}: use pixel_type conversion"
        )));
    }
    Err(bad(format!(
        "network_offer_payout_revenue_id {event_id} is not an event of offer {offer_id}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ISCALE's event postback (source offer 1, event 12).
    fn event() -> Value {
        json!({
            "network_offer_id": 1,
            "network_offer_payout_revenue_id": 12,
            "delivery_method": "postback",
            "pixel_level": "specific",
            "pixel_status": "active",
            "pixel_type": "post_conversion",
            "postback_url": "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=t&event_id=5002"
        })
    }

    fn err(b: &Value, side: Side) -> String {
        parse_pixel_body(Some(b), side, None).unwrap_err().message
    }

    fn with(mut b: Value, k: &str, v: Value) -> Value {
        b[k] = v;
        b
    }

    #[test]
    fn documented_bodies_parse() {
        let p = parse_pixel_body(Some(&event()), Side::Affiliate, None).unwrap();
        assert_eq!((p.offer_id, p.event_id, p.delay_ms), (1, 12, 0));
        // The LIVE affiliate example: a global conversion postback.
        let live = json!({"delivery_method":"postback","pixel_level":"global","pixel_status":"active","pixel_type":"conversion","postback_url":"https://example.com/postback?tid={transaction_id}&amount={revenue}"});
        assert!(parse_pixel_body(Some(&live), Side::Affiliate, None).is_ok());
        // The seed-001 partner create example (network_id is output-only).
        let seed = json!({"network_id": 1, "network_affiliate_id": 7, "network_offer_id": 1, "network_offer_payout_revenue_id": 0, "delivery_method": "postback", "pixel_level": "global_offer", "pixel_status": "active", "pixel_type": "conversion", "postback_url": "http://test2.com?s2={sub2}&s1={sub1}", "html_code": "", "description": "Your postback"});
        let p = parse_pixel_body(Some(&seed), Side::Partner, None).unwrap();
        assert_eq!(p.description, "Your postback");
        assert!(err(&seed, Side::Affiliate).starts_with("unknown field description"));
    }

    #[test]
    fn rules_between_fields() {
        let a = Side::Affiliate;
        assert!(
            err(&with(event(), "adv_event_id", json!(3)), a).contains("unknown field adv_event_id")
        );
        assert!(
            err(&with(event(), "postback_url", json!("ftp://x.test/")), a)
                .contains("http or https")
        );
        assert!(
            err(
                &with(event(), "postback_url", json!("https://{domain}/?a=1")),
                a
            )
            .contains("http or https")
        );
        assert_eq!(
            err(&with(event(), "postback_url", json!("")), a),
            "postback_url is required"
        );
        assert!(
            err(&with(event(), "pixel_type", json!("conversion")), a)
                .contains("must be 0 for pixel_type conversion")
        );
        assert!(
            err(
                &with(event(), "network_offer_payout_revenue_id", json!(0)),
                a
            )
            .contains("is required for a post_conversion")
        );
        assert!(
            parse_pixel_body(
                Some(&with(event(), "network_offer_payout_revenue_id", json!(0))),
                Side::Partner,
                None
            )
            .is_ok()
        );
        assert!(
            err(&with(event(), "pixel_level", json!("global")), a)
                .contains("must be 0 (or left out) for a global")
        );
        assert!(
            err(&with(event(), "pixel_level", json!("global_offer")), a)
                .starts_with("pixel_level must be one of global, specific")
        );
        assert!(
            err(&with(event(), "delay_ms", json!(300_001)), a).contains("between 0 and 300000")
        );
        assert!(
            parse_pixel_body(Some(&with(event(), "delay_ms", json!(300_000))), a, None).is_ok()
        );
        assert!(
            err(&with(event(), "html_code", json!("<img>")), a).contains("html_code must be empty")
        );
        let html = with(
            with(event(), "delivery_method", json!("html")),
            "postback_url",
            json!(""),
        );
        assert_eq!(err(&html, a), "html_code is required");
        assert!(
            parse_pixel_body(
                Some(&with(html, "html_code", json!("<img src=x>"))),
                a,
                None
            )
            .is_ok()
        );
        let fb = with(
            with(event(), "delivery_method", json!("facebook")),
            "postback_url",
            json!(""),
        );
        assert!(err(&fb, a).contains("facebook_pixel is required"));
        assert!(
            err(
                &with(fb.clone(), "facebook_pixel", json!({"pixel_id": "1"})),
                a
            )
            .contains("facebook_pixel.event_name")
        );
        assert!(
            parse_pixel_body(
                Some(&with(
                    fb,
                    "facebook_pixel",
                    json!({"pixel_id": "1", "event_name": "Purchase"})
                )),
                a,
                None
            )
            .is_ok()
        );
        for k in [
            "delivery_method",
            "pixel_level",
            "pixel_status",
            "pixel_type",
        ] {
            let mut b = event();
            b.as_object_mut().unwrap().remove(k);
            assert_eq!(err(&b, a), format!("{k} is required"));
        }
        assert!(
            parse_pixel_body(
                Some(&with(event(), "network_pixel_id", json!(3))),
                a,
                Some(4)
            )
            .is_err()
        );
    }

    #[test]
    fn event_ids_exclude_the_default_entry() {
        assert!(check_event(1, 12, Some(11), &[12]).is_ok());
        assert!(check_event(1, 0, Some(11), &[12]).is_ok());
        assert!(
            check_event(1, 11, Some(11), &[12])
                .unwrap_err()
                .message
                .contains("base conversion")
        );
        assert!(
            check_event(1, 21, Some(11), &[12])
                .unwrap_err()
                .message
                .contains("not an event of offer 1")
        );
    }
}
