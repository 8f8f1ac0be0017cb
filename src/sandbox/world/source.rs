//! Source networks: the offers we can see as an affiliate, with their tracking
//! links, and the source-side payout changes that demos and rehearsals make.
//!
//! The offer object is the LIVE `offersrunnable` element. What consumers read
//! from `relationship` (payouts, urls, creatives, ruleset, custom payout
//! settings) follows the shapes in the facts file; `payouts.entries[]` carry the
//! network payout entry fields without the revenue side (facts: "(inferred)").

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::super::fixtures::SourceFixture;
use super::super::money;
use super::links;
use super::offer_fields::{PAYOUT_TYPES, VISIBILITY};
use super::pixels::Pixel;
use super::records::Records;

/// Affiliate statuses of SNAP affiliate-offers.yaml.
const AFFILIATE_STATUS: &[&str] = &["approved", "pending", "not_applied", "rejected"];

/// Top-level fields of the LIVE `offersrunnable` element with their proto3
/// defaults; a fixture offer that leaves one out gets the default.
const TOP_DEFAULTS: &[(&str, Fill)] = &[
    ("offer_status", Fill::Str("active")),
    ("currency_id", Fill::Str("USD")),
    ("visibility", Fill::Str("public")),
    ("thumbnail_url", Fill::Str("")),
    ("html_description", Fill::Str("")),
    ("is_description_plain_text", Fill::Bool),
    ("preview_url", Fill::Str("")),
    ("impression_tracking_url", Fill::Str("")),
    ("network_category_id", Fill::Zero),
    ("is_caps_enabled", Fill::Bool),
    ("caps_timezone_id", Fill::Zero),
    ("daily_conversion_cap", Fill::Zero),
    ("weekly_conversion_cap", Fill::Zero),
    ("monthly_conversion_cap", Fill::Zero),
    ("global_conversion_cap", Fill::Zero),
    ("daily_click_cap", Fill::Zero),
    ("weekly_click_cap", Fill::Zero),
    ("monthly_click_cap", Fill::Zero),
    ("global_click_cap", Fill::Zero),
    ("daily_payout_cap", Fill::Zero),
    ("weekly_payout_cap", Fill::Zero),
    ("monthly_payout_cap", Fill::Zero),
    ("global_payout_cap", Fill::Zero),
    ("is_force_terms_and_conditions", Fill::Bool),
    ("is_using_explicit_terms_and_conditions", Fill::Bool),
    ("terms_and_conditions", Fill::Str("")),
    ("is_use_direct_linking", Fill::Bool),
    ("is_using_suppression_list", Fill::Bool),
    ("suppression_list_id", Fill::Zero),
    ("network_tracking_domain_id", Fill::Zero),
    ("app_identifier", Fill::Str("")),
    ("date_live_until", Fill::Str("")),
    ("time_created", Fill::Zero),
    ("time_saved", Fill::Zero),
];

#[derive(Clone, Copy)]
enum Fill {
    Str(&'static str),
    Zero,
    Bool,
}

impl Fill {
    fn value(self) -> Value {
        match self {
            Fill::Str(s) => json!(s),
            Fill::Zero => json!(0),
            Fill::Bool => json!(false),
        }
    }
}

fn fill(m: &mut Map<String, Value>, defaults: &[(&str, Value)]) {
    for (k, v) in defaults {
        if !m.contains_key(*k) {
            m.insert((*k).to_owned(), v.clone());
        }
    }
}

/// One source offer: the affiliate view and the sandbox-only landing pages.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SourceOffer {
    pub view: Map<String, Value>,
    pub landing_pages: BTreeMap<u64, String>,
}

