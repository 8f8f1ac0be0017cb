//! The sandbox's in-memory data: one destination network, the source networks,
//! the Offerit install (a second destination, when the fixtures have one) and the
//! clock that stamps `time_created`/`time_saved`.
//!
//! It knows nothing about HTTP beyond the [`ApiError`] its rules produce; the
//! routes translate requests into calls here.

pub(crate) mod advertiser_patch;
mod affiliate_pixels;
pub(crate) mod affiliates;
mod body;
pub(crate) mod bulk_patch;
pub(crate) mod creatives;
pub(crate) mod custom_payouts;
pub(crate) mod delivery_log;
mod destination;
pub(crate) mod links;
mod media;
pub(crate) mod offer_fields;
pub(crate) mod offer_urls;
pub(crate) mod offerit;
pub(crate) mod partner_pixels;
pub(crate) mod pixels;
mod records;
mod source;
pub(crate) mod targeting;
mod tracking_links;
pub(crate) mod uploads;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::{ApiError, SandboxError};
use super::fixtures::Fixtures;
use super::query::QueryParams;

pub(crate) use destination::{DestOffer, Destination};
pub(crate) use source::Source;

/// Unix seconds for `time_created`/`time_saved`: the wall clock, never going
/// back, and a saved record's new `time_saved` is always later than its old one,
/// so a change shows even when two saves fall in the same wall-clock second.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: u64,
}

impl Clock {
    fn wall() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Now, never before an earlier answer.
    pub fn now(&mut self) -> u64 {
        self.last = Clock::wall().max(self.last);
        self.last
    }

    /// A new `time_saved` for a record last saved at `previous`.
    pub fn after(&mut self, previous: u64) -> u64 {
        self.last = self.now().max(previous + 1);
        self.last
    }
}

/// The relationships a request asked for (`relationship=`; `all` = all modelled).
#[derive(Debug, Clone, Default)]
pub(crate) struct Relationships(BTreeSet<String>);

impl Relationships {
    pub fn from_query(q: &QueryParams) -> Relationships {
        Relationships(q.relationships())
    }

    pub fn payout_revenue() -> Relationships {
        Relationships::default().with("payout_revenue")
    }

    pub fn with(&self, name: &str) -> Relationships {
        let mut set = self.0.clone();
        set.insert(name.to_owned());
        Relationships(set)
    }

    pub fn wants(&self, name: &str) -> bool {
        self.0.contains(name) || self.0.contains("all")
    }
}

#[derive(Debug)]
pub(crate) struct World {
    pub clock: Clock,
    pub destination: Destination,
    pub sources: BTreeMap<String, Source>,
    /// The Offerit install under `/api`, if the fixtures have one.
    pub offerit: Option<offerit::Offerit>,
    /// Deliveries per partner postback per offer per day in the synthetic
    /// delivery log (`delivery_log.rs`).
    pub postback_volume: u32,
}

