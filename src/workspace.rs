//! A workspace: the folder holding `desired/`, `state/`, `schemas/` and `.env.local`,
//! loaded and validated in one step with no network call (what `validate` checks).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::desired::{self, DesiredError, DesiredNetwork, Destination};
use crate::everflow::affiliate::AffiliateApi;
use crate::everflow::network::NetworkApi;
use crate::everflow::{Api, Client, ClientOptions};
use crate::offerit::{OfferitApi, OfferitOptions};
use crate::plan::Address;
use crate::settings::{EnvMap, NetworkRequest, Settings, SettingsError};
use crate::state::{StateError, StateStore};

/// Everything a command needs to know before it talks to any API.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub desired: Vec<DesiredNetwork>,
    pub settings: Settings,
    pub store: StateStore,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("workspace `{}` does not exist or is not a folder", .0.display())]
    NoWorkspace(PathBuf),
}

impl Workspace {
    /// Loads desired files and settings; `process_env` overrides `.env.local`.
    pub fn load(
        root: &Path,
        process_env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, LoadError> {
        if !root.is_dir() {
            return Err(LoadError::NoWorkspace(root.to_owned()));
        }
        let desired = desired::load_all(root)?;
        let env = EnvMap::load(root, process_env)?;
        let requests: Vec<NetworkRequest<'_>> = desired
            .iter()
            .map(|network| NetworkRequest {
                name: &network.name,
                desired_file: &network.path,
                destination: network.file.destination,
                postbacks: network.file.postbacks,
            })
            .collect();
        let store = StateStore::new(root);
        // Offers recorded for a network whose desired file is gone still live in their
        // destination (they will be paused there), so its settings are needed too.
        let recorded = orphan_destinations(&store, &desired)?;
        let settings = Settings::resolve(&env, &requests, &recorded)?;
        Ok(Self {
            root: root.to_owned(),
            desired,
            settings,
            store,
        })
    }

    pub fn network(&self, name: &str) -> Option<&DesiredNetwork> {
        self.desired.iter().find(|network| network.name == name)
    }

    /// Where a network's offers go: its desired file's destination, else (a network
    /// only state remembers) where they were recorded, else iScale.
    pub fn destination(&self, network: &str) -> Destination {
        if let Some(desired) = self.network(network) {
            return desired.file.destination;
        }
        let recorded = self.store.offer_ids(network).ok().and_then(|ids| {
            let first = *ids.first()?;
            Some(self.store.load(network, first).ok()??.destination())
        });
        recorded.unwrap_or_default()
    }

    /// Whether a plan can cover `address`: a network with a desired file, or an offer
    /// in its desired file or in state.
    pub fn knows(&self, address: &Address) -> bool {
        let configured = self.network(&address.network).is_some_and(|network| {
            address.is_network()
                || network
                    .file
                    .offers
                    .iter()
                    .any(|offer| offer.source_offer_id == address.source_offer_id)
        });
        configured
            || self
                .store
                .offer_ids(&address.network)
                .is_ok_and(|ids| ids.contains(&address.source_offer_id))
    }
}

/// The destinations of the offers state records for networks without a desired file.
fn orphan_destinations(
    store: &StateStore,
    desired: &[DesiredNetwork],
) -> Result<Vec<Destination>, StateError> {
    let mut found = Vec::new();
    for network in store.networks()? {
        if desired.iter().any(|desired| desired.name == network) {
            continue;
        }
        for id in store.offer_ids(&network)? {
            if let Some(state) = store.load(&network, id)?
                && !found.contains(&state.destination())
            {
                found.push(state.destination());
            }
        }
    }
    Ok(found)
}

/// API clients for one run: the destinations and each source network.
#[derive(Clone, Debug)]
pub struct Clients {
    pub iscale: Option<NetworkApi>,
    /// The Offerit install, when some network sends its offers there.
    pub offerit: Option<OfferitApi>,
    pub sources: std::collections::BTreeMap<String, AffiliateApi>,
}

impl Clients {
    pub fn new(settings: &Settings, options: &ClientOptions) -> Self {
        let iscale = settings.iscale.as_ref().map(|iscale| {
            let options = ClientOptions {
                rate_limit: Some(iscale.rate_limit),
                ..options.clone()
            };
            NetworkApi::new(Client::new(
                &settings.api_url,
                iscale.api_key.clone(),
                Api::Network,
                options,
            ))
        });
        // The URL was checked when the settings were read; a client that still cannot be
        // made leaves Offerit unreachable, which apply reports per offer.
        let offerit = settings.offerit.as_ref().and_then(|offerit| {
            OfferitApi::new(
                &offerit.url,
                offerit.api_key.clone(),
                offerit.api_username.clone(),
                OfferitOptions::default(),
            )
            .ok()
        });
        let sources = settings
            .networks
            .values()
            .map(|network| {
                let options = ClientOptions {
                    rate_limit: Some(network.rate_limit),
                    ..options.clone()
                };
                let client = Client::new(
                    &settings.api_url,
                    network.api_key.clone(),
                    Api::Affiliate,
                    options,
                );
                (network.name.clone(), AffiliateApi::new(client))
            })
            .collect();
        Self {
            iscale,
            offerit,
            sources,
        }
    }

