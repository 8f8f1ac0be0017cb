//! The Network API of the destination (iScale): offers, offer URLs, custom payout rules,
//! creatives, targeting, temp uploads, tracking domains, countries, identity.
//!
//! Facts this module is shaped by (facts file, section 1, Network API):
//! - POST/PUT take a top-level `payout_revenue[]`; GET returns
//!   `relationship.payout_revenue.entries`, and only when asked with `?relationship=`.
//! - PUT is a full replacement, so callers send the live object with their fields
//!   overlaid (see `destination::iscale`); every read keeps the raw object for that.
//! - `GET /v1/networks/offers` (list) already carries `relationship.payout_revenue` (MAT
//!   schema); when an element lacks it, the caller reads that offer alone.
//! - Lists page with `page`/`page_size` (max 2,000) and filter with
//!   `filter=<field>=<value>` (SNAP api-filters).

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::client::{ApiError, Client, PAGE_SIZE, decode_error};
pub use super::types::Live;
use super::types::{Entries, Paging};

pub type LiveOffer = Live<LiveOfferView>;
pub type LiveUrl = Live<UrlView>;
pub type LiveRule = Live<RuleView>;
pub type LiveCreative = Live<CreativeView>;

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
    pub thumbnail_url: String,
    #[serde(default)]
    pub time_saved: Option<u64>,
    /// `labels[]` on the offer (offers.yaml).
    #[serde(default)]
    pub labels: Option<Vec<Label>>,
    /// `payout_revenue[]` at the top, as POST and PUT answer (GET has them in the
    /// relationship).
    #[serde(default)]
    pub payout_revenue: Option<Vec<LivePayoutRevenue>>,
    #[serde(default)]
    pub relationship: LiveRelationship,
}

/// A label as the API shows it: a string, or an object naming it (`name` or `label`);
/// `None` for any other shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Label(pub Option<String>);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name =
            match Value::deserialize(deserializer)? {
                Value::String(name) => Some(name),
                Value::Object(mut fields) => ["name", "label"].iter().find_map(|key| match fields
                    .remove(*key)
                {
                    Some(Value::String(name)) => Some(name),
                    _ => None,
                }),
                _ => None,
            };
        Ok(Label(name))
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct LiveRelationship {
    /// `None` when the response did not include the relationship at all.
    #[serde(default)]
    pub payout_revenue: Option<Entries<LivePayoutRevenue>>,
    /// The list's labels.
    #[serde(default)]
    pub labels: Option<Entries<Label>>,
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

/// An offer URL (offer-urls.yaml).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct UrlView {
    pub network_offer_url_id: u64,
    pub network_offer_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub destination_url: String,
    #[serde(default)]
    pub preview_url: String,
    #[serde(default)]
    pub url_status: String,
}

/// A custom payout/revenue setting (custom-payout-revenue.yaml, LIVE response).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RuleView {
    pub network_custom_payout_revenue_setting_id: u64,
    pub network_offer_id: u64,
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub custom_setting_status: String,
    #[serde(default)]
    pub is_apply_all_affiliates: bool,
    #[serde(default)]
    pub is_custom_payout_enabled: bool,
    #[serde(default)]
    pub payout_type: String,
    #[serde(default)]
    pub payout_amount: Decimal,
    #[serde(default)]
    pub payout_percentage: Decimal,
    #[serde(default)]
    pub is_custom_revenue_enabled: bool,
    #[serde(default)]
    pub revenue_type: String,
    #[serde(default)]
    pub revenue_amount: Decimal,
    #[serde(default)]
    pub revenue_percentage: Decimal,
    #[serde(default)]
    pub is_apply_specific_offer_urls: bool,
    #[serde(default)]
    pub network_offer_url_ids: Vec<u64>,
}

/// A creative (creatives.yaml).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CreativeView {
    pub network_offer_creative_id: u64,
    pub network_offer_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub creative_type: String,
    #[serde(default)]
    pub creative_status: String,
    #[serde(default)]
    pub html_code: String,
    #[serde(default)]
    pub resource_url: String,
}

