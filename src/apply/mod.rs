//! Apply: carry out a plan's changes against the destination, in dependency order, and
//! record each in state the moment it succeeds (never only at the end), so an interrupted
//! run loses nothing.
//!
//! Changes come grouped by source offer. Within an offer only what needs another's answer
//! waits for it: the offer (with its thumbnail) first, since everything else names it;
//! then its URLs, creatives, targeting and pixels at once; rules after the URLs, as they
//! name URLs by destination id (resolved here as they come into being). Offers and other objects are changed with
//! a full PUT built from what the destination holds, with only managed fields overlaid;
//! URLs, rules and creatives that should go are marked deleted (Everflow has no DELETE for
//! URLs). Files (thumbnails, image creatives) go through single-use temp uploads. A call
//! that can serve several offers at once (the targeting PATCH, the offer list giving new
//! offers' event ids) is made once for all of them (`batch`). Offers that go to Offerit
//! are applied by `offerit`, next to these, with the pixel writes shared.

mod batch;
mod offerit;

use litemap::LiteMap;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::OnceCell;

use batch::{Batch, Ticket};

use crate::desired::{Destination, SourceOfferId};
use crate::destination::iscale::{self, TempFile};
use crate::everflow::ApiError;
use crate::everflow::affiliate::{AffiliateApi, LivePixel, PixelView};
use crate::everflow::network::{CreativeView, Live, LiveOffer, NetworkApi, RuleView, UrlView};
use crate::everflow::types::RawObject;
use crate::fsutil::off_the_workers;
use crate::offerit::OfferitError;
use crate::pixels;
use crate::plan::fields::{FieldValue, Fields, combined_fingerprint, field_fingerprints};
use crate::plan::flatten::{
    configured_token_fields, creative_fields, offer_fields, pixel_fields, rule_fields,
    targeting_fields, thumbnail_fields, thumbnail_source, url_fields,
};
use crate::plan::{Action, Address, Change, ResourceId, Target};
use crate::planner::{OfferWork, Planned};
use crate::render::{
    CreativeContent, CreativeSpec, OfferSpec, PixelSpec, Rendered, RuleSpec, ThumbnailSpec,
};
use crate::secret::SecretHasher;
use crate::source::SourceSnapshot;
use crate::state::{ManagedOffer, OfferState, ResourceRecord, StateStore, UrlMapping};
use crate::thumbnail::{self, ThumbnailSource, Thumbnails};
use crate::workspace::{Clients, Workspace};

/// How many times a create whose outcome stayed unknown is sent in all, when looking for
/// it found nothing.
const CREATE_ATTEMPTS: u32 = 3;

/// One change carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub address: Address,
    pub resource: ResourceId,
    pub action: Action,
    /// The destination id of what was written (the offer's, for the thumbnail and
    /// targeting).
    pub destination_id: u64,
    /// What the operator should know, e.g. which image a thumbnail was made from.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{address} {resource}: {source}")]
    Api {
        address: Address,
        resource: ResourceId,
        #[source]
        source: Box<ApiError>,
    },
    #[error("{address} {resource}: {message}")]
    Other {
        address: Address,
        resource: ResourceId,
        message: String,
    },
    #[error("{address} {resource}: {source}")]
    Offerit {
        address: Address,
        resource: ResourceId,
        #[source]
        source: Box<crate::offerit::OfferitError>,
    },
    #[error("{address}: the change was made but recording it failed: {source}")]
    Record {
        address: Address,
        #[source]
        source: crate::state::StateError,
    },
}

impl ApplyError {
    /// `change` of `address` cannot be made, for the reason `message` gives.
    fn other(address: &Address, change: &Change, message: String) -> Self {
        ApplyError::Other {
            address: address.clone(),
            resource: change.resource.clone(),
            message,
        }
    }

    /// A write to `address` was made but could not be recorded.
    fn record(address: &Address, source: crate::state::StateError) -> Self {
        ApplyError::Record {
            address: address.clone(),
            source,
        }
    }

    /// Whether the failure is the API's (unreachable, failing, throttling past every
    /// retry) rather than one offer's: then starting other offers is pointless.
    pub fn is_systemic(&self) -> bool {
        match self {
            ApplyError::Api { source, .. } => match source.as_ref() {
                ApiError::Transport { .. } => true,
                ApiError::Status { status, .. } => *status == 429 || *status >= 500,
                ApiError::Decode { .. } => false,
            },
            ApplyError::Offerit { source, .. } => match source.as_ref() {
                OfferitError::Transport { .. } => true,
                OfferitError::Status { status, .. } | OfferitError::Rejected { status, .. } => {
                    *status == 429 || *status >= 500
                }
                _ => false,
            },
            ApplyError::Other { .. } => false,
            // The workspace cannot be written: nothing more may be done unrecorded.
            ApplyError::Record { .. } => true,
        }
    }
}

impl Applied {
    /// `change` of `address`, made to the destination's `destination_id`.
    fn of(address: &Address, change: &Change, destination_id: u64, notes: Vec<String>) -> Self {
        Applied {
            address: address.clone(),
            resource: change.resource.clone(),
            action: change.action,
            destination_id,
            notes,
        }
    }
}

/// What an apply did, and why it stopped early if it did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<Applied>,
    /// Every failure, in the order they happened. Offers are independent: one offer's
    /// failure does not stop the others, but a failure of the API itself does.
    pub failures: Vec<ApplyError>,
    /// Set when the run was asked to stop (Ctrl-C) before it was done.
    pub interrupted: bool,
}

/// Asks a running apply to stop once the writes in flight are done and recorded.
#[derive(Debug, Default)]
pub struct StopSignal(AtomicBool);

