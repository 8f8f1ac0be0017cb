//! Tracking links of destination offers for the network's affiliates:
//! `POST /v1/networks/tracking/offers/clicks` (tracking.yaml, seed 004).
//!
//! Body: required `network_offer_id, network_affiliate_id`; optional
//! `network_tracking_domain_id, network_offer_url_id, creative_id,
//! network_traffic_source_id, source_id, sub1..sub5, is_encrypt_parameters,
//! is_redirect_link`. Unknown keys are refused, and so are ids that name
//! nothing (400, like every id given in a body here).
//!
//! "The affiliate must have visibility on the offer and be allowed to run it"
//! (LIVE), otherwise an error; ISCALE patches an offer's visibility to public
//! before asking for the link for that reason. The sandbox has no per-affiliate
//! approvals (no affiliate endpoints, no visibility relationship to set them),
//! so an affiliate may run an offer exactly when the offer is `active` and
//! `public` and the affiliate's account is `active`; everything else is a 400.
//!
//! The link is `https://{domain}/{affiliate token}/{offer token}/`, the shape
//! of the source networks' links (`links.rs`), on the given tracking domain or
//! the offer's own, with `uid` for an offer URL and `creative_id`,
//! `sub1`..`sub5` and `source_id` as query parameters when given (the names of
//! the SDK's click call, developers.everflow.io everflow-sdk click_tracking).
//! A direct-linking offer (`is_use_direct_linking`) links to its landing page
//! with Everflow's attribution parameters, as ISCALE shows for source offers,
//! unless `is_redirect_link` asks for the redirect link. Nothing is stored: the
//! request is a read sent with POST (see `log.rs`).

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::body::Fields;
use super::destination::Destination;
use super::links;

const KNOWN: &[&str] = &[
    "network_offer_id",
    "network_affiliate_id",
    "network_tracking_domain_id",
    "network_offer_url_id",
    "creative_id",
    "network_traffic_source_id",
    "source_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "is_encrypt_parameters",
    "is_redirect_link",
];

/// The parameters passed through to the link, in the order they appear.
const PASSED: &[&str] = &["sub1", "sub2", "sub3", "sub4", "sub5", "source_id"];

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

impl Destination {
    /// The `{"url": ...}` answer for a generate-tracking-link body.
    pub fn tracking_link(&self, body: Option<&Value>) -> Result<Value, ApiError> {
        let f = Fields::new(body, KNOWN)?;
        let offer_id = f.id("network_offer_id")?;
        let affiliate_id = f.id("network_affiliate_id")?;
        let domain_id = f.opt_u64("network_tracking_domain_id")?.unwrap_or(0);
        let url_id = f.opt_u64("network_offer_url_id")?.unwrap_or(0);
        let creative_id = f.opt_u64("creative_id")?.unwrap_or(0);
        // tracking.yaml: ignored when the affiliate has a traffic source. The
        // sandbox models no traffic sources, so it only checks the type.
        f.opt_u64("network_traffic_source_id")?;
        let passed = PASSED
            .iter()
            .map(|k| Ok((*k, f.opt_text(k)?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        let redirect = f.opt_flag("is_redirect_link")?.unwrap_or(false);
        if f.opt_flag("is_encrypt_parameters")?.unwrap_or(false) {
            // The docs say all parameters become one, but not its name or
            // encoding; inventing one would let a client depend on it.
            return Err(bad(
                "is_encrypt_parameters is not simulated by the sandbox (send false or leave it out)"
                    .into(),
            ));
        }

        let offer = self
            .offers
            .get(&offer_id)
            .ok_or_else(|| bad(format!("network_offer_id {offer_id} does not exist")))?;
        if !self.affiliates.contains_key(&affiliate_id) {
            return Err(bad(format!(
                "network_affiliate_id {affiliate_id} does not exist"
            )));
        }
        if !self.affiliate_is_active(affiliate_id) {
            return Err(bad(format!("affiliate {affiliate_id} is not active")));
        }
        let domain_id = if domain_id == 0 {
            offer.u64_field("network_tracking_domain_id")
        } else {
            domain_id
        };
        let domain = self
            .tracking_domains
            .get(&domain_id)
            .filter(|d| d.get("domain_status").is_none_or(|s| s == "active"))
            .and_then(|d| d.get("url"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad(format!(
                    "network_tracking_domain_id {domain_id} is not an active tracking domain"
                ))
            })?;
        let status = offer.str_field("offer_status");
        let visibility = offer.str_field("visibility");
        if status != "active" || visibility != "public" {
            return Err(bad(format!(
                "affiliate {affiliate_id} is not allowed to run offer {offer_id} (offer_status {status}, visibility {visibility}; the sandbox approves affiliates for active public offers only)"
            )));
        }
        let mut landing = offer.str_field("preview_url").to_owned();
        if landing.is_empty() {
            landing = offer.str_field("destination_url").to_owned();
        }
        if url_id != 0 {
            let url = self
                .urls
                .get(url_id)
                .filter(|u| u.fields.offer_id == offer_id && u.fields.url_status != "deleted")
                .ok_or_else(|| {
                    bad(format!(
                        "network_offer_url_id {url_id} is not a url of offer {offer_id}"
                    ))
                })?;
            let u = &url.fields;
            if u.is_apply_specific_affiliates && !u.network_affiliate_ids.contains(&affiliate_id) {
                return Err(bad(format!(
                    "offer url {url_id} is not available to affiliate {affiliate_id}"
                )));
            }
            landing = if u.preview_url.is_empty() {
                u.destination_url.clone()
            } else {
                u.preview_url.clone()
            };
        }
        if creative_id != 0 {
            let own = self.creatives.get(creative_id).is_some_and(|c| {
                let c = &c.fields;
                c.creative_status != "deleted"
                    && (c.offer_id == offer_id || c.additional_offer_ids.contains(&offer_id))
            });
            if !own {
                return Err(bad(format!(
                    "creative_id {creative_id} is not a creative of offer {offer_id}"
                )));
            }
        }

        let direct = offer.base.get("is_use_direct_linking") == Some(&json!(true));
        let mut link = if direct && !redirect {
            links::direct_link(&landing, url_id, offer_id, affiliate_id)
        } else {
            links::redirect_link(domain, self.network_id, affiliate_id, offer_id, url_id)
        };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if creative_id != 0 {
            query.append_pair("creative_id", &creative_id.to_string());
        }
        for (k, v) in passed.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
        let query = query.finish();
        if !query.is_empty() {
            link.push(if link.contains('?') { '&' } else { '?' });
            link.push_str(&query);
        }
        Ok(json!({ "url": link }))
    }
}
