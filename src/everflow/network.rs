//! The Network API of the destination (iScale): offers, tracking domains, identity.
//!
//! Facts this module is shaped by (facts file, section 1, Network API):
//! - POST/PUT take a top-level `payout_revenue[]`; GET returns
//!   `relationship.payout_revenue.entries`, and only when asked with `?relationship=`.
//! - PUT is a full replacement, so callers send the live offer with their fields overlaid
//!   (see `destination::iscale`).
//! - `GET /v1/networks/offers` (list) already carries `relationship.payout_revenue` (MAT
//!   schema); when an element lacks it, the caller reads that offer alone.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::client::{ApiError, Client};
use super::types::{Entries, Paging};

/// A destination offer as read: the raw object (for overlaying a PUT) and a typed view
/// of the fields offersync compares.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveOffer {
    pub raw: Map<String, Value>,
    pub view: LiveOfferView,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LiveOfferView {
    pub network_offer_id: u64,
    #[serde(default)]
    pub network_advertiser_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub html_description: String,
    #[serde(default)]
    pub preview_url: String,
    #[serde(default)]
    pub destination_url: String,
    #[serde(default)]
    pub visibility: String,
    #[serde(default)]
    pub offer_status: String,
    #[serde(default)]
    pub currency_id: String,
    #[serde(default)]
    pub time_saved: i64,
    #[serde(default)]
    pub relationship: LiveRelationship,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct LiveRelationship {
    /// `None` when the response did not include the relationship at all.
    #[serde(default)]
    pub payout_revenue: Option<Entries<LivePayoutRevenue>>,
}

/// One payout/revenue entry (an "event") of a destination offer.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LivePayoutRevenue {
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default)]
    pub entry_name: String,
    #[serde(default)]
    pub payout_type: String,
    #[serde(default)]
    pub payout_amount: Decimal,
    #[serde(default)]
    pub payout_percentage: Decimal,
    #[serde(default)]
    pub revenue_type: String,
    #[serde(default)]
    pub revenue_amount: Decimal,
    #[serde(default)]
    pub revenue_percentage: Decimal,
    #[serde(default)]
    pub is_default: bool,
}

impl LiveOffer {
    fn from_value(value: Value) -> Result<Self, String> {
        let view = LiveOfferView::deserialize(&value).map_err(|error| error.to_string())?;
        match value {
            Value::Object(raw) => Ok(Self { raw, view }),
            _ => Err("expected an offer object".to_owned()),
        }
    }

    pub fn id(&self) -> u64 {
        self.view.network_offer_id
    }

    /// The raw payout/revenue entries, when the response carried them.
    pub fn raw_payout_entries(&self) -> Vec<Map<String, Value>> {
        self.raw
            .get("relationship")
            .and_then(|relationship| relationship.get("payout_revenue"))
            .and_then(|payouts| match payouts {
                Value::Array(list) => Some(list),
                Value::Object(wrapped) => wrapped.get("entries").and_then(Value::as_array),
                _ => None,
            })
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|entry| entry.as_object().cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
struct OffersPage {
    #[serde(default)]
    offers: Vec<Value>,
    #[serde(default)]
    paging: Paging,
}

/// A tracking domain of the network (`GET /v1/networks/domains/tracking`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TrackingDomain {
    pub network_tracking_domain_id: u64,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub is_primary_domain: bool,
    #[serde(default)]
    pub domain_status: String,
}

#[derive(Debug, Deserialize)]
struct TrackingDomains {
    #[serde(default)]
    domains: Vec<TrackingDomain>,
}

/// Who the key belongs to (`GET /v1/networks/settings`, ISCALE notes).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct NetworkIdentity {
    #[serde(default)]
    pub network_id: u64,
}

const PAGE_SIZE: u64 = 2000;

/// Calls of the Network API.
#[derive(Clone, Debug)]
pub struct NetworkApi {
    client: Client,
}

impl NetworkApi {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub async fn identity(&self) -> Result<NetworkIdentity, ApiError> {
        self.client.get("/v1/networks/settings", &[]).await
    }

    /// One offer with its payout/revenue entries.
    pub async fn offer(&self, id: u64) -> Result<LiveOffer, ApiError> {
        let path = format!("/v1/networks/offers/{id}");
        let value: Value = self
            .client
            .get(&path, &[("relationship", "payout_revenue".to_owned())])
            .await?;
        decode_offer("GET", &path, value)
    }

    /// Every offer owned by an advertiser, following pages.
    pub async fn offers_of_advertiser(
        &self,
        advertiser_id: u64,
    ) -> Result<Vec<LiveOffer>, ApiError> {
        let path = "/v1/networks/offers";
        let mut offers = Vec::new();
        let mut page = 1;
        loop {
            let batch: OffersPage = self
                .client
                .get(
                    path,
                    &[
                        ("filter", format!("network_advertiser_id={advertiser_id}")),
                        ("page", page.to_string()),
                        ("page_size", PAGE_SIZE.to_string()),
                    ],
                )
                .await?;
            let fetched = batch.offers.len();
            for value in batch.offers {
                offers.push(decode_offer("GET", path, value)?);
            }
            if !batch.paging.has_more(fetched) {
                return Ok(offers);
            }
            page += 1;
        }
    }

    pub async fn create_offer(&self, body: &Value) -> Result<LiveOffer, ApiError> {
        let path = "/v1/networks/offers";
        let value: Value = self.client.post(path, &[], body).await?;
        decode_offer("POST", path, value)
    }

    pub async fn replace_offer(&self, id: u64, body: &Value) -> Result<LiveOffer, ApiError> {
        let path = format!("/v1/networks/offers/{id}");
        let value: Value = self.client.put(&path, body).await?;
        decode_offer("PUT", &path, value)
    }

    pub async fn tracking_domains(&self) -> Result<Vec<TrackingDomain>, ApiError> {
        let domains: TrackingDomains = self
            .client
            .get("/v1/networks/domains/tracking", &[])
            .await?;
        Ok(domains.domains)
    }
}

fn decode_offer(method: &str, path: &str, value: Value) -> Result<LiveOffer, ApiError> {
    LiveOffer::from_value(value).map_err(|detail| ApiError::Decode {
        method: method.parse().unwrap_or_default(),
        path: path.to_owned(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_payout_revenue_only_when_present() {
        let bare =
            LiveOffer::from_value(serde_json::json!({"network_offer_id": 5, "name": "x"})).unwrap();
        assert!(bare.view.relationship.payout_revenue.is_none());
        let full = LiveOffer::from_value(serde_json::json!({
            "network_offer_id": 5,
            "relationship": {"payout_revenue": {"total": 1, "entries": [
                {"network_offer_payout_revenue_id": 9, "entry_name": "Base", "payout_type": "cpa",
                 "payout_amount": 280, "revenue_type": "rpa", "revenue_amount": 350, "is_default": true}
            ]}}
        }))
        .unwrap();
        let entries = full.view.relationship.payout_revenue.clone().unwrap().0;
        assert_eq!(entries[0].payout_amount, Decimal::from(280));
        assert_eq!(full.raw_payout_entries().len(), 1);
    }
}