    /// The clients of `workspace`'s settings, each bucket's limiter told what earlier runs
    /// spent of the current window; the returned memory writes what this run spent when
    /// it is dropped (`state/.cache/pacing.json`, Git-ignored: request times only).
    pub fn connect(workspace: &Workspace, options: &ClientOptions) -> (Self, PacingMemory) {
        let clients = Self::new(&workspace.settings, options);
        let memory = PacingMemory {
            path: workspace.root.join(PACING_FILE),
            clients: clients.clone(),
        };
        memory.resume();
        (clients, memory)
    }

    /// Each bucket's limiter by the settings' name of its key (`iscale`, a network).
    fn limiters(&self) -> impl Iterator<Item = (&str, &crate::everflow::pacing::Limiter)> {
        self.iscale
            .iter()
            .map(|api| ("iscale", api.client().limiter()))
            .chain(
                self.sources
                    .iter()
                    .map(|(name, api)| (name.as_str(), api.client().limiter())),
            )
    }
}

/// Where a run leaves the times of its last window's requests for the next run.
const PACING_FILE: &str = "state/.cache/pacing.json";

/// What a run spent of each bucket's window, kept for the next run (see
/// [`Clients::connect`]). A cache: unreadable or unwritable, it is ignored.
#[derive(Debug)]
pub struct PacingMemory {
    path: PathBuf,
    clients: Clients,
}

impl PacingMemory {
    fn resume(&self) {
        let Ok(text) = std::fs::read(&self.path) else {
            return;
        };
        let Ok(spent) = serde_json::from_slice::<BTreeMap<String, Vec<u64>>>(&text) else {
            tracing::debug!("ignoring {}: not a pacing file", self.path.display());
            return;
        };
        let now = unix_millis();
        for (name, limiter) in self.clients.limiters() {
            if let Some(times) = spent.get(name) {
                limiter.book_earlier(
                    times
                        .iter()
                        .map(|&at| std::time::Duration::from_millis(now.saturating_sub(at))),
                );
            }
        }
    }
}

impl Drop for PacingMemory {
    fn drop(&mut self) {
        let now = unix_millis();
        let spent: BTreeMap<&str, Vec<u64>> = self
            .clients
            .limiters()
            .map(|(name, limiter)| {
                let ages = limiter.recent();
                let times = ages
                    .iter()
                    .map(|age| {
                        now.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
                    })
                    .collect();
                (name, times)
            })
            .filter(|(_, times): &(&str, Vec<u64>)| !times.is_empty())
            .collect();
        // Only beside a state that exists: a run that writes nothing else (a dry run, a
        // plan in a fresh folder) leaves no `state/` behind.
        let state_exists = self
            .path
            .ancestors()
            .nth(2)
            .is_some_and(std::path::Path::is_dir);
        if !state_exists || (spent.is_empty() && !self.path.exists()) {
            return;
        }
        let written = serde_json::to_vec(&spent)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::fsutil::write_atomic(&self.path, &bytes));
        if let Err(error) = written {
            tracing::debug!("cannot write {}: {error}", self.path.display());
        }
    }
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}
