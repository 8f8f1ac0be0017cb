//! Render for an Offerit destination (issue 8; seed 003 `add_offer`,
//! `reference/offerit-api-facts.md`): what Offerit should hold for one source offer.
//! Pure, like the rest of render.
//!
//! It reuses the iScale render's rules wherever they are the same rule: the offer's
//! name, description, status and payout events (with the margin, rounded down to the
//! cent) come from `render::offer`, countries from `render::targeting`, and landing
//! pages are built like offer URLs (`render::urls`). What differs:
//! - the offer URL is the first source URL's (the default URL, id 0) landing page with
//!   `?uid=0&oid=..&affid=..&sub5=%%click_hash%%`: `uid` is the source URL id (Everflow's
//!   offer URL id, 0 for the default URL), under which the source's direct-linking script
//!   records the click, and `%%click_hash%%` is Offerit's click id, which the source's
//!   postback sends back;
//! - the default payout event becomes the offer's own commission (`cpa`, `cps` or
//!   `click`); other events become offer goals only where the desired entry maps them to
//!   a goal id (`goals:`), Offerit's goals being defined per install;
//! - the source's thumbnail is passed by URL (`thumb_url`: Offerit fetches it);
//! - what Offerit cannot hold ([`crate::destination::offerit::CAPABILITIES`]) is listed
//!   once per offer as not carried.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::offer::offer_spec;
use super::targeting::targeting_spec;
use super::urls::url_specs;
use super::{
    CountryTable, EventSpec, PixelSpec, Postback, RenderError, RenderInput, TargetingSpec, UrlSpec,
    attributed_url,
};
use crate::destination::Capabilities;
use crate::destination::offerit::CAPABILITIES;
use crate::everflow::affiliate::TargetingType;
use crate::everflow::types::{OfferStatus, PayoutType};
use crate::money::Margin;
use crate::source::DEFAULT_URL_ID;

/// Everything Offerit should hold for one source offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferitRendered {
    pub offer: OfferitOfferSpec,
    /// One landing page per further source URL (the first is the offer's own `url`).
    pub landing_pages: Vec<UrlSpec>,
    /// The offer's goals: mapped payout events, in the source's order. Empty: none.
    pub goals: Vec<GoalSpec>,
    /// Pixels in the source network (empty when the file has `postbacks: false`).
    pub pixels: Vec<PixelSpec>,
    /// What of the source could not be carried, or was worked around.
    pub notes: Vec<String>,
}

/// The Offerit offer offersync wants, with every field it manages.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct OfferitOfferSpec {
    pub name: String,
    pub offer_description: String,
    /// ISO-2 codes of the countries the source includes.
    pub authorized: Vec<String>,
    /// ISO-2 codes of the countries the source excludes.
    pub unauthorized: Vec<String>,
    /// The advertiser's `loginid` (`{NETWORK}_OFFERIT_ADVERTISER_ID`).
    pub advertiser_id: u64,
    pub commission: Commission,
    pub url: String,
    pub preview_url: String,
    /// The source's thumbnail URL; empty when it has none.
    pub thumb_url: String,
    /// Paused by `paused: true` or while the source does not run the offer.
    pub offer_status: OfferStatus,
    /// The margin the commission was computed with (for the plan's money lineage).
    pub margin: Margin,
}

/// How the offer pays: what the source pays us (Offerit's advertiser cost) and what
/// affiliates get (the commission), on one basis.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Commission {
    pub basis: Basis,
    /// What the source pays: `advertiser_cost_flat`.
    pub revenue: Decimal,
    /// What affiliates are paid: `revenue x (1 - margin)`, rounded down to the cent.
    pub payout: Decimal,
}

/// What a commission is paid on (seed 003, "Commission Parameters").
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A flat amount per conversion (source `cpa`).
    Conversion,
    /// A percentage of the sale (source `cps`).
    Sale,
    /// A flat amount per click (source `cpc`).
    Click,
}

