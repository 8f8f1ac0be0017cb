//! Geo targeting (DESIGN section 5 item 6): the source ruleset's countries and regions,
//! with the desired file's overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RenderError, RenderInput};
use crate::everflow::affiliate::TargetingType;

/// Countries and regions an offer accepts or refuses.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct TargetingSpec {
    pub countries: Vec<GeoEntry>,
    pub regions: Vec<GeoEntry>,
}

/// One country or region rule. Everflow's ids are global (`country_id` 227 is the US in
/// every network), so the source's ids are the destination's.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct GeoEntry {
    pub targeting_type: TargetingType,
    pub code: String,
    pub id: u64,
    pub label: String,
}

/// Country ids by ISO code (`GET /v1/meta/countries`), for overrides that name countries
/// the source's ruleset does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountryTable {
    by_code: BTreeMap<String, (u64, String)>,
}

impl CountryTable {
    pub fn new(entries: impl IntoIterator<Item = (String, u64, String)>) -> Self {
        Self {
            by_code: entries
                .into_iter()
                .map(|(code, id, name)| (code.to_ascii_uppercase(), (id, name)))
                .collect(),
        }
    }

    /// Every country as `(code, id, name)`, as [`CountryTable::new`] takes them.
    pub fn entries(&self) -> impl Iterator<Item = (String, u64, String)> + '_ {
        self.by_code
            .iter()
            .map(|(code, (id, name))| (code.clone(), *id, name.clone()))
    }

    pub fn get(&self, code: &str) -> Option<(u64, &str)> {
        self.by_code
            .get(code)
            .map(|(id, name)| (*id, name.as_str()))
    }
}

pub(super) fn targeting_spec(input: &RenderInput<'_>) -> Result<TargetingSpec, RenderError> {
    let ruleset = input
        .snapshot
        .offer
        .relationship
        .ruleset
        .clone()
        .unwrap_or_default();
    let geo = input.offer.geo.as_ref();

    let source_countries: Vec<GeoEntry> = ruleset
        .countries
        .iter()
        .map(|country| GeoEntry {
            targeting_type: country.targeting_type,
            code: country.country_code.to_ascii_uppercase(),
            id: country.country_id,
            label: country.label.clone(),
        })
        .collect();
    let mut countries = match geo.and_then(|geo| geo.countries.as_ref()) {
        None => source_countries,
        Some(codes) => {
            let mut entries: Vec<GeoEntry> = Vec::new();
            for code in codes {
                let code = &code.0;
                let known = source_countries.iter().find(|entry| &entry.code == code);
                let (id, label) = match (known, input.countries.get(code)) {
                    (Some(entry), _) => (entry.id, entry.label.clone()),
                    (None, Some((id, name))) => (id, name.to_owned()),
                    (None, None) => return Err(RenderError::UnknownCountry(code.clone())),
                };
                entries.push(GeoEntry {
                    targeting_type: TargetingType::Include,
                    code: code.clone(),
                    id,
                    label,
                });
            }
            // The source's exclusions still hold, unless the override includes them.
            entries.extend(source_countries.into_iter().filter(|entry| {
                entry.targeting_type == TargetingType::Exclude
                    && !codes.iter().any(|code| code.0 == entry.code)
            }));
            entries
        }
    };
    let mut regions: Vec<GeoEntry> = if geo.is_none_or(|geo| geo.regions) {
        ruleset
            .regions
            .iter()
            .map(|region| GeoEntry {
                targeting_type: region.targeting_type,
                code: region.region_code.to_ascii_uppercase(),
                id: region.region_id,
                label: region.label.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    countries.sort();
    countries.dedup_by(|a, b| a.id == b.id);
    regions.sort();
    regions.dedup_by(|a, b| a.id == b.id);
    Ok(TargetingSpec { countries, regions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_input::render_with;

    fn relationship() -> serde_json::Value {
        serde_json::json!({
            "payouts": {"entries": [{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true}]},
            "ruleset": {
                "countries": [
                    {"country_id": 227, "country_code": "US", "label": "United States", "targeting_type": "include", "match_type": "exact"},
                    {"country_id": 177, "country_code": "PR", "label": "Puerto Rico", "targeting_type": "exclude", "match_type": "exact"}
                ],
                "regions": [
                    {"region_id": 1501, "region_code": "MS", "label": "Mississippi (US)", "targeting_type": "exclude", "match_type": "exact"},
                    {"region_id": 1420, "region_code": "LA", "label": "Louisiana (US)", "targeting_type": "exclude", "match_type": "exact"}
                ]
            }
        })
    }

    #[test]
    fn the_source_ruleset_is_carried() {
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
        )
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&rendered.targeting).unwrap());
    }

    #[test]
    fn overrides_replace_includes_and_may_drop_regions() {
        let table = CountryTable::new([("CA".to_owned(), 39, "Canada".to_owned())]);
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n    geo:\n      countries: [CA, US]\n      regions: false\n",
            &table,
        )
        .unwrap();
        let countries: Vec<(&str, TargetingType)> = rendered
            .targeting
            .countries
            .iter()
            .map(|entry| (entry.code.as_str(), entry.targeting_type))
            .collect();
        assert_eq!(
            countries,
            [
                ("CA", TargetingType::Include),
                ("US", TargetingType::Include),
                ("PR", TargetingType::Exclude)
            ]
        );
        assert!(rendered.targeting.regions.is_empty());

        let error = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n    geo:\n      countries: [FR]\n",
            &table,
        )
        .unwrap_err();
        assert_eq!(error, RenderError::UnknownCountry("FR".into()));
    }

    #[test]
    fn no_ruleset_means_no_targeting() {
        let rendered = render_with(
            &serde_json::json!({"payouts": {"entries": [{"entry_name": "Base", "payout_type": "cpa", "is_default": true}]}, "ruleset": null}),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
        )
        .unwrap();
        assert_eq!(rendered.targeting, TargetingSpec::default());
    }
}
