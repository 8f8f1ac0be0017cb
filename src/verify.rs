//! Verify: the runbook's "After sync, verify with" checks (seed 000) against live state
//! for every managed offer, plus the cross-network checks nobody does by hand: each
//! source pixel posts to the right tracking domain, network id and token, with an event
//! id that exists in iScale; each custom rule's URLs exist and are active; the thumbnail
//! is set. Pure: it reads what planning read and returns rows; printing is elsewhere.

use std::collections::BTreeMap;
use std::fmt;

use crate::destination::iscale;
use crate::everflow::network::Advertiser;
use crate::plan::{Address, Plan, ResourceId};
use crate::planner::{OfferWork, Planned};
use crate::render::split_token;
use crate::settings::Settings;

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    /// The API does not show it back; nothing to compare.
    NotVisible,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "ok",
            Outcome::Fail => "FAIL",
            Outcome::NotVisible => "not visible",
        })
    }
}

/// One row of the verification table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub subject: String,
    pub check: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

/// Everything verify reads.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub planned: &'a Planned,
    pub settings: &'a Settings,
    /// Each network's advertiser as read, where postbacks are managed.
    pub advertisers: &'a BTreeMap<String, Advertiser>,
}

/// Every check, in address order.
pub fn verify(inputs: Inputs<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    for (network, advertiser) in inputs.advertisers {
        checks.push(token_check(inputs.settings, network, advertiser));
    }
    for (address, work) in &inputs.planned.offers {
        // Offerit cannot be read back: nothing live to check.
        if let (Some(_), Some(state)) = (&work.offerit, &work.state) {
            checks.push(check(
                address.to_string(),
                "offer",
                Outcome::NotVisible,
                format!(
                    "Offerit offer {} cannot be read back; check it in Offerit",
                    state.offer.id
                ),
            ));
            continue;
        }
        // Offers that stop running (removed from their desired file) are not verified.
        if work.rendered.is_none() || work.state.is_none() {
            continue;
        }
        offer_checks(&mut checks, inputs, address, work);
    }
    checks
}

fn check(subject: String, name: &'static str, outcome: Outcome, detail: String) -> Check {
    Check {
        subject,
        check: name,
        outcome,
        detail,
    }
}

fn pass_or_fail(problems: &[String], ok: String) -> (Outcome, String) {
    if problems.is_empty() {
        (Outcome::Pass, ok)
    } else {
        (Outcome::Fail, problems.join("; "))
    }
}

fn token_check(settings: &Settings, network: &str, advertiser: &Advertiser) -> Check {
    let configured = settings
        .networks
        .get(network)
        .and_then(|network| network.verification_token.as_ref());
    let (outcome, detail) = match configured {
        Some(token) if token.expose() == advertiser.verification_token => (
            Outcome::Pass,
            format!(
                "advertiser {} has the configured verification token",
                advertiser.network_advertiser_id
            ),
        ),
        _ => (
            Outcome::Fail,
            format!(
                "advertiser {} has another verification token than the configured one: \
                 postbacks from {network} would be rejected",
                advertiser.network_advertiser_id
            ),
        ),
    };
    check(network.to_owned(), "token", outcome, detail)
}

