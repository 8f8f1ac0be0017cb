//! Planning a run: for every offer in scope, pull the source, render what the destination
//! should hold, read what it does hold, and diff each resource (DESIGN section 3).
//!
//! This is the I/O edge around the pure steps: it decides which offers and resources are
//! in scope, calls the APIs, matches live resources to the ones offersync manages (by
//! recorded id, else by name), and hands plain data to `render` and `plan::diff`. It
//! never writes.

use litemap::LiteMap;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use std::sync::atomic::Ordering;

use crate::desired::{DesiredNetwork, Destination, OfferConfig, SourceOfferId};
use crate::destination::iscale::{self, LiveDestination};
use crate::everflow::ApiError;
use crate::everflow::affiliate::{LivePixel, PixelView};
use crate::everflow::network::{
    Advertiser, CreativeView, Live, LiveCreative, LiveOffer, LiveRule, LiveUrl, RuleView, UrlView,
};
use crate::plan::diff::{Applied, LiveState, ResourceInputs, Stop, diff_resource};
use crate::plan::fields::{Fields, combined_fingerprint, field_fingerprints};
use crate::plan::flatten::{
    RuleNames, configured_token_fields, creative_fields, live_creative_fields, live_offer_fields,
    live_pixel_fields, live_rule_fields, live_thumbnail_fields, live_url_fields, offer_fields,
    pixel_fields, rule_fields, targeting_fields, thumbnail_fields, token_fields, url_fields,
};
use crate::plan::{Address, Change, Note, Plan, Reason, ResourceId, ResourceKind, Target};
use crate::render::offerit::OfferitRendered;
use crate::render::{
    CountryTable, CreativeSpec, PixelSpec, PostbackTarget, RenderInput, Rendered, RuleKey,
    RuleSpec, UrlSpec, render,
};
use crate::secret::SecretHasher;
use crate::settings::Settings;
use crate::source::{self, PullError, Pulled, SourceSnapshot};
use crate::state::{ManagedOffer, OfferState, ResourceRecord};
use crate::thumbnail::Thumbnails;
use crate::workspace::{Clients, Workspace};

mod cache;
mod offerit;

pub use cache::{CACHE_FILE, forget as forget_cache};

const ALL_KINDS: [ResourceKind; 6] = [
    ResourceKind::Offer,
    ResourceKind::Urls,
    ResourceKind::Creatives,
    ResourceKind::Targeting,
    ResourceKind::Rules,
    ResourceKind::Postbacks,
];

/// Which networks, offers and kinds of resources a command works on (`--network`,
/// `--offer`, `--only`).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub networks: Vec<String>,
    pub offers: Vec<Address>,
    /// Empty: every kind.
    pub kinds: BTreeSet<ResourceKind>,
}

impl Scope {
    fn network(&self, name: &str) -> bool {
        (self.networks.is_empty() || self.networks.iter().any(|n| n == name))
            && (self.offers.is_empty() || self.offers.iter().any(|a| a.network == name))
    }

    fn offer(&self, address: &Address) -> bool {
        self.network(&address.network) && (self.offers.is_empty() || self.offers.contains(address))
    }

    /// The kinds in scope, every kind when none was named.
    pub fn kinds(&self) -> BTreeSet<ResourceKind> {
        if self.kinds.is_empty() {
            ALL_KINDS.into()
        } else {
            self.kinds.clone()
        }
    }

    /// Whether every kind is in scope (a run that may record the source as applied).
    pub fn is_complete(&self) -> bool {
        self.kinds().len() == ALL_KINDS.len()
    }
}

/// A plan and what applying it needs.
#[derive(Debug, Default)]
pub struct Planned {
    pub plan: Plan,
    pub offers: BTreeMap<Address, OfferWork>,
    /// Each network's advertiser as read, where postbacks are managed.
    pub advertisers: BTreeMap<String, Advertiser>,
    /// Whether every kind of resource was planned.
    pub complete: bool,
    /// How old the reads were, when they came from the read cache.
    pub cached: Option<std::time::Duration>,
}

/// What planning learned about one offer.
#[derive(Debug, Default)]
pub struct OfferWork {
    /// Where the offer lives (or is to be created).
    pub destination: Destination,
    /// The source as pulled now (absent when the offer is to stop).
    pub snapshot: Option<SourceSnapshot>,
    /// What iScale should hold (absent when the offer is to stop, or goes to Offerit).
    pub rendered: Option<Rendered>,
    /// What Offerit should hold, for an offer that goes there (absent when it stops).
    pub offerit: Option<OfferitRendered>,
    pub state: Option<OfferState>,
    pub live: Option<LiveOffer>,
    pub live_urls: Vec<LiveUrl>,
    pub live_rules: Vec<LiveRule>,
    pub live_creatives: Vec<LiveCreative>,
    /// Our pixels on this offer in its source network.
    pub live_pixels: Vec<LivePixel>,
    /// Source URL id -> destination URL id, recorded or matched by name.
    pub url_ids: BTreeMap<u64, u64>,
    /// Rule key -> destination rule id, recorded or matched by name.
    pub rule_ids: BTreeMap<String, u64>,
    /// Source creative id -> destination creative id, recorded or matched by name.
    pub creative_ids: BTreeMap<u64, u64>,
    /// Pixel key -> pixel id in the source network, recorded or matched by offer, type
    /// and event.
    pub pixel_ids: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}", describe_problems(.0))]
    Offers(Vec<String>),
    #[error("{0}")]
    Scope(String),
    #[error("reading iScale: {0}")]
    Destination(#[source] ApiError),
    #[error("{0}")]
    Identity(String),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The read cache cannot serve a `plan --refresh=false`, or cannot be kept.
    #[error("{0}")]
    Cache(String),
}

fn describe_problems(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        many => format!(
            "{} offers cannot be planned:\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
}

/// One offer in scope, before any I/O.
struct Entry<'a> {
    address: Address,
    network: Option<&'a DesiredNetwork>,
    config: Option<&'a OfferConfig>,
}

impl Entry<'_> {
    /// Where its desired file sends the network's offers (iScale without a file).
    fn destination(&self) -> Destination {
        self.network
            .map(|network| network.file.destination)
            .unwrap_or_default()
    }
}

/// What secret fields (tokens) are fingerprinted with: a keyed digest under the iScale
/// key, else (a workspace that sends everything to Offerit, whose pixels carry no
/// token) the Offerit key; `None` without either.
pub fn secret_hasher(settings: &Settings) -> Option<SecretHasher> {
    let key = match (&settings.iscale, &settings.offerit) {
        (Some(iscale), _) => &iscale.api_key,
        (None, Some(offerit)) => &offerit.api_key,
        (None, None) => return None,
    };
    Some(SecretHasher::new(key))
}

/// Where a plan's reads come from.
#[derive(Clone, Copy)]
pub enum Reads<'c> {
    /// Everflow, now. With `keep`, what was read is also kept in the read cache for
    /// `plan --refresh=false`. With `thumbnails` (an apply's), each new offer's
    /// thumbnail is begun as soon as its source offer arrives, while its links are read.
    Live {
        clients: &'c Clients,
        keep: bool,
        thumbnails: Option<&'c Thumbnails>,
    },
    /// The read cache the last refreshing `plan` left: no network at all.
    Cached,
}