impl LiveOffer {
    pub fn id(&self) -> u64 {
        self.view.network_offer_id
    }

    /// The offer's labels: `labels[]` on the offer (offers.yaml), or the list's
    /// `relationship.labels.entries`, each once.
    pub fn labels(&self) -> Vec<String> {
        let top = self.view.labels.iter().flatten();
        let related = self
            .view
            .relationship
            .labels
            .iter()
            .flat_map(|labels| &labels.0);
        let mut labels: Vec<String> = Vec::new();
        for Label(name) in top.chain(related) {
            if let Some(name) = name.as_ref().filter(|name| !labels.contains(name)) {
                labels.push(name.clone());
            }
        }
        labels
    }

    /// The raw payout/revenue entries, when the response carried them, for a request body
    /// (see [`Live::raw`]).
    pub fn raw_payout_entries(&self) -> Vec<Map<String, Value>> {
        self.raw()
            .get("relationship")
            .as_ref()
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

/// An advertiser of the destination (`GET /v1/networks/advertisers/{id}`, LEGACY).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Advertiser {
    pub network_advertiser_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub account_status: String,
    /// Incoming advertiser postbacks with another token are rejected (SNAP
    /// advertisers-extras).
    #[serde(default)]
    pub verification_token: String,
}

/// Who the key belongs to (`GET /v1/networks/settings`, ISCALE notes).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct NetworkIdentity {
    #[serde(default)]
    pub network_id: u64,
}

/// One country of `GET /v1/meta/countries`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Country {
    pub country_id: u64,
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub country_name: String,
}

#[derive(Debug, Deserialize)]
struct Countries {
    #[serde(default)]
    countries: Vec<Country>,
}

#[derive(Debug, Deserialize)]
struct TempUploads {
    #[serde(default)]
    urls: Vec<TempUpload>,
}

#[derive(Debug, Deserialize)]
struct TempUpload {
    url: String,
}

/// One row of the postback delivery report (seed 002, "Affiliate Postback Report").
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DeliveryRow {
    #[serde(default)]
    pub network_offer_id: u64,
    #[serde(default)]
    pub network_offer_payout_revenue_id: u64,
    #[serde(default)]
    pub affiliate_id: u64,
    #[serde(default)]
    pub pixel_id: u64,
    #[serde(default)]
    pub transaction_id: String,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default)]
    pub delivery_method: String,
    #[serde(default)]
    pub pixel_type: String,
    #[serde(default)]
    pub payload: String,
    #[serde(default)]
    pub is_success: bool,
    #[serde(default)]
    pub debug_information: String,
    #[serde(default)]
    pub failed_attempts: u32,
    #[serde(default)]
    pub relationship: DeliveryRelationship,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct DeliveryRelationship {
    #[serde(default)]
    pub affiliate: Option<NamedAffiliate>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct NamedAffiliate {
    #[serde(default)]
    pub network_affiliate_id: u64,
    #[serde(default)]
    pub name: String,
}

/// The most rows `reporting/affiliate/pixels` returns; beyond it, the export stream
/// (seed 002).
pub const DELIVERY_REPORT_CAP: usize = 1000;

/// What a delivery report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// `YYYY-mm-DD` or `YYYY-mm-DD HH:MM:SS`.
    pub from: String,
    pub to: String,
    pub timezone_id: u64,
    pub offer_ids: Vec<u64>,
}

impl DeliveryQuery {
    fn body(&self) -> Value {
        // Filters of one resource type are ORed (seed 002): all the offers at once.
        let filters: Vec<Value> = self
            .offer_ids
            .iter()
            .map(|id| json!({"resource_type": "offer", "filter_id_value": id.to_string()}))
            .collect();
        json!({
            "timezone_id": self.timezone_id,
            "from": self.from,
            "to": self.to,
            "query": {"filters": filters},
        })
    }
}

#[derive(Debug, Deserialize)]
struct DeliveryRows {
    #[serde(default)]
    pixels: Vec<DeliveryRow>,
}

