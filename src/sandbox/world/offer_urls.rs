//! Offer URLs of destination offers (`/v1/networks/offerurls`, offer-urls.yaml):
//! the create and full-replacement rules, the object's JSON shape and the
//! offer's `urls` relationship.
//!
//! There is no DELETE (none in the docs; ISCALE: "no DELETE endpoint; use
//! url_status deleted"), so a URL is never removed from here.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::body::Fields;
use super::destination::Destination;

/// `url_status` (offer-urls.yaml).
pub(crate) const URL_STATUS: &[&str] = &["active", "paused", "deleted"];

/// Keys a POST/PUT body may carry: the writable fields of offer-urls.yaml, and
/// the output-only ones a GET returns (clients PUT what they read, with
/// `network_offer_url_id` checked against the path).
const KNOWN: &[&str] = &[
    "network_offer_id",
    "name",
    "destination_url",
    "preview_url",
    "url_status",
    "network_affiliate_ids",
    "is_apply_specific_affiliates",
    "is_hidden_affiliate",
    "network_offer_url_id",
    "network_id",
    "time_created",
    "time_saved",
    "remote_offer_resource",
];

/// The writable fields of one offer URL, validated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UrlInput {
    pub offer_id: u64,
    pub name: String,
    pub destination_url: String,
    pub preview_url: String,
    pub url_status: String,
    pub network_affiliate_ids: Vec<u64>,
    pub is_apply_specific_affiliates: bool,
    pub is_hidden_affiliate: bool,
}

/// One stored offer URL.
#[derive(Clone, Debug)]
pub(crate) struct OfferUrl {
    pub id: u64,
    pub fields: UrlInput,
    pub time_created: u64,
    pub time_saved: u64,
}

/// Validates a POST body (`path_id` `None`) or a PUT body for `path_id`.
///
/// Required (offer-urls.yaml, SNAP): `network_offer_id, name, destination_url,
/// url_status, is_apply_specific_affiliates, is_hidden_affiliate`. The PUT
/// schema also lists `network_offer_url_id`; the sandbox lets it be left out
/// (the path names the URL) but refuses one that disagrees with the path.
pub(crate) fn parse_url_body(
    body: Option<&Value>,
    path_id: Option<u64>,
) -> Result<UrlInput, ApiError> {
    let f = Fields::new(body, KNOWN)?;
    if let Some(id) = path_id {
        f.same_id("network_offer_url_id", id)?;
    }
    let input = UrlInput {
        offer_id: f.id("network_offer_id")?,
        name: f.text("name")?,
        destination_url: f.url("destination_url", true)?,
        url_status: f.choice("url_status", URL_STATUS)?,
        is_apply_specific_affiliates: f.flag("is_apply_specific_affiliates")?,
        is_hidden_affiliate: f.flag("is_hidden_affiliate")?,
        preview_url: f.url("preview_url", false)?,
        network_affiliate_ids: f.opt_ids("network_affiliate_ids")?,
    };
    // Not documented: restricting a URL to specific affiliates without naming
    // any would hide it from everyone, which no client means to do.
    if input.is_apply_specific_affiliates && input.network_affiliate_ids.is_empty() {
        return Err(ApiError::bad_request(
            "network_affiliate_ids must not be empty when is_apply_specific_affiliates is true",
        ));
    }
    Ok(input)
}

