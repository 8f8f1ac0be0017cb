//! The Affiliate API of a source network: the offers we can run there and their links.
//!
//! Shapes come from the facts file (section 1, Affiliate API): `relationship.payouts`
//! entries, `relationship.urls` entries, and the `{"url": ...}` answer of the tracking-link
//! route (LIVE; SNAP's older `tracking_url` is wrong now). Only the fields offersync
//! uses are typed; the raw JSON is kept alongside as the snapshot of record.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::client::{ApiError, Client};
use super::types::{Entries, Live, PayoutType, RawObject};

/// An offer as our affiliate account in the source network sees it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "an offer object")]
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
    /// Our tracking link for the offer's default URL (offersrunnable and the offer GET).
    #[serde(default)]
    pub tracking_url: String,
    #[serde(default)]
    pub relationship: SourceRelationship,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a `relationship` object")]
pub struct SourceRelationship {
    #[serde(default)]
    pub payouts: Entries<SourcePayout>,
    #[serde(default)]
    pub urls: Entries<SourceUrl>,
    #[serde(default)]
    pub creatives: Entries<SourceCreative>,
    /// `null` or absent: no targeting.
    #[serde(default)]
    pub ruleset: Option<SourceRuleset>,
    #[serde(default)]
    pub custom_payout_settings: Entries<SourcePayoutRule>,
}

/// One payout event of a source offer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a payout object")]
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
#[serde(expecting = "an offer URL object")]
pub struct SourceUrl {
    pub network_offer_url_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub preview_url: String,
}

/// One creative of a source offer (facts file: `relationship.creatives`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a creative object")]
pub struct SourceCreative {
    pub network_offer_creative_id: u64,
    #[serde(default)]
    pub name: String,
    pub creative_type: CreativeType,
    #[serde(default)]
    pub creative_status: String,
    #[serde(default)]
    pub resource_url: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub html_code: String,
}

/// Creative types (SNAP creatives.yaml).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CreativeType {
    Image,
    Html,
    Thumbnail,
    Email,
    Archive,
    Video,
    Text,
    Link,
}

impl CreativeType {
    pub fn as_str(self) -> &'static str {
        match self {
            CreativeType::Image => "image",
            CreativeType::Html => "html",
            CreativeType::Thumbnail => "thumbnail",
            CreativeType::Email => "email",
            CreativeType::Archive => "archive",
            CreativeType::Video => "video",
            CreativeType::Text => "text",
            CreativeType::Link => "link",
        }
    }
}

/// Geo targeting of a source offer. The lists are plain arrays (facts file) and may be
/// null.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a ruleset object")]
pub struct SourceRuleset {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub countries: Vec<SourceCountry>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub regions: Vec<SourceRegion>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a country object")]
pub struct SourceCountry {
    pub country_id: u64,
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub label: String,
    pub targeting_type: TargetingType,
    #[serde(default)]
    pub match_type: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a region object")]
pub struct SourceRegion {
    pub region_id: u64,
    #[serde(default)]
    pub region_code: String,
    #[serde(default)]
    pub label: String,
    pub targeting_type: TargetingType,
    #[serde(default)]
    pub match_type: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TargetingType {
    Include,
    Exclude,
}

impl TargetingType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetingType::Include => "include",
            TargetingType::Exclude => "exclude",
        }
    }
}

/// A URL-specific (or plain) payout override at the source. Its shape is known only from
/// practitioner notes (DESIGN 5 item 7), so every form seen there is accepted: URL ids in
/// `relationship.network_offer_url_ids`, in `relationship.offer_urls[]`, or in
/// `network_offer_url_ids` on the entry itself.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a custom payout object")]
pub struct SourcePayoutRule {
    pub payout_type: PayoutType,
    #[serde(default)]
    pub payout_amount: Decimal,
    #[serde(default)]
    pub payout_percentage: Decimal,
    /// 0 or absent: the offer's default event.
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub network_offer_url_ids: Vec<u64>,
    #[serde(default)]
    pub relationship: SourcePayoutRuleRelationship,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a `relationship` object")]
pub struct SourcePayoutRuleRelationship {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub network_offer_url_ids: Vec<u64>,
    #[serde(default)]
    pub offer_urls: Entries<SourceRuleUrl>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "an offer URL object")]
pub struct SourceRuleUrl {
    pub network_offer_url_id: u64,
    #[serde(default)]
    pub name: String,
}

impl SourcePayoutRule {
    /// The source URL ids the rule applies to, from whichever form carried them.
    pub fn url_ids(&self) -> std::collections::BTreeSet<u64> {
        self.network_offer_url_ids
            .iter()
            .chain(&self.relationship.network_offer_url_ids)
            .copied()
            .chain(
                self.relationship
                    .offer_urls
                    .0
                    .iter()
                    .map(|url| url.network_offer_url_id),
            )
            .collect()
    }
}

