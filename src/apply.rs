//! Apply: carry out a plan's changes against the destination, recording each in state
//! the moment it succeeds (never only at the end), so an interrupted run loses nothing.
//!
//! Creates POST the rendered offer; updates and pauses read the offer fresh and PUT it
//! back with only the managed fields changed (PUT is a full replacement in Everflow).

use crate::destination::iscale;
use crate::everflow::ApiError;
use crate::everflow::network::{LiveOffer, NetworkApi};
use crate::plan::fields::{FieldValue, combined_fingerprint, field_fingerprints, spec_fields};
use crate::plan::{Action, Address, Change};
use crate::planner::{OfferWork, Planned};
use crate::render::OfferSpec;
use crate::source::SourceSnapshot;
use crate::state::{FORMAT_VERSION, ManagedOffer, OfferState, Record, UrlMapping};
use crate::workspace::{Clients, Workspace};

/// One change carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub address: Address,
    pub action: Action,
    pub destination_id: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{address}: {source}")]
    Api {
        address: Address,
        #[source]
        source: ApiError,
    },
    #[error("{address}: {message}")]
    Other { address: Address, message: String },
    #[error(
        "{address}: the change was made in iScale (offer {destination_id}) but recording it failed: {source}"
    )]
    Record {
        address: Address,
        destination_id: u64,
        #[source]
        source: crate::state::StateError,
    },
}

/// What an apply did, and where it stopped if it failed.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<Applied>,
    pub failure: Option<ApplyError>,
}

/// Applies every change of `planned`, in order, stopping at the first failure.
/// `progress` hears about each change as it completes.
pub async fn apply(
    ws: &Workspace,
    clients: &Clients,
    planned: &Planned,
    progress: &mut dyn FnMut(&Applied),
) -> ApplyReport {
    let mut report = ApplyReport::default();
    if planned.plan.is_empty() {
        return report;
    }
    let Some(api) = clients.iscale.as_ref() else {
        return report;
    };
    let mut applier = Applier {
        ws,
        api,
        tracking_domain: None,
    };
    for change in &planned.plan.changes {
        let work = &planned.offers[&change.address];
        match applier.apply_change(change, work).await {
            Ok(applied) => {
                progress(&applied);
                report.applied.push(applied);
            }
            Err(error) => {
                report.failure = Some(error);
                break;
            }
        }
    }
    report
}

struct Applier<'a> {
    ws: &'a Workspace,
    api: &'a NetworkApi,
    tracking_domain: Option<u64>,
}