impl Destination {
    fn check_url_offer(&self, input: &UrlInput) -> Result<(), ApiError> {
        if self.offers.contains_key(&input.offer_id) {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "network_offer_id {} does not exist",
                input.offer_id
            )))
        }
    }

    /// `POST /v1/networks/offerurls` after body validation.
    pub fn create_url(&mut self, input: UrlInput, clock: &mut Clock) -> Result<u64, ApiError> {
        self.check_url_offer(&input)?;
        let id = self.urls.allocate();
        let now = clock.now();
        let url = OfferUrl {
            id,
            fields: input,
            time_created: now,
            time_saved: now,
        };
        self.urls.items.insert(id, url);
        Ok(id)
    }

    /// `PUT /v1/networks/offerurls/{id}`: full replacement.
    pub fn replace_url(
        &mut self,
        id: u64,
        input: UrlInput,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let Some(old) = self.urls.get(id) else {
            return Err(ApiError::no_such("offer url", id));
        };
        // Not documented: moving a URL to another offer would orphan the custom
        // payout settings that name it, so the sandbox refuses it.
        if input.offer_id != old.fields.offer_id {
            return Err(ApiError::bad_request(format!(
                "network_offer_id cannot change: offer url {id} belongs to offer {}",
                old.fields.offer_id
            )));
        }
        let time_saved = if input == old.fields {
            old.time_saved
        } else {
            clock.after(old.time_saved)
        };
        let url = OfferUrl {
            id,
            fields: input,
            time_created: old.time_created,
            time_saved,
        };
        self.urls.items.insert(id, url);
        Ok(())
    }

    /// The offer URL object (offer-urls.yaml `OfferUrl`).
    pub fn url_json(&self, u: &OfferUrl) -> Value {
        let f = &u.fields;
        json!({
            "network_offer_url_id": u.id,
            "network_id": self.network_id,
            "network_offer_id": f.offer_id,
            "name": f.name,
            "destination_url": f.destination_url,
            "preview_url": f.preview_url,
            "url_status": f.url_status,
            "network_affiliate_ids": f.network_affiliate_ids,
            "is_apply_specific_affiliates": f.is_apply_specific_affiliates,
            "is_hidden_affiliate": f.is_hidden_affiliate,
            "time_created": u.time_created,
            "time_saved": u.time_saved,
        })
    }

    /// An offer's URLs in id order, deleted ones included (they still exist).
    pub fn offer_urls(&self, offer_id: u64) -> impl Iterator<Item = &OfferUrl> {
        self.urls
            .values()
            .filter(move |u| u.fields.offer_id == offer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "network_offer_id": 1001,
            "name": "Quiz Funnel",
            "destination_url": "https://start.trimrx.test/quiz?uid=102&oid=1&affid=42&sub5={transaction_id}",
            "url_status": "active",
            "is_apply_specific_affiliates": false,
            "is_hidden_affiliate": false
        })
    }

    fn err(b: &Value, path: Option<u64>) -> String {
        parse_url_body(Some(b), path).unwrap_err().message
    }

    #[test]
    fn required_fields_in_documented_order() {
        for key in [
            "network_offer_id",
            "name",
            "destination_url",
            "url_status",
            "is_apply_specific_affiliates",
            "is_hidden_affiliate",
        ] {
            let mut b = body();
            b.as_object_mut().unwrap().remove(key);
            assert_eq!(err(&b, None), format!("{key} is required"));
        }
        let ok = parse_url_body(Some(&body()), None).unwrap();
        assert_eq!(ok.preview_url, "");
        assert!(ok.network_affiliate_ids.is_empty());
    }

    #[test]
    fn values_are_checked() {
        let mut b = body();
        b["url_status"] = json!("archived");
        assert_eq!(
            err(&b, None),
            "url_status must be one of active, paused, deleted"
        );
        let mut b = body();
        b["destination_url"] = json!("start.trimrx.test/quiz");
        assert!(err(&b, None).contains("absolute http"));
        let mut b = body();
        b["is_apply_specific_affiliates"] = json!(true);
        assert!(err(&b, None).contains("network_affiliate_ids must not be empty"));
        b["network_affiliate_ids"] = json!([7, 14]);
        assert!(parse_url_body(Some(&b), None).is_ok());
        let mut b = body();
        b["network_offer_url_id"] = json!(5);
        assert!(parse_url_body(Some(&b), Some(5)).is_ok());
        assert!(err(&b, Some(6)).contains("does not match"));
        b["colour"] = json!(1);
        assert_eq!(err(&b, Some(5)), "unknown field colour");
    }
}
