//! Fixtures: the data a sandbox starts with, and the `.env.local` that points
//! offersync at it.
//!
//! A fixture file holds one destination network (its Network API key, advertisers,
//! tracking domains, affiliates, optionally offers and partner postbacks that
//! already exist) and the source networks (an Affiliate API key each, our
//! affiliate id there, optionally other affiliates with their own keys, and the
//! offers as the Affiliate API shows them). Landing pages are sandbox-only data:
//! they feed the tracking links of `GET /v1/affiliates/offers/{id}/url/{urlId}`
//! and are never returned as fields. The built-in set is `fixtures/builtin.json`:
//! iScale (7001) with affiliates 1, 7 and 22 and four global partner postbacks
//! (one html, one inactive); `trimrx` (us: 42, and affiliate 58) and
//! `directmeds` (us: 77).
//!
//! Source offers are written in the affiliate view of LIVE `offersrunnable`;
//! fields left out get their proto3 default when the sandbox loads them, and the
//! tracking links are computed, so a fixture only spells out what matters.
//!
//! `web` holds the files of the sandbox's web host (`/_sandbox/web/<path>`):
//! landing pages and images that source offers point at, so downloads work on
//! loopback. Strings anywhere in the fixtures may contain [`BASE_URL_TOKEN`]
//! (`{sandbox}`), which [`Fixtures::with_base_url`] replaces with the sandbox's
//! address once it is known. [`super::SandboxHandle::start`] does that itself;
//! callers of [`super::serve`] must call `with_base_url` before
//! [`super::Sandbox::new`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::FixtureError;
use super::web::WebFiles;
use super::world::World;
use crate::settings::env_prefix;

/// Everything a sandbox is seeded with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// The destination network (iScale), reached with the Network API.
    pub destination: DestinationFixture,
    /// The source networks, reached with the Affiliate API.
    pub sources: Vec<SourceFixture>,
    /// Files of the web host by path under `/_sandbox/web/` (no leading `/`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub web: BTreeMap<String, WebFile>,
    /// The Offerit install served under `/api` (none: `/api` answers 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerit: Option<OfferitFixture>,
}

/// An Offerit install (the second destination, seed 003): one admin's credentials,
/// its advertisers and goals. It starts without offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferitFixture {
    /// The admin's API key (header `api-key`; written to `.env.local`).
    pub api_key: String,
    /// The admin's username (header `api-username`; written to `.env.local`).
    pub api_username: String,
    /// The install's tracking domain (`OFFERIT_TRACKING_DOMAIN`), host of the
    /// `process_pixel.php` postbacks.
    pub tracking_domain: String,
    /// The id the first created offer gets (seed 003's sample answer: 400).
    #[serde(default = "first_offerit_offer_id")]
    pub first_offer_id: u64,
    /// The id the first created landing page gets (seed 003's sample answer: 432).
    #[serde(default = "first_offerit_landing_page_id")]
    pub first_landing_page_id: u64,
    /// Advertiser accounts: add_offer's `advertiserid` must name one.
    pub advertisers: Vec<OfferitAdvertiserFixture>,
    /// The goals defined in the install: set_offer_goals' `goal_id` must name one.
    #[serde(default)]
    pub goals: Vec<OfferitGoalFixture>,
}

/// An Offerit advertiser account (add_advertiser returns its `loginid`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferitAdvertiserFixture {
    pub loginid: u64,
    pub username: String,
}

/// A goal defined in an Offerit install.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferitGoalFixture {
    pub goal_id: u64,
    pub name: String,
}

fn first_offerit_offer_id() -> u64 {
    400
}

fn first_offerit_landing_page_id() -> u64 {
    432
}

