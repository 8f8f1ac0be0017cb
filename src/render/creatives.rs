//! Creatives (DESIGN section 5 item 5): every source creative. Image-like creatives carry
//! the source file's address (apply downloads and uploads it); html, text and link
//! creatives carry their code.

use serde::{Deserialize, Serialize};

use super::RenderInput;
use crate::everflow::affiliate::CreativeType;

/// One destination creative.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct CreativeSpec {
    /// The source creative (`network_offer_creative_id`) this mirrors.
    pub source_creative_id: u64,
    pub name: String,
    pub creative_type: CreativeType,
    /// `active` or `paused`, as at the source.
    pub creative_status: String,
    pub content: CreativeContent,
}

/// What a creative shows.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CreativeContent {
    /// A file to download from the source and upload (image, thumbnail).
    File { source_url: String },
    /// Code or text carried as is (html, text, link).
    Code { html_code: String },
}

pub(super) fn creative_specs(
    input: &RenderInput<'_>,
    notes: &mut Vec<String>,
) -> Vec<CreativeSpec> {
    let mut specs = Vec::new();
    for creative in &input.snapshot.offer.relationship.creatives.0 {
        let id = creative.network_offer_creative_id;
        let status = match creative.creative_status.as_str() {
            "" | "active" => "active",
            "paused" => "paused",
            // A creative the source deleted is not carried (and is removed if it was).
            _ => continue,
        };
        let content = match creative.creative_type {
            CreativeType::Image | CreativeType::Thumbnail => {
                let url = creative.resource_url.trim();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    notes.push(format!(
                        "creative {id} `{}` not carried: it has no downloadable file",
                        creative.name
                    ));
                    continue;
                }
                CreativeContent::File {
                    source_url: url.to_owned(),
                }
            }
            CreativeType::Html | CreativeType::Text | CreativeType::Link => {
                // A link creative may keep its target in resource_url rather than the code.
                let code = match creative.html_code.trim() {
                    "" => creative.resource_url.trim(),
                    code => code,
                };
                CreativeContent::Code {
                    html_code: code.to_owned(),
                }
            }
            CreativeType::Email | CreativeType::Archive | CreativeType::Video => {
                notes.push(format!(
                    "creative {id} `{}` ({}) not carried: offersync carries image, thumbnail, html, text and link creatives",
                    creative.name,
                    creative.creative_type.as_str()
                ));
                continue;
            }
        };
        let name = match creative.name.trim() {
            "" => format!("Creative {id}"),
            name => name.to_owned(),
        };
        specs.push(CreativeSpec {
            source_creative_id: id,
            name,
            creative_type: creative.creative_type,
            creative_status: status.to_owned(),
            content,
        });
    }
    specs.sort_by_key(|spec| spec.source_creative_id);
    specs
}

#[cfg(test)]
mod tests {
    use crate::render::CountryTable;
    use crate::render::test_input::render_with;

    #[test]
    fn images_carry_their_file_code_creatives_their_code() {
        let rendered = render_with(
            &serde_json::json!({
                "payouts": {"entries": [{"entry_name": "Base", "payout_type": "cpa", "payout_amount": 1, "is_default": true}]},
                "creatives": {"total": 5, "entries": [
                    {"network_offer_creative_id": 2, "name": "Mail", "creative_type": "html", "creative_status": "active", "html_code": "<b>hi</b>"},
                    {"network_offer_creative_id": 1, "name": "Banner", "creative_type": "image", "creative_status": "active", "resource_url": "https://cdn.test/b.png", "width": 300, "height": 250},
                    {"network_offer_creative_id": 3, "name": "Clip", "creative_type": "video", "creative_status": "active", "resource_url": "https://cdn.test/v.mp4"},
                    {"network_offer_creative_id": 4, "name": "Old", "creative_type": "image", "creative_status": "deleted", "resource_url": "https://cdn.test/o.png"},
                    {"network_offer_creative_id": 5, "name": "Go", "creative_type": "link", "creative_status": "paused", "resource_url": "https://trimrx.test/go"}
                ]}
            }),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
        )
        .unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&rendered.creatives).unwrap());
        assert_eq!(rendered.notes.len(), 1);
        assert!(
            rendered.notes[0].contains("(video) not carried"),
            "{:?}",
            rendered.notes
        );
    }
}