/// Plans every offer in `scope`.
pub async fn plan(ws: &Workspace, clients: &Clients, scope: &Scope) -> Result<Planned, PlanError> {
    plan_reporting(ws, clients, scope, &|_, _| {}).await
}

/// [`plan`], telling `pulled(done, total)` as source offers come in (for a progress bar).
pub async fn plan_reporting(
    ws: &Workspace,
    clients: &Clients,
    scope: &Scope,
    pulled: &(dyn Fn(usize, usize) + Sync),
) -> Result<Planned, PlanError> {
    let reads = Reads::Live {
        clients,
        keep: false,
        thumbnails: None,
    };
    plan_from(ws, reads, scope, pulled).await
}

/// [`plan_reporting`] with its reads from `reads`.
pub async fn plan_from(
    ws: &Workspace,
    reads: Reads<'_>,
    scope: &Scope,
    pulled: &(dyn Fn(usize, usize) + Sync),
) -> Result<Planned, PlanError> {
    let entries = entries_in_scope(ws, scope)?;
    let states = load_states(ws, &entries)?;
    let query = DestinationQuery::new(ws, scope, &entries, |index| {
        (states[index].as_ref(), entries[index].config.is_some())
    });
    let (sources, destination, cached) = match reads {
        Reads::Live {
            clients,
            keep,
            thumbnails,
        } => {
            let new_offers = match thumbnails {
                Some(_) if scope.kinds().contains(&ResourceKind::Offer) => {
                    new_offers(&entries, &states)
                }
                _ => HashSet::new(),
            };
            let arrived = |network: &str, id: SourceOfferId, snapshot: &SourceSnapshot| {
                if let Some(thumbnails) = thumbnails
                    && new_offers.contains(&(network, id))
                {
                    thumbnails.begin(&snapshot.offer.thumbnail_url);
                }
            };
            // What iScale and the source pixel lists hold does not depend on the source
            // offers: both are read while the source offers are pulled.
            let (sources, destination) = tokio::join!(
                read_sources(ws, clients, &entries, pulled, &arrived),
                read_destination(ws, clients, &query),
            );
            let (sources, destination) = (sources?, destination?);
            if keep {
                cache::save(ws, &entries, &query, &sources, &destination);
            }
            (sources, destination, None)
        }
        Reads::Cached => {
            let (sources, destination, age) = cache::load(ws, &entries, &query)?;
            (sources, destination, Some(age))
        }
    };
    let prepared = prepare_with(ws, scope, entries, states, sources)?;
    let mut planned = finish_with(ws, prepared, destination)?;
    planned.cached = cached;
    Ok(planned)
}

/// The configured offers that state holds nothing of: an apply creates them.
fn new_offers<'e>(
    entries: &'e [Entry<'_>],
    states: &[Option<OfferState>],
) -> HashSet<(&'e str, SourceOfferId)> {
    entries
        .iter()
        .zip(states)
        .filter(|(entry, state)| {
            state.is_none() && entry.config.is_some() && entry.destination().is_iscale()
        })
        .map(|(entry, _)| {
            (
                entry.address.network.as_str(),
                entry.address.source_offer_id,
            )
        })
        .collect()
}

/// A run's offers pulled and rendered, before anything is read from the destination:
/// the first half of [`plan`]. `offers` may still be given a state (what `import`
/// does with an iScale offer it is about to record) before [`finish`] reads and diffs.
pub struct Prepared<'a> {
    entries: Vec<Entry<'a>>,
    scope: Scope,
    kinds: BTreeSet<ResourceKind>,
    complete: bool,
    pub offers: BTreeMap<Address, OfferWork>,
    notes: Vec<Note>,
    /// For rendering an offer's last-applied source, when a change needs its reasons.
    countries: CountryTable,
    stop_reasons: BTreeMap<Address, Reason>,
}

/// Checks the keys, pulls every source offer in `scope` and renders it.
pub async fn prepare<'a>(
    ws: &'a Workspace,
    clients: &Clients,
    scope: &Scope,
) -> Result<Prepared<'a>, PlanError> {
    prepare_reporting(ws, clients, scope, &|_, _| {}).await
}

/// [`prepare`], telling `pulled(done, total)` as source offers come in.
async fn prepare_reporting<'a>(
    ws: &'a Workspace,
    clients: &Clients,
    scope: &Scope,
    pulled: &(dyn Fn(usize, usize) + Sync),
) -> Result<Prepared<'a>, PlanError> {
    let entries = entries_in_scope(ws, scope)?;
    let states = load_states(ws, &entries)?;
    let sources = read_sources(ws, clients, &entries, pulled, &|_, _, _| {}).await?;
    prepare_with(ws, scope, entries, states, sources)
}

/// The state of each entry, in order.
fn load_states(
    ws: &Workspace,
    entries: &[Entry<'_>],
) -> Result<Vec<Option<OfferState>>, PlanError> {
    entries
        .iter()
        .map(|entry| {
            let address = &entry.address;
            Ok(ws.store.load(&address.network, address.source_offer_id)?)
        })
        .collect()
}

/// What a plan reads from the source networks: the country table (when an override
/// needs it) and each entry's source offer, in the order of the entries (`None`: nothing
/// to pull).
struct SourceReads {
    countries: Option<CountryTable>,
    pulls: Vec<Option<Result<Pulled, PullError>>>,
}

/// Told of each source offer as soon as it is known (network, id, the offer without its
/// landing pages), before its links are read.
type Arrived<'a> = dyn Fn(&str, SourceOfferId, &SourceSnapshot) + Sync + 'a;

/// Checks the keys, reads the country table and pulls the source offers, all at once
/// (`arrived` hears of each source offer as it arrives).
async fn read_sources(
    ws: &Workspace,
    clients: &Clients,
    entries: &[Entry<'_>],
    pulled: &(dyn Fn(usize, usize) + Sync),
    arrived: &Arrived<'_>,
) -> Result<SourceReads, PlanError> {
    let (identities, countries, pulls) = tokio::join!(
        check_identities(ws, clients, entries),
        country_table(clients, entries),
        pull_all(clients, entries, pulled, arrived),
    );
    // Reported in this order whatever failed first: a wrong key explains the rest.
    identities?;
    let countries = countries?;
    let pulls = pulls.map_err(|error| PlanError::Offers(vec![error.to_string()]))?;
    Ok(SourceReads { countries, pulls })
}

/// [`prepare`] once the entries, their states and the source reads are there: renders
/// each offer; no I/O but the state folder.
fn prepare_with<'a>(
    ws: &'a Workspace,
    scope: &Scope,
    entries: Vec<Entry<'a>>,
    states: Vec<Option<OfferState>>,
    sources: SourceReads,
) -> Result<Prepared<'a>, PlanError> {
    let kinds = scope.kinds();
    let SourceReads { countries, pulls } = sources;
    let countries = countries.unwrap_or_default();

    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut offers: BTreeMap<Address, OfferWork> = BTreeMap::new();
    let mut stop_reasons: BTreeMap<Address, Reason> = BTreeMap::new();

    for ((entry, pulled), state) in entries.iter().zip(pulls).zip(states) {
        let address = &entry.address;
        let destination = entry.destination();
        if let Err(problem) = offerit::check_entry(ws, entry, state.as_ref()) {
            problems.push(problem);
            continue;
        }
        let mut work = OfferWork {
            destination: state.as_ref().map_or(destination, OfferState::destination),
            state,
            ..OfferWork::default()
        };
        match (entry.network, entry.config, pulled) {
            (Some(network), Some(config), Some(pulled)) => match pulled {
                Ok(Pulled::Found(snapshot)) => {
                    let rendered = match destination {
                        Destination::Iscale => render_entry(
                            ws, network, config, &snapshot, &countries,
                        )
                        .map(|rendered| {
                            let notes = rendered.notes.clone();
                            work.rendered = Some(rendered);
                            notes
                        }),
                        Destination::Offerit => {
                            offerit::render_entry(ws, network, config, &snapshot).map(|rendered| {
                                let notes = rendered.notes.clone();
                                work.offerit = Some(rendered);
                                notes
                            })
                        }
                    };
                    match rendered {
                        Ok(messages) => {
                            notes.extend(messages.into_iter().map(|message| Note {
                                address: address.clone(),
                                message,
                            }));
                            work.snapshot = Some(*snapshot);
                        }
                        Err(problem) => problems.push(format!("{address}: {problem}")),
                    }
                }
                Ok(Pulled::Unavailable { reason }) => {
                    if work.state.is_some() {
                        notes.push(Note {
                            address: address.clone(),
                            message: format!(
                                "{reason}; its {} offer is paused",
                                work.destination.title()
                            ),
                        });
                        stop_reasons.insert(address.clone(), Reason::UnavailableAtSource);
                    } else {
                        problems.push(format!("{address}: {reason}"));
                    }
                }
                Err(error) => problems.push(error.to_string()),
            },
            _ => {
                stop_reasons.insert(address.clone(), Reason::RemovedFromConfig);
            }
        }
        offers.insert(address.clone(), work);
    }
    if !problems.is_empty() {
        return Err(PlanError::Offers(problems));
    }
    Ok(Prepared {
        entries,
        scope: scope.clone(),
        kinds,
        complete: scope.is_complete(),
        offers,
        notes,
        countries,
        stop_reasons,
    })
}

