//! Planning a run: for every offer in scope, pull the source, render what the destination
//! should hold, read what it does hold, and diff (DESIGN section 3).
//!
//! This is the I/O edge around the pure steps: it decides which offers are in scope,
//! calls the APIs, and hands plain data to `render` and `plan::diff`. It never writes.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{DesiredNetwork, OfferConfig, SourceOfferId};
use crate::destination::iscale;
use crate::everflow::ApiError;
use crate::everflow::network::LiveOffer;
use crate::plan::diff::{OfferInputs, diff_offer};
use crate::plan::{Address, Note, Plan, Reason};
use crate::render::{OfferSpec, RenderInput, render_offer};
use crate::source::{Pulled, SourceSnapshot, pull_offer};
use crate::state::OfferState;
use crate::workspace::{Clients, Workspace};

/// Which networks and offers a command works on (`--network`, `--offer`).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub networks: Vec<String>,
    pub offers: Vec<Address>,
}

impl Scope {
    fn network(&self, name: &str) -> bool {
        (self.networks.is_empty() || self.networks.iter().any(|n| n == name))
            && (self.offers.is_empty() || self.offers.iter().any(|a| a.network == name))
    }

    fn offer(&self, address: &Address) -> bool {
        self.network(&address.network) && (self.offers.is_empty() || self.offers.contains(address))
    }
}

/// A plan and what applying it needs.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub offers: BTreeMap<Address, OfferWork>,
}

/// What planning learned about one offer.
#[derive(Debug, Default)]
pub struct OfferWork {
    /// The source as pulled now (absent when the offer is to stop).
    pub snapshot: Option<SourceSnapshot>,
    pub state: Option<OfferState>,
    pub live: Option<LiveOffer>,
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

/// Plans every offer in `scope`.
pub async fn plan(ws: &Workspace, clients: &Clients, scope: &Scope) -> Result<Planned, PlanError> {
    let entries = entries_in_scope(ws, scope)?;
    check_identities(ws, clients, &entries).await?;

    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut offers: BTreeMap<Address, OfferWork> = BTreeMap::new();
    let mut desired: BTreeMap<Address, (OfferSpec, Option<OfferSpec>)> = BTreeMap::new();
    let mut stop_reasons: BTreeMap<Address, Reason> = BTreeMap::new();

    for entry in &entries {
        let address = &entry.address;
        let state = ws.store.load(&address.network, address.source_offer_id)?;
        let mut work = OfferWork {
            state,
            ..OfferWork::default()
        };
        match (entry.network, entry.config) {
            (Some(network), Some(config)) => {
                let api = &clients.sources[&network.name];
                match pull_offer(api, &network.name, address.source_offer_id).await {
                    Ok(Pulled::Found(snapshot)) => {
                        match render_entry(ws, network, config, &snapshot) {
                            Ok((spec, render_notes)) => {
                                let previous = previous_render(ws, network, config)?;
                                notes.extend(render_notes.into_iter().map(|message| Note {
                                    address: address.clone(),
                                    message,
                                }));
                                desired.insert(address.clone(), (spec, previous));
                                work.snapshot = Some(*snapshot);
                            }
                            Err(problem) => problems.push(format!("{address}: {problem}")),
                        }
                    }
                    Ok(Pulled::Unavailable { reason }) => {
                        if work.state.is_some() {
                            notes.push(Note {
                                address: address.clone(),
                                message: format!("{reason}; its iScale offer is paused"),
                            });
                            stop_reasons.insert(address.clone(), Reason::UnavailableAtSource);
                        } else {
                            problems.push(format!("{address}: {reason}"));
                        }
                    }
                    Err(error) => problems.push(error.to_string()),
                }
            }
            _ => {
                stop_reasons.insert(address.clone(), Reason::RemovedFromConfig);
            }
        }
        offers.insert(address.clone(), work);
    }
    if !problems.is_empty() {
        return Err(PlanError::Offers(problems));
    }

    refresh(ws, clients, &entries, &mut offers).await?;

    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (address, work) in &offers {
        let (spec, previous) = match desired.get(address) {
            Some((spec, previous)) => (Some(spec), previous.as_ref()),
            None => (None, None),
        };
        let change = diff_offer(OfferInputs {
            address,
            desired: spec,
            stop_reason: stop_reasons
                .get(address)
                .copied()
                .unwrap_or(Reason::RemovedFromConfig),
            previous,
            state: work.state.as_ref().map(|state| &state.offer),
            live: work.live.as_ref().map(|live| &live.view),
        });
        match change {
            Some(change) => changes.push(change),
            None if work.live.is_some() => unchanged += 1,
            None => {}
        }
    }
    Ok(Planned {
        plan: Plan::new(changes, notes, unchanged),
        offers,
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
    for address in &scope.offers {
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
) -> Result<(OfferSpec, Vec<String>), crate::render::RenderError> {
    let iscale = ws
        .settings
        .iscale
        .as_ref()
        .expect("settings for a desired network include iScale");
    let rendered = render_offer(RenderInput {
        network: ws.settings.network(&network.name),
        default_margin: iscale.margin,
        file: &network.file,
        offer: config,
        snapshot,
    })?;
    Ok((rendered.spec, rendered.notes))
}

/// The last-applied source rendered with today's config: what tells a source change from
/// a config change. Unknown when nothing was applied yet or it no longer renders.
fn previous_render(
    ws: &Workspace,
    network: &DesiredNetwork,
    config: &OfferConfig,
) -> Result<Option<OfferSpec>, PlanError> {
    let snapshot = ws
        .store
        .load_snapshot(&network.name, config.source_offer_id)?;
    Ok(snapshot.and_then(|snapshot| {
        render_entry(ws, network, config, &snapshot)
            .ok()
            .map(|(spec, _)| spec)
    }))
}

/// Reads the live destination offers of every entry that has one recorded.
async fn refresh(
    ws: &Workspace,
    clients: &Clients,
    entries: &[Entry<'_>],
    offers: &mut BTreeMap<Address, OfferWork>,
) -> Result<(), PlanError> {
    let ids: BTreeSet<u64> = offers
        .values()
        .filter_map(|work| work.state.as_ref().map(|state| state.offer.id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let advertisers: BTreeSet<u64> = entries
        .iter()
        .filter_map(|entry| entry.network)
        .map(|network| ws.settings.network(&network.name).advertiser_id)
        .collect();
    let api = clients
        .iscale
        .as_ref()
        .expect("iScale settings exist whenever state does");
    let mut live = iscale::refresh(api, &advertisers, &ids)
        .await
        .map_err(PlanError::Destination)?;
    for work in offers.values_mut() {
        if let Some(state) = &work.state {
            work.live = live.remove(&state.offer.id);
        }
    }
    Ok(())
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
    if let (Some(api), Some(iscale)) = (&clients.iscale, &ws.settings.iscale) {
        let identity = api.identity().await.map_err(PlanError::Destination)?;
        if identity.network_id != 0 && identity.network_id != iscale.network_id {
            return Err(PlanError::Identity(format!(
                "`ISCALE_API_KEY` belongs to Everflow network {}, but `ISCALE_NETWORK_ID` is {}",
                identity.network_id, iscale.network_id
            )));
        }
    }
    let networks: BTreeSet<&str> = entries
        .iter()
        .filter(|entry| entry.config.is_some())
        .map(|entry| entry.address.network.as_str())
        .collect();
    for name in networks {
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
    }
    Ok(())
}