/// One file of the web host: text given inline (`body`) or one of the built-in
/// binary files (`file`, a path under `src/sandbox/fixtures/web/`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebFile {
    /// The `Content-Type` it is served with.
    pub content_type: String,
    /// The text to serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A built-in binary file to serve, e.g. `trimrx/banner-300x250.png`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// The destination network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationFixture {
    /// A short name of the network (`iscale`).
    pub name: String,
    /// `network_id` (the `nid` of postback URLs).
    pub network_id: u64,
    /// The Network API key.
    pub api_key: String,
    /// The margin written to `.env.local` (`ISCALE_PAYOUT_MARGIN`).
    #[serde(default = "default_margin")]
    pub payout_margin: Decimal,
    /// The id the first created offer gets; later ones count up.
    #[serde(default = "one")]
    pub first_offer_id: u64,
    /// The id the first created payout/revenue entry gets (network-wide counter).
    #[serde(default = "one")]
    pub first_payout_revenue_id: u64,
    /// The id the first created offer URL gets.
    #[serde(default = "one")]
    pub first_offer_url_id: u64,
    /// The id the first created creative gets.
    #[serde(default = "one")]
    pub first_creative_id: u64,
    /// The id the first created custom payout/revenue setting gets.
    #[serde(default = "one")]
    pub first_custom_setting_id: u64,
    /// The id the first created partner postback gets.
    #[serde(default = "one")]
    pub first_pixel_id: u64,
    /// Advertisers in the shape of the LEGACY `GET /v1/networks/advertisers` sample.
    pub advertisers: Vec<Map<String, Value>>,
    /// Tracking domains in the shape of `GET /v1/networks/domains/tracking`.
    pub tracking_domains: Vec<Map<String, Value>>,
    /// Offers that exist before anything runs, as `POST /v1/networks/offers` bodies.
    #[serde(default)]
    pub offers: Vec<Value>,
    /// The network's affiliates (partners), in the shape of the
    /// `relationship.affiliate` of a partner postback (seed 001); keys left out
    /// get their proto3 default.
    #[serde(default)]
    pub affiliates: Vec<Map<String, Value>>,
    /// Partner postbacks that exist before anything runs, as
    /// `POST /v1/networks/pixels` bodies (created after `offers`).
    #[serde(default)]
    pub pixels: Vec<Value>,
}

/// A source network where we are an affiliate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFixture {
    /// Lowercase name; the desired file stem and the `{NAME}_` settings prefix.
    pub name: String,
    /// The source network's `network_id`.
    pub network_id: u64,
    /// Our Affiliate API key there (written to `.env.local`).
    pub api_key: String,
    /// More affiliate keys of the same network (they share its rate-limit bucket).
    #[serde(default)]
    pub extra_api_keys: Vec<String>,
    /// Our `network_affiliate_id` there (the `affid` of links).
    pub affiliate_id: u64,
    /// Our affiliate account's name there (`GET /v1/affiliates/settings`).
    #[serde(default)]
    pub affiliate_name: String,
    /// Other affiliates of the same network, each with its own key (all keys of
    /// a network share its rate-limit bucket). offersync never uses them; tests
    /// do, to see what one affiliate may not see of another's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_affiliates: Vec<OtherAffiliateFixture>,
    /// The id the first affiliate postback created in this network gets.
    #[serde(default = "one")]
    pub first_pixel_id: u64,
    /// The host of the source's tracking links, e.g. `trk.trimrx.test`.
    pub tracking_domain: String,
    /// The destination advertiser that owns this network's offers in iScale.
    pub destination_advertiser_id: u64,
    /// The Offerit advertiser (`loginid`) that owns this network's offers in the
    /// Offerit install (`{NETWORK}_OFFERIT_ADVERTISER_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerit_advertiser_id: Option<u64>,
    /// The postback verification token offersync should set (<= 50 chars).
    pub verification_token: String,
    /// The offers, as the Affiliate API shows them, with their landing pages.
    pub offers: Vec<SourceOfferFixture>,
}

/// Another affiliate of a source network (not us).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherAffiliateFixture {
    /// Its `network_affiliate_id` (not ours).
    pub affiliate_id: u64,
    /// Its account name (`GET /v1/affiliates/settings`).
    pub affiliate_name: String,
    /// Its Affiliate API key.
    pub api_key: String,
}

/// One source offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOfferFixture {
    /// Sandbox-only: landing page per URL id (`"0"` = the offer's default URL).
    #[serde(default)]
    pub landing_pages: BTreeMap<String, String>,
    /// The offer in the affiliate view (LIVE `offersrunnable` element).
    pub offer: Map<String, Value>,
}

/// [`Fixtures::fleet`]: copy `k` is offer `FLEET_FIRST_ID + k`.
const FLEET_FIRST_ID: u64 = 10_000;