/// Pulls the source offer of every entry that has a config, each network's at once
/// (their limiters pace them), in the order of `entries` (`None`: nothing to pull).
async fn pull_all(
    clients: &Clients,
    entries: &[Entry<'_>],
    pulled: &(dyn Fn(usize, usize) + Sync),
    arrived: &Arrived<'_>,
) -> Result<Vec<Option<Result<Pulled, PullError>>>, PullError> {
    let mut ids: BTreeMap<&str, Vec<SourceOfferId>> = BTreeMap::new();
    for entry in entries {
        if let Some(network) = entry.network.filter(|_| entry.config.is_some()) {
            ids.entry(&network.name)
                .or_default()
                .push(entry.address.source_offer_id);
        }
    }
    let total: usize = ids.values().map(Vec::len).sum();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tell = || pulled(done.fetch_add(1, Ordering::Relaxed) + 1, total);
    let by_network = futures_util::future::try_join_all(ids.iter().map(|(name, ids)| {
        let tell = &tell;
        let arrived = |id: SourceOfferId, snapshot: &SourceSnapshot| arrived(name, id, snapshot);
        async move {
            let pulls =
                source::pull_offers(&clients.sources[*name], name, ids, &arrived, tell).await?;
            Ok::<_, PullError>(
                ids.iter()
                    .copied()
                    .zip(pulls)
                    .map(move |(id, pull)| ((*name, id), pull)),
            )
        }
    }))
    .await?;
    let mut pulls: BTreeMap<(&str, SourceOfferId), Result<Pulled, PullError>> =
        by_network.into_iter().flatten().collect();
    Ok(entries
        .iter()
        .map(|entry| {
            let network = entry.network.filter(|_| entry.config.is_some())?;
            pulls.remove(&(network.name.as_str(), entry.address.source_offer_id))
        })
        .collect())
}

/// Reads what the destination holds for the prepared offers and diffs each one: the
/// second half of [`plan`].
pub async fn finish(
    ws: &Workspace,
    clients: &Clients,
    prepared: Prepared<'_>,
) -> Result<Planned, PlanError> {
    let query = DestinationQuery::new(ws, &prepared.scope, &prepared.entries, |index| {
        let work = &prepared.offers[&prepared.entries[index].address];
        (
            work.state.as_ref(),
            work.rendered.is_some() || work.offerit.is_some(),
        )
    });
    let reads = read_destination(ws, clients, &query).await?;
    finish_with(ws, prepared, reads)
}

/// Diffs the prepared offers against what the destination holds.
fn finish_with(
    ws: &Workspace,
    prepared: Prepared<'_>,
    reads: DestinationReads,
) -> Result<Planned, PlanError> {
    let Prepared {
        entries,
        scope,
        kinds,
        complete,
        mut offers,
        mut notes,
        countries,
        stop_reasons,
    } = prepared;
    let configs: BTreeMap<&Address, (&DesiredNetwork, &OfferConfig)> = entries
        .iter()
        .filter_map(|entry| Some((&entry.address, (entry.network?, entry.config?))))
        .collect();
    let DestinationReads {
        mut live,
        mut pixels,
        advertisers,
    } = reads;
    adopt_unrecorded(&mut offers, &mut live, &mut notes);
    let hasher = secret_hasher(&ws.settings);
    notes.extend(offerit::not_visible_notes(&offers));

    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (address, work) in &mut offers {
        work.live_pixels = pixels.remove(address).unwrap_or_default();
        if work.destination == Destination::Offerit {
            let stop_reason = stop_reasons
                .get(address)
                .copied()
                .unwrap_or(Reason::RemovedFromConfig);
            let config = configs.get(address).copied();
            let found = offerit::diff(
                ws,
                address,
                work,
                config,
                &kinds,
                stop_reason,
                hasher.as_ref(),
                &mut notes,
            )?;
            match found.is_empty() {
                true if work.state.is_some() => unchanged += 1,
                _ => changes.extend(found),
            }
            continue;
        }
        attach_live(work, &mut live);
        let stop_reason = stop_reasons
            .get(address)
            .copied()
            .unwrap_or(Reason::RemovedFromConfig);
        let context = OfferContext {
            previous: None,
            stop_reason,
            kinds: &kinds,
            hasher: hasher.as_ref(),
        };
        let mut found = diff_offer(address, work, &context);
        // The last-applied source only tells the reasons of a change: rendered (which
        // reads `offer.json`) only for an offer that has one.
        if !found.is_empty()
            && work.rendered.is_some()
            && let Some(&(network, config)) = configs.get(address)
            && let Some(previous) = previous_render(ws, network, config, |snapshot| {
                render_entry(ws, network, config, snapshot, &countries).ok()
            })?
        {
            let context = OfferContext {
                previous: Some(&previous),
                ..context
            };
            found = diff_offer(address, work, &context);
        }
        if let Some(state) = work.state.as_ref().filter(|state| state.imported)
            && !found.is_empty()
        {
            found.iter_mut().for_each(since_import);
            notes.push(Note {
                address: address.clone(),
                message: format!(
                    "imported from iScale offer {} (`offersync import`) and nothing applied \
                     since: what differs is how iScale had it, not a change of the config",
                    state.offer.id
                ),
            });
        }
        match found.is_empty() {
            true if work.live.is_some() => unchanged += 1,
            _ => changes.extend(found),
        }
    }
    if let Some(hasher) = &hasher {
        changes.extend(diff_advertisers(ws, &scope, &advertisers, hasher)?);
    }
    Ok(Planned {
        plan: Plan::new(changes, notes, unchanged),
        offers,
        advertisers,
        complete,
        cached: None,
    })
}

/// The offers a run covers: those configured, plus those recorded in state that are no
/// longer configured (including whole desired files that were removed).
fn entries_in_scope<'a>(ws: &'a Workspace, scope: &Scope) -> Result<Vec<Entry<'a>>, PlanError> {
    let mut known_networks: BTreeSet<String> = ws
        .desired
        .iter()
        .map(|network| network.name.clone())
        .collect();
    known_networks.extend(ws.store.networks()?);
    for name in scope
        .networks
        .iter()
        .chain(scope.offers.iter().map(|address| &address.network))
    {
        if !known_networks.contains(name) {
            return Err(PlanError::Scope(format!(
                "no desired file or state for network `{name}`"
            )));
        }
    }

    let mut entries = Vec::new();
    for name in &known_networks {
        if !scope.network(name) {
            continue;
        }
        let network = ws.network(name);
        let configured: Vec<&OfferConfig> = network
            .map(|network| network.file.offers.iter().collect())
            .unwrap_or_default();
        let configured_ids: BTreeSet<SourceOfferId> = configured
            .iter()
            .map(|offer| offer.source_offer_id)
            .collect();
        for config in configured {
            entries.push(Entry {
                address: Address {
                    network: name.clone(),
                    source_offer_id: config.source_offer_id,
                },
                network,
                config: Some(config),
            });
        }
        for id in ws.store.offer_ids(name)? {
            if !configured_ids.contains(&id) {
                entries.push(Entry {
                    address: Address {
                        network: name.clone(),
                        source_offer_id: id,
                    },
                    network,
                    config: None,
                });
            }
        }
    }
    entries.retain(|entry| scope.offer(&entry.address));
    // A network's own address (its advertiser) needs no offer entry.
    for address in scope.offers.iter().filter(|address| !address.is_network()) {
        if !entries.iter().any(|entry| &entry.address == address) {
            return Err(PlanError::Scope(format!(
                "offer `{address}` is neither in {} nor in state",
                ws.network(&address.network).map_or_else(
                    || "a desired file".to_owned(),
                    |n| n.path.display().to_string()
                )
            )));
        }
    }
    Ok(entries)
}

