//! The destination network (iScale): advertisers, tracking domains and offers,
//! with the Network API's create/replace rules and response shapes.
//!
//! Shapes: GET one offer = base fields + `relationship` holding only what was
//! asked for (relationships.mdx); the list adds the relationships tap-everflow's
//! schema shows on every element; `offerstable` rows follow offers.yaml. POST/PUT
//! take top-level `payout_revenue[]`, GET returns `relationship.payout_revenue`
//! (terraform-provider-everflow's asymmetry).
//!
//! The records that hang off offers (URLs, creatives, custom payout/revenue
//! settings, targeting, uploaded files) are stored here too; their rules live
//! in their own files (`offer_urls.rs`, `creatives.rs`, `custom_payouts.rs`,
//! `targeting.rs` with `bulk_patch.rs`, `uploads.rs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::super::fixtures::DestinationFixture;
use super::super::money;
use super::Clock;
use super::Relationships;
use super::affiliates;
use super::creatives::Creative;
use super::custom_payouts::PayoutRule;
use super::links;
use super::offer_fields::{self, FIELDS, OfferInput, PayoutEntry};
use super::offer_urls::OfferUrl;
use super::pixels::Pixel;
use super::records::Records;
use super::targeting::Targeting;
use super::uploads::{Media, Use};

/// One destination offer: base fields (writable + ids + times + thumbnail_url)
/// and its payout/revenue entries.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DestOffer {
    pub base: Map<String, Value>,
    pub payouts: Vec<PayoutEntry>,
}

impl DestOffer {
    pub fn id(&self) -> u64 {
        self.base
            .get("network_offer_id")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    pub fn str_field(&self, name: &str) -> &str {
        self.base.get(name).and_then(Value::as_str).unwrap_or("")
    }

    pub fn u64_field(&self, name: &str) -> u64 {
        self.base.get(name).and_then(Value::as_u64).unwrap_or(0)
    }

    pub fn default_entry(&self) -> Option<&PayoutEntry> {
        self.payouts.iter().find(|e| e.is_default)
    }

    pub fn labels(&self) -> Vec<String> {
        self.base
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug)]
pub(crate) struct Destination {
    pub network_id: u64,
    pub advertisers: BTreeMap<u64, Map<String, Value>>,
    /// The network's affiliates (partners) by id (`affiliates.rs`).
    pub affiliates: BTreeMap<u64, Map<String, Value>>,
    pub tracking_domains: BTreeMap<u64, Map<String, Value>>,
    pub offers: BTreeMap<u64, DestOffer>,
    pub urls: Records<OfferUrl>,
    pub creatives: Records<Creative>,
    pub payout_rules: Records<PayoutRule>,
    /// Partner postbacks (`partner_pixels.rs`).
    pub pixels: Records<Pixel>,
    /// Per offer, once something wrote its targeting (never shown by GET).
    pub targeting: BTreeMap<u64, Targeting>,
    pub media: Media,
    next_offer_id: u64,
    next_payout_id: u64,
}

/// Everflow's list-like relationship wrapper `{total, entries}`.
fn wrap(entries: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("total".into(), json!(entries.len()));
    m.insert("entries".into(), Value::Array(entries));
    Value::Object(m)
}

impl Destination {
    pub fn new(fx: &DestinationFixture, problems: &mut Vec<String>) -> Destination {
        let mut advertisers = BTreeMap::new();
        for (i, a) in fx.advertisers.iter().enumerate() {
            match a.get("network_advertiser_id").and_then(Value::as_u64) {
                Some(id) if id > 0 => {
                    let mut a = a.clone();
                    a.insert("network_id".into(), json!(fx.network_id));
                    if advertisers.insert(id, a).is_some() {
                        problems.push(format!("destination advertiser {id} is defined twice"));
                    }
                }
                _ => problems.push(format!(
                    "destination.advertisers[{i}] needs a positive network_advertiser_id"
                )),
            }
            let token = a.get("verification_token").and_then(Value::as_str);
            if token.is_some_and(|t| t.chars().count() > 50) {
                problems.push(format!(
                    "destination.advertisers[{i}].verification_token is longer than 50 characters"
                ));
            }
        }
        let mut tracking_domains = BTreeMap::new();
        for (i, d) in fx.tracking_domains.iter().enumerate() {
            let id = d.get("network_tracking_domain_id").and_then(Value::as_u64);
            let url = d.get("url").and_then(Value::as_str);
            match (id, url) {
                (Some(id), Some(url)) if id > 0 && !url.is_empty() => {
                    let mut d = d.clone();
                    d.insert("network_id".into(), json!(fx.network_id));
                    if tracking_domains.insert(id, d).is_some() {
                        problems.push(format!("destination tracking domain {id} is defined twice"));
                    }
                }
                _ => problems.push(format!(
                    "destination.tracking_domains[{i}] needs a positive network_tracking_domain_id and a url"
                )),
            }
        }
        if tracking_domains.is_empty() {
            problems.push("destination needs at least one tracking domain".into());
        }
        Destination {
            network_id: fx.network_id,
            advertisers,
            affiliates: affiliates::load(fx.network_id, &fx.affiliates, problems),
            tracking_domains,
            offers: BTreeMap::new(),
            urls: Records::new(fx.first_offer_url_id),
            creatives: Records::new(fx.first_creative_id),
            payout_rules: Records::new(fx.first_custom_setting_id),
            pixels: Records::new(fx.first_pixel_id),
            targeting: BTreeMap::new(),
            media: Media::new(fx.network_id),
            next_offer_id: fx.first_offer_id.max(1),
            next_payout_id: fx.first_payout_revenue_id.max(1),
        }
    }

