//! The destination offer itself: basic info and payout events (DESIGN section 5 items
//! 1-2). The destination URL is built from the default landing page with our attribution
//! parameters, and every payout event is carried with `revenue = source` and
//! `payout = source x (1 - margin)` rounded down to the cent, exactly one of them default.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{RenderError, RenderInput, attributed_url};
use crate::everflow::affiliate::SourcePayout;
use crate::everflow::types::{OfferStatus, PayoutType, RevenueType, Visibility};
use crate::money::Margin;

/// The destination offer offersync wants, with every field it manages.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct OfferSpec {
    pub name: String,
    pub html_description: String,
    pub preview_url: String,
    pub destination_url: String,
    pub visibility: Visibility,
    pub offer_status: OfferStatus,
    pub network_advertiser_id: u64,
    pub currency_id: String,
    /// The margin the payouts were computed with (kept for the plan's money lineage).
    pub margin: Margin,
    /// Payout events, the default one first.
    pub events: Vec<EventSpec>,
}

/// One payout/revenue entry of the destination offer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct EventSpec {
    pub entry_name: String,
    pub is_default: bool,
    /// The source event this mirrors (0: the base conversion).
    pub source_event_id: u64,
    pub payout_type: PayoutType,
    pub payout_amount: Decimal,
    pub payout_percentage: Decimal,
    pub revenue_type: RevenueType,
    pub revenue_amount: Decimal,
    pub revenue_percentage: Decimal,
}

/// Renders the destination offer for one source offer.
pub(super) fn offer_spec(
    input: &RenderInput<'_>,
    notes: &mut Vec<String>,
) -> Result<OfferSpec, RenderError> {
    let source = &input.snapshot.offer;
    let margin = input.margin();

    let name = match &input.offer.name {
        Some(name) => name.0.clone(),
        None if source.name.trim().is_empty() => return Err(RenderError::NoName),
        None => source.name.clone(),
    };
    let landing = input
        .snapshot
        .default_landing_page()
        .ok_or(RenderError::NoLandingPage(crate::source::DEFAULT_URL_ID))?;
    let destination_url = attributed_url(&landing.url, None, input);
    let offer_status = if input.offer.paused || !is_running(&source.offer_status) {
        OfferStatus::Paused
    } else {
        OfferStatus::Active
    };
    let currency_id = if source.currency_id.trim().is_empty() {
        "USD".to_owned()
    } else {
        source.currency_id.clone()
    };

    let events = render_events(&source.relationship.payouts.0, margin, notes)?;

    Ok(OfferSpec {
        name,
        html_description: input
            .offer
            .html_description
            .clone()
            .unwrap_or_else(|| source.html_description.clone()),
        preview_url: source.preview_url.clone(),
        destination_url,
        visibility: input
            .offer
            .visibility
            .or(input.file.visibility)
            .unwrap_or(Visibility::RequireApproval),
        offer_status,
        network_advertiser_id: input.network.advertiser_id,
        currency_id,
        margin,
        events,
    })
}

/// What the source pays, by its payout type: a flat amount, a percentage, or both. A
/// value the type does not use may be left in the field but means nothing.
pub(super) fn source_money(
    payout_type: PayoutType,
    amount: Decimal,
    percentage: Decimal,
) -> (Decimal, Decimal) {
    let amount = if payout_type.uses_amount() {
        amount
    } else {
        Decimal::ZERO
    };
    let percentage = if payout_type.uses_percentage() {
        percentage
    } else {
        Decimal::ZERO
    };
    (amount, percentage)
}

/// Proto3 leaves unset strings empty; only an explicit non-active status pauses.
fn is_running(status: &str) -> bool {
    status.is_empty() || status == "active"
}