impl World {
    /// Builds the world; entries that do not validate are left out and described.
    pub fn build(fx: &Fixtures) -> (World, Vec<String>) {
        let mut problems = Vec::new();
        let mut clock = Clock::default();
        let mut destination = Destination::new(&fx.destination, &mut problems);
        let mut keys = BTreeSet::new();
        let mut check_key = |key: &str, owner: &str, problems: &mut Vec<String>| {
            if key.trim().is_empty() {
                problems.push(format!("{owner} has an empty api key"));
            } else if !keys.insert(key.to_owned()) {
                problems.push(format!("{owner} reuses an api key of another network"));
            }
        };
        check_key(&fx.destination.api_key, "destination", &mut problems);
        let offerit = fx.offerit.as_ref().map(|o| {
            check_key(&o.api_key, "offerit", &mut problems);
            offerit::Offerit::new(o, &mut problems)
        });
        let mut sources = BTreeMap::new();
        for s in &fx.sources {
            let owner = format!("source `{}`", s.name);
            let valid_name = !s.name.is_empty()
                && s.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid_name {
                problems.push(format!(
                    "{owner}: name must be lowercase letters, digits, - or _"
                ));
            }
            let other_keys = s.other_affiliates.iter().map(|a| &a.api_key);
            for key in std::iter::once(&s.api_key)
                .chain(&s.extra_api_keys)
                .chain(other_keys)
            {
                check_key(key, &owner, &mut problems);
            }
            if s.verification_token.is_empty() || s.verification_token.chars().count() > 50 {
                problems.push(format!(
                    "{owner}: verification_token must be 1 to 50 characters"
                ));
            }
            if !destination
                .advertisers
                .contains_key(&s.destination_advertiser_id)
            {
                problems.push(format!(
                    "{owner}: destination_advertiser_id {} is not a destination advertiser",
                    s.destination_advertiser_id
                ));
            }
            if let Some(id) = s.offerit_advertiser_id
                && !offerit
                    .as_ref()
                    .is_some_and(|o| o.advertisers.contains_key(&id))
            {
                problems.push(format!(
                    "{owner}: offerit_advertiser_id {id} is not an Offerit advertiser"
                ));
            }
            if s.network_id == 0 || s.affiliate_id == 0 || s.tracking_domain.is_empty() {
                problems.push(format!(
                    "{owner}: network_id, affiliate_id and tracking_domain are required"
                ));
            }
            let source = Source::new(s, &mut problems);
            if sources.insert(s.name.clone(), source).is_some() {
                problems.push(format!("{owner} is defined twice"));
            }
        }
        for (i, body) in fx.destination.offers.iter().enumerate() {
            if let Err(e) = destination.create_from_body(body, &mut clock) {
                problems.push(format!("destination.offers[{i}]: {}", e.message));
            }
        }
        for (i, body) in fx.destination.pixels.iter().enumerate() {
            let created = pixels::parse_pixel_body(Some(body), pixels::Side::Partner, None)
                .and_then(|input| destination.create_partner_pixel(input, &mut clock));
            if let Err(e) = created {
                problems.push(format!("destination.pixels[{i}]: {}", e.message));
            }
        }
        (
            World {
                clock,
                destination,
                sources,
                offerit,
                postback_volume: delivery_log::DEFAULT_VOLUME,
            },
            problems,
        )
    }

    pub fn destination_offer_json(&self, id: u64, rels: &Relationships) -> Option<Value> {
        let offer = self.destination.offers.get(&id)?;
        Some(self.destination.offer_json(offer, rels))
    }

    /// See [`super::Sandbox::edit_destination_offer`].
    pub fn edit_destination_offer(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), SandboxError> {
        let offer = self
            .destination
            .offers
            .get(&id)
            .ok_or(SandboxError::UnknownDestinationOffer(id))?;
        let mut body = self.destination.put_body(offer);
        f(&mut body);
        let invalid = |e: ApiError| SandboxError::InvalidEdit {
            offer_id: id,
            message: e.message,
        };
        let input = offer_fields::parse_offer_body(Some(&Value::Object(body))).map_err(invalid)?;
        self.destination
            .replace(id, input, &mut self.clock)
            .map_err(invalid)
    }

    /// Sets a source payout entry's amount and/or percentage; returns the entry.
    pub fn source_payout_mut(
        &mut self,
        network: &str,
        offer_id: u64,
        entry_name: &str,
        amount: Option<Decimal>,
        percentage: Option<Decimal>,
    ) -> Result<Value, SandboxError> {
        for d in amount.iter().chain(percentage.iter()) {
            if d.is_sign_negative() && !d.is_zero() {
                return Err(SandboxError::NegativePayout(*d));
            }
        }
        let source = self
            .sources
            .get_mut(network)
            .ok_or_else(|| SandboxError::UnknownNetwork(network.to_owned()))?;
        if !source.offers.contains_key(&offer_id) {
            return Err(SandboxError::UnknownSourceOffer {
                network: network.to_owned(),
                offer_id,
            });
        }
        source
            .set_payout(offer_id, entry_name, amount, percentage)
            .ok_or_else(|| SandboxError::UnknownPayoutEntry {
                network: network.to_owned(),
                offer_id,
                entry_name: entry_name.to_owned(),
            })
    }

