//! The iScale destination: an Everflow network written through the Network API.
//!
//! Owns how a rendered [`OfferSpec`] becomes request bodies, and how live offers are read
//! back in as few calls as the API allows. PUT is a full replacement in Everflow (LIVE
//! put-networksoffer: "omitted non-required fields revert to defaults"), so every PUT body
//! starts from the live offer and overlays only the fields offersync manages: an edit an
//! iScale user made to anything else survives.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::everflow::ApiError;
use crate::everflow::network::{
    LiveCreative, LiveOffer, LiveRule, LiveUrl, NetworkApi, TrackingDomain,
};
use crate::plan::{Address, ResourceKind};
use crate::render::{
    CreativeContent, CreativeSpec, EventSpec, GeoEntry, OfferSpec, RuleSpec, TargetingSpec, UrlSpec,
};

/// iScale is an Everflow network: it holds everything offersync carries.
pub const CAPABILITIES: super::Capabilities = super::Capabilities {
    name: "iScale",
    readable: true,
    creatives: true,
    payout_rules: true,
    regions: true,
    every_event: true,
    event_postbacks: true,
    visibility: true,
};

/// Fields a GET returns that are not part of a PUT body.
const OFFER_OUTPUT_ONLY: &[&str] = &[
    "relationship",
    "network_offer_id",
    "network_id",
    "time_created",
    "time_saved",
];

/// The same for payout/revenue entries; `network_offer_payout_revenue_id` stays, it tells
/// Everflow which existing event an entry updates (so event ids, which pixels point at,
/// survive the PUT).
const ENTRY_OUTPUT_ONLY: &[&str] = &[
    "relationship",
    "network_id",
    "network_offer_id",
    "time_created",
    "time_saved",
];

/// The label offersync puts on every offer it creates, naming the source offer: how an
/// offer whose creation was never recorded (a lost response, a killed run) is found and
/// adopted instead of created twice (Everflow has no idempotency keys).
pub fn marker(address: &Address) -> String {
    format!("offersync:{}/{}", address.network, address.source_offer_id)
}

/// Body of `POST /v1/networks/offers` for a new offer, labelled with `marker`.
///
/// `network_tracking_domain_id` is required in practice (TF saw real 400s without it);
/// conversions arrive as server postbacks from the source networks' pixels.
pub fn create_body(spec: &OfferSpec, tracking_domain_id: u64, marker: &str) -> Value {
    json!({
        "labels": [marker],
        "network_advertiser_id": spec.network_advertiser_id,
        "name": spec.name,
        "html_description": spec.html_description,
        "preview_url": spec.preview_url,
        "destination_url": spec.destination_url,
        "currency_id": spec.currency_id,
        "offer_status": spec.offer_status.as_str(),
        "visibility": spec.visibility.as_str(),
        "network_tracking_domain_id": tracking_domain_id,
        "conversion_method": "server_postback",
        "payout_revenue": spec.events.iter().map(|event| entry(Map::new(), event)).collect::<Vec<_>>(),
    })
}

/// Body of `PUT /v1/networks/offers/{id}`: the live offer with managed fields overlaid,
/// and the marker label added to its labels if it lacks it.
pub fn replace_body(live: &LiveOffer, spec: &OfferSpec, marker: &str) -> Value {
    let mut body = base_body(live);
    let mut labels = live.labels();
    if !labels.iter().any(|label| label == marker) {
        labels.push(marker.to_owned());
    }
    body.insert("labels".to_owned(), json!(labels));
    let managed = [
        ("network_advertiser_id", json!(spec.network_advertiser_id)),
        ("name", json!(spec.name)),
        ("html_description", json!(spec.html_description)),
        ("preview_url", json!(spec.preview_url)),
        ("destination_url", json!(spec.destination_url)),
        ("currency_id", json!(spec.currency_id)),
        ("offer_status", json!(spec.offer_status.as_str())),
        ("visibility", json!(spec.visibility.as_str())),
    ];
    for (key, value) in managed {
        body.insert(key.to_owned(), value);
    }
    let mut live_entries: BTreeMap<String, Map<String, Value>> = live
        .raw_payout_entries()
        .into_iter()
        .filter_map(|entry| {
            let name = entry.get("entry_name")?.as_str()?.to_owned();
            Some((name, entry))
        })
        .collect();
    let entries: Vec<Value> = spec
        .events
        .iter()
        .map(|event| {
            let base = live_entries.remove(&event.entry_name).unwrap_or_default();
            entry(base, event)
        })
        .collect();
    body.insert("payout_revenue".to_owned(), Value::Array(entries));
    Value::Object(body)
}