fn render_events(
    payouts: &[SourcePayout],
    margin: Margin,
    notes: &mut Vec<String>,
) -> Result<Vec<EventSpec>, RenderError> {
    if payouts.is_empty() {
        return Err(RenderError::NoEvents);
    }
    // Exactly one default: the source's, else the first entry.
    let default_index = match payouts.iter().filter(|payout| payout.is_default).count() {
        0 => {
            notes.push(format!(
                "the source marks no payout event as default; `{}` is used as the default",
                event_name(&payouts[0], true)
            ));
            0
        }
        1 => payouts
            .iter()
            .position(|payout| payout.is_default)
            .unwrap_or(0),
        _ => {
            let first = payouts
                .iter()
                .position(|payout| payout.is_default)
                .unwrap_or(0);
            notes.push(format!(
                "the source marks several payout events as default; `{}` is used",
                event_name(&payouts[first], true)
            ));
            first
        }
    };

    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(payouts.len());
    // The default first, then the others in the source's order.
    let order = std::iter::once(default_index)
        .chain((0..payouts.len()).filter(|&index| index != default_index));
    for index in order {
        let payout = &payouts[index];
        let is_default = index == default_index;
        let name = event_name(payout, is_default);
        if !seen.insert(name.clone()) {
            return Err(RenderError::DuplicateEvent(name));
        }
        for (field, value) in [
            ("payout amount", payout.payout_amount),
            ("payout percentage", payout.payout_percentage),
        ] {
            if value.is_sign_negative() && !value.is_zero() {
                return Err(RenderError::Negative { name, field });
            }
        }
        let Some(revenue_type) = payout.payout_type.revenue_type() else {
            let why = not_carried_reason(payout.payout_type);
            if is_default {
                return Err(RenderError::DefaultNotCarried {
                    name,
                    payout_type: payout.payout_type,
                    why,
                });
            }
            notes.push(format!(
                "payout event `{name}` ({}) not carried: {why}",
                payout.payout_type
            ));
            continue;
        };
        let (source_amount, source_percentage) = source_money(
            payout.payout_type,
            payout.payout_amount,
            payout.payout_percentage,
        );
        events.push(EventSpec {
            entry_name: name,
            is_default,
            source_event_id: payout.network_offer_payout_revenue_id,
            payout_type: payout.payout_type,
            payout_amount: margin.apply(source_amount),
            payout_percentage: margin.apply(source_percentage),
            revenue_type,
            revenue_amount: source_amount.normalize(),
            revenue_percentage: source_percentage.normalize(),
        });
    }
    Ok(events)
}

/// Events are matched across networks by name; a nameless base conversion is "Base".
pub(super) fn event_name(payout: &SourcePayout, is_default: bool) -> String {
    let name = payout.entry_name.trim();
    match (name.is_empty(), is_default) {
        (false, _) => name.to_owned(),
        (true, true) => "Base".to_owned(),
        (true, false) => format!("Event {}", payout.network_offer_payout_revenue_id),
    }
}

