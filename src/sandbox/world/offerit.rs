//! The sandbox's Offerit install (seed 003, `reference/offerit-api-facts.md`): its
//! advertisers and goals (from fixtures) and the offers, landing pages and offer
//! goals that the `/api/offer/*` routes write.
//!
//! Offerit has no endpoint that reads an offer back, so what was written is kept as
//! sent: every field of a form, as text, under the name PHP gives it (see
//! `sandbox/form.rs`), and shown only through the sandbox's own control API
//! (`GET /_sandbox/offerit`) and [`super::super::Sandbox::offerit`].
//!
//! Rules, and where they come from:
//! - required fields: add_offer `name` and `url` (seed 003's table); add_landing_page
//!   `name`, `offerid`, `url`; edit_offer, pause_offer, activate_offer `offerid`;
//!   edit_landing_page `landing_pageid`; set_offer_goals `offerid` and `goal_vars`
//!   (facts file section 3). Missing or blank: 400 `<field> is required`.
//! - an `offerid`, `landing_pageid`, `goal_id` or `offer_goal_id` that names nothing:
//!   404 ("404 — invalid parameter"), as does one that is not a number.
//! - `advertiserid` must be the `loginid` of one of the install's advertisers (add_offer:
//!   "Loginid of advertiser account"): 400 otherwise.
//! - the sandbox is stricter than PHP's loose typing about what it can check, so a
//!   client's mistakes show: money fields must be plain decimals (`296.00`, no sign,
//!   no exponent), countries ISO-2 codes (CSV or array), `device_types` 0, 1 or 2, and
//!   the documented enumerations (`advertiser_cost_type`, `commission_type`,
//!   `conversion_type`, goal `commission_type`/`revenue_type`) one of their values.
//!   `commission_type` also takes a number: seed 003's example sends `201`.
//! - other fields are kept as sent without checks (Offerit has many more).
//!
//! Choices where the docs are silent:
//! - add_offer stores every field it was sent on the offer, and creates the offer's
//!   default landing page holding a copy of the fields of seed 003's "Landing Page
//!   Parameters" table (`url`, `preview_url`, ...). edit_offer sets fields on the offer
//!   only; edit_landing_page on the page only.
//! - set_offer_goals replaces the offer's goals with the list sent: `set_offer_groups`
//!   and `set_offer_categories` take an `append` flag, so a plain "set" replaces. A goal
//!   already on the offer keeps its `offer_goal_id`.
//! - pause_offer keeps its optional fields (`date_expire`, `expire_url`,
//!   `expiration_landing_page_id`) as the offer's expiry; activate_offer clears them.
//!   Pausing a paused offer, or activating an active one, succeeds.
//! - edit_landing_page may repeat the page's `offerid` but not move it to another
//!   offer (400): nothing documents moving a page.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::fixtures::OfferitFixture;
use super::super::form::{FormMap, FormNode};
use super::records::Records;

/// seed 003, "Landing Page Parameters": what add_offer gives the default landing page.
const LANDING_PAGE_FIELDS: &[&str] = &[
    "url",
    "preview_url",
    "tracking_domain",
    "thumb_url",
    "force_url",
    "language",
    "conversion_type",
    "postback_ips",
    "hostnpost_ips",
    "void_ips",
    "private",
    "requestable",
    "internal_desc",
    "redirect_hash",
    "disable_url_sanitization",
    "disable_deep_linking",
];

/// Offer fields that hold money or a percentage (seed 003).
const OFFER_MONEY_FIELDS: &[&str] = &[
    "advertiser_cost_flat",
    "conversion_default",
    "continuity_default",
    "flat_amount_per_click",
    "flat_amount_per_visitor",
    "flat_amount_per_conversion",
    "flat_amount_per_continuity",
    "percentage_of_customer_conversion",
    "percentage_of_customer_continuity",
];

/// Money fields of one `goal_vars` entry (facts file, set_offer_goals).
const GOAL_MONEY_FIELDS: &[&str] = &[
    "amount",
    "revenue_amount",
    "aff_manager_payout",
    "aff_referral_payout",
    "offer_partner_payout",
];

