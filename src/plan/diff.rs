//! Diff: from what offersync wants, what the destination holds and what was last applied,
//! the change one resource needs and the reason behind each changed field. Pure.
//!
//! Reasons come from comparing fingerprints (state.json keeps one per field, as applied):
//! - live differs from applied: someone changed it in the destination;
//! - desired differs from applied, and rendering the last-applied source with today's
//!   config gives something else than today's source: the source changed;
//! - that re-render differs from what was applied: the config (or settings) changed.
//!
//! A resource the destination does not show back (targeting, written by PATCH: "GET may
//! still show null", ISCALE) is compared with what was applied instead, so it never
//! shows as a perpetual diff while a real change at the source still does.

use std::collections::BTreeSet;

use litemap::LiteMap;

use super::fields::{FieldValue, Fields, Fingerprint, event_of};
use super::{Action, Address, Change, FieldChange, Reason, ResourceId, Target};
use crate::money::{Margin, format_amount};

/// What the destination shows of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveState {
    /// It exists: its id, its managed fields, and its status.
    Known {
        id: u64,
        fields: Fields,
        status: String,
    },
    /// It does not exist.
    Missing,
    /// It exists but cannot be read back; compare with what was applied.
    Unobservable,
    /// It exists in a destination that cannot read anything back (Offerit), under the
    /// id state recorded: compared with what was applied, and `status` is the status
    /// recorded as applied (what a stop compares with).
    Recorded { id: u64, status: String },
}

/// What happens to a resource that should no longer be there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Offers are paused, never deleted.
    Pause(Reason),
    /// URLs, rules and creatives get their status field set to `deleted`; pixels, which
    /// know no such status, to `inactive`.
    Delete {
        reason: Reason,
        status_field: &'static str,
        value: &'static str,
    },
    /// Nothing to do (targeting of an offer that stops).
    Leave,
}

/// What state recorded of a resource as last applied.
#[derive(Clone, Copy, Debug)]
pub struct Applied<'a> {
    /// Fingerprint per field.
    pub fields: &'a LiteMap<String, Fingerprint>,
    /// Values, for resources the destination does not show back.
    pub values: &'a LiteMap<String, String>,
}

/// Everything known about one resource.
#[derive(Clone, Debug)]
pub struct ResourceInputs<'a> {
    pub address: &'a Address,
    pub resource: ResourceId,
    /// What offersync wants, or `None` when the resource should no longer be there.
    pub desired: Option<(Fields, Target)>,
    /// The resource in the last-applied source rendered with today's config: `None`
    /// when that render is unknown, `Some(None)` when the resource was not in it.
    pub previous: Option<Option<Fields>>,
    pub applied: Option<Applied<'a>>,
    pub live: LiveState,
    pub stop: Stop,
    /// What a live value that moved away from the applied one is called: an edit in
    /// iScale, or one made elsewhere (a pixel in a source network).
    pub drift: Reason,
}

/// The change one resource needs, if any.
pub fn diff_resource(inputs: ResourceInputs<'_>) -> Option<Change> {
    let ResourceInputs {
        address,
        resource,
        desired,
        previous,
        applied,
        live,
        stop,
        drift,
    } = inputs;
    match (desired, live) {
        (Some((fields, target)), LiveState::Missing) => {
            let reason = match (applied, &previous) {
                (Some(_), _) => Reason::MissingInDestination,
                // The offer was synced before: the source added this resource, or the
                // source had it and the config now asks for it.
                (None, Some(None)) => Reason::SourceChanged,
                (None, Some(Some(_))) => Reason::ConfigChanged,
                (None, None) => Reason::FirstSync,
            };
            Some(create(address, resource, fields, target, reason))
        }
        (Some((wanted, target)), LiveState::Known { id, fields, .. }) => {
            let compare = Compare {
                wanted: &wanted,
                have: &fields,
                previous: previous.as_ref(),
                applied,
                observable: true,
                drift,
            };
            let changes = compare.fields(&target);
            (!changes.is_empty())
                .then(|| change(address, resource, Action::Update, Some(id), changes, target))
        }
        // Compared with what was applied; a recorded resource is updated under its id.
        (Some((wanted, target)), live @ (LiveState::Unobservable | LiveState::Recorded { .. })) => {
            let Some(recorded) = applied else {
                return Some(create(address, resource, wanted, target, Reason::FirstSync));
            };
            let id = match live {
                LiveState::Recorded { id, .. } => Some(id),
                _ => None,
            };
            let compare = Compare {
                wanted: &wanted,
                have: &recorded_fields(recorded, &wanted),
                previous: previous.as_ref(),
                applied,
                observable: false,
                drift,
            };
            let changes = compare.fields(&target);
            (!changes.is_empty())
                .then(|| change(address, resource, Action::Update, id, changes, target))
        }
        (None, LiveState::Known { id, status, .. } | LiveState::Recorded { id, status }) => {
            stop_change(address, resource, id, &status, stop)
        }
        (None, LiveState::Missing | LiveState::Unobservable) => None,
    }
}

