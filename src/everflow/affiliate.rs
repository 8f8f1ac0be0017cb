//! The Affiliate API of a source network: the offers we can run there and their links.
//!
//! Shapes come from the facts file (section 1, Affiliate API): `relationship.payouts`
//! entries, `relationship.urls` entries, and the `{"url": ...}` answer of the tracking-link
//! route (LIVE; SNAP's older `tracking_url` is wrong now). Only the fields offersync
//! uses are typed; the raw JSON is kept alongside as the snapshot of record.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::client::{ApiError, Client};
use super::types::{Entries, PayoutType};

/// An offer as our affiliate account in the source network sees it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct SourceOffer {
    pub network_offer_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub offer_status: String,
    #[serde(default)]
    pub currency_id: String,
    #[serde(default)]
    pub html_description: String,
    #[serde(default)]
    pub preview_url: String,
    #[serde(default)]
    pub thumbnail_url: String,
    #[serde(default)]
    pub relationship: SourceRelationship,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SourceRelationship {
    #[serde(default)]
    pub payouts: Entries<SourcePayout>,
    #[serde(default)]
    pub urls: Entries<SourceUrl>,
}

/// One payout event of a source offer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct SourcePayout {
    /// 0 (or absent) for the base conversion.
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default)]
    pub entry_name: String,
    pub payout_type: PayoutType,
    #[serde(default)]
    pub payout_amount: Decimal,
    #[serde(default)]
    pub payout_percentage: Decimal,
    #[serde(default)]
    pub is_default: bool,
}

/// One landing page of a source offer. `preview_url` is often empty (ISCALE), so the
/// destination comes from the tracking-link route.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct SourceUrl {
    pub network_offer_url_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub preview_url: String,
}

#[derive(Debug, Deserialize)]
struct TrackingLink {
    url: String,
}

/// Who the key belongs to (`GET /v1/affiliates/settings`, ISCALE notes).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct AffiliateIdentity {
    #[serde(default)]
    pub network_affiliate_id: u64,
}

/// Calls of the Affiliate API.
#[derive(Clone, Debug)]
pub struct AffiliateApi {
    client: Client,
}

impl AffiliateApi {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// One offer, raw. 404 when it does not exist or is not visible to us.
    pub async fn offer(&self, id: u64) -> Result<serde_json::Value, ApiError> {
        self.client
            .get(&format!("/v1/affiliates/offers/{id}"), &[])
            .await
    }

    /// The tracking link of one of the offer's URLs (0: the default URL).
    pub async fn tracking_link(&self, offer_id: u64, url_id: u64) -> Result<String, ApiError> {
        let link: TrackingLink = self
            .client
            .get(
                &format!("/v1/affiliates/offers/{offer_id}/url/{url_id}"),
                &[],
            )
            .await?;
        Ok(link.url)
    }

    pub async fn identity(&self) -> Result<AffiliateIdentity, ApiError> {
        self.client.get("/v1/affiliates/settings", &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_realistic_offer_and_keeps_money_exact() {
        let offer: SourceOffer = serde_json::from_str(
            r#"{"network_offer_id": 1, "name": "X", "offer_status": "active", "currency_id": "USD",
                "relationship": {"payouts": {"total": 1, "entries": [
                  {"network_offer_payout_revenue_id": 5, "entry_name": "Base", "payout_type": "cpa",
                   "payout_amount": 99.99, "payout_percentage": 0, "is_default": true}]},
                 "urls": {"total": 0, "entries": []}}}"#,
        )
        .unwrap();
        let payout = &offer.relationship.payouts.0[0];
        assert_eq!(payout.payout_amount.to_string(), "99.99");
        assert_eq!(payout.payout_type, PayoutType::Cpa);
    }

    #[test]
    fn unknown_payout_type_is_an_error() {
        let error = serde_json::from_str::<SourcePayout>(r#"{"payout_type": "cpx"}"#).unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `cpx`"),
            "{error}"
        );
    }
}