/// Whether an offer takes traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OfferStatus {
    Active,
    Paused,
}

#[derive(Debug)]
pub(crate) struct OfferitOffer {
    /// Every field add_offer and edit_offer set, as sent (without `offerid`).
    pub fields: FormMap,
    pub status: OfferStatus,
    /// The fields of the pause_offer that paused it (without `offerid`).
    pub expiry: FormMap,
    pub default_landing_page_id: u64,
    pub goals: Vec<OfferGoal>,
}

/// One goal of an offer, as the last set_offer_goals sent it.
#[derive(Debug)]
pub(crate) struct OfferGoal {
    pub offer_goal_id: u64,
    pub goal_id: u64,
    /// The `goal_vars` entry's fields, as sent.
    pub fields: FormMap,
}

#[derive(Debug)]
pub(crate) struct LandingPage {
    pub offer_id: u64,
    /// Its fields as sent (without `offerid`/`landing_pageid`).
    pub fields: FormMap,
}

#[derive(Debug)]
pub(crate) struct Offerit {
    /// Advertiser usernames by `loginid`.
    pub advertisers: BTreeMap<u64, String>,
    /// Goal names by `goal_id`.
    pub goals: BTreeMap<u64, String>,
    pub offers: Records<OfferitOffer>,
    pub landing_pages: Records<LandingPage>,
    next_offer_goal_id: u64,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// A field's text; `None` when absent. An array where text belongs is a 400.
fn text<'a>(form: &'a FormMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match form.get(name) {
        None => Ok(None),
        Some(FormNode::Text(text)) => Ok(Some(text)),
        Some(FormNode::Map(_)) => Err(bad(format!("{name} must be a single value"))),
    }
}

/// A field's text when present and not blank.
fn filled<'a>(form: &'a FormMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    Ok(text(form, name)?.filter(|text| !text.trim().is_empty()))
}

fn required<'a>(form: &'a FormMap, name: &str) -> Result<&'a str, ApiError> {
    filled(form, name)?.ok_or_else(|| bad(format!("{name} is required")))
}

/// A required id field naming a `what`: a value that is not a positive number names
/// nothing (404), like an unknown one.
fn required_id(form: &FormMap, name: &str, what: &str) -> Result<u64, ApiError> {
    let raw = required(form, name)?.trim();
    parse_id(raw).ok_or_else(|| ApiError::no_such(what, crate::text::shown(raw)))
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse::<u64>().ok().filter(|id| *id > 0)
}

/// `12`, `12.5`, `296.00`: digits, optionally a point and more digits.
fn is_plain_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(text),
    }
}

fn check_money(form: &FormMap, fields: &[&str], label: &str) -> Result<(), ApiError> {
    for name in fields {
        if let Some(value) = filled(form, name)?
            && !is_plain_decimal(value.trim())
        {
            return Err(bad(format!(
                "{label}{name} must be a decimal number such as 12.50, got `{}`",
                crate::text::shown(value)
            )));
        }
    }
    Ok(())
}

fn check_choice(form: &FormMap, name: &str, label: &str, choices: &[&str]) -> Result<(), ApiError> {
    match filled(form, name)? {
        Some(value) if !choices.contains(&value.trim()) => Err(bad(format!(
            "{label}{name} must be one of {}, got `{}`",
            choices.join(", "),
            crate::text::shown(value)
        ))),
        _ => Ok(()),
    }
}