/// Copy `k` of a source offer, with its ids moved out of the way of every other copy.
fn fleet_copy(template: &SourceOfferFixture, k: u64) -> SourceOfferFixture {
    const MOVED: &[&str] = &[
        "network_offer_url_id",
        "network_offer_creative_id",
        "network_offer_payout_revenue_id",
    ];
    fn walk(value: &mut Value, k: u64) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let key = key.as_str();
                    match value {
                        Value::Number(_) if key == "network_offer_id" => {
                            *value = (FLEET_FIRST_ID + k).into();
                        }
                        Value::Number(id) if MOVED.contains(&key) => {
                            *value = moved(id, k);
                        }
                        // Rules name the URLs they apply to by id.
                        Value::Array(ids) if key == "network_offer_url_ids" => {
                            for id in ids.iter_mut() {
                                if let Value::Number(number) = id {
                                    *id = moved(number, k);
                                }
                            }
                        }
                        value => walk(value, k),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, k)),
            _ => {}
        }
    }
    fn moved(id: &serde_json::Number, k: u64) -> Value {
        match id.as_u64() {
            Some(id) if id > 0 => (id + k * FLEET_FIRST_ID).into(),
            _ => Value::Number(id.clone()),
        }
    }
    let mut offer = Value::Object(template.offer.clone());
    walk(&mut offer, k);
    let Value::Object(mut offer) = offer else {
        unreachable!("an object stays an object")
    };
    if let Some(Value::String(name)) = offer.get_mut("name") {
        name.push_str(&format!(" #{k}"));
    }
    // Each copy's thumbnail is an image of its own to fetch and process, as in a real
    // fleet; the web host ignores the query.
    if let Some(Value::String(url)) = offer.get_mut("thumbnail_url")
        && !url.is_empty()
    {
        url.push_str(&format!("?copy={k}"));
    }
    let landing_pages = template
        .landing_pages
        .iter()
        .map(|(id, page)| match id.parse::<u64>() {
            Ok(id) if id > 0 => ((id + k * FLEET_FIRST_ID).to_string(), page.clone()),
            _ => (id.clone(), page.clone()),
        })
        .collect();
    SourceOfferFixture {
        landing_pages,
        offer,
    }
}

fn default_margin() -> Decimal {
    Decimal::new(20, 2)
}

fn one() -> u64 {
    1
}

const BUILTIN: &str = include_str!("fixtures/builtin.json");

/// The placeholder for the sandbox's base URL (`http://127.0.0.1:PORT`) in
/// fixture strings; see [`Fixtures::with_base_url`].
pub const BASE_URL_TOKEN: &str = "{sandbox}";

fn substitute(text: &mut String, base: &str) {
    if text.contains(BASE_URL_TOKEN) {
        *text = text.replace(BASE_URL_TOKEN, base);
    }
}

