//! Request bodies for our postback pixels in the source networks (Affiliate API,
//! `/v1/affiliates/pixels`). The pixels themselves are rendered in `render::pixels`.

use serde_json::{Value, json};

use crate::everflow::affiliate::{LivePixel, PixelView};

/// Fields a GET returns that a PUT does not take (or that are not ours to set).
const OUTPUT_ONLY: &[&str] = &[
    "network_pixel_id",
    "network_id",
    "network_affiliate_id",
    "time_created",
    "time_saved",
    "relationship",
];

/// The key a live pixel has among an offer's pixels, as rendered pixels are keyed:
/// `conversion` or `event:<source event id>`.
pub fn pixel_key(view: &PixelView) -> String {
    if view.pixel_type == "conversion" {
        "conversion".to_owned()
    } else {
        format!("event:{}", view.network_offer_payout_revenue_id)
    }
}

/// A pixel firing `postback_url` for one event of one source offer: the ISCALE body
/// (`delivery_method: postback`, `pixel_level: specific`, `pixel_status: active`), over
/// the live pixel when it exists (PUT is a full replacement).
pub fn pixel_body(
    source_offer_id: u64,
    pixel_type: &str,
    source_event_id: u64,
    postback_url: &str,
    live: Option<&LivePixel>,
) -> Value {
    let mut body = live.map(|live| live.raw().object()).unwrap_or_default();
    for key in OUTPUT_ONLY {
        body.remove(*key);
    }
    let managed = [
        ("network_offer_id", json!(source_offer_id)),
        ("network_offer_payout_revenue_id", json!(source_event_id)),
        ("delivery_method", json!("postback")),
        ("pixel_level", json!("specific")),
        ("pixel_status", json!("active")),
        ("pixel_type", json!(pixel_type)),
        ("postback_url", json!(postback_url)),
    ];
    for (key, value) in managed {
        body.insert(key.to_owned(), value);
    }
    Value::Object(body)
}

/// Affiliate pixels have no DELETE and no `deleted` status: one no longer wanted is made
/// inactive.
pub fn deactivate_body(live: &LivePixel) -> Value {
    let mut body = live.raw().object();
    for key in OUTPUT_ONLY {
        body.remove(*key);
    }
    body.insert("pixel_status".to_owned(), json!("inactive"));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_event_pixel_body_is_the_runbook_body() {
        let body = pixel_body(
            1,
            "post_conversion",
            12,
            "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=t&event_id=5002",
            None,
        );
        assert_eq!(
            body,
            json!({
                "network_offer_id": 1,
                "network_offer_payout_revenue_id": 12,
                "delivery_method": "postback",
                "pixel_level": "specific",
                "pixel_status": "active",
                "pixel_type": "post_conversion",
                "postback_url": "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=t&event_id=5002"
            })
        );
        assert!(!body.to_string().contains("adv_event_id"));
    }

    #[test]
    fn a_repair_keeps_what_offersync_does_not_manage() {
        let live = LivePixel::from_value(json!({
            "network_pixel_id": 9, "network_id": 101, "network_affiliate_id": 42, "network_offer_id": 1,
            "network_offer_payout_revenue_id": 0, "delivery_method": "postback", "pixel_level": "specific",
            "pixel_status": "active", "pixel_type": "conversion", "postback_url": "https://wrong.test/",
            "delay_ms": 2000, "time_created": 1, "time_saved": 2
        }))
        .unwrap();
        let body = pixel_body(
            1,
            "conversion",
            0,
            "https://trk.iscale.test/?nid=7001",
            Some(&live),
        );
        assert_eq!(body["delay_ms"], 2000);
        assert_eq!(body["postback_url"], "https://trk.iscale.test/?nid=7001");
        assert!(body.get("network_pixel_id").is_none());
        assert_eq!(deactivate_body(&live)["pixel_status"], "inactive");
    }
}