/// The items of a field that takes a CSV or an array (`authorized=US,CA` or
/// `authorized[]=US&authorized[]=CA`), trimmed, blanks left out.
fn items(form: &FormMap, name: &str) -> Result<Vec<String>, ApiError> {
    match form.get(name) {
        None => Ok(Vec::new()),
        Some(FormNode::Text(text)) => Ok(text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(FormNode::Map(map)) => map
            .iter()
            .map(|(_, node)| {
                node.as_text()
                    .map(|text| text.trim().to_owned())
                    .ok_or_else(|| bad(format!("{name} must be a list of values")))
            })
            .filter(|item| item.as_ref().map_or(true, |text| !text.is_empty()))
            .collect(),
    }
}

impl Offerit {
    pub fn new(fx: &OfferitFixture, problems: &mut Vec<String>) -> Offerit {
        let mut advertisers = BTreeMap::new();
        for a in &fx.advertisers {
            if a.loginid == 0 || a.username.trim().is_empty() {
                problems
                    .push("offerit: an advertiser needs a positive loginid and a username".into());
            } else if advertisers.insert(a.loginid, a.username.clone()).is_some() {
                problems.push(format!(
                    "offerit: advertiser {} is defined twice",
                    a.loginid
                ));
            }
        }
        let mut goals = BTreeMap::new();
        for g in &fx.goals {
            if g.goal_id == 0 || g.name.trim().is_empty() {
                problems.push("offerit: a goal needs a positive goal_id and a name".into());
            } else if goals.insert(g.goal_id, g.name.clone()).is_some() {
                problems.push(format!("offerit: goal {} is defined twice", g.goal_id));
            }
        }
        if fx.api_username.trim().is_empty() {
            problems.push("offerit: api_username must not be empty".into());
        }
        if fx.tracking_domain.trim().is_empty() {
            problems.push("offerit: tracking_domain must not be empty".into());
        }
        Offerit {
            advertisers,
            goals,
            offers: Records::new(fx.first_offer_id),
            landing_pages: Records::new(fx.first_landing_page_id),
            next_offer_goal_id: 1,
        }
    }

    fn offer_id(&self, form: &FormMap) -> Result<u64, ApiError> {
        let id = required_id(form, "offerid", "offer")?;
        if self.offers.get(id).is_none() {
            return Err(ApiError::no_such("offer", id));
        }
        Ok(id)
    }

    fn offer_mut(&mut self, id: u64) -> &mut OfferitOffer {
        self.offers
            .items
            .get_mut(&id)
            .expect("the offer id was checked")
    }

    /// Checks the offer fields the sandbox knows (see the module docs).
    fn check_offer_fields(&self, form: &FormMap) -> Result<(), ApiError> {
        for name in ["name", "url"] {
            if text(form, name)?.is_some_and(|value| value.trim().is_empty()) {
                return Err(bad(format!("{name} must not be blank")));
            }
        }
        if let Some(raw) = filled(form, "advertiserid")? {
            match parse_id(raw) {
                Some(id) if self.advertisers.contains_key(&id) => {}
                _ => {
                    return Err(bad(format!(
                        "advertiserid `{}` is not an advertiser",
                        crate::text::shown(raw)
                    )));
                }
            }
        }
        check_money(form, OFFER_MONEY_FIELDS, "")?;
        check_choice(
            form,
            "advertiser_cost_type",
            "",
            &[
                "conversion",
                "dynamic_conversion",
                "sale",
                "click",
                "unique",
            ],
        )?;
        if let Some(value) = filled(form, "commission_type")?
            && !value.trim().bytes().all(|b| b.is_ascii_digit())
        {
            check_choice(
                form,
                "commission_type",
                "",
                &["cpa", "cps", "click", "hybrid"],
            )?;
        }
        for name in ["authorized", "unauthorized"] {
            for code in items(form, name)? {
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(bad(format!(
                        "{name} must hold 2-letter country codes, got `{}`",
                        crate::text::shown(&code)
                    )));
                }
            }
        }
        for device in items(form, "device_types")? {
            if !["0", "1", "2"].contains(&device.as_str()) {
                return Err(bad(format!(
                    "device_types must hold 0 (desktop), 1 (mobile) or 2 (tablet), got `{}`",
                    crate::text::shown(&device)
                )));
            }
        }
        check_landing_page_fields(form)
    }

    /// `POST /api/offer/add_offer`: the new offer's id and its default landing page's.
    pub fn add_offer(&mut self, mut form: FormMap) -> Result<(u64, u64), ApiError> {
        required(&form, "name")?;
        required(&form, "url")?;
        self.check_offer_fields(&form)?;
        form.remove("offerid");
        let mut page_fields = FormMap::default();
        for name in LANDING_PAGE_FIELDS {
            if let Some(value) = form.get(name) {
                page_fields.insert((*name).to_owned(), value.clone());
            }
        }
        let offer_id = self.offers.allocate();
        let page_id = self.landing_pages.allocate();
        self.landing_pages.items.insert(
            page_id,
            LandingPage {
                offer_id,
                fields: page_fields,
            },
        );
        self.offers.items.insert(
            offer_id,
            OfferitOffer {
                fields: form,
                status: OfferStatus::Active,
                expiry: FormMap::default(),
                default_landing_page_id: page_id,
                goals: Vec::new(),
            },
        );
        Ok((offer_id, page_id))
    }

    /// `PATCH /api/offer/edit_offer`: the offer's id.
    pub fn edit_offer(&mut self, mut form: FormMap) -> Result<u64, ApiError> {
        let id = self.offer_id(&form)?;
        self.check_offer_fields(&form)?;
        form.remove("offerid");
        self.offer_mut(id).fields.merge(form);
        Ok(id)
    }

    /// `POST /api/offer/add_landing_page`: the new page's id.
    pub fn add_landing_page(&mut self, mut form: FormMap) -> Result<u64, ApiError> {
        required(&form, "name")?;
        required(&form, "offerid")?;
        required(&form, "url")?;
        let offer_id = self.offer_id(&form)?;
        check_landing_page_fields(&form)?;
        form.remove("offerid");
        form.remove("landing_pageid");
        let id = self.landing_pages.allocate();
        self.landing_pages.items.insert(
            id,
            LandingPage {
                offer_id,
                fields: form,
            },
        );
        Ok(id)
    }

    /// `PATCH /api/offer/edit_landing_page`: the page's id.
    pub fn edit_landing_page(&mut self, mut form: FormMap) -> Result<u64, ApiError> {
        let id = required_id(&form, "landing_pageid", "landing page")?;
        let Some(page) = self.landing_pages.get(id) else {
            return Err(ApiError::no_such("landing page", id));
        };
        if let Some(raw) = filled(&form, "offerid")?
            && parse_id(raw) != Some(page.offer_id)
        {
            return Err(bad(format!(
                "landing page {id} belongs to offer {}, not `{}`",
                page.offer_id,
                crate::text::shown(raw)
            )));
        }
        if text(&form, "name")?.is_some_and(|value| value.trim().is_empty()) {
            return Err(bad("name must not be blank"));
        }
        check_landing_page_fields(&form)?;
        form.remove("offerid");
        form.remove("landing_pageid");
        if let Some(page) = self.landing_pages.items.get_mut(&id) {
            page.fields.merge(form);
        }
        Ok(id)
    }

    /// `PATCH /api/offer/pause_offer`.
    pub fn pause_offer(&mut self, mut form: FormMap) -> Result<u64, ApiError> {
        let id = self.offer_id(&form)?;
        if let Some(raw) = filled(&form, "expiration_landing_page_id")? {
            let page = parse_id(raw).filter(|page| self.landing_pages.get(*page).is_some());
            if page.is_none() {
                return Err(ApiError::no_such("landing page", crate::text::shown(raw)));
            }
        }
        form.remove("offerid");
        let offer = self.offer_mut(id);
        offer.status = OfferStatus::Paused;
        offer.expiry = form;
        Ok(id)
    }

    /// `PATCH /api/offer/activate_offer`.
    pub fn activate_offer(&mut self, form: &FormMap) -> Result<u64, ApiError> {
        let id = self.offer_id(form)?;
        let offer = self.offer_mut(id);
        offer.status = OfferStatus::Active;
        offer.expiry = FormMap::default();
        Ok(id)
    }

    /// `PATCH /api/offer/set_offer_goals`: replaces the offer's goals.
    pub fn set_offer_goals(&mut self, mut form: FormMap) -> Result<u64, ApiError> {
        let id = self.offer_id(&form)?;
        let vars = match form.remove("goal_vars") {
            None => return Err(bad("goal_vars is required")),
            Some(FormNode::Text(text)) if text.trim().is_empty() => {
                return Err(bad("goal_vars is required"));
            }
            Some(FormNode::Text(_)) => {
                return Err(bad(
                    "goal_vars must be a list of goals (goal_vars[0][goal_id]=...)",
                ));
            }
            Some(FormNode::Map(vars)) => vars,
        };
        let current = &self.offers.get(id).expect("the offer id was checked").goals;
        let mut goals: Vec<OfferGoal> = Vec::new();
        let mut new_goals = 0;
        for (index, node) in vars {
            let label = format!("goal_vars[{index}]: ");
            let FormNode::Map(fields) = node else {
                return Err(bad(format!("{label}a goal must be a list of fields")));
            };
            let existing = if let Some(raw) = filled(&fields, "offer_goal_id")? {
                let found = parse_id(raw).and_then(|offer_goal_id| {
                    current
                        .iter()
                        .find(|goal| goal.offer_goal_id == offer_goal_id)
                });
                match found {
                    Some(goal) => Some((goal.offer_goal_id, goal.goal_id)),
                    None => {
                        return Err(ApiError::no_such("offer goal", crate::text::shown(raw)));
                    }
                }
            } else {
                None
            };
            let goal_id = match (filled(&fields, "goal_id")?, existing) {
                (Some(raw), _) => match parse_id(raw).filter(|id| self.goals.contains_key(id)) {
                    Some(goal_id) => goal_id,
                    None => return Err(ApiError::no_such("goal", crate::text::shown(raw))),
                },
                (None, Some((_, goal_id))) => goal_id,
                (None, None) => {
                    return Err(bad(format!("{label}goal_id or offer_goal_id is required")));
                }
            };
            if existing.is_some_and(|(_, known)| known != goal_id) {
                return Err(bad(format!(
                    "{label}offer_goal_id and goal_id name different goals"
                )));
            }
            check_choice(&fields, "commission_type", &label, &["flat", "percentage"])?;
            check_choice(
                &fields,
                "revenue_type",
                &label,
                &["dynamic_conversion", "conversion", "sale"],
            )?;
            check_money(&fields, GOAL_MONEY_FIELDS, &label)?;
            if goals.iter().any(|goal| goal.goal_id == goal_id) {
                return Err(bad(format!("{label}goal {goal_id} is set twice")));
            }
            let offer_goal_id = match current.iter().find(|goal| goal.goal_id == goal_id) {
                Some(goal) => goal.offer_goal_id,
                None => {
                    new_goals += 1;
                    self.next_offer_goal_id + new_goals - 1
                }
            };
            goals.push(OfferGoal {
                offer_goal_id,
                goal_id,
                fields,
            });
        }
        self.next_offer_goal_id += new_goals;
        self.offer_mut(id).goals = goals;
        Ok(id)
    }

    fn offer_json(&self, id: u64, offer: &OfferitOffer) -> Value {
        let landing_pageids: Vec<u64> = self
            .landing_pages
            .items
            .iter()
            .filter(|(_, page)| page.offer_id == id)
            .map(|(page_id, _)| *page_id)
            .collect();
        let goals: Vec<Value> = offer
            .goals
            .iter()
            .map(|goal| {
                json!({
                    "offer_goal_id": goal.offer_goal_id,
                    "goal_id": goal.goal_id,
                    "fields": goal.fields.to_json(),
                })
            })
            .collect();
        json!({
            "offerid": id,
            "status": match offer.status {
                OfferStatus::Active => "active",
                OfferStatus::Paused => "paused",
            },
            "fields": offer.fields.to_json(),
            "expiry": offer.expiry.to_json(),
            "default_landing_pageid": offer.default_landing_page_id,
            "landing_pageids": landing_pageids,
            "goals": goals,
        })
    }

    fn landing_page_json(id: u64, page: &LandingPage) -> Value {
        json!({
            "landing_pageid": id,
            "offerid": page.offer_id,
            "fields": page.fields.to_json(),
        })
    }

    /// One offer as the control API shows it, `None` when it does not exist.
    pub fn offer_view(&self, id: u64) -> Option<Value> {
        self.offers.get(id).map(|offer| self.offer_json(id, offer))
    }

    /// One landing page as the control API shows it.
    pub fn landing_page_view(&self, id: u64) -> Option<Value> {
        self.landing_pages
            .get(id)
            .map(|page| Offerit::landing_page_json(id, page))
    }

    /// The whole install as the control API shows it (see `routes/control.rs`).
    pub fn to_json(&self) -> Value {
        json!({
            "advertisers": self
                .advertisers
                .iter()
                .map(|(loginid, username)| json!({"loginid": loginid, "username": username}))
                .collect::<Vec<_>>(),
            "goals": self
                .goals
                .iter()
                .map(|(goal_id, name)| json!({"goal_id": goal_id, "name": name}))
                .collect::<Vec<_>>(),
            "offers": self
                .offers
                .items
                .iter()
                .map(|(id, offer)| self.offer_json(*id, offer))
                .collect::<Vec<_>>(),
            "landing_pages": self
                .landing_pages
                .items
                .iter()
                .map(|(id, page)| Offerit::landing_page_json(*id, page))
                .collect::<Vec<_>>(),
        })
    }
}