/// The values state recorded as applied, each read back with the type of the value
/// wanted at its path (see [`FieldValue::from_recorded`]).
fn recorded_fields(recorded: Applied<'_>, wanted: &Fields) -> Fields {
    recorded
        .values
        .iter()
        .map(|(path, value)| {
            let like = lookup(wanted, path);
            (path.clone(), FieldValue::from_recorded(like, value))
        })
        .collect()
}

fn create(
    address: &Address,
    resource: ResourceId,
    fields: Fields,
    target: Target,
    reason: Reason,
) -> Change {
    let changes = fields
        .into_iter()
        .map(|(field, value)| FieldChange {
            lineage: lineage(&field, &target),
            field,
            before: None,
            after: Some(value),
            reasons: vec![reason],
        })
        .collect();
    change(address, resource, Action::Create, None, changes, target)
}

fn change(
    address: &Address,
    resource: ResourceId,
    action: Action,
    destination_id: Option<u64>,
    fields: Vec<FieldChange>,
    target: Target,
) -> Change {
    let reasons: BTreeSet<Reason> = fields
        .iter()
        .flat_map(|field| field.reasons.iter().copied())
        .collect();
    Change {
        address: address.clone(),
        destination: crate::desired::Destination::Iscale,
        resource,
        action,
        destination_id,
        reasons: reasons.into_iter().collect(),
        fields,
        target,
    }
}

fn stop_change(
    address: &Address,
    resource: ResourceId,
    id: u64,
    status: &str,
    stop: Stop,
) -> Option<Change> {
    let (action, field, after, reason, target) = match stop {
        Stop::Pause(reason) => (
            Action::Pause,
            "offer_status",
            "paused",
            reason,
            Target::Pause,
        ),
        Stop::Delete {
            reason,
            status_field,
            value,
        } => (Action::Delete, status_field, value, reason, Target::Delete),
        Stop::Leave => return None,
    };
    if status == after {
        return None;
    }
    let fields = vec![FieldChange {
        field: field.to_owned(),
        before: Some(FieldValue::Symbol(status.to_owned())),
        after: Some(FieldValue::Symbol(after.to_owned())),
        reasons: vec![reason],
        lineage: None,
    }];
    Some(change(address, resource, action, Some(id), fields, target))
}

struct Compare<'a> {
    wanted: &'a Fields,
    have: &'a Fields,
    previous: Option<&'a Option<Fields>>,
    applied: Option<Applied<'a>>,
    /// Whether `have` is what the destination shows (else: what was applied).
    observable: bool,
    drift: Reason,
}