    /// See [`super::Sandbox::edit_source_offer`] and
    /// [`super::Sandbox::set_landing_page`].
    pub fn edit_source_offer(
        &mut self,
        network: &str,
        offer_id: u64,
        edit: impl FnOnce(&mut Map<String, Value>, &mut BTreeMap<u64, String>),
    ) -> Result<(), SandboxError> {
        let source = self
            .sources
            .get_mut(network)
            .ok_or_else(|| SandboxError::UnknownNetwork(network.to_owned()))?;
        if !source.offers.contains_key(&offer_id) {
            return Err(SandboxError::UnknownSourceOffer {
                network: network.to_owned(),
                offer_id,
            });
        }
        source
            .edit_offer(offer_id, edit)
            .map_err(|message| SandboxError::InvalidSourceEdit {
                network: network.to_owned(),
                offer_id,
                message,
            })
    }

    /// See [`super::Sandbox::edit_source_pixel`].
    pub fn edit_source_pixel(
        &mut self,
        network: &str,
        pixel_id: u64,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), SandboxError> {
        let source = self
            .sources
            .get_mut(network)
            .ok_or_else(|| SandboxError::UnknownNetwork(network.to_owned()))?;
        let pixel =
            source
                .pixels
                .get(pixel_id)
                .ok_or_else(|| SandboxError::UnknownSourcePixel {
                    network: network.to_owned(),
                    pixel_id,
                })?;
        let owner = pixel.owner;
        let Value::Object(mut view) = source.pixel_json(pixel) else {
            return Ok(());
        };
        f(&mut view);
        let invalid = |e: ApiError| SandboxError::InvalidSourcePixelEdit {
            network: network.to_owned(),
            pixel_id,
            message: e.message,
        };
        let body = Value::Object(view);
        let input = pixels::parse_pixel_body(Some(&body), pixels::Side::Affiliate, Some(pixel_id))
            .map_err(invalid)?;
        source
            .replace_pixel(owner, pixel_id, input, &mut self.clock)
            .map_err(invalid)
    }

    /// The destination's offers in id order.
    pub fn destination_offers(&self) -> impl Iterator<Item = &DestOffer> {
        self.destination.offers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixture_destination_offers_are_created_and_bad_ones_reported() {
        let mut fx = Fixtures::builtin();
        fx.destination.offers = vec![
            json!({
                "network_advertiser_id": 13, "name": "Existing", "currency_id": "USD",
                "destination_url": "https://start.trimrx.test/x", "network_tracking_domain_id": 1,
                "offer_status": "active",
                "payout_revenue": [{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true}]
            }),
            json!({"name": "Broken"}),
        ];
        let (world, problems) = World::build(&fx);
        assert_eq!(
            problems,
            ["destination.offers[1]: network_advertiser_id is required"]
        );
        let offer = world.destination.offers.get(&1001).unwrap();
        assert_eq!(offer.str_field("name"), "Existing");
        assert_eq!(offer.payouts[0].id, 5001);
    }

    #[test]
    fn fixture_partner_postbacks_are_created_and_bad_ones_reported() {
        let mut fx = Fixtures::builtin();
        let (world, problems) = World::build(&fx);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(world.destination.pixels.values().count(), 4);
        fx.destination.pixels.push(json!({
            "network_affiliate_id": 99, "delivery_method": "postback", "pixel_level": "global",
            "pixel_status": "active", "pixel_type": "conversion", "postback_url": "https://x.test/"
        }));
        assert_eq!(
            World::build(&fx).1,
            ["destination.pixels[4]: network_affiliate_id 99 does not exist"]
        );
    }

    #[test]
    fn clock_saves_are_strictly_later() {
        let mut clock = Clock::default();
        let t = clock.now();
        assert!(clock.after(t) > t);
        let far = t + 1000;
        assert_eq!(clock.after(far), far + 1);
        assert!(clock.now() > far, "never goes back");
    }

    #[test]
    fn duplicate_keys_and_unknown_advertisers_are_problems() {
        let mut fx = Fixtures::builtin();
        fx.sources[1].api_key = fx.destination.api_key.clone();
        fx.sources[1].destination_advertiser_id = 99;
        let problems = World::build(&fx).1;
        assert!(
            problems.iter().any(|p| p.contains("reuses an api key")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("destination_advertiser_id 99")),
            "{problems:?}"
        );
    }
}
