//! Postback pixels (DESIGN section 5 item 8): in each SOURCE network, a `conversion`
//! pixel for the base event and a `post_conversion` pixel per other payout event, each
//! posting the conversion back to the destination.
//!
//! For iScale the postback URL is `https://{tracking domain}/?nid={network id}
//! &transaction_id={sub5}&verification_token={token}`, plus `&event_id={iScale event id}`
//! for events. The parameter is `event_id`, never `adv_event_id`: Everflow's advertiser
//! postback reads `event_id`, and `adv_event_id` silently drops events (seed 000,
//! ISCALE). For Offerit it is `https://{tracking domain}/signup/process_pixel.php
//! ?click_hash={sub5}` (issue 8; offerit-api-facts.md section 4). `{sub5}` is the
//! source's macro for the sub5 we put on every link: the destination's click id
//! (iScale's transaction id, Offerit's click hash). No amount is ever written into a
//! URL, so a payout change never needs a pixel write.

use super::{OfferSpec, RenderInput};
use crate::secret::Secret;

/// Where a network's postbacks go, from the settings.
#[derive(Clone, Copy, Debug)]
pub struct PostbackTarget<'a> {
    pub tracking_domain: &'a str,
    pub network_id: u64,
    pub token: &'a Secret,
}

/// Where a pixel posts, and what its URL needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Postback {
    /// iScale's advertiser postback.
    Iscale {
        tracking_domain: String,
        network_id: u64,
        token: Secret,
    },
    /// Offerit's `process_pixel.php` on the install's tracking domain.
    Offerit { tracking_domain: String },
}

/// One pixel in a source network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PixelSpec {
    /// `conversion`, or `event:<source event id>`.
    pub key: String,
    /// `conversion` or `post_conversion`.
    pub pixel_type: &'static str,
    /// The source event it fires for (0: the base conversion).
    pub source_event_id: u64,
    /// The destination event (by entry name) its postback reports, for events.
    pub event: Option<String>,
    /// That event's destination id, once known (resolved at plan time when the iScale
    /// offer exists, else at apply).
    pub event_id: Option<u64>,
    pub postback: Postback,
}

impl PixelSpec {
    /// A `conversion` pixel for the base event, posting to `postback`.
    pub fn conversion(postback: Postback) -> Self {
        PixelSpec {
            key: "conversion".to_owned(),
            pixel_type: "conversion",
            source_event_id: 0,
            event: None,
            event_id: None,
            postback,
        }
    }

    /// The URL as it must be sent. `None` while the event id is still unknown.
    pub fn postback_url(&self) -> Option<String> {
        let event = match (&self.event, self.event_id) {
            (None, _) => None,
            (Some(_), Some(id)) => Some(id.to_string()),
            (Some(_), None) => return None,
        };
        Some(self.url(|token| token.expose(), event.as_deref()))
    }

    /// The URL as people see it: the token masked, an unknown event id named.
    pub fn shown_url(&self) -> String {
        let event = match (&self.event, self.event_id) {
            (None, _) => None,
            (Some(_), Some(id)) => Some(id.to_string()),
            (Some(name), None) => Some(format!("<iScale id of {name:?}>")),
        };
        self.url(|_| MASK, event.as_deref())
    }

    /// The iScale token it carries, if any.
    pub fn token(&self) -> Option<&Secret> {
        match &self.postback {
            Postback::Iscale { token, .. } => Some(token),
            Postback::Offerit { .. } => None,
        }
    }

    fn url<'s>(&'s self, token: impl Fn(&'s Secret) -> &'s str, event_id: Option<&str>) -> String {
        match &self.postback {
            Postback::Iscale {
                tracking_domain,
                network_id,
                token: secret,
            } => iscale_url(tracking_domain, *network_id, token(secret), event_id),
            Postback::Offerit { tracking_domain } => {
                format!("https://{tracking_domain}/signup/process_pixel.php?click_hash={{sub5}}")
            }
        }
    }
}

const MASK: &str = "********";

fn iscale_url(domain: &str, network_id: u64, token: &str, event_id: Option<&str>) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let mut url = format!(
        "https://{domain}/?nid={network_id}&transaction_id={{sub5}}&verification_token={token}"
    );
    if let Some(event_id) = event_id {
        url.push_str("&event_id=");
        url.push_str(event_id);
    }
    url
}

/// A postback URL with its `verification_token` value masked, and that value.
pub fn split_token(url: &str) -> (String, Option<String>) {
    let mut token = None;
    let masked = replace_token(url, |value| {
        token = Some(value.to_owned());
        MASK.to_owned()
    });
    (masked, token)
}