fn render_entry(
    ws: &Workspace,
    network: &DesiredNetwork,
    config: &OfferConfig,
    snapshot: &SourceSnapshot,
    countries: &CountryTable,
) -> Result<Rendered, crate::render::RenderError> {
    let iscale = ws
        .settings
        .iscale
        .as_ref()
        .expect("settings for a desired network include iScale");
    let settings = ws.settings.network(&network.name);
    let postbacks = network
        .file
        .postbacks
        .then(|| {
            Some(PostbackTarget {
                tracking_domain: iscale.tracking_domain.as_deref()?,
                network_id: iscale.network_id,
                token: settings.verification_token.as_ref()?,
            })
        })
        .flatten();
    render(RenderInput {
        network: settings,
        default_margin: iscale.margin,
        file: &network.file,
        offer: config,
        snapshot,
        countries,
        postbacks,
    })
}

/// The last-applied source rendered with today's config: what tells a source change from
/// a config change. Unknown when nothing was applied yet or it no longer renders.
/// `render` is the destination's render of a snapshot.
fn previous_render<T>(
    ws: &Workspace,
    network: &DesiredNetwork,
    config: &OfferConfig,
    render: impl FnOnce(&SourceSnapshot) -> Option<T>,
) -> Result<Option<T>, PlanError> {
    let snapshot = ws
        .store
        .load_snapshot(&network.name, config.source_offer_id)?;
    Ok(snapshot.as_ref().and_then(render))
}

