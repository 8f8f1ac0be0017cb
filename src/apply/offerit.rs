//! Applying the changes of offers that go to Offerit (issue 8), with [`OfferitApi`]:
//! each offer's changes in order (the offer first, which everything else names; then its
//! goals, landing pages and pixel), each recorded in state the moment it succeeds, the
//! values too (Offerit shows nothing back: the next plan compares with them).
//!
//! Offerit documents no idempotency keys and cannot be read back, so a create whose
//! answer was lost cannot be looked for, as iScale's are. [`PendingCreates`] notes each
//! create (`add_offer`, `add_landing_page`) before it is sent and forgets it once its id
//! is recorded: one whose outcome is unknown stays noted, stops its offer with an error
//! that says so, and keeps later plans from sending it again. The edits are PATCH calls
//! that set values: sending one twice does no harm, and the client retries them.

use std::collections::BTreeMap;

use litemap::LiteMap;

use super::{Applied, ApplyError, known_ids, pixel_id, record_of, url_mapping_of, write_pixel};
use crate::destination::offerit::{
    LANDING_PAGE_FIELDS, PendingCreates, STATUS_FIELD, create_form, edit_form, goal_forms,
    private_form,
};
use crate::everflow::affiliate::AffiliateApi;
use crate::everflow::types::OfferStatus;
use crate::fsutil::off_the_workers;
use crate::offerit::{OfferitApi, OfferitError};
use crate::plan::fields::{FieldValue, Fields, combined_fingerprint};
use crate::plan::flatten::{goal_fields, landing_page_fields, offerit_offer_fields, pixel_fields};
use crate::plan::{Action, Address, Change, ResourceId, Target};
use crate::planner::{OfferWork, Planned};
use crate::render::offerit::{GoalSpec, OfferitOfferSpec};
use crate::render::{PixelSpec, UrlSpec};
use crate::secret::SecretHasher;
use crate::state::{ManagedOffer, OfferState, OfferitRecord, ResourceRecord};
use crate::workspace::{Clients, Workspace};

/// How many Offerit offers are applied at once. Offerit documents no rate limits, so
/// nothing paces its requests but this.
const CONCURRENCY: usize = 8;

/// Applies the changes of `groups` (one per source offer, all Offerit's), reporting
/// each outcome to `record`; no change starts once `stopped` says so.
pub(super) async fn apply_offers(
    ws: &Workspace,
    clients: &Clients,
    planned: &Planned,
    groups: &[&[Change]],
    record: &dyn Fn(Result<Applied, ApplyError>),
    stopped: &dyn Fn() -> bool,
) {
    let hasher = crate::planner::secret_hasher(&ws.settings);
    let permits = tokio::sync::Semaphore::new(CONCURRENCY);
    let runs = groups.iter().filter_map(|group| {
        let address = &group.first()?.address;
        let work = planned.offers.get(address)?;
        let run = OfferitRun {
            ws,
            api: clients.offerit.as_ref(),
            source: clients.sources.get(&address.network),
            hasher: hasher.as_ref(),
            address,
            work,
            state: std::cell::RefCell::new(work.state.clone()),
            pending: PendingCreates::new(&ws.root, &address.network, address.source_offer_id),
        };
        let permits = &permits;
        Some(async move {
            // The semaphore is never closed: a permit always comes.
            let _permit = permits.acquire().await;
            if run.run(group, record, stopped).await
                && planned.complete
                && let Err(error) = run.save_snapshot().await
            {
                record(Err(error));
            }
        })
    });
    futures_util::future::join_all(runs).await;
}

/// Applying the changes of one source offer that goes to Offerit.
struct OfferitRun<'a> {
    ws: &'a Workspace,
    api: Option<&'a OfferitApi>,
    /// The source network's Affiliate API, where the offer's pixel lives.
    source: Option<&'a AffiliateApi>,
    hasher: Option<&'a SecretHasher>,
    address: &'a Address,
    work: &'a OfferWork,
    /// What state holds of the offer, updated as each change succeeds.
    state: std::cell::RefCell<Option<OfferState>>,
    pending: PendingCreates,
}