    /// The advertiser and tracking domain an offer's base fields name exist.
    pub(crate) fn check_base_refs(&self, base: &Map<String, Value>) -> Result<(), ApiError> {
        let adv = base["network_advertiser_id"].as_u64().unwrap_or(0);
        if !self.advertisers.contains_key(&adv) {
            return Err(ApiError::bad_request(format!(
                "network_advertiser_id {adv} does not exist"
            )));
        }
        let dom = base["network_tracking_domain_id"].as_u64().unwrap_or(0);
        if !self.tracking_domains.contains_key(&dom) {
            return Err(ApiError::bad_request(format!(
                "network_tracking_domain_id {dom} does not exist"
            )));
        }
        Ok(())
    }

    /// Checks an offer's `thumbnail_file` (a known, unused image upload).
    fn check_thumbnail(&self, input: &OfferInput) -> Result<(), ApiError> {
        match &input.thumbnail {
            Some(file) => self.media.check("thumbnail_file", file, Use::Image),
            None => Ok(()),
        }
    }

    /// Uses up the `thumbnail_file` upload; the offer's new `thumbnail_url` is
    /// where the sandbox serves it. Call after every other check passed.
    fn attach_thumbnail(&mut self, input: &OfferInput) -> Result<Option<String>, ApiError> {
        let Some(file) = &input.thumbnail else {
            return Ok(None);
        };
        let asset = self.media.attach("thumbnail_file", file, Use::Image)?;
        Ok(Some(self.media.url(&asset)))
    }

    /// `POST /v1/networks/offers` after body validation.
    pub fn create(&mut self, input: OfferInput, clock: &mut Clock) -> Result<u64, ApiError> {
        self.check_base_refs(&input.base)?;
        self.check_thumbnail(&input)?;
        let thumbnail = self.attach_thumbnail(&input)?.unwrap_or_default();
        let id = self.next_offer_id;
        self.next_offer_id += 1;
        let now = clock.now();
        let mut base = input.base;
        base.insert("network_offer_id".into(), json!(id));
        base.insert("network_id".into(), json!(self.network_id));
        base.insert("thumbnail_url".into(), json!(thumbnail));
        base.insert("time_created".into(), json!(now));
        base.insert("time_saved".into(), json!(now));
        let payouts = input
            .payouts
            .into_iter()
            .map(|(_, mut e)| {
                // Ids sent on a create are ignored: the entries are new.
                e.id = self.next_payout_id;
                self.next_payout_id += 1;
                e.time_created = now;
                e
            })
            .collect();
        self.offers.insert(id, DestOffer { base, payouts });
        Ok(id)
    }

