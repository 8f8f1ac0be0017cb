//! Diff: from what offersync wants, what the destination holds and what was last applied,
//! the change for one offer and the reason behind each changed field. Pure.
//!
//! Reasons come from comparing fingerprints (state.json keeps one per field, as applied):
//! - live differs from applied: someone changed it in the destination;
//! - desired differs from applied, and rendering the last-applied source with today's
//!   config gives something else than today's source: the source changed;
//! - that re-render differs from what was applied: the config (or settings) changed.

use std::collections::BTreeSet;

use super::fields::{FieldValue, Fields, event_of, live_fields, spec_fields};
use super::{Action, Address, Change, FieldChange, Reason, Resource};
use crate::everflow::network::LiveOfferView;
use crate::money::format_amount;
use crate::render::OfferSpec;
use crate::state::ManagedOffer;

/// What is known about one offer.
#[derive(Clone, Copy, Debug)]
pub struct OfferInputs<'a> {
    pub address: &'a Address,
    /// What offersync wants; `None` when the offer should stop running.
    pub desired: Option<&'a OfferSpec>,
    /// Why it should stop running, when `desired` is `None`.
    pub stop_reason: Reason,
    /// The last-applied source rendered with today's config and settings, if known.
    pub previous: Option<&'a OfferSpec>,
    pub state: Option<&'a ManagedOffer>,
    /// The destination offer; `None` when it does not exist there.
    pub live: Option<&'a LiveOfferView>,
}

/// The change one offer needs, if any.
pub fn diff_offer(inputs: OfferInputs<'_>) -> Option<Change> {
    match (inputs.desired, inputs.live) {
        (Some(desired), None) => Some(create(inputs, desired)),
        (Some(desired), Some(live)) => update(inputs, desired, live),
        (None, Some(live)) => pause(inputs, live),
        (None, None) => None,
    }
}

fn create(inputs: OfferInputs<'_>, desired: &OfferSpec) -> Change {
    let reason = if inputs.state.is_some() {
        Reason::MissingInDestination
    } else {
        Reason::FirstSync
    };
    let fields = spec_fields(desired)
        .into_iter()
        .map(|(field, value)| FieldChange {
            lineage: lineage(&field, desired),
            field,
            before: None,
            after: Some(value),
            reasons: vec![reason],
        })
        .collect();
    Change {
        address: inputs.address.clone(),
        resource: Resource::Offer,
        action: Action::Create,
        destination_id: None,
        reasons: vec![reason],
        fields,
        spec: Some(desired.clone()),
    }
}

fn update(inputs: OfferInputs<'_>, desired: &OfferSpec, live: &LiveOfferView) -> Option<Change> {
    let wanted = spec_fields(desired);
    let have = live_fields(live);
    let previous = inputs.previous.map(spec_fields);

    let mut paths: Vec<&str> = wanted.iter().map(|(path, _)| path.as_str()).collect();
    let known: BTreeSet<&str> = paths.iter().copied().collect();
    paths.extend(
        have.iter()
            .map(|(path, _)| path.as_str())
            .filter(|path| !known.contains(path)),
    );

    let mut fields = Vec::new();
    for path in paths {
        let after = lookup(&wanted, path);
        let before = lookup(&have, path);
        if after == before {
            continue;
        }
        fields.push(FieldChange {
            field: path.to_owned(),
            before: before.cloned(),
            after: after.cloned(),
            reasons: reasons(
                path,
                after,
                before,
                previous.as_ref().map(|fields| lookup(fields, path)),
                inputs.state,
            ),
            lineage: after.and_then(|_| lineage(path, desired)),
        });
    }
    if fields.is_empty() {
        return None;
    }
    Some(Change {
        address: inputs.address.clone(),
        resource: Resource::Offer,
        action: Action::Update,
        destination_id: Some(live.network_offer_id),
        reasons: union(&fields),
        fields,
        spec: Some(desired.clone()),
    })
}

fn pause(inputs: OfferInputs<'_>, live: &LiveOfferView) -> Option<Change> {
    const PAUSED: &str = "paused";
    if live.offer_status == PAUSED {
        return None;
    }
    Some(Change {
        address: inputs.address.clone(),
        resource: Resource::Offer,
        action: Action::Pause,
        destination_id: Some(live.network_offer_id),
        reasons: vec![inputs.stop_reason],
        fields: vec![FieldChange {
            field: "offer_status".to_owned(),
            before: Some(FieldValue::Symbol(live.offer_status.clone())),
            after: Some(FieldValue::Symbol(PAUSED.to_owned())),
            reasons: vec![inputs.stop_reason],
            lineage: None,
        }],
        spec: None,
    })
}