impl StopSignal {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The thumbnail maker of an apply on `ws`. Images come from third parties: only
/// public addresses, plus loopback when the API itself is there (the sandbox serves
/// them).
pub fn thumbnails(ws: &Workspace) -> Thumbnails {
    Thumbnails::new(thumbnail::FetchLimits {
        allow_loopback: crate::http::is_loopback(&ws.settings.api_url),
        ..thumbnail::FetchLimits::default()
    })
}

/// Applies every change of `planned`: the network-level changes and every offer at once
/// (each bucket's limiter paces the requests), each offer's changes as soon as what they
/// need is there (see `OfferRun::run`); thumbnails come from `thumbnails` (which
/// may have begun them while planning). `progress` hears about each change as it
/// completes. After `stop` is signalled (or the API itself fails) no new change starts;
/// those in flight finish and are recorded.
pub async fn apply(
    ws: &Workspace,
    clients: &Clients,
    planned: &Planned,
    thumbnails: &Thumbnails,
    progress: &dyn Fn(&Applied),
    stop: &StopSignal,
) -> ApplyReport {
    let report = RefCell::new(ApplyReport::default());
    // A failure of the API itself (not of one offer's data) stops what has not begun.
    let halt = StopSignal::default();
    let stopped = || stop.is_stopped() || halt.is_stopped();
    let record = |outcome: Result<Applied, ApplyError>| match outcome {
        Ok(applied) => {
            progress(&applied);
            report.borrow_mut().applied.push(applied);
        }
        Err(error) => {
            if error.is_systemic() {
                halt.stop();
            }
            report.borrow_mut().failures.push(error);
        }
    };

    // Offers that go to Offerit are applied by `offerit`, next to iScale's.
    let (offerit_groups, groups): (Vec<&[Change]>, Vec<&[Change]>) =
        group_by_address(&planned.plan.changes)
            .into_iter()
            .partition(|group| group[0].destination == Destination::Offerit);
    let offerit = offerit::apply_offers(ws, clients, planned, &offerit_groups, &record, &stopped);
    let iscale = clients.iscale.as_ref().zip(
        ws.settings
            .iscale
            .as_ref()
            .map(|iscale| SecretHasher::new(&iscale.api_key)),
    );
    let Some((api, hasher)) = iscale else {
        offerit.await;
        let mut report = report.into_inner();
        report.interrupted = stop.is_stopped();
        return report;
    };
    let tracking_domain = OnceCell::new();
    let shared = SharedCalls::for_groups(&groups);
    let tokens = groups
        .iter()
        .filter(|group| group[0].address.is_network())
        .flat_map(|group| group.iter())
        .map(|change| {
            let record = &record;
            let stopped = &stopped;
            let hasher = &hasher;
            async move {
                if !stopped() {
                    record(apply_token(ws, api, hasher, change).await);
                }
            }
        });
    let offers = groups
        .iter()
        .filter(|group| !group[0].address.is_network())
        .map(|group| {
            let address = &group[0].address;
            let work = &planned.offers[address];
            let tickets = shared.tickets(group);
            let run = OfferRun {
                ws,
                api,
                source: clients.sources.get(&address.network),
                thumbnails,
                hasher: &hasher,
                tracking_domain: &tracking_domain,
                address,
                work,
                state: RefCell::new(work.state.clone()),
                events: RefCell::new(
                    work.live
                        .as_ref()
                        .map(iscale::event_ids)
                        .filter(|events| !events.is_empty()),
                ),
                events_read: OnceCell::new(),
                events_ticket: RefCell::new(tickets.events),
                targeting_ticket: RefCell::new(tickets.targeting),
                url_ids: RefCell::new(work.url_ids.clone()),
                thumbnail_done: Cell::new(false),
                creative_files: group
                    .iter()
                    .filter_map(new_creative_file)
                    .map(|(_, spec, _)| (spec.source_creative_id, OnceCell::new()))
                    .collect(),
                saving: tokio::sync::Mutex::default(),
                saves_asked: Cell::new(0),
                saves_covered: Cell::new(0),
                pending_notes: RefCell::default(),
            };
            let record = &record;
            let stopped = &stopped;
            async move {
                let done = run.run(group, record, stopped).await;
                if done
                    && planned.complete
                    && let Err(error) = run.save_snapshot().await
                {
                    record(Err(error));
                }
            }
        });
    // Everything at once: the buckets' limiters pace the requests.
    futures_util::future::join3(
        futures_util::future::join_all(tokens),
        futures_util::future::join_all(offers),
        offerit,
    )
    .await;
    let mut report = report.into_inner();
    report.interrupted = stop.is_stopped();
    report
}

/// New offers' event ids, by offer id, from one list of their advertiser's offers.
type EventsByOffer = BTreeMap<u64, BTreeMap<String, u64>>;

/// The calls of a run that serve several offers at once (see [`batch`]): one bulk
/// PATCH per distinct targeting (its fields are the same for every offer with the same
/// countries), and one list of an advertiser's offers for the event ids of the offers
/// created under it (a create's answer has none). A batch is made only where two or
/// more offers share it; a lone offer makes its own call.
struct SharedCalls {
    targeting: BTreeMap<String, Batch<()>>,
    events: BTreeMap<u64, Batch<EventsByOffer>>,
}

impl SharedCalls {
    fn for_groups(groups: &[&[Change]]) -> Self {
        let mut targeting: BTreeMap<String, usize> = BTreeMap::new();
        let mut events: BTreeMap<u64, usize> = BTreeMap::new();
        for group in groups {
            if let Some(key) = targeting_key(group) {
                *targeting.entry(key).or_default() += 1;
            }
            if let Some(advertiser) = new_offer_needing_event_ids(group) {
                *events.entry(advertiser).or_default() += 1;
            }
        }
        Self {
            targeting: shared(targeting),
            events: shared(events),
        }
    }

    /// An offer's places in the batches it takes part in.
    fn tickets(&self, group: &[Change]) -> Tickets<'_> {
        let targeting = targeting_key(group)
            .and_then(|key| self.targeting.get(&key))
            .map(Batch::ticket);
        let events = new_offer_needing_event_ids(group).and_then(|advertiser| {
            let batch = self.events.get(&advertiser)?;
            Some((advertiser, batch.ticket()))
        });
        Tickets { targeting, events }
    }
}

/// An offer's places in the run's [`SharedCalls`].
struct Tickets<'b> {
    targeting: Option<Ticket<'b, ()>>,
    /// With the advertiser whose offer list it shares.
    events: Option<(u64, Ticket<'b, EventsByOffer>)>,
}

/// A batch for every key that two or more offers share.
fn shared<K: Ord, T>(members: BTreeMap<K, usize>) -> BTreeMap<K, Batch<T>> {
    members
        .into_iter()
        .filter(|(_, members)| *members > 1)
        .map(|(key, _)| (key, Batch::new()))
        .collect()
}

/// What an offer's targeting PATCH sets, as a key: offers with equal keys share one.
fn targeting_key(group: &[Change]) -> Option<String> {
    group.iter().find_map(|change| match &change.target {
        Target::Targeting(spec) => Some(iscale::targeting_patch_fields(spec).to_string()),
        _ => None,
    })
}

/// The advertiser of an offer this run creates whose pixels need its event ids.
fn new_offer_needing_event_ids(group: &[Change]) -> Option<u64> {
    let advertiser = group
        .iter()
        .find_map(|change| match (&change.target, change.action) {
            (Target::Offer(spec), Action::Create) => Some(spec.network_advertiser_id),
            _ => None,
        })?;
    group
        .iter()
        .any(|change| {
            matches!(&change.target, Target::Pixel(pixel) if pixel.event.is_some() && pixel.event_id.is_none())
        })
        .then_some(advertiser)
}

/// The plan's changes cut into runs of the same address (the plan is sorted by it).
fn group_by_address(changes: &[Change]) -> Vec<&[Change]> {
    let mut groups = Vec::new();
    let mut rest = changes;
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .take_while(|change| change.address == first.address)
            .count();
        let (group, tail) = rest.split_at(len);
        groups.push(group);
        rest = tail;
    }
    groups
}

