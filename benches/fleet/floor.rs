//! The floor of a phase: the least time Everflow's rules allow for the requests a phase
//! made, however well a client paces and overlaps them. It is the larger of two bounds:
//!
//! - the rate floor: a bucket allows `quota` requests per fixed window, so `c` requests
//!   span at least `ceil(c / quota) - 1` whole windows;
//! - the critical path: the longest chain of round trips where each needs the answer of
//!   the one before, times the latency of one round trip.
//!
//! It owns the request kinds, their dependency table and both bounds; measuring is the
//! caller's. Wherever a kind is ambiguous the table takes the shorter chain, so the floor
//! never flatters the tool.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

/// What a request is, as far as the order of round trips goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A read the plan needs that needs nothing itself: lists, settings, the pixel
    /// list, countries, advertisers, offer details (`GET /v1/networks/offers/{id}`).
    PlanRead,
    /// `GET /v1/affiliates/offersrunnable` or `GET /v1/affiliates/offers/{id}`.
    SourceOffer,
    /// `GET /v1/affiliates/offers/{id}/url/{url_id}`: the page behind a tracking link.
    TrackingLink,
    /// `POST /v1/networks/uploads/temp`: an image, before the offer or creative using it.
    Upload,
    /// `POST /v1/networks/offers` or `PUT /v1/networks/offers/{id}`.
    Offer,
    /// `POST|PUT /v1/networks/offerurls...`.
    Url,
    /// `POST|PUT /v1/networks/custom/payoutrevenue...`: rules name iScale's URL ids.
    Rule,
    /// `POST|PUT /v1/networks/creatives...`.
    Creative,
    /// `PATCH /v1/networks/patch/offers/apply`.
    OfferPatch,
    /// `PUT /v1/networks/offers/{id}/targeting`.
    Targeting,
    /// `POST|PUT /v1/affiliates/pixels...`: postbacks name iScale's event ids.
    Pixel,
    /// `PATCH /v1/networks/patch/advertiser/apply`: verification tokens.
    AdvertiserPatch,
    /// Any other write: needs the plan and nothing else.
    OtherWrite,
}

use Kind::{
    AdvertiserPatch, Creative, Offer, OfferPatch, OtherWrite, Pixel, PlanRead, Rule, SourceOffer,
    Targeting, TrackingLink, Upload, Url,
};

/// What each kind must wait for (the kinds whose answers it needs), in an order where
/// every kind comes after all it waits for. A write waits for the plan's reads, since
/// apply starts once the plan is known. A kind absent from a phase adds nothing: the
/// kinds after it wait only for those present.
pub const NEEDS: &[(Kind, &[Kind])] = &[
    (PlanRead, &[]),
    (SourceOffer, &[]),
    // The link is per URL of the source offer, so the offer comes first.
    (TrackingLink, &[SourceOffer]),
    (Upload, &[PlanRead, SourceOffer, TrackingLink]),
    // The thumbnail is uploaded before the offer that shows it.
    (Offer, &[PlanRead, SourceOffer, TrackingLink, Upload]),
    (Url, &[PlanRead, SourceOffer, TrackingLink, Offer]),
    (Rule, &[PlanRead, SourceOffer, TrackingLink, Offer, Url]),
    (
        Creative,
        &[PlanRead, SourceOffer, TrackingLink, Upload, Offer],
    ),
    (OfferPatch, &[PlanRead, SourceOffer, TrackingLink, Offer]),
    (Targeting, &[PlanRead, SourceOffer, TrackingLink, Offer]),
    (Pixel, &[PlanRead, SourceOffer, TrackingLink, Offer]),
    (AdvertiserPatch, &[PlanRead, SourceOffer, TrackingLink]),
    (OtherWrite, &[PlanRead, SourceOffer, TrackingLink]),
];

