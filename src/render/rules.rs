//! Custom payout rules (DESIGN section 5 item 7): the source's URL-specific (or plain)
//! payout overrides, with the margin applied like any payout.
//!
//! A rule refers to an event and to URLs. Their destination ids may not exist yet when
//! planning (a first sync creates them), so a rule names its event by entry name and its
//! URLs by source URL id; apply resolves both to destination ids.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::offer::{event_name, source_money};
use super::{OfferSpec, RenderInput, UrlSpec};
use crate::everflow::types::{PayoutType, RevenueType};
use crate::money::{Margin, format_amount};

/// Identifies a rule across runs: its source event and its source URLs. The amount is
/// what the rule says, not who it is: a changed amount updates the same rule.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct RuleKey(pub String);

impl RuleKey {
    fn new(source_event_id: u64, urls: &BTreeSet<u64>) -> Self {
        let urls: Vec<String> = urls.iter().map(u64::to_string).collect();
        Self(format!("{source_event_id}:{}", urls.join(",")))
    }
}

impl std::fmt::Display for RuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One destination custom payout/revenue setting.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct RuleSpec {
    pub key: RuleKey,
    pub name: String,
    /// The destination event, by entry name.
    pub event: String,
    /// Whether that event is the offer's default (Everflow's id 0, the base conversion).
    pub event_is_default: bool,
    /// Source URL ids the rule applies to; empty: every URL.
    pub source_url_ids: Vec<u64>,
    pub payout_type: PayoutType,
    pub payout_amount: Decimal,
    pub payout_percentage: Decimal,
    pub revenue_type: RevenueType,
    pub revenue_amount: Decimal,
    pub revenue_percentage: Decimal,
    /// The margin the payout was computed with (for the plan's money lineage).
    pub margin: Margin,
}

pub(super) fn rule_specs(
    input: &RenderInput<'_>,
    offer: &OfferSpec,
    urls: &[UrlSpec],
    notes: &mut Vec<String>,
) -> Vec<RuleSpec> {
    let source = &input.snapshot.offer.relationship;
    let margin = input.margin();
    let mut specs: Vec<RuleSpec> = Vec::new();
    for (index, rule) in source.custom_payout_settings.0.iter().enumerate() {
        let label = format!("custom payout rule #{}", index + 1);
        // The event: 0 is the offer's default; otherwise look the source id up by name.
        let event = if rule.network_offer_payout_revenue_id == 0 {
            offer.events.iter().find(|event| event.is_default)
        } else {
            source
                .payouts
                .0
                .iter()
                .find(|payout| {
                    payout.network_offer_payout_revenue_id == rule.network_offer_payout_revenue_id
                })
                .map(|payout| event_name(payout, payout.is_default))
                .and_then(|name| offer.events.iter().find(|event| event.entry_name == name))
        };
        let Some(event) = event else {
            notes.push(format!(
                "{label} not carried: its event {} is not carried",
                rule.network_offer_payout_revenue_id
            ));
            continue;
        };
        let wanted = rule.url_ids();
        let carried: BTreeSet<u64> = wanted
            .iter()
            .copied()
            .filter(|id| urls.iter().any(|url| url.source_url_id == *id))
            .collect();
        if carried.len() < wanted.len() {
            let missing: Vec<String> = wanted.difference(&carried).map(u64::to_string).collect();
            if carried.is_empty() {
                notes.push(format!(
                    "{label} not carried: none of its URLs ({}) is carried",
                    missing.join(", ")
                ));
                continue;
            }
            notes.push(format!(
                "{label}: URLs {} are not carried; the rule covers the others",
                missing.join(", ")
            ));
        }
        let Some(revenue_type) = rule.payout_type.revenue_type() else {
            notes.push(format!(
                "{label} not carried: payout type `{}` has no revenue counterpart",
                rule.payout_type
            ));
            continue;
        };
        let (source_amount, source_percentage) =
            source_money(rule.payout_type, rule.payout_amount, rule.payout_percentage);
        let key = RuleKey::new(event.source_event_id, &carried);
        if specs.iter().any(|spec| spec.key == key) {
            notes.push(format!(
                "{label} not carried: another rule already covers the same event and URLs"
            ));
            continue;
        }
        let url_names: Vec<&str> = carried
            .iter()
            .filter_map(|id| urls.iter().find(|url| url.source_url_id == *id))
            .map(|url| url.name.as_str())
            .collect();
        specs.push(RuleSpec {
            name: rule_name(
                &event.entry_name,
                &url_names,
                source_amount,
                source_percentage,
                rule.payout_type,
            ),
            key,
            event: event.entry_name.clone(),
            event_is_default: event.is_default,
            source_url_ids: carried.into_iter().collect(),
            payout_type: rule.payout_type,
            payout_amount: margin.apply(source_amount),
            payout_percentage: margin.apply(source_percentage),
            revenue_type,
            revenue_amount: source_amount.normalize(),
            revenue_percentage: source_percentage.normalize(),
            margin,
        });
    }
    specs.sort_by(|a, b| a.key.cmp(&b.key));
    specs
}