fn lookup<'a>(fields: &'a Fields, path: &str) -> Option<&'a FieldValue> {
    fields
        .iter()
        .find(|(candidate, _)| candidate == path)
        .map(|(_, value)| value)
}

/// Why `path` goes from `live` to `desired`. `previous` is the field in the last-applied
/// source rendered with today's config: `None` when that render is unknown, `Some(None)`
/// when the field did not exist in it.
fn reasons(
    path: &str,
    desired: Option<&FieldValue>,
    live: Option<&FieldValue>,
    previous: Option<Option<&FieldValue>>,
    state: Option<&ManagedOffer>,
) -> Vec<Reason> {
    let Some(state) = state else {
        return vec![Reason::FirstSync];
    };
    let fingerprint = FieldValue::fingerprint;
    // A field never recorded (the offer's event list grew, or an older state) reads as
    // absent, which is what applying it last time amounted to.
    let applied = state
        .fields
        .get(path)
        .cloned()
        .unwrap_or_else(|| fingerprint(None));
    let mut out = Vec::new();
    if fingerprint(desired) != applied {
        match previous {
            Some(previous) => {
                if fingerprint(previous) != fingerprint(desired) {
                    out.push(Reason::SourceChanged);
                }
                if fingerprint(previous) != applied {
                    out.push(Reason::ConfigChanged);
                }
            }
            None => out.push(Reason::SourceChanged),
        }
    }
    if fingerprint(live) != applied {
        out.push(Reason::ChangedInDestination);
    }
    if out.is_empty() {
        // desired == applied == live cannot reach here (desired != live); keep the plan
        // honest rather than silent if fingerprints ever collide.
        out.push(Reason::ChangedInDestination);
    }
    out
}

fn union(fields: &[FieldChange]) -> Vec<Reason> {
    let set: BTreeSet<Reason> = fields
        .iter()
        .flat_map(|field| field.reasons.iter().copied())
        .collect();
    set.into_iter().collect()
}

