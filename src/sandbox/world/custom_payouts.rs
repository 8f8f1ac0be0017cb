//! Custom payout/revenue settings of destination offers
//! (`/v1/networks/custom/payoutrevenue`): create, full-replacement PUT, DELETE
//! and the object's JSON shape.
//!
//! Shapes come from the LIVE create page (request example and response
//! prefix) and ISCALE's production body (`is_apply_specific_offer_urls`,
//! `network_offer_url_ids`, a real event id). SNAP's custom-payout-revenue.yaml
//! is an older draft (one `network_affiliate_id`, payout types
//! cpa/cpc/cpm/revshare) that both contradict; the sandbox follows LIVE.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::money;
use super::Clock;
use super::body::Fields;
use super::destination::Destination;
use super::offer_fields::{PAYOUT_TYPES, REVENUE_TYPES};

/// `custom_setting_status`: LIVE shows `active`, SNAP lists `active|inactive`,
/// and ISCALE deactivates settings with `deleted`. Nothing documents `paused`.
pub(crate) const SETTING_STATUS: &[&str] = &["active", "inactive", "deleted"];

const KNOWN: &[&str] = &[
    "network_offer_payout_revenue_id",
    "network_offer_id",
    "name",
    "custom_setting_status",
    "is_apply_all_affiliates",
    "network_affiliate_ids",
    "is_custom_payout_enabled",
    "payout_type",
    "payout_amount",
    "payout_percentage",
    "is_custom_revenue_enabled",
    "revenue_type",
    "revenue_amount",
    "revenue_percentage",
    "description",
    "public_description",
    "is_postback_disabled",
    "date_valid_from",
    "date_valid_to",
    "is_apply_specific_offer_urls",
    "network_offer_url_ids",
    // Output-only: accepted so a client can PUT what it read.
    "network_custom_payout_revenue_setting_id",
    "network_id",
    "time_created",
    "time_saved",
    "relationship",
];

/// The writable fields of one setting, validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RuleInput {
    pub offer_id: u64,
    /// 0 = the base conversion (LIVE), else an event of the offer.
    pub event_id: u64,
    pub name: String,
    pub status: String,
    pub is_apply_all_affiliates: bool,
    pub network_affiliate_ids: Vec<u64>,
    pub is_custom_payout_enabled: bool,
    pub payout_type: String,
    pub payout_amount: Decimal,
    pub payout_percentage: Decimal,
    pub is_custom_revenue_enabled: bool,
    pub revenue_type: String,
    pub revenue_amount: Decimal,
    pub revenue_percentage: Decimal,
    pub description: String,
    pub public_description: String,
    pub is_postback_disabled: bool,
    pub date_valid_from: String,
    pub date_valid_to: String,
    pub is_apply_specific_offer_urls: bool,
    pub network_offer_url_ids: Vec<u64>,
}

/// One stored setting.
#[derive(Clone, Debug)]
pub(crate) struct PayoutRule {
    pub id: u64,
    pub fields: RuleInput,
    pub time_created: u64,
    pub time_saved: u64,
}

/// Validates a POST body, or a PUT body for `path_id`; the offer, event and
/// URL references are checked against the network by the caller.
pub(crate) fn parse_rule_body(
    body: Option<&Value>,
    path_id: Option<u64>,
) -> Result<RuleInput, ApiError> {
    let f = Fields::new(body, KNOWN)?;
    if let Some(id) = path_id {
        f.same_id("network_custom_payout_revenue_setting_id", id)?;
    }
    let offer_id = f.id("network_offer_id")?;
    // Required to be present although 0 is a valid value: both documented
    // bodies send it, and leaving it out is more likely a bug than "base".
    let event_id = f
        .opt_u64("network_offer_payout_revenue_id")?
        .ok_or_else(|| ApiError::bad_request("network_offer_payout_revenue_id is required"))?;
    let name = f.text("name")?;
    let status = f.choice("custom_setting_status", SETTING_STATUS)?;
    let is_apply_all_affiliates = f.flag("is_apply_all_affiliates")?;
    let is_custom_payout_enabled = f.flag("is_custom_payout_enabled")?;
    let is_custom_revenue_enabled = f.flag("is_custom_revenue_enabled")?;
    let input = RuleInput {
        offer_id,
        event_id,
        name,
        status,
        is_apply_all_affiliates,
        network_affiliate_ids: f.opt_ids("network_affiliate_ids")?,
        is_custom_payout_enabled,
        payout_type: f.opt_choice("payout_type", PAYOUT_TYPES, "blank")?,
        payout_amount: f.money("payout_amount")?,
        payout_percentage: f.money("payout_percentage")?,
        is_custom_revenue_enabled,
        revenue_type: f.opt_choice("revenue_type", REVENUE_TYPES, "blank")?,
        revenue_amount: f.money("revenue_amount")?,
        revenue_percentage: f.money("revenue_percentage")?,
        description: f.opt_text("description")?,
        public_description: f.opt_text("public_description")?,
        is_postback_disabled: f.opt_flag("is_postback_disabled")?.unwrap_or(false),
        date_valid_from: f.opt_text("date_valid_from")?,
        date_valid_to: f.opt_text("date_valid_to")?,
        is_apply_specific_offer_urls: f.opt_flag("is_apply_specific_offer_urls")?.unwrap_or(false),
        network_offer_url_ids: f.opt_ids("network_offer_url_ids")?,
    };
    check_consistency(&input)?;
    Ok(input)
}

