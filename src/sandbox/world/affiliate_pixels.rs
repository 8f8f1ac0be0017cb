//! Affiliate postbacks of a source network (`/v1/affiliates/pixels`): an
//! affiliate's own conversion and event postbacks, which is where offersync
//! points a source offer's conversions at iScale.
//!
//! A postback belongs to the affiliate that created it; other affiliates of
//! the network neither see nor change it (404, affiliate-postbacks.yaml:
//! "Postback not found or does not belong to the authenticated affiliate").
//! A `specific` postback names an offer the affiliate can run, and a
//! post_conversion one an event of that offer: an id of the source offer's
//! `relationship.payouts.entries[]` other than its default entry (see
//! `pixels::check_event`). A `cpc` postback of one offer needs a cpc payout
//! on it ("CPC is used specifically for individual offers that have CPC
//! payouts", seed 001).
//!
//! The object is the LIVE response prefix: the shared fields (`pixels.rs`),
//! `facebook_pixel`, the empty `tiktok_pixel`/`snapchat_pixel`/`rumble_pixel`
//! objects and `relationship.affiliate` (the LEGACY example, truncated there
//! after `name`; the sandbox adds `account_status` like the other affiliate
//! objects of relationships.mdx).

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::pixels::{self, Pixel, PixelInput};
use super::source::Source;

impl Source {
    /// The offer, event and ownership references of a postback `affiliate`
    /// sends.
    fn check_pixel_refs(&self, affiliate: u64, p: &PixelInput) -> Result<(), ApiError> {
        if p.affiliate_id != 0 && p.affiliate_id != affiliate {
            return Err(ApiError::bad_request(format!(
                "network_affiliate_id {} is not yours ({affiliate})",
                p.affiliate_id
            )));
        }
        if p.offer_id == 0 {
            return Ok(());
        }
        // An offer the affiliate cannot see gets the same answer as one it
        // cannot run: the postback route must not reveal hidden offers.
        let offer = self
            .visible_offer(p.offer_id, affiliate)
            .filter(|o| self.runnable_by(o, affiliate))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "network_offer_id {} is not an offer you can run",
                    p.offer_id
                ))
            })?;
        let entries = offer.payout_entries();
        if p.pixel_type == "post_conversion" {
            let default = entries.iter().find(|e| e.1).map(|e| e.0);
            let events: Vec<u64> = entries.iter().filter(|e| !e.1).map(|e| e.0).collect();
            pixels::check_event(p.offer_id, p.event_id, default, &events)?;
        }
        if p.pixel_type == "cpc" && !entries.iter().any(|e| e.2 == "cpc") {
            return Err(ApiError::bad_request(format!(
                "pixel_type cpc needs a cpc payout on offer {}",
                p.offer_id
            )));
        }
        Ok(())
    }

    /// `affiliate`'s postback `id` (`None` for another affiliate's).
    pub fn own_pixel(&self, affiliate: u64, id: u64) -> Option<&Pixel> {
        self.pixels.get(id).filter(|p| p.owner == affiliate)
    }

    /// `POST /v1/affiliates/pixels` after body validation.
    pub fn create_pixel(
        &mut self,
        affiliate: u64,
        mut input: PixelInput,
        clock: &mut Clock,
    ) -> Result<u64, ApiError> {
        self.check_pixel_refs(affiliate, &input)?;
        input.affiliate_id = affiliate;
        let id = self.pixels.allocate();
        let now = clock.now();
        let pixel = Pixel {
            id,
            owner: affiliate,
            fields: input,
            time_created: now,
            time_saved: now,
        };
        self.pixels.items.insert(id, pixel);
        Ok(id)
    }

    /// `PUT /v1/affiliates/pixels/{id}`: full replacement; 404 for a postback
    /// that is not `affiliate`'s. `time_saved` moves only on a change.
    pub fn replace_pixel(
        &mut self,
        affiliate: u64,
        id: u64,
        mut input: PixelInput,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.own_pixel(affiliate, id) else {
            return Err(ApiError::no_such("postback", id));
        };
        let old = old.clone();
        self.check_pixel_refs(affiliate, &input)?;
        input.affiliate_id = affiliate;
        let time_saved = if input == old.fields {
            old.time_saved
        } else {
            clock.after(old.time_saved)
        };
        let pixel = Pixel {
            fields: input,
            time_saved,
            ..old
        };
        self.pixels.items.insert(id, pixel);
        Ok(())
    }

    /// The postback object (LIVE response prefix).
    pub fn pixel_json(&self, p: &Pixel) -> Value {
        let mut m = p.base_json(self.network_id);
        m.insert("facebook_pixel".into(), p.facebook_json());
        for k in ["tiktok_pixel", "snapchat_pixel", "rumble_pixel"] {
            m.insert(k.into(), json!({}));
        }
        m.insert(
            "relationship".into(),
            json!({
                "affiliate": {
                    "network_affiliate_id": p.owner,
                    "network_id": self.network_id,
                    "name": self.affiliate_name_of(p.owner).unwrap_or(""),
                    "account_status": "active",
                }
            }),
        );
        Value::Object(m)
    }

    /// `affiliate`'s postbacks in id order, as GET shows them.
    pub fn pixels_of(&self, affiliate: u64) -> Vec<Value> {
        self.pixels
            .values()
            .filter(|p| p.owner == affiliate)
            .map(|p| self.pixel_json(p))
            .collect()
    }
}
