//! Each managed resource as a flat list of fields, for both sides of a comparison: what
//! render wants and what the destination holds. Where the destination cannot show a
//! value back as offersync wrote it (an uploaded file becomes an asset URL; a rule names
//! destination ids), the live side is translated through what state recorded, so equal
//! means "as applied" and anything else is a real difference.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::fields::{FieldValue, Fields, event_path, goal_path};
use crate::everflow::affiliate::PixelView;
use crate::everflow::network::{CreativeView, LiveOfferView, RuleView, UrlView};
use crate::render::offerit::{GoalSpec, OfferitOfferSpec};
use crate::render::{
    CreativeContent, CreativeSpec, OfferSpec, PixelSpec, RuleSpec, TargetingSpec, ThumbnailSpec,
    UrlSpec, split_token,
};
use crate::secret::{Secret, SecretHasher};

const ACTIVE: &str = "active";

/// The managed fields of a rendered offer, in display order.
pub fn offer_fields(spec: &OfferSpec) -> Fields {
    let offer = OfferValues {
        name: &spec.name,
        html_description: &spec.html_description,
        preview_url: &spec.preview_url,
        destination_url: &spec.destination_url,
        visibility: spec.visibility.as_str(),
        offer_status: spec.offer_status.as_str(),
        network_advertiser_id: spec.network_advertiser_id,
        currency_id: &spec.currency_id,
    };
    let events = spec.events.iter().map(|event| EventValues {
        entry_name: &event.entry_name,
        is_default: event.is_default,
        payout_type: event.payout_type.as_str(),
        payout_amount: event.payout_amount,
        payout_percentage: event.payout_percentage,
        revenue_type: event.revenue_type.as_str(),
        revenue_amount: event.revenue_amount,
        revenue_percentage: event.revenue_percentage,
    });
    flatten(offer, events)
}

/// The managed fields of a live destination offer. Events are read from
/// `relationship.payout_revenue`; the caller makes sure it was requested.
pub fn live_offer_fields(view: &LiveOfferView) -> Fields {
    let offer = OfferValues {
        name: &view.name,
        html_description: &view.html_description,
        preview_url: &view.preview_url,
        destination_url: &view.destination_url,
        visibility: &view.visibility,
        offer_status: &view.offer_status,
        network_advertiser_id: view.network_advertiser_id,
        currency_id: &view.currency_id,
    };
    let entries = view
        .relationship
        .payout_revenue
        .as_ref()
        .map(|entries| entries.0.as_slice())
        .unwrap_or_default();
    let events = entries.iter().map(|entry| EventValues {
        entry_name: &entry.entry_name,
        is_default: entry.is_default,
        payout_type: &entry.payout_type,
        payout_amount: entry.payout_amount,
        payout_percentage: entry.payout_percentage,
        revenue_type: &entry.revenue_type,
        revenue_amount: entry.revenue_amount,
        revenue_percentage: entry.revenue_percentage,
    });
    flatten(offer, events)
}

/// Offer-level managed values, borrowed from either side of a comparison.
#[derive(Clone, Copy)]
struct OfferValues<'a> {
    name: &'a str,
    html_description: &'a str,
    preview_url: &'a str,
    destination_url: &'a str,
    visibility: &'a str,
    offer_status: &'a str,
    network_advertiser_id: u64,
    currency_id: &'a str,
}

/// One event's managed values, borrowed from either side.
#[derive(Clone, Copy)]
struct EventValues<'a> {
    entry_name: &'a str,
    is_default: bool,
    payout_type: &'a str,
    payout_amount: Decimal,
    payout_percentage: Decimal,
    revenue_type: &'a str,
    revenue_amount: Decimal,
    revenue_percentage: Decimal,
}