fn not_carried_reason(payout_type: PayoutType) -> &'static str {
    match payout_type {
        PayoutType::Prv | PayoutType::PrvSku => {
            "a share of the source network's own revenue has no revenue counterpart in the destination"
        }
        _ => "SKU-level payouts depend on per-SKU settings the Affiliate API does not expose",
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::render::test_input::render_with;
    use crate::render::{CountryTable, Rendered};

    fn render(payouts: &serde_json::Value, yaml: &str) -> Result<Rendered, RenderError> {
        render_with(
            &serde_json::json!({"payouts": {"total": 1, "entries": payouts}}),
            yaml,
            &CountryTable::default(),
        )
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    const MINIMAL: &str = "offers:\n  - source_offer_id: 1\n";

    #[test]
    fn renders_the_seed_example() {
        let rendered = render(
            &serde_json::json!([
                {"network_offer_payout_revenue_id": 5, "entry_name": "Base", "payout_type": "cpa", "payout_amount": 350, "is_default": true},
                {"network_offer_payout_revenue_id": 6, "entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 120.50}
            ]),
            MINIMAL,
        )
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&rendered.offer).unwrap());
        assert!(rendered.notes.is_empty());
    }

    #[test]
    fn money_rounds_down_with_the_offer_margin() {
        let rendered = render(
            &serde_json::json!([{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 99.99, "is_default": true}]),
            "margin: 0.30\noffers:\n  - source_offer_id: 1\n    margin: 0.15\n",
        )
        .unwrap();
        let base = &rendered.offer.events[0];
        assert_eq!(base.revenue_amount, dec("99.99"));
        assert_eq!(base.payout_amount, dec("84.99"));
    }

    #[test]
    fn percentages_follow_the_same_rule() {
        let rendered = render(
            &serde_json::json!([{"entry_name": "Sale", "payout_type": "cps", "payout_percentage": 33.33, "payout_amount": 5, "is_default": true}]),
            MINIMAL,
        )
        .unwrap();
        let sale = &rendered.offer.events[0];
        assert_eq!(sale.revenue_type, RevenueType::Rps);
        assert_eq!(sale.revenue_percentage, dec("33.33"));
        assert_eq!(sale.payout_percentage, dec("26.66"));
        // A cps event has no flat amount, whatever the source left in the field.
        assert_eq!(sale.payout_amount, Decimal::ZERO);
    }

    #[test]
    fn exactly_one_default_comes_first() {
        let rendered = render(
            &serde_json::json!([
                {"entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 10},
                {"entry_name": "", "payout_type": "cpa", "payout_amount": 20, "is_default": true}
            ]),
            MINIMAL,
        )
        .unwrap();
        let names: Vec<_> = rendered
            .offer
            .events
            .iter()
            .map(|e| (e.entry_name.as_str(), e.is_default))
            .collect();
        assert_eq!(names, [("Base", true), ("Upsell", false)]);

        let none_default = render(
            &serde_json::json!([{"entry_name": "A", "payout_type": "cpa", "payout_amount": 1}, {"entry_name": "B", "payout_type": "cpa", "payout_amount": 2}]),
            MINIMAL,
        )
        .unwrap();
        assert_eq!(
            none_default
                .offer
                .events
                .iter()
                .filter(|e| e.is_default)
                .count(),
            1
        );
        assert_eq!(none_default.notes.len(), 1);
    }

    #[test]
    fn uncarriable_events_are_listed_not_dropped_silently() {
        let rendered = render(
            &serde_json::json!([
                {"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true},
                {"entry_name": "Share", "payout_type": "prv", "payout_percentage": 10}
            ]),
            MINIMAL,
        )
        .unwrap();
        assert_eq!(rendered.offer.events.len(), 1);
        assert!(
            rendered.notes[0].contains("`Share` (prv) not carried"),
            "{:?}",
            rendered.notes
        );

        let error = render(
            &serde_json::json!([{"entry_name": "Base", "payout_type": "prv", "is_default": true}]),
            MINIMAL,
        )
        .unwrap_err();
        assert!(matches!(error, RenderError::DefaultNotCarried { .. }));
    }

    #[test]
    fn destination_url_carries_attribution() {
        let rendered = render(
            &serde_json::json!([{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true}]),
            "visibility: public\noffers:\n  - source_offer_id: 1\n    name: Custom\n    paused: true\n",
        )
        .unwrap();
        assert_eq!(
            rendered.offer.destination_url,
            "https://trimrx.test/start?oid=1&affid=42&sub5={transaction_id}"
        );
        assert_eq!(rendered.offer.name, "Custom");
        assert_eq!(rendered.offer.visibility, Visibility::Public);
        assert_eq!(rendered.offer.offer_status, OfferStatus::Paused);
    }

    #[test]
    fn broken_sources_are_errors() {
        assert_eq!(
            render(&serde_json::json!([]), MINIMAL).unwrap_err(),
            RenderError::NoEvents
        );
        assert_eq!(
            render(
                &serde_json::json!([{"entry_name": "A", "payout_type": "cpa", "is_default": true}, {"entry_name": "A", "payout_type": "cpa"}]),
                MINIMAL
            )
            .unwrap_err(),
            RenderError::DuplicateEvent("A".into())
        );
        assert!(matches!(
            render(
                &serde_json::json!([{"entry_name": "A", "payout_type": "cpa", "payout_amount": -1, "is_default": true}]),
                MINIMAL
            )
            .unwrap_err(),
            RenderError::Negative { .. }
        ));
    }
}

/// Rendered offers for the tests of modules that consume them.
#[cfg(test)]
pub(crate) mod sample {
    use std::str::FromStr;

    use super::*;

    /// An active offer named `name` with one default cpa event paying `source_amount`
    /// at the source, rendered at the default margin.
    pub(crate) fn spec(source_amount: &str, name: &str) -> OfferSpec {
        let margin = Margin::default();
        let source = Decimal::from_str(source_amount).expect("a decimal amount");
        OfferSpec {
            name: name.into(),
            html_description: "<p>a</p>".into(),
            preview_url: "https://a.test/p".into(),
            destination_url: "https://a.test/?oid=1&affid=42&sub5={transaction_id}".into(),
            visibility: Visibility::RequireApproval,
            offer_status: OfferStatus::Active,
            network_advertiser_id: 13,
            currency_id: "USD".into(),
            margin,
            events: vec![EventSpec {
                entry_name: "Base".into(),
                is_default: true,
                source_event_id: 0,
                payout_type: PayoutType::Cpa,
                payout_amount: margin.apply(source),
                payout_percentage: Decimal::ZERO,
                revenue_type: RevenueType::Rpa,
                revenue_amount: source,
                revenue_percentage: Decimal::ZERO,
            }],
        }
    }
}
