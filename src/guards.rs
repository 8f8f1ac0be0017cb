//! Safety guards: plans too surprising to apply unattended (DESIGN 4.1, exit 3).
//!
//! Each guard is configured per network in its desired file (`guards:`) and overridden
//! per run with its own flag, never for good. Like octoDNS's minimum-existing rule, the
//! count-based guards apply only from `min_managed_offers` managed offers on; they are
//! counted per network, because sources fail one network at a time and a broken one
//! would be diluted in a workspace-wide percentage.
//!
//! Pure: a function of the plan and the desired files.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;

use crate::desired::Guards;
use crate::plan::fields::{FieldValue, is_payout_field};
use crate::plan::{Action, Change, Reason, ResourceId, Target};
use crate::planner::Planned;
use crate::workspace::Workspace;

/// A guard, as its override flag names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Guard {
    /// More than `max_paused_percent` of a network's managed offers would be paused.
    MassPause,
    /// More than `max_unavailable_percent` of them are no longer available at the source.
    SourceShrink,
    /// A payout would keep less than `min_margin` of its revenue.
    LowMargin,
    /// A payout would rise by more than `max_payout_rise_percent`.
    PayoutRise,
}

impl Guard {
    /// The flag that overrides it for one run.
    pub fn flag(self) -> &'static str {
        match self {
            Guard::MassPause => "--allow-mass-pause",
            Guard::SourceShrink => "--allow-source-shrink",
            Guard::LowMargin => "--allow-low-margin",
            Guard::PayoutRise => "--allow-payout-rise",
        }
    }
}

/// A guard a plan trips, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tripped {
    pub guard: Guard,
    /// What trips it, naming the network or offer and the numbers.
    pub message: String,
}

impl fmt::Display for Tripped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (override: {})", self.message, self.guard.flag())
    }
}

/// The guards `planned` trips, except those in `allowed`, in a stable order.
pub fn check(ws: &Workspace, planned: &Planned, allowed: &[Guard]) -> Vec<Tripped> {
    let default = Guards::default();
    let guards_of = |network: &str| {
        ws.network(network)
            .map_or(&default, |network| &network.file.guards)
    };
    let mut tripped = counts(planned, &guards_of);
    for change in &planned.plan.changes {
        let guards = guards_of(&change.address.network);
        tripped.extend(low_margin(change, guards));
        tripped.extend(payout_rises(change, guards));
    }
    tripped.retain(|trip| !allowed.contains(&trip.guard));
    tripped
}

/// Mass pauses and shrunken sources, per network.
fn counts<'a>(planned: &Planned, guards_of: &impl Fn(&str) -> &'a Guards) -> Vec<Tripped> {
    #[derive(Default)]
    struct Count {
        managed: u32,
        paused: u32,
        unavailable: u32,
    }
    let mut by_network: BTreeMap<&str, Count> = BTreeMap::new();
    for (address, work) in &planned.offers {
        if work.state.is_some() {
            by_network.entry(&address.network).or_default().managed += 1;
        }
    }
    for change in &planned.plan.changes {
        if change.resource == ResourceId::Offer && change.action == Action::Pause {
            let count = by_network.entry(&change.address.network).or_default();
            count.paused += 1;
            if change.reasons.contains(&Reason::UnavailableAtSource) {
                count.unavailable += 1;
            }
        }
    }
    let mut tripped = Vec::new();
    for (network, count) in by_network {
        let guards = guards_of(network);
        if count.managed == 0 || count.managed < guards.min_managed_offers {
            continue;
        }
        let over = |part: u32, limit: u32| {
            u64::from(part) * 100 > u64::from(limit) * u64::from(count.managed)
        };
        if over(count.paused, guards.max_paused_percent) {
            tripped.push(Tripped {
                guard: Guard::MassPause,
                message: format!(
                    "{network}: the plan pauses {} of {} managed offers, more than the {}% \
                     allowed (guards.max_paused_percent)",
                    count.paused, count.managed, guards.max_paused_percent
                ),
            });
        }
        if over(count.unavailable, guards.max_unavailable_percent) {
            tripped.push(Tripped {
                guard: Guard::SourceShrink,
                message: format!(
                    "{network}: the source no longer gives {} of {} managed offers, more than \
                     the {}% allowed (guards.max_unavailable_percent); a broken fetch or a \
                     lost approval is more likely than real removals",
                    count.unavailable, count.managed, guards.max_unavailable_percent
                ),
            });
        }
    }
    tripped
}

/// Payouts computed with a margin below the network's minimum.
fn low_margin(change: &Change, guards: &Guards) -> Option<Tripped> {
    let minimum = guards.min_margin?;
    let (margin, what) = match &change.target {
        Target::Offer(offer) => (offer.margin, "its payouts".to_owned()),
        Target::Rule(rule) => (rule.margin, format!("payout rule `{}`", rule.name)),
        Target::OfferitOffer(offer) => (offer.margin, "its commission".to_owned()),
        Target::Goals(goals) => (goals.first()?.margin, "its goals".to_owned()),
        _ => return None,
    };
    (margin.value() < minimum.value()).then(|| Tripped {
        guard: Guard::LowMargin,
        message: format!(
            "{}: {what} keep a margin of {margin}, below the minimum {minimum} \
             (guards.min_margin)",
            change.address
        ),
    })
}

/// Payouts that rise by more than the network allows.
fn payout_rises(change: &Change, guards: &Guards) -> Vec<Tripped> {
    let limit = Decimal::from(guards.max_payout_rise_percent);
    change
        .fields
        .iter()
        .filter(|field| is_payout_field(&field.field))
        .filter_map(|field| {
            let (before, after) = match (&field.before, &field.after) {
                (
                    Some(FieldValue::Money(before) | FieldValue::Percent(before)),
                    Some(FieldValue::Money(after) | FieldValue::Percent(after)),
                ) => (*before, *after),
                _ => return None,
            };
            if before <= Decimal::ZERO {
                return None;
            }
            let rise = (after - before) * Decimal::ONE_HUNDRED / before;
            (rise > limit).then(|| Tripped {
                guard: Guard::PayoutRise,
                message: format!(
                    "{} {}: {} rises from {} to {} (+{}%), more than the {}% allowed \
                     (guards.max_payout_rise_percent)",
                    change.address,
                    change.resource,
                    field.field,
                    field.before.as_ref().expect("matched above"),
                    field.after.as_ref().expect("matched above"),
                    rise.round_dp(2).normalize(),
                    guards.max_payout_rise_percent
                ),
            })
        })
        .collect()
}
