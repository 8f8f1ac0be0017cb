//! Saved plans (`plan --out FILE`, `apply FILE`): apply exactly what a reviewer saw.
//!
//! A saved plan holds the plan as `plan --json` shows it, and for every offer it changes
//! what that plan was based on: fingerprints of the source offer, of the desired config
//! and settings that apply to it, of its objects in iScale (with iScale's `time_saved`
//! for people) and of its pixels in the source network, plus a fingerprint of the
//! changes themselves. `apply FILE` plans those offers again and compares: an offer
//! whose basis moved is stale and refused, by name and with the reason; the others get
//! exactly the changes that were saved (planning unchanged inputs gives the same
//! changes, and that too is checked).
//!
//! Fingerprints are keyed digests (`SecretHasher`, keyed with the iScale key, or the
//! Offerit key where there is no iScale), so a plan
//! file says nothing about the values behind them; tokens in the plan are masked as
//! everywhere. A plan file is tied to the offersync version that wrote it, like
//! Terraform's: the fingerprints cover internal shapes that may change between versions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::plan::{Address, Change, ResourceKind};
use crate::planner::{OfferWork, Planned, Scope};
use crate::secret::SecretHasher;
use crate::timefmt::format_utc;
use crate::workspace::Workspace;

/// What the file says it is, so that any other JSON is refused by name.
const KIND: &str = "offersync saved plan";
/// Bumped when the file's shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// The file `plan --out` writes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: u32,
    pub offersync_version: String,
    /// The kinds of resources planned (`--only`); empty for all.
    pub only: Vec<String>,
    /// What each changed offer (or network, for its advertiser) was based on, by address.
    pub basis: BTreeMap<String, Basis>,
    /// The plan, in the shape of `plan --json` (docs/plan-json.md).
    pub plan: serde_json::Value,
}

/// What one address's changes were planned from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basis {
    /// The source offer as pulled (the fields offersync reads, and its landing pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The desired entry, the network's desired options and the settings it renders with.
    pub config: String,
    /// Its objects in iScale: the offer, URLs, payout rules, creatives (typed fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscale: Option<String>,
    /// iScale's `time_saved` of the offer, to tell people when it was edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iscale_time_saved: Option<u64>,
    /// Our pixels on it in the source network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixels: Option<String>,
    /// The planned changes themselves.
    pub changes: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{} is not an offersync saved plan: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "{} was saved by offersync {saved}; this is offersync {running}\nhint: run `offersync plan --out` again with this version",
        path.display()
    )]
    Version {
        path: PathBuf,
        saved: String,
        running: String,
    },
    #[error("cannot write the saved plan {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An offer of a saved plan whose basis moved since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub address: Address,
    /// What moved, in words.
    pub why: Vec<String>,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.address, self.why.join("; "))
    }
}

impl SavedPlan {
    /// The saved form of `planned`, made with `kinds` in scope.
    pub fn new(ws: &Workspace, planned: &Planned, kinds: &BTreeSet<ResourceKind>) -> Self {
        let basis = bases(ws, planned)
            .into_iter()
            .map(|(address, basis)| (address.to_string(), basis))
            .collect();
        Self {
            kind: KIND.to_owned(),
            format_version: FORMAT_VERSION,
            offersync_version: env!("CARGO_PKG_VERSION").to_owned(),
            only: kinds.iter().map(|kind| kind_name(*kind)).collect(),
            basis,
            plan: serde_json::to_value(&planned.plan).expect("a plan serializes"),
        }
    }