/// Body of a PUT that only pauses the offer; everything else stays as it is live.
pub fn pause_body(live: &LiveOffer) -> Value {
    let mut body = base_body(live);
    body.insert("offer_status".to_owned(), json!("paused"));
    body.insert(
        "payout_revenue".to_owned(),
        Value::Array(live_entries(live)),
    );
    Value::Object(body)
}

/// The live payout entries as a PUT takes them.
fn live_entries(live: &LiveOffer) -> Vec<Value> {
    live.raw_payout_entries()
        .into_iter()
        .map(|mut entry| {
            for key in ENTRY_OUTPUT_ONLY {
                entry.remove(*key);
            }
            Value::Object(entry)
        })
        .collect()
}

fn base_body(live: &LiveOffer) -> Map<String, Value> {
    let mut body = live.raw().object();
    for key in OFFER_OUTPUT_ONLY {
        body.remove(*key);
    }
    body
}

/// One payout/revenue entry: `base` (the live entry, or empty) with managed fields set.
fn entry(mut base: Map<String, Value>, event: &EventSpec) -> Value {
    for key in ENTRY_OUTPUT_ONLY {
        base.remove(*key);
    }
    let managed = [
        ("entry_name", json!(event.entry_name)),
        ("is_default", json!(event.is_default)),
        ("payout_type", json!(event.payout_type.as_str())),
        ("payout_amount", json!(event.payout_amount.normalize())),
        (
            "payout_percentage",
            json!(event.payout_percentage.normalize()),
        ),
        ("revenue_type", json!(event.revenue_type.as_str())),
        ("revenue_amount", json!(event.revenue_amount.normalize())),
        (
            "revenue_percentage",
            json!(event.revenue_percentage.normalize()),
        ),
    ];
    for (key, value) in managed {
        base.insert(key.to_owned(), value);
    }
    Value::Object(base)
}

/// Event ids by entry name, from any response that carries payout/revenue entries
/// (top-level `payout_revenue[]` on POST/PUT answers, or the relationship on GET).
pub fn event_ids(offer: &LiveOffer) -> BTreeMap<String, u64> {
    let view = &offer.view;
    let related = view
        .relationship
        .payout_revenue
        .as_ref()
        .map(|entries| &entries.0);
    let entries = match related {
        Some(entries) if !entries.is_empty() => entries,
        _ => view
            .payout_revenue
            .as_ref()
            .unwrap_or(const { &Vec::new() }),
    };
    entries
        .iter()
        .filter(|entry| entry.network_offer_payout_revenue_id > 0)
        .map(|entry| {
            (
                entry.entry_name.clone(),
                entry.network_offer_payout_revenue_id,
            )
        })
        .collect()
}

/// What the destination holds for the offers of a run.
#[derive(Clone, Debug, Default)]
pub struct LiveDestination {
    pub offers: BTreeMap<u64, LiveOffer>,
    /// By destination offer id.
    pub urls: BTreeMap<u64, Vec<LiveUrl>>,
    pub rules: BTreeMap<u64, Vec<LiveRule>>,
    pub creatives: BTreeMap<u64, Vec<LiveCreative>>,
    /// Offers carrying the marker of a source offer that state does not record, by
    /// marker: created by a run whose record was lost. The lowest id when several do.
    pub unrecorded: BTreeMap<String, LiveOffer>,
    /// Markers found on more than one offer, with every id that carries them.
    pub duplicates: BTreeMap<String, Vec<u64>>,
}

