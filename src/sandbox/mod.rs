//! The built-in Everflow simulator ("sandbox"), DESIGN.md section 6.
//!
//! It owns a stateful, in-memory copy of one destination network (iScale, Network
//! API) and several source networks (Affiliate API), served over HTTP on loopback
//! with the request/response shapes, quirks, rate limits and errors documented in
//! `reference/everflow-api-facts.md`. On the same server, under `/api`, it runs an
//! Offerit install (the second destination, seed 003 and
//! `reference/offerit-api-facts.md`): PHP form bodies, the `api-key`/`api-username`
//! headers and Offerit's `{"result", "message"}` envelopes. It also owns the fault
//! injection (latency, 5xx, responses dropped after the write committed, bursts of
//! 429) and the request log that tests read.
//!
//! It does not own the offersync HTTP client, the `offersync sandbox` command line
//! or the demo: those call [`serve`], [`SandboxHandle`] and [`Fixtures::env_local`].
//!
//! Layout:
//! - [`fixtures`]: the seed data (built-in JSON, or a file) and the `.env.local` for it.
//! - `world/`: the in-memory networks (destination offers, affiliates and
//!   partner postbacks with their validation; source offers, their tracking
//!   links and the affiliates' postbacks).
//! - `pipeline`: what every `/v1` request goes through (latency, auth, rate limit,
//!   faults, log) before its route handler, and every `/api` (Offerit) request the
//!   same way without the rate limit.
//! - `form`: PHP's decoding of form bodies (bracket arrays), for the Offerit routes.
//! - `routes/`: one file per route family; `routes/offerit.rs` is the Offerit API,
//!   `routes/control.rs` holds `/_sandbox/...` control endpoints, `routes/web.rs` the
//!   web host and the asset downloads.
//! - `web`: the fixture web files (pages and images of source offers) served on
//!   loopback, so image and page downloads never leave the machine.

mod conn;
mod error;
mod faults;
pub mod fixtures;
mod form;
mod handle;
mod log;
mod money;
mod pipeline;
mod query;
mod rate_limit;
mod routes;
mod web;
mod world;

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

pub use error::{FixtureError, SandboxError};
pub use faults::Faults;
pub use fixtures::Fixtures;
pub use handle::SandboxHandle;
pub use log::LoggedRequest;

use faults::FaultState;
use rate_limit::RateLimiter;
use web::WebFiles;
use world::World;

/// How a sandbox behaves apart from its data: rate limits, latency, faults, seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxOptions {
    /// Requests per second for the destination network's bucket (Everflow: 30).
    pub network_rate: u32,
    /// Requests per second shared by all affiliate keys of one source network (Everflow: 5).
    pub affiliate_rate: u32,
    /// The rate-limit window (Everflow: 30 s); shorter ones make tests of pacing quick.
    pub window: Duration,
    /// Sleep before handling each `/v1` request.
    pub latency: Duration,
    /// Faults injected from the start.
    pub faults: Faults,
    /// Seed of the PRNG that decides which requests get a fault.
    pub seed: u64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        // LIVE rate-limiting page (2026): Network 30 rps, Affiliate 5 rps. The older
        // SNAP page in reference/ still says 20; the facts file says LIVE is current.
        SandboxOptions {
            network_rate: 30,
            affiliate_rate: 5,
            window: rate_limit::WINDOW,
            latency: Duration::ZERO,
            faults: Faults::default(),
            seed: 0x5eed_0ff5_e75c,
        }
    }
}

/// Who a known API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyOwner {
    /// The destination network's Network API key.
    Network,
    /// An Affiliate API key of one affiliate (us, or another affiliate of the
    /// fixtures) in the named source network.
    Affiliate { network: String, affiliate_id: u64 },
}

/// A running simulator's shared state; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

/// The one Offerit admin allowed to call `/api`: headers `api-key`, `api-username`.
#[derive(Clone)]
pub(crate) struct OfferitAdmin {
    pub api_key: String,
    pub api_username: String,
}