/// Checks the landing page fields the sandbox knows.
fn check_landing_page_fields(form: &FormMap) -> Result<(), ApiError> {
    check_choice(form, "conversion_type", "", &["iframe", "post", "image"])?;
    if let Some(raw) = filled(form, "language")?
        && parse_id(raw).is_none()
    {
        return Err(bad(format!(
            "language must be the id of a language, got `{}`",
            crate::text::shown(raw)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures::Fixtures;
    use super::super::super::form::decode;
    use super::*;

    fn install() -> Offerit {
        let fixtures = Fixtures::builtin();
        let mut problems = Vec::new();
        let offerit = Offerit::new(fixtures.offerit.as_ref().unwrap(), &mut problems);
        assert_eq!(problems, Vec::<String>::new());
        offerit
    }

    fn form(body: &str) -> FormMap {
        decode(body.as_bytes())
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, String) {
        let error = result.unwrap_err();
        (error.status.as_u16(), error.message)
    }

    #[test]
    fn add_offer_keeps_every_field_and_makes_the_default_page() {
        let mut o = install();
        let (offer, page) = o
            .add_offer(form(
                "name=A&url=https%3A%2F%2Fx.test%2F%3Fsub5%3D%25%25click_hash%25%25\
                 &authorized[]=US&authorized[]=CA&advertiserid=4003&flat_amount_per_conversion=12.50\
                 &thumb_url=https%3A%2F%2Fx.test%2Ft.png&custom=kept",
            ))
            .unwrap();
        assert_eq!((offer, page), (400, 432));
        let view = o.offer_view(400).unwrap();
        assert_eq!(
            view["fields"],
            json!({
                "name": "A",
                "url": "https://x.test/?sub5=%%click_hash%%",
                "authorized": ["US", "CA"],
                "advertiserid": "4003",
                "flat_amount_per_conversion": "12.50",
                "thumb_url": "https://x.test/t.png",
                "custom": "kept",
            })
        );
        assert_eq!(view["status"], "active");
        assert_eq!(view["landing_pageids"], json!([432]));
        assert_eq!(
            o.landing_page_view(432).unwrap()["fields"],
            json!({"url": "https://x.test/?sub5=%%click_hash%%", "thumb_url": "https://x.test/t.png"})
        );
        let (offer, page) = o.add_offer(form("name=B&url=u")).unwrap();
        assert_eq!((offer, page), (401, 433));
    }

    #[test]
    fn add_offer_names_what_is_missing_or_wrong() {
        let mut o = install();
        for (body, expected) in [
            ("url=u", (400, "name is required")),
            ("name=+&url=u", (400, "name is required")),
            ("name=A", (400, "url is required")),
            ("name[]=A&url=u", (400, "name must be a single value")),
            (
                "name=A&url=u&advertiserid=99",
                (400, "advertiserid `99` is not an advertiser"),
            ),
            (
                "name=A&url=u&advertiserid=x",
                (400, "advertiserid `x` is not an advertiser"),
            ),
            (
                "name=A&url=u&flat_amount_per_conversion=1e2",
                (
                    400,
                    "flat_amount_per_conversion must be a decimal number such as 12.50, got `1e2`",
                ),
            ),
            (
                "name=A&url=u&advertiser_cost_flat=-1",
                (
                    400,
                    "advertiser_cost_flat must be a decimal number such as 12.50, got `-1`",
                ),
            ),
            (
                "name=A&url=u&authorized=US,USA",
                (
                    400,
                    "authorized must hold 2-letter country codes, got `USA`",
                ),
            ),
            (
                "name=A&url=u&commission_type=cpc",
                (
                    400,
                    "commission_type must be one of cpa, cps, click, hybrid, got `cpc`",
                ),
            ),
            (
                "name=A&url=u&device_types[]=3",
                (
                    400,
                    "device_types must hold 0 (desktop), 1 (mobile) or 2 (tablet), got `3`",
                ),
            ),
            (
                "name=A&url=u&conversion_type=pixel",
                (
                    400,
                    "conversion_type must be one of iframe, post, image, got `pixel`",
                ),
            ),
        ] {
            let (status, text) = message(o.add_offer(form(body)));
            assert_eq!((status, text.as_str()), expected, "{body}");
        }
        assert!(o.offers.items.is_empty(), "nothing was created");
        // The seed's example is valid: a numeric commission type, CSV countries.
        o.add_offer(form(
            "name=API+TEST+OFFER&url=http%3A%2F%2Fexample.com%2F%3Fid%3D%25%25click_hash%25%25\
             &authorized=DE,ES&advertiserid=4003&advertiser_cost_type=conversion\
             &advertiser_cost_flat=20&commission_type=201&flat_amount_per_conversion=15",
        ))
        .unwrap();
    }

    #[test]
    fn edits_merge_and_unknown_ids_are_404() {
        let mut o = install();
        o.add_offer(form("name=A&url=u&hidden=0")).unwrap();
        assert_eq!(
            o.edit_offer(form("offerid=400&name=B&flat_amount_per_conversion=3")),
            Ok(400)
        );
        assert_eq!(
            o.offer_view(400).unwrap()["fields"],
            json!({"name": "B", "url": "u", "hidden": "0", "flat_amount_per_conversion": "3"})
        );
        assert_eq!(
            message(o.edit_offer(form("name=B"))),
            (400, "offerid is required".into())
        );
        assert_eq!(
            message(o.edit_offer(form("offerid=999"))),
            (404, "offer 999 not found".into())
        );
        assert_eq!(
            message(o.edit_offer(form("offerid=abc"))),
            (404, "offer abc not found".into())
        );
        assert_eq!(
            message(o.edit_offer(form("offerid=400&name="))),
            (400, "name must not be blank".into())
        );

        assert_eq!(
            message(o.add_landing_page(form("offerid=400&url=v"))),
            (400, "name is required".into())
        );
        assert_eq!(
            message(o.add_landing_page(form("name=P&url=v"))),
            (400, "offerid is required".into())
        );
        assert_eq!(
            message(o.add_landing_page(form("name=P&offerid=400"))),
            (400, "url is required".into())
        );
        assert_eq!(
            message(o.add_landing_page(form("name=P&offerid=401&url=v"))),
            (404, "offer 401 not found".into())
        );
        assert_eq!(
            o.add_landing_page(form("name=P&offerid=400&url=v")),
            Ok(433)
        );
        assert_eq!(
            o.edit_landing_page(form("landing_pageid=433&url=w&offerid=400")),
            Ok(433)
        );
        assert_eq!(
            o.landing_page_view(433).unwrap(),
            json!({"landing_pageid": 433, "offerid": 400, "fields": {"name": "P", "url": "w"}})
        );
        assert_eq!(
            message(o.edit_landing_page(form("url=w"))),
            (400, "landing_pageid is required".into())
        );
        assert_eq!(
            message(o.edit_landing_page(form("landing_pageid=9"))),
            (404, "landing page 9 not found".into())
        );
        o.add_offer(form("name=C&url=u")).unwrap();
        assert_eq!(
            message(o.edit_landing_page(form("landing_pageid=433&offerid=401"))),
            (
                400,
                "landing page 433 belongs to offer 400, not `401`".into()
            )
        );
        assert_eq!(
            o.offer_view(400).unwrap()["landing_pageids"],
            json!([432, 433])
        );
    }

    #[test]
    fn pause_and_activate() {
        let mut o = install();
        o.add_offer(form("name=A&url=u")).unwrap();
        assert_eq!(
            message(o.pause_offer(form(""))),
            (400, "offerid is required".into())
        );
        assert_eq!(
            message(o.pause_offer(form("offerid=7"))),
            (404, "offer 7 not found".into())
        );
        assert_eq!(
            message(o.pause_offer(form("offerid=400&expiration_landing_page_id=9"))),
            (404, "landing page 9 not found".into())
        );
        assert_eq!(
            o.pause_offer(form("offerid=400&expire_url=https%3A%2F%2Fx.test")),
            Ok(400)
        );
        let view = o.offer_view(400).unwrap();
        assert_eq!(view["status"], "paused");
        assert_eq!(view["expiry"], json!({"expire_url": "https://x.test"}));
        assert_eq!(o.pause_offer(form("offerid=400")), Ok(400));
        assert_eq!(o.activate_offer(&form("offerid=400")), Ok(400));
        let view = o.offer_view(400).unwrap();
        assert_eq!(
            (view["status"].clone(), view["expiry"].clone()),
            (json!("active"), json!({}))
        );
    }

    #[test]
    fn goals_are_replaced_and_keep_their_offer_goal_ids() {
        let mut o = install();
        o.add_offer(form("name=A&url=u")).unwrap();
        assert_eq!(
            message(o.set_offer_goals(form("offerid=400"))),
            (400, "goal_vars is required".into())
        );
        assert_eq!(
            message(o.set_offer_goals(form("offerid=400&goal_vars=1"))),
            (
                400,
                "goal_vars must be a list of goals (goal_vars[0][goal_id]=...)".into()
            )
        );
        assert_eq!(
            message(o.set_offer_goals(form("offerid=400&goal_vars[0][goal_id]=9"))),
            (404, "goal 9 not found".into())
        );
        assert_eq!(
            message(o.set_offer_goals(form("offerid=400&goal_vars[0][amount]=1"))),
            (
                400,
                "goal_vars[0]: goal_id or offer_goal_id is required".into()
            )
        );
        assert_eq!(
            message(o.set_offer_goals(form(
                "offerid=400&goal_vars[0][goal_id]=1&goal_vars[0][commission_type]=cpa"
            ))),
            (
                400,
                "goal_vars[0]: commission_type must be one of flat, percentage, got `cpa`".into()
            )
        );
        assert_eq!(
            message(o.set_offer_goals(form(
                "offerid=400&goal_vars[0][goal_id]=1&goal_vars[1][goal_id]=1"
            ))),
            (400, "goal_vars[1]: goal 1 is set twice".into())
        );
        o.set_offer_goals(form(
            "offerid=400&goal_vars[0][goal_id]=1&goal_vars[0][commission_type]=flat&goal_vars[0][amount]=9.60\
             &goal_vars[1][goal_id]=2&goal_vars[1][amount]=1",
        ))
        .unwrap();
        let goals = o.offer_view(400).unwrap()["goals"].clone();
        assert_eq!(
            goals,
            json!([
                {"offer_goal_id": 1, "goal_id": 1, "fields": {"goal_id": "1", "commission_type": "flat", "amount": "9.60"}},
                {"offer_goal_id": 2, "goal_id": 2, "fields": {"goal_id": "2", "amount": "1"}},
            ])
        );
        // Goal 1 by its offer_goal_id, goal 3 new, goal 2 dropped.
        o.set_offer_goals(form(
            "offerid=400&goal_vars[0][offer_goal_id]=1&goal_vars[0][amount]=10\
             &goal_vars[1][goal_id]=3&goal_vars[1][amount]=2",
        ))
        .unwrap();
        let goals = o.offer_view(400).unwrap()["goals"].clone();
        let ids: Vec<(u64, u64)> = goals
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["offer_goal_id"].as_u64().unwrap(),
                    g["goal_id"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(ids, [(1, 1), (3, 3)]);
        assert_eq!(
            message(o.set_offer_goals(form("offerid=400&goal_vars[0][offer_goal_id]=2"))),
            (404, "offer goal 2 not found".into())
        );
    }
}
