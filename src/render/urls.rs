//! Landing-page URLs (DESIGN section 5 item 3): one destination offer URL per source URL,
//! sending traffic to the source URL's landing page with our attribution parameters.

use serde::{Deserialize, Serialize};

use super::{RenderError, RenderInput, attributed_url};

/// One destination offer URL.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct UrlSpec {
    /// The source URL (`network_offer_url_id`) this mirrors.
    pub source_url_id: u64,
    pub name: String,
    pub destination_url: String,
    pub preview_url: String,
}

/// Every source URL not excluded by the config, in id order.
pub(super) fn url_specs(input: &RenderInput<'_>) -> Result<Vec<UrlSpec>, RenderError> {
    let mut specs = Vec::new();
    for url in &input.snapshot.offer.relationship.urls.0 {
        let id = url.network_offer_url_id;
        if id == crate::source::DEFAULT_URL_ID || input.offer.exclude_urls.contains(&id) {
            continue;
        }
        let landing = input
            .snapshot
            .landing_pages
            .get(&id)
            .ok_or(RenderError::NoLandingPage(id))?;
        let name = match url.name.trim() {
            "" => format!("URL {id}"),
            name => name.to_owned(),
        };
        specs.push(UrlSpec {
            source_url_id: id,
            name,
            destination_url: attributed_url(&landing.url, Some(id), input),
            preview_url: url.preview_url.trim().to_owned(),
        });
    }
    specs.sort_by_key(|spec| spec.source_url_id);
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use crate::render::CountryTable;
    use crate::render::test_input::render_with;

    fn relationship() -> serde_json::Value {
        serde_json::json!({
            "payouts": {"entries": [{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true}]},
            "urls": {"total": 3, "entries": [
                {"network_offer_url_id": 103, "name": "Upsell", "preview_url": ""},
                {"network_offer_url_id": 101, "name": "Main", "preview_url": "https://trimrx.test/p101"},
                {"network_offer_url_id": 102, "name": "", "preview_url": ""}
            ]}
        })
    }

    #[test]
    fn every_source_url_becomes_an_attributed_destination_url() {
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
        )
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&rendered.urls).unwrap());
    }

    #[test]
    fn excluded_urls_are_left_out() {
        let rendered = render_with(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n    exclude_urls: [102]\n",
            &CountryTable::default(),
        )
        .unwrap();
        let ids: Vec<u64> = rendered.urls.iter().map(|url| url.source_url_id).collect();
        assert_eq!(ids, [101, 103]);
    }
}
