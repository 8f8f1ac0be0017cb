//! The read cache: what the last refreshing `plan` read from Everflow, kept in
//! `state/.cache/plan-reads.json` (Git-ignored) so that `plan --refresh=false` plans with
//! no network at all, from the source and live state as they were then.
//!
//! It keeps the answers as Everflow gave them (the raw objects, decoded again on load by
//! the same code that decodes a live answer), plus the question they answered: a cached
//! plan covers a run only if every offer, object and list that run needs was read.
//! `apply` forgets the cache before its first write, since its writes make it stale.
//!
//! On load only the typed views are kept, not the text: a plan compares views, and the
//! text is only ever needed for an apply's request bodies, which never come from a plan
//! from the cache (see [`Live`]).
//!
//! No secret is written: a verification token (an advertiser's, or inside a pixel's
//! postback URL) is kept as its keyed digest, and put back on load where it matches a
//! configured token. A digest that matches none stands for a token that differs from
//! every configured one, which is all a plan needs to know of it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{
    DestinationQuery, DestinationReads, Entry, PlanError, SourceReads, needs_countries,
    pixels_by_offer,
};
use crate::destination::iscale::LiveDestination;
use crate::everflow::affiliate::LivePixel;
use crate::everflow::network::{Advertiser, Live, LiveOffer};
use crate::everflow::types::{RawObject, decode_object};
use crate::fsutil::write_atomic;
use crate::plan::Address;
use crate::render::{CountryTable, replace_token};
use crate::secret::SecretHasher;
use crate::source::{LandingPage, Pulled, SourceSnapshot};
use crate::timefmt::unix_now;
use crate::workspace::Workspace;

/// The cache is kept only where the workspace keeps state.
const STATE_DIR: &str = "state";

/// Where the cache lives, relative to the workspace.
pub const CACHE_FILE: &str = "state/.cache/plan-reads.json";

/// Bumped whenever the layout changes: an older cache is refused, not misread.
const FORMAT: u32 = 1;

/// What stands in a cached token for its digest.
const SEALED: &str = "offersync-digest-";

/// The cache's layout, written with the objects as [`RawObject`]s and read back with
/// each as a slice of the file's text (`&RawValue`), which nothing copies: only its typed
/// view is kept.
#[derive(Serialize, Deserialize)]
struct CacheFile<Raw> {
    format: u32,
    /// When it was read, in seconds since the Unix epoch.
    read_at: u64,
    /// The question the destination reads answered.
    query: DestinationQuery,
    /// `(code, id, name)`; absent when no override needed the table.
    countries: Option<Vec<(String, u64, String)>>,
    sources: Vec<CachedSource<Raw>>,
    offers: Vec<Raw>,
    urls: BTreeMap<u64, Vec<Raw>>,
    rules: BTreeMap<u64, Vec<Raw>>,
    creatives: BTreeMap<u64, Vec<Raw>>,
    unrecorded: BTreeMap<String, Raw>,
    duplicates: BTreeMap<String, Vec<u64>>,
    /// Every pixel list read, by source network, tokens sealed.
    pixels: BTreeMap<String, Vec<Raw>>,
    advertisers: BTreeMap<String, CachedAdvertiser>,
}