impl Compare<'_> {
    fn fields(&self, target: &Target) -> Vec<FieldChange> {
        let mut paths: Vec<&str> = self.wanted.iter().map(|(path, _)| path.as_str()).collect();
        let known: BTreeSet<&str> = paths.iter().copied().collect();
        paths.extend(
            self.have
                .iter()
                .map(|(path, _)| path.as_str())
                .filter(|path| !known.contains(path)),
        );
        let mut changes = Vec::new();
        for path in paths {
            let after = lookup(self.wanted, path);
            let before = lookup(self.have, path);
            let differs = if self.observable {
                after != before
            } else {
                // Compared with what was applied: by fingerprint, which is all a value
                // recorded before values were kept would have.
                self.applied
                    .and_then(|applied| applied.fields.get(path))
                    .copied()
                    != (after.is_some()).then(|| FieldValue::fingerprint(after))
            };
            if !differs {
                continue;
            }
            changes.push(FieldChange {
                field: path.to_owned(),
                before: before.cloned(),
                after: after.cloned(),
                reasons: self.reasons(path, after, before),
                lineage: after.and_then(|_| lineage(path, target)),
            });
        }
        changes
    }

    fn reasons(
        &self,
        path: &str,
        desired: Option<&FieldValue>,
        live: Option<&FieldValue>,
    ) -> Vec<Reason> {
        let Some(applied) = self.applied else {
            return vec![Reason::FirstSync];
        };
        let fingerprint = FieldValue::fingerprint;
        // A field never recorded reads as absent, which is what applying it amounted to.
        let recorded = applied
            .fields
            .get(path)
            .copied()
            .unwrap_or_else(|| fingerprint(None));
        let mut out = Vec::new();
        if fingerprint(desired) != recorded {
            match self.previous {
                Some(previous) => {
                    let previous = previous.as_ref().and_then(|fields| lookup(fields, path));
                    if fingerprint(previous) != fingerprint(desired) {
                        out.push(Reason::SourceChanged);
                    }
                    if fingerprint(previous) != recorded {
                        out.push(Reason::ConfigChanged);
                    }
                }
                None => out.push(Reason::SourceChanged),
            }
        }
        if self.observable && fingerprint(live) != recorded {
            out.push(self.drift);
        }
        if out.is_empty() {
            // desired == applied == live cannot reach here (they differ); keep the plan
            // honest rather than silent if fingerprints ever collide.
            out.push(self.drift);
        }
        out
    }
}

fn lookup<'a>(fields: &'a Fields, path: &str) -> Option<&'a FieldValue> {
    fields
        .iter()
        .find(|(candidate, _)| candidate == path)
        .map(|(_, value)| value)
}

/// The arithmetic behind a payout: `source 350.00 x (1 - 0.20) = 280.00`.
fn lineage(path: &str, target: &Target) -> Option<String> {
    let (field, payout_type, source_amount, payout_amount, source_pct, payout_pct, margin) =
        match target {
            Target::Offer(spec) => {
                let (name, field) = event_of(path)?;
                let event = spec.events.iter().find(|event| event.entry_name == name)?;
                (
                    field,
                    event.payout_type,
                    event.revenue_amount,
                    event.payout_amount,
                    event.revenue_percentage,
                    event.payout_percentage,
                    spec.margin,
                )
            }
            Target::Rule(rule) => (
                path,
                rule.payout_type,
                rule.revenue_amount,
                rule.payout_amount,
                rule.revenue_percentage,
                rule.payout_percentage,
                rule.margin,
            ),
            Target::OfferitOffer(spec) => {
                let commission = &spec.commission;
                if path != commission.basis.commission_field() {
                    return None;
                }
                let unit = if commission.basis.is_percentage() {
                    "%"
                } else {
                    ""
                };
                return Some(describe_lineage(
                    commission.revenue,
                    spec.margin,
                    commission.payout,
                    unit,
                ));
            }
            Target::Goals(goals) => {
                let goal = goals.iter().find(|goal| {
                    path.strip_prefix("goals[")
                        .and_then(|rest| rest.strip_suffix("].amount"))
                        == Some(&format!("{:?}", goal.entry_name))
                })?;
                let unit = if goal.percentage { "%" } else { "" };
                return Some(describe_lineage(
                    goal.revenue_amount,
                    goal.margin,
                    goal.amount,
                    unit,
                ));
            }
            _ => return None,
        };
    let (source, payout, unit) = match field {
        "payout_amount" if payout_type.uses_amount() => (source_amount, payout_amount, ""),
        "payout_percentage" if payout_type.uses_percentage() => (source_pct, payout_pct, "%"),
        _ => return None,
    };
    Some(describe_lineage(source, margin, payout, unit))
}