/// The rules between fields. LIVE: at least one of the two `is_custom_*`
/// flags. The others are not documented; the sandbox refuses the combinations
/// that would make a setting mean something other than what was sent.
fn check_consistency(r: &RuleInput) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_request(m.to_owned()));
    if !r.is_custom_payout_enabled && !r.is_custom_revenue_enabled {
        return bad(
            "at least one of is_custom_payout_enabled and is_custom_revenue_enabled must be true",
        );
    }
    if r.is_custom_payout_enabled && r.payout_type == "blank" {
        return bad("payout_type is required when is_custom_payout_enabled is true");
    }
    if r.is_custom_revenue_enabled && r.revenue_type == "blank" {
        return bad("revenue_type is required when is_custom_revenue_enabled is true");
    }
    match (
        r.is_apply_all_affiliates,
        r.network_affiliate_ids.is_empty(),
    ) {
        (false, true) => {
            return bad(
                "network_affiliate_ids must not be empty when is_apply_all_affiliates is false",
            );
        }
        (true, false) => {
            return bad("network_affiliate_ids must be empty when is_apply_all_affiliates is true");
        }
        _ => {}
    }
    match (
        r.is_apply_specific_offer_urls,
        r.network_offer_url_ids.is_empty(),
    ) {
        (true, true) => {
            bad("network_offer_url_ids must not be empty when is_apply_specific_offer_urls is true")
        }
        // Ids without the flag would silently apply the setting to every URL.
        (false, false) => bad("network_offer_url_ids needs is_apply_specific_offer_urls true"),
        _ => Ok(()),
    }
}

impl Destination {
    /// The offer exists, the event is one of its events, the URLs are its URLs.
    fn check_rule_refs(&self, r: &RuleInput) -> Result<(), ApiError> {
        let offer = self.offers.get(&r.offer_id).ok_or_else(|| {
            ApiError::bad_request(format!("network_offer_id {} does not exist", r.offer_id))
        })?;
        if r.event_id != 0 && !offer.payouts.iter().any(|e| e.id == r.event_id) {
            return Err(ApiError::bad_request(format!(
                "network_offer_payout_revenue_id {} is not an event of offer {}",
                r.event_id, r.offer_id
            )));
        }
        for url_id in &r.network_offer_url_ids {
            let own = self
                .urls
                .get(*url_id)
                .is_some_and(|u| u.fields.offer_id == r.offer_id);
            if !own {
                return Err(ApiError::bad_request(format!(
                    "network_offer_url_ids: {url_id} is not a url of offer {}",
                    r.offer_id
                )));
            }
        }
        Ok(())
    }

    /// `POST /v1/networks/custom/payoutrevenue` after body validation.
    pub fn create_rule(&mut self, input: RuleInput, clock: &mut Clock) -> Result<u64, ApiError> {
        self.check_rule_refs(&input)?;
        let id = self.payout_rules.allocate();
        let now = clock.now();
        let rule = PayoutRule {
            id,
            fields: input,
            time_created: now,
            time_saved: now,
        };
        self.payout_rules.items.insert(id, rule);
        Ok(id)
    }

    /// `PUT /v1/networks/custom/payoutrevenue/{id}`: full replacement.
    pub fn replace_rule(
        &mut self,
        id: u64,
        input: RuleInput,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.payout_rules.get(id) else {
            return Err(ApiError::no_such("custom payout/revenue setting", id));
        };
        if input.offer_id != old.fields.offer_id {
            return Err(ApiError::bad_request(format!(
                "network_offer_id cannot change: setting {id} belongs to offer {}",
                old.fields.offer_id
            )));
        }
        self.check_rule_refs(&input)?;
        let time_saved = if input == old.fields {
            old.time_saved
        } else {
            clock.after(old.time_saved)
        };
        let rule = PayoutRule {
            id,
            fields: input,
            time_created: old.time_created,
            time_saved,
        };
        self.payout_rules.items.insert(id, rule);
        Ok(())
    }