/// Proto3 sends `[]`, but null has been seen where a list belongs: read it as empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct TrackingLink {
    url: String,
}

/// A postback pixel of ours in a source network ("pixel" in the API is "postback" in the
/// UI). Fields per the facts file and the LEGACY list example.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(expecting = "a pixel object")]
pub struct PixelView {
    pub network_pixel_id: u64,
    #[serde(default)]
    pub network_offer_id: u64,
    /// 0 for the base conversion.
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default)]
    pub delivery_method: String,
    #[serde(default)]
    pub pixel_level: String,
    #[serde(default)]
    pub pixel_status: String,
    #[serde(default)]
    pub pixel_type: String,
    #[serde(default)]
    pub postback_url: String,
}

/// A pixel as read: raw (for a full-replacement PUT) and typed.
pub type LivePixel = Live<PixelView>;

#[derive(Debug, Deserialize)]
struct Pixels {
    #[serde(default)]
    pixels: Vec<serde_json::Value>,
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
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// One offer, raw. 404 when it does not exist or is not visible to us.
    pub async fn offer(&self, id: u64) -> Result<serde_json::Value, ApiError> {
        self.client
            .get(&format!("/v1/affiliates/offers/{id}"), &[])
            .await
    }

    /// Every offer we may run, raw, with its relationships (all pages).
    pub async fn runnable_offers(&self) -> Result<Vec<RawObject>, ApiError> {
        self.client
            .pages("/v1/affiliates/offersrunnable", "offers", &[])
            .await
    }

    /// The offers we can run, id and name, first page only (for suggestions).
    pub async fn runnable_offer_names(&self) -> Result<Vec<(u64, String)>, ApiError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            offers: Vec<Named>,
        }
        #[derive(Deserialize)]
        struct Named {
            network_offer_id: u64,
            #[serde(default)]
            name: String,
        }
        let page: Page = self
            .client
            .get(
                "/v1/affiliates/offersrunnable",
                &[("page", "1".to_owned()), ("page_size", "200".to_owned())],
            )
            .await?;
        Ok(page
            .offers
            .into_iter()
            .map(|offer| (offer.network_offer_id, offer.name))
            .collect())
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

    /// Every pixel of ours in this network: one call for all offers.
    pub async fn pixels(&self) -> Result<Vec<LivePixel>, ApiError> {
        let path = "/v1/affiliates/pixels";
        let list: Pixels = self.client.get(path, &[]).await?;
        list.pixels
            .into_iter()
            .enumerate()
            .map(|(index, value)| decode_pixel("GET", path, value, Some(index)))
            .collect()
    }

    pub async fn create_pixel(&self, body: &serde_json::Value) -> Result<LivePixel, ApiError> {
        let path = "/v1/affiliates/pixels";
        let value = self.client.post(path, &[], body).await?;
        decode_pixel("POST", path, value, None)
    }

    /// PUT is a full replacement (facts file): send every field.
    pub async fn replace_pixel(
        &self,
        id: u64,
        body: &serde_json::Value,
    ) -> Result<LivePixel, ApiError> {
        let path = format!("/v1/affiliates/pixels/{id}");
        let value = self.client.put(&path, body).await?;
        decode_pixel("PUT", &path, value, None)
    }
}

fn decode_pixel(
    method: &str,
    path: &str,
    value: serde_json::Value,
    index: Option<usize>,
) -> Result<LivePixel, ApiError> {
    let error = |detail: String| ApiError::Decode {
        method: method.parse().unwrap_or_default(),
        path: path.to_owned(),
        detail: match index {
            Some(index) => format!("pixels[{index}] {detail}"),
            None => detail,
        },
    };
    LivePixel::from_value(value).map_err(error)
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
    fn payout_rules_accept_every_url_form() {
        let rules: Vec<SourcePayoutRule> = serde_json::from_str(
            r#"[{"payout_type": "cpa", "payout_amount": 375, "relationship": {"network_offer_url_ids": [102]}},
                {"payout_type": "cpa", "payout_amount": 310, "network_offer_payout_revenue_id": 12,
                 "relationship": {"offer_urls": [{"network_offer_url_id": 104, "name": "B"}, {"network_offer_url_id": 103, "name": "A"}]}},
                {"payout_type": "cpa", "payout_amount": 110, "network_offer_url_ids": [1202]},
                {"payout_type": "cpa", "payout_amount": 5, "network_offer_url_ids": null}]"#,
        )
        .unwrap();
        let ids: Vec<Vec<u64>> = rules
            .iter()
            .map(|r| r.url_ids().into_iter().collect())
            .collect();
        assert_eq!(ids, [vec![102], vec![103, 104], vec![1202], vec![]]);
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
