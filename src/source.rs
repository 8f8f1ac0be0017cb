//! Pulling source offers: what each configured offer looks like in its source network
//! right now, as a [`SourceSnapshot`].
//!
//! A snapshot is the raw offer (saved as `offer.json`) with its typed view, plus the
//! landing page behind each of its URLs (saved in `url_mapping.json`). Landing pages come
//! from the tracking-link route because `preview_url` in the URL entries is often empty
//! (DESIGN section 5 item 3). This module reads the Affiliate API and nothing else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::desired::SourceOfferId;
use crate::everflow::ApiError;
use crate::everflow::affiliate::{AffiliateApi, SourceOffer};
use crate::everflow::types::{RAW_INVARIANT, RawObject, decode_detail, json_kind};

/// The URL id Everflow uses for an offer's default landing page.
pub const DEFAULT_URL_ID: u64 = 0;

/// One source offer as pulled.
///
/// The offer as the API returned it is absent from a snapshot loaded from the read cache
/// (`plan --refresh=false`): a plan reads the typed offer only, and the raw one is only
/// written (`offer.json`) by an apply, which never runs a plan from the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSnapshot {
    pub offer_id: SourceOfferId,
    raw: Option<RawObject>,
    pub offer: SourceOffer,
    /// Landing page per source URL id (0: the offer's default URL).
    pub landing_pages: BTreeMap<u64, LandingPage>,
}

/// Where one source URL sends traffic.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct LandingPage {
    pub name: String,
    /// The page itself: the tracking link up to its query string.
    pub url: String,
}

impl SourceSnapshot {
    /// Builds a snapshot from a raw offer and its landing pages, checking the offer's shape.
    pub fn new(
        offer_id: SourceOfferId,
        raw: &serde_json::Value,
        landing_pages: BTreeMap<u64, LandingPage>,
    ) -> Result<Self, String> {
        let serde_json::Value::Object(object) = raw else {
            return Err(format!("expected an offer object, got {}", json_kind(raw)));
        };
        let offer = serde_path_to_error::deserialize(raw).map_err(decode_detail)?;
        Self::checked(
            offer_id,
            Some(RawObject::from_map(object)),
            offer,
            landing_pages,
        )
    }

    /// [`SourceSnapshot::new`] for an offer kept as text.
    pub fn from_raw(
        offer_id: SourceOfferId,
        raw: RawObject,
        landing_pages: BTreeMap<u64, LandingPage>,
    ) -> Result<Self, String> {
        let offer = raw.decode()?;
        Self::checked(offer_id, Some(raw), offer, landing_pages)
    }

    /// [`SourceSnapshot::new`] for an offer known by its typed view alone, as the read
    /// cache gives it: it has no [`SourceSnapshot::raw`].
    pub fn view_only(
        offer_id: SourceOfferId,
        offer: SourceOffer,
        landing_pages: BTreeMap<u64, LandingPage>,
    ) -> Result<Self, String> {
        Self::checked(offer_id, None, offer, landing_pages)
    }

    /// The offer exactly as the API returned it, for `offer.json`.
    ///
    /// # Panics
    ///
    /// When the snapshot came from the read cache, which keeps views only.
    pub fn raw(&self) -> &RawObject {
        self.raw.as_ref().expect(RAW_INVARIANT)
    }

    fn checked(
        offer_id: SourceOfferId,
        raw: Option<RawObject>,
        offer: SourceOffer,
        landing_pages: BTreeMap<u64, LandingPage>,
    ) -> Result<Self, String> {
        if offer.network_offer_id != offer_id.0 {
            return Err(format!(
                "asked for offer {offer_id} but the answer is offer {}",
                offer.network_offer_id
            ));
        }
        Ok(Self {
            offer_id,
            raw,
            offer,
            landing_pages,
        })
    }

    pub fn default_landing_page(&self) -> Option<&LandingPage> {
        self.landing_pages.get(&DEFAULT_URL_ID)
    }
}