/// The arithmetic behind a payout: `source 350.00 x (1 - 0.20) = 280.00`.
fn lineage(path: &str, spec: &OfferSpec) -> Option<String> {
    let (name, field) = event_of(path)?;
    let event = spec.events.iter().find(|event| event.entry_name == name)?;
    let (source, payout, unit) = match field {
        "payout_amount" if event.payout_type.uses_amount() => {
            (event.revenue_amount, event.payout_amount, "")
        }
        "payout_percentage" if event.payout_type.uses_percentage() => {
            (event.revenue_percentage, event.payout_percentage, "%")
        }
        _ => return None,
    };
    Some(format!(
        "source {}{unit} x (1 - {}) = {}{unit}",
        format_amount(source),
        spec.margin,
        format_amount(payout)
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::desired::SourceOfferId;
    use crate::everflow::network::{LivePayoutRevenue, LiveRelationship};
    use crate::everflow::types::Entries;
    use crate::plan::fields::{combined_fingerprint, field_fingerprints};
    use crate::render::sample::spec;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn live_of(spec: &OfferSpec) -> LiveOfferView {
        LiveOfferView {
            network_offer_id: 500,
            network_advertiser_id: spec.network_advertiser_id,
            name: spec.name.clone(),
            html_description: spec.html_description.clone(),
            preview_url: spec.preview_url.clone(),
            destination_url: spec.destination_url.clone(),
            visibility: spec.visibility.as_str().into(),
            offer_status: spec.offer_status.as_str().into(),
            currency_id: spec.currency_id.clone(),
            time_saved: 1,
            relationship: LiveRelationship {
                payout_revenue: Some(Entries(
                    spec.events
                        .iter()
                        .map(|event| LivePayoutRevenue {
                            network_offer_payout_revenue_id: 9,
                            entry_name: event.entry_name.clone(),
                            payout_type: event.payout_type.as_str().into(),
                            payout_amount: event.payout_amount,
                            payout_percentage: event.payout_percentage,
                            revenue_type: event.revenue_type.as_str().into(),
                            revenue_amount: event.revenue_amount,
                            revenue_percentage: event.revenue_percentage,
                            is_default: event.is_default,
                        })
                        .collect(),
                )),
            },
        }
    }

    fn applied(spec: &OfferSpec) -> ManagedOffer {
        let fields = field_fingerprints(&spec_fields(spec));
        ManagedOffer {
            id: 500,
            fingerprint: combined_fingerprint(&fields),
            fields,
            events: BTreeMap::new(),
        }
    }

    fn address() -> Address {
        Address {
            network: "trimrx".into(),
            source_offer_id: SourceOfferId(1),
        }
    }

    #[test]
    fn first_sync_creates_with_every_field() {
        let wanted = spec("350", "X");
        let address = address();
        let change = diff_offer(OfferInputs {
            address: &address,
            desired: Some(&wanted),
            stop_reason: Reason::RemovedFromConfig,
            previous: None,
            state: None,
            live: None,
        })
        .unwrap();
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.reasons, [Reason::FirstSync]);
        let payout = change
            .fields
            .iter()
            .find(|field| field.field == r#"events["Base"].payout_amount"#)
            .unwrap();
        assert_eq!(payout.after, Some(FieldValue::Money(dec("280"))));
        assert_eq!(
            payout.lineage.as_deref(),
            Some("source 350.00 x (1 - 0.20) = 280.00")
        );
    }

    #[test]
    fn in_sync_means_no_change() {
        let wanted = spec("350", "X");
        let live = live_of(&wanted);
        let state = applied(&wanted);
        let address = address();
        assert_eq!(
            diff_offer(OfferInputs {
                address: &address,
                desired: Some(&wanted),
                stop_reason: Reason::RemovedFromConfig,
                previous: Some(&wanted),
                state: Some(&state),
                live: Some(&live),
            }),
            None
        );
    }

    #[test]
    fn a_source_payout_change_is_attributed_to_the_source() {
        let before = spec("350", "X");
        let after = spec("370", "X");
        let live = live_of(&before);
        let state = applied(&before);
        let address = address();
        let change = diff_offer(OfferInputs {
            address: &address,
            desired: Some(&after),
            stop_reason: Reason::RemovedFromConfig,
            previous: Some(&before),
            state: Some(&state),
            live: Some(&live),
        })
        .unwrap();
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.reasons, [Reason::SourceChanged]);
        let changed: Vec<_> = change.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            changed,
            [
                r#"events["Base"].payout_amount"#,
                r#"events["Base"].revenue_amount"#
            ]
        );
        assert_eq!(
            change.fields[0].lineage.as_deref(),
            Some("source 370.00 x (1 - 0.20) = 296.00")
        );
    }

    #[test]
    fn a_config_change_and_a_destination_edit_are_told_apart() {
        let applied_spec = spec("350", "Old name");
        let state = applied(&applied_spec);
        // The config renames the offer; someone edited the preview URL in iScale.
        let wanted = spec("350", "New name");
        let previous = wanted.clone();
        let mut live = live_of(&applied_spec);
        live.preview_url = "https://edited.test".into();
        let address = address();
        let change = diff_offer(OfferInputs {
            address: &address,
            desired: Some(&wanted),
            stop_reason: Reason::RemovedFromConfig,
            previous: Some(&previous),
            state: Some(&state),
            live: Some(&live),
        })
        .unwrap();
        let reasons: Vec<_> = change
            .fields
            .iter()
            .map(|field| (field.field.as_str(), field.reasons.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("name", vec![Reason::ConfigChanged]),
                ("preview_url", vec![Reason::ChangedInDestination]),
            ]
        );
    }

    #[test]
    fn an_event_added_in_the_destination_is_removed() {
        let wanted = spec("350", "X");
        let state = applied(&wanted);
        let mut live = live_of(&wanted);
        let mut extra = live.relationship.payout_revenue.as_ref().unwrap().0[0].clone();
        extra.entry_name = "Manual".into();
        extra.is_default = false;
        live.relationship
            .payout_revenue
            .as_mut()
            .unwrap()
            .0
            .push(extra);
        let address = address();
        let change = diff_offer(OfferInputs {
            address: &address,
            desired: Some(&wanted),
            stop_reason: Reason::RemovedFromConfig,
            previous: Some(&wanted),
            state: Some(&state),
            live: Some(&live),
        })
        .unwrap();
        assert!(change.fields.iter().all(|field| field.after.is_none()
            && field.field.starts_with(r#"events["Manual"]"#)
            && field.reasons == [Reason::ChangedInDestination]));
    }

    #[test]
    fn removal_pauses_once() {
        let wanted = spec("350", "X");
        let mut live = live_of(&wanted);
        let address = address();
        let pause = |live: &LiveOfferView| {
            diff_offer(OfferInputs {
                address: &address,
                desired: None,
                stop_reason: Reason::RemovedFromConfig,
                previous: None,
                state: None,
                live: Some(live),
            })
        };
        let change = pause(&live).unwrap();
        assert_eq!(change.action, Action::Pause);
        assert_eq!(change.reasons, [Reason::RemovedFromConfig]);
        live.offer_status = "paused".into();
        assert_eq!(pause(&live), None);
    }
}