impl Basis {
    /// `advertiser_cost_type`.
    pub fn advertiser_cost_type(self) -> &'static str {
        match self {
            Basis::Conversion => "conversion",
            Basis::Sale => "sale",
            Basis::Click => "click",
        }
    }

    /// `commission_type`.
    pub fn commission_type(self) -> &'static str {
        match self {
            Basis::Conversion => "cpa",
            Basis::Sale => "cps",
            Basis::Click => "click",
        }
    }

    /// The offer field the commission goes in.
    pub fn commission_field(self) -> &'static str {
        match self {
            Basis::Conversion => "flat_amount_per_conversion",
            Basis::Sale => "percentage_of_customer_conversion",
            Basis::Click => "flat_amount_per_click",
        }
    }

    pub fn is_percentage(self) -> bool {
        self == Basis::Sale
    }
}

/// One goal of the offer (`set_offer_goals`): a mapped source payout event.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct GoalSpec {
    /// The source event's name, as `goals:` maps it.
    pub entry_name: String,
    /// The install's goal id the desired entry gives.
    pub goal_id: u64,
    /// A percentage of the sale (source `cps`) rather than a flat amount (`cpa`).
    pub percentage: bool,
    /// What affiliates are paid: the source's amount x (1 - margin), rounded down.
    pub amount: Decimal,
    /// What the source pays.
    pub revenue_amount: Decimal,
    /// The margin the amount was computed with (for the plan's money lineage).
    pub margin: Margin,
}

impl GoalSpec {
    /// `commission_type` of a `goal_vars` entry.
    pub fn commission_type(&self) -> &'static str {
        if self.percentage {
            "percentage"
        } else {
            "flat"
        }
    }

    /// `revenue_type` of a `goal_vars` entry.
    pub fn revenue_type(&self) -> &'static str {
        if self.percentage {
            "sale"
        } else {
            "conversion"
        }
    }
}

/// Renders what Offerit should hold for one source offer. `tracking_domain` is
/// `OFFERIT_TRACKING_DOMAIN`, where the source's pixels post (when postbacks are managed).
pub fn render(
    input: RenderInput<'_>,
    tracking_domain: Option<&str>,
) -> Result<OfferitRendered, RenderError> {
    let mut notes = Vec::new();
    let offer = offer_spec(&input, &mut notes)?;
    let default = offer
        .events
        .iter()
        .find(|event| event.is_default)
        .ok_or(RenderError::NoEvents)?;
    let commission = commission(default)?;
    let landing = input
        .snapshot
        .default_landing_page()
        .ok_or(RenderError::NoLandingPage(DEFAULT_URL_ID))?;
    let url = attributed_url(&landing.url, Some(DEFAULT_URL_ID), &input);

    // Offerit takes countries by ISO code, not by Everflow's ids: every code an override
    // names is known, with or without iScale's country table.
    let codes = input
        .offer
        .geo
        .iter()
        .flat_map(|geo| geo.countries.iter().flatten())
        .map(|code| (code.0.clone(), 0, code.0.clone()));
    let table = CountryTable::new(codes);
    let targeting = targeting_spec(&RenderInput {
        countries: &table,
        ..input
    })?;
    let countries = |kind: TargetingType| -> Vec<String> {
        targeting
            .countries
            .iter()
            .filter(|entry| entry.targeting_type == kind)
            .map(|entry| entry.code.clone())
            .collect()
    };

    let landing_pages = url_specs(&input)?;
    let (goals, unmapped) = goals(&input, &offer.events);
    let pixels = match tracking_domain {
        Some(domain) if input.file.postbacks => vec![PixelSpec::conversion(Postback::Offerit {
            tracking_domain: domain.to_owned(),
        })],
        _ => Vec::new(),
    };
    let spec = OfferitOfferSpec {
        authorized: countries(TargetingType::Include),
        unauthorized: countries(TargetingType::Exclude),
        advertiser_id: input.network.advertiser_id,
        commission,
        url,
        preview_url: offer.preview_url,
        thumb_url: input.snapshot.offer.thumbnail_url.trim().to_owned(),
        offer_status: offer.offer_status,
        margin: offer.margin,
        offer_description: offer.html_description,
        name: offer.name,
    };
    let carried = Carried {
        targeting: &targeting,
        unmapped: &unmapped,
        goals: &goals,
        postbacks: !pixels.is_empty(),
    };
    notes.extend(not_carried(&CAPABILITIES, &input, &carried));
    Ok(OfferitRendered {
        offer: spec,
        landing_pages,
        goals,
        pixels,
        notes,
    })
}