    /// `DELETE /v1/networks/custom/payoutrevenue/{id}` (documented, unlike
    /// DELETE on offer URLs).
    pub fn delete_rule(&mut self, id: u64) -> Result<(), ApiError> {
        self.payout_rules
            .items
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| ApiError::no_such("custom payout/revenue setting", id))
    }

    /// The setting object (LIVE response prefix).
    pub fn rule_json(&self, r: &PayoutRule) -> Value {
        let f = &r.fields;
        json!({
            "network_custom_payout_revenue_setting_id": r.id,
            "network_id": self.network_id,
            "network_offer_id": f.offer_id,
            "network_offer_payout_revenue_id": f.event_id,
            "name": f.name,
            "custom_setting_status": f.status,
            "is_apply_all_affiliates": f.is_apply_all_affiliates,
            "is_custom_payout_enabled": f.is_custom_payout_enabled,
            "payout_type": f.payout_type,
            "payout_amount": money::to_json(f.payout_amount),
            "payout_percentage": money::to_json(f.payout_percentage),
            "is_custom_revenue_enabled": f.is_custom_revenue_enabled,
            "revenue_type": f.revenue_type,
            "revenue_amount": money::to_json(f.revenue_amount),
            "revenue_percentage": money::to_json(f.revenue_percentage),
            "description": f.description,
            "public_description": f.public_description,
            "is_postback_disabled": f.is_postback_disabled,
            "date_valid_from": f.date_valid_from,
            "date_valid_to": f.date_valid_to,
            "is_apply_specific_offer_urls": f.is_apply_specific_offer_urls,
            "network_affiliate_ids": f.network_affiliate_ids,
            "time_created": r.time_created,
            "time_saved": r.time_saved,
            "network_offer_url_ids": f.network_offer_url_ids,
            "relationship": {},
        })
    }

    /// An offer's settings in id order.
    pub fn offer_rules(&self, offer_id: u64) -> impl Iterator<Item = &PayoutRule> {
        self.payout_rules
            .values()
            .filter(move |r| r.fields.offer_id == offer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ISCALE's production body.
    fn body() -> Value {
        json!({
            "network_offer_id": 4,
            "network_offer_payout_revenue_id": 51,
            "name": "Upsells URLs $290",
            "custom_setting_status": "active",
            "is_apply_all_affiliates": true,
            "is_custom_payout_enabled": true,
            "payout_amount": 290,
            "payout_percentage": 0,
            "payout_type": "cpa",
            "is_custom_revenue_enabled": false,
            "revenue_amount": 0,
            "revenue_percentage": 0,
            "revenue_type": "blank",
            "is_apply_specific_offer_urls": true,
            "network_offer_url_ids": [104, 105]
        })
    }

    fn err(b: &Value) -> String {
        parse_rule_body(Some(b), None).unwrap_err().message
    }

    #[test]
    fn the_documented_bodies_parse() {
        let r = parse_rule_body(Some(&body()), None).unwrap();
        assert_eq!(r.payout_amount, Decimal::from(290));
        assert_eq!(r.network_offer_url_ids, [104, 105]);
        // LIVE example: base conversion, specific affiliates.
        let live = json!({
            "network_offer_payout_revenue_id": 0, "network_offer_id": 1, "name": "VIP Partner Rate",
            "custom_setting_status": "active", "is_apply_all_affiliates": false,
            "network_affiliate_ids": [7, 14], "is_custom_payout_enabled": true, "payout_type": "cpa",
            "payout_amount": 5, "payout_percentage": 0, "is_custom_revenue_enabled": false,
            "revenue_type": "blank", "revenue_amount": 0, "revenue_percentage": 0
        });
        assert_eq!(parse_rule_body(Some(&live), None).unwrap().event_id, 0);
    }

    #[test]
    fn required_fields_and_rules() {
        for key in [
            "network_offer_id",
            "network_offer_payout_revenue_id",
            "name",
            "custom_setting_status",
            "is_apply_all_affiliates",
            "is_custom_payout_enabled",
            "is_custom_revenue_enabled",
        ] {
            let mut b = body();
            b.as_object_mut().unwrap().remove(key);
            assert_eq!(err(&b), format!("{key} is required"));
        }
        let mut b = body();
        b["is_custom_payout_enabled"] = json!(false);
        assert!(err(&b).starts_with("at least one of"));
        let mut b = body();
        b["is_apply_all_affiliates"] = json!(false);
        assert!(err(&b).contains("network_affiliate_ids must not be empty"));
        let mut b = body();
        b["network_offer_url_ids"] = json!([]);
        assert!(err(&b).contains("network_offer_url_ids must not be empty"));
        let mut b = body();
        b["is_apply_specific_offer_urls"] = json!(false);
        assert!(err(&b).contains("needs is_apply_specific_offer_urls"));
        let mut b = body();
        b["custom_setting_status"] = json!("paused");
        assert!(err(&b).starts_with("custom_setting_status must be one of"));
        let mut b = body();
        b["payout_type"] = json!("blank");
        assert!(err(&b).starts_with("payout_type is required"));
        let mut b = body();
        b["payout_amount"] = json!(-1);
        assert!(err(&b).contains("non-negative"));
    }
}
