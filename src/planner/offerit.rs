//! Planning the offers of networks that go to Offerit (issue 8).
//!
//! Offerit has no endpoint that reads an offer back, so nothing is refreshed and no
//! Offerit request is made while planning: every resource is compared with what state
//! recorded as applied (ids, fingerprints and values, [`LiveState::Recorded`]), and the
//! plan says plainly that edits made in Offerit are not visible. A source change or a
//! config change still shows, with its reason, as for iScale. The source pixels live in
//! the source network and are read and diffed as iScale's are.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Entry, OfferWork, PlanError, applied, pixel_changes, previous_render, url_removal_reason,
};
use crate::desired::{DesiredNetwork, Destination, OfferConfig};
use crate::destination::offerit::{CAPABILITIES, PendingCreates, STATUS_FIELD};
use crate::plan::diff::{Applied, LiveState, ResourceInputs, Stop, diff_resource};
use crate::plan::flatten::{goal_fields, landing_page_fields, offerit_offer_fields};
use crate::plan::{Address, Change, Note, Reason, ResourceId, ResourceKind, Target};
use crate::render::offerit::OfferitRendered;
use crate::render::{CountryTable, RenderError, RenderInput};
use crate::secret::SecretHasher;
use crate::source::SourceSnapshot;
use crate::state::OfferState;
use crate::workspace::Workspace;

/// A landing page's status as the plan shows it: Offerit cannot delete one, only make
/// it private.
const PUBLIC: &str = "false";

/// Refuses an entry that cannot be planned: state records it in the other destination
/// than its desired file names, or an earlier create in Offerit lost its answer.
pub(super) fn check_entry(
    ws: &Workspace,
    entry: &Entry<'_>,
    state: Option<&OfferState>,
) -> Result<(), String> {
    let address = &entry.address;
    if let (Some(network), Some(state)) = (entry.network, state)
        && network.file.destination != state.destination()
    {
        return Err(format!(
            "{address}: state records it in {}, but {} sends the network's offers to {}; \
             moving offers between destinations is not supported\nhint: to pause it in {}, \
             set `destination:` back and remove it from the file, and apply; then move its \
             state folder {} away before sending it to {}",
            state.destination().title(),
            network.path.display(),
            network.file.destination.title(),
            state.destination().title(),
            crate::state::StateStore::shown_dir(&address.network, address.source_offer_id)
                .display(),
            network.file.destination.title(),
        ));
    }
    let destination = state.map_or(entry.destination(), OfferState::destination);
    if destination != Destination::Offerit {
        return Ok(());
    }
    let pending = PendingCreates::new(&ws.root, &address.network, address.source_offer_id);
    match pending.load() {
        Ok(creates) if creates.is_empty() => Ok(()),
        Ok(creates) => Err(pending.refusal(address, &creates)),
        Err(error) => Err(format!("{}: {error}", pending.shown().display())),
    }
}

/// Renders an offer of a network that goes to Offerit.
pub(super) fn render_entry(
    ws: &Workspace,
    network: &DesiredNetwork,
    config: &OfferConfig,
    snapshot: &SourceSnapshot,
) -> Result<OfferitRendered, RenderError> {
    let tracking_domain = ws
        .settings
        .offerit
        .as_ref()
        .and_then(|offerit| offerit.tracking_domain.as_deref());
    crate::render::offerit::render(
        RenderInput {
            network: ws.settings.network(&network.name),
            default_margin: ws.settings.default_margin(Destination::Offerit),
            file: &network.file,
            offer: config,
            snapshot,
            countries: &CountryTable::default(),
            postbacks: None,
        },
        tracking_domain,
    )
}

/// One note per network whose offers go to Offerit: what a plan cannot see.
pub(super) fn not_visible_notes(offers: &BTreeMap<Address, OfferWork>) -> Vec<Note> {
    let networks: BTreeSet<&str> = offers
        .iter()
        .filter(|(_, work)| work.destination == Destination::Offerit)
        .map(|(address, _)| address.network.as_str())
        .collect();
    networks
        .into_iter()
        .map(|network| Note {
            address: Address::network(network),
            message: format!(
                "{} has no API that reads an offer back: edits made in {} are not visible \
                 to offersync, which plans from what it last applied (state/)",
                CAPABILITIES.name, CAPABILITIES.name
            ),
        })
        .collect()
}

/// Every change one Offerit offer needs, in apply order, marked as Offerit's; notes
/// what cannot be done.
#[allow(clippy::too_many_arguments)]
pub(super) fn diff(
    ws: &Workspace,
    address: &Address,
    work: &mut OfferWork,
    config: Option<(&DesiredNetwork, &OfferConfig)>,
    kinds: &BTreeSet<ResourceKind>,
    stop_reason: Reason,
    hasher: Option<&SecretHasher>,
    notes: &mut Vec<Note>,
) -> Result<Vec<Change>, PlanError> {
    let context = Context {
        kinds,
        stop_reason,
        hasher,
    };
    let mut found = changes(address, work, None, &context);
    // The last-applied source only tells the reasons of a change.
    if !found.is_empty()
        && work.offerit.is_some()
        && let Some((network, config)) = config
        && let Some(previous) = previous_render(ws, network, config, |snapshot| {
            render_entry(ws, network, config, snapshot).ok()
        })?
    {
        found = changes(address, work, Some(&previous), &context);
    }
    let recorded_goals = work
        .state
        .as_ref()
        .and_then(|state| state.offerit.as_ref()?.goals.as_ref());
    if let (Some(rendered), Some(_)) = (&work.offerit, recorded_goals)
        && rendered.goals.is_empty()
        && kinds.contains(&ResourceKind::Offer)
    {
        notes.push(Note {
            address: address.clone(),
            message: "no payout event is carried as an Offerit goal any more, but the goals \
                      set earlier stay: set_offer_goals cannot send an empty list; remove \
                      them in Offerit by hand"
                .to_owned(),
        });
    }
    for change in &mut found {
        change.destination = Destination::Offerit;
    }
    Ok(found)
}