impl Kind {
    /// The kind of a logged request.
    pub fn of(method: &str, path: &str, is_write: bool) -> Kind {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "affiliates", "offersrunnable"])
            | ("GET", ["v1", "affiliates", "offers", _]) => SourceOffer,
            ("GET", ["v1", "affiliates", "offers", _, "url", _]) => TrackingLink,
            _ if !is_write => PlanRead,
            ("POST", ["v1", "networks", "uploads", "temp"]) => Upload,
            ("POST", ["v1", "networks", "offers"]) | ("PUT", ["v1", "networks", "offers", _]) => {
                Offer
            }
            ("PUT", ["v1", "networks", "offers", _, "targeting"]) => Targeting,
            ("POST" | "PUT", ["v1", "networks", "offerurls", ..]) => Url,
            ("POST" | "PUT", ["v1", "networks", "custom", "payoutrevenue", ..]) => Rule,
            ("POST" | "PUT", ["v1", "networks", "creatives", ..]) => Creative,
            ("PATCH", ["v1", "networks", "patch", "offers", "apply"]) => OfferPatch,
            ("PATCH", ["v1", "networks", "patch", "advertiser", "apply"]) => AdvertiserPatch,
            ("POST" | "PUT", ["v1", "affiliates", "pixels", ..]) => Pixel,
            _ => OtherWrite,
        }
    }

    /// A short readable name.
    pub fn label(self) -> &'static str {
        match self {
            PlanRead => "read",
            SourceOffer => "source offer",
            TrackingLink => "tracking link",
            Upload => "upload",
            Offer => "offer",
            Url => "url",
            Rule => "rule",
            Creative => "creative",
            OfferPatch => "offer patch",
            Targeting => "targeting",
            Pixel => "pixel",
            AdvertiserPatch => "advertiser patch",
            OtherWrite => "other write",
        }
    }
}

/// The longest chain of dependent round trips over the kinds `present`, first to last.
pub fn critical_path(present: &BTreeSet<Kind>) -> Vec<Kind> {
    // NEEDS is in dependency order, so one pass finds each kind's longest chain.
    let mut chains: Vec<(Kind, Vec<Kind>)> = Vec::new();
    for (kind, needs) in NEEDS {
        if !present.contains(kind) {
            continue;
        }
        let mut chain = chains
            .iter()
            .filter(|(done, _)| needs.contains(done))
            .map(|(_, chain)| chain)
            .max_by_key(|chain| chain.len())
            .cloned()
            .unwrap_or_default();
        chain.push(*kind);
        chains.push((*kind, chain));
    }
    chains
        .into_iter()
        .map(|(_, chain)| chain)
        // The first of equally long chains, for a stable report.
        .rev()
        .max_by_key(Vec::len)
        .unwrap_or_default()
}

/// The least time `requests` take in a bucket allowing `per_window` per `window`:
/// every window span holds at most `per_window` of them.
pub fn rate_floor(requests: u64, per_window: u64, window: Duration) -> Duration {
    if requests == 0 || per_window == 0 {
        return Duration::ZERO;
    }
    let windows = requests.div_ceil(per_window) - 1;
    window * u32::try_from(windows).unwrap_or(u32::MAX)
}

/// The checks of this module. The bench runs without a test harness (`harness = false`),
/// so `#[test]` functions would never run: `cargo test` runs these from the smoke run.
pub fn self_check() {
    a_plan_with_nothing_changed_is_two_round_trips_deep();
    a_first_apply_is_plan_upload_offer_url_rule();
    a_one_payout_change_is_plan_then_offer();
    ambiguous_or_unknown_kinds_take_the_shorter_chain();
    the_table_lists_every_kind_after_what_it_needs();
    rate_floor_counts_whole_windows_beyond_the_first();
}

fn kinds(requests: &[(&str, &str, bool)]) -> BTreeSet<Kind> {
    requests
        .iter()
        .map(|(method, path, write)| Kind::of(method, path, *write))
        .collect()
}