/// Whether some `geo.countries` override needs the country table.
fn needs_countries(entries: &[Entry<'_>]) -> bool {
    // Offerit takes countries by code: only iScale needs their ids.
    entries
        .iter()
        .filter(|entry| entry.destination().is_iscale())
        .any(|entry| {
            entry
                .config
                .and_then(|config| config.geo.as_ref())
                .is_some_and(|geo| geo.countries.is_some())
        })
}

/// Country ids by code, read only when some `geo.countries` override needs them.
async fn country_table(
    clients: &Clients,
    entries: &[Entry<'_>],
) -> Result<Option<CountryTable>, PlanError> {
    let Some(api) = clients.iscale.as_ref().filter(|_| needs_countries(entries)) else {
        return Ok(None);
    };
    let countries = api.countries().await.map_err(PlanError::Destination)?;
    Ok(Some(CountryTable::new(countries.into_iter().map(
        |country| {
            (
                country.country_code,
                country.country_id,
                country.country_name,
            )
        },
    ))))
}

/// What the destination reads of a plan ask for; known before the source offers are
/// pulled, so both are read at the same time.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct DestinationQuery {
    kinds: BTreeSet<ResourceKind>,
    /// The advertisers whose offers are listed.
    advertisers: BTreeSet<u64>,
    /// Recorded iScale offers.
    ids: BTreeSet<u64>,
    /// Marker labels of offers to be created: an earlier run may have created them
    /// without recording it.
    markers: BTreeSet<String>,
    /// Source networks whose pixels are managed.
    pixel_networks: BTreeSet<String>,
    /// Networks whose advertiser's verification token is managed.
    token_networks: BTreeSet<String>,
}

impl DestinationQuery {
    /// `offer(index)`: the state of entry `index` and whether it may be created.
    fn new<'s>(
        ws: &Workspace,
        scope: &Scope,
        entries: &[Entry<'_>],
        offer: impl Fn(usize) -> (Option<&'s OfferState>, bool),
    ) -> Self {
        let kinds = scope.kinds();
        let mut query = DestinationQuery {
            advertisers: BTreeSet::new(),
            ids: BTreeSet::new(),
            markers: BTreeSet::new(),
            pixel_networks: BTreeSet::new(),
            token_networks: BTreeSet::new(),
            kinds,
        };
        for (index, entry) in entries.iter().enumerate() {
            let (state, wanted) = offer(index);
            if let Some(network) = entry.network
                && entry.config.is_some()
                && network.file.postbacks
            {
                query.pixel_networks.insert(network.name.clone());
            }
            // Offerit is never read: what it holds is what state recorded.
            let destination = state.map_or(entry.destination(), OfferState::destination);
            if destination == Destination::Offerit {
                continue;
            }
            match (state, wanted) {
                (Some(state), _) => {
                    query.ids.insert(state.offer.id);
                }
                (None, true) => {
                    query.markers.insert(iscale::marker(&entry.address));
                }
                (None, false) => {}
            }
            if let Some(network) = entry.network {
                query
                    .advertisers
                    .insert(ws.settings.network(&network.name).advertiser_id);
            }
        }
        if !query.kinds.contains(&ResourceKind::Postbacks) {
            query.pixel_networks.clear();
        } else {
            query.token_networks = ws
                .desired
                .iter()
                .filter(|network| {
                    scope.network(&network.name)
                        && network.file.postbacks
                        && network.file.destination.is_iscale()
                })
                .filter(|network| {
                    ws.settings
                        .network(&network.name)
                        .verification_token
                        .is_some()
                })
                .map(|network| network.name.clone())
                .collect();
        }
        query
    }
}

/// What a plan read from the destination and the source pixel lists.
struct DestinationReads {
    live: LiveDestination,
    /// Our pixels in the source networks, by offer.
    pixels: BTreeMap<Address, Vec<LivePixel>>,
    /// Each network's advertiser, where its token is managed.
    advertisers: BTreeMap<String, Advertiser>,
}

/// The destination's offers and their objects, our source pixels and the advertisers,
/// all at once.
async fn read_destination(
    ws: &Workspace,
    clients: &Clients,
    query: &DestinationQuery,
) -> Result<DestinationReads, PlanError> {
    let refresh = async {
        let Some(api) = clients.iscale.as_ref() else {
            return Ok(LiveDestination::default());
        };
        iscale::refresh(
            api,
            &query.advertisers,
            &query.ids,
            &query.markers,
            &query.kinds,
        )
        .await
        .map_err(PlanError::Destination)
    };
    let (live, pixels, advertisers) = tokio::join!(
        refresh,
        source_pixels(clients, &query.pixel_networks),
        read_advertisers(ws, clients, &query.token_networks),
    );
    Ok(DestinationReads {
        live: live?,
        pixels: pixels?,
        advertisers: advertisers?,
    })
}

/// Takes over offers that iScale holds under an offer's marker label but state does not
/// record (a create whose answer was lost, a run killed before it wrote state): they are
/// recorded as they are live, and planned like any managed offer.
fn adopt_unrecorded(
    offers: &mut BTreeMap<Address, OfferWork>,
    live: &mut LiveDestination,
    notes: &mut Vec<Note>,
) {
    for (address, work) in offers.iter_mut() {
        if work.state.is_some() || work.rendered.is_none() {
            continue;
        }
        let marker = iscale::marker(address);
        let Some(found) = live.unrecorded.get(&marker) else {
            continue;
        };
        let fields = field_fingerprints(&live_offer_fields(&found.view));
        work.state = Some(OfferState::new(ManagedOffer {
            id: found.id(),
            fingerprint: combined_fingerprint(&fields),
            fields,
            events: iscale::event_ids(found),
        }));
        live.offers.insert(found.id(), found.clone());
        let mut message = format!(
            "iScale offer {} carries this offer's label `{marker}` but was never recorded \
             (an interrupted apply): it is adopted, not created again",
            found.id()
        );
        if let Some(ids) = live.duplicates.get(&marker) {
            let others: Vec<String> = ids
                .iter()
                .filter(|id| **id != found.id())
                .map(u64::to_string)
                .collect();
            message.push_str(&format!(
                "; iScale offers {} carry the same label and are left alone: pause them by hand",
                others.join(", ")
            ));
        }
        notes.push(Note {
            address: address.clone(),
            message,
        });
    }
}

/// Moves an offer's live objects from the run's reads into its work.
fn attach_live(work: &mut OfferWork, live: &mut LiveDestination) {
    let Some(id) = work.state.as_ref().map(|state| state.offer.id) else {
        return;
    };
    work.live = live.offers.remove(&id);
    if work.live.is_none() {
        return;
    }
    work.live_urls = live.urls.remove(&id).unwrap_or_default();
    work.live_rules = live.rules.remove(&id).unwrap_or_default();
    work.live_creatives = live.creatives.remove(&id).unwrap_or_default();
}

/// The reasons of a change to an imported offer that nothing was applied to since: what
/// differs from the desired config was found so in iScale, not changed in the config.
fn since_import(change: &mut Change) {
    for field in &mut change.fields {
        for reason in &mut field.reasons {
            if *reason == Reason::ConfigChanged {
                *reason = Reason::NotAppliedSinceImport;
            }
        }
        field.reasons.sort();
        field.reasons.dedup();
    }
    let reasons: BTreeSet<Reason> = change
        .fields
        .iter()
        .flat_map(|field| field.reasons.iter().copied())
        .collect();
    change.reasons = reasons.into_iter().collect();
}

/// What diffing one offer needs besides its work.
struct OfferContext<'a> {
    previous: Option<&'a Rendered>,
    stop_reason: Reason,
    kinds: &'a BTreeSet<ResourceKind>,
    /// Keyed digests for secret fields ([`secret_hasher`]).
    hasher: Option<&'a SecretHasher>,
}

/// Every change one offer needs, in apply order.
fn diff_offer(address: &Address, work: &mut OfferWork, context: &OfferContext<'_>) -> Vec<Change> {
    let OfferContext {
        previous,
        stop_reason,
        kinds,
        ..
    } = *context;
    let state = work.state.clone();
    let Some(rendered) = work.rendered.clone() else {
        // The offer stops: pause it; everything under it stays as it is.
        if !kinds.contains(&ResourceKind::Offer) {
            return Vec::new();
        }
        let inputs = offer_inputs(
            address,
            None,
            None,
            state.as_ref(),
            work.live.as_ref(),
            stop_reason,
        );
        return diff_resource(inputs).into_iter().collect();
    };
    let mut changes = Vec::new();
    let state_ref = state.as_ref();
    if kinds.contains(&ResourceKind::Offer) {
        let inputs = offer_inputs(
            address,
            Some(&rendered),
            previous,
            state_ref,
            work.live.as_ref(),
            stop_reason,
        );
        changes.extend(diff_resource(inputs));
        changes.extend(diff_resource(thumbnail_inputs(
            address,
            &rendered,
            previous,
            state_ref,
            work.live.as_ref(),
        )));
    }
    let offer_known = work.live.is_some();
    if kinds.contains(&ResourceKind::Urls) || kinds.contains(&ResourceKind::Rules) {
        let (url_changes, url_ids) = diff_urls(address, work, &rendered, previous, state_ref);
        work.url_ids = url_ids;
        if kinds.contains(&ResourceKind::Urls) {
            changes.extend(url_changes);
        }
    }
    if kinds.contains(&ResourceKind::Rules) {
        let (rule_changes, rule_ids) = diff_rules(address, work, &rendered, previous, state_ref);
        work.rule_ids = rule_ids;
        changes.extend(rule_changes);
    }
    if kinds.contains(&ResourceKind::Creatives) {
        let (creative_changes, creative_ids) =
            diff_creatives(address, work, &rendered, previous, state_ref);
        work.creative_ids = creative_ids;
        changes.extend(creative_changes);
    }
    if kinds.contains(&ResourceKind::Postbacks) {
        let previous = previous.map(|old| old.pixels.as_slice());
        changes.extend(pixel_changes(
            address,
            work,
            (&rendered.pixels, previous),
            state_ref,
            context.hasher,
        ));
    }
    if kinds.contains(&ResourceKind::Targeting) {
        let record = state_ref.and_then(|state| state.targeting.as_ref());
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: ResourceId::Targeting,
            desired: Some((
                targeting_fields(&rendered.targeting),
                Target::Targeting(rendered.targeting.clone()),
            )),
            previous: previous.map(|old| Some(targeting_fields(&old.targeting))),
            applied: record.map(applied),
            // Written by PATCH, not shown by GET (ISCALE): compared with what was applied.
            live: if offer_known {
                LiveState::Unobservable
            } else {
                LiveState::Missing
            },
            stop: Stop::Leave,
            drift: Reason::ChangedInDestination,
        }));
    }
    changes
}