/// The offer's commission, from the source's default event.
fn commission(default: &EventSpec) -> Result<Commission, RenderError> {
    let (basis, revenue, payout) = match default.payout_type {
        PayoutType::Cpa => (
            Basis::Conversion,
            default.revenue_amount,
            default.payout_amount,
        ),
        PayoutType::Cps => (
            Basis::Sale,
            default.revenue_percentage,
            default.payout_percentage,
        ),
        PayoutType::Cpc => (Basis::Click, default.revenue_amount, default.payout_amount),
        other => {
            return Err(RenderError::DefaultNotCarried {
                name: default.entry_name.clone(),
                payout_type: other,
                why: "Offerit's offer commission is a flat amount per conversion (cpa), a \
                      percentage of the sale (cps) or an amount per click (cpc)",
            });
        }
    };
    Ok(Commission {
        basis,
        revenue,
        payout,
    })
}

/// The goals the desired entry maps, and the other events (with why they are not
/// carried).
fn goals(input: &RenderInput<'_>, events: &[EventSpec]) -> (Vec<GoalSpec>, Vec<String>) {
    let mut goals = Vec::new();
    let mut unmapped = Vec::new();
    for event in events.iter().filter(|event| !event.is_default) {
        let name = crate::text::shown(&event.entry_name);
        let Some(goal_id) = input.offer.goals.get(&event.entry_name) else {
            unmapped.push(format!(
                "payout event `{name}` (no goal for it in `goals:`)"
            ));
            continue;
        };
        let (percentage, amount, revenue_amount) = match event.payout_type {
            PayoutType::Cpa => (false, event.payout_amount, event.revenue_amount),
            PayoutType::Cps => (true, event.payout_percentage, event.revenue_percentage),
            other => {
                unmapped.push(format!(
                    "payout event `{name}` ({other}: an Offerit goal pays a flat amount or a percentage)"
                ));
                continue;
            }
        };
        goals.push(GoalSpec {
            entry_name: event.entry_name.clone(),
            goal_id: goal_id.0,
            percentage,
            amount,
            revenue_amount,
            margin: input.margin(),
        });
    }
    // A mapping the source has no event for is a slip in the desired file: say so.
    for name in input.offer.goals.keys() {
        if !events.iter().any(|event| &event.entry_name == name) {
            unmapped.push(format!(
                "`goals:` maps `{}`, which is not a payout event of the source offer",
                crate::text::shown(name)
            ));
        }
    }
    (goals, unmapped)
}

/// What render carried, for the list of what it did not.
struct Carried<'a> {
    targeting: &'a TargetingSpec,
    unmapped: &'a [String],
    goals: &'a [GoalSpec],
    postbacks: bool,
}