impl SourceOffer {
    pub fn id(&self) -> u64 {
        self.view
            .get("network_offer_id")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn str_field(&self, k: &str) -> &str {
        self.view.get(k).and_then(Value::as_str).unwrap_or("")
    }

    fn affiliate_status(&self) -> &str {
        self.view
            .get("relationship")
            .and_then(|r| r.get("offer_affiliate_status"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Visible to an affiliate with `status` on it: public and require_approval
    /// offers always; private ones only once approved. Invisible offers are 404
    /// (affiliate-offers.yaml).
    fn visible_with(&self, status: &str) -> bool {
        self.str_field("visibility") != "private" || status == "approved"
    }

    /// Runnable: public, or approved (affiliate-offers.yaml offersrunnable).
    fn runnable_with(&self, status: &str) -> bool {
        self.str_field("visibility") == "public" || status == "approved"
    }

    pub fn is_direct_linking(&self) -> bool {
        self.view.get("is_use_direct_linking") == Some(&Value::Bool(true))
    }

    /// The payout entries as `(network_offer_payout_revenue_id, is_default,
    /// payout_type)`.
    pub fn payout_entries(&self) -> Vec<(u64, bool, &str)> {
        entries(&self.view, "payouts")
            .iter()
            .map(|e| {
                let id = e
                    .get("network_offer_payout_revenue_id")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let default = e.get("is_default") == Some(&Value::Bool(true));
                let ty = e.get("payout_type").and_then(Value::as_str).unwrap_or("");
                (id, default, ty)
            })
            .collect()
    }

    pub fn url_ids(&self) -> Vec<u64> {
        entries(&self.view, "urls")
            .iter()
            .filter_map(|u| u.get("network_offer_url_id").and_then(Value::as_u64))
            .collect()
    }

    /// Whether the name or id matches offersrunnable's `search`.
    pub fn matches_search(&self, search: &str) -> bool {
        let search = search.trim();
        search.is_empty()
            || search.parse::<u64>().ok() == Some(self.id())
            || self
                .str_field("name")
                .to_lowercase()
                .contains(&search.to_lowercase())
    }
}

fn payout_ids(view: &Map<String, Value>) -> impl Iterator<Item = u64> + '_ {
    entries(view, "payouts").iter().filter_map(|e| {
        e.get("network_offer_payout_revenue_id")
            .and_then(Value::as_u64)
    })
}

fn entries<'a>(view: &'a Map<String, Value>, rel: &str) -> &'a [Value] {
    view.get("relationship")
        .and_then(|r| r.get(rel))
        .and_then(|r| r.get("entries"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[derive(Debug)]
pub(crate) struct Source {
    pub network_id: u64,
    /// Us.
    pub affiliate_id: u64,
    pub affiliate_name: String,
    /// The network's other affiliates (fixture `other_affiliates`) by id: name.
    pub others: BTreeMap<u64, String>,
    pub tracking_domain: String,
    pub offers: BTreeMap<u64, SourceOffer>,
    /// Every affiliate's postbacks (`affiliate_pixels.rs`).
    pub pixels: Records<Pixel>,
}

impl Source {
    pub fn new(fx: &SourceFixture, problems: &mut Vec<String>) -> Source {
        let mut offers = BTreeMap::new();
        let mut entry_ids = BTreeSet::new();
        let net = Net {
            network_id: fx.network_id,
            affiliate_id: fx.affiliate_id,
            tracking_domain: &fx.tracking_domain,
        };
        for (i, o) in fx.offers.iter().enumerate() {
            let at = format!("sources `{}` offers[{i}]", fx.name);
            let before = problems.len();
            let offer = normalize_offer(&net, &o.offer, &o.landing_pages, &at, problems);
            for id in payout_ids(&offer.view) {
                if !entry_ids.insert(id) {
                    problems.push(format!(
                        "{at}: payout entry id {id} is used twice in the network"
                    ));
                }
            }
            if problems.len() > before {
                continue;
            }
            if offers.insert(offer.id(), offer).is_some() {
                problems.push(format!("{at}: network_offer_id is used twice"));
            }
        }
        let mut others = BTreeMap::new();
        for o in &fx.other_affiliates {
            let at = format!("sources `{}` other_affiliates", fx.name);
            if o.affiliate_id == 0 || o.affiliate_id == fx.affiliate_id {
                problems.push(format!(
                    "{at}: affiliate_id {} must be positive and not ours",
                    o.affiliate_id
                ));
            } else if others
                .insert(o.affiliate_id, o.affiliate_name.clone())
                .is_some()
            {
                problems.push(format!(
                    "{at}: affiliate_id {} is used twice",
                    o.affiliate_id
                ));
            }
        }
        Source {
            network_id: fx.network_id,
            affiliate_id: fx.affiliate_id,
            affiliate_name: fx.affiliate_name.clone(),
            others,
            tracking_domain: fx.tracking_domain.clone(),
            offers,
            pixels: Records::new(fx.first_pixel_id),
        }
    }

    /// The account name of one of the network's affiliates (us or another).
    pub fn affiliate_name_of(&self, affiliate: u64) -> Option<&str> {
        if affiliate == self.affiliate_id {
            return Some(&self.affiliate_name);
        }
        self.others.get(&affiliate).map(String::as_str)
    }

    /// `affiliate`'s `offer_affiliate_status` on `offer`. The fixtures hold our
    /// approvals only; another affiliate is approved for public offers (the
    /// default the fixtures give us too) and has not applied to the others.
    fn status_for<'a>(&self, offer: &'a SourceOffer, affiliate: u64) -> &'a str {
        if affiliate == self.affiliate_id {
            offer.affiliate_status()
        } else if offer.str_field("visibility") == "public" {
            "approved"
        } else {
            "not_applied"
        }
    }

    /// Whether `affiliate` can see `offer` (404 otherwise).
    pub fn visible_to(&self, offer: &SourceOffer, affiliate: u64) -> bool {
        offer.visible_with(self.status_for(offer, affiliate))
    }

    /// Whether `affiliate` may run `offer` (offersrunnable lists it).
    pub fn runnable_by(&self, offer: &SourceOffer, affiliate: u64) -> bool {
        offer.runnable_with(self.status_for(offer, affiliate))
    }

    /// A visible offer of the network as `affiliate` sees it.
    pub fn visible_offer(&self, offer_id: u64, affiliate: u64) -> Option<&SourceOffer> {
        self.offers
            .get(&offer_id)
            .filter(|o| self.visible_to(o, affiliate))
    }

    /// The offer as `affiliate` sees it: ours is the fixture view; another
    /// affiliate's has its own status and tracking links.
    pub fn view_for(&self, offer: &SourceOffer, affiliate: u64) -> Map<String, Value> {
        let mut view = offer.view.clone();
        if affiliate == self.affiliate_id {
            return view;
        }
        let status = self.status_for(offer, affiliate);
        if let Some(Value::Object(rel)) = view.get_mut("relationship") {
            rel.insert("offer_affiliate_status".into(), json!(status));
        }
        let redirect = links::redirect_link(
            &self.tracking_domain,
            self.network_id,
            affiliate,
            offer.id(),
            0,
        );
        view.insert("tracking_url".into(), json!(self.link(offer, 0, affiliate)));
        view.insert("redirect_tracking_url".into(), json!(redirect));
        view
    }

    /// `GET /v1/affiliates/offers/{id}/url/{urlId}` for `affiliate`: 404
    /// unknown or invisible offer or unknown URL id, 400 visible but not
    /// runnable.
    pub fn tracking_link(
        &self,
        offer_id: u64,
        url_id: u64,
        affiliate: u64,
    ) -> Result<String, ApiError> {
        let offer = self
            .visible_offer(offer_id, affiliate)
            .ok_or_else(|| ApiError::no_such("offer", offer_id))?;
        if !self.runnable_by(offer, affiliate) {
            return Err(ApiError::bad_request(format!(
                "affiliate is not allowed to run offer {offer_id}"
            )));
        }
        if url_id != 0 && !offer.url_ids().contains(&url_id) {
            return Err(ApiError::not_found(format!(
                "offer url {url_id} not found for offer {offer_id}"
            )));
        }
        Ok(self.link(offer, url_id, affiliate))
    }

    fn link(&self, offer: &SourceOffer, url_id: u64, affiliate: u64) -> String {
        match offer.landing_pages.get(&url_id) {
            Some(page) if offer.is_direct_linking() => {
                links::direct_link(page, url_id, offer.id(), affiliate)
            }
            _ => links::redirect_link(
                &self.tracking_domain,
                self.network_id,
                affiliate,
                offer.id(),
                url_id,
            ),
        }
    }

    /// Replaces an offer by what `edit` makes of its affiliate view and landing
    /// pages, validated like a fixture offer; `Err` lists what is wrong. Tracking
    /// links the edit left alone are computed again (a change of direct linking or
    /// of the default landing page moves them). A URL added to a direct-linking
    /// offer without a landing page gets the default URL's page, so a URL can be
    /// added first and given its own page afterwards.
    pub fn edit_offer(
        &mut self,
        offer_id: u64,
        edit: impl FnOnce(&mut Map<String, Value>, &mut BTreeMap<u64, String>),
    ) -> Result<(), String> {
        let Some(old) = self.offers.get(&offer_id) else {
            return Err(format!("no offer {offer_id}"));
        };
        let mut view = old.view.clone();
        let mut pages = old.landing_pages.clone();
        edit(&mut view, &mut pages);
        if view.get("is_use_direct_linking") == Some(&Value::Bool(true))
            && let Some(default) = pages.get(&0).cloned()
        {
            let urls = entries(&view, "urls").iter();
            for url_id in urls.filter_map(|u| u.get("network_offer_url_id").and_then(Value::as_u64))
            {
                pages.entry(url_id).or_insert_with(|| default.clone());
            }
        }
        for k in ["tracking_url", "redirect_tracking_url"] {
            if view.get(k) == old.view.get(k) {
                view.remove(k);
            }
        }
        if view.get("network_offer_id").and_then(Value::as_u64) != Some(offer_id) {
            return Err("network_offer_id cannot change".to_owned());
        }
        let raw_pages = pages
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let net = Net {
            network_id: self.network_id,
            affiliate_id: self.affiliate_id,
            tracking_domain: &self.tracking_domain,
        };
        let mut problems = Vec::new();
        let offer = normalize_offer(&net, &view, &raw_pages, "edit", &mut problems);
        let others: BTreeSet<u64> = self
            .offers
            .values()
            .filter(|o| o.id() != offer_id)
            .flat_map(|o| payout_ids(&o.view))
            .collect();
        if let Some(id) = payout_ids(&offer.view).find(|id| others.contains(id)) {
            problems.push(format!(
                "edit: payout entry id {id} is used by another offer of the network"
            ));
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        self.offers.insert(offer_id, offer);
        Ok(())
    }

    /// Changes a payout entry's amount and/or percentage; returns the entry.
    pub fn set_payout(
        &mut self,
        offer_id: u64,
        entry_name: &str,
        amount: Option<Decimal>,
        percentage: Option<Decimal>,
    ) -> Option<Value> {
        let offer = self.offers.get_mut(&offer_id)?;
        let list = offer
            .view
            .get_mut("relationship")?
            .get_mut("payouts")?
            .get_mut("entries")?
            .as_array_mut()?;
        let entry = list
            .iter_mut()
            .find(|e| e.get("entry_name").and_then(Value::as_str) == Some(entry_name))?;
        if let Some(a) = amount {
            entry["payout_amount"] = money::to_json(a);
        }
        if let Some(p) = percentage {
            entry["payout_percentage"] = money::to_json(p);
        }
        Some(entry.clone())
    }
}

/// What normalizing an offer needs to know about its network.
struct Net<'a> {
    network_id: u64,
    affiliate_id: u64,
    tracking_domain: &'a str,
}

fn normalize_offer(
    fx: &Net<'_>,
    raw: &Map<String, Value>,
    raw_pages: &BTreeMap<String, String>,
    at: &str,
    problems: &mut Vec<String>,
) -> SourceOffer {
    let mut view = raw.clone();
    let id = view
        .get("network_offer_id")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if id == 0 {
        problems.push(format!("{at}: network_offer_id must be a positive integer"));
    }
    if view
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        problems.push(format!("{at}: name is required"));
    }
    view.insert("network_id".into(), json!(fx.network_id));
    let defaults: Vec<(&str, Value)> = TOP_DEFAULTS.iter().map(|(k, d)| (*k, d.value())).collect();
    fill(&mut view, &defaults);
    let visibility = view["visibility"].as_str().unwrap_or("").to_owned();
    if !VISIBILITY.contains(&visibility.as_str()) {
        problems.push(format!(
            "{at}: visibility `{visibility}` is not one of public, require_approval, private"
        ));
    }
    let offer_time = view["time_created"].as_u64().unwrap_or(0);

    let mut rel = match view.remove("relationship") {
        Some(Value::Object(r)) => r,
        _ => Map::new(),
    };
    let default_status = if visibility == "public" {
        "approved"
    } else {
        "not_applied"
    };
    fill(
        &mut rel,
        &[
            ("offer_affiliate_status", json!(default_status)),
            ("blocked_variables_count", json!(0)),
            ("channels", json!({"total": 0, "entries": []})),
            ("creatives", json!({"total": 0, "entries": []})),
            ("payouts", json!({"total": 0, "entries": []})),
            ("urls", json!({"total": 0, "entries": []})),
            ("ruleset", json!({"countries": [], "regions": []})),
        ],
    );
    let status = rel["offer_affiliate_status"].as_str().unwrap_or("");
    if !AFFILIATE_STATUS.contains(&status) {
        problems.push(format!("{at}: offer_affiliate_status `{status}` is not one of approved, pending, not_applied, rejected"));
    }
    if let Some(Value::Object(ruleset)) = rel.get_mut("ruleset") {
        fill(ruleset, &[("countries", json!([])), ("regions", json!([]))]);
    }

    let has_custom_payouts = rel.contains_key("custom_payout_settings");
    let mut wrapped = |name: &str, f: &mut dyn FnMut(usize, &mut Map<String, Value>)| {
        let Some(Value::Object(w)) = rel.get_mut(name) else {
            problems.push(format!(
                "{at}: relationship.{name} must be {{total, entries}}"
            ));
            return;
        };
        let Some(Value::Array(list)) = w.get_mut("entries") else {
            problems.push(format!(
                "{at}: relationship.{name}.entries must be an array"
            ));
            return;
        };
        for (i, e) in list.iter_mut().enumerate() {
            match e {
                Value::Object(m) => f(i, m),
                _ => problems.push(format!(
                    "{at}: relationship.{name}.entries[{i}] must be an object"
                )),
            }
        }
        let total = list.len();
        w.insert("total".into(), json!(total));
    };

    let mut payout_problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut defaults_seen = 0;
    wrapped("payouts", &mut |i, e| {
        let p = format!("{at}: relationship.payouts.entries[{i}]");
        if e.get("network_offer_payout_revenue_id")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            == 0
        {
            payout_problems.push(format!(
                "{p}.network_offer_payout_revenue_id must be a positive integer"
            ));
        }
        match e.get("entry_name").and_then(Value::as_str) {
            Some(n) if !n.trim().is_empty() => {
                if !names.insert(n.to_owned()) {
                    payout_problems.push(format!("{p}.entry_name `{n}` is used twice"));
                }
            }
            _ => payout_problems.push(format!("{p}.entry_name is required")),
        }
        let ty = e.get("payout_type").and_then(Value::as_str).unwrap_or("");
        if !PAYOUT_TYPES.contains(&ty) {
            payout_problems.push(format!("{p}.payout_type `{ty}` is not a payout type"));
        }
        for k in ["payout_amount", "payout_percentage"] {
            match e.get(k).map(money::parse) {
                None => {
                    e.insert(k.into(), json!(0));
                }
                Some(Some(d)) if d >= Decimal::ZERO => {
                    e.insert(k.into(), money::to_json(d));
                }
                Some(_) => payout_problems.push(format!("{p}.{k} must be a non-negative number")),
            }
        }
        if e.get("is_default") == Some(&Value::Bool(true)) {
            defaults_seen += 1;
        }
        fill(
            e,
            &[
                ("network_id", json!(fx.network_id)),
                ("network_offer_id", json!(id)),
                ("is_default", json!(false)),
                ("is_private", json!(false)),
                ("is_postback_disabled", json!(false)),
                ("is_enforce_caps", json!(false)),
                ("is_must_approve_conversion", json!(false)),
                ("is_allow_duplicate_conversion", json!(false)),
                ("global_advertiser_event_id", json!(0)),
                ("time_created", json!(offer_time)),
            ],
        );
    });
    let mut url_ids = BTreeSet::new();
    wrapped("urls", &mut |i, u| {
        match u.get("network_offer_url_id").and_then(Value::as_u64) {
            Some(uid) if uid > 0 && url_ids.insert(uid) => {}
            _ => payout_problems.push(format!(
                "{at}: relationship.urls.entries[{i}].network_offer_url_id must be a positive, unique integer"
            )),
        }
        fill(u, &[("name", json!("")), ("preview_url", json!(""))]);
    });
    wrapped("creatives", &mut |_, c| {
        fill(
            c,
            &[
                ("network_offer_creative_id", json!(0)),
                ("name", json!("")),
                ("creative_type", json!("image")),
                ("creative_status", json!("active")),
                ("resource_url", json!("")),
                ("width", json!(0)),
                ("height", json!(0)),
                ("html_code", json!("")),
            ],
        );
    });
    wrapped("channels", &mut |_, _| {});
    if has_custom_payouts {
        wrapped("custom_payout_settings", &mut |i, s| {
            let p = format!("{at}: relationship.custom_payout_settings.entries[{i}]");
            match s.get("payout_amount").map(money::parse) {
                Some(Some(d)) if d >= Decimal::ZERO => {
                    s.insert("payout_amount".into(), money::to_json(d));
                }
                _ => {
                    payout_problems.push(format!("{p}.payout_amount must be a non-negative number"))
                }
            }
            // The three forms DESIGN.md 5.7 accepts for the URLs a rule applies to.
            let rel_ids = s
                .get("relationship")
                .and_then(|r| r.get("network_offer_url_ids"));
            let own_ids = s.get("network_offer_url_ids");
            let named = s
                .get("relationship")
                .and_then(|r| r.get("offer_urls"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.get("network_offer_url_id"))
                        .cloned()
                        .collect::<Vec<_>>()
                });
            let mut referenced: Vec<u64> = [rel_ids, own_ids]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .chain(named.iter().flatten())
                .filter_map(Value::as_u64)
                .collect();
            referenced.retain(|u| !url_ids.contains(u));
            if let Some(u) = referenced.first() {
                payout_problems.push(format!("{p} names url {u}, which the offer does not have"));
            }
        });
    }
    problems.append(&mut payout_problems);
    if defaults_seen != 1 {
        problems.push(format!(
            "{at}: relationship.payouts needs exactly one entry with is_default true, found {defaults_seen}"
        ));
    }