fn applied(record: &ResourceRecord) -> Applied<'_> {
    Applied {
        fields: &record.fields,
        values: &record.values,
    }
}

fn offer_inputs<'a>(
    address: &'a Address,
    rendered: Option<&Rendered>,
    previous: Option<&Rendered>,
    state: Option<&'a OfferState>,
    live: Option<&LiveOffer>,
    stop_reason: Reason,
) -> ResourceInputs<'a> {
    ResourceInputs {
        address,
        resource: ResourceId::Offer,
        desired: rendered.map(|rendered| {
            (
                offer_fields(&rendered.offer),
                Target::Offer(Box::new(rendered.offer.clone())),
            )
        }),
        previous: previous.map(|old| Some(offer_fields(&old.offer))),
        applied: state.map(|state| Applied {
            fields: &state.offer.fields,
            values: &EMPTY,
        }),
        live: match live {
            Some(live) => LiveState::Known {
                id: live.id(),
                fields: live_offer_fields(&live.view),
                status: live.view.offer_status.clone(),
            },
            None => LiveState::Missing,
        },
        stop: Stop::Pause(stop_reason),
        drift: Reason::ChangedInDestination,
    }
}

static EMPTY: LiteMap<String, String> = LiteMap::new();

fn thumbnail_inputs<'a>(
    address: &'a Address,
    rendered: &Rendered,
    previous: Option<&Rendered>,
    state: Option<&'a OfferState>,
    live: Option<&LiveOffer>,
) -> ResourceInputs<'a> {
    let record = state.and_then(|state| state.thumbnail.as_ref());
    let recorded = record.and_then(|record| {
        Some((
            record.asset_url.as_deref()?,
            record.values.get("source")?.as_str(),
        ))
    });
    ResourceInputs {
        address,
        resource: ResourceId::Thumbnail,
        desired: Some((
            thumbnail_fields(&rendered.thumbnail),
            Target::Thumbnail(rendered.thumbnail.clone()),
        )),
        previous: previous.map(|old| Some(thumbnail_fields(&old.thumbnail))),
        applied: record.map(applied),
        live: match live {
            Some(live) => LiveState::Known {
                id: live.id(),
                fields: live_thumbnail_fields(&live.view.thumbnail_url, recorded),
                status: String::new(),
            },
            None => LiveState::Missing,
        },
        stop: Stop::Leave,
        drift: Reason::ChangedInDestination,
    }
}

/// The live object a managed resource stands for: by recorded id, else (when nothing was
/// recorded, e.g. an offer synced by hand before) by name among those no record claims.
fn match_live<'l, T>(
    live: &'l [Live<T>],
    recorded: Option<u64>,
    name: &str,
    claimed: &BTreeSet<u64>,
    id_of: impl Fn(&T) -> u64,
    name_of: impl Fn(&T) -> String,
) -> Option<&'l Live<T>> {
    match recorded {
        Some(id) => live.iter().find(|item| id_of(&item.view) == id),
        None => {
            let mut same_name = live.iter().filter(|item| {
                name_of(&item.view) == name && !claimed.contains(&id_of(&item.view))
            });
            // Two with the same name: do not guess.
            match (same_name.next(), same_name.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

fn known(id: u64, fields: Fields, status: &str) -> LiveState {
    LiveState::Known {
        id,
        fields,
        status: status.to_owned(),
    }
}

/// How to diff one kind of resource an offer has many of (URLs, rules, creatives).
struct Many<'a, S, V, K> {
    resource: fn(&K) -> ResourceId,
    key: fn(&S) -> K,
    /// What a live object is found by when nothing was recorded for it.
    name: fn(&S) -> String,
    fields: &'a dyn Fn(&S) -> Fields,
    target: fn(&S) -> Target,
    live_id: fn(&V) -> u64,
    live_name: fn(&V) -> String,
    /// The live object's fields and status, read through its record.
    live_state: &'a dyn Fn(&Live<V>, Option<&ResourceRecord>) -> LiveState,
    status_field: &'static str,
    /// What that status field says once the resource is gone.
    deleted: &'static str,
    /// Why a recorded resource is no longer wanted.
    removal_reason: &'a dyn Fn(&K) -> Reason,
    /// What an edit made outside offersync is called.
    drift: Reason,
}

/// Diffs every wanted resource of one kind against its record and live object, and
/// marks deleted the recorded ones no longer wanted. Returns the changes and the
/// destination id each wanted resource matched.
fn diff_many<S, V, K: Ord + Clone>(
    address: &Address,
    kind: &Many<'_, S, V, K>,
    wanted: &[S],
    previous: Option<&[S]>,
    records: Option<&LiteMap<K, ResourceRecord>>,
    live: &[Live<V>],
) -> (Vec<Change>, BTreeMap<K, u64>) {
    let mut claimed: BTreeSet<u64> = records
        .into_iter()
        .flat_map(|records| records.values().filter_map(|record| record.id))
        .collect();
    let mut matched = BTreeMap::new();
    let mut changes = Vec::new();
    for spec in wanted {
        let key = (kind.key)(spec);
        let record = records.and_then(|records| records.get(&key));
        let found = match_live(
            live,
            record.and_then(|record| record.id),
            &(kind.name)(spec),
            &claimed,
            kind.live_id,
            kind.live_name,
        );
        if let Some(found) = found {
            let id = (kind.live_id)(&found.view);
            matched.insert(key.clone(), id);
            claimed.insert(id);
        }
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: (kind.resource)(&key),
            desired: Some(((kind.fields)(spec), (kind.target)(spec))),
            previous: previous.map(|old| {
                old.iter()
                    .find(|candidate| (kind.key)(candidate) == key)
                    .map(kind.fields)
            }),
            applied: record.map(applied),
            live: found.map_or(LiveState::Missing, |found| (kind.live_state)(found, record)),
            stop: Stop::Leave,
            drift: kind.drift,
        }));
    }
    for (key, record) in records.into_iter().flatten() {
        if wanted.iter().any(|spec| &(kind.key)(spec) == key) {
            continue;
        }
        let found = record
            .id
            .and_then(|id| live.iter().find(|item| (kind.live_id)(&item.view) == id));
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: (kind.resource)(key),
            desired: None,
            previous: None,
            applied: Some(applied(record)),
            live: found.map_or(LiveState::Missing, |found| {
                (kind.live_state)(found, Some(record))
            }),
            stop: Stop::Delete {
                reason: (kind.removal_reason)(key),
                status_field: kind.status_field,
                value: kind.deleted,
            },
            drift: kind.drift,
        }));
    }
    (changes, matched)
}