struct Inner {
    keys: HashMap<String, KeyOwner>,
    /// `None` when the fixtures have no Offerit install.
    offerit_admin: Option<OfferitAdmin>,
    network_bucket: String,
    network_limit: u32,
    affiliate_limit: u32,
    world: Mutex<World>,
    log: Mutex<Vec<LoggedRequest>>,
    faults: Mutex<FaultState>,
    limiter: Mutex<RateLimiter>,
    /// Start of the first rate-limit window (tokio time, like the latency sleeps).
    epoch: tokio::time::Instant,
    /// The fixture web files (`/_sandbox/web/...`).
    web: WebFiles,
    /// Paths of the web host, asset and root icon downloads, in order.
    web_log: Mutex<Vec<String>>,
    /// `/v1/networks/reporting/*` requests being answered (see `pipeline.rs`).
    reports_in_flight: AtomicUsize,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the data
/// consistent before anything that could panic, and a sandbox must keep serving.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sandbox {
    /// Builds a sandbox from fixtures. Fixture entries that do not validate are
    /// skipped with a warning (use [`Fixtures::from_path`] to reject them instead).
    pub fn new(fixtures: Fixtures, options: SandboxOptions) -> Sandbox {
        let (world, mut problems) = World::build(&fixtures);
        let (web, web_problems) = WebFiles::build(&fixtures.web);
        problems.extend(web_problems);
        for problem in &problems {
            tracing::warn!("sandbox fixtures: {problem}");
        }
        if serde_json::to_string(&fixtures).is_ok_and(|t| t.contains(fixtures::BASE_URL_TOKEN)) {
            tracing::warn!(
                "sandbox fixtures still contain {}: call Fixtures::with_base_url first",
                fixtures::BASE_URL_TOKEN
            );
        }
        let offerit_admin = fixtures.offerit.as_ref().map(|o| OfferitAdmin {
            api_key: o.api_key.clone(),
            api_username: o.api_username.clone(),
        });
        let network_bucket = format!("network:{}", fixtures.destination.network_id);
        let mut keys = HashMap::new();
        keys.insert(fixtures.destination.api_key, KeyOwner::Network);
        for source in fixtures.sources {
            let ours = std::iter::once(source.api_key)
                .chain(source.extra_api_keys)
                .map(|key| (key, source.affiliate_id));
            let others = source
                .other_affiliates
                .into_iter()
                .map(|a| (a.api_key, a.affiliate_id));
            for (key, affiliate_id) in ours.chain(others) {
                let network = source.name.clone();
                keys.insert(
                    key,
                    KeyOwner::Affiliate {
                        network,
                        affiliate_id,
                    },
                );
            }
        }
        // Everflow counts requests per 30 s window; the configured rates are per second.
        let per_window = |rate: u32| (f64::from(rate) * options.window.as_secs_f64()) as u32;
        Sandbox {
            inner: Arc::new(Inner {
                keys,
                offerit_admin,
                network_bucket,
                network_limit: per_window(options.network_rate),
                affiliate_limit: per_window(options.affiliate_rate),
                world: Mutex::new(world),
                log: Mutex::new(Vec::new()),
                faults: Mutex::new(FaultState::new(
                    options.faults,
                    options.latency,
                    options.seed,
                )),
                limiter: Mutex::new(RateLimiter::new(options.window)),
                epoch: tokio::time::Instant::now(),
                web,
                web_log: Mutex::new(Vec::new()),
                reports_in_flight: AtomicUsize::new(0),
            }),
        }
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }

    /// Every `/v1` and `/api` request so far, in the order they completed.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.inner.log).clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.inner.log).clear();
    }

    /// The paths of every download outside `/v1` so far, in order: fixture web
    /// files (`/_sandbox/web/...`), uploaded assets (`/_sandbox/assets/...`) and
    /// the root icons (`/favicon.ico`, `/apple-touch-icon.png`), whatever their
    /// status. Tests use it to see that an image was not downloaded twice.
    pub fn web_requests(&self) -> Vec<String> {
        lock(&self.inner.web_log).clone()
    }

    /// Empties the log of [`Sandbox::web_requests`].
    pub fn clear_web_requests(&self) {
        lock(&self.inner.web_log).clear();
    }

    /// Sets the base URL (`http://127.0.0.1:PORT`) used in the URLs of uploaded
    /// assets, unless one is set already.
    pub(crate) fn set_base_url_if_unset(&self, base: &str) {
        let mut world = lock(&self.inner.world);
        if world.destination.media.base_url.is_empty() {
            world.destination.media.base_url = base.trim_end_matches('/').to_owned();
        }
    }

    /// Replaces the fault settings; `burst_429` restarts its countdown.
    pub fn set_faults(&self, f: Faults) {
        lock(&self.inner.faults).set_faults(f);
    }

    /// The fault settings in force (with `burst_429` = the 429s still to come).
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).faults()
    }

    /// Sets the latency added before each `/v1` and `/api` request.
    pub fn set_latency(&self, d: Duration) {
        lock(&self.inner.faults).latency = d;
    }

    /// Changes a source offer's payout amount (a change on the source side, as a
    /// source network's staff would make it).
    pub fn set_source_payout(
        &self,
        network: &str,
        offer_id: u64,
        entry_name: &str,
        amount: Decimal,
    ) -> Result<(), SandboxError> {
        lock(&self.inner.world)
            .source_payout_mut(network, offer_id, entry_name, Some(amount), None)
            .map(|_| ())
    }

    /// Edits a source offer as its network's staff would: the closure gets the
    /// offer in the affiliate view (as `GET /v1/affiliates/offers/{id}` shows it)
    /// and may change anything but its id. The result is checked like a fixture
    /// offer (relationship totals are recounted, tracking links computed again
    /// unless the closure set them) and replaces the offer. A URL the edit removes
    /// loses its landing page too.
    pub fn edit_source_offer(
        &self,
        network: &str,
        offer_id: u64,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), SandboxError> {
        lock(&self.inner.world).edit_source_offer(network, offer_id, |view, pages| {
            f(view);
            // A URL the edit removed takes its landing page with it.
            let urls: std::collections::BTreeSet<u64> = view
                .get("relationship")
                .and_then(|relationship| relationship.get("urls"))
                .and_then(|urls| urls.get("entries"))
                .and_then(Value::as_array)
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|url| url.get("network_offer_url_id")?.as_u64())
                        .collect()
                })
                .unwrap_or_default();
            pages.retain(|id, _| *id == 0 || urls.contains(id));
        })
    }

    /// Sets the landing page behind a source offer's URL (`url_id` 0: the
    /// default URL), which its tracking link `GET /v1/affiliates/offers/{id}/url/{url_id}`
    /// reflects (for direct-linking offers, the link is the page itself).
    pub fn set_landing_page(
        &self,
        network: &str,
        offer_id: u64,
        url_id: u64,
        url: &str,
    ) -> Result<(), SandboxError> {
        lock(&self.inner.world).edit_source_offer(network, offer_id, |_, pages| {
            pages.insert(url_id, url.to_owned());
        })
    }

    /// Our affiliate postbacks in a source network (those of the fixture's
    /// `affiliate_id`), as `GET /v1/affiliates/pixels` shows them to us, in id
    /// order; empty for an unknown network.
    pub fn source_pixels(&self, network: &str) -> Vec<Value> {
        let world = lock(&self.inner.world);
        world
            .sources
            .get(network)
            .map(|s| s.pixels_of(s.affiliate_id))
            .unwrap_or_default()
    }

    /// Edits a postback of a source network outside offersync (its affiliate
    /// in the UI, say, or a source network's staff): the closure gets the
    /// postback as `GET /v1/affiliates/pixels/{id}` shows it and may change
    /// anything. The result is applied like that affiliate's PUT (same
    /// validation; a removed key reverts to its default) and `time_saved`
    /// moves when something changed.
    pub fn edit_source_pixel(
        &self,
        network: &str,
        pixel_id: u64,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), SandboxError> {
        lock(&self.inner.world).edit_source_pixel(network, pixel_id, f)
    }

    /// Sets how many deliveries each partner postback makes per offer and per
    /// day in the synthetic delivery log of
    /// `POST /v1/networks/reporting/affiliate/pixels` (3 unless set; 0: none),
    /// so a test can make more rows than the report's cap of 1000.
    pub fn set_postback_volume(&self, per_day: u32) {
        lock(&self.inner.world).postback_volume = per_day;
    }

    /// A destination offer as `GET /v1/networks/offers/{id}?relationship=payout_revenue`
    /// returns it.
    pub fn destination_offer(&self, id: u64) -> Option<Value> {
        let world = lock(&self.inner.world);
        world.destination_offer_json(id, &world::Relationships::payout_revenue())
    }

    /// Every destination offer, by id, in the shape of [`Sandbox::destination_offer`].
    pub fn destination_offers(&self) -> Vec<Value> {
        let world = lock(&self.inner.world);
        let rels = world::Relationships::payout_revenue();
        world
            .destination
            .offers
            .keys()
            .filter_map(|id| world.destination_offer_json(*id, &rels))
            .collect()
    }

    /// A destination offer's URLs, each as `GET /v1/networks/offerurls/{id}`
    /// returns it, in id order (deleted ones included).
    pub fn destination_urls(&self, offer_id: u64) -> Vec<Value> {
        let world = lock(&self.inner.world);
        let d = &world.destination;
        d.offer_urls(offer_id).map(|u| d.url_json(u)).collect()
    }

    /// A destination offer's creatives, each as `GET /v1/networks/creatives/{id}`
    /// returns it, in id order.
    pub fn destination_creatives(&self, offer_id: u64) -> Vec<Value> {
        let world = lock(&self.inner.world);
        let d = &world.destination;
        d.creatives
            .values()
            .filter(|c| c.offer_id() == offer_id)
            .map(|c| d.creative_json(c))
            .collect()
    }

    /// A destination offer's custom payout/revenue settings, each as
    /// `GET /v1/networks/custom/payoutrevenue/{id}` returns it, in id order.
    pub fn destination_payout_rules(&self, offer_id: u64) -> Vec<Value> {
        let world = lock(&self.inner.world);
        let d = &world.destination;
        d.offer_rules(offer_id).map(|r| d.rule_json(r)).collect()
    }

    /// Every partner postback, as `GET /v1/networks/pixels/{id}` returns it,
    /// in id order.
    pub fn destination_pixels(&self) -> Vec<Value> {
        let world = lock(&self.inner.world);
        let d = &world.destination;
        d.pixels.values().map(|p| d.partner_pixel_json(p)).collect()
    }

    /// A destination offer's targeting as stored: `{"countries": [...],
    /// "regions": [...]}`. `None` while nothing (bulk PATCH `ruleset_*`, PUT
    /// `targeting`) has written it, or when the offer does not exist. The API
    /// never shows it (see `world/targeting.rs`), so tests read it here.
    pub fn destination_targeting(&self, offer_id: u64) -> Option<Value> {
        let world = lock(&self.inner.world);
        world
            .destination
            .targeting
            .get(&offer_id)
            .map(world::targeting::Targeting::to_json)
    }

    /// An uploaded file by the URL the sandbox gave it (an offer's
    /// `thumbnail_url`, a creative's `resource_url`): its mime type and bytes.
    pub fn asset(&self, url: &str) -> Option<(String, Vec<u8>)> {
        let world = lock(&self.inner.world);
        world
            .destination
            .media
            .find(url)
            .map(|a| (a.content_type.clone(), a.bytes.to_vec()))
    }

    /// The Offerit install as JSON, as `GET /_sandbox/offerit` returns it:
    /// `{advertisers, goals, offers, landing_pages}`, each in id order. An offer is
    /// `{offerid, status ("active"/"paused"), fields, expiry, default_landing_pageid,
    /// landing_pageids, goals: [{offer_goal_id, goal_id, fields}]}` and a landing page
    /// `{landing_pageid, offerid, fields}`, where `fields` are the form fields as sent
    /// (text; PHP arrays as lists or objects). `None` without an Offerit install.
    pub fn offerit(&self) -> Option<Value> {
        lock(&self.inner.world)
            .offerit
            .as_ref()
            .map(world::offerit::Offerit::to_json)
    }

    /// One Offerit offer in the shape of [`Sandbox::offerit`]'s `offers`.
    pub fn offerit_offer(&self, offer_id: u64) -> Option<Value> {
        lock(&self.inner.world)
            .offerit
            .as_ref()
            .and_then(|o| o.offer_view(offer_id))
    }

    /// One Offerit landing page in the shape of [`Sandbox::offerit`]'s `landing_pages`.
    pub fn offerit_landing_page(&self, landing_page_id: u64) -> Option<Value> {
        lock(&self.inner.world)
            .offerit
            .as_ref()
            .and_then(|o| o.landing_page_view(landing_page_id))
    }

    /// Simulates an iScale user setting an advertiser's postback verification
    /// token in the UI (at most 50 characters, like the bulk edit);
    /// `time_saved` moves when it changed.
    pub fn set_advertiser_token(&self, id: u64, token: &str) -> Result<(), SandboxError> {
        let mut world = lock(&self.inner.world);
        let world = &mut *world;
        if !world.destination.advertisers.contains_key(&id) {
            return Err(SandboxError::UnknownAdvertiser(id));
        }
        world
            .destination
            .set_advertiser_token(id, token, &mut world.clock)
            .map_err(|e| SandboxError::InvalidAdvertiserEdit {
                advertiser_id: id,
                message: e.message,
            })
    }

    /// Simulates an iScale user editing an offer in the UI. The closure gets the
    /// offer as a PUT body (base fields plus `payout_revenue[]` with their ids);
    /// the result is applied like a PUT (same validation; a removed key reverts to
    /// its default) and `time_saved` moves when a base field changed.
    pub fn edit_destination_offer(
        &self,
        id: u64,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), SandboxError> {
        lock(&self.inner.world).edit_destination_offer(id, f)
    }
}

/// Serves the sandbox on `listener` until the future is dropped or the listener fails.
///
/// Connections go through a wrapper that can cut a response short, which is how
/// `drop_after_commit_rate` is simulated (see `conn.rs`).
///
/// Fixture strings must already have their `{sandbox}` placeholder replaced
/// ([`Fixtures::with_base_url`]). Uploaded assets get URLs on the listener's
/// address (`0.0.0.0` and `[::]` become loopback).
pub async fn serve(listener: tokio::net::TcpListener, sandbox: Sandbox) -> std::io::Result<()> {
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    sandbox.set_base_url_if_unset(&format!("http://{addr}"));
    let app = routes::router(sandbox);
    axum::serve(
        conn::FaultListener::new(listener),
        app.into_make_service_with_connect_info::<conn::ConnHandle>(),
    )
    .await
}