/// Sets a network's advertiser verification token (bulk PATCH) and records it.
async fn apply_token(
    ws: &Workspace,
    api: &NetworkApi,
    hasher: &SecretHasher,
    change: &Change,
) -> Result<Applied, ApplyError> {
    let address = &change.address;
    let other = |message: String| ApplyError::Other {
        address: address.clone(),
        resource: change.resource.clone(),
        message,
    };
    let Target::Token(token) = &change.target else {
        return Err(other(
            "a network-level change must set the token".to_owned(),
        ));
    };
    let advertiser_id = ws.settings.network(&address.network).advertiser_id;
    api.set_verification_token(advertiser_id, token)
        .await
        .map_err(|source| ApplyError::Api {
            address: address.clone(),
            resource: change.resource.clone(),
            source: Box::new(source),
        })?;
    let record = record_of(None, &configured_token_fields(token, hasher), [], None);
    let (store, network) = (ws.store.clone(), address.network.clone());
    off_the_workers(move || store.save_advertiser(&network, &record))
        .await
        .map_err(|source| ApplyError::Record {
            address: address.clone(),
            source,
        })?;
    Ok(Applied {
        address: address.clone(),
        resource: change.resource.clone(),
        action: change.action,
        destination_id: advertiser_id,
        notes: Vec::new(),
    })
}

/// Applying the changes of one source offer.
struct OfferRun<'a> {
    ws: &'a Workspace,
    api: &'a NetworkApi,
    /// The source network's Affiliate API, where the offer's pixels live.
    source: Option<&'a AffiliateApi>,
    /// Thumbnails and every other download of the run.
    thumbnails: &'a Thumbnails,
    hasher: &'a SecretHasher,
    /// The tracking domain for new offers: read once per run, and only if needed.
    tracking_domain: &'a OnceCell<u64>,
    address: &'a Address,
    work: &'a OfferWork,
    /// What state holds of the offer, updated as each change succeeds. Changes of one
    /// offer run concurrently on one task: borrows never outlive an await.
    state: RefCell<Option<OfferState>>,
    /// Destination event ids by entry name, once known.
    events: RefCell<Option<BTreeMap<String, u64>>>,
    /// The offer read for its event ids, at most once however many changes need them.
    events_read: OnceCell<BTreeMap<String, u64>>,
    /// The offer's place in its advertiser's list for new offers' event ids.
    events_ticket: RefCell<Option<(u64, Ticket<'a, EventsByOffer>)>>,
    /// The offer's place in the bulk PATCH of its targeting.
    targeting_ticket: RefCell<Option<Ticket<'a, ()>>>,
    /// Source URL id -> destination URL id, growing as URLs are created.
    url_ids: RefCell<BTreeMap<u64, u64>>,
    /// Set when the thumbnail went out with the offer's own write.
    thumbnail_done: Cell<bool>,
    /// The uploads of creative files, by source creative id: begun with the offer's own
    /// write (a temp file names no offer), taken by the creative's create.
    creative_files: BTreeMap<u64, OnceCell<TempFile>>,
    /// Takes the offer's state writes one at a time.
    saving: tokio::sync::Mutex<()>,
    /// Saves asked for so far, and how many of them the last write covered: a write
    /// takes the state as it is when it begins, so it covers every save asked before.
    saves_asked: Cell<u64>,
    saves_covered: Cell<u64>,
    /// What the next change carried out should tell the operator besides its own notes
    /// (a create whose answer was lost and whose result was found).
    pending_notes: RefCell<Vec<String>>,
}

/// When a change of an offer may start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The offer itself and its thumbnail: everything else names the offer.
    Offer,
    /// URLs, creatives, targeting, pixels: they need the offer and nothing else.
    Parts,
    /// Rules name the offer's URLs by their destination ids.
    AfterUrls,
}

impl Stage {
    fn of(change: &Change) -> Stage {
        match change.resource {
            ResourceId::Advertiser
            | ResourceId::Offer
            | ResourceId::Thumbnail
            | ResourceId::Goals => Stage::Offer,
            ResourceId::Rule(_) => Stage::AfterUrls,
            ResourceId::Url(_)
            | ResourceId::Creative(_)
            | ResourceId::Targeting
            | ResourceId::Pixel(_) => Stage::Parts,
        }
    }
}

impl<'a> OfferRun<'a> {
    /// Carries out one offer's changes, each as soon as what it needs is there: the offer,
    /// then URLs, creatives, targeting and pixels at
    /// once, rules once the URLs are done. A failure stops what depends on the failed
    /// change, not the rest. Whether every change was carried out.
    async fn run(
        &self,
        group: &[Change],
        record: &impl Fn(Result<Applied, ApplyError>),
        stopped: &impl Fn() -> bool,
    ) -> bool {
        let step = async |change: &Change| {
            if stopped() {
                return false;
            }
            match self.apply(change, group).await {
                Ok(applied) => {
                    applied.into_iter().for_each(|applied| record(Ok(applied)));
                    true
                }
                Err(error) => {
                    record(Err(error));
                    false
                }
            }
        };
        let all = |outcomes: Vec<bool>| outcomes.into_iter().all(|done| done);
        let staged = |stage: Stage| {
            group
                .iter()
                .filter(move |change| Stage::of(change) == stage)
        };

        let offer = async {
            for change in staged(Stage::Offer) {
                if !step(change).await {
                    return false;
                }
            }
            true
        };
        // Creative files go up while the offer is written, so that its creatives need
        // only their own create once it exists. A failure here is met again, and
        // reported, by the creative's own step.
        let files = async {
            let uploads = group.iter().filter_map(new_creative_file).map(
                async |(change, spec, source_url)| {
                    if !stopped() {
                        let _ = self.creative_file(change, spec, source_url).await;
                    }
                },
            );
            futures_util::future::join_all(uploads).await;
        };
        let (offer_done, ()) = tokio::join!(offer, files);
        if !offer_done {
            self.leave_batches();
            return false;
        }
        let (urls, others): (Vec<&Change>, Vec<&Change>) =
            staged(Stage::Parts).partition(|change| matches!(change.resource, ResourceId::Url(_)));
        let urls_then_rules = async {
            all(futures_util::future::join_all(urls.into_iter().map(step)).await)
                && all(futures_util::future::join_all(staged(Stage::AfterUrls).map(step)).await)
        };
        let others = async {
            let done = all(futures_util::future::join_all(others.into_iter().map(step)).await);
            // Whatever happened to its targeting and pixels, the other offers of the
            // batches need not wait for this one any longer.
            self.leave_batches();
            done
        };
        // A new offer's event ids come from a list shared with the run's other new
        // offers: join it now, not when a rule or pixel first asks, so that the list goes
        // out as soon as the last of them is created.
        let events = async {
            if self.events_ticket.borrow().is_some()
                && let Some(change) = staged(Stage::Offer).next()
            {
                // A failure here is met again, and reported, by the step that needs them.
                let _ = self.known_event_ids(change).await;
            }
        };
        let (rules_done, others, ()) = tokio::join!(urls_then_rules, others, events);
        rules_done && others
    }

    /// Gives up the offer's places in shared calls it did not join.
    fn leave_batches(&self) {
        self.events_ticket.borrow_mut().take();
        self.targeting_ticket.borrow_mut().take();
    }