impl OfferitRun<'_> {
    /// Carries out the changes in plan order; the first failure stops the offer (what
    /// follows names what failed). Whether every change was carried out.
    async fn run(
        &self,
        group: &[Change],
        record: &dyn Fn(Result<Applied, ApplyError>),
        stopped: &dyn Fn() -> bool,
    ) -> bool {
        for change in group {
            if stopped() {
                return false;
            }
            match self.apply(change).await {
                Ok(applied) => record(Ok(applied)),
                Err(error) => {
                    record(Err(error));
                    return false;
                }
            }
        }
        true
    }

    async fn apply(&self, change: &Change) -> Result<Applied, ApplyError> {
        let create = change.action == Action::Create;
        match (&change.resource, &change.target) {
            (ResourceId::Offer, Target::OfferitOffer(spec)) if create => {
                self.add_offer(change, spec).await
            }
            (ResourceId::Offer, Target::OfferitOffer(_)) => self.edit_offer(change).await,
            (ResourceId::Offer, Target::Pause) => self.pause(change).await,
            (ResourceId::Goals, Target::Goals(goals)) => self.set_goals(change, goals).await,
            (ResourceId::Url(_), Target::Url(spec)) if create => {
                self.add_landing_page(change, spec).await
            }
            (ResourceId::Url(_), Target::Url(spec)) => self.edit_landing_page(change, spec).await,
            (ResourceId::Url(source_url_id), Target::Delete) => {
                self.make_private(change, *source_url_id).await
            }
            (ResourceId::Pixel(_), Target::Pixel(spec)) => self.pixel(change, spec).await,
            (resource, _) => Err(self.other(
                change,
                format!(
                    "offersync does not {} {resource} in Offerit",
                    verb(change.action)
                ),
            )),
        }
    }

    /// `add_offer`, then `pause_offer` when the offer should not run yet (Offerit makes
    /// new offers live).
    async fn add_offer(
        &self,
        change: &Change,
        spec: &OfferitOfferSpec,
    ) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let mut fields = offerit_offer_fields(spec);
        let form = create_form(&fields);
        let created = self.create(change, api.add_offer(&form)).await?;
        set_field(&mut fields, STATUS_FIELD, OfferStatus::Active.as_str());
        let mut state = OfferState::new(ManagedOffer {
            id: created.offer_id,
            fingerprint: combined_fingerprint(&LiteMap::new()),
            fields: LiteMap::new(),
            events: BTreeMap::new(),
        });
        state.offerit = Some(OfferitRecord {
            landing_page_id: created.landing_page_id,
            values: LiteMap::new(),
            goals: None,
        });
        record_offer_fields(&mut state, &fields);
        *self.state.borrow_mut() = Some(state);
        self.save_state().await?;
        self.created(&change.resource)?;
        let payload: serde_json::Map<String, serde_json::Value> = form
            .pairs()
            .into_iter()
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect();
        let (store, network, id) = (
            self.ws.store.clone(),
            self.address.network.clone(),
            self.address.source_offer_id,
        );
        off_the_workers(move || store.save_create_payload(&network, id, &payload.into()))
            .await
            .map_err(|source| self.record_error(source))?;
        if spec.offer_status == OfferStatus::Paused {
            self.set_status(change, created.offer_id, OfferStatus::Paused)
                .await?;
        }
        Ok(self.applied(change, created.offer_id))
    }

    /// `edit_offer` with the offer's changed fields, `edit_landing_page` with its default
    /// landing page's, and `pause_offer` or `activate_offer` for its status: each only
    /// when something of it changed, each recorded as it succeeds.
    async fn edit_offer(&self, change: &Change) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let (id, landing_page_id) = self.offer_ids(change)?;
        let of_page = |field: &str| LANDING_PAGE_FIELDS.contains(&field);
        let offer_form = edit_form(&change.fields, |field| !of_page(field));
        if !offer_form.is_empty() {
            api.edit_offer(id, &offer_form)
                .await
                .map_err(|source| self.offerit_error(change, source))?;
            self.record_changes(change, |field| !of_page(field) && field != STATUS_FIELD)
                .await?;
        }
        let page_form = edit_form(&change.fields, of_page);
        if !page_form.is_empty() {
            api.edit_landing_page(landing_page_id, &page_form)
                .await
                .map_err(|source| self.offerit_error(change, source))?;
            self.record_changes(change, of_page).await?;
        }
        let status = change
            .fields
            .iter()
            .find(|field| field.field == STATUS_FIELD)
            .and_then(|field| field.after.as_ref());
        if let Some(status) = status {
            let status = if status.recorded() == OfferStatus::Paused.as_str() {
                OfferStatus::Paused
            } else {
                OfferStatus::Active
            };
            self.set_status(change, id, status).await?;
        }
        Ok(self.applied(change, id))
    }

    /// The offer is no longer wanted: `pause_offer` (never a delete).
    async fn pause(&self, change: &Change) -> Result<Applied, ApplyError> {
        let (id, _) = self.offer_ids(change)?;
        self.set_status(change, id, OfferStatus::Paused).await?;
        Ok(self.applied(change, id))
    }

    async fn set_status(
        &self,
        change: &Change,
        id: u64,
        status: OfferStatus,
    ) -> Result<(), ApplyError> {
        let api = self.api(change)?;
        let sent = match status {
            OfferStatus::Paused => api.pause_offer(id).await,
            _ => api.activate_offer(id).await,
        };
        sent.map_err(|source| self.offerit_error(change, source))?;
        let status = FieldValue::Symbol(status.as_str().to_owned());
        self.update_state(change, |state| {
            record_offer_fields(state, &vec![(STATUS_FIELD.to_owned(), status)]);
        })
        .await
    }

    /// `set_offer_goals` with every goal (it replaces the offer's list).
    async fn set_goals(&self, change: &Change, goals: &[GoalSpec]) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let (id, _) = self.offer_ids(change)?;
        api.set_offer_goals(id, &goal_forms(goals))
            .await
            .map_err(|source| self.offerit_error(change, source))?;
        let record = applied_record(None, &goal_fields(goals));
        self.update_state(change, |state| {
            if let Some(offerit) = state.offerit.as_mut() {
                offerit.goals = Some(record);
            }
        })
        .await?;
        Ok(self.applied(change, id))
    }

    async fn add_landing_page(
        &self,
        change: &Change,
        spec: &UrlSpec,
    ) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let (offer_id, _) = self.offer_ids(change)?;
        let fields = landing_page_fields(spec);
        let id = self
            .create(
                change,
                api.add_landing_page(offer_id, &create_form(&fields)),
            )
            .await?;
        let record = applied_record(Some(id), &fields);
        self.update_state(change, |state| {
            state.urls.insert(spec.source_url_id, record);
        })
        .await?;
        self.created(&change.resource)?;
        Ok(self.applied(change, id))
    }

    async fn edit_landing_page(
        &self,
        change: &Change,
        spec: &UrlSpec,
    ) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let id = self.destination_id(change)?;
        api.edit_landing_page(id, &edit_form(&change.fields, |_| true))
            .await
            .map_err(|source| self.offerit_error(change, source))?;
        let record = applied_record(Some(id), &landing_page_fields(spec));
        self.update_state(change, |state| {
            state.urls.insert(spec.source_url_id, record);
        })
        .await?;
        Ok(self.applied(change, id))
    }

    /// A landing page no longer at the source is made private (Offerit cannot delete
    /// one) and forgotten.
    async fn make_private(
        &self,
        change: &Change,
        source_url_id: u64,
    ) -> Result<Applied, ApplyError> {
        let api = self.api(change)?;
        let id = self.destination_id(change)?;
        api.edit_landing_page(id, &private_form())
            .await
            .map_err(|source| self.offerit_error(change, source))?;
        self.update_state(change, |state| {
            state.urls.remove(&source_url_id);
        })
        .await?;
        Ok(self.applied(change, id))
    }

    /// The source network's pixel posting to Offerit, written as iScale's are.
    async fn pixel(&self, change: &Change, spec: &PixelSpec) -> Result<Applied, ApplyError> {
        let (Some(source), Some(hasher)) = (self.source, self.hasher) else {
            return Err(self.other(
                change,
                format!(
                    "no API key for the source network `{}`",
                    self.address.network
                ),
            ));
        };
        let url = spec
            .postback_url()
            .ok_or_else(|| self.other(change, "the pixel's URL is not known".to_owned()))?;
        let live = change.destination_id.and_then(|id| {
            self.work
                .live_pixels
                .iter()
                .find(|pixel| pixel.view.network_pixel_id == id)
        });
        let known = known_ids(
            &self.work.live_pixels,
            pixel_id,
            self.state.borrow().as_ref().map(|state| &state.pixels),
        );
        let written = write_pixel(self.address, source, spec, &url, live, &known)
            .await
            .map_err(|source| ApplyError::Api {
                address: self.address.clone(),
                resource: change.resource.clone(),
                source: Box::new(source),
            })?;
        let id = written.made.view.network_pixel_id;
        let record = record_of(Some(id), &pixel_fields(spec, hasher), [], None);
        self.update_state(change, |state| {
            state.pixels.insert(spec.key.clone(), record);
        })
        .await?;
        let mut applied = self.applied(change, id);
        applied.notes.extend(written.note);
        Ok(applied)
    }

    /// Sends a create noted in [`PendingCreates`] first. A refusal is certain (nothing
    /// was made) and forgets the note; a lost answer keeps it, and says so.
    async fn create<T>(
        &self,
        change: &Change,
        send: impl Future<Output = Result<T, OfferitError>>,
    ) -> Result<T, ApplyError> {
        let resource = change.resource.to_string();
        self.pending
            .begin(&resource)
            .map_err(|error| self.pending_error(&error))?;
        match send.await {
            Ok(made) => Ok(made),
            Err(error) if error.may_have_taken_effect() => Err(self.other(
                change,
                format!(
                    "Offerit may have made it, but the answer was lost ({error}); offersync \
                     will not send it again: see {}",
                    self.pending.shown().display()
                ),
            )),
            Err(error) => {
                self.pending
                    .end(&resource)
                    .map_err(|error| self.pending_error(&error))?;
                Err(self.offerit_error(change, error))
            }
        }
    }

    /// Forgets the note of a create whose id state now records.
    fn created(&self, resource: &ResourceId) -> Result<(), ApplyError> {
        self.pending
            .end(&resource.to_string())
            .map_err(|error| self.pending_error(&error))
    }

    /// Records the fields of `change` that `keep` accepts as applied, and saves.
    async fn record_changes(
        &self,
        change: &Change,
        keep: impl Fn(&str) -> bool,
    ) -> Result<(), ApplyError> {
        self.update_state(change, |state| {
            for field in change.fields.iter().filter(|field| keep(&field.field)) {
                match &field.after {
                    Some(value) => {
                        record_offer_fields(state, &vec![(field.field.clone(), value.clone())]);
                    }
                    None => {
                        state.offer.fields.remove(&field.field);
                        if let Some(offerit) = state.offerit.as_mut() {
                            offerit.values.remove(&field.field);
                        }
                        state.offer.fingerprint = combined_fingerprint(&state.offer.fields);
                    }
                }
            }
        })
        .await
    }

    /// `offer.json` and `url_mapping.json`: the source as now applied.
    async fn save_snapshot(&self) -> Result<(), ApplyError> {
        let (Some(snapshot), Some(rendered)) = (&self.work.snapshot, &self.work.offerit) else {
            return Ok(());
        };
        if self.state.borrow().is_none() {
            return Ok(());
        }
        let mapping = url_mapping_of(snapshot, &rendered.offer.url, &rendered.landing_pages);
        let (store, network, id, snapshot) = (
            self.ws.store.clone(),
            self.address.network.clone(),
            self.address.source_offer_id,
            snapshot.clone(),
        );
        off_the_workers(move || store.save_snapshot(&network, id, &snapshot, &mapping))
            .await
            .map_err(|source| self.record_error(source))
    }

    async fn update_state(
        &self,
        change: &Change,
        update: impl FnOnce(&mut OfferState),
    ) -> Result<(), ApplyError> {
        match self.state.borrow_mut().as_mut() {
            Some(state) => update(state),
            None => return Err(self.no_offer(change)),
        }
        self.save_state().await
    }

    async fn save_state(&self) -> Result<(), ApplyError> {
        let Some(state) = self.state.borrow().clone() else {
            return Ok(());
        };
        let (store, network, id) = (
            self.ws.store.clone(),
            self.address.network.clone(),
            self.address.source_offer_id,
        );
        off_the_workers(move || store.save_state(&network, id, &state))
            .await
            .map_err(|source| self.record_error(source))
    }

    /// The Offerit offer's id and its default landing page's, from state.
    fn offer_ids(&self, change: &Change) -> Result<(u64, u64), ApplyError> {
        let state = self.state.borrow();
        state
            .as_ref()
            .and_then(|state| Some((state.offer.id, state.offerit.as_ref()?.landing_page_id)))
            .ok_or_else(|| self.no_offer(change))
    }

    fn destination_id(&self, change: &Change) -> Result<u64, ApplyError> {
        change.destination_id.ok_or_else(|| {
            self.other(
                change,
                "the plan does not name the Offerit object to change".to_owned(),
            )
        })
    }

    fn api(&self, change: &Change) -> Result<&OfferitApi, ApplyError> {
        self.api.ok_or_else(|| {
            self.other(
                change,
                "no Offerit client: check `OFFERIT_URL`, `OFFERIT_API_KEY` and \
                 `OFFERIT_API_USERNAME`"
                    .to_owned(),
            )
        })
    }

    fn applied(&self, change: &Change, destination_id: u64) -> Applied {
        Applied::of(self.address, change, destination_id, Vec::new())
    }

    fn no_offer(&self, change: &Change) -> ApplyError {
        self.other(
            change,
            "the offer has no Offerit offer yet; apply the offer first (`--only offer`)".to_owned(),
        )
    }

    fn offerit_error(&self, change: &Change, source: OfferitError) -> ApplyError {
        ApplyError::Offerit {
            address: self.address.clone(),
            resource: change.resource.clone(),
            source: Box::new(source),
        }
    }

    fn other(&self, change: &Change, message: String) -> ApplyError {
        ApplyError::other(self.address, change, message)
    }

    fn record_error(&self, source: crate::state::StateError) -> ApplyError {
        ApplyError::record(self.address, source)
    }

    fn pending_error(&self, error: &std::io::Error) -> ApplyError {
        let source = crate::state::StateError::Write {
            path: self.pending.shown().to_owned(),
            source: std::io::Error::new(error.kind(), error.to_string()),
        };
        ApplyError::record(self.address, source)
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Pause => "pause",
        Action::Delete => "delete",
    }
}

/// Sets `path` to the symbol `value` in `fields`.
fn set_field(fields: &mut Fields, path: &str, value: &str) {
    if let Some((_, field)) = fields.iter_mut().find(|(candidate, _)| candidate == path) {
        *field = FieldValue::Symbol(value.to_owned());
    }
}

/// Records `fields` of the offer as applied: their fingerprints, and their values
/// (Offerit cannot show them back).
fn record_offer_fields(state: &mut OfferState, fields: &Fields) {
    for (path, value) in fields {
        state
            .offer
            .fields
            .insert(path.clone(), FieldValue::fingerprint(Some(value)));
        if let Some(offerit) = state.offerit.as_mut() {
            offerit.values.insert(path.clone(), value.recorded());
        }
    }
    state.offer.fingerprint = combined_fingerprint(&state.offer.fields);
}

/// What state keeps of an applied landing page or goal list: fingerprints and values.
fn applied_record(id: Option<u64>, fields: &Fields) -> ResourceRecord {
    let values: Vec<(&str, String)> = fields
        .iter()
        .map(|(path, value)| (path.as_str(), value.recorded()))
        .collect();
    record_of(id, fields, values, None)
}
