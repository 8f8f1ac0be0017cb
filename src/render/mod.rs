//! Render: what the destination should hold for one source offer, from the source
//! snapshot, the desired config and the settings. Pure: no I/O, no clock, no randomness;
//! snapshot-tested.
//!
//! One file per managed resource (DESIGN section 5): the offer with its payout events,
//! its landing-page URLs, creatives, geo targeting and custom payout rules; the thumbnail
//! is only named here (which image to look for), fetching it belongs to apply.

mod creatives;
mod offer;
pub mod offerit;
mod pixels;
mod rules;
mod targeting;
mod urls;

use serde::{Deserialize, Serialize};

use crate::desired::{DesiredFile, OfferConfig};
use crate::everflow::types::PayoutType;
use crate::money::Margin;
use crate::settings::NetworkSettings;
use crate::source::SourceSnapshot;
use crate::text::shown;

pub use creatives::{CreativeContent, CreativeSpec};
pub use offer::{EventSpec, OfferSpec};
pub use pixels::{PixelSpec, Postback, PostbackTarget, replace_token, split_token};
pub use rules::{RuleKey, RuleSpec};
pub use targeting::{CountryTable, GeoEntry, TargetingSpec};
pub use urls::UrlSpec;

/// The Everflow macro that becomes iScale's click id at redirect time; passed to the
/// source as `sub5` so the source's postback can send it back (seed 000).
pub const TRANSACTION_ID_MACRO: &str = "{transaction_id}";

/// Offerit's macro for its click id (the "click hash"), which the offer URL must carry
/// for server-to-server conversions (offerit-api-facts.md section 4).
pub const CLICK_HASH_MACRO: &str = "%%click_hash%%";

/// Everything the destination should hold for one source offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub offer: OfferSpec,
    pub urls: Vec<UrlSpec>,
    pub creatives: Vec<CreativeSpec>,
    pub targeting: TargetingSpec,
    pub rules: Vec<RuleSpec>,
    pub thumbnail: ThumbnailSpec,
    /// Pixels in the source network (empty when the file has `postbacks: false`).
    pub pixels: Vec<PixelSpec>,
    /// What of the source could not be carried, or was worked around.
    pub notes: Vec<String>,
}

/// Where the offer's thumbnail should come from: the source's image, else what the
/// offer's pages show (og:image, icons), else the name's initials. Resolved at apply.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ThumbnailSpec {
    /// The source offer's `thumbnail_url` (may be empty).
    pub thumbnail_url: String,
    /// Pages to search when it is empty or broken: the preview URL, then the default
    /// landing page.
    pub pages: Vec<String>,
    /// For the initials placeholder.
    pub offer_name: String,
}

/// Why a source offer cannot be rendered at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the source offer has no name")]
    NoName,
    #[error("the source offer has no payout events")]
    NoEvents,
    #[error("the landing page of source URL {0} is unknown")]
    NoLandingPage(u64),
    #[error("two payout events are both named `{}`; events are matched by name", shown(.0))]
    DuplicateEvent(String),
    #[error("payout event `{}` has a negative {field}", shown(.name))]
    Negative { name: String, field: &'static str },
    #[error("the default payout event `{}` is `{payout_type}`, which {why}: not carried", shown(.name))]
    DefaultNotCarried {
        name: String,
        payout_type: PayoutType,
        why: &'static str,
    },
    #[error("geo.countries: unknown country code `{}`", shown(.0))]
    UnknownCountry(String),
}

/// Everything render reads.
#[derive(Clone, Copy, Debug)]
pub struct RenderInput<'a> {
    pub network: &'a NetworkSettings,
    /// `ISCALE_PAYOUT_MARGIN` (or its default).
    pub default_margin: Margin,
    pub file: &'a DesiredFile,
    pub offer: &'a OfferConfig,
    pub snapshot: &'a SourceSnapshot,
    /// Country ids by code, for `geo.countries` overrides naming countries the source's
    /// ruleset does not mention (empty when there are none).
    pub countries: &'a CountryTable,
    /// Where postbacks go, when this network's postbacks are managed.
    pub postbacks: Option<PostbackTarget<'a>>,
}

impl RenderInput<'_> {
    /// The margin that applies: the offer's, else the file's, else the setting.
    pub fn margin(&self) -> Margin {
        self.offer
            .margin
            .or(self.file.margin)
            .unwrap_or(self.default_margin)
    }
}

/// Renders every resource of one source offer.
pub fn render(input: RenderInput<'_>) -> Result<Rendered, RenderError> {
    let mut notes = Vec::new();
    let offer = offer::offer_spec(&input, &mut notes)?;
    let urls = urls::url_specs(&input)?;
    let creatives = creatives::creative_specs(&input, &mut notes);
    let targeting = targeting::targeting_spec(&input)?;
    let rules = rules::rule_specs(&input, &offer, &urls, &mut notes);
    let thumbnail = thumbnail_spec(&input, &offer);
    let pixels = pixels::pixel_specs(&input, &offer);
    Ok(Rendered {
        offer,
        urls,
        creatives,
        targeting,
        rules,
        thumbnail,
        pixels,
        notes,
    })
}