/// One note listing what `capabilities` say the destination cannot hold of this offer.
fn not_carried(
    capabilities: &Capabilities,
    input: &RenderInput<'_>,
    carried: &Carried<'_>,
) -> Option<String> {
    let source = &input.snapshot.offer.relationship;
    let names = |names: Vec<String>| -> String {
        names
            .iter()
            .map(|name| format!("`{}`", crate::text::shown(name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut items = Vec::new();
    if !capabilities.creatives {
        let creatives: Vec<String> = source
            .creatives
            .0
            .iter()
            .filter(|creative| creative.creative_status != "deleted")
            .map(|creative| creative.name.clone())
            .collect();
        if !creatives.is_empty() {
            items.push(format!("creatives {}", names(creatives)));
        }
    }
    if !capabilities.payout_rules && !source.custom_payout_settings.0.is_empty() {
        let count = source.custom_payout_settings.0.len();
        items.push(format!(
            "{count} custom payout rule{}",
            if count == 1 { "" } else { "s" }
        ));
    }
    if !capabilities.regions && !carried.targeting.regions.is_empty() {
        let regions = carried
            .targeting
            .regions
            .iter()
            .map(|region| region.code.clone())
            .collect();
        items.push(format!("region rules {}", names(regions)));
    }
    if !capabilities.every_event {
        items.extend(carried.unmapped.iter().cloned());
    }
    if !capabilities.event_postbacks && carried.postbacks && !carried.goals.is_empty() {
        let events = carried
            .goals
            .iter()
            .map(|goal| goal.entry_name.clone())
            .collect();
        items.push(format!(
            "postbacks of goal events {} (only the base conversion's pixel is set up: \
             how process_pixel.php records a goal is not documented)",
            names(events)
        ));
    }
    let visibility = input.offer.visibility.or(input.file.visibility);
    if let (false, Some(visibility)) = (capabilities.visibility, visibility) {
        items.push(format!("visibility `{}`", visibility.as_str()));
    }
    (!items.is_empty())
        .then(|| format!("not carried to {}: {}", capabilities.name, items.join("; ")))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::desired::{DesiredFile, Destination};
    use crate::render::test_input::{network, snapshot};

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    /// The sandbox's TrimRx GLP-1 offer, in the shape the render tests use.
    fn relationship() -> serde_json::Value {
        serde_json::json!({
            "payouts": {"entries": [
                {"network_offer_payout_revenue_id": 11, "entry_name": "Base", "payout_type": "cpa", "payout_amount": 350, "is_default": true},
                {"network_offer_payout_revenue_id": 12, "entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 290},
                {"network_offer_payout_revenue_id": 13, "entry_name": "Refill", "payout_type": "cpa", "payout_amount": 45.55}
            ]},
            "urls": {"entries": [{"network_offer_url_id": 102, "name": "Quiz", "preview_url": ""}]},
            "creatives": {"entries": [
                {"network_offer_creative_id": 1, "name": "Banner", "creative_type": "image", "creative_status": "active", "resource_url": "https://cdn.test/b.png"},
                {"network_offer_creative_id": 2, "name": "Gone", "creative_type": "image", "creative_status": "deleted", "resource_url": "https://cdn.test/g.png"}
            ]},
            "custom_payout_settings": {"entries": [{"payout_amount": 400, "payout_type": "cpa", "network_offer_url_ids": [102]}]},
            "ruleset": {
                "countries": [
                    {"country_id": 227, "country_code": "US", "label": "United States", "targeting_type": "include", "match_type": "exact"},
                    {"country_id": 177, "country_code": "PR", "label": "Puerto Rico", "targeting_type": "exclude", "match_type": "exact"}
                ],
                "regions": [{"region_id": 1501, "region_code": "MS", "label": "Mississippi", "targeting_type": "exclude", "match_type": "exact"}]
            }
        })
    }

    fn render_yaml(
        relationship: &serde_json::Value,
        yaml: &str,
    ) -> Result<OfferitRendered, RenderError> {
        let file: DesiredFile = serde_yaml::from_str(yaml).unwrap();
        let snapshot = snapshot(relationship);
        let mut network = network();
        network.destination = Destination::Offerit;
        network.advertiser_id = 4003;
        render(
            RenderInput {
                network: &network,
                default_margin: Margin::default(),
                file: &file,
                offer: &file.offers[0],
                snapshot: &snapshot,
                countries: &CountryTable::default(),
                postbacks: None,
            },
            Some("trk.offerit.test"),
        )
    }

    const MAPPED: &str =
        "destination: offerit\noffers:\n  - source_offer_id: 1\n    goals: {Upsell: 1}\n";

    #[test]
    fn the_offer_carries_the_commission_rounded_down_and_an_attributed_url() {
        let rendered = render_yaml(&relationship(), MAPPED).unwrap();
        let offer = &rendered.offer;
        assert_eq!(offer.name, "TrimRx GLP-1");
        assert_eq!(offer.advertiser_id, 4003);
        assert_eq!(
            offer.commission,
            Commission {
                basis: Basis::Conversion,
                revenue: dec("350"),
                payout: dec("280.00"),
            }
        );
        assert_eq!(
            offer.url,
            "https://trimrx.test/start?uid=0&oid=1&affid=42&sub5=%%click_hash%%"
        );
        assert_eq!(
            (offer.authorized.as_slice(), offer.unauthorized.as_slice()),
            (&["US".to_owned()][..], &["PR".to_owned()][..])
        );
        assert_eq!(
            rendered.landing_pages[0].destination_url,
            "https://trimrx.test/lp/102?uid=102&oid=1&affid=42&sub5=%%click_hash%%"
        );
        assert_eq!(
            rendered.goals,
            [GoalSpec {
                entry_name: "Upsell".into(),
                goal_id: 1,
                percentage: false,
                amount: dec("232.00"),
                revenue_amount: dec("290"),
                margin: Margin::default(),
            }]
        );
        assert_eq!(
            rendered.pixels[0].postback_url().as_deref(),
            Some("https://trk.offerit.test/signup/process_pixel.php?click_hash={sub5}")
        );
    }

    #[test]
    fn what_offerit_cannot_hold_is_listed_once() {
        let rendered = render_yaml(
            &relationship(),
            "destination: offerit\nvisibility: public\noffers:\n  - source_offer_id: 1\n    goals: {Upsell: 1, Lead: 2}\n",
        )
        .unwrap();
        assert_eq!(
            rendered.notes,
            [
                "not carried to Offerit: creatives `Banner`; 1 custom payout rule; region rules `MS`; \
                 payout event `Refill` (no goal for it in `goals:`); `goals:` maps `Lead`, which is \
                 not a payout event of the source offer; postbacks of goal events `Upsell` (only the \
                 base conversion's pixel is set up: how process_pixel.php records a goal is not \
                 documented); visibility `public`"
            ]
        );
    }

    #[test]
    fn a_revenue_share_is_a_percentage_of_the_sale() {
        let rendered = render_yaml(
            &serde_json::json!({"payouts": {"entries": [
                {"entry_name": "Base", "payout_type": "cps", "payout_percentage": 33.33, "payout_amount": 5, "is_default": true}
            ]}}),
            "destination: offerit\noffers:\n  - source_offer_id: 1\n",
        )
        .unwrap();
        assert_eq!(
            rendered.offer.commission,
            Commission {
                basis: Basis::Sale,
                revenue: dec("33.33"),
                payout: dec("26.66"),
            }
        );
        assert!(rendered.notes.is_empty(), "{:?}", rendered.notes);
        assert!(rendered.offer.authorized.is_empty());
    }

    #[test]
    fn a_default_event_offerit_cannot_pay_is_an_error() {
        let error = render_yaml(
            &serde_json::json!({"payouts": {"entries": [
                {"entry_name": "Base", "payout_type": "cpa_cps", "payout_percentage": 5, "payout_amount": 5, "is_default": true}
            ]}}),
            "destination: offerit\noffers:\n  - source_offer_id: 1\n",
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                RenderError::DefaultNotCarried {
                    payout_type: PayoutType::CpaCps,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn country_overrides_need_no_country_table() {
        let rendered = render_yaml(
            &relationship(),
            "destination: offerit\noffers:\n  - source_offer_id: 1\n    geo:\n      countries: [CA, US]\n",
        )
        .unwrap();
        assert_eq!(rendered.offer.authorized, ["CA", "US"]);
        assert_eq!(rendered.offer.unauthorized, ["PR"]);
    }
}