fn flatten<'a>(offer: OfferValues<'a>, events: impl Iterator<Item = EventValues<'a>>) -> Fields {
    let text = |value: &str| FieldValue::Text(value.to_owned());
    let symbol = |value: &str| FieldValue::Symbol(value.to_owned());
    let mut fields: Fields = vec![
        ("name".into(), text(offer.name)),
        ("html_description".into(), text(offer.html_description)),
        ("preview_url".into(), text(offer.preview_url)),
        ("destination_url".into(), text(offer.destination_url)),
        ("visibility".into(), symbol(offer.visibility)),
        ("offer_status".into(), symbol(offer.offer_status)),
        (
            "network_advertiser_id".into(),
            FieldValue::Id(offer.network_advertiser_id),
        ),
        ("currency_id".into(), symbol(offer.currency_id)),
    ];
    for event in events {
        let path = |field| event_path(event.entry_name, field);
        fields.extend([
            (path("is_default"), FieldValue::Bool(event.is_default)),
            (path("payout_type"), symbol(event.payout_type)),
            (
                path("payout_amount"),
                FieldValue::Money(event.payout_amount),
            ),
            (
                path("payout_percentage"),
                FieldValue::Percent(event.payout_percentage),
            ),
            (path("revenue_type"), symbol(event.revenue_type)),
            (
                path("revenue_amount"),
                FieldValue::Money(event.revenue_amount),
            ),
            (
                path("revenue_percentage"),
                FieldValue::Percent(event.revenue_percentage),
            ),
        ]);
    }
    fields
}