/// What pulling one configured offer found.
#[derive(Clone, Debug)]
pub enum Pulled {
    Found(Box<SourceSnapshot>),
    /// The source no longer shows or lets us run this offer.
    Unavailable {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{network}/{offer_id}: {source}")]
    Api {
        network: String,
        offer_id: SourceOfferId,
        source: ApiError,
    },
    #[error("{network}/{offer_id}: the source offer is malformed: {detail}")]
    Malformed {
        network: String,
        offer_id: SourceOfferId,
        detail: String,
    },
    #[error("{network}: listing the offers we may run: {source}")]
    List { network: String, source: ApiError },
}

/// Pulls the configured offers of one source network, all at once (its limiter paces
/// the requests), in the order of `ids`; `arrived` hears of each offer as soon as it is
/// known, before its links are read, and `pulled` as it is done.
///
/// One `offersrunnable` list (2,000 offers a page) brings every offer we may run with
/// its relationships ("the full relationship object", LIVE affiliate-offers), so several
/// offers cost one call instead of one each; an offer missing from it is read on its
/// own, which says why (404: not visible; visible but not runnable: its links answer
/// 400). A single offer is read on its own: the list would be the larger answer.
pub async fn pull_offers(
    api: &AffiliateApi,
    network: &str,
    ids: &[SourceOfferId],
    arrived: &(dyn Fn(SourceOfferId, &SourceSnapshot) + Sync),
    pulled: &(dyn Fn() + Sync),
) -> Result<Vec<Result<Pulled, PullError>>, PullError> {
    let mut listed: BTreeMap<u64, RawObject> = BTreeMap::new();
    if ids.len() > 1 {
        let wanted: std::collections::BTreeSet<u64> = ids.iter().map(|id| id.0).collect();
        let offers = api
            .runnable_offers()
            .await
            .map_err(|source| PullError::List {
                network: network.to_owned(),
                source,
            })?;
        #[derive(Deserialize)]
        struct Listed {
            network_offer_id: u64,
        }
        for offer in offers {
            if let Ok(Listed { network_offer_id }) = offer.decode()
                && wanted.contains(&network_offer_id)
            {
                listed.insert(network_offer_id, offer);
            }
        }
    }
    let pulls = ids.iter().map(|&offer_id| {
        let raw = listed.remove(&offer_id.0);
        async move {
            let outcome = pull_offer(api, network, offer_id, raw, arrived).await;
            pulled();
            outcome
        }
    });
    Ok(futures_util::future::join_all(pulls).await)
}

/// Pulls one offer (`listed`: as the runnable list showed it, else it is read), tells
/// `arrived` of it, then reads the landing page behind its default URL and each of its
/// other URLs, at once.
async fn pull_offer(
    api: &AffiliateApi,
    network: &str,
    offer_id: SourceOfferId,
    listed: Option<RawObject>,
    arrived: &(dyn Fn(SourceOfferId, &SourceSnapshot) + Sync),
) -> Result<Pulled, PullError> {
    let api_error = |source: ApiError| PullError::Api {
        network: network.to_owned(),
        offer_id,
        source,
    };
    let malformed = |detail: String| PullError::Malformed {
        network: network.to_owned(),
        offer_id,
        detail,
    };
    let from_list = listed.is_some();
    let snapshot = match listed {
        Some(raw) => SourceSnapshot::from_raw(offer_id, raw, BTreeMap::new()),
        None => match api.offer(offer_id.0).await {
            Ok(raw) => SourceSnapshot::new(offer_id, &raw, BTreeMap::new()),
            // Everflow answers 404 both for offers that do not exist and for offers this
            // affiliate may not see (facts file, GET /affiliates/offers/{offerId}).
            Err(error) if error.is_not_found() => {
                return Ok(Pulled::Unavailable {
                    reason: "the source network does not show this offer to us (404)".to_owned(),
                });
            }
            Err(error) => return Err(api_error(error)),
        },
    };
    let mut snapshot = snapshot.map_err(malformed)?;
    arrived(offer_id, &snapshot);
    // A listed offer's own `tracking_url` is its default tracking link: the default URL's
    // landing page needs no call of its own. An offer read on its own may be visible but
    // not runnable, which only its default link's answer (400) tells.
    let default_link =
        Some(snapshot.offer.tracking_url.clone()).filter(|link| from_list && !link.is_empty());
    let urls: Vec<(u64, String, Option<String>)> =
        std::iter::once((DEFAULT_URL_ID, "Default".to_owned(), default_link))
            .chain(
                snapshot
                    .offer
                    .relationship
                    .urls
                    .0
                    .iter()
                    .filter(|url| url.network_offer_url_id != DEFAULT_URL_ID)
                    .map(|url| (url.network_offer_url_id, url.name.clone(), None)),
            )
            .collect();
    let links =
        futures_util::future::join_all(urls.into_iter().map(|(url_id, name, known)| async move {
            let link = match known {
                Some(link) => Ok(link),
                None => api.tracking_link(offer_id.0, url_id).await,
            };
            (url_id, name, link)
        }))
        .await;
    for (url_id, name, link) in links {
        let link = match link {
            Ok(link) => link,
            // 400: "the affiliate may not run the offer" (facts file, /url/{urlId}).
            Err(error) if url_id == DEFAULT_URL_ID && matches!(error.status(), Some(400 | 404)) => {
                return Ok(Pulled::Unavailable {
                    reason: format!(
                        "the source network does not let us run this offer ({})",
                        error.status().unwrap_or_default()
                    ),
                });
            }
            Err(error) => return Err(api_error(error)),
        };
        let url = landing_page_of(&link).ok_or_else(|| {
            malformed(format!(
                "the tracking link of URL {url_id} is not an http(s) URL: `{}`",
                crate::text::shown(&link)
            ))
        })?;
        snapshot
            .landing_pages
            .insert(url_id, LandingPage { name, url });
    }
    Ok(Pulled::Found(Box::new(snapshot)))
}

/// The landing page of a tracking link: everything before its query (and fragment).
/// Returns `None` for anything that is not an absolute http(s) URL.
pub fn landing_page_of(link: &str) -> Option<String> {
    let link = link.trim();
    let end = link.find(['?', '#']).unwrap_or(link.len());
    let base = &link[..end];
    let parsed = url::Url::parse(base).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    Some(base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_page_is_the_link_before_its_query() {
        assert_eq!(
            landing_page_of(
                "https://www.domain.com/path?_ef_transaction_id=&uid=123&oid=456&affid=789"
            )
            .as_deref(),
            Some("https://www.domain.com/path")
        );
        assert_eq!(
            landing_page_of("https://a.test/x#frag").as_deref(),
            Some("https://a.test/x")
        );
        assert_eq!(landing_page_of("javascript:alert(1)"), None);
        assert_eq!(landing_page_of("/relative?x=1"), None);
    }

    #[test]
    fn snapshot_rejects_a_mismatched_offer() {
        let error = SourceSnapshot::new(
            SourceOfferId(1),
            &serde_json::json!({"network_offer_id": 2}),
            BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(error, "asked for offer 1 but the answer is offer 2");
    }

    #[test]
    fn snapshot_names_where_the_shape_is_wrong() {
        let error = SourceSnapshot::new(
            SourceOfferId(1),
            &serde_json::json!({"network_offer_id": 1, "relationship": {"payouts": {"entries": [{"payout_type": null}]}}}),
            BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "at `relationship.payouts.entries[0].payout_type`: invalid type: null, expected string or map"
        );
    }

    #[test]
    fn snapshot_names_a_bad_number_by_its_field() {
        let raw: serde_json::Value = serde_json::from_str(
            r#"{"network_offer_id": 1, "relationship": {"payouts": [{"payout_type": "cpa", "payout_amount": 1e400}]}}"#,
        )
        .unwrap();
        let error = SourceSnapshot::new(SourceOfferId(1), &raw, BTreeMap::new()).unwrap_err();
        assert!(
            error.starts_with("at `relationship.payouts[0].payout_amount`: "),
            "{error}"
        );
        let error = SourceSnapshot::new(
            SourceOfferId(1),
            &serde_json::json!({"name": "no id"}),
            BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(error, "missing field `network_offer_id`");
    }

    #[test]
    fn snapshot_of_something_that_is_not_an_object() {
        for (raw, kind) in [
            (serde_json::json!([{"network_offer_id": 1}]), "a list"),
            (serde_json::Value::Null, "null"),
            (serde_json::json!("offer"), "a string"),
        ] {
            let error = SourceSnapshot::new(SourceOfferId(1), &raw, BTreeMap::new()).unwrap_err();
            assert_eq!(error, format!("expected an offer object, got {kind}"));
        }
    }

    #[test]
    fn quoted_values_stay_on_one_short_line() {
        let raw = serde_json::json!({
            "network_offer_id": 1,
            "relationship": {"payouts": {"entries": [{"payout_type": format!("c\npa{}", "x".repeat(1 << 20))}]}}
        });
        let error = SourceSnapshot::new(SourceOfferId(1), &raw, BTreeMap::new()).unwrap_err();
        assert!(error.len() <= 400, "{} characters", error.len());
        assert!(
            error.starts_with(
                "at `relationship.payouts.entries[0].payout_type`: unknown variant `c\\npaxxx"
            ),
            "{error}"
        );
        assert!(
            error.ends_with("`cps_sku`, `cpa_cps_sku`, `prv_sku`"),
            "{error}"
        );
    }
}