    /// Writes the plan to `file`, which people know as `path`.
    pub fn write(&self, file: &Path, path: &Path) -> Result<(), SavedPlanError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a saved plan serializes");
        bytes.push(b'\n');
        write_atomic(file, &bytes).map_err(|source| SavedPlanError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads the plan in `file`, which people know as `path`.
    pub fn read(file: &Path, path: &Path) -> Result<Self, SavedPlanError> {
        let text = std::fs::read_to_string(file).map_err(|error| SavedPlanError::Read {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        let invalid = |reason: String| SavedPlanError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| invalid(format!("not JSON ({error})")))?;
        if value.get("kind").and_then(serde_json::Value::as_str) != Some(KIND) {
            return Err(invalid(format!("it has no `\"kind\": \"{KIND}\"`")));
        }
        let saved: Self =
            serde_json::from_value(value).map_err(|error| invalid(error.to_string()))?;
        let running = env!("CARGO_PKG_VERSION");
        if saved.format_version != FORMAT_VERSION || saved.offersync_version != running {
            return Err(SavedPlanError::Version {
                path: path.to_owned(),
                saved: saved.offersync_version,
                running: running.to_owned(),
            });
        }
        Ok(saved)
    }

    /// The addresses with saved changes; those that do not parse are refused as invalid.
    pub fn addresses(&self, path: &Path) -> Result<Vec<Address>, SavedPlanError> {
        self.basis
            .keys()
            .map(|key| {
                key.parse().map_err(|_| SavedPlanError::Invalid {
                    path: path.to_owned(),
                    reason: format!("`{key}` is not a network or NETWORK/ID"),
                })
            })
            .collect()
    }

    /// What to plan again: exactly the saved addresses, with the saved kinds.
    pub fn scope(&self, path: &Path, addresses: Vec<Address>) -> Result<Scope, SavedPlanError> {
        let kinds = self
            .only
            .iter()
            .map(|name| {
                <ResourceKind as clap::ValueEnum>::from_str(name, false).map_err(|_| {
                    SavedPlanError::Invalid {
                        path: path.to_owned(),
                        reason: format!("`{name}` is not a kind of resource"),
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Scope {
            networks: Vec::new(),
            offers: addresses,
            kinds,
        })
    }

    /// Compares the saved basis with `fresh` (planned again over [`Self::scope`]):
    /// the offers that moved, and why. `gone` are saved addresses that can no longer be
    /// planned at all.
    pub fn stale(&self, ws: &Workspace, fresh: &Planned, gone: &[Address]) -> Vec<Stale> {
        let mut stale = Vec::new();
        for (key, saved) in &self.basis {
            let Ok(address) = key.parse::<Address>() else {
                continue;
            };
            let why = if gone.contains(&address) {
                vec!["it is no longer in its desired file nor in state".to_owned()]
            } else {
                differences(saved, &basis(ws, fresh, &address))
            };
            if !why.is_empty() {
                stale.push(Stale { address, why });
            }
        }
        stale
    }
}

/// Why a basis moved, most telling first.
fn differences(saved: &Basis, now: &Basis) -> Vec<String> {
    let mut why = Vec::new();
    if saved.source != now.source {
        why.push(match now.source {
            Some(_) => "the source offer changed since the plan".to_owned(),
            None => "the source offer is no longer available".to_owned(),
        });
    }
    if saved.config != now.config {
        why.push("its desired config or settings changed since the plan".to_owned());
    }
    if saved.iscale != now.iscale {
        let when = match (saved.iscale_time_saved, now.iscale_time_saved) {
            (Some(before), Some(after)) if before != after => format!(
                " (saved at {}, the plan saw {})",
                format_utc(after),
                format_utc(before)
            ),
            _ => String::new(),
        };
        why.push(format!("it was edited in iScale since the plan{when}"));
    }
    if saved.pixels != now.pixels {
        why.push("its pixels in the source network changed since the plan".to_owned());
    }
    if why.is_empty() && saved.changes != now.changes {
        why.push("planning it again gives other changes".to_owned());
    }
    why
}

/// The basis of every address with changes in `planned`.
fn bases(ws: &Workspace, planned: &Planned) -> BTreeMap<Address, Basis> {
    let addresses: BTreeSet<&Address> = planned
        .plan
        .changes
        .iter()
        .map(|change| &change.address)
        .collect();
    addresses
        .into_iter()
        .map(|address| (address.clone(), basis(ws, planned, address)))
        .collect()
}

/// What `address`'s changes in `planned` are based on (also when it has none).
fn basis(ws: &Workspace, planned: &Planned, address: &Address) -> Basis {
    let digest = Digester::new(ws);
    let changes: Vec<&Change> = planned
        .plan
        .changes
        .iter()
        .filter(|change| &change.address == address)
        .collect();
    let work = planned.offers.get(address);
    Basis {
        source: work.and_then(|work| source_digest(&digest, work)),
        config: config_digest(&digest, ws, address),
        iscale: work.and_then(|work| iscale_digest(&digest, work)),
        iscale_time_saved: work
            .and_then(|work| work.live.as_ref())
            .and_then(|live| live.view.time_saved),
        pixels: work
            .filter(|work| !work.live_pixels.is_empty())
            .map(|work| digest.of(&format!("{:?}", views(&work.live_pixels)))),
        changes: digest.of(&serde_json::to_string(&changes).expect("changes serialize")),
    }
}

fn source_digest(digest: &Digester, work: &OfferWork) -> Option<String> {
    let snapshot = work.snapshot.as_ref()?;
    let text = serde_json::to_string(&(&snapshot.offer, &snapshot.landing_pages))
        .expect("a source offer serializes");
    Some(digest.of(&text))
}

/// The typed views are what offersync compares; the raw objects also carry counters
/// (caps, reporting) that move without anyone editing anything.
fn iscale_digest(digest: &Digester, work: &OfferWork) -> Option<String> {
    let live = work.live.as_ref()?;
    Some(digest.of(&format!(
        "{:?}|{:?}|{:?}|{:?}",
        live.view,
        views(&work.live_urls),
        views(&work.live_rules),
        views(&work.live_creatives)
    )))
}

fn views<T>(live: &[crate::everflow::types::Live<T>]) -> Vec<&T> {
    live.iter().map(|object| &object.view).collect()
}

/// Everything besides the source that renders into an offer: its desired entry, its
/// network's options (not the guards, which decide whether to apply, not what), and the
/// settings (keys excepted; the token by its digest).
fn config_digest(digest: &Digester, ws: &Workspace, address: &Address) -> String {
    let network = ws.network(&address.network);
    let mut options = network
        .and_then(|network| serde_json::to_value(&network.file).ok())
        .unwrap_or_default();
    if let Some(options) = options.as_object_mut() {
        options.remove("offers");
        options.remove("guards");
    }
    let entry = network.and_then(|network| {
        network
            .file
            .offers
            .iter()
            .find(|offer| offer.source_offer_id == address.source_offer_id)
    });
    let settings = ws.settings.networks.get(&address.network).map(|settings| {
        (
            settings.affiliate_id,
            settings.advertiser_id,
            settings
                .verification_token
                .as_ref()
                .map(|token| digest.of(token.expose())),
        )
    });
    let iscale = ws.settings.iscale.as_ref().map(|iscale| {
        (
            iscale.network_id,
            iscale.tracking_domain.clone(),
            iscale.margin.to_string(),
        )
    });
    let offerit = ws.settings.offerit.as_ref().map(|offerit| {
        (
            offerit.url.as_str(),
            offerit.tracking_domain.clone(),
            offerit.margin.to_string(),
        )
    });
    let text = serde_json::to_string(&(options, entry, settings, iscale, offerit))
        .expect("config serializes");
    digest.of(&text)
}

/// Keyed when there is a key to key with.
struct Digester(Option<SecretHasher>);

impl Digester {
    fn new(ws: &Workspace) -> Self {
        Self(crate::planner::secret_hasher(&ws.settings))
    }

    fn of(&self, text: &str) -> String {
        match &self.0 {
            Some(hasher) => hasher.digest(text),
            None => crate::plan::fields::short_hash(text.as_bytes()),
        }
    }
}

/// The kind as `--only` names it.
fn kind_name(kind: ResourceKind) -> String {
    clap::ValueEnum::to_possible_value(&kind)
        .expect("every kind has a name")
        .get_name()
        .to_owned()
}