    async fn apply(&self, change: &Change, group: &[Change]) -> Result<Vec<Applied>, ApplyError> {
        match &change.target {
            Target::Offer(spec) => self.apply_offer(change, spec, group).await,
            Target::Pause => self.pause(change).await.map(|applied| vec![applied]),
            Target::Thumbnail(spec) => self.apply_thumbnail(change, spec).await,
            Target::Url(spec) => self.apply_url(change, spec).await.map(|a| vec![a]),
            Target::Rule(spec) => self.apply_rule(change, spec).await.map(|a| vec![a]),
            Target::Creative(spec) => self.apply_creative(change, spec).await.map(|a| vec![a]),
            Target::Targeting(spec) => self.apply_targeting(change, spec).await.map(|a| vec![a]),
            Target::Pixel(spec) => self.apply_pixel(change, spec).await.map(|a| vec![a]),
            Target::Token(_) => Err(self.other(
                change,
                "the token belongs to the network, not an offer".to_owned(),
            )),
            Target::OfferitOffer(_) | Target::Goals(_) => {
                Err(self.other(change, "an Offerit change is not iScale's".to_owned()))
            }
            Target::Delete => self.delete(change).await.map(|applied| vec![applied]),
        }
    }

    /// Creates or updates the offer; a thumbnail change of the same offer goes out in
    /// the same write (one request instead of two).
    async fn apply_offer(
        &self,
        change: &Change,
        spec: &OfferSpec,
        group: &[Change],
    ) -> Result<Vec<Applied>, ApplyError> {
        let thumbnail = group.iter().find_map(|other| match &other.target {
            Target::Thumbnail(thumbnail) => Some((other, thumbnail)),
            _ => None,
        });
        let upload = async {
            match thumbnail {
                Some((_, thumbnail)) => self.upload_thumbnail(thumbnail).await.map(Some),
                None => Ok(None),
            }
        };
        // A new offer needs the tracking domain too: read it while the thumbnail is made.
        let domain = async {
            match change.action {
                Action::Create => self.tracking_domain(change).await.map(Some),
                _ => Ok(None),
            }
        };
        let (uploaded, domain) = futures_util::future::join(upload, domain).await;
        let (uploaded, domain) = (uploaded?, domain?);
        let file = uploaded.as_ref().map(|(file, _)| file);
        // The domain is there exactly when the offer is new.
        let (live, create_payload) = match domain {
            Some(domain) => {
                let mut body = iscale::create_body(spec, domain, &iscale::marker(self.address));
                if let Some(file) = file {
                    body = iscale::with_thumbnail(body, file);
                }
                let marker = iscale::marker(self.address);
                let advertiser = spec.network_advertiser_id;
                let created = self
                    .create_once(
                        change,
                        async || self.api.create_offer(&body).await,
                        async || self.find_marked_offer(advertiser, &marker).await,
                    )
                    .await?;
                (created, Some(body))
            }
            None => {
                let id = self.destination_id(change)?;
                let current = self.read_offer(change, id).await?;
                let mut body = iscale::replace_body(&current, spec, &iscale::marker(self.address));
                if let Some(file) = file {
                    body = iscale::with_thumbnail(body, file);
                }
                let mut replaced = self
                    .api
                    .replace_offer(id, &body)
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                keep_event_ids(&mut replaced, &current);
                (replaced, None)
            }
        };
        let events = iscale::event_ids(&live);
        if !events.is_empty() {
            *self.events.borrow_mut() = Some(events.clone());
            // Known from the answer: no list needed for this offer.
            self.events_ticket.borrow_mut().take();
        }
        let fields = field_fingerprints(&offer_fields(spec));
        let offer = ManagedOffer {
            id: live.id(),
            fingerprint: combined_fingerprint(&fields),
            fields,
            events,
        };
        {
            let mut state = self.state.borrow_mut();
            match state.as_mut() {
                Some(state) => state.offer = offer,
                None => *state = Some(OfferState::new(offer)),
            }
        }
        let mut applied = vec![self.applied(change, live.id(), Vec::new())];
        if let (Some((thumbnail_change, thumbnail)), Some((_, made))) = (thumbnail, &uploaded) {
            let notes = self.record_thumbnail(thumbnail, made, &live);
            self.thumbnail_done.set(true);
            applied.push(self.applied(thumbnail_change, live.id(), notes));
        }
        // The payload is a record of what was sent, not what stops a duplicate: written
        // alongside the state rather than after it.
        let payload = async {
            let Some(payload) = create_payload else {
                return Ok(());
            };
            let (store, network, id) = self.store();
            off_the_workers(move || store.save_create_payload(&network, id, &payload))
                .await
                .map_err(|source| self.record_error(source))
        };
        tokio::try_join!(self.save_state(), payload)?;
        Ok(applied)
    }