    /// `PUT /v1/networks/offers/{id}`: full replacement.
    pub fn replace(
        &mut self,
        id: u64,
        input: OfferInput,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.offers.get(&id) else {
            return Err(ApiError::no_such("offer", id));
        };
        self.check_base_refs(&input.base)?;
        for (sent, _) in &input.payouts {
            if let Some(sent) = sent
                && !old.payouts.iter().any(|e| e.id == *sent)
            {
                return Err(ApiError::bad_request(format!(
                    "network_offer_payout_revenue_id {sent} does not belong to offer {id}"
                )));
            }
        }
        self.check_thumbnail(&input)?;
        let old = old.clone();
        let thumbnail = match self.attach_thumbnail(&input)? {
            Some(url) => json!(url),
            // thumbnail_url is output-only: without a new file the image stays.
            None => old.base["thumbnail_url"].clone(),
        };
        let mut base = input.base;
        for key in [
            "network_offer_id",
            "network_id",
            "time_created",
            "time_saved",
        ] {
            base.insert(key.into(), old.base[key].clone());
        }
        base.insert("thumbnail_url".into(), thumbnail);
        // LEGACY network/offers: time_saved moves only when a base-level field
        // changes; payout_revenue is a relationship and does not move it.
        if base != old.base {
            let previous = old.base["time_saved"].as_u64().unwrap_or(0);
            base.insert("time_saved".into(), json!(clock.after(previous)));
        }
        let payout_time = clock.now();
        let mut payouts = Vec::with_capacity(input.payouts.len());
        for (sent, mut e) in input.payouts {
            match sent.and_then(|s| old.payouts.iter().find(|o| o.id == s)) {
                Some(kept) => {
                    e.id = kept.id;
                    e.time_created = kept.time_created;
                }
                None => {
                    e.id = self.next_payout_id;
                    self.next_payout_id += 1;
                    e.time_created = payout_time;
                }
            }
            payouts.push(e);
        }
        self.offers.insert(id, DestOffer { base, payouts });
        Ok(())
    }