/// The URL with its `verification_token` value (decoded) replaced by what `with` makes
/// of it (encoded again); the URL as it is when it has none.
pub fn replace_token(url: &str, with: impl FnOnce(&str) -> String) -> String {
    const PARAM: &str = "verification_token=";
    let Some(start) = url
        .match_indices(PARAM)
        .find(|(index, _)| matches!(url[..*index].chars().last(), Some('?' | '&')))
        .map(|(index, _)| index + PARAM.len())
    else {
        return url.to_owned();
    };
    let end = url[start..]
        .find(['&', '#'])
        .map_or(url.len(), |end| start + end);
    let token = url::form_urlencoded::parse(format!("t={}", &url[start..end]).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    // The mask is all `*`, which encoding leaves as it is.
    let replaced: String = url::form_urlencoded::byte_serialize(with(&token).as_bytes()).collect();
    format!("{}{replaced}{}", &url[..start], &url[end..])
}

pub(super) fn pixel_specs(input: &RenderInput<'_>, offer: &OfferSpec) -> Vec<PixelSpec> {
    let Some(target) = input.postbacks else {
        return Vec::new();
    };
    offer
        .events
        .iter()
        .map(|event| {
            let (key, pixel_type, source_event_id, destination_event) = if event.is_default {
                ("conversion".to_owned(), "conversion", 0, None)
            } else {
                (
                    format!("event:{}", event.source_event_id),
                    "post_conversion",
                    event.source_event_id,
                    Some(event.entry_name.clone()),
                )
            };
            PixelSpec {
                key,
                pixel_type,
                source_event_id,
                event: destination_event,
                event_id: None,
                postback: Postback::Iscale {
                    tracking_domain: target.tracking_domain.to_owned(),
                    network_id: target.network_id,
                    token: target.token.clone(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::CountryTable;
    use crate::render::test_input::render_with_postbacks;

    fn relationship() -> serde_json::Value {
        serde_json::json!({
            "payouts": {"entries": [
                {"network_offer_payout_revenue_id": 11, "entry_name": "Base", "payout_type": "cpa", "payout_amount": 350, "is_default": true},
                {"network_offer_payout_revenue_id": 12, "entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 290}
            ]}
        })
    }

    #[test]
    fn one_conversion_pixel_and_one_per_event_with_event_id_never_adv_event_id() {
        let token = Secret::new("trimrx_iscale_2025");
        let rendered = render_with_postbacks(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
            Some(PostbackTarget {
                tracking_domain: "trk.iscale.test",
                network_id: 7001,
                token: &token,
            }),
        )
        .unwrap();
        let mut pixels = rendered.pixels;
        assert_eq!(pixels.len(), 2);
        assert_eq!(
            pixels[0].postback_url().unwrap(),
            "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=trimrx_iscale_2025"
        );
        assert_eq!(
            (pixels[1].pixel_type, pixels[1].source_event_id),
            ("post_conversion", 12)
        );
        assert_eq!(
            pixels[1].postback_url(),
            None,
            "the iScale event id is not known yet"
        );
        assert_eq!(
            pixels[1].shown_url(),
            "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=********&event_id=<iScale id of \"Upsell\">"
        );
        pixels[1].event_id = Some(5002);
        let url = pixels[1].postback_url().unwrap();
        assert!(url.ends_with("&event_id=5002"), "{url}");
        // adv_event_id only works in advertiser postbacks and silently drops events here.
        for pixel in &pixels {
            for shown in [pixel.postback_url().unwrap(), pixel.shown_url()] {
                assert!(!shown.contains("adv_event_id"), "{shown}");
            }
        }
    }

    #[test]
    fn no_pixels_when_postbacks_are_off() {
        let rendered = render_with_postbacks(
            &relationship(),
            "offers:\n  - source_offer_id: 1\n",
            &CountryTable::default(),
            None,
        )
        .unwrap();
        assert!(rendered.pixels.is_empty());
    }

    #[test]
    fn the_token_is_split_from_any_url() {
        assert_eq!(
            split_token("https://t.test/?nid=1&verification_token=a%26b&event_id=3"),
            (
                "https://t.test/?nid=1&verification_token=********&event_id=3".to_owned(),
                Some("a&b".to_owned())
            )
        );
        assert_eq!(
            split_token("https://t.test/?nid=1"),
            ("https://t.test/?nid=1".to_owned(), None)
        );
        assert_eq!(
            split_token("https://t.test/?x_verification_token=1"),
            ("https://t.test/?x_verification_token=1".to_owned(), None)
        );
    }
}