fn a_plan_with_nothing_changed_is_two_round_trips_deep() {
    let plan = kinds(&[
        ("GET", "/v1/affiliates/settings", false),
        ("GET", "/v1/affiliates/offersrunnable", false),
        ("GET", "/v1/affiliates/offers/10001/url/10101", false),
        ("GET", "/v1/networks/offers", false),
        ("POST", "/v1/networks/offerstable", false),
        ("GET", "/v1/affiliates/pixels", false),
    ]);
    assert_eq!(critical_path(&plan), [SourceOffer, TrackingLink]);
}

fn a_first_apply_is_plan_upload_offer_url_rule() {
    let apply = kinds(&[
        ("GET", "/v1/networks/offers", false),
        ("GET", "/v1/affiliates/offersrunnable", false),
        ("GET", "/v1/affiliates/offers/10001/url/10101", false),
        ("POST", "/v1/networks/uploads/temp", true),
        ("POST", "/v1/networks/offers", true),
        ("POST", "/v1/networks/offerurls", true),
        ("POST", "/v1/networks/custom/payoutrevenue", true),
        ("POST", "/v1/networks/creatives", true),
        ("PATCH", "/v1/networks/patch/offers/apply", true),
        ("PUT", "/v1/networks/offers/1/targeting", true),
        ("POST", "/v1/affiliates/pixels", true),
        ("PATCH", "/v1/networks/patch/advertiser/apply", true),
    ]);
    let path = critical_path(&apply);
    assert_eq!(
        path,
        [SourceOffer, TrackingLink, Upload, Offer, Url, Rule],
        "{path:?}"
    );
}

fn a_one_payout_change_is_plan_then_offer() {
    let apply = kinds(&[
        ("GET", "/v1/affiliates/offersrunnable", false),
        ("GET", "/v1/affiliates/offers/10001/url/10101", false),
        ("GET", "/v1/networks/offers/1", false),
        ("PUT", "/v1/networks/offers/1", true),
    ]);
    assert_eq!(critical_path(&apply), [SourceOffer, TrackingLink, Offer]);
}

fn ambiguous_or_unknown_kinds_take_the_shorter_chain() {
    // Offer details are plan reads, not reads after a list.
    assert_eq!(Kind::of("GET", "/v1/networks/offers/7", false), PlanRead);
    // A link without a source offer read waits for nothing.
    let links = kinds(&[("GET", "/v1/affiliates/offers/1/url/2", false)]);
    assert_eq!(critical_path(&links), [TrackingLink]);
    // A write the table does not know needs only the plan; searches are reads.
    assert_eq!(
        Kind::of("DELETE", "/v1/networks/pixels/3", true),
        OtherWrite
    );
    assert_eq!(
        Kind::of("POST", "/v1/affiliates/pixelstable", false),
        PlanRead
    );
    assert_eq!(Kind::of("PUT", "/v1/affiliates/pixels/9", true), Pixel);
    assert_eq!(Kind::of("PUT", "/v1/networks/offers/1", true), Offer);
    assert!(critical_path(&BTreeSet::new()).is_empty());
}

fn the_table_lists_every_kind_after_what_it_needs() {
    for (at, (kind, needs)) in NEEDS.iter().enumerate() {
        for need in *needs {
            let before = NEEDS[..at].iter().any(|(earlier, _)| earlier == need);
            assert!(before, "{kind:?} needs {need:?}, listed after it");
        }
        let once = NEEDS.iter().filter(|(other, _)| other == kind).count();
        assert_eq!(once, 1, "{kind:?} is listed {once} times");
    }
}

fn rate_floor_counts_whole_windows_beyond_the_first() {
    let window = Duration::from_secs(30);
    assert_eq!(rate_floor(0, 150, window), Duration::ZERO);
    assert_eq!(rate_floor(150, 150, window), Duration::ZERO);
    assert_eq!(rate_floor(151, 150, window), window);
    assert_eq!(rate_floor(451, 150, window), window * 3);
}