fn diff_urls(
    address: &Address,
    work: &OfferWork,
    rendered: &Rendered,
    previous: Option<&Rendered>,
    state: Option<&OfferState>,
) -> (Vec<Change>, BTreeMap<u64, u64>) {
    let removal_reason = |id: &u64| url_removal_reason(work, *id);
    let kind = Many {
        resource: |id: &u64| ResourceId::Url(*id),
        key: |spec: &UrlSpec| spec.source_url_id,
        name: |spec: &UrlSpec| spec.name.clone(),
        fields: &url_fields,
        target: |spec: &UrlSpec| Target::Url(spec.clone()),
        live_id: |view: &UrlView| view.network_offer_url_id,
        live_name: |view: &UrlView| view.name.clone(),
        live_state: &|live: &LiveUrl, _| {
            known(
                live.view.network_offer_url_id,
                live_url_fields(&live.view),
                &live.view.url_status,
            )
        },
        status_field: "url_status",
        deleted: "deleted",
        removal_reason: &removal_reason,
        drift: Reason::ChangedInDestination,
    };
    diff_many(
        address,
        &kind,
        &rendered.urls,
        previous.map(|old| old.urls.as_slice()),
        state.map(|state| &state.urls),
        &work.live_urls,
    )
}

/// Why a recorded URL (or landing page) is no longer wanted: one still at the source was
/// left out by the config; otherwise the source dropped it.
fn url_removal_reason(work: &OfferWork, id: u64) -> Reason {
    let at_source = work.snapshot.as_ref().is_some_and(|snapshot| {
        let urls = &snapshot.offer.relationship.urls.0;
        urls.iter().any(|url| url.network_offer_url_id == id)
    });
    if at_source {
        Reason::ConfigChanged
    } else {
        Reason::SourceChanged
    }
}

/// How the live rules of an offer read in source terms: they name events and URLs by
/// destination id.
pub(crate) fn rule_names(work: &OfferWork, rendered: &Rendered) -> RuleNames {
    let mut names = RuleNames {
        urls: work
            .url_ids
            .iter()
            .map(|(source, dest)| (*dest, *source))
            .collect(),
        ..RuleNames::default()
    };
    if let Some(default) = rendered.offer.events.iter().find(|event| event.is_default) {
        names.events.insert(0, default.entry_name.clone());
    }
    if let Some(live) = &work.live {
        names.events.extend(
            iscale::event_ids(live)
                .into_iter()
                .map(|(name, id)| (id, name)),
        );
    }
    names
}

fn diff_rules(
    address: &Address,
    work: &OfferWork,
    rendered: &Rendered,
    previous: Option<&Rendered>,
    state: Option<&OfferState>,
) -> (Vec<Change>, BTreeMap<String, u64>) {
    let names = rule_names(work, rendered);
    let live_state = |rule: &LiveRule, _: Option<&ResourceRecord>| {
        known(
            rule.view.network_custom_payout_revenue_setting_id,
            live_rule_fields(&rule.view, &names),
            &rule.view.custom_setting_status,
        )
    };
    let kind = Many {
        resource: |key: &String| ResourceId::Rule(RuleKey(key.clone())),
        key: |spec: &RuleSpec| spec.key.0.clone(),
        name: |spec: &RuleSpec| spec.name.clone(),
        fields: &rule_fields,
        target: |spec: &RuleSpec| Target::Rule(spec.clone()),
        live_id: |view: &RuleView| view.network_custom_payout_revenue_setting_id,
        live_name: |view: &RuleView| view.name.clone(),
        live_state: &live_state,
        status_field: "custom_setting_status",
        deleted: "deleted",
        removal_reason: &|_| Reason::SourceChanged,
        drift: Reason::ChangedInDestination,
    };
    diff_many(
        address,
        &kind,
        &rendered.rules,
        previous.map(|old| old.rules.as_slice()),
        state.map(|state| &state.rules),
        &work.live_rules,
    )
}

fn diff_creatives(
    address: &Address,
    work: &OfferWork,
    rendered: &Rendered,
    previous: Option<&Rendered>,
    state: Option<&OfferState>,
) -> (Vec<Change>, BTreeMap<u64, u64>) {
    // An uploaded file shows as the destination's asset URL: compare it through the
    // record of which source file produced that asset.
    let live_state = |creative: &LiveCreative, record: Option<&ResourceRecord>| {
        let file = record.and_then(|record| {
            Some((
                record.asset_url.as_deref()?,
                record.values.get("file")?.as_str(),
            ))
        });
        known(
            creative.view.network_offer_creative_id,
            live_creative_fields(&creative.view, file),
            &creative.view.creative_status,
        )
    };
    let kind = Many {
        resource: |id: &u64| ResourceId::Creative(*id),
        key: |spec: &CreativeSpec| spec.source_creative_id,
        name: |spec: &CreativeSpec| spec.name.clone(),
        fields: &creative_fields,
        target: |spec: &CreativeSpec| Target::Creative(spec.clone()),
        live_id: |view: &CreativeView| view.network_offer_creative_id,
        live_name: |view: &CreativeView| view.name.clone(),
        live_state: &live_state,
        status_field: "creative_status",
        deleted: "deleted",
        removal_reason: &|_| Reason::SourceChanged,
        drift: Reason::ChangedInDestination,
    };
    diff_many(
        address,
        &kind,
        &rendered.creatives,
        previous.map(|old| old.creatives.as_slice()),
        state.map(|state| &state.creatives),
        &work.live_creatives,
    )
}

/// The changes of an offer's pixels (`pixels` wanted now, and in the last-applied
/// render), with the pixel ids they matched kept in `work`. None without a hasher.
fn pixel_changes(
    address: &Address,
    work: &mut OfferWork,
    (pixels, previous): (&[PixelSpec], Option<&[PixelSpec]>),
    state: Option<&OfferState>,
    hasher: Option<&SecretHasher>,
) -> Vec<Change> {
    let Some(hasher) = hasher else {
        return Vec::new();
    };
    let (changes, pixel_ids) = diff_pixels(address, work, pixels, previous, state, hasher);
    work.pixel_ids = pixel_ids;
    changes
}

fn diff_pixels(
    address: &Address,
    work: &OfferWork,
    pixels: &[PixelSpec],
    previous: Option<&[PixelSpec]>,
    state: Option<&OfferState>,
    hasher: &SecretHasher,
) -> (Vec<Change>, BTreeMap<String, u64>) {
    // `postbacks: false`: the pixels are the operator's to manage; leave them alone.
    if pixels.is_empty() {
        return (Vec::new(), BTreeMap::new());
    }
    // Event pixels report iScale's event id: known once the iScale offer exists.
    let events = work
        .live
        .as_ref()
        .map(iscale::event_ids)
        .unwrap_or_default();
    let resolve = |pixels: &[PixelSpec]| -> Vec<PixelSpec> {
        pixels
            .iter()
            .cloned()
            .map(|mut pixel| {
                pixel.event_id = pixel
                    .event
                    .as_ref()
                    .and_then(|name| events.get(name).copied());
                pixel
            })
            .collect()
    };
    let wanted = resolve(pixels);
    let before = previous.map(resolve);
    let fields = |spec: &PixelSpec| pixel_fields(spec, hasher);
    let live_state = |pixel: &LivePixel, _: Option<&ResourceRecord>| {
        known(
            pixel.view.network_pixel_id,
            live_pixel_fields(&pixel.view, hasher),
            &pixel.view.pixel_status,
        )
    };
    let kind = Many {
        resource: |key: &String| ResourceId::Pixel(key.clone()),
        key: |spec: &PixelSpec| spec.key.clone(),
        // Found without a record by offer, type and event (the offer is given).
        name: |spec: &PixelSpec| spec.key.clone(),
        fields: &fields,
        target: |spec: &PixelSpec| Target::Pixel(Box::new(spec.clone())),
        live_id: |view: &PixelView| view.network_pixel_id,
        live_name: crate::pixels::pixel_key,
        live_state: &live_state,
        status_field: "pixel_status",
        deleted: "inactive",
        removal_reason: &|_| Reason::SourceChanged,
        // Pixels live in the source network: an edit there is not an edit in iScale.
        drift: Reason::ChangedOutside,
    };
    diff_many(
        address,
        &kind,
        &wanted,
        before.as_deref(),
        state.map(|state| &state.pixels),
        &work.live_pixels,
    )
}