/// Reads the live offers with the given ids, and their URLs, rules and creatives for the
/// kinds in scope, in as few calls as the API allows: one list per advertiser for the
/// offers (single reads only for offers a list did not return complete), one network-wide
/// list per other kind. Ids that do not exist are absent.
///
/// The advertisers' lists also show any offer labelled with one of `markers` (source
/// offers that state does not record): those are returned as unrecorded, with their
/// URLs, rules and creatives, so that planning adopts them instead of creating again.
pub async fn refresh(
    api: &NetworkApi,
    advertiser_ids: &BTreeSet<u64>,
    ids: &BTreeSet<u64>,
    markers: &BTreeSet<String>,
    kinds: &BTreeSet<ResourceKind>,
) -> Result<LiveDestination, ApiError> {
    let mut live = LiveDestination::default();
    if ids.is_empty() && markers.is_empty() {
        return Ok(live);
    }
    // Rules name URLs by destination id: reading them needs the URLs too.
    let want_urls = kinds.contains(&ResourceKind::Urls) || kinds.contains(&ResourceKind::Rules);
    let want_rules = kinds.contains(&ResourceKind::Rules);
    let want_creatives = kinds.contains(&ResourceKind::Creatives);
    // Every list at once. The lists of offer objects are needed only for recorded offers,
    // or for unrecorded ones found under their marker (rare: read after, then).
    let objects_now = !ids.is_empty();
    let advertisers = futures_util::future::try_join_all(
        advertiser_ids
            .iter()
            .map(|&advertiser| api.offers_of_advertiser(advertiser)),
    );
    let (listed, objects) = tokio::try_join!(
        advertisers,
        offer_objects(
            api,
            objects_now && want_urls,
            objects_now && want_rules,
            objects_now && want_creatives
        ),
    )?;
    let mut others = Vec::new();
    for offer in listed.into_iter().flatten() {
        if !ids.contains(&offer.id()) {
            others.push(offer);
        } else if offer.view.relationship.payout_revenue.is_some() {
            live.offers.insert(offer.id(), offer);
        }
    }
    let unrecorded = futures_util::future::try_join_all(marked(others, markers).into_iter().map(
        |(marker, offers)| async move {
            let duplicates: Vec<u64> = offers.iter().map(LiveOffer::id).collect();
            let oldest = offers
                .into_iter()
                .next()
                .expect("a marker is listed with an offer");
            Ok::<_, ApiError>((marker, duplicates, with_entries(api, oldest).await?))
        },
    ));
    let missing = futures_util::future::try_join_all(
        ids.iter()
            .filter(|id| !live.offers.contains_key(id))
            .map(|&id| async move {
                match api.offer(id).await {
                    Ok(offer) => Ok(Some(offer)),
                    Err(error) if error.is_not_found() => Ok(None),
                    Err(error) => Err(error),
                }
            }),
    );
    let (unrecorded, missing) = tokio::try_join!(unrecorded, missing)?;
    for (marker, duplicates, offer) in unrecorded {
        if duplicates.len() > 1 {
            live.duplicates.insert(marker.clone(), duplicates);
        }
        live.unrecorded.insert(marker, offer);
    }
    for offer in missing.into_iter().flatten() {
        live.offers.insert(offer.id(), offer);
    }
    let mut ids = ids.clone();
    ids.extend(live.unrecorded.values().map(LiveOffer::id));
    if ids.is_empty() {
        return Ok(live);
    }
    let (urls, rules, creatives) = if objects_now {
        objects
    } else {
        offer_objects(api, want_urls, want_rules, want_creatives).await?
    };
    live.urls = by_offer(urls, &ids, |url| url.view.network_offer_id);
    live.rules = by_offer(rules, &ids, |rule| rule.view.network_offer_id);
    live.creatives = by_offer(creatives, &ids, |creative| creative.view.network_offer_id);
    Ok(live)
}

