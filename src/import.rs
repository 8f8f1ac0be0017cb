//! Import: bringing iScale offers that were synced by hand before offersync under
//! management, without recreating them and without writing to iScale or the sources.
//!
//! An imported offer is recorded as if offersync had applied what iScale holds: the
//! offer's id and event ids, and fingerprints of the LIVE values, so that a difference
//! from the desired config shows as a change and a later edit in iScale as drift. Its
//! URLs, payout rules, creatives and pixels are matched to the source's the way planning
//! matches what state does not record (by name; pixels by offer, type and event). The
//! source snapshot is recorded too, as apply does, so that the next plan can still tell
//! a source change from a config change.
//!
//! This module owns which iScale offer carries a source offer and what the record holds.
//! Pulling, rendering, reading iScale and matching are the planner's ([`planner::prepare`],
//! [`planner::finish`]); writing files is the state store's.

use litemap::LiteMap;
use std::collections::{BTreeMap, BTreeSet};

use crate::apply::{record_of, targeting_record, url_mapping};
use crate::destination::iscale;
use crate::everflow::ApiError;
use crate::everflow::network::LiveOffer;
use crate::plan::Address;
use crate::plan::fields::{combined_fingerprint, field_fingerprints};
use crate::plan::flatten::{
    live_creative_fields, live_offer_fields, live_pixel_fields, live_rule_fields,
    live_thumbnail_fields, live_url_fields, thumbnail_source,
};
use crate::planner::{self, OfferWork, PlanError, Scope};
use crate::render::CreativeContent;
use crate::secret::SecretHasher;
use crate::state::{ManagedOffer, OfferState, StateError};
use crate::workspace::{Clients, Workspace};

/// Which source offers to import.
#[derive(Clone, Debug)]
pub enum Selection {
    /// One source offer, carried by the iScale offer given.
    One {
        address: Address,
        iscale_offer: u64,
        /// Import it even when it belongs to another advertiser than the network's.
        force: bool,
    },
    /// Every offer of these networks' desired files (all networks when empty) that
    /// state does not record yet, each carried by the iScale offer of its network's
    /// advertiser that has the name offersync would give it.
    Networks(Vec<String>),
}

/// How to import.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Find and check everything, write nothing.
    pub dry_run: bool,
    /// Leave targeting unrecorded, so the next apply writes it (iScale does not show
    /// targeting, so import cannot tell whether the hand-made one is right).
    pub rewrite_targeting: bool,
}

/// What became of one source offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported(Imported),
    /// No iScale offer of the advertiser has its name: the next apply creates it.
    NoMatch {
        address: Address,
        name: String,
    },
    /// More than one iScale offer could be it (`ids`), or the one found could equally
    /// be another source offer's (`rivals`): not imported, nothing is guessed.
    Ambiguous {
        address: Address,
        name: String,
        ids: Vec<u64>,
        rivals: Vec<Address>,
    },
}