/// A partner postback (seed 001): a pixel an iScale affiliate set on iScale's offers.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PartnerPostback {
    pub network_pixel_id: u64,
    #[serde(default)]
    pub network_affiliate_id: u64,
    #[serde(default)]
    pub network_affiliate_name: String,
    #[serde(default)]
    pub network_offer_id: u64,
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
}

#[derive(Debug, Deserialize)]
struct PartnerPostbacks {
    #[serde(default)]
    pixels: Vec<PartnerPostback>,
    #[serde(default)]
    paging: Paging,
}

/// The list filter for one offer's objects (api-filters: `filter=network_offer_id=6`).
fn of_offer(offer_id: u64) -> String {
    format!("network_offer_id={offer_id}")
}

/// Calls of the Network API.
#[derive(Clone, Debug)]
pub struct NetworkApi {
    client: Client,
}

impl NetworkApi {
    pub fn client(&self) -> &Client {
        &self.client
    }

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
        decode("GET", &path, value)
    }

    /// Every offer owned by an advertiser.
    pub async fn offers_of_advertiser(
        &self,
        advertiser_id: u64,
    ) -> Result<Vec<LiveOffer>, ApiError> {
        self.list(
            "/v1/networks/offers",
            "offers",
            Some(format!("network_advertiser_id={advertiser_id}")),
        )
        .await
    }

    pub async fn create_offer(&self, body: &Value) -> Result<LiveOffer, ApiError> {
        self.write_post("/v1/networks/offers", body).await
    }

    pub async fn replace_offer(&self, id: u64, body: &Value) -> Result<LiveOffer, ApiError> {
        self.write_put(&format!("/v1/networks/offers/{id}"), body)
            .await
    }

    /// Every offer URL of the network (all offers; filtered by the caller).
    pub async fn offer_urls(&self) -> Result<Vec<LiveUrl>, ApiError> {
        self.list("/v1/networks/offerurls", "urls", None).await
    }

    /// The URLs of one offer.
    pub async fn urls_of_offer(&self, offer_id: u64) -> Result<Vec<LiveUrl>, ApiError> {
        self.list("/v1/networks/offerurls", "urls", Some(of_offer(offer_id)))
            .await
    }

    pub async fn create_url(&self, body: &Value) -> Result<LiveUrl, ApiError> {
        self.write_post("/v1/networks/offerurls", body).await
    }

    pub async fn replace_url(&self, id: u64, body: &Value) -> Result<LiveUrl, ApiError> {
        self.write_put(&format!("/v1/networks/offerurls/{id}"), body)
            .await
    }

    /// Every custom payout/revenue setting of the network.
    pub async fn payout_rules(&self) -> Result<Vec<LiveRule>, ApiError> {
        self.list(
            "/v1/networks/custom/payoutrevenue",
            "custom_payout_revenue_settings",
            None,
        )
        .await
    }

    /// The custom payout/revenue settings of one offer.
    pub async fn rules_of_offer(&self, offer_id: u64) -> Result<Vec<LiveRule>, ApiError> {
        self.list(
            "/v1/networks/custom/payoutrevenue",
            "custom_payout_revenue_settings",
            Some(of_offer(offer_id)),
        )
        .await
    }

    pub async fn create_rule(&self, body: &Value) -> Result<LiveRule, ApiError> {
        self.write_post("/v1/networks/custom/payoutrevenue", body)
            .await
    }

    pub async fn replace_rule(&self, id: u64, body: &Value) -> Result<LiveRule, ApiError> {
        self.write_put(&format!("/v1/networks/custom/payoutrevenue/{id}"), body)
            .await
    }

    /// Every creative of the network.
    pub async fn creatives(&self) -> Result<Vec<LiveCreative>, ApiError> {
        self.list("/v1/networks/creatives", "creatives", None).await
    }

    /// The creatives of one offer (`filter=network_offer_id=...`, inferred in the facts file).
    pub async fn creatives_of_offer(&self, offer_id: u64) -> Result<Vec<LiveCreative>, ApiError> {
        self.list(
            "/v1/networks/creatives",
            "creatives",
            Some(of_offer(offer_id)),
        )
        .await
    }

    pub async fn create_creative(&self, body: &Value) -> Result<LiveCreative, ApiError> {
        self.write_post("/v1/networks/creatives", body).await
    }

    pub async fn replace_creative(&self, id: u64, body: &Value) -> Result<LiveCreative, ApiError> {
        self.write_put(&format!("/v1/networks/creatives/{id}"), body)
            .await
    }

    /// Uploads a file for one later use; returns its single-use temp URL
    /// (`POST /v1/networks/uploads/temp`, LEGACY/LIVE body `{mime_type, content_base64}`).
    pub async fn upload_temp(&self, mime_type: &str, bytes: &[u8]) -> Result<String, ApiError> {
        use base64::Engine as _;
        let path = "/v1/networks/uploads/temp";
        let body = json!({
            "mime_type": mime_type,
            "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
        });
        let uploads: TempUploads = self.client.post_retryable(path, &[], &body).await?;
        uploads
            .urls
            .into_iter()
            .next()
            .map(|upload| upload.url)
            .ok_or_else(|| ApiError::Decode {
                method: reqwest::Method::POST,
                path: path.to_owned(),
                detail: "the answer holds no temp URL".to_owned(),
            })
    }

    /// `PATCH /v1/networks/patch/offers/apply`: partial updates of offers.
    pub async fn patch_offers(&self, ids: &[u64], fields: Value) -> Result<(), ApiError> {
        let body = json!({ "network_offer_ids": ids, "fields": fields });
        let _: Value = self
            .client
            .patch("/v1/networks/patch/offers/apply", &body)
            .await?;
        Ok(())
    }

    /// `PUT /v1/networks/offers/{id}/targeting` (ISCALE; not in the official docs).
    pub async fn replace_targeting(&self, id: u64, body: &Value) -> Result<(), ApiError> {
        let _: Value = self
            .client
            .put(&format!("/v1/networks/offers/{id}/targeting"), body)
            .await?;
        Ok(())
    }

    pub async fn advertiser(&self, id: u64) -> Result<Advertiser, ApiError> {
        self.client
            .get(&format!("/v1/networks/advertisers/{id}"), &[])
            .await
    }

    /// Sets an advertiser's verification token with the bulk PATCH (ISCALE sends no
    /// operator; overwrite is what it means).
    pub async fn set_verification_token(
        &self,
        advertiser_id: u64,
        token: &crate::secret::Secret,
    ) -> Result<(), ApiError> {
        let body = json!({
            "network_advertiser_ids": [advertiser_id],
            "fields": [{
                "field_type": "verification_token",
                "field_value": token.expose(),
                "operator": "overwrite",
            }],
        });
        let _: Value = self
            .client
            .patch("/v1/networks/patch/advertiser/apply", &body)
            .await?;
        Ok(())
    }

    /// Every advertiser of the network (`GET /v1/networks/advertisers`, LEGACY list).
    pub async fn advertisers(&self) -> Result<Vec<Advertiser>, ApiError> {
        let path = "/v1/networks/advertisers";
        self.client
            .pages(path, "advertisers", &[])
            .await?
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                raw.decode().map_err(|detail| {
                    decode_error("GET", path, format!("advertisers[{index}] {detail}"))
                })
            })
            .collect()
    }

    /// Some offer of the network (the first of the list), if it has any.
    pub async fn any_offer(&self) -> Result<Option<LiveOffer>, ApiError> {
        let path = "/v1/networks/offers";
        let query = [("page", "1".to_owned()), ("page_size", "1".to_owned())];
        let mut batch: Map<String, Value> = self.client.get(path, &query).await?;
        match batch.remove("offers") {
            Some(Value::Array(offers)) => offers
                .into_iter()
                .next()
                .map(|value| decode("GET", path, value))
                .transpose(),
            _ => Ok(None),
        }
    }

    /// A tracking link for an offer and affiliate (seed 004). A read, though sent with
    /// POST: it creates nothing. Fails unless the affiliate can see and run the offer.
    pub async fn tracking_link(
        &self,
        offer_id: u64,
        affiliate_id: u64,
    ) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Link {
            url: String,
        }
        let body = json!({"network_offer_id": offer_id, "network_affiliate_id": affiliate_id});
        let link: Link = self
            .client
            .post_retryable("/v1/networks/tracking/offers/clicks", &[], &body)
            .await?;
        Ok(link.url)
    }

    pub async fn tracking_domains(&self) -> Result<Vec<TrackingDomain>, ApiError> {
        let domains: TrackingDomains = self
            .client
            .get("/v1/networks/domains/tracking", &[])
            .await?;
        Ok(domains.domains)
    }

    pub async fn countries(&self) -> Result<Vec<Country>, ApiError> {
        let countries: Countries = self.client.get("/v1/meta/countries", &[]).await?;
        Ok(countries.countries)
    }

    /// Postback deliveries: the report (up to 1000 rows), or, when it is full, the export
    /// stream, which has no cap (seed 002). Returns the rows and whether the export was
    /// used.
    pub async fn deliveries(
        &self,
        query: &DeliveryQuery,
    ) -> Result<(Vec<DeliveryRow>, bool), ApiError> {
        let path = "/v1/networks/reporting/affiliate/pixels";
        let rows: DeliveryRows = self.client.post_retryable(path, &[], &query.body()).await?;
        if rows.pixels.len() < DELIVERY_REPORT_CAP {
            return Ok((rows.pixels, false));
        }
        let export = "/v1/networks/reporting/affiliate/pixels/export";
        let mut body = query.body();
        body["format"] = json!("json");
        let bytes = self.client.search_raw(export, &body).await?;
        // Newline-delimited JSON: one row per line.
        let mut rows = Vec::new();
        for (index, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row = serde_json::from_slice(line).map_err(|error| {
                decode_error("POST", export, format!("line {}: {error}", index + 1))
            })?;
            rows.push(row);
        }
        Ok((rows, true))
    }

    /// Partner postbacks on the given offers (global ones too), from `pixelstable`.
    pub async fn partner_postbacks(
        &self,
        offer_ids: &[u64],
    ) -> Result<Vec<PartnerPostback>, ApiError> {
        let path = "/v1/networks/pixelstable";
        // Seed 001's body: the filters live under `query`.
        let body = json!({"query": {"filters": {"network_offer_ids": offer_ids}}});
        let mut found = Vec::new();
        let mut page = 1;
        loop {
            let query = [
                ("page", page.to_string()),
                ("page_size", PAGE_SIZE.to_string()),
            ];
            let batch: PartnerPostbacks = self.client.post_retryable(path, &query, &body).await?;
            let fetched = batch.pixels.len();
            found.extend(batch.pixels);
            if !batch.paging.has_more(fetched) {
                return Ok(found);
            }
            page += 1;
        }
    }

    /// All pages of a list, decoded.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        filter: Option<String>,
    ) -> Result<Vec<Live<T>>, ApiError> {
        let filter: Vec<(&str, String)> = filter.map(|f| ("filter", f)).into_iter().collect();
        self.client
            .pages(path, key, &filter)
            .await?
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                Live::from_raw(raw)
                    .map_err(|detail| decode_error("GET", path, format!("{key}[{index}] {detail}")))
            })
            .collect()
    }

    async fn write_post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Live<T>, ApiError> {
        let value: Value = self.client.post(path, &[], body).await?;
        decode("POST", path, value)
    }

    async fn write_put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Live<T>, ApiError> {
        let value: Value = self.client.put(path, body).await?;
        decode("PUT", path, value)
    }
}

fn decode<T: DeserializeOwned>(
    method: &str,
    path: &str,
    value: Value,
) -> Result<Live<T>, ApiError> {
    Live::from_value(value).map_err(|detail| decode_error(method, path, detail))
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

    #[test]
    fn decode_errors_name_the_field() {
        let error =
            LiveUrl::from_value(serde_json::json!({"network_offer_url_id": "x"})).unwrap_err();
        assert!(error.starts_with("at `network_offer_url_id`"), "{error}");
    }
}