fn substitute_value(value: &mut Value, base: &str) {
    match value {
        Value::String(s) => substitute(s, base),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute_value(v, base)),
        Value::Object(map) => substitute_map(map, base),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn substitute_map(map: &mut Map<String, Value>, base: &str) {
    map.values_mut().for_each(|v| substitute_value(v, base));
}

impl Fixtures {
    /// The built-in fixtures: iScale (7001) with `trimrx` and `directmeds`.
    pub fn builtin() -> Fixtures {
        // Checked by the `builtin_fixtures_are_valid` test; not user input.
        serde_json::from_str(BUILTIN).expect("built-in sandbox fixtures are valid json")
    }

    /// The built-in fixtures with each source network's offers replaced by
    /// `offers_per_network` copies of its richest offer (the most URLs): a fleet for
    /// load tests and benchmarks. Copy `k` (from 1) gets offer id `10000 + k`, the
    /// name `<name> #k`, and URL, creative and payout event ids moved by `k * 10000`
    /// so that every id stays unique in its network.
    pub fn fleet(offers_per_network: usize) -> Fixtures {
        let mut fixtures = Fixtures::builtin();
        for source in &mut fixtures.sources {
            let template = source
                .offers
                .iter()
                .max_by_key(|offer| offer.landing_pages.len())
                .cloned()
                .expect("every built-in source network has offers");
            source.offers = (1..=offers_per_network as u64)
                .map(|k| fleet_copy(&template, k))
                .collect();
        }
        fixtures
    }

    /// The source offer ids of [`Fixtures::fleet`]'s copies.
    pub fn fleet_offer_ids(offers_per_network: usize) -> impl Iterator<Item = u64> {
        (1..=offers_per_network as u64).map(|k| FLEET_FIRST_ID + k)
    }

    /// These fixtures with every [`BASE_URL_TOKEN`] in a string value replaced by
    /// `base` (e.g. `http://127.0.0.1:4000`; a trailing `/` is dropped).
    ///
    /// [`super::SandboxHandle::start`] calls it once it has bound its port; a
    /// caller of [`super::serve`] calls it with the address it will listen on.
    pub fn with_base_url(mut self, base: &str) -> Fixtures {
        let base = base.trim_end_matches('/');
        let d = &mut self.destination;
        for s in [&mut d.name, &mut d.api_key] {
            substitute(s, base);
        }
        for m in d
            .advertisers
            .iter_mut()
            .chain(d.tracking_domains.iter_mut())
        {
            substitute_map(m, base);
        }
        d.offers
            .iter_mut()
            .chain(d.pixels.iter_mut())
            .for_each(|v| substitute_value(v, base));
        d.affiliates
            .iter_mut()
            .for_each(|m| substitute_map(m, base));
        for s in &mut self.sources {
            for text in [
                &mut s.name,
                &mut s.api_key,
                &mut s.affiliate_name,
                &mut s.tracking_domain,
                &mut s.verification_token,
            ]
            .into_iter()
            .chain(s.extra_api_keys.iter_mut())
            .chain(
                s.other_affiliates
                    .iter_mut()
                    .flat_map(|a| [&mut a.affiliate_name, &mut a.api_key]),
            ) {
                substitute(text, base);
            }
            for o in &mut s.offers {
                o.landing_pages
                    .values_mut()
                    .for_each(|p| substitute(p, base));
                substitute_map(&mut o.offer, base);
            }
        }
        if let Some(offerit) = &mut self.offerit {
            for text in [
                &mut offerit.api_key,
                &mut offerit.api_username,
                &mut offerit.tracking_domain,
            ]
            .into_iter()
            .chain(offerit.advertisers.iter_mut().map(|a| &mut a.username))
            .chain(offerit.goals.iter_mut().map(|g| &mut g.name))
            {
                substitute(text, base);
            }
        }
        for file in self.web.values_mut() {
            for text in [
                Some(&mut file.content_type),
                file.body.as_mut(),
                file.file.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                substitute(text, base);
            }
        }
        self
    }

    /// Reads fixtures from a JSON file, or YAML when the extension is `.yaml`/`.yml`,
    /// and checks that they describe a usable sandbox.
    pub fn from_path(path: &Path) -> Result<Fixtures, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: path.to_owned(),
            source,
        })?;
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let fixtures: Fixtures = if is_yaml {
            serde_yaml::from_str(&text).map_err(|error| FixtureError::Yaml {
                path: path.to_owned(),
                error,
            })?
        } else {
            serde_json::from_str(&text).map_err(|error| FixtureError::Json {
                path: path.to_owned(),
                error,
            })?
        };
        let problems = fixtures.problems();
        if problems.is_empty() {
            Ok(fixtures)
        } else {
            Err(FixtureError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// What is wrong with these fixtures (empty when they are usable).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = World::build(self).1;
        problems.extend(WebFiles::build(&self.web).1);
        problems
    }

    /// The `.env.local` text that configures offersync for these fixtures
    /// (DESIGN.md 4.2 and 4.5 names), with `EVERFLOW_API_URL` set to `api_url`, and
    /// with the Offerit install's settings (`OFFERIT_URL` = `api_url` too, since one
    /// server answers both `/v1` and `/api`) when the fixtures have one.
    pub fn env_local(&self, api_url: &str) -> String {
        let d = &self.destination;
        let domain = d
            .tracking_domains
            .iter()
            .find(|t| t.get("is_primary_domain") == Some(&Value::Bool(true)))
            .or(d.tracking_domains.first())
            .and_then(|t| t.get("url"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut out = String::from("# offersync sandbox: fake keys for the built-in simulator\n");
        let _ = writeln!(out, "EVERFLOW_API_URL={api_url}");
        let _ = writeln!(out, "ISCALE_API_KEY={}", d.api_key);
        let _ = writeln!(out, "ISCALE_NETWORK_ID={}", d.network_id);
        let _ = writeln!(out, "ISCALE_TRACKING_DOMAIN={domain}");
        let _ = writeln!(out, "ISCALE_PAYOUT_MARGIN={}", d.payout_margin);
        for s in &self.sources {
            let prefix = env_prefix(&s.name);
            let _ = writeln!(out, "{prefix}_API_KEY={}", s.api_key);
            let _ = writeln!(out, "{prefix}_AFFILIATE_ID={}", s.affiliate_id);
            let _ = writeln!(
                out,
                "{prefix}_ADVERTISER_ID={}",
                s.destination_advertiser_id
            );
            let _ = writeln!(out, "{prefix}_VERIFICATION_TOKEN={}", s.verification_token);
        }
        if let Some(offerit) = &self.offerit {
            let _ = writeln!(out, "OFFERIT_URL={api_url}");
            let _ = writeln!(out, "OFFERIT_API_KEY={}", offerit.api_key);
            let _ = writeln!(out, "OFFERIT_API_USERNAME={}", offerit.api_username);
            let _ = writeln!(out, "OFFERIT_TRACKING_DOMAIN={}", offerit.tracking_domain);
            for s in &self.sources {
                if let Some(id) = s.offerit_advertiser_id {
                    let prefix = env_prefix(&s.name);
                    let _ = writeln!(out, "{prefix}_OFFERIT_ADVERTISER_ID={id}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_fixtures_are_valid() {
        let f = Fixtures::builtin();
        assert_eq!(f.problems(), Vec::<String>::new());
        assert_eq!(f.destination.network_id, 7001);
        let names: Vec<_> = f.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["trimrx", "directmeds"]);
    }

    #[test]
    fn with_base_url_fills_every_placeholder_and_nothing_else() {
        let raw = Fixtures::builtin();
        let text = |f: &Fixtures| serde_json::to_string(f).unwrap();
        assert!(text(&raw).contains(BASE_URL_TOKEN));
        let filled = raw.clone().with_base_url("http://127.0.0.1:4000/");
        let out = text(&filled);
        assert!(!out.contains(BASE_URL_TOKEN), "{out}");
        assert!(out.contains("http://127.0.0.1:4000/_sandbox/web/trimrx/semaglutide-640x360.png"));
        let page = filled.web["directmeds/pharmacy.html"]
            .body
            .as_deref()
            .unwrap();
        assert!(
            page.contains(
                "content=\"http://127.0.0.1:4000/_sandbox/web/directmeds/og-pharmacy.jpg\""
            )
        );
        // Everything without the placeholder is untouched, money included.
        assert_eq!(filled.destination, raw.destination);
        assert_eq!(filled.destination.payout_margin.to_string(), "0.20");
        let pages = |f: &Fixtures| f.sources[0].offers[2].landing_pages.clone();
        assert_eq!(pages(&filled), pages(&raw));
        assert_eq!(filled.problems(), Vec::<String>::new());
    }

    #[test]
    fn a_fleet_is_valid_and_its_ids_unique() {
        use std::collections::BTreeSet;
        let fleet = Fixtures::fleet(3);
        assert_eq!(fleet.problems(), Vec::<String>::new());
        for source in &fleet.sources {
            let ids: Vec<u64> = source
                .offers
                .iter()
                .map(|offer| offer.offer["network_offer_id"].as_u64().unwrap())
                .collect();
            assert_eq!(ids, Fixtures::fleet_offer_ids(3).collect::<Vec<_>>());
            let text = serde_json::to_string(&source.offers).unwrap();
            assert!(text.contains("#3\""), "{text}");
            let thumbnails: BTreeSet<&str> = source
                .offers
                .iter()
                .map(|offer| offer.offer["thumbnail_url"].as_str().unwrap())
                .collect();
            assert_eq!(thumbnails.len(), 3, "{thumbnails:?}");
        }
    }

    #[test]
    fn env_local_names_every_setting() {
        let env = Fixtures::builtin().env_local("http://127.0.0.1:9");
        for needle in [
            "EVERFLOW_API_URL=http://127.0.0.1:9\n",
            "ISCALE_NETWORK_ID=7001\n",
            "ISCALE_TRACKING_DOMAIN=trk.iscale.test\n",
            "ISCALE_PAYOUT_MARGIN=0.20\n",
            "TRIMRX_AFFILIATE_ID=42\n",
            "TRIMRX_ADVERTISER_ID=13\n",
            "DIRECTMEDS_AFFILIATE_ID=77\n",
            "DIRECTMEDS_ADVERTISER_ID=14\n",
        ] {
            assert!(env.contains(needle), "missing {needle:?} in\n{env}");
        }
        assert!(env.contains("ISCALE_API_KEY=sbx_nw_"));
        assert!(env.contains("TRIMRX_API_KEY=sbx_af_"));
        let token = env
            .lines()
            .find_map(|l| l.strip_prefix("TRIMRX_VERIFICATION_TOKEN="))
            .unwrap();
        assert!(!token.is_empty() && token.len() <= 50);
    }

    #[test]
    fn env_local_names_the_offerit_install_and_its_advertisers() {
        let fixtures = Fixtures::builtin();
        let env = fixtures.env_local("http://127.0.0.1:9");
        for needle in [
            "OFFERIT_URL=http://127.0.0.1:9\n",
            "OFFERIT_API_KEY=sbx_oi_",
            "OFFERIT_API_USERNAME=sbx_oi_",
            "OFFERIT_TRACKING_DOMAIN=trk.offerit.test\n",
            "TRIMRX_OFFERIT_ADVERTISER_ID=4003\n",
            "DIRECTMEDS_OFFERIT_ADVERTISER_ID=4004\n",
        ] {
            assert!(env.contains(needle), "missing {needle:?} in\n{env}");
        }
        // Without an install: no Offerit settings at all.
        let mut without = fixtures.clone();
        without.offerit = None;
        for source in &mut without.sources {
            source.offerit_advertiser_id = None;
        }
        assert_eq!(without.problems(), Vec::<String>::new());
        assert!(!without.env_local("http://127.0.0.1:9").contains("OFFERIT"));
        // An advertiser id that the install does not have, or no install at all.
        let mut unknown = fixtures.clone();
        unknown.sources[0].offerit_advertiser_id = Some(9);
        let problems = unknown.problems();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("offerit_advertiser_id 9")),
            "{problems:?}"
        );
        without.sources[1].offerit_advertiser_id = Some(4004);
        assert_eq!(without.problems().len(), 1, "{:?}", without.problems());
        // The Offerit key must not be another network's.
        let mut reused = fixtures;
        reused.offerit.as_mut().unwrap().api_key = reused.destination.api_key.clone();
        assert!(
            reused
                .problems()
                .iter()
                .any(|p| p.contains("reuses an api key"))
        );
    }

    #[test]
    fn from_path_reads_json_and_yaml_and_rejects_bad_data() {
        let dir = tempfile::tempdir().unwrap();
        let json_path = dir.path().join("f.json");
        std::fs::write(&json_path, include_str!("fixtures/builtin.json")).unwrap();
        assert_eq!(
            Fixtures::from_path(&json_path).unwrap(),
            Fixtures::builtin()
        );

        let yaml_path = dir.path().join("f.yaml");
        let yaml = serde_yaml::to_string(&Fixtures::builtin()).unwrap();
        std::fs::write(&yaml_path, yaml).unwrap();
        let from_yaml = Fixtures::from_path(&yaml_path).unwrap();
        assert_eq!(from_yaml.sources.len(), 2);

        let mut bad = Fixtures::builtin();
        bad.sources[1].offers[0].offer.remove("network_offer_id");
        bad.sources[1].verification_token = "x".repeat(51);
        std::fs::write(&json_path, serde_json::to_string(&bad).unwrap()).unwrap();
        let err = Fixtures::from_path(&json_path).unwrap_err().to_string();
        assert!(err.contains("network_offer_id"), "{err}");
        assert!(err.contains("verification_token"), "{err}");

        std::fs::write(&json_path, "{").unwrap();
        assert!(matches!(
            Fixtures::from_path(&json_path),
            Err(FixtureError::Json { .. })
        ));
        assert!(matches!(
            Fixtures::from_path(&dir.path().join("missing.json")),
            Err(FixtureError::Read { .. })
        ));
    }
}