fn offer_checks(checks: &mut Vec<Check>, inputs: Inputs<'_>, address: &Address, work: &OfferWork) {
    let subject = address.to_string();
    let Some(live) = &work.live else {
        checks.push(check(
            subject,
            "offer",
            Outcome::Fail,
            "the iScale offer recorded in state no longer exists".to_owned(),
        ));
        return;
    };
    checks.push(check(
        subject.clone(),
        "offer",
        Outcome::Pass,
        format!("iScale offer {}, {}", live.id(), live.view.offer_status),
    ));

    let pending = pending(&inputs.planned.plan, address);
    let (outcome, detail) = pass_or_fail(
        &pending,
        "iScale matches the source and the config".to_owned(),
    );
    checks.push(check(subject.clone(), "in sync", outcome, detail));

    let (outcome, detail) = if live.view.thumbnail_url.is_empty() {
        (Outcome::Fail, "the offer has no thumbnail".to_owned())
    } else {
        (Outcome::Pass, "set".to_owned())
    };
    checks.push(check(subject.clone(), "thumbnail", outcome, detail));

    let recorded_urls = work
        .state
        .as_ref()
        .map(|state| state.urls.len())
        .unwrap_or(0);
    let mut problems = Vec::new();
    for (source_id, destination_id) in &work.url_ids {
        let live_url = work
            .live_urls
            .iter()
            .find(|url| url.view.network_offer_url_id == *destination_id);
        match live_url {
            None => problems.push(format!(
                "URL {source_id} (iScale {destination_id}) is missing"
            )),
            Some(url) if url.view.url_status != "active" => problems.push(format!(
                "URL {source_id} (iScale {destination_id}) is {}",
                url.view.url_status
            )),
            Some(_) => {}
        }
    }
    let (outcome, detail) = pass_or_fail(&problems, format!("{recorded_urls} active"));
    checks.push(check(subject.clone(), "urls", outcome, detail));

    checks.push(rule_check(&subject, work));
    if !work
        .rendered
        .as_ref()
        .is_some_and(|rendered| rendered.pixels.is_empty())
    {
        checks.push(pixel_check(inputs, &subject, work));
    }
    checks.push(check(
        subject,
        "targeting",
        Outcome::NotVisible,
        "Everflow does not show targeting back; compared with what was last applied".to_owned(),
    ));
}

/// The planned changes of one offer, as problems.
fn pending(plan: &Plan, address: &Address) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|change| &change.address == address)
        .map(|change| {
            let fields: Vec<&str> = change
                .fields
                .iter()
                .map(|field| field.field.as_str())
                .collect();
            let reasons: Vec<&str> = change
                .reasons
                .iter()
                .map(|reason| reason.describe())
                .collect();
            let resource = match &change.resource {
                ResourceId::Offer => "offer".to_owned(),
                other => other.to_string(),
            };
            format!("{resource}: {} ({})", fields.join(", "), reasons.join(", "))
        })
        .collect()
}

/// Each rule's event exists and its URLs exist and are active.
fn rule_check(subject: &str, work: &OfferWork) -> Check {
    let events = work
        .live
        .as_ref()
        .map(iscale::event_ids)
        .unwrap_or_default();
    let mut problems = Vec::new();
    for rule in &work.live_rules {
        let view = &rule.view;
        if view.custom_setting_status == "deleted" {
            continue;
        }
        let id = view.network_custom_payout_revenue_setting_id;
        let event = view.network_offer_payout_revenue_id;
        if event != 0 && !events.values().any(|known| *known == event) {
            problems.push(format!(
                "rule {id}: event {event} is not an event of the offer"
            ));
        }
        for url_id in &view.network_offer_url_ids {
            match work
                .live_urls
                .iter()
                .find(|url| url.view.network_offer_url_id == *url_id)
            {
                None => problems.push(format!("rule {id}: URL {url_id} does not exist")),
                Some(url) if url.view.url_status != "active" => problems.push(format!(
                    "rule {id}: URL {url_id} is {}",
                    url.view.url_status
                )),
                Some(_) => {}
            }
        }
    }
    let count = work
        .live_rules
        .iter()
        .filter(|rule| rule.view.custom_setting_status != "deleted")
        .count();
    let (outcome, detail) = pass_or_fail(
        &problems,
        format!("{count} with existing events and active URLs"),
    );
    check(subject.to_owned(), "rules", outcome, detail)
}