#[derive(Serialize, Deserialize)]
struct CachedSource<Raw> {
    network: String,
    offer_id: u64,
    pulled: CachedPull<Raw>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CachedPull<Raw> {
    Found {
        raw: Raw,
        landing_pages: BTreeMap<u64, LandingPage>,
    },
    Unavailable {
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct CachedAdvertiser {
    network_advertiser_id: u64,
    name: String,
    account_status: String,
    /// Sealed.
    verification_token: String,
}

/// Keeps what a refreshing plan read, in a workspace that has a `state/` folder. It is a
/// cache: when it cannot be written the plan goes on, with a warning, and without the
/// old one.
pub(super) fn save(
    ws: &Workspace,
    entries: &[Entry<'_>],
    query: &DestinationQuery,
    sources: &SourceReads,
    destination: &DestinationReads,
) {
    if !ws.root.join(STATE_DIR).is_dir() {
        return;
    }
    if let Err(error) = try_save(ws, entries, query, sources, destination) {
        tracing::warn!("not keeping what this plan read: {error}");
        if let Err(error) = forget(&ws.root) {
            tracing::warn!("cannot remove {CACHE_FILE}: {error}");
        }
    }
}

/// Nothing is kept when a source offer could not be read (the plan fails anyway) or
/// when there is no iScale key to seal tokens with.
fn try_save(
    ws: &Workspace,
    entries: &[Entry<'_>],
    query: &DestinationQuery,
    sources: &SourceReads,
    destination: &DestinationReads,
) -> Result<(), String> {
    let Some(hasher) = hasher(ws) else {
        return Ok(());
    };
    let mut cached_sources = Vec::new();
    for (entry, pulled) in entries.iter().zip(&sources.pulls) {
        let pulled = match pulled {
            None => continue,
            Some(Err(_)) => return Ok(()),
            Some(Ok(Pulled::Found(snapshot))) => CachedPull::Found {
                raw: snapshot.raw().clone(),
                landing_pages: snapshot.landing_pages.clone(),
            },
            Some(Ok(Pulled::Unavailable { reason })) => CachedPull::Unavailable {
                reason: reason.clone(),
            },
        };
        cached_sources.push(CachedSource {
            network: entry.address.network.clone(),
            offer_id: entry.address.source_offer_id.0,
            pulled,
        });
    }
    let live = &destination.live;
    let mut pixels: BTreeMap<String, Vec<RawObject>> = query
        .pixel_networks
        .iter()
        .map(|network| (network.clone(), Vec::new()))
        .collect();
    for (address, list) in &destination.pixels {
        let sealed = list.iter().map(|pixel| seal_pixel(pixel.raw(), &hasher));
        pixels
            .entry(address.network.clone())
            .or_default()
            .extend(sealed);
    }
    let file = CacheFile {
        format: FORMAT,
        read_at: unix_now(),
        query: query.clone(),
        countries: sources
            .countries
            .as_ref()
            .map(|table| table.entries().collect()),
        sources: cached_sources,
        offers: live
            .offers
            .values()
            .map(|offer| offer.raw().clone())
            .collect(),
        urls: raws(&live.urls),
        rules: raws(&live.rules),
        creatives: raws(&live.creatives),
        unrecorded: live
            .unrecorded
            .iter()
            .map(|(marker, offer)| (marker.clone(), offer.raw().clone()))
            .collect(),
        duplicates: live.duplicates.clone(),
        pixels,
        advertisers: destination
            .advertisers
            .iter()
            .map(|(network, advertiser)| {
                let cached = CachedAdvertiser {
                    network_advertiser_id: advertiser.network_advertiser_id,
                    name: advertiser.name.clone(),
                    account_status: advertiser.account_status.clone(),
                    verification_token: seal(&advertiser.verification_token, &hasher),
                };
                (network.clone(), cached)
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&file).map_err(|error| error.to_string())?;
    write_atomic(&ws.root.join(CACHE_FILE), &bytes)
        .map_err(|error| format!("cannot write {CACHE_FILE}: {error}"))
}

/// What the last refreshing plan read, for the entries and query of this run; an error
/// naming what is missing when it does not cover them.
pub(super) fn load(
    ws: &Workspace,
    entries: &[Entry<'_>],
    query: &DestinationQuery,
) -> Result<(SourceReads, DestinationReads, Duration), PlanError> {
    let path = ws.root.join(CACHE_FILE);
    // Borrowed by every object while it is decoded, and freed when this returns: nothing
    // loaded keeps any of it.
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(stale(
                "there is no read cache (a refreshing plan leaves one; apply forgets it)",
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            return Err(stale(&format!("{CACHE_FILE} is not UTF-8 text")));
        }
        Err(error) => {
            return Err(PlanError::Cache(format!(
                "cannot read {CACHE_FILE}: {error}"
            )));
        }
    };
    let file: CacheFile<&RawValue> = serde_json::from_str(&text)
        .map_err(|error| stale(&format!("{CACHE_FILE} cannot be read ({error})")))?;
    if file.format != FORMAT {
        return Err(stale(&format!(
            "{CACHE_FILE} was written by another version of offersync"
        )));
    }
    check_covers(&file, entries, query)?;
    let hasher = hasher(ws).ok_or_else(|| stale("there is no iScale key to read the cache"))?;
    let tokens: Vec<String> = ws
        .desired
        .iter()
        .filter_map(|network| {
            ws.settings
                .network(&network.name)
                .verification_token
                .clone()
        })
        .map(|token| token.expose().to_owned())
        .collect();
    let unseal = |value: &str| unseal(value, &tokens, &hasher);
    let age = Duration::from_secs(unix_now().saturating_sub(file.read_at));

    let CacheFile {
        countries,
        sources,
        offers,
        urls,
        rules,
        creatives,
        unrecorded,
        duplicates,
        pixels,
        advertisers,
        ..
    } = file;
    let mut pulled: BTreeMap<(String, u64), CachedPull<&RawValue>> = sources
        .into_iter()
        .map(|source| ((source.network, source.offer_id), source.pulled))
        .collect();
    let mut pulls = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.network.is_none() || entry.config.is_none() {
            pulls.push(None);
            continue;
        }
        let address = &entry.address;
        let key = (address.network.clone(), address.source_offer_id.0);
        let cached = pulled.remove(&key).ok_or_else(|| missing(address))?;
        let pull = match cached {
            CachedPull::Found { raw, landing_pages } => decode_object(raw)
                .and_then(|offer| {
                    SourceSnapshot::view_only(address.source_offer_id, offer, landing_pages)
                })
                .map(|snapshot| Pulled::Found(Box::new(snapshot)))
                .map_err(|reason| stale(&format!("{address} in {CACHE_FILE}: {reason}")))?,
            CachedPull::Unavailable { reason } => Pulled::Unavailable { reason },
        };
        pulls.push(Some(Ok(pull)));
    }

    let live = LiveDestination {
        offers: offers
            .into_iter()
            .map(|raw| decode(raw).map(|offer: LiveOffer| (offer.id(), offer)))
            .collect::<Result<_, _>>()?,
        urls: decode_lists(urls)?,
        rules: decode_lists(rules)?,
        creatives: decode_lists(creatives)?,
        unrecorded: unrecorded
            .into_iter()
            .map(|(marker, raw)| decode(raw).map(|offer| (marker, offer)))
            .collect::<Result<_, _>>()?,
        duplicates,
    };
    let pixels = pixels
        .into_iter()
        .map(|(network, list)| {
            let list = list
                .into_iter()
                .map(|raw| decode(raw).map(|pixel| unseal_pixel(pixel, &unseal)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((network, list))
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    let advertisers = advertisers
        .into_iter()
        .map(|(network, cached)| {
            let advertiser = Advertiser {
                network_advertiser_id: cached.network_advertiser_id,
                name: cached.name,
                account_status: cached.account_status,
                verification_token: unseal(&cached.verification_token),
            };
            (network, advertiser)
        })
        .collect();
    let sources = SourceReads {
        countries: countries.map(CountryTable::new),
        pulls,
    };
    let destination = DestinationReads {
        live,
        pixels: pixels_by_offer(pixels),
        advertisers,
    };
    Ok((sources, destination, age))
}

/// Forgets the cache: what it holds is about to be out of date. A cache that cannot be
/// removed is an error, since a later `plan --refresh=false` would trust it.
pub fn forget(workspace: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(workspace.join(CACHE_FILE)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Whether the cache answered every question this run asks.
fn check_covers(
    file: &CacheFile<&RawValue>,
    entries: &[Entry<'_>],
    query: &DestinationQuery,
) -> Result<(), PlanError> {
    let cached = &file.query;
    let mut gaps = Vec::new();
    if !query.kinds.is_subset(&cached.kinds) {
        gaps.push("resource kinds left out by `--only`".to_owned());
    }
    if !query.advertisers.is_subset(&cached.advertisers)
        || !query.markers.is_subset(&cached.markers)
    {
        gaps.push("the iScale offers of a network".to_owned());
    }
    let unread: Vec<String> = query
        .ids
        .difference(&cached.ids)
        .map(u64::to_string)
        .collect();
    if !unread.is_empty() {
        gaps.push(format!("iScale offers {}", unread.join(", ")));
    }
    if !query.pixel_networks.is_subset(&cached.pixel_networks) {
        gaps.push("the pixels of a source network".to_owned());
    }
    if !query.token_networks.is_subset(&cached.token_networks) {
        gaps.push("an advertiser's verification token".to_owned());
    }
    if needs_countries(entries) && file.countries.is_none() {
        gaps.push("the country table".to_owned());
    }
    match gaps.is_empty() {
        true => Ok(()),
        false => Err(stale(&format!(
            "the read cache does not hold {} (it covers what the last refreshing plan read)",
            gaps.join(", ")
        ))),
    }
}

fn raws<T>(lists: &BTreeMap<u64, Vec<Live<T>>>) -> BTreeMap<u64, Vec<RawObject>> {
    lists
        .iter()
        .map(|(id, items)| (*id, items.iter().map(|item| item.raw().clone()).collect()))
        .collect()
}

/// The typed view of an object of the cache, without its text.
fn decode<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<Live<T>, PlanError> {
    decode_object(raw)
        .map(Live::view_only)
        .map_err(|reason| corrupt(&reason))
}

fn decode_lists<T: serde::de::DeserializeOwned>(
    lists: BTreeMap<u64, Vec<&RawValue>>,
) -> Result<BTreeMap<u64, Vec<Live<T>>>, PlanError> {
    lists
        .into_iter()
        .map(|(id, list)| {
            let list = list.into_iter().map(decode).collect::<Result<_, _>>()?;
            Ok((id, list))
        })
        .collect()
}

fn corrupt(reason: &str) -> PlanError {
    stale(&format!("{CACHE_FILE} holds an object that {reason}"))
}

fn hasher(ws: &Workspace) -> Option<SecretHasher> {
    ws.settings
        .iscale
        .as_ref()
        .map(|iscale| SecretHasher::new(&iscale.api_key))
}

fn seal(token: &str, hasher: &SecretHasher) -> String {
    match token {
        "" => String::new(),
        token => format!("{SEALED}{}", hasher.digest(token)),
    }
}

/// The configured token a sealed value stands for; the sealed value itself when it
/// stands for none (a token that differs from every configured one).
fn unseal(value: &str, tokens: &[String], hasher: &SecretHasher) -> String {
    let Some(digest) = value.strip_prefix(SEALED) else {
        return value.to_owned();
    };
    tokens
        .iter()
        .find(|token| hasher.digest(token) == digest)
        .cloned()
        .unwrap_or_else(|| value.to_owned())
}

fn seal_pixel(raw: &RawObject, hasher: &SecretHasher) -> RawObject {
    let mut object = raw.object();
    if let Some(Value::String(url)) = object.get_mut("postback_url") {
        *url = replace_token(url, |token| seal(token, hasher));
    }
    RawObject::from_map(&object)
}

/// Puts back the token in a cached pixel's postback URL (where [`seal_pixel`] sealed it).
fn unseal_pixel(mut pixel: LivePixel, unseal: &impl Fn(&str) -> String) -> LivePixel {
    let url = &mut pixel.view.postback_url;
    if url.contains(SEALED) {
        *url = replace_token(url, unseal);
    }
    pixel
}

fn missing(address: &Address) -> PlanError {
    stale(&format!(
        "the read cache does not hold the source offer {address}"
    ))
}

/// The cache cannot serve this run: a refreshing plan fixes that.
fn stale(why: &str) -> PlanError {
    PlanError::Cache(format!(
        "cannot plan without refreshing: {why}; run `offersync plan` (it reads Everflow \
         and keeps what it read in {CACHE_FILE})"
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::desired::SourceOfferId;
    use crate::everflow::types::Live;
    use crate::planner::{Scope, entries_in_scope};
    use crate::sandbox::Fixtures;
    use crate::settings::ENV_FILE;

    /// The same object as `live` would be loaded from the cache: its view, no text
    /// (`Live`'s equality compares the text too).
    fn view_only<T: Clone>(live: &Live<T>) -> Live<T> {
        Live::view_only(live.view.clone())
    }

    fn live<T: serde::de::DeserializeOwned>(value: Value) -> Live<T> {
        Live::from_value(value).unwrap()
    }

    // A plan from the cache compares typed views only: keeping the objects' text too held
    // the whole cache's text (64 MB at 5,000 offers) for nothing.
    #[test]
    fn a_loaded_object_keeps_its_view_and_not_its_text() {
        let fixtures = Fixtures::builtin();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(ENV_FILE),
            fixtures.env_local("http://127.0.0.1:9"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("desired")).unwrap();
        std::fs::create_dir_all(root.join(STATE_DIR)).unwrap();
        std::fs::write(
            root.join("desired/trimrx.yaml"),
            "offers:\n  - source_offer_id: 1\n",
        )
        .unwrap();
        let ws = Workspace::load(root, Vec::new()).unwrap();
        let scope = Scope::default();
        let entries = entries_in_scope(&ws, &scope).unwrap();
        let query = DestinationQuery::new(&ws, &scope, &entries, |_| (None, true));

        let trimrx = &fixtures.sources[0];
        let source = trimrx
            .offers
            .iter()
            .find(|offer| offer.offer["network_offer_id"] == 1)
            .unwrap();
        let landing_pages = BTreeMap::from([(
            0,
            LandingPage {
                name: "Default".to_owned(),
                url: "https://start.trimrx.test/".to_owned(),
            },
        )]);
        let snapshot = SourceSnapshot::new(
            SourceOfferId(1),
            &Value::Object(source.offer.clone()),
            landing_pages,
        )
        .unwrap();
        let sources = SourceReads {
            countries: None,
            pulls: entries
                .iter()
                .map(|entry| {
                    let found = Pulled::Found(Box::new(snapshot.clone()));
                    entry.config.map(|_| Ok(found))
                })
                .collect(),
        };

        // Fields no view reads (`today_revenue`) are in the text only.
        let offer: LiveOffer = live(json!({
            "network_offer_id": 9001, "name": "TrimRx", "today_revenue": "1.50",
            "relationship": {"payout_revenue": {"entries": [{"entry_name": "Base"}]}}
        }));
        let marker = "offersync:trimrx/2".to_owned();
        let unrecorded: LiveOffer = live(json!({"network_offer_id": 9002, "name": "Lost"}));
        let url = live(json!({"network_offer_url_id": 11, "network_offer_id": 9001}));
        let rule = live(json!({
            "network_custom_payout_revenue_setting_id": 21, "network_offer_id": 9001
        }));
        let creative = live(json!({"network_offer_creative_id": 31, "network_offer_id": 9001}));
        let pixel = |id: u64, token: &str| -> LivePixel {
            let url = format!("https://trk.iscale.test/?nid=7001&verification_token={token}");
            live(json!({
                "network_pixel_id": id, "network_offer_id": 1, "pixel_type": "conversion",
                "postback_url": url
            }))
        };
        let ours = pixel(41, &trimrx.verification_token);
        let foreign = pixel(42, "someone-else-set-this");
        let advertiser = Advertiser {
            network_advertiser_id: trimrx.destination_advertiser_id,
            name: "TrimRx".to_owned(),
            account_status: "active".to_owned(),
            verification_token: trimrx.verification_token.clone(),
        };
        let destination = DestinationReads {
            live: LiveDestination {
                offers: BTreeMap::from([(9001, offer.clone())]),
                urls: BTreeMap::from([(9001, vec![url.clone()])]),
                rules: BTreeMap::from([(9001, vec![rule.clone()])]),
                creatives: BTreeMap::from([(9001, vec![creative.clone()])]),
                unrecorded: BTreeMap::from([(marker.clone(), unrecorded.clone())]),
                duplicates: BTreeMap::new(),
            },
            pixels: pixels_by_offer([("trimrx".to_owned(), vec![ours.clone(), foreign])]),
            advertisers: BTreeMap::from([("trimrx".to_owned(), advertiser)]),
        };
        try_save(&ws, &entries, &query, &sources, &destination).unwrap();

        let (sources, destination, _) = load(&ws, &entries, &query).unwrap();
        let Some(Some(Ok(Pulled::Found(loaded)))) = sources.pulls.first() else {
            panic!("trimrx/1 is loaded");
        };
        let view_only_snapshot = SourceSnapshot::view_only(
            snapshot.offer_id,
            snapshot.offer.clone(),
            snapshot.landing_pages.clone(),
        )
        .unwrap();
        assert_eq!(**loaded, view_only_snapshot);
        assert_ne!(**loaded, snapshot, "the text counts in equality");
        let live = &destination.live;
        assert_eq!(live.offers[&9001], view_only(&offer));
        assert_ne!(live.offers[&9001], offer, "the text counts in equality");
        assert_eq!(live.urls[&9001], [view_only(&url)]);
        assert_eq!(live.rules[&9001], [view_only(&rule)]);
        assert_eq!(live.creatives[&9001], [view_only(&creative)]);
        assert_eq!(live.unrecorded[&marker], view_only(&unrecorded));
        // The configured token is put back in the view; another one stays a digest.
        let pixels = &destination.pixels[&Address {
            network: "trimrx".to_owned(),
            source_offer_id: SourceOfferId(1),
        }];
        assert_eq!(pixels[0], view_only(&ours));
        let url = &pixels[1].view.postback_url;
        assert!(url.contains(SEALED), "{url}");
        assert!(!url.contains("someone-else-set-this"), "{url}");
        assert_eq!(
            destination.advertisers["trimrx"].verification_token,
            trimrx.verification_token
        );
    }
}