/// What diffing one offer needs besides its work.
struct Context<'a> {
    kinds: &'a BTreeSet<ResourceKind>,
    stop_reason: Reason,
    hasher: Option<&'a SecretHasher>,
}

fn changes(
    address: &Address,
    work: &mut OfferWork,
    previous: Option<&OfferitRendered>,
    context: &Context<'_>,
) -> Vec<Change> {
    let kinds = context.kinds;
    let state = work.state.clone();
    let state = state.as_ref();
    let record = state.and_then(|state| Some((state, state.offerit.as_ref()?)));
    let offer_applied = record.map(|(state, record)| Applied {
        fields: &state.offer.fields,
        values: &record.values,
    });
    let offer_live = match record {
        Some((state, record)) => LiveState::Recorded {
            id: state.offer.id,
            status: record
                .values
                .get(STATUS_FIELD)
                .cloned()
                .unwrap_or_else(|| "active".to_owned()),
        },
        None => LiveState::Missing,
    };
    let offer_inputs = |desired| ResourceInputs {
        address,
        resource: ResourceId::Offer,
        desired,
        previous: previous.map(|old| Some(offerit_offer_fields(&old.offer))),
        applied: offer_applied,
        live: offer_live.clone(),
        stop: Stop::Pause(context.stop_reason),
        drift: Reason::ChangedInDestination,
    };
    let mut changes = Vec::new();
    let Some(rendered) = work.offerit.clone() else {
        // The offer stops: pause it; its landing pages and goals stay as they are.
        if kinds.contains(&ResourceKind::Offer) {
            changes.extend(diff_resource(offer_inputs(None)));
        }
        return changes;
    };
    if kinds.contains(&ResourceKind::Offer) {
        changes.extend(diff_resource(offer_inputs(Some((
            offerit_offer_fields(&rendered.offer),
            Target::OfferitOffer(Box::new(rendered.offer.clone())),
        )))));
        let goals = record.and_then(|(state, record)| Some((state, record.goals.as_ref()?)));
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: ResourceId::Goals,
            desired: (!rendered.goals.is_empty()).then(|| {
                (
                    goal_fields(&rendered.goals),
                    Target::Goals(rendered.goals.clone()),
                )
            }),
            previous: previous.map(|old| (!old.goals.is_empty()).then(|| goal_fields(&old.goals))),
            applied: goals.map(|(_, record)| applied(record)),
            live: match goals {
                Some((state, _)) => LiveState::Recorded {
                    id: state.offer.id,
                    status: String::new(),
                },
                None => LiveState::Missing,
            },
            stop: Stop::Leave,
            drift: Reason::ChangedInDestination,
        }));
    }
    if kinds.contains(&ResourceKind::Urls) {
        changes.extend(landing_pages(address, work, &rendered, previous, state));
    }
    if kinds.contains(&ResourceKind::Postbacks) {
        let previous = previous.map(|old| old.pixels.as_slice());
        changes.extend(pixel_changes(
            address,
            work,
            (&rendered.pixels, previous),
            state,
            context.hasher,
        ));
    }
    changes
}

/// One landing page per further source URL, recorded in state's `urls`; one no longer
/// wanted is made private.
fn landing_pages(
    address: &Address,
    work: &OfferWork,
    rendered: &OfferitRendered,
    previous: Option<&OfferitRendered>,
    state: Option<&OfferState>,
) -> Vec<Change> {
    let records = state.map(|state| &state.urls);
    let recorded = |id: Option<u64>| match id {
        Some(id) => LiveState::Recorded {
            id,
            status: PUBLIC.to_owned(),
        },
        None => LiveState::Missing,
    };
    let mut changes = Vec::new();
    for spec in &rendered.landing_pages {
        let id = spec.source_url_id;
        let record = records.and_then(|records| records.get(&id));
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: ResourceId::Url(id),
            desired: Some((landing_page_fields(spec), Target::Url(spec.clone()))),
            previous: previous.map(|old| {
                old.landing_pages
                    .iter()
                    .find(|page| page.source_url_id == id)
                    .map(landing_page_fields)
            }),
            applied: record.map(applied),
            live: recorded(record.and_then(|record| record.id)),
            stop: Stop::Leave,
            drift: Reason::ChangedInDestination,
        }));
    }
    for (&id, record) in records.into_iter().flatten() {
        if rendered
            .landing_pages
            .iter()
            .any(|page| page.source_url_id == id)
        {
            continue;
        }
        changes.extend(diff_resource(ResourceInputs {
            address,
            resource: ResourceId::Url(id),
            desired: None,
            previous: None,
            applied: Some(applied(record)),
            live: recorded(record.id),
            stop: Stop::Delete {
                reason: url_removal_reason(work, id),
                status_field: "private",
                value: "true",
            },
            drift: Reason::ChangedInDestination,
        }));
    }
    changes
}