/// Each recorded pixel exists, is active, and posts to the right place.
fn pixel_check(inputs: Inputs<'_>, subject: &str, work: &OfferWork) -> Check {
    let iscale_settings = inputs.settings.iscale.as_ref();
    let domain = iscale_settings.and_then(|iscale| iscale.tracking_domain.as_deref());
    let network_id = iscale_settings.map(|iscale| iscale.network_id);
    let network = subject.split('/').next().unwrap_or_default();
    let token = inputs
        .settings
        .networks
        .get(network)
        .and_then(|network| network.verification_token.as_ref());
    let events = work
        .live
        .as_ref()
        .map(iscale::event_ids)
        .unwrap_or_default();
    let records = work.state.as_ref().map(|state| &state.pixels);
    let mut problems = Vec::new();
    let mut count = 0;
    for (key, record) in records.into_iter().flatten() {
        let Some(id) = record.id else { continue };
        let Some(pixel) = work
            .live_pixels
            .iter()
            .find(|pixel| pixel.view.network_pixel_id == id)
        else {
            problems.push(format!(
                "pixel {key} ({id}) is missing in the source network"
            ));
            continue;
        };
        count += 1;
        let view = &pixel.view;
        if view.pixel_status != "active" {
            problems.push(format!("pixel {key} ({id}) is {}", view.pixel_status));
        }
        let Ok(url) = url::Url::parse(&view.postback_url) else {
            problems.push(format!(
                "pixel {key} ({id}): the postback URL does not parse"
            ));
            continue;
        };
        let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        if domain.is_some_and(|domain| url.host_str() != Some(domain)) {
            problems.push(format!(
                "pixel {key} ({id}) posts to {} instead of the tracking domain {}",
                url.host_str().unwrap_or("no host"),
                domain.unwrap_or_default()
            ));
        }
        if let Some(network_id) = network_id
            && params.get("nid") != Some(&network_id.to_string())
        {
            problems.push(format!("pixel {key} ({id}): nid is not {network_id}"));
        }
        let (_, sent_token) = split_token(&view.postback_url);
        if token.is_some_and(|token| sent_token.as_deref() != Some(token.expose())) {
            problems.push(format!(
                "pixel {key} ({id}): the verification token is not the configured one"
            ));
        }
        if params.contains_key("adv_event_id") {
            problems.push(format!(
                "pixel {key} ({id}) uses adv_event_id, which Everflow drops: it must be event_id"
            ));
        }
        match (view.pixel_type.as_str(), params.get("event_id")) {
            ("conversion", Some(event)) => problems.push(format!(
                "pixel {key} ({id}) is the base conversion but sends event_id {event}"
            )),
            ("post_conversion", None) => {
                problems.push(format!("pixel {key} ({id}) sends no event_id"))
            }
            ("post_conversion", Some(event)) => {
                let known = event
                    .parse::<u64>()
                    .is_ok_and(|event| events.values().any(|id| *id == event));
                if !known {
                    problems.push(format!(
                        "pixel {key} ({id}): event_id {event} is not an event of iScale offer {}",
                        work.live.as_ref().map_or(0, |live| live.id())
                    ));
                }
            }
            _ => {}
        }
    }
    let (outcome, detail) = pass_or_fail(&problems, format!("{count} active, posting to iScale"));
    check(subject.to_owned(), "pixels", outcome, detail)
}

/// The table, for people.
pub fn render_table(checks: &[Check]) -> String {
    let width = |f: fn(&Check) -> usize| checks.iter().map(f).max().unwrap_or(0);
    let subject = width(|check| check.subject.len()).max("OFFER".len());
    let name = width(|check| check.check.len()).max("CHECK".len());
    let result = width(|check| check.outcome.to_string().len()).max("RESULT".len());
    let mut out = format!(
        "{:subject$}  {:name$}  {:result$}  DETAIL\n",
        "OFFER", "CHECK", "RESULT"
    );
    for check in checks {
        out.push_str(&format!(
            "{:subject$}  {:name$}  {:result$}  {}\n",
            check.subject,
            check.check,
            check.outcome.to_string(),
            check.detail
        ));
    }
    let count = |outcome| {
        checks
            .iter()
            .filter(|check| check.outcome == outcome)
            .count()
    };
    out.push_str(&format!(
        "\nVerify: {} passed, {} failed, {} not visible.\n",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::NotVisible)
    ));
    out
}