    /// The short offer object under another record's `relationship.offer`
    /// (creatives, partner postbacks, postback report rows: LIVE, seeds 001
    /// and 002 show the same keys).
    pub fn offer_summary(&self, id: u64) -> Option<Value> {
        const OFFER_KEYS: &[&str] = &[
            "network_offer_id",
            "network_id",
            "network_advertiser_id",
            "network_offer_group_id",
            "name",
            "offer_status",
            "network_tracking_domain_id",
            "visibility",
            "currency_id",
        ];
        let offer = self.offers.get(&id)?;
        let summary: Map<String, Value> = OFFER_KEYS
            .iter()
            .map(|k| {
                (
                    (*k).to_owned(),
                    offer.base.get(*k).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        Some(Value::Object(summary))
    }

    /// The advertiser object (`GET /v1/networks/advertisers/{id}`).
    pub fn advertiser_json(&self, id: u64) -> Option<Value> {
        self.advertisers.get(&id).cloned().map(Value::Object)
    }

    fn relationship(&self, offer: &DestOffer, rels: &Relationships) -> Map<String, Value> {
        let mut rel = Map::new();
        if rels.wants("payout_revenue") {
            let entries = offer
                .payouts
                .iter()
                .map(|e| e.to_json(self.network_id, offer.id()))
                .collect();
            rel.insert("payout_revenue".into(), wrap(entries));
        }
        if rels.wants("advertiser")
            && let Some(Value::Object(mut adv)) =
                self.advertiser_json(offer.u64_field("network_advertiser_id"))
        {
            adv.remove("relationship");
            rel.insert("advertiser".into(), Value::Object(adv));
        }
        if rels.wants("tracking_domain")
            && let Some(d) = self
                .tracking_domains
                .get(&offer.u64_field("network_tracking_domain_id"))
        {
            rel.insert("tracking_domain".into(), Value::Object(d.clone()));
        }
        if rels.wants("urls") {
            let urls = self
                .offer_urls(offer.id())
                .map(|u| self.url_json(u))
                .collect();
            rel.insert("urls".into(), wrap(urls));
        }
        if rels.wants("custom_payout_revenue_settings") {
            let rules = self
                .offer_rules(offer.id())
                .map(|r| self.rule_json(r))
                .collect();
            rel.insert("custom_payout_revenue_settings".into(), wrap(rules));
        }
        // ISCALE: the targeting PATCH "returns true but GET may still show null".
        // The sandbox always shows null, so a client can never come to rely on
        // reading its targeting back (DESIGN.md 5.6: compare fingerprints).
        for name in ["ruleset", "targeting"] {
            if rels.wants(name) {
                rel.insert(name.into(), Value::Null);
            }
        }
        rel
    }

    /// `GET /v1/networks/offers/{id}` (also the POST/PUT response, with no
    /// relationship asked for).
    pub fn offer_json(&self, offer: &DestOffer, rels: &Relationships) -> Value {
        let mut m = offer.base.clone();
        m.insert(
            "relationship".into(),
            Value::Object(self.relationship(offer, rels)),
        );
        Value::Object(m)
    }

    /// An element of `GET /v1/networks/offers`: tap-everflow's schema shows these
    /// relationships on every element without asking.
    pub fn list_element(&self, offer: &DestOffer, rels: &Relationships) -> Value {
        let mut rel = self.relationship(offer, &rels.with("payout_revenue"));
        let empty = || wrap(Vec::new());
        let labels = offer.labels().into_iter().map(Value::String).collect();
        rel.insert("labels".into(), wrap(labels));
        rel.insert(
            "encoded_value".into(),
            json!(links::token(self.network_id, offer.id())),
        );
        rel.insert("is_locked_currency".into(), json!(false));
        rel.insert("channels".into(), empty());
        rel.insert("is_locked_caps_timezone".into(), json!(false));
        rel.insert("requirement_kpis".into(), empty());
        rel.insert("requirement_tracking_parameters".into(), empty());
        let mut m = offer.base.clone();
        m.insert("relationship".into(), Value::Object(rel));
        Value::Object(m)
    }

    /// A row of `POST /v1/networks/offerstable` (offers.yaml response schema).
    pub fn table_row(&self, offer: &DestOffer, rels: &Relationships) -> Value {
        const COPIED: &[&str] = &[
            "network_offer_id",
            "network_id",
            "network_advertiser_id",
            "network_offer_group_id",
            "name",
            "offer_status",
            "thumbnail_url",
            "visibility",
            "currency_id",
            "destination_url",
            "preview_url",
            "network_category_id",
            "conversion_method",
            "is_caps_enabled",
            "daily_conversion_cap",
            "weekly_conversion_cap",
            "monthly_conversion_cap",
            "global_conversion_cap",
            "daily_click_cap",
            "weekly_click_cap",
            "monthly_click_cap",
            "global_click_cap",
            "time_created",
            "time_saved",
        ];
        let mut m = Map::new();
        for k in COPIED {
            m.insert(
                (*k).into(),
                offer.base.get(*k).cloned().unwrap_or(Value::Null),
            );
        }
        let (payout, revenue) = match offer.default_entry() {
            Some(e) => (
                json!({"payout_type": e.payout_type, "payout_amount": money::to_json(e.payout_amount)}),
                json!({"revenue_type": e.revenue_type, "revenue_amount": money::to_json(e.revenue_amount)}),
            ),
            None => (json!({}), json!({})),
        };
        m.insert("payout".into(), payout);
        m.insert("revenue".into(), revenue);
        m.insert(
            "relationship".into(),
            Value::Object(self.relationship(offer, rels)),
        );
        Value::Object(m)
    }

    /// The offer as a PUT body (base fields + `payout_revenue[]` with ids).
    pub fn put_body(&self, offer: &DestOffer) -> Map<String, Value> {
        let mut m = Map::new();
        for f in FIELDS {
            if let Some(v) = offer.base.get(f.name) {
                m.insert(f.name.into(), v.clone());
            }
        }
        let entries = offer
            .payouts
            .iter()
            .map(|e| e.to_json(self.network_id, offer.id()))
            .collect();
        m.insert("payout_revenue".into(), Value::Array(entries));
        m
    }

    /// Parses and creates in one step (fixture offers, tests).
    pub fn create_from_body(&mut self, body: &Value, clock: &mut Clock) -> Result<u64, ApiError> {
        let input = offer_fields::parse_offer_body(Some(body))?;
        self.create(input, clock)
    }
}