/// The managed fields of an Offerit offer, named as `add_offer` names them, plus
/// `offer_status` (which `pause_offer` and `activate_offer` set). Empty values are left
/// out: Offerit is not sent what the source does not have.
pub fn offerit_offer_fields(spec: &OfferitOfferSpec) -> Fields {
    let commission = &spec.commission;
    let money = |amount: Decimal| {
        if commission.basis.is_percentage() {
            FieldValue::Percent(amount)
        } else {
            FieldValue::Money(amount)
        }
    };
    let text = |name: &str, value: &str| {
        (!value.is_empty()).then(|| (name.to_owned(), FieldValue::Text(value.to_owned())))
    };
    let codes = |name: &str, codes: &[String]| {
        (!codes.is_empty()).then(|| (name.to_owned(), FieldValue::Symbol(codes.join(","))))
    };
    let symbol =
        |name: &str, value: &str| Some((name.to_owned(), FieldValue::Symbol(value.to_owned())));
    [
        text("name", &spec.name),
        text("offer_description", &spec.offer_description),
        codes("authorized", &spec.authorized),
        codes("unauthorized", &spec.unauthorized),
        Some((
            "advertiserid".to_owned(),
            FieldValue::Id(spec.advertiser_id),
        )),
        symbol(
            "advertiser_cost_type",
            commission.basis.advertiser_cost_type(),
        ),
        Some(("advertiser_cost_flat".to_owned(), money(commission.revenue))),
        symbol("commission_type", commission.basis.commission_type()),
        Some((
            commission.basis.commission_field().to_owned(),
            money(commission.payout),
        )),
        text("url", &spec.url),
        text("preview_url", &spec.preview_url),
        text("thumb_url", &spec.thumb_url),
        symbol("offer_status", spec.offer_status.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// An Offerit landing page, named as `add_landing_page` names its fields.
pub fn landing_page_fields(spec: &UrlSpec) -> Fields {
    let mut fields = vec![
        ("name".into(), FieldValue::Text(spec.name.clone())),
        ("url".into(), FieldValue::Text(spec.destination_url.clone())),
    ];
    if !spec.preview_url.is_empty() {
        fields.push((
            "preview_url".into(),
            FieldValue::Text(spec.preview_url.clone()),
        ));
    }
    fields
}

/// An Offerit offer's goals: `goals["Upsell"].amount` and the like, as `set_offer_goals`
/// takes each `goal_vars` entry.
pub fn goal_fields(goals: &[GoalSpec]) -> Fields {
    let mut fields = Vec::new();
    for goal in goals {
        let path = |field| goal_path(&goal.entry_name, field);
        let money = |amount| {
            if goal.percentage {
                FieldValue::Percent(amount)
            } else {
                FieldValue::Money(amount)
            }
        };
        fields.extend([
            (path("goal_id"), FieldValue::Id(goal.goal_id)),
            (
                path("commission_type"),
                FieldValue::Symbol(goal.commission_type().to_owned()),
            ),
            (path("amount"), money(goal.amount)),
            (
                path("revenue_type"),
                FieldValue::Symbol(goal.revenue_type().to_owned()),
            ),
            (path("revenue_amount"), money(goal.revenue_amount)),
        ]);
    }
    fields
}

/// The thumbnail, named by where its image comes from.
pub fn thumbnail_fields(spec: &ThumbnailSpec) -> Fields {
    vec![("source".into(), FieldValue::Text(thumbnail_source(spec)))]
}

/// Where a thumbnail's image is taken from, as one comparable text.
pub fn thumbnail_source(spec: &ThumbnailSpec) -> String {
    if spec.thumbnail_url.is_empty() {
        format!("found on: {}", spec.pages.join(", "))
    } else {
        spec.thumbnail_url.clone()
    }
}

/// The live thumbnail: the recorded source while the offer still shows the image
/// offersync uploaded, else what it shows instead.
pub fn live_thumbnail_fields(live_url: &str, applied: Option<(&str, &str)>) -> Fields {
    let value = match applied {
        Some((asset_url, source)) if asset_url == live_url => source.to_owned(),
        _ if live_url.is_empty() => "none".to_owned(),
        _ => format!("another image: {live_url}"),
    };
    vec![("source".into(), FieldValue::Text(value))]
}

pub fn url_fields(spec: &UrlSpec) -> Fields {
    vec![
        ("name".into(), FieldValue::Text(spec.name.clone())),
        (
            "destination_url".into(),
            FieldValue::Text(spec.destination_url.clone()),
        ),
        (
            "preview_url".into(),
            FieldValue::Text(spec.preview_url.clone()),
        ),
        ("url_status".into(), FieldValue::Symbol(ACTIVE.into())),
    ]
}

pub fn live_url_fields(view: &UrlView) -> Fields {
    vec![
        ("name".into(), FieldValue::Text(view.name.clone())),
        (
            "destination_url".into(),
            FieldValue::Text(view.destination_url.clone()),
        ),
        (
            "preview_url".into(),
            FieldValue::Text(view.preview_url.clone()),
        ),
        (
            "url_status".into(),
            FieldValue::Symbol(view.url_status.clone()),
        ),
    ]
}

/// How a live rule's destination ids read in source terms.
#[derive(Clone, Debug, Default)]
pub struct RuleNames {
    /// Destination event id -> entry name (0 is the default event).
    pub events: BTreeMap<u64, String>,
    /// Destination URL id -> source URL id.
    pub urls: BTreeMap<u64, u64>,
}

pub fn rule_fields(spec: &RuleSpec) -> Fields {
    rule_values(
        &spec.name,
        FieldValue::Symbol(spec.event.clone()),
        url_list(spec.source_url_ids.iter().map(u64::to_string)),
        ACTIVE,
        Money {
            payout_type: spec.payout_type.as_str(),
            payout_amount: spec.payout_amount,
            payout_percentage: spec.payout_percentage,
            revenue_type: spec.revenue_type.as_str(),
            revenue_amount: spec.revenue_amount,
            revenue_percentage: spec.revenue_percentage,
        },
        (true, true, true),
    )
}

pub fn live_rule_fields(view: &RuleView, names: &RuleNames) -> Fields {
    let event = match names.events.get(&view.network_offer_payout_revenue_id) {
        Some(name) => name.clone(),
        None => format!("event {}", view.network_offer_payout_revenue_id),
    };
    let urls = if view.is_apply_specific_offer_urls {
        url_list(
            view.network_offer_url_ids
                .iter()
                .map(|id| match names.urls.get(id) {
                    Some(source) => source.to_string(),
                    None => format!("iScale URL {id}"),
                }),
        )
    } else {
        String::new()
    };
    rule_values(
        &view.name,
        FieldValue::Symbol(event),
        urls,
        &view.custom_setting_status,
        Money {
            payout_type: &view.payout_type,
            payout_amount: view.payout_amount,
            payout_percentage: view.payout_percentage,
            revenue_type: &view.revenue_type,
            revenue_amount: view.revenue_amount,
            revenue_percentage: view.revenue_percentage,
        },
        (
            view.is_apply_all_affiliates,
            view.is_custom_payout_enabled,
            view.is_custom_revenue_enabled,
        ),
    )
}

#[derive(Clone, Copy)]
struct Money<'a> {
    payout_type: &'a str,
    payout_amount: Decimal,
    payout_percentage: Decimal,
    revenue_type: &'a str,
    revenue_amount: Decimal,
    revenue_percentage: Decimal,
}

fn rule_values(
    name: &str,
    event: FieldValue,
    urls: String,
    status: &str,
    money: Money<'_>,
    (all_affiliates, custom_payout, custom_revenue): (bool, bool, bool),
) -> Fields {
    vec![
        ("name".into(), FieldValue::Text(name.to_owned())),
        ("event".into(), event),
        ("source_urls".into(), FieldValue::Text(urls)),
        (
            "custom_setting_status".into(),
            FieldValue::Symbol(status.to_owned()),
        ),
        (
            "is_apply_all_affiliates".into(),
            FieldValue::Bool(all_affiliates),
        ),
        (
            "is_custom_payout_enabled".into(),
            FieldValue::Bool(custom_payout),
        ),
        (
            "is_custom_revenue_enabled".into(),
            FieldValue::Bool(custom_revenue),
        ),
        (
            "payout_type".into(),
            FieldValue::Symbol(money.payout_type.to_owned()),
        ),
        (
            "payout_amount".into(),
            FieldValue::Money(money.payout_amount),
        ),
        (
            "payout_percentage".into(),
            FieldValue::Percent(money.payout_percentage),
        ),
        (
            "revenue_type".into(),
            FieldValue::Symbol(money.revenue_type.to_owned()),
        ),
        (
            "revenue_amount".into(),
            FieldValue::Money(money.revenue_amount),
        ),
        (
            "revenue_percentage".into(),
            FieldValue::Percent(money.revenue_percentage),
        ),
    ]
}

/// Source URL ids (or names of unknown ones), sorted, comma-separated.
fn url_list(ids: impl Iterator<Item = String>) -> String {
    let mut ids: Vec<String> = ids.collect();
    ids.sort_by(|a, b| {
        a.parse::<u64>()
            .ok()
            .cmp(&b.parse::<u64>().ok())
            .then_with(|| a.cmp(b))
    });
    ids.join(",")
}

pub fn creative_fields(spec: &CreativeSpec) -> Fields {
    let mut fields = vec![
        ("name".into(), FieldValue::Text(spec.name.clone())),
        (
            "creative_type".into(),
            FieldValue::Symbol(spec.creative_type.as_str().to_owned()),
        ),
        (
            "creative_status".into(),
            FieldValue::Symbol(spec.creative_status.clone()),
        ),
    ];
    fields.push(match &spec.content {
        CreativeContent::File { source_url } => {
            ("file".into(), FieldValue::Text(source_url.clone()))
        }
        CreativeContent::Code { html_code } => {
            ("html_code".into(), FieldValue::Text(html_code.clone()))
        }
    });
    fields
}

/// The live creative. Its file is compared through state: `applied_file` is the source
/// file offersync uploaded and the asset URL the destination gave it.
pub fn live_creative_fields(view: &CreativeView, applied_file: Option<(&str, &str)>) -> Fields {
    let mut fields = vec![
        ("name".into(), FieldValue::Text(view.name.clone())),
        (
            "creative_type".into(),
            FieldValue::Symbol(view.creative_type.clone()),
        ),
        (
            "creative_status".into(),
            FieldValue::Symbol(view.creative_status.clone()),
        ),
    ];
    if matches!(view.creative_type.as_str(), "image" | "thumbnail") {
        let file = match applied_file {
            Some((asset_url, source)) if asset_url == view.resource_url => source.to_owned(),
            _ if view.resource_url.is_empty() => "none".to_owned(),
            _ => format!("another file: {}", view.resource_url),
        };
        fields.push(("file".into(), FieldValue::Text(file)));
    } else {
        fields.push(("html_code".into(), FieldValue::Text(view.html_code.clone())));
    }
    fields
}

/// `countries["US"] = include`, `regions["MS"] = exclude`.
pub fn targeting_fields(spec: &TargetingSpec) -> Fields {
    let countries = spec.countries.iter().map(|entry| {
        (
            format!("countries[{:?}]", entry.code),
            FieldValue::Symbol(entry.targeting_type.as_str().to_owned()),
        )
    });
    let regions = spec.regions.iter().map(|entry| {
        (
            format!("regions[{:?}]", entry.code),
            FieldValue::Symbol(entry.targeting_type.as_str().to_owned()),
        )
    });
    countries.chain(regions).collect()
}

/// A pixel: its kind and event, how it is delivered, and its postback URL shown with the
/// token masked; the token itself is its own field, compared by keyed digest.
pub fn pixel_fields(spec: &PixelSpec, hasher: &SecretHasher) -> Fields {
    pixel_values(
        spec.pixel_type,
        spec.source_event_id,
        "postback",
        "specific",
        ACTIVE,
        spec.shown_url(),
        // A pixel posting to Offerit carries no token: the field is not there.
        spec.token()
            .map(|token| FieldValue::Secret(hasher.digest(token.expose()))),
    )
}

/// A live pixel. One whose URL has no token has no `verification_token` field.
pub fn live_pixel_fields(view: &PixelView, hasher: &SecretHasher) -> Fields {
    let (shown, token) = split_token(&view.postback_url);
    let token = token.map(|token| FieldValue::Secret(hasher.digest(&token)));
    pixel_values(
        &view.pixel_type,
        view.network_offer_payout_revenue_id,
        &view.delivery_method,
        &view.pixel_level,
        &view.pixel_status,
        shown,
        token,
    )
}

fn pixel_values(
    pixel_type: &str,
    event: u64,
    delivery_method: &str,
    pixel_level: &str,
    status: &str,
    url: String,
    token: Option<FieldValue>,
) -> Fields {
    let mut fields = vec![
        (
            "pixel_type".into(),
            FieldValue::Symbol(pixel_type.to_owned()),
        ),
        (
            "network_offer_payout_revenue_id".into(),
            FieldValue::Id(event),
        ),
        (
            "delivery_method".into(),
            FieldValue::Symbol(delivery_method.to_owned()),
        ),
        (
            "pixel_level".into(),
            FieldValue::Symbol(pixel_level.to_owned()),
        ),
        ("pixel_status".into(), FieldValue::Symbol(status.to_owned())),
        ("postback_url".into(), FieldValue::Text(url)),
    ];
    fields.extend(token.map(|token| ("verification_token".into(), token)));
    fields
}

/// An advertiser's verification token, compared by keyed digest, shown masked.
pub fn token_fields(token: &str, hasher: &SecretHasher) -> Fields {
    vec![(
        "verification_token".into(),
        FieldValue::Secret(hasher.digest(token)),
    )]
}

/// The same, for the token configured in the settings.
pub fn configured_token_fields(token: &Secret, hasher: &SecretHasher) -> Fields {
    token_fields(token.expose(), hasher)
}