    let mut landing_pages = BTreeMap::new();
    for (k, page) in raw_pages {
        match k.parse::<u64>() {
            Ok(uid) if uid == 0 || url_ids.contains(&uid) => {
                if page.starts_with("https://") || page.starts_with("http://") {
                    landing_pages.insert(uid, page.clone());
                } else {
                    problems.push(format!("{at}: landing page `{k}` must be an http(s) url"));
                }
            }
            _ => problems.push(format!(
                "{at}: landing page key `{k}` is not 0 or one of the offer's url ids"
            )),
        }
    }
    view.insert("relationship".into(), Value::Object(rel));
    let mut offer = SourceOffer {
        view,
        landing_pages,
    };
    if offer.is_direct_linking() {
        for uid in std::iter::once(0).chain(url_ids.iter().copied()) {
            if !offer.landing_pages.contains_key(&uid) {
                problems.push(format!(
                    "{at}: direct-linking offer needs a landing page for url {uid}"
                ));
            }
        }
    }
    // Links are derived, so they always agree with url/{id}.
    let redirect = links::redirect_link(fx.tracking_domain, fx.network_id, fx.affiliate_id, id, 0);
    let tracking = match offer.landing_pages.get(&0) {
        Some(page) if offer.is_direct_linking() => links::direct_link(page, 0, id, fx.affiliate_id),
        _ => redirect.clone(),
    };
    for (k, v) in [
        ("tracking_url", tracking),
        ("redirect_tracking_url", redirect),
    ] {
        if offer.str_field(k).is_empty() {
            offer.view.insert(k.into(), json!(v));
        }
    }
    offer
}