fn describe_lineage(
    source: rust_decimal::Decimal,
    margin: Margin,
    payout: rust_decimal::Decimal,
    unit: &str,
) -> String {
    format!(
        "source {}{unit} x (1 - {margin}) = {}{unit}",
        format_amount(source),
        format_amount(payout)
    )
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::desired::SourceOfferId;
    use crate::everflow::network::{LiveOfferView, LivePayoutRevenue, LiveRelationship};
    use crate::everflow::types::Entries;
    use crate::plan::fields::field_fingerprints;
    use crate::plan::flatten::{live_offer_fields, offer_fields, targeting_fields};
    use crate::render::sample::spec;
    use crate::render::{GeoEntry, OfferSpec, TargetingSpec};

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
            thumbnail_url: String::new(),
            time_saved: Some(1),
            labels: None,
            payout_revenue: None,
            relationship: LiveRelationship {
                labels: None,
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

    fn address() -> Address {
        Address {
            network: "trimrx".into(),
            source_offer_id: SourceOfferId(1),
        }
    }

    const NO_VALUES: &LiteMap<String, String> = &LiteMap::new();

    /// Diffs the offer `wanted` against `live`, with `applied` as last applied and
    /// `previous` as the last-applied source under today's config.
    fn diff_offer(
        wanted: Option<&OfferSpec>,
        previous: Option<&OfferSpec>,
        applied: Option<&OfferSpec>,
        live: Option<&LiveOfferView>,
    ) -> Option<Change> {
        let address = address();
        let fingerprints = applied.map(|spec| field_fingerprints(&offer_fields(spec)));
        diff_resource(ResourceInputs {
            address: &address,
            resource: ResourceId::Offer,
            desired: wanted.map(|spec| (offer_fields(spec), Target::Offer(Box::new(spec.clone())))),
            previous: previous.map(|spec| Some(offer_fields(spec))),
            applied: fingerprints.as_ref().map(|fields| Applied {
                fields,
                values: NO_VALUES,
            }),
            live: match live {
                Some(live) => LiveState::Known {
                    id: live.network_offer_id,
                    fields: live_offer_fields(live),
                    status: live.offer_status.clone(),
                },
                None => LiveState::Missing,
            },
            stop: Stop::Pause(Reason::RemovedFromConfig),
            drift: Reason::ChangedInDestination,
        })
    }

    #[test]
    fn first_sync_creates_with_every_field() {
        let wanted = spec("350", "X");
        let change = diff_offer(Some(&wanted), None, None, None).unwrap();
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
        assert_eq!(
            diff_offer(Some(&wanted), Some(&wanted), Some(&wanted), Some(&live)),
            None
        );
    }

    #[test]
    fn a_source_payout_change_is_attributed_to_the_source() {
        let before = spec("350", "X");
        let after = spec("370", "X");
        let live = live_of(&before);
        let change = diff_offer(Some(&after), Some(&before), Some(&before), Some(&live)).unwrap();
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
        let applied = spec("350", "Old name");
        // The config renames the offer; someone edited the preview URL in iScale.
        let wanted = spec("350", "New name");
        let mut live = live_of(&applied);
        live.preview_url = "https://edited.test".into();
        let change = diff_offer(Some(&wanted), Some(&wanted), Some(&applied), Some(&live)).unwrap();
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
        let change = diff_offer(Some(&wanted), Some(&wanted), Some(&wanted), Some(&live)).unwrap();
        assert!(change.fields.iter().all(|field| field.after.is_none()
            && field.field.starts_with(r#"events["Manual"]"#)
            && field.reasons == [Reason::ChangedInDestination]));
    }

    #[test]
    fn removal_pauses_once() {
        let wanted = spec("350", "X");
        let mut live = live_of(&wanted);
        let change = diff_offer(None, None, None, Some(&live)).unwrap();
        assert_eq!(change.action, Action::Pause);
        assert_eq!(change.reasons, [Reason::RemovedFromConfig]);
        live.offer_status = "paused".into();
        assert_eq!(diff_offer(None, None, None, Some(&live)), None);
    }

    fn targeting(codes: &[(&str, &str)]) -> TargetingSpec {
        TargetingSpec {
            countries: codes
                .iter()
                .map(|(code, kind)| GeoEntry {
                    targeting_type: if *kind == "include" {
                        crate::everflow::affiliate::TargetingType::Include
                    } else {
                        crate::everflow::affiliate::TargetingType::Exclude
                    },
                    code: (*code).into(),
                    id: 1,
                    label: String::new(),
                })
                .collect(),
            regions: Vec::new(),
        }
    }

    /// Targeting is compared with what was applied, never with the (silent) destination.
    fn diff_targeting(wanted: &TargetingSpec, applied: Option<&TargetingSpec>) -> Option<Change> {
        let address = address();
        let fields = applied.map(|spec| field_fingerprints(&targeting_fields(spec)));
        let values: Option<LiteMap<String, String>> = applied.map(|spec| {
            targeting_fields(spec)
                .into_iter()
                .map(|(path, value)| (path, value.to_string()))
                .collect()
        });
        diff_resource(ResourceInputs {
            address: &address,
            resource: ResourceId::Targeting,
            desired: Some((targeting_fields(wanted), Target::Targeting(wanted.clone()))),
            previous: applied.map(|spec| Some(targeting_fields(spec))),
            applied: fields
                .as_ref()
                .zip(values.as_ref())
                .map(|(fields, values)| Applied { fields, values }),
            live: LiveState::Unobservable,
            stop: Stop::Leave,
            drift: Reason::ChangedInDestination,
        })
    }

    #[test]
    fn targeting_never_diffs_against_a_silent_destination_but_source_changes_show() {
        let us = targeting(&[("US", "include")]);
        let first = diff_targeting(&us, None).unwrap();
        assert_eq!(first.action, Action::Create);
        assert_eq!(diff_targeting(&us, Some(&us)), None, "no perpetual diff");

        let us_ca = targeting(&[("CA", "include"), ("US", "include")]);
        let change = diff_targeting(&us_ca, Some(&us)).unwrap();
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields.len(), 1);
        assert_eq!(change.fields[0].field, r#"countries["CA"]"#);
        assert_eq!(change.fields[0].before, None);
        assert_eq!(change.fields[0].reasons, [Reason::SourceChanged]);

        let dropped = diff_targeting(&us, Some(&us_ca)).unwrap();
        assert_eq!(dropped.fields[0].after, None);
        assert_eq!(
            dropped.fields[0].before,
            Some(FieldValue::Symbol("include".into()))
        );
    }

    /// An Offerit offer: compared with what state recorded as applied, values included.
    fn diff_recorded(wanted: Option<&str>, applied: &str, status: &str) -> Option<Change> {
        let address = address();
        let fields = |amount: &str| -> Fields {
            vec![
                ("name".into(), FieldValue::Text("Visit".into())),
                (
                    "flat_amount_per_conversion".into(),
                    FieldValue::Money(dec(amount)),
                ),
            ]
        };
        let recorded = fields(applied);
        let fingerprints = field_fingerprints(&recorded);
        let values: LiteMap<String, String> = recorded
            .iter()
            .map(|(path, value)| (path.clone(), value.recorded()))
            .collect();
        diff_resource(ResourceInputs {
            address: &address,
            resource: ResourceId::Offer,
            desired: wanted.map(|amount| (fields(amount), Target::Pause)),
            previous: Some(Some(recorded)),
            applied: Some(Applied {
                fields: &fingerprints,
                values: &values,
            }),
            live: LiveState::Recorded {
                id: 400,
                status: status.into(),
            },
            stop: Stop::Pause(Reason::RemovedFromConfig),
            drift: Reason::ChangedInDestination,
        })
    }

    #[test]
    fn a_recorded_resource_is_compared_with_what_was_applied() {
        assert_eq!(diff_recorded(Some("84.99"), "84.99", "active"), None);
        let change = diff_recorded(Some("93.49"), "84.99", "active").unwrap();
        assert_eq!(
            (change.action, change.destination_id),
            (Action::Update, Some(400))
        );
        assert_eq!(change.fields.len(), 1);
        // Read back as money, so that guards and the plan see amounts.
        assert_eq!(
            change.fields[0].before,
            Some(FieldValue::Money(dec("84.99")))
        );
        assert_eq!(change.fields[0].reasons, [Reason::SourceChanged]);
        let pause = diff_recorded(None, "84.99", "active").unwrap();
        assert_eq!(
            (pause.action, pause.destination_id),
            (Action::Pause, Some(400))
        );
        assert_eq!(diff_recorded(None, "84.99", "paused"), None);
    }
}