/// Our pixels in every source network whose postbacks are managed, by offer: one list
/// call per network, the networks at once.
async fn source_pixels(
    clients: &Clients,
    networks: &BTreeSet<String>,
) -> Result<BTreeMap<Address, Vec<LivePixel>>, PlanError> {
    let lists = futures_util::future::try_join_all(networks.iter().map(|name| async move {
        let pixels = clients.sources[name]
            .pixels()
            .await
            .map_err(|error| PlanError::Offers(vec![format!("{name}: {error}")]))?;
        Ok::<_, PlanError>((name.clone(), pixels))
    }))
    .await?;
    Ok(pixels_by_offer(lists))
}

/// Each network's pixel list cut by the offer each pixel belongs to.
fn pixels_by_offer(
    lists: impl IntoIterator<Item = (String, Vec<LivePixel>)>,
) -> BTreeMap<Address, Vec<LivePixel>> {
    let mut by_offer: BTreeMap<Address, Vec<LivePixel>> = BTreeMap::new();
    for (name, pixels) in lists {
        for pixel in pixels {
            let address = Address {
                network: name.clone(),
                source_offer_id: SourceOfferId(pixel.view.network_offer_id),
            };
            by_offer.entry(address).or_default().push(pixel);
        }
    }
    by_offer
}

/// The advertiser of each network whose verification token is managed, at once.
async fn read_advertisers(
    ws: &Workspace,
    clients: &Clients,
    networks: &BTreeSet<String>,
) -> Result<BTreeMap<String, Advertiser>, PlanError> {
    let Some(api) = clients.iscale.as_ref() else {
        return Ok(BTreeMap::new());
    };
    let read = futures_util::future::try_join_all(networks.iter().map(|name| async move {
        let advertiser = api
            .advertiser(ws.settings.network(name).advertiser_id)
            .await
            .map_err(PlanError::Destination)?;
        Ok::<_, PlanError>((name.clone(), advertiser))
    }))
    .await?;
    Ok(read.into_iter().collect())
}

/// The verification token of each network's advertiser, where postbacks are managed.
fn diff_advertisers(
    ws: &Workspace,
    scope: &Scope,
    advertisers: &BTreeMap<String, Advertiser>,
    hasher: &SecretHasher,
) -> Result<Vec<Change>, PlanError> {
    let mut changes = Vec::new();
    for (name, advertiser) in advertisers {
        if !scope.network(name) {
            continue;
        }
        let settings = ws.settings.network(name);
        let Some(token) = &settings.verification_token else {
            continue;
        };
        let record = ws.store.load_advertiser(name)?;
        let address = Address::network(name);
        changes.extend(diff_resource(ResourceInputs {
            address: &address,
            resource: ResourceId::Advertiser,
            desired: Some((
                configured_token_fields(token, hasher),
                Target::Token(token.clone()),
            )),
            previous: None,
            applied: record.as_ref().map(applied),
            live: known(
                advertiser.network_advertiser_id,
                token_fields(&advertiser.verification_token, hasher),
                &advertiser.account_status,
            ),
            stop: Stop::Leave,
            drift: Reason::ChangedInDestination,
        }));
    }
    Ok(changes)
}

/// The keys must belong to the accounts the settings name: a wrong affiliate id would
/// silently send every conversion to someone else, a wrong network would write offers
/// into the wrong Everflow account.
async fn check_identities(
    ws: &Workspace,
    clients: &Clients,
    entries: &[Entry<'_>],
) -> Result<(), PlanError> {
    if entries.is_empty() {
        return Ok(());
    }
    let destination = async {
        let (Some(api), Some(iscale)) = (&clients.iscale, &ws.settings.iscale) else {
            return Ok(());
        };
        let identity = api.identity().await.map_err(PlanError::Destination)?;
        if identity.network_id != 0 && identity.network_id != iscale.network_id {
            return Err(PlanError::Identity(format!(
                "`ISCALE_API_KEY` belongs to Everflow network {}, but `ISCALE_NETWORK_ID` is {}",
                identity.network_id, iscale.network_id
            )));
        }
        Ok(())
    };
    let networks: BTreeSet<&str> = entries
        .iter()
        .filter(|entry| entry.config.is_some())
        .map(|entry| entry.address.network.as_str())
        .collect();
    let sources = networks.into_iter().map(|name| async move {
        let settings = ws.settings.network(name);
        let identity = clients.sources[name]
            .identity()
            .await
            .map_err(|error| PlanError::Offers(vec![format!("{name}: {error}")]))?;
        if identity.network_affiliate_id != 0
            && identity.network_affiliate_id != settings.affiliate_id
        {
            let prefix = crate::settings::env_prefix(name);
            return Err(PlanError::Identity(format!(
                "`{prefix}_API_KEY` belongs to affiliate {} in {name}, but `{prefix}_AFFILIATE_ID` is {}; \
                 links would credit the wrong affiliate",
                identity.network_affiliate_id, settings.affiliate_id
            )));
        }
        Ok(())
    });
    // All at once; reported in order (the destination's first) whatever failed first.
    let (destination, sources) = tokio::join!(destination, futures_util::future::join_all(sources));
    destination?;
    sources.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fields::FieldValue;
    use crate::plan::{Action, FieldChange};

    fn field(name: &str, reasons: Vec<Reason>) -> FieldChange {
        FieldChange {
            field: name.into(),
            before: Some(FieldValue::Text("hand".into())),
            after: Some(FieldValue::Text("desired".into())),
            reasons,
            lineage: None,
        }
    }

    #[test]
    fn after_import_a_config_difference_reads_as_not_applied_since_import() {
        let mut change = Change {
            address: Address::network("trimrx"),
            destination: Destination::Iscale,
            resource: ResourceId::Offer,
            action: Action::Update,
            destination_id: Some(1003),
            reasons: vec![
                Reason::SourceChanged,
                Reason::ConfigChanged,
                Reason::ChangedInDestination,
            ],
            fields: vec![
                field("name", vec![Reason::ConfigChanged]),
                field(
                    "preview_url",
                    vec![Reason::SourceChanged, Reason::ConfigChanged],
                ),
                field("visibility", vec![Reason::ChangedInDestination]),
            ],
            target: Target::Pause,
        };
        since_import(&mut change);
        let reasons: Vec<&[Reason]> = change
            .fields
            .iter()
            .map(|field| field.reasons.as_slice())
            .collect();
        assert_eq!(
            reasons,
            [
                &[Reason::NotAppliedSinceImport][..],
                &[Reason::SourceChanged, Reason::NotAppliedSinceImport],
                &[Reason::ChangedInDestination],
            ]
        );
        assert_eq!(
            change.reasons,
            [
                Reason::SourceChanged,
                Reason::NotAppliedSinceImport,
                Reason::ChangedInDestination
            ]
        );
    }
}