/// A name a person reads in iScale's UI: `Upsell on Quiz, Upsell Page: $290` (what the
/// source pays there; the payout is in the rule itself).
fn rule_name(
    event: &str,
    urls: &[&str],
    amount: Decimal,
    percentage: Decimal,
    payout_type: PayoutType,
) -> String {
    let money = match (payout_type.uses_amount(), payout_type.uses_percentage()) {
        (true, true) => format!("${} + {}%", trim_cents(amount), format_amount(percentage)),
        (false, true) => format!("{}%", format_amount(percentage)),
        _ => format!("${}", trim_cents(amount)),
    };
    let scope = match urls {
        [] => "all URLs".to_owned(),
        few if few.len() <= 3 => few.join(", "),
        many => format!("{} URLs", many.len()),
    };
    let name = format!("{event} on {scope}: {money}");
    match name.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &name[..cut]),
        None => name,
    }
}

/// `290.00` -> `290`, `12.50` -> `12.50`.
fn trim_cents(amount: Decimal) -> String {
    let text = format_amount(amount);
    text.strip_suffix(".00").map_or(text.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use crate::render::CountryTable;
    use crate::render::test_input::render_with;

    fn relationship() -> serde_json::Value {
        serde_json::json!({
            "payouts": {"entries": [
                {"network_offer_payout_revenue_id": 11, "entry_name": "Base", "payout_type": "cpa", "payout_amount": 350, "is_default": true},
                {"network_offer_payout_revenue_id": 12, "entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 250}
            ]},
            "urls": {"entries": [
                {"network_offer_url_id": 101, "name": "Main LP"},
                {"network_offer_url_id": 102, "name": "Quiz Funnel"},
                {"network_offer_url_id": 103, "name": "Upsell Page"}
            ]},
            "custom_payout_settings": {"total": 4, "entries": [
                {"payout_type": "cpa", "payout_amount": 290, "network_offer_payout_revenue_id": 12,
                 "relationship": {"offer_urls": [{"network_offer_url_id": 103, "name": "Upsell Page"}, {"network_offer_url_id": 102, "name": "Quiz Funnel"}]}},
                {"payout_type": "cpa", "payout_amount": 375, "relationship": {"network_offer_url_ids": [101]}},
                {"payout_type": "cpa", "payout_amount": 99.99, "network_offer_url_ids": [999]},
                {"payout_type": "cpa", "payout_amount": 1, "network_offer_payout_revenue_id": 77}
            ]}
        })
    }

    #[test]
    fn rules_map_events_and_urls_and_keep_the_margin() {
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
        )
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&rendered.rules).unwrap());
        let upsell = rendered
            .rules
            .iter()
            .find(|rule| rule.event == "Upsell")
            .unwrap();
        // 290 at 0.20 -> 232
        assert_eq!(upsell.payout_amount.to_string(), "232.00");
        assert_eq!(upsell.name, "Upsell on Quiz Funnel, Upsell Page: $290");
        assert_eq!(
            rendered.notes,
            [
                "custom payout rule #3 not carried: none of its URLs (999) is carried",
                "custom payout rule #4 not carried: its event 77 is not carried"
            ]
        );
    }

    #[test]
    fn a_rule_on_an_excluded_url_covers_the_others() {
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n    exclude_urls: [102]\n",
            &CountryTable::default(),
        )
        .unwrap();
        let upsell = rendered
            .rules
            .iter()
            .find(|rule| rule.event == "Upsell")
            .unwrap();
        assert_eq!(upsell.source_url_ids, [103]);
        assert_eq!(upsell.key.0, "12:103");
        assert!(
            rendered.notes[0].contains("URLs 102 are not carried"),
            "{:?}",
            rendered.notes
        );
    }
}
