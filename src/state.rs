//! State on disk (DESIGN section 4.4): per offer `state/<network>/<source_offer_id>/` with
//! the seed's files and `state.json` (ids and last-applied fingerprints).
//!
//! The committed files describe what was last APPLIED; only apply writes them, each file
//! atomically, right after the write it records (and `import`, recording offers made by
//! hand as if applied). They are stable for Git (sorted keys, no timestamps) and hold no
//! secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use litemap::LiteMap;
use serde::{Deserialize, Serialize};

use crate::desired::{Destination, SourceOfferId};
use crate::fsutil::{stable_json, write_atomic, write_atomic_in};
use crate::plan::fields::Fingerprint;
use crate::source::{LandingPage, SourceSnapshot};

pub const STATE_DIR: &str = "state";
const STATE_FILE: &str = "state.json";
const OFFER_FILE: &str = "offer.json";
const URL_MAPPING_FILE: &str = "url_mapping.json";
const CREATE_PAYLOAD_FILE: &str = "create_payload.json";
const OFFER_ID_FILE: &str = "iscale_offer_id.txt";
/// The same for an offer that lives in Offerit.
const OFFERIT_OFFER_ID_FILE: &str = "offerit_offer_id.txt";
/// What a network itself has in iScale (its advertiser's token), beside its offers.
const ADVERTISER_FILE: &str = "advertiser.json";

/// Bumped when the shape of `state.json` changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// `state.json` of one source offer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfferState {
    pub format_version: u32,
    pub offer: ManagedOffer,
    /// The thumbnail: `values` holds where its image was to come from (`source`) and
    /// what was used (`used`); `asset_url` the offer's thumbnail after the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ResourceRecord>,
    /// Offer URLs by source URL id.
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub urls: LiteMap<u64, ResourceRecord>,
    /// Custom payout rules by rule key (`<source event id>:<source URL ids>`).
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub rules: LiteMap<String, ResourceRecord>,
    /// Creatives by source creative id.
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub creatives: LiteMap<u64, ResourceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeting: Option<ResourceRecord>,
    /// Pixels in the source network by key (`conversion`, `event:<source event id>`).
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub pixels: LiteMap<String, ResourceRecord>,
    /// Recorded by `offersync import` from an offer made by hand, and not yet fully
    /// applied since: the fingerprints are of what iScale showed, not of what offersync
    /// wrote. The first complete apply of the offer clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    /// Set when the offer lives in Offerit rather than iScale: what Offerit cannot show
    /// back. `offer` then records the Offerit offer (its `offerid` and fields), `urls`
    /// its further landing pages, `pixels` the source's pixels posting to Offerit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerit: Option<OfferitRecord>,
}

/// What state keeps of an Offerit offer besides its id and field fingerprints: Offerit
/// has no endpoint that reads an offer back, so the values as applied are what the next
/// plan compares with and shows as "before".
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfferitRecord {
    /// The landing page `add_offer` made with the offer (the first source URL's).
    pub landing_page_id: u64,
    /// The offer's managed values as last applied, as text.
    pub values: LiteMap<String, String>,
    /// The offer's goals as last set (`set_offer_goals`), when any were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goals: Option<ResourceRecord>,
}

impl OfferState {
    /// Where the offer lives.
    pub fn destination(&self) -> Destination {
        if self.offerit.is_some() {
            Destination::Offerit
        } else {
            Destination::Iscale
        }
    }

    pub fn new(offer: ManagedOffer) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            offer,
            thumbnail: None,
            urls: LiteMap::new(),
            rules: LiteMap::new(),
            creatives: LiteMap::new(),
            targeting: None,
            pixels: LiteMap::new(),
            imported: false,
            offerit: None,
        }
    }
}

/// A managed resource other than the offer, as last applied.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResourceRecord {
    /// The destination's id (none for targeting, which is part of the offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub fingerprint: Fingerprint,
    /// Fingerprint per managed field.
    pub fields: LiteMap<String, Fingerprint>,
    /// Values as applied, for what the destination does not show back (targeting; the
    /// source file of a creative).
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub values: LiteMap<String, String>,
    /// The destination's copy of an uploaded file, to tell it from a later edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_url: Option<String>,
}

/// The destination offer offersync manages for a source offer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManagedOffer {
    /// The destination's offer id (`network_offer_id` in iScale, `offerid` in Offerit).
    pub id: u64,
    /// Fingerprint of every managed field as last applied.
    pub fingerprint: Fingerprint,
    /// Fingerprint per managed field as last applied: how a plan tells an edit made in
    /// the destination from a change at the source or in the config.
    pub fields: LiteMap<String, Fingerprint>,
    /// Destination event ids by entry name, as far as known.
    #[serde(default)]
    pub events: BTreeMap<String, u64>,
}