impl Applier<'_> {
    async fn apply_change(
        &mut self,
        change: &Change,
        work: &OfferWork,
    ) -> Result<Applied, ApplyError> {
        let address = &change.address;
        let api_error = |source| ApplyError::Api {
            address: address.clone(),
            source,
        };
        let (live, create_payload) = match (change.action, &change.spec) {
            (Action::Create, Some(spec)) => {
                let body = iscale::create_body(spec, self.tracking_domain(address).await?);
                let created = self.api.create_offer(&body).await.map_err(api_error)?;
                (created, Some(body))
            }
            (Action::Update, Some(spec)) => {
                let id = destination_id(change)?;
                let current = self.api.offer(id).await.map_err(api_error)?;
                let body = iscale::replace_body(&current, spec);
                let mut replaced = self.api.replace_offer(id, &body).await.map_err(api_error)?;
                keep_event_ids(&mut replaced, &current);
                (replaced, None)
            }
            (Action::Pause, _) => {
                let id = destination_id(change)?;
                let current = self.api.offer(id).await.map_err(api_error)?;
                let mut paused = self
                    .api
                    .replace_offer(id, &iscale::pause_body(&current))
                    .await
                    .map_err(api_error)?;
                keep_event_ids(&mut paused, &current);
                (paused, None)
            }
            (_, None) => {
                return Err(ApplyError::Other {
                    address: address.clone(),
                    message: "the plan holds no target for this change".to_owned(),
                });
            }
        };
        let destination_id = live.id();
        let state = recorded_state(change, work, &live);
        let url_mapping = change
            .spec
            .as_ref()
            .zip(work.snapshot.as_ref())
            .map(|(spec, snapshot)| url_mapping(spec, snapshot))
            .unwrap_or_default();
        self.ws
            .store
            .record(
                &address.network,
                address.source_offer_id,
                &Record {
                    state: &state,
                    // A pause keeps the snapshot of what was last applied.
                    snapshot: change.spec.as_ref().and(work.snapshot.as_ref()),
                    url_mapping: &url_mapping,
                    create_payload: create_payload.as_ref(),
                },
            )
            .map_err(|source| ApplyError::Record {
                address: address.clone(),
                destination_id,
                source,
            })?;
        Ok(Applied {
            address: address.clone(),
            action: change.action,
            destination_id,
        })
    }

    /// The tracking domain for new offers, read once per run and only if something is
    /// created.
    async fn tracking_domain(&mut self, address: &Address) -> Result<u64, ApplyError> {
        if let Some(id) = self.tracking_domain {
            return Ok(id);
        }
        let domains = self
            .api
            .tracking_domains()
            .await
            .map_err(|source| ApplyError::Api {
                address: address.clone(),
                source,
            })?;
        let wanted = self
            .ws
            .settings
            .iscale
            .as_ref()
            .and_then(|iscale| iscale.tracking_domain.as_deref());
        let id = iscale::choose_tracking_domain(&domains, wanted).map_err(|message| {
            ApplyError::Other {
                address: address.clone(),
                message,
            }
        })?;
        self.tracking_domain = Some(id);
        Ok(id)
    }
}

fn destination_id(change: &Change) -> Result<u64, ApplyError> {
    change.destination_id.ok_or_else(|| ApplyError::Other {
        address: change.address.clone(),
        message: "the plan does not name the iScale offer to change".to_owned(),
    })
}

/// A PUT answer may not carry the events; fall back to the ids read just before.
fn keep_event_ids(answer: &mut LiveOffer, before: &LiveOffer) {
    if iscale::event_ids(answer).is_empty()
        && let Some(relationship) = before.raw.get("relationship")
    {
        answer
            .raw
            .insert("relationship".to_owned(), relationship.clone());
    }
}

/// The state to record after a change: fingerprints of what was applied.
fn recorded_state(change: &Change, work: &OfferWork, live: &LiveOffer) -> OfferState {
    let fields = match &change.spec {
        Some(spec) => field_fingerprints(&spec_fields(spec)),
        None => {
            // A pause changes one field of what was applied before.
            let mut fields = work
                .state
                .as_ref()
                .map(|state| state.offer.fields.clone())
                .unwrap_or_default();
            fields.insert(
                "offer_status".to_owned(),
                FieldValue::fingerprint(Some(&FieldValue::Symbol("paused".to_owned()))),
            );
            fields
        }
    };
    let offer = ManagedOffer {
        id: live.id(),
        fingerprint: combined_fingerprint(&fields),
        fields,
        events: iscale::event_ids(live),
    };
    OfferState {
        format_version: FORMAT_VERSION,
        offer,
    }
}

/// `url_mapping.json`: each source URL, its landing page and the destination URL built
/// from it (the seed's file, kept for reviewers).
fn url_mapping(spec: &OfferSpec, snapshot: &SourceSnapshot) -> Vec<UrlMapping> {
    snapshot
        .landing_pages
        .iter()
        .map(|(&source_url_id, page)| UrlMapping {
            source_url_id,
            name: page.name.clone(),
            landing_page: page.url.clone(),
            destination_url: if source_url_id == crate::source::DEFAULT_URL_ID {
                spec.destination_url.clone()
            } else {
                String::new()
            },
        })
        .collect()
}