/// The network's offer URLs, custom payout rules and creatives (each one list, all
/// offers), those asked for, at once.
async fn offer_objects(
    api: &NetworkApi,
    urls: bool,
    rules: bool,
    creatives: bool,
) -> Result<(Vec<LiveUrl>, Vec<LiveRule>, Vec<LiveCreative>), ApiError> {
    tokio::try_join!(
        async {
            if urls {
                api.offer_urls().await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if rules {
                api.payout_rules().await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if creatives {
                api.creatives().await
            } else {
                Ok(Vec::new())
            }
        },
    )
}

/// The offers that carry one of `markers`, by marker, lowest id first. A deleted offer
/// is not brought back.
pub fn marked(
    offers: impl IntoIterator<Item = LiveOffer>,
    markers: &BTreeSet<String>,
) -> BTreeMap<String, Vec<LiveOffer>> {
    let mut marked: BTreeMap<String, Vec<LiveOffer>> = BTreeMap::new();
    for offer in offers {
        if offer.view.offer_status == "deleted" {
            continue;
        }
        if let Some(marker) = offer
            .labels()
            .into_iter()
            .find(|label| markers.contains(label))
        {
            marked.entry(marker).or_default().push(offer);
        }
    }
    for offers in marked.values_mut() {
        offers.sort_by_key(LiveOffer::id);
    }
    marked
}

/// `offer` with its payout/revenue entries: as listed when the list carried them, else
/// read on its own.
pub async fn with_entries(api: &NetworkApi, offer: LiveOffer) -> Result<LiveOffer, ApiError> {
    if offer.view.relationship.payout_revenue.is_some() {
        Ok(offer)
    } else {
        api.offer(offer.id()).await
    }
}

fn by_offer<T>(
    items: Vec<T>,
    ids: &BTreeSet<u64>,
    offer_of: impl Fn(&T) -> u64,
) -> BTreeMap<u64, Vec<T>> {
    let mut grouped: BTreeMap<u64, Vec<T>> = BTreeMap::new();
    for item in items {
        let offer = offer_of(&item);
        if ids.contains(&offer) {
            grouped.entry(offer).or_default().push(item);
        }
    }
    grouped
}

/// A file to attach (`thumbnail_file`, `resource_file`): a single-use temp URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempFile {
    pub temp_url: String,
    pub original_file_name: String,
}

impl TempFile {
    fn json(&self) -> Value {
        json!({ "temp_url": self.temp_url, "original_file_name": self.original_file_name })
    }
}

/// Adds a `thumbnail_file` to an offer body (POST or PUT).
pub fn with_thumbnail(mut body: Value, file: &TempFile) -> Value {
    if let Value::Object(map) = &mut body {
        map.insert("thumbnail_file".to_owned(), file.json());
    }
    body
}

/// Body of a PUT that changes only the thumbnail.
pub fn thumbnail_body(live: &LiveOffer, file: &TempFile) -> Value {
    let mut body = base_body(live);
    body.insert(
        "payout_revenue".to_owned(),
        Value::Array(live_entries(live)),
    );
    with_thumbnail(Value::Object(body), file)
}

/// Fields of offer URLs that a GET returns but a PUT does not take.
const URL_OUTPUT_ONLY: &[&str] = &[
    "network_id",
    "time_created",
    "time_saved",
    "remote_offer_resource",
    "relationship",
];

/// `POST /v1/networks/offerurls`: every required field (LIVE: network_offer_id, name,
/// destination_url, is_apply_specific_affiliates, is_hidden_affiliate; SNAP adds
/// url_status).
pub fn url_body(offer_id: u64, spec: &UrlSpec, live: Option<&LiveUrl>) -> Value {
    let base = live.map(|live| live.raw().object()).unwrap_or_else(|| {
        let mut base = Map::new();
        base.insert("is_apply_specific_affiliates".to_owned(), json!(false));
        base.insert("is_hidden_affiliate".to_owned(), json!(false));
        base.insert("network_affiliate_ids".to_owned(), json!([]));
        base
    });
    overlay(
        base,
        URL_OUTPUT_ONLY,
        [
            ("network_offer_id", json!(offer_id)),
            ("name", json!(spec.name)),
            ("destination_url", json!(spec.destination_url)),
            ("preview_url", json!(spec.preview_url)),
            ("url_status", json!("active")),
        ],
    )
}

/// There is no DELETE for offer URLs: a URL gone from the source is marked deleted.
pub fn url_delete_body(live: &LiveUrl) -> Value {
    overlay(
        live.raw().object(),
        URL_OUTPUT_ONLY,
        [("url_status", json!("deleted"))],
    )
}

const RULE_OUTPUT_ONLY: &[&str] = &["network_id", "time_created", "time_saved", "relationship"];

/// A custom payout rule with every required field (LIVE example; ISCALE's list).
/// `event_id` is the destination event (0: the base conversion), `url_ids` destination
/// URL ids.
pub fn rule_body(
    offer_id: u64,
    spec: &RuleSpec,
    event_id: u64,
    url_ids: &[u64],
    live: Option<&LiveRule>,
) -> Value {
    let base = live.map(|live| live.raw().object()).unwrap_or_default();
    overlay(
        base,
        RULE_OUTPUT_ONLY,
        [
            ("network_offer_id", json!(offer_id)),
            ("network_offer_payout_revenue_id", json!(event_id)),
            ("name", json!(spec.name)),
            ("custom_setting_status", json!("active")),
            ("is_apply_all_affiliates", json!(true)),
            ("network_affiliate_ids", json!([])),
            ("is_custom_payout_enabled", json!(true)),
            ("payout_type", json!(spec.payout_type.as_str())),
            ("payout_amount", json!(spec.payout_amount.normalize())),
            (
                "payout_percentage",
                json!(spec.payout_percentage.normalize()),
            ),
            // The source pays this amount on these URLs: it is our revenue there too.
            ("is_custom_revenue_enabled", json!(true)),
            ("revenue_type", json!(spec.revenue_type.as_str())),
            ("revenue_amount", json!(spec.revenue_amount.normalize())),
            (
                "revenue_percentage",
                json!(spec.revenue_percentage.normalize()),
            ),
            ("is_apply_specific_offer_urls", json!(!url_ids.is_empty())),
            ("network_offer_url_ids", json!(url_ids)),
        ],
    )
}

pub fn rule_delete_body(live: &LiveRule) -> Value {
    overlay(
        live.raw().object(),
        RULE_OUTPUT_ONLY,
        [("custom_setting_status", json!("deleted"))],
    )
}

const CREATIVE_OUTPUT_ONLY: &[&str] = &[
    "network_id",
    "time_created",
    "time_saved",
    "relationship",
    "resource_url",
];

/// A creative with every required field (LIVE: network_offer_id, name, creative_type,
/// creative_status, is_private, additional_offer_ids, is_apply_specific_affiliates), its
/// code, or its new file.
pub fn creative_body(
    offer_id: u64,
    spec: &CreativeSpec,
    file: Option<&TempFile>,
    live: Option<&LiveCreative>,
) -> Value {
    let base = live.map(|live| live.raw().object()).unwrap_or_else(|| {
        let mut base = Map::new();
        base.insert("is_private".to_owned(), json!(false));
        base.insert("additional_offer_ids".to_owned(), json!([]));
        base.insert("is_apply_specific_affiliates".to_owned(), json!(false));
        base
    });
    let mut managed = vec![
        ("network_offer_id", json!(offer_id)),
        ("name", json!(spec.name)),
        ("creative_type", json!(spec.creative_type.as_str())),
        ("creative_status", json!(spec.creative_status)),
    ];
    match &spec.content {
        CreativeContent::Code { html_code } => managed.push(("html_code", json!(html_code))),
        CreativeContent::File { .. } => {
            if let Some(file) = file {
                managed.push(("resource_file", file.json()));
            }
        }
    }
    overlay(base, CREATIVE_OUTPUT_ONLY, managed)
}

pub fn creative_delete_body(live: &LiveCreative) -> Value {
    overlay(
        live.raw().object(),
        CREATIVE_OUTPUT_ONLY,
        [("creative_status", json!("deleted"))],
    )
}

/// The bulk PATCH fields that set an offer's countries and regions (ISCALE example:
/// `ruleset_countries` / `ruleset_regions`, operator overwrite).
pub fn targeting_patch_fields(spec: &TargetingSpec) -> Value {
    let entries = |entries: &[GeoEntry], id_key: &str| -> Vec<Value> {
        entries
            .iter()
            .map(|entry| {
                json!({
                    id_key: entry.id,
                    "match_type": "exact",
                    "targeting_type": entry.targeting_type.as_str(),
                    "label": entry.label,
                })
            })
            .collect()
    };
    json!([
        {"field_type": "ruleset_countries", "field_value": entries(&spec.countries, "country_id"), "operator": "overwrite"},
        {"field_type": "ruleset_regions", "field_value": entries(&spec.regions, "region_id"), "operator": "overwrite"},
    ])
}

/// `PUT /v1/networks/offers/{id}/targeting` (ISCALE), sent with the PATCH "for
/// reliability".
pub fn targeting_body(spec: &TargetingSpec) -> Value {
    let countries: Vec<Value> = spec
        .countries
        .iter()
        .map(|entry| {
            json!({
                "country_id": entry.id,
                "country_code": entry.code,
                "targeting_type": entry.targeting_type.as_str(),
                "match_type": "exact",
            })
        })
        .collect();
    let regions: Vec<Value> = spec
        .regions
        .iter()
        .map(|entry| {
            json!({
                "region_id": entry.id,
                "region_code": entry.code,
                "targeting_type": entry.targeting_type.as_str(),
                "match_type": "exact",
            })
        })
        .collect();
    json!({ "countries": countries, "regions": regions })
}

/// `base` without output-only keys, with `managed` set.
fn overlay<'k>(
    mut base: Map<String, Value>,
    output_only: &[&str],
    managed: impl IntoIterator<Item = (&'k str, Value)>,
) -> Value {
    for key in output_only {
        base.remove(*key);
    }
    for (key, value) in managed {
        base.insert(key.to_owned(), value);
    }
    Value::Object(base)
}

/// The tracking domain new offers use: the one named by `ISCALE_TRACKING_DOMAIN` when
/// set, else the network's primary domain.
pub fn choose_tracking_domain(
    domains: &[TrackingDomain],
    wanted: Option<&str>,
) -> Result<u64, String> {
    let usable = |domain: &&TrackingDomain| {
        domain.domain_status.is_empty() || domain.domain_status == "active"
    };
    if let Some(wanted) = wanted {
        let wanted = wanted.trim().trim_end_matches('/');
        let wanted = wanted
            .strip_prefix("https://")
            .or_else(|| wanted.strip_prefix("http://"))
            .unwrap_or(wanted);
        return domains
            .iter()
            .filter(usable)
            .find(|domain| domain.url.eq_ignore_ascii_case(wanted))
            .map(|domain| domain.network_tracking_domain_id)
            .ok_or_else(|| {
                format!("`ISCALE_TRACKING_DOMAIN` is `{wanted}`, which is not an active tracking domain of the iScale network")
            });
    }
    domains
        .iter()
        .filter(usable)
        .find(|domain| domain.is_primary_domain)
        .or_else(|| domains.iter().find(usable))
        .map(|domain| domain.network_tracking_domain_id)
        .ok_or_else(|| "the iScale network has no active tracking domain".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body exactly as sent (insta's own JSON writer would not show serde_json's
    /// exact numbers as numbers).
    fn wire(body: &Value) -> String {
        serde_json::to_string_pretty(body).unwrap()
    }

    fn spec() -> OfferSpec {
        crate::render::sample::spec("370", "X")
    }

    fn live() -> LiveOffer {
        let raw = json!({
            "network_offer_id": 1001, "network_id": 7001, "time_saved": 5, "time_created": 4,
            "name": "X", "internal_notes": "edited by a person", "network_advertiser_id": 13,
            "relationship": {"payout_revenue": {"total": 2, "entries": [
                {"network_offer_payout_revenue_id": 81, "network_id": 7001, "entry_name": "Base", "is_private": true,
                 "payout_type": "cpa", "payout_amount": 280, "revenue_type": "rpa", "revenue_amount": 350, "is_default": true},
                {"network_offer_payout_revenue_id": 82, "entry_name": "Manual", "payout_type": "cpa", "payout_amount": 1,
                 "revenue_type": "rpa", "revenue_amount": 2, "is_default": false}
            ]}}
        });
        LiveOffer::from_value(raw).unwrap()
    }

    #[test]
    fn replace_body_overlays_managed_fields_and_keeps_the_rest() {
        let body = replace_body(&live(), &spec(), "offersync:trimrx/1");
        insta::assert_snapshot!(wire(&body));
        assert_eq!(body["internal_notes"], "edited by a person");
        assert!(body.get("relationship").is_none());
    }

    #[test]
    fn pause_body_changes_only_the_status() {
        let body = pause_body(&live());
        assert_eq!(body["offer_status"], "paused");
        assert_eq!(body["name"], "X");
        assert_eq!(body["payout_revenue"].as_array().unwrap().len(), 2);
        assert_eq!(
            body["payout_revenue"][0]["network_offer_payout_revenue_id"],
            81
        );
    }

    #[test]
    fn create_body_snapshot() {
        insta::assert_snapshot!(wire(&create_body(&spec(), 1, "offersync:trimrx/1")));
    }

    #[test]
    fn event_ids_by_name() {
        assert_eq!(
            event_ids(&live()),
            BTreeMap::from([("Base".into(), 81), ("Manual".into(), 82)])
        );
    }

    #[test]
    fn tracking_domain_choice() {
        let domains = vec![
            TrackingDomain {
                network_tracking_domain_id: 1,
                url: "trk.a.test".into(),
                is_primary_domain: false,
                domain_status: "active".into(),
            },
            TrackingDomain {
                network_tracking_domain_id: 2,
                url: "trk.b.test".into(),
                is_primary_domain: true,
                domain_status: "active".into(),
            },
        ];
        assert_eq!(choose_tracking_domain(&domains, None), Ok(2));
        assert_eq!(
            choose_tracking_domain(&domains, Some("https://TRK.a.test/")),
            Ok(1)
        );
        assert!(choose_tracking_domain(&domains, Some("x.test")).is_err());
        assert!(choose_tracking_domain(&[], None).is_err());
    }
}