/// One line of `url_mapping.json`: a source URL, its landing page, and the destination
/// URL offersync built from it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UrlMapping {
    pub source_url_id: u64,
    pub name: String,
    pub landing_page: String,
    pub destination_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The `state/` folder of a workspace.
#[derive(Clone, Debug)]
pub struct StateStore {
    workspace: PathBuf,
}

impl StateStore {
    pub fn new(workspace: &Path) -> Self {
        Self {
            workspace: workspace.to_owned(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.workspace.join(STATE_DIR)
    }

    /// The folder of one offer, relative to the workspace (for messages).
    pub fn shown_dir(network: &str, id: SourceOfferId) -> PathBuf {
        Path::new(STATE_DIR).join(network).join(id.to_string())
    }

    fn dir(&self, network: &str, id: SourceOfferId) -> PathBuf {
        self.workspace.join(Self::shown_dir(network, id))
    }

    /// Networks that have a state folder, sorted.
    pub fn networks(&self) -> Result<Vec<String>, StateError> {
        let root = self.root();
        let mut names: Vec<String> = list_dirs(&root, Path::new(STATE_DIR))?
            .into_iter()
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Source offers of a network that have a `state.json`, in id order.
    pub fn offer_ids(&self, network: &str) -> Result<Vec<SourceOfferId>, StateError> {
        let dir = self.root().join(network);
        let shown = Path::new(STATE_DIR).join(network);
        let mut ids: Vec<SourceOfferId> = list_dirs(&dir, &shown)?
            .into_iter()
            .filter_map(|name| name.parse::<u64>().ok())
            .filter(|&id| id > 0)
            .map(SourceOfferId)
            .filter(|&id| self.dir(network, id).join(STATE_FILE).is_file())
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub fn load(&self, network: &str, id: SourceOfferId) -> Result<Option<OfferState>, StateError> {
        let Some(state) = self.read_json::<OfferState>(network, id, STATE_FILE)? else {
            return Ok(None);
        };
        if state.format_version != FORMAT_VERSION {
            return Err(StateError::Read {
                path: Self::shown_dir(network, id).join(STATE_FILE),
                reason: format!(
                    "format_version {} is not supported by this offersync (expected {FORMAT_VERSION})",
                    state.format_version
                ),
            });
        }
        Ok(Some(state))
    }

    /// The source snapshot as last applied (`offer.json` + `url_mapping.json`).
    pub fn load_snapshot(
        &self,
        network: &str,
        id: SourceOfferId,
    ) -> Result<Option<SourceSnapshot>, StateError> {
        let Some(raw) = self.read_json::<serde_json::Value>(network, id, OFFER_FILE)? else {
            return Ok(None);
        };
        let mapping = self
            .read_json::<Vec<UrlMapping>>(network, id, URL_MAPPING_FILE)?
            .unwrap_or_default();
        let landing_pages = mapping
            .into_iter()
            .map(|entry| {
                (
                    entry.source_url_id,
                    LandingPage {
                        name: entry.name,
                        url: entry.landing_page,
                    },
                )
            })
            .collect();
        SourceSnapshot::new(id, &raw, landing_pages)
            .map(Some)
            .map_err(|reason| StateError::Read {
                path: Self::shown_dir(network, id).join(OFFER_FILE),
                reason,
            })
    }

    /// Records the ids and fingerprints of what was just applied. Called after every
    /// write, so the id that prevents a duplicate is on disk before the next request.
    pub fn save_state(
        &self,
        network: &str,
        id: SourceOfferId,
        state: &OfferState,
    ) -> Result<(), StateError> {
        let dir = self.dir(network, id);
        let offer_id = format!("{}\n", state.offer.id);
        let name = match state.destination() {
            Destination::Iscale => OFFER_ID_FILE,
            Destination::Offerit => OFFERIT_OFFER_ID_FILE,
        };
        let state = stable_json(state);
        let mut files = vec![(Path::new(STATE_FILE), state.as_slice())];
        // The id is set once, by the offer's create; the other writes leave it be. Both
        // go in one folder sync.
        if !std::fs::read(dir.join(name)).is_ok_and(|written| written == offer_id.as_bytes()) {
            files.push((Path::new(name), offer_id.as_bytes()));
        }
        self.write_in(&dir, &files)
    }

    /// The network's advertiser as last applied (`state/<network>/advertiser.json`).
    pub fn load_advertiser(&self, network: &str) -> Result<Option<ResourceRecord>, StateError> {
        let path = self.root().join(network).join(ADVERTISER_FILE);
        let shown = Path::new(STATE_DIR).join(network).join(ADVERTISER_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|error| StateError::Read {
                        path: shown,
                        reason: error.to_string(),
                    })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StateError::Read {
                path: shown,
                reason: error.to_string(),
            }),
        }
    }

    pub fn save_advertiser(
        &self,
        network: &str,
        record: &ResourceRecord,
    ) -> Result<(), StateError> {
        self.write(
            &self.root().join(network).join(ADVERTISER_FILE),
            &stable_json(record),
        )
    }

    /// Records the source as applied (`offer.json`, `url_mapping.json`), once everything
    /// it asked for is in the destination.
    pub fn save_snapshot(
        &self,
        network: &str,
        id: SourceOfferId,
        snapshot: &SourceSnapshot,
        url_mapping: &[UrlMapping],
    ) -> Result<(), StateError> {
        let dir = self.dir(network, id);
        let (offer, mapping) = (stable_json(snapshot.raw()), stable_json(url_mapping));
        self.write_in(
            &dir,
            &[
                (Path::new(OFFER_FILE), &offer),
                (Path::new(URL_MAPPING_FILE), &mapping),
            ],
        )
    }

    /// Keeps the body an offer was created with (`create_payload.json`, seed 000).
    pub fn save_create_payload(
        &self,
        network: &str,
        id: SourceOfferId,
        payload: &serde_json::Value,
    ) -> Result<(), StateError> {
        self.write(
            &self.dir(network, id).join(CREATE_PAYLOAD_FILE),
            &stable_json(payload),
        )
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        write_atomic(path, bytes).map_err(|source| self.write_error(path, source))
    }

    /// Files of one folder, named relative to it, in one folder sync.
    fn write_in(&self, dir: &Path, files: &[(&Path, &[u8])]) -> Result<(), StateError> {
        write_atomic_in(dir, files).map_err(|source| {
            let path = match files {
                [(name, _)] => dir.join(name),
                _ => dir.to_owned(),
            };
            self.write_error(&path, source)
        })
    }

    fn write_error(&self, path: &Path, source: std::io::Error) -> StateError {
        StateError::Write {
            path: path
                .strip_prefix(&self.workspace)
                .unwrap_or(path)
                .to_owned(),
            source,
        }
    }

    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        network: &str,
        id: SourceOfferId,
        file: &str,
    ) -> Result<Option<T>, StateError> {
        let path = self.dir(network, id).join(file);
        let shown = Self::shown_dir(network, id).join(file);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(StateError::Read {
                    path: shown,
                    reason: error.to_string(),
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| StateError::Read {
                path: shown,
                reason: format!("{error}"),
            })
    }
}

fn list_dirs(dir: &Path, shown: &Path) -> Result<Vec<String>, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(StateError::Read {
                path: shown.to_owned(),
                reason: error.to_string(),
            });
        }
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: u64) -> OfferState {
        let mut state = OfferState::new(ManagedOffer {
            id,
            fingerprint: Fingerprint::of(b"offer"),
            fields: LiteMap::from_iter([("name".into(), Fingerprint::of(b"name"))]),
            events: BTreeMap::from([("Base".into(), 9)]),
        });
        state.urls.insert(
            102,
            ResourceRecord {
                id: Some(5),
                fingerprint: Fingerprint::of(b"url"),
                fields: LiteMap::new(),
                values: LiteMap::new(),
                asset_url: None,
            },
        );
        state
    }

    #[test]
    fn round_trips_state_and_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let snapshot = SourceSnapshot::new(
            SourceOfferId(3),
            &serde_json::json!({"network_offer_id": 3, "name": "x"}),
            BTreeMap::from([(
                0,
                LandingPage {
                    name: "Default".into(),
                    url: "https://a.test/".into(),
                },
            )]),
        )
        .unwrap();
        let mapping = [UrlMapping {
            source_url_id: 0,
            name: "Default".into(),
            landing_page: "https://a.test/".into(),
            destination_url: "https://a.test/?oid=3".into(),
        }];
        store
            .save_state("trimrx", SourceOfferId(3), &state(77))
            .unwrap();
        store
            .save_snapshot("trimrx", SourceOfferId(3), &snapshot, &mapping)
            .unwrap();
        store
            .save_create_payload(
                "trimrx",
                SourceOfferId(3),
                &serde_json::json!({"name": "x"}),
            )
            .unwrap();
        assert_eq!(store.networks().unwrap(), ["trimrx"]);
        assert_eq!(store.offer_ids("trimrx").unwrap(), [SourceOfferId(3)]);
        assert_eq!(
            store.load("trimrx", SourceOfferId(3)).unwrap(),
            Some(state(77))
        );
        assert_eq!(
            store.load_snapshot("trimrx", SourceOfferId(3)).unwrap(),
            Some(snapshot)
        );
        let id_file = dir.path().join("state/trimrx/3/iscale_offer_id.txt");
        assert_eq!(std::fs::read_to_string(id_file).unwrap(), "77\n");
    }

    #[test]
    fn corrupt_state_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/trimrx/3/state.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{").unwrap();
        let error = StateStore::new(dir.path())
            .load("trimrx", SourceOfferId(3))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("state/trimrx/3/state.json: "), "{error}");
    }
}