    async fn pause(&self, change: &Change) -> Result<Applied, ApplyError> {
        let id = self.destination_id(change)?;
        let current = self.read_offer(change, id).await?;
        self.api
            .replace_offer(id, &iscale::pause_body(&current))
            .await
            .map_err(|source| self.api_error(change, source))?;
        if let Some(state) = self.state.borrow_mut().as_mut() {
            let paused = FieldValue::Symbol("paused".to_owned());
            state.offer.fields.insert(
                "offer_status".to_owned(),
                FieldValue::fingerprint(Some(&paused)),
            );
            state.offer.fingerprint = combined_fingerprint(&state.offer.fields);
        }
        self.save_state().await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    async fn apply_thumbnail(
        &self,
        change: &Change,
        spec: &ThumbnailSpec,
    ) -> Result<Vec<Applied>, ApplyError> {
        if self.thumbnail_done.get() {
            return Ok(Vec::new());
        }
        let id = self.offer_id(change)?;
        let (file, made) = self.upload_thumbnail(spec).await?;
        let current = self.read_offer(change, id).await?;
        let live = self
            .api
            .replace_offer(id, &iscale::thumbnail_body(&current, &file))
            .await
            .map_err(|source| self.api_error(change, source))?;
        let notes = self.record_thumbnail(spec, &made, &live);
        self.save_state().await?;
        Ok(vec![self.applied(change, id, notes)])
    }

    /// Finds the image (source, og:image, icon or initials), crops it and uploads it.
    async fn upload_thumbnail(
        &self,
        spec: &ThumbnailSpec,
    ) -> Result<(TempFile, thumbnail::Thumbnail), ApplyError> {
        let made = thumbnail::resolve(
            self.thumbnails,
            &spec.thumbnail_url,
            &spec.pages,
            &spec.offer_name,
        )
        .await;
        let temp_url = self
            .api
            .upload_temp("image/png", &made.png)
            .await
            .map_err(|source| ApplyError::Api {
                address: self.address.clone(),
                resource: ResourceId::Thumbnail,
                source: Box::new(source),
            })?;
        let file = TempFile {
            temp_url,
            original_file_name: "thumbnail.png".to_owned(),
        };
        Ok((file, made))
    }

    fn record_thumbnail(
        &self,
        spec: &ThumbnailSpec,
        made: &thumbnail::Thumbnail,
        live: &LiveOffer,
    ) -> Vec<String> {
        let used = match &made.source {
            ThumbnailSource::SourceThumbnail { url } => format!("the source's thumbnail {url}"),
            ThumbnailSource::OgImage { page, url } => format!("og:image {url} of {page}"),
            ThumbnailSource::Icon { page, url } => format!("icon {url} of {page}"),
            ThumbnailSource::Initials { text } => format!("a placeholder with the initials {text}"),
        };
        let record = record_of(
            None,
            &thumbnail_fields(spec),
            [
                ("source", thumbnail_source(spec)),
                ("used", used.clone()),
                ("image", made.fingerprint.clone()),
            ],
            Some(live.view.thumbnail_url.clone()),
        );
        if let Some(state) = self.state.borrow_mut().as_mut() {
            state.thumbnail = Some(record);
        }
        let mut notes = vec![format!("thumbnail made from {used}")];
        // The source's own image failing is worth saying; the chain's other misses are not.
        if !matches!(made.source, ThumbnailSource::SourceThumbnail { .. })
            && !spec.thumbnail_url.is_empty()
        {
            notes.extend(made.notes.iter().cloned());
        }
        notes
    }

    async fn apply_url(
        &self,
        change: &Change,
        spec: &crate::render::UrlSpec,
    ) -> Result<Applied, ApplyError> {
        let offer_id = self.offer_id(change)?;
        let live = change
            .destination_id
            .map(|id| self.live_of(change, &self.work.live_urls, id, url_id))
            .transpose()?;
        let body = iscale::url_body(offer_id, spec, live);
        let written = match live {
            None => {
                self.create_child(
                    change,
                    (&self.work.live_urls, url_id, |state| &state.urls),
                    async || self.api.create_url(&body).await,
                    async || self.api.urls_of_offer(offer_id).await,
                    |url| url.name == spec.name,
                )
                .await?
            }
            Some(live) => self
                .api
                .replace_url(live.view.network_offer_url_id, &body)
                .await
                .map_err(|source| self.api_error(change, source))?,
        };
        let id = written.view.network_offer_url_id;
        self.url_ids.borrow_mut().insert(spec.source_url_id, id);
        let record = record_of(Some(id), &url_fields(spec), [], None);
        self.update_state(change, |state| {
            state.urls.insert(spec.source_url_id, record);
        })
        .await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    async fn apply_rule(&self, change: &Change, spec: &RuleSpec) -> Result<Applied, ApplyError> {
        let offer_id = self.offer_id(change)?;
        // Everflow's id 0 is the base conversion (LIVE custom payout/revenue).
        let event_id = if spec.event_is_default {
            0
        } else {
            self.event_id(change, &spec.event).await?
        };
        let mut url_ids = Vec::new();
        for source_id in &spec.source_url_ids {
            let Some(id) = self.url_ids.borrow().get(source_id).copied() else {
                return Err(self.other(
                    change,
                    format!("source URL {source_id} is not in iScale yet; apply the offer's URLs first (`--only urls`)"),
                ));
            };
            url_ids.push(id);
        }
        url_ids.sort_unstable();
        let live = change
            .destination_id
            .map(|id| self.live_of(change, &self.work.live_rules, id, rule_id))
            .transpose()?;
        let body = iscale::rule_body(offer_id, spec, event_id, &url_ids, live);
        let written = match live {
            None => {
                self.create_child(
                    change,
                    (&self.work.live_rules, rule_id, |state| &state.rules),
                    async || self.api.create_rule(&body).await,
                    async || self.api.rules_of_offer(offer_id).await,
                    |rule| rule.name == spec.name,
                )
                .await?
            }
            Some(live) => self
                .api
                .replace_rule(live.view.network_custom_payout_revenue_setting_id, &body)
                .await
                .map_err(|source| self.api_error(change, source))?,
        };
        let id = written.view.network_custom_payout_revenue_setting_id;
        let record = record_of(Some(id), &rule_fields(spec), [], None);
        self.update_state(change, |state| {
            state.rules.insert(spec.key.0.clone(), record);
        })
        .await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    async fn apply_creative(
        &self,
        change: &Change,
        spec: &CreativeSpec,
    ) -> Result<Applied, ApplyError> {
        let offer_id = self.offer_id(change)?;
        let live = change
            .destination_id
            .map(|id| self.live_of(change, &self.work.live_creatives, id, creative_id))
            .transpose()?;
        let file = match new_creative_file(change) {
            Some((_, _, source_url)) => Some(self.creative_file(change, spec, source_url).await?),
            None => None,
        };
        let body = iscale::creative_body(offer_id, spec, file.as_ref(), live);
        let written = match live {
            None => {
                self.create_child(
                    change,
                    (&self.work.live_creatives, creative_id, |state| {
                        &state.creatives
                    }),
                    async || self.api.create_creative(&body).await,
                    async || self.api.creatives_of_offer(offer_id).await,
                    |creative| creative.name == spec.name,
                )
                .await?
            }
            Some(live) => self
                .api
                .replace_creative(live.view.network_offer_creative_id, &body)
                .await
                .map_err(|source| self.api_error(change, source))?,
        };
        let id = written.view.network_offer_creative_id;
        let record = match &spec.content {
            CreativeContent::File { source_url } => record_of(
                Some(id),
                &creative_fields(spec),
                [("file", source_url.clone())],
                Some(written.view.resource_url),
            ),
            CreativeContent::Code { .. } => record_of(Some(id), &creative_fields(spec), [], None),
        };
        self.update_state(change, |state| {
            state.creatives.insert(spec.source_creative_id, record);
        })
        .await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    /// The uploaded file of a new or changed creative: the upload begun with the offer's
    /// write (see `run`), else one made now.
    async fn creative_file(
        &self,
        change: &Change,
        spec: &CreativeSpec,
        source_url: &str,
    ) -> Result<TempFile, ApplyError> {
        let upload = || self.upload_creative_file(change, spec, source_url);
        match self.creative_files.get(&spec.source_creative_id) {
            Some(file) => file.get_or_try_init(upload).await.cloned(),
            None => upload().await,
        }
    }

    /// Downloads a creative's file from the source (bounded like every download) and
    /// uploads it; the format is sniffed from the bytes, never taken from the name.
    async fn upload_creative_file(
        &self,
        change: &Change,
        spec: &CreativeSpec,
        url: &str,
    ) -> Result<TempFile, ApplyError> {
        let fetched =
            self.thumbnails.fetch(url).await.map_err(|error| {
                self.other(change, format!("cannot download the file: {error}"))
            })?;
        let format = image::guess_format(&fetched.bytes).map_err(|_| {
            self.other(change, format!("{url} is not an image this tool can carry"))
        })?;
        let temp_url = self
            .api
            .upload_temp(format.to_mime_type(), &fetched.bytes)
            .await
            .map_err(|source| self.api_error(change, source))?;
        let name = url
            .rsplit('/')
            .next()
            .map(|name| name.split(['?', '#']).next().unwrap_or_default())
            .filter(|name| !name.is_empty())
            .map_or_else(
                || {
                    format!(
                        "creative-{}.{}",
                        spec.source_creative_id,
                        format.extensions_str()[0]
                    )
                },
                str::to_owned,
            );
        Ok(TempFile {
            temp_url,
            original_file_name: name,
        })
    }

    /// Countries and regions through the bulk PATCH and the targeting PUT (ISCALE: "use
    /// BOTH for reliability").
    async fn apply_targeting(
        &self,
        change: &Change,
        spec: &crate::render::TargetingSpec,
    ) -> Result<Applied, ApplyError> {
        let id = self.offer_id(change)?;
        let fields = iscale::targeting_patch_fields(spec);
        let ticket = self.targeting_ticket.borrow_mut().take();
        let api = self.api;
        // The bulk PATCH goes out once for every offer of the run with the same fields.
        let patch = async {
            match ticket {
                Some(ticket) => ticket
                    .join(id, move |ids| async move {
                        api.patch_offers(&ids, fields).await
                    })
                    .await
                    .clone(),
                None => api.patch_offers(&[id], fields).await,
            }
        };
        // Two writes of the same thing, neither needing the other's answer.
        futures_util::future::try_join(
            patch,
            api.replace_targeting(id, &iscale::targeting_body(spec)),
        )
        .await
        .map_err(|source| self.api_error(change, source))?;
        self.update_state(change, |state| {
            state.targeting = Some(targeting_record(spec));
        })
        .await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    /// Creates or repairs (full PUT, never a second POST) a pixel in the source network.
    async fn apply_pixel(&self, change: &Change, spec: &PixelSpec) -> Result<Applied, ApplyError> {
        let source = self.source_api(change)?;
        let mut spec = spec.clone();
        if let (Some(name), None) = (spec.event.clone(), spec.event_id) {
            spec.event_id = Some(self.event_id(change, &name).await?);
        }
        let url = spec.postback_url().ok_or_else(|| {
            self.other(change, "the pixel's iScale event id is unknown".to_owned())
        })?;
        let live = change
            .destination_id
            .map(|id| self.live_of(change, &self.work.live_pixels, id, pixel_id))
            .transpose()?;
        let known = self.known_ids(&self.work.live_pixels, pixel_id, |state| &state.pixels);
        let written = write_pixel(self.address, source, &spec, &url, live, &known)
            .await
            .map_err(|source| self.api_error(change, source))?;
        self.pending_notes.borrow_mut().extend(written.note);
        let id = written.made.view.network_pixel_id;
        let record = record_of(Some(id), &pixel_fields(&spec, self.hasher), [], None);
        self.update_state(change, |state| {
            state.pixels.insert(spec.key.clone(), record);
        })
        .await?;
        Ok(self.applied(change, id, Vec::new()))
    }

    /// Sends a create. Everflow has no idempotency keys, so when the outcome is unknown
    /// (the answer was lost, or the server failed after the request reached it) this
    /// first looks for what the create would have made and adopts it; only when nothing
    /// is there is the create sent again.
    async fn create_once<T>(
        &self,
        change: &Change,
        post: impl AsyncFn() -> Result<T, ApiError>,
        find: impl AsyncFn() -> Result<Option<T>, ApiError>,
    ) -> Result<T, ApplyError> {
        let label = format!("{} {}", self.address, change.resource);
        let created = create_once(&label, post, find)
            .await
            .map_err(|error| self.api_error(change, error))?;
        self.pending_notes.borrow_mut().extend(created.note);
        Ok(created.made)
    }

    /// The offer carrying `marker`, if a create made it (the oldest, like planning).
    async fn find_marked_offer(
        &self,
        advertiser: u64,
        marker: &str,
    ) -> Result<Option<LiveOffer>, ApiError> {
        let offers = self.api.offers_of_advertiser(advertiser).await?;
        let markers = BTreeSet::from([marker.to_owned()]);
        match iscale::marked(offers, &markers)
            .into_values()
            .flatten()
            .next()
        {
            Some(oldest) => iscale::with_entries(self.api, oldest).await.map(Some),
            None => Ok(None),
        }
    }

    /// Creates an offer's URL, rule, creative or pixel with [`OfferRun::create_once`].
    /// After an unknown outcome it is found by `list`ing its kind and taking the one
    /// object `is_it` recognises that is not known: read while planning (`known.0`, ids
    /// by `known.1`) or recorded in state (the records `known.2` picks).
    #[allow(clippy::type_complexity)]
    async fn create_child<T, K>(
        &self,
        change: &Change,
        known: (
            &[Live<T>],
            fn(&T) -> u64,
            fn(&OfferState) -> &LiteMap<K, ResourceRecord>,
        ),
        post: impl AsyncFn() -> Result<Live<T>, ApiError>,
        list: impl AsyncFn() -> Result<Vec<Live<T>>, ApiError>,
        is_it: impl Fn(&T) -> bool,
    ) -> Result<Live<T>, ApplyError> {
        let (live, id_of, records) = known;
        let known = self.known_ids(live, id_of, records);
        self.create_once(change, post, async || {
            Ok(newly_made(list().await?, &known, id_of, &is_it))
        })
        .await
    }

    /// The ids of an offer's objects of one kind known before a create: read while
    /// planning (`live`, ids by `id_of`) or recorded in state (the records `records`
    /// picks). What a lost create made is none of them.
    fn known_ids<T, K>(
        &self,
        live: &[Live<T>],
        id_of: fn(&T) -> u64,
        records: fn(&OfferState) -> &LiteMap<K, ResourceRecord>,
    ) -> BTreeSet<u64> {
        let state = self.state.borrow();
        known_ids(live, id_of, state.as_ref().map(records))
    }

    fn source_api(&self, change: &Change) -> Result<&'a AffiliateApi, ApplyError> {
        self.source.ok_or_else(|| {
            self.other(
                change,
                format!(
                    "no API key for the source network `{}`",
                    self.address.network
                ),
            )
        })
    }

    /// Marks a URL, rule or creative deleted (a pixel inactive) and forgets it.
    async fn delete(&self, change: &Change) -> Result<Applied, ApplyError> {
        let id = self.destination_id(change)?;
        match &change.resource {
            ResourceId::Url(source_id) => {
                let live = self.live_of(change, &self.work.live_urls, id, url_id)?;
                self.api
                    .replace_url(id, &iscale::url_delete_body(live))
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                self.update_state(change, |state| {
                    state.urls.remove(source_id);
                })
                .await?;
                self.url_ids.borrow_mut().remove(source_id);
            }
            ResourceId::Rule(key) => {
                let live = self.live_of(change, &self.work.live_rules, id, rule_id)?;
                self.api
                    .replace_rule(id, &iscale::rule_delete_body(live))
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                self.update_state(change, |state| {
                    state.rules.remove(&key.0);
                })
                .await?;
            }
            ResourceId::Creative(source_id) => {
                let live = self.live_of(change, &self.work.live_creatives, id, creative_id)?;
                self.api
                    .replace_creative(id, &iscale::creative_delete_body(live))
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                self.update_state(change, |state| {
                    state.creatives.remove(source_id);
                })
                .await?;
            }
            ResourceId::Pixel(key) => {
                let source = self.source_api(change)?;
                let live = self.live_of(change, &self.work.live_pixels, id, pixel_id)?;
                source
                    .replace_pixel(id, &pixels::deactivate_body(live))
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                self.update_state(change, |state| {
                    state.pixels.remove(key);
                })
                .await?;
            }
            other => return Err(self.other(change, format!("{other} cannot be deleted"))),
        }
        Ok(self.applied(change, id, Vec::new()))
    }

    /// `offer.json` and `url_mapping.json`: the source as now applied. Everything the
    /// plan asked for this offer is in iScale now, so an imported offer's record is
    /// offersync's own from here on.
    async fn save_snapshot(&self) -> Result<(), ApplyError> {
        let (Some(snapshot), Some(rendered)) = (&self.work.snapshot, &self.work.rendered) else {
            return Ok(());
        };
        if self.state.borrow().is_none() {
            return Ok(());
        }
        let (store, network, id) = self.store();
        let (snapshot, mapping) = (snapshot.clone(), url_mapping(snapshot, rendered));
        off_the_workers(move || store.save_snapshot(&network, id, &snapshot, &mapping))
            .await
            .map_err(|source| self.record_error(source))?;
        let imported = self
            .state
            .borrow_mut()
            .as_mut()
            .filter(|state| state.imported)
            .map(|state| state.imported = false)
            .is_some();
        if imported {
            self.save_state().await?;
        }
        Ok(())
    }

    /// Writes what state holds of the offer now, and returns once it is on disk.
    ///
    /// Writes of one offer go one at a time, each taking the state as it is when its
    /// turn comes, so the last one written is the newest. Changes that finish while a
    /// write is under way share the next one (a group commit): a burst of an offer's
    /// URLs, creatives and pixels costs two or three fsynced writes, not one each.
    async fn save_state(&self) -> Result<(), ApplyError> {
        // The caller changed the state just before (no await in between): any write
        // that begins from now on holds that change.
        let asked = self.saves_asked.get() + 1;
        self.saves_asked.set(asked);
        let _turn = self.saving.lock().await;
        if self.saves_covered.get() >= asked {
            return Ok(());
        }
        let Some(state) = self.state.borrow().clone() else {
            return Ok(());
        };
        let covers = self.saves_asked.get();
        let (store, network, id) = self.store();
        off_the_workers(move || store.save_state(&network, id, &state))
            .await
            .map_err(|source| self.record_error(source))?;
        self.saves_covered.set(covers);
        Ok(())
    }

    /// What a write to the offer's state folder needs, owned (it runs on another thread).
    fn store(&self) -> (StateStore, String, SourceOfferId) {
        (
            self.ws.store.clone(),
            self.address.network.clone(),
            self.address.source_offer_id,
        )
    }

    /// Changes what state holds of the offer and saves it.
    async fn update_state(
        &self,
        change: &Change,
        update: impl FnOnce(&mut OfferState),
    ) -> Result<(), ApplyError> {
        match self.state.borrow_mut().as_mut() {
            Some(state) => update(state),
            None => {
                return Err(self.other(change, "the offer has no iScale offer yet".to_owned()));
            }
        }
        self.save_state().await
    }

    fn offer_id(&self, change: &Change) -> Result<u64, ApplyError> {
        self.state
            .borrow()
            .as_ref()
            .map(|state| state.offer.id)
            .ok_or_else(|| {
                self.other(
                    change,
                    "the offer has no iScale offer yet; apply the offer first (`--only offer`)"
                        .to_owned(),
                )
            })
    }

    fn destination_id(&self, change: &Change) -> Result<u64, ApplyError> {
        change.destination_id.ok_or_else(|| {
            self.other(
                change,
                "the plan does not name the iScale object to change".to_owned(),
            )
        })
    }

    /// The live object (read while planning) that a change names.
    fn live_of<T>(
        &self,
        change: &Change,
        items: &'a [Live<T>],
        id: u64,
        id_of: fn(&T) -> u64,
    ) -> Result<&'a Live<T>, ApplyError> {
        items
            .iter()
            .find(|item| id_of(&item.view) == id)
            .ok_or_else(|| {
                self.other(
                    change,
                    format!("{} {id} was not read", change.resource.name()),
                )
            })
    }

    async fn read_offer(&self, change: &Change, id: u64) -> Result<LiveOffer, ApplyError> {
        self.api
            .offer(id)
            .await
            .map_err(|source| self.api_error(change, source))
    }

    /// A destination event id by entry name, reading the offer once if this run has not.
    async fn event_id(&self, change: &Change, name: &str) -> Result<u64, ApplyError> {
        let known = self
            .events
            .borrow()
            .as_ref()
            .map(|events| events.get(name).copied());
        let id = match known {
            Some(id) => id,
            None => self.known_event_ids(change).await?.get(name).copied(),
        };
        id.ok_or_else(|| {
            self.other(
                change,
                format!("the iScale offer has no event named `{name}`"),
            )
        })
    }

    /// The offer's event ids as read (once per run): from the list shared with the
    /// run's other new offers, or from the offer itself.
    async fn known_event_ids(&self, change: &Change) -> Result<&BTreeMap<String, u64>, ApplyError> {
        self.events_read
            .get_or_try_init(async || {
                let id = self.offer_id(change)?;
                if let Some(events) = self.listed_event_ids(change, id).await? {
                    return Ok(events);
                }
                Ok(iscale::event_ids(&self.read_offer(change, id).await?))
            })
            .await
    }

    /// The event ids of the new offer `id` from the list of its advertiser's offers that
    /// the run's other new offers share; `None` when it has no place in one, or the list
    /// does not show it (it is then read on its own).
    async fn listed_event_ids(
        &self,
        change: &Change,
        id: u64,
    ) -> Result<Option<BTreeMap<String, u64>>, ApplyError> {
        let Some((advertiser, ticket)) = self.events_ticket.borrow_mut().take() else {
            return Ok(None);
        };
        let api = self.api;
        let listed = ticket
            .join(id, move |_ids| async move {
                let offers = api.offers_of_advertiser(advertiser).await?;
                Ok(offers
                    .iter()
                    .map(|offer| (offer.id(), iscale::event_ids(offer)))
                    .collect())
            })
            .await;
        match listed {
            Ok(by_offer) => Ok(by_offer
                .get(&id)
                .filter(|events| !events.is_empty())
                .cloned()),
            Err(error) => Err(self.api_error(change, error.clone())),
        }
    }

    /// The tracking domain for new offers, read once per run and only if something is
    /// created.
    async fn tracking_domain(&self, change: &Change) -> Result<u64, ApplyError> {
        self.tracking_domain
            .get_or_try_init(async || {
                let domains = self
                    .api
                    .tracking_domains()
                    .await
                    .map_err(|source| self.api_error(change, source))?;
                let wanted = self
                    .ws
                    .settings
                    .iscale
                    .as_ref()
                    .and_then(|iscale| iscale.tracking_domain.as_deref());
                iscale::choose_tracking_domain(&domains, wanted)
                    .map_err(|message| self.other(change, message))
            })
            .await
            .copied()
    }

    fn applied(&self, change: &Change, destination_id: u64, mut notes: Vec<String>) -> Applied {
        notes.splice(0..0, self.pending_notes.take());
        Applied::of(self.address, change, destination_id, notes)
    }

    fn api_error(&self, change: &Change, source: ApiError) -> ApplyError {
        ApplyError::Api {
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
}

/// A creative change whose file goes up (new, or changed at the source: fingerprints
/// spare the other uploads), with its spec and the file's source URL.
fn new_creative_file(change: &Change) -> Option<(&Change, &CreativeSpec, &str)> {
    let Target::Creative(spec) = &change.target else {
        return None;
    };
    let CreativeContent::File { source_url } = &spec.content else {
        return None;
    };
    let file_changed =
        change.action == Action::Create || change.fields.iter().any(|field| field.field == "file");
    file_changed.then_some((change, spec, source_url.as_str()))
}

fn pixel_id(view: &PixelView) -> u64 {
    view.network_pixel_id
}

fn url_id(view: &UrlView) -> u64 {
    view.network_offer_url_id
}

fn rule_id(view: &RuleView) -> u64 {
    view.network_custom_payout_revenue_setting_id
}

fn creative_id(view: &CreativeView) -> u64 {
    view.network_offer_creative_id
}

/// The ids of `live` objects and of `recorded` ones.
fn known_ids<T, K>(
    live: &[Live<T>],
    id_of: fn(&T) -> u64,
    recorded: Option<&LiteMap<K, ResourceRecord>>,
) -> BTreeSet<u64> {
    let recorded = recorded
        .into_iter()
        .flat_map(|records| records.values().filter_map(|record| record.id));
    live.iter()
        .map(|item| id_of(&item.view))
        .chain(recorded)
        .collect()
}

/// What a create made, and what to tell when its answer was lost and it was found.
struct Created<T> {
    made: T,
    note: Option<String>,
}

/// Sends a create. Everflow has no idempotency keys, so when the outcome is unknown (the
/// answer was lost, or the server failed after the request reached it) this first looks
/// for what the create would have made (`find`) and adopts it; only when nothing is
/// there is the create sent again. `label` names the resource in logs.
async fn create_once<T>(
    label: &str,
    post: impl AsyncFn() -> Result<T, ApiError>,
    find: impl AsyncFn() -> Result<Option<T>, ApiError>,
) -> Result<Created<T>, ApiError> {
    let mut sent = 1;
    loop {
        let error = match post().await {
            Ok(made) => return Ok(Created { made, note: None }),
            Err(error) => error,
        };
        if !error.may_have_taken_effect() {
            return Err(error);
        }
        tracing::debug!("{label}: the create's outcome is unknown ({error}); looking for it");
        match find().await {
            Ok(Some(made)) => {
                let note = format!(
                    "the answer to the create was lost ({error}); what it made was found \
                     and recorded instead of creating it again"
                );
                return Ok(Created {
                    made,
                    note: Some(note),
                });
            }
            Ok(None) if sent < CREATE_ATTEMPTS => sent += 1,
            Ok(None) => return Err(error),
            // Cannot tell whether it exists: stop; the next plan looks again.
            Err(lookup) => return Err(lookup),
        }
    }
}

/// Writes one of `address`'s pixels in its source network, posting to `url`: a full PUT
/// over the `live` pixel, or a create sent once ([`create_once`]: a lost one is found
/// among the offer's pixels by type and event, none of the `known` ids).
async fn write_pixel(
    address: &Address,
    source: &AffiliateApi,
    spec: &PixelSpec,
    url: &str,
    live: Option<&LivePixel>,
    known: &BTreeSet<u64>,
) -> Result<Created<LivePixel>, ApiError> {
    let offer = address.source_offer_id.0;
    let body = pixels::pixel_body(offer, spec.pixel_type, spec.source_event_id, url, live);
    match live {
        None => {
            let label = format!("{address} {}", ResourceId::Pixel(spec.key.clone()));
            let is_it = |pixel: &PixelView| {
                pixel.network_offer_id == offer && pixels::pixel_key(pixel) == spec.key
            };
            create_once(
                &label,
                async || source.create_pixel(&body).await,
                async || Ok(newly_made(source.pixels().await?, known, pixel_id, is_it)),
            )
            .await
        }
        Some(live) => Ok(Created {
            made: source
                .replace_pixel(live.view.network_pixel_id, &body)
                .await?,
            note: None,
        }),
    }
}

/// The one object among `items` that no one knew of before and that `is_it` recognises;
/// `None` when there is none or more than one (then nothing is guessed).
fn newly_made<T>(
    items: Vec<Live<T>>,
    known: &BTreeSet<u64>,
    id_of: fn(&T) -> u64,
    is_it: impl Fn(&T) -> bool,
) -> Option<Live<T>> {
    let mut found = items
        .into_iter()
        .filter(|item| !known.contains(&id_of(&item.view)) && is_it(&item.view));
    match (found.next(), found.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// A PUT answer may not carry the events; fall back to the ids read just before.
fn keep_event_ids(answer: &mut LiveOffer, before: &LiveOffer) {
    if iscale::event_ids(answer).is_empty()
        && let Some(relationship) = before.raw().get("relationship")
    {
        let mut object = answer.raw().object();
        object.insert("relationship".to_owned(), relationship);
        answer.set_raw(RawObject::from_map(&object));
        answer.view.relationship = before.view.relationship.clone();
    }
}

/// What `url_mapping.json` says of a source and what was made of it: each source URL,
/// its landing page, and the destination URL built from it.
pub(crate) fn url_mapping(snapshot: &SourceSnapshot, rendered: &Rendered) -> Vec<UrlMapping> {
    url_mapping_of(snapshot, &rendered.offer.destination_url, &rendered.urls)
}

/// The same, for any destination: `default_url` is what the source's default URL
/// became, `urls` what the others did.
fn url_mapping_of(
    snapshot: &SourceSnapshot,
    default_url: &str,
    urls: &[crate::render::UrlSpec],
) -> Vec<UrlMapping> {
    snapshot
        .landing_pages
        .iter()
        .map(|(&source_url_id, page)| {
            let destination_url = if source_url_id == crate::source::DEFAULT_URL_ID {
                default_url.to_owned()
            } else {
                urls.iter()
                    .find(|url| url.source_url_id == source_url_id)
                    .map(|url| url.destination_url.clone())
                    .unwrap_or_default()
            };
            UrlMapping {
                source_url_id,
                name: page.name.clone(),
                landing_page: page.url.clone(),
                destination_url,
            }
        })
        .collect()
}

/// What state keeps of targeting as applied: its values too, since iScale does not show
/// them back.
pub(crate) fn targeting_record(spec: &crate::render::TargetingSpec) -> ResourceRecord {
    let fields = targeting_fields(spec);
    let mut record = record_of(None, &fields, [], None);
    record.values = fields
        .iter()
        .map(|(path, value)| (path.clone(), value.to_string()))
        .collect();
    record
}

/// What state keeps of an applied resource.
pub(crate) fn record_of<'k>(
    id: Option<u64>,
    fields: &Fields,
    values: impl IntoIterator<Item = (&'k str, String)>,
    asset_url: Option<String>,
) -> ResourceRecord {
    let fingerprints = field_fingerprints(fields);
    ResourceRecord {
        id,
        fingerprint: combined_fingerprint(&fingerprints),
        fields: fingerprints,
        values: values
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        asset_url,
    }
}