fn thumbnail_spec(input: &RenderInput<'_>, offer: &OfferSpec) -> ThumbnailSpec {
    let source = &input.snapshot.offer;
    let mut pages: Vec<String> = Vec::new();
    let default_page = input
        .snapshot
        .default_landing_page()
        .map(|page| page.url.clone());
    for page in [Some(source.preview_url.clone()), default_page]
        .into_iter()
        .flatten()
    {
        let page = page.trim().to_owned();
        if (page.starts_with("https://") || page.starts_with("http://")) && !pages.contains(&page) {
            pages.push(page);
        }
    }
    ThumbnailSpec {
        thumbnail_url: source.thumbnail_url.trim().to_owned(),
        pages,
        offer_name: offer.name.clone(),
    }
}

/// `{landing page}?[uid={url}&]oid={offer}&affid={affiliate}&sub5={click id}`: the
/// source sees our affiliate id and its own ids, and carries the destination's click id
/// in `sub5` (iScale's `{transaction_id}`, Offerit's `%%click_hash%%`) so its postback
/// can report the conversion back (seed 000, "URL Destination Format").
fn attributed_url(landing: &str, source_url_id: Option<u64>, input: &RenderInput<'_>) -> String {
    let uid = source_url_id.map_or_else(String::new, |id| format!("uid={id}&"));
    let click = match input.network.destination {
        crate::desired::Destination::Iscale => TRANSACTION_ID_MACRO,
        crate::desired::Destination::Offerit => CLICK_HASH_MACRO,
    };
    format!(
        "{landing}?{uid}oid={}&affid={}&sub5={click}",
        input.snapshot.offer.network_offer_id, input.network.affiliate_id
    )
}

/// Rendered offers for the tests of modules that consume them.
#[cfg(test)]
pub(crate) mod sample {
    pub(crate) use super::offer::sample::spec;
}

#[cfg(test)]
pub(crate) mod test_input {
    //! A source snapshot and settings to render in unit tests.

    use std::collections::BTreeMap;

    use super::*;
    use crate::desired::SourceOfferId;
    use crate::secret::Secret;
    use crate::source::LandingPage;

    pub(crate) fn network() -> NetworkSettings {
        NetworkSettings {
            name: "trimrx".into(),
            destination: crate::desired::Destination::Iscale,
            api_key: Secret::new("aff-key-0123456789"),
            affiliate_id: 42,
            advertiser_id: 13,
            verification_token: None,
            rate_limit: crate::everflow::RateLimit::AFFILIATE,
        }
    }

    /// A snapshot of offer 1 whose `relationship` is `relationship`, with landing pages
    /// for URL 0 and every URL entry.
    pub(crate) fn snapshot(relationship: &serde_json::Value) -> SourceSnapshot {
        let url_ids: Vec<u64> = relationship["urls"]["entries"]
            .as_array()
            .map(|urls| {
                urls.iter()
                    .filter_map(|url| url["network_offer_url_id"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        let mut landing_pages = BTreeMap::from([(
            0,
            LandingPage {
                name: "Default".into(),
                url: "https://trimrx.test/start".into(),
            },
        )]);
        for id in url_ids {
            landing_pages.insert(
                id,
                LandingPage {
                    name: format!("URL {id}"),
                    url: format!("https://trimrx.test/lp/{id}"),
                },
            );
        }
        SourceSnapshot::new(
            SourceOfferId(1),
            &serde_json::json!({
                "network_offer_id": 1,
                "name": "TrimRx GLP-1",
                "offer_status": "active",
                "currency_id": "USD",
                "html_description": "<p>Weight care</p>",
                "preview_url": "https://trimrx.test/preview",
                "thumbnail_url": "",
                "relationship": relationship
            }),
            landing_pages,
        )
        .unwrap()
    }

    /// Renders `relationship` with the desired file `yaml` (its first offer).
    pub(crate) fn render_with(
        relationship: &serde_json::Value,
        yaml: &str,
        countries: &CountryTable,
    ) -> Result<Rendered, RenderError> {
        render_with_postbacks(relationship, yaml, countries, None)
    }

    /// The same, with postbacks managed.
    pub(crate) fn render_with_postbacks(
        relationship: &serde_json::Value,
        yaml: &str,
        countries: &CountryTable,
        postbacks: Option<PostbackTarget<'_>>,
    ) -> Result<Rendered, RenderError> {
        let file: DesiredFile = serde_yaml::from_str(yaml).unwrap();
        let snapshot = snapshot(relationship);
        let network = network();
        render(RenderInput {
            network: &network,
            default_margin: Margin::default(),
            file: &file,
            offer: &file.offers[0],
            snapshot: &snapshot,
            countries,
            postbacks,
        })
    }
}