/// One offer recorded (or, in a dry run, that would be).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub address: Address,
    pub offer_id: u64,
    /// How many of each kind were matched and recorded.
    pub urls: usize,
    pub rules: usize,
    pub creatives: usize,
    pub pixels: usize,
    /// The offer's advertiser when it is not the network's (imported with `force`).
    pub other_advertiser: Option<u64>,
    /// Whether targeting was recorded as the desired config has it, unseen.
    pub targeting_assumed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no desired file for network `{0}`")]
    UnknownNetwork(String),
    #[error(
        "network `{0}` sends its offers to Offerit, which cannot be read back; import adopts iScale offers only"
    )]
    NotIscale(String),
    #[error("`{address}` is not in {file}; add it there first")]
    NotConfigured { address: Address, file: String },
    #[error("{address} is already managed: state records iScale offer {offer_id}")]
    AlreadyManaged { address: Address, offer_id: u64 },
    #[error("{address}: iScale offer {offer_id} is already recorded for {owner}")]
    Claimed {
        address: Address,
        offer_id: u64,
        owner: Address,
    },
    #[error("{address}: iScale offer {offer_id} does not exist")]
    NotFound { address: Address, offer_id: u64 },
    #[error("{address}: iScale offer {offer_id} is deleted")]
    Deleted { address: Address, offer_id: u64 },
    #[error(
        "{address}: iScale offer {offer_id} belongs to advertiser {actual}, not to {network}'s \
         advertiser {expected} (`{setting}`)\nhint: check the offer id, or pass `--force` to \
         import it anyway; the next plan then moves it to advertiser {expected}"
    )]
    OtherAdvertiser {
        address: Address,
        offer_id: u64,
        actual: u64,
        network: String,
        expected: u64,
        setting: String,
    },
    #[error("no iScale settings: `ISCALE_API_KEY` and `ISCALE_NETWORK_ID` are needed to import")]
    NoDestination,
    #[error("reading iScale: {0}")]
    Destination(#[source] ApiError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Finds the iScale offers that carry the selected source offers and records each as
/// applied (unless `options.dry_run`). Nothing is written to any API. Offers are
/// recorded one by one, each atomically: an error leaves the ones before it recorded.
pub async fn import(
    ws: &Workspace,
    clients: &Clients,
    selection: &Selection,
    options: Options,
) -> Result<Vec<Outcome>, ImportError> {
    let api = clients.iscale.as_ref().ok_or(ImportError::NoDestination)?;
    let recorded = recorded_offers(ws)?;
    let candidates = match selection {
        Selection::One {
            address,
            iscale_offer,
            force,
        } => {
            check_one(ws, &recorded, address, *iscale_offer)?;
            let live = match api.offer(*iscale_offer).await {
                Ok(live) => live,
                Err(error) if error.is_not_found() => {
                    return Err(ImportError::NotFound {
                        address: address.clone(),
                        offer_id: *iscale_offer,
                    });
                }
                Err(error) => return Err(ImportError::Destination(error)),
            };
            check_carrier(ws, address, &live, *force)?;
            vec![address.clone()]
        }
        Selection::Networks(networks) => unrecorded(ws, networks)?,
    };
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    let scope = Scope {
        offers: candidates.clone(),
        ..Scope::default()
    };
    let mut prepared = planner::prepare(ws, clients, &scope).await?;
    let mut outcomes = Vec::new();
    let carriers: BTreeMap<Address, u64> = match selection {
        Selection::One {
            address,
            iscale_offer,
            ..
        } => BTreeMap::from([(address.clone(), *iscale_offer)]),
        Selection::Networks(_) => {
            let names: BTreeMap<Address, String> = prepared
                .offers
                .iter()
                .filter_map(|(address, work)| {
                    Some((address.clone(), work.rendered.as_ref()?.offer.name.clone()))
                })
                .collect();
            let (found, unmatched) = match_by_name(ws, api, &recorded, &names).await?;
            outcomes.extend(unmatched);
            found
        }
    };
    // The planner reads and matches an offer's objects once state names its iScale
    // offer: give it that much, in memory only.
    for (address, id) in &carriers {
        if let Some(work) = prepared.offers.get_mut(address) {
            work.state = Some(OfferState::new(ManagedOffer {
                id: *id,
                fingerprint: combined_fingerprint(&LiteMap::new()),
                fields: LiteMap::new(),
                events: BTreeMap::new(),
            }));
        }
    }
    let planned = planner::finish(ws, clients, prepared).await?;
    let hasher = ws
        .settings
        .iscale
        .as_ref()
        .map(|iscale| SecretHasher::new(&iscale.api_key));
    for (address, id) in carriers {
        let work = &planned.offers[&address];
        let Some(live) = work.live.as_ref() else {
            return Err(ImportError::NotFound {
                address,
                offer_id: id,
            });
        };
        let state = record(work, live, hasher.as_ref(), options);
        let expected = ws.settings.network(&address.network).advertiser_id;
        let imported = Imported {
            address: address.clone(),
            offer_id: id,
            urls: state.urls.len(),
            rules: state.rules.len(),
            creatives: state.creatives.len(),
            pixels: state.pixels.len(),
            other_advertiser: Some(live.view.network_advertiser_id)
                .filter(|&actual| actual != expected),
            targeting_assumed: state.targeting.is_some(),
        };
        if !options.dry_run {
            if let (Some(snapshot), Some(rendered)) = (&work.snapshot, &work.rendered) {
                // The snapshot first: state.json is what makes the offer managed.
                ws.store.save_snapshot(
                    &address.network,
                    address.source_offer_id,
                    snapshot,
                    &url_mapping(snapshot, rendered),
                )?;
            }
            ws.store
                .save_state(&address.network, address.source_offer_id, &state)?;
        }
        outcomes.push(Outcome::Imported(imported));
    }
    outcomes.sort_by(|a, b| a.address().cmp(b.address()));
    Ok(outcomes)
}

impl Outcome {
    pub fn address(&self) -> &Address {
        match self {
            Outcome::Imported(imported) => &imported.address,
            Outcome::NoMatch { address, .. } | Outcome::Ambiguous { address, .. } => address,
        }
    }
}

/// Every iScale offer state records, with the source offer it carries.
fn recorded_offers(ws: &Workspace) -> Result<BTreeMap<u64, Address>, StateError> {
    let mut recorded = BTreeMap::new();
    for network in ws.store.networks()? {
        for id in ws.store.offer_ids(&network)? {
            if let Some(state) = ws.store.load(&network, id)? {
                recorded.insert(
                    state.offer.id,
                    Address {
                        network: network.clone(),
                        source_offer_id: id,
                    },
                );
            }
        }
    }
    Ok(recorded)
}

/// What can be checked of a single import before any call.
fn check_one(
    ws: &Workspace,
    recorded: &BTreeMap<u64, Address>,
    address: &Address,
    iscale_offer: u64,
) -> Result<(), ImportError> {
    let network = ws
        .network(&address.network)
        .ok_or_else(|| ImportError::UnknownNetwork(address.network.clone()))?;
    if !network.file.destination.is_iscale() {
        return Err(ImportError::NotIscale(address.network.clone()));
    }
    if network.offer(address.source_offer_id).is_none() {
        return Err(ImportError::NotConfigured {
            address: address.clone(),
            file: network.path.display().to_string(),
        });
    }
    if let Some(state) = ws.store.load(&address.network, address.source_offer_id)? {
        return Err(ImportError::AlreadyManaged {
            address: address.clone(),
            offer_id: state.offer.id,
        });
    }
    if let Some(owner) = recorded.get(&iscale_offer) {
        return Err(ImportError::Claimed {
            address: address.clone(),
            offer_id: iscale_offer,
            owner: owner.clone(),
        });
    }
    Ok(())
}

/// The iScale offer given for a source offer must be one offersync could manage for it:
/// not deleted, and (unless forced) its network's advertiser's. Another advertiser most
/// likely means a mistyped id; carrying on would move the offer to the network's
/// advertiser on the next apply.
fn check_carrier(
    ws: &Workspace,
    address: &Address,
    live: &LiveOffer,
    force: bool,
) -> Result<(), ImportError> {
    if live.view.offer_status == "deleted" {
        return Err(ImportError::Deleted {
            address: address.clone(),
            offer_id: live.id(),
        });
    }
    let expected = ws.settings.network(&address.network).advertiser_id;
    if live.view.network_advertiser_id != expected && !force {
        return Err(ImportError::OtherAdvertiser {
            address: address.clone(),
            offer_id: live.id(),
            actual: live.view.network_advertiser_id,
            network: address.network.clone(),
            expected,
            setting: format!(
                "{}_ADVERTISER_ID",
                crate::settings::env_prefix(&address.network)
            ),
        });
    }
    Ok(())
}

/// The configured offers of `networks` (every desired file when empty) that state does
/// not record.
fn unrecorded(ws: &Workspace, networks: &[String]) -> Result<Vec<Address>, ImportError> {
    for name in networks {
        match ws.network(name) {
            None => return Err(ImportError::UnknownNetwork(name.clone())),
            Some(network) if !network.file.destination.is_iscale() => {
                return Err(ImportError::NotIscale(name.clone()));
            }
            Some(_) => {}
        }
    }
    let mut addresses = Vec::new();
    for network in &ws.desired {
        // Offerit cannot be read back: there is nothing there to find and adopt.
        if (!networks.is_empty() && !networks.contains(&network.name))
            || !network.file.destination.is_iscale()
        {
            continue;
        }
        for offer in &network.file.offers {
            if ws
                .store
                .load(&network.name, offer.source_offer_id)?
                .is_none()
            {
                addresses.push(Address {
                    network: network.name.clone(),
                    source_offer_id: offer.source_offer_id,
                });
            }
        }
    }
    Ok(addresses)
}

/// Lists each network's advertiser's offers, and picks among them with [`choose`].
/// Offers state records, or that are deleted, are not candidates.
async fn match_by_name(
    ws: &Workspace,
    api: &crate::everflow::network::NetworkApi,
    recorded: &BTreeMap<u64, Address>,
    names: &BTreeMap<Address, String>,
) -> Result<(BTreeMap<Address, u64>, Vec<Outcome>), ImportError> {
    let networks: BTreeSet<&str> = names
        .keys()
        .map(|address| address.network.as_str())
        .collect();
    let mut offers_of: BTreeMap<String, Vec<LiveOffer>> = BTreeMap::new();
    for network in networks {
        let advertiser = ws.settings.network(network).advertiser_id;
        let offers = api
            .offers_of_advertiser(advertiser)
            .await
            .map_err(ImportError::Destination)?
            .into_iter()
            .filter(|offer| offer.view.offer_status != "deleted")
            .filter(|offer| !recorded.contains_key(&offer.id()))
            .collect();
        offers_of.insert(network.to_owned(), offers);
    }
    Ok(choose(&offers_of, names))
}

/// For each source offer (with the name offersync renders for it), the one offer among
/// its network's candidates that carries its label (an offer offersync created but never
/// recorded), else that has that name. An offer that two source offers would both take
/// goes to neither: nothing is guessed.
fn choose(
    offers_of: &BTreeMap<String, Vec<LiveOffer>>,
    names: &BTreeMap<Address, String>,
) -> (BTreeMap<Address, u64>, Vec<Outcome>) {
    let mut found: BTreeMap<&Address, Vec<u64>> = BTreeMap::new();
    for (address, name) in names {
        let offers = offers_of
            .get(&address.network)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let marker = iscale::marker(address);
        let labelled: Vec<u64> = offers
            .iter()
            .filter(|offer| offer.labels().contains(&marker))
            .map(LiveOffer::id)
            .collect();
        let mut ids = if labelled.is_empty() {
            offers
                .iter()
                .filter(|offer| &offer.view.name == name)
                .map(LiveOffer::id)
                .collect()
        } else {
            labelled
        };
        ids.sort_unstable();
        found.insert(address, ids);
    }

    let mut claimants: BTreeMap<u64, Vec<&Address>> = BTreeMap::new();
    for (address, ids) in &found {
        if let [id] = ids.as_slice() {
            claimants.entry(*id).or_default().push(*address);
        }
    }
    let mut matched = BTreeMap::new();
    let mut unmatched = Vec::new();
    for (address, ids) in &found {
        let name = names[*address].clone();
        let address = (*address).clone();
        match ids.as_slice() {
            [] => unmatched.push(Outcome::NoMatch { address, name }),
            [id] if claimants[id].len() == 1 => {
                matched.insert(address, *id);
            }
            [id] => {
                let rivals = claimants[id]
                    .iter()
                    .filter(|other| ***other != address)
                    .map(|other| (*other).clone())
                    .collect();
                unmatched.push(Outcome::Ambiguous {
                    address,
                    name,
                    ids: ids.clone(),
                    rivals,
                });
            }
            _ => unmatched.push(Outcome::Ambiguous {
                address,
                name,
                ids: ids.clone(),
                rivals: Vec::new(),
            }),
        }
    }
    (matched, unmatched)
}

/// The state an apply would have left had it written what `live` shows: the offer, and
/// each URL, rule, creative and pixel the planner matched, fingerprinted as they are
/// live (read through this very record where the destination shows a copy: an uploaded
/// file is the source's file while it is still the copy found at import).
fn record(
    work: &OfferWork,
    live: &LiveOffer,
    hasher: Option<&SecretHasher>,
    options: Options,
) -> OfferState {
    let rendered = work
        .rendered
        .as_ref()
        .expect("an offer to import is configured and rendered");
    let fields = field_fingerprints(&live_offer_fields(&live.view));
    let mut state = OfferState::new(ManagedOffer {
        id: live.id(),
        fingerprint: combined_fingerprint(&fields),
        fields,
        events: iscale::event_ids(live),
    });
    state.imported = true;

    // The image the offer shows stands for the source's until the source's changes.
    let thumbnail_url = &live.view.thumbnail_url;
    if !thumbnail_url.is_empty() {
        let source = thumbnail_source(&rendered.thumbnail);
        state.thumbnail = Some(record_of(
            None,
            &live_thumbnail_fields(thumbnail_url, Some((thumbnail_url, &source))),
            [
                ("source", source.clone()),
                ("used", "the image iScale showed at import".to_owned()),
            ],
            Some(thumbnail_url.clone()),
        ));
    }

    for spec in &rendered.urls {
        let found = work.url_ids.get(&spec.source_url_id).and_then(|id| {
            work.live_urls
                .iter()
                .find(|url| url.view.network_offer_url_id == *id)
        });
        if let Some(url) = found {
            let record = record_of(
                Some(url.view.network_offer_url_id),
                &live_url_fields(&url.view),
                [],
                None,
            );
            state.urls.insert(spec.source_url_id, record);
        }
    }

    let names = planner::rule_names(work, rendered);
    for spec in &rendered.rules {
        let found = work.rule_ids.get(&spec.key.0).and_then(|id| {
            work.live_rules
                .iter()
                .find(|rule| rule.view.network_custom_payout_revenue_setting_id == *id)
        });
        if let Some(rule) = found {
            let record = record_of(
                Some(rule.view.network_custom_payout_revenue_setting_id),
                &live_rule_fields(&rule.view, &names),
                [],
                None,
            );
            state.rules.insert(spec.key.0.clone(), record);
        }
    }

    for spec in &rendered.creatives {
        let found = work
            .creative_ids
            .get(&spec.source_creative_id)
            .and_then(|id| {
                work.live_creatives
                    .iter()
                    .find(|creative| creative.view.network_offer_creative_id == *id)
            });
        let Some(creative) = found else {
            continue;
        };
        let view = &creative.view;
        let id = Some(view.network_offer_creative_id);
        let record = match &spec.content {
            CreativeContent::File { source_url } if !view.resource_url.is_empty() => record_of(
                id,
                &live_creative_fields(view, Some((&view.resource_url, source_url))),
                [("file", source_url.clone())],
                Some(view.resource_url.clone()),
            ),
            _ => record_of(id, &live_creative_fields(view, None), [], None),
        };
        state.creatives.insert(spec.source_creative_id, record);
    }

    // Pixels live in the source network, where planning finds them without a record
    // too; recording them makes a later edit there show as one.
    if let Some(hasher) = hasher {
        for spec in &rendered.pixels {
            let found = work.pixel_ids.get(&spec.key).and_then(|id| {
                work.live_pixels
                    .iter()
                    .find(|pixel| pixel.view.network_pixel_id == *id)
            });
            if let Some(pixel) = found {
                let record = record_of(
                    Some(pixel.view.network_pixel_id),
                    &live_pixel_fields(&pixel.view, hasher),
                    [],
                    None,
                );
                state.pixels.insert(spec.key.clone(), record);
            }
        }
    }

    // iScale does not show targeting back: there is nothing live to record. Taking the
    // desired targeting as applied is what lets an import plan "No changes"; the caller
    // says so, and `rewrite_targeting` leaves it for the next apply to write instead.
    if !options.rewrite_targeting {
        state.targeting = Some(targeting_record(&rendered.targeting));
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::SourceOfferId;

    fn offer(id: u64, name: &str, labels: &[&str]) -> LiveOffer {
        let raw = serde_json::json!({"network_offer_id": id, "name": name, "labels": labels});
        LiveOffer::from_value(raw).unwrap()
    }

    fn address(id: u64) -> Address {
        Address {
            network: "trimrx".into(),
            source_offer_id: SourceOfferId(id),
        }
    }

    #[test]
    fn one_name_matches_none_or_several_do_not() {
        let offers = BTreeMap::from([(
            "trimrx".to_owned(),
            vec![
                offer(1001, "Alpha", &[]),
                offer(1003, "Beta", &[]),
                offer(1002, "Beta", &[]),
            ],
        )]);
        let names = BTreeMap::from([
            (address(1), "Alpha".to_owned()),
            (address(2), "Beta".to_owned()),
            (address(3), "Gamma".to_owned()),
        ]);
        let (matched, unmatched) = choose(&offers, &names);
        assert_eq!(matched, BTreeMap::from([(address(1), 1001)]));
        assert_eq!(
            unmatched,
            [
                Outcome::Ambiguous {
                    address: address(2),
                    name: "Beta".into(),
                    ids: vec![1002, 1003],
                    rivals: Vec::new(),
                },
                Outcome::NoMatch {
                    address: address(3),
                    name: "Gamma".into(),
                },
            ]
        );
    }

    #[test]
    fn the_label_wins_over_the_name() {
        let offers = BTreeMap::from([(
            "trimrx".to_owned(),
            vec![
                offer(1001, "Alpha", &[]),
                offer(1002, "Renamed", &["offersync:trimrx/1"]),
            ],
        )]);
        let names = BTreeMap::from([(address(1), "Alpha".to_owned())]);
        let (matched, unmatched) = choose(&offers, &names);
        assert_eq!(matched, BTreeMap::from([(address(1), 1002)]));
        assert!(unmatched.is_empty());
    }

    // Two source offers rendering the same name would otherwise both record one offer.
    #[test]
    fn an_offer_two_source_offers_would_take_goes_to_neither() {
        let offers = BTreeMap::from([("trimrx".to_owned(), vec![offer(1001, "Same", &[])])]);
        let names = BTreeMap::from([
            (address(1), "Same".to_owned()),
            (address(2), "Same".to_owned()),
        ]);
        let (matched, unmatched) = choose(&offers, &names);
        assert!(matched.is_empty());
        assert_eq!(
            unmatched,
            [
                Outcome::Ambiguous {
                    address: address(1),
                    name: "Same".into(),
                    ids: vec![1001],
                    rivals: vec![address(2)],
                },
                Outcome::Ambiguous {
                    address: address(2),
                    name: "Same".into(),
                    ids: vec![1001],
                    rivals: vec![address(1)],
                },
            ]
        );
    }
}
