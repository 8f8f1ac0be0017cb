//! The plan: what would change in the destination, and why. Plain data; computing it
//! (`diff`), showing it (`show`) and carrying it out (`crate::apply`) are separate steps.
//!
//! The JSON form (`plan --json`) is this module's types serialized; its shape is
//! documented in `docs/plan-json.md` and versioned by [`FORMAT_VERSION`].

pub mod diff;
pub mod fields;
pub mod show;

use std::fmt;

use serde::Serialize;

use crate::desired::SourceOfferId;
use crate::render::OfferSpec;
use fields::FieldValue;

/// Version of the plan's JSON shape.
pub const FORMAT_VERSION: u32 = 1;

/// Which source offer a change is about: `trimrx/1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Address {
    pub network: String,
    pub source_offer_id: SourceOfferId,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.source_offer_id)
    }
}

/// What a change does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Offers are never deleted: one that should no longer run is paused.
    Pause,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Pause => '-',
        }
    }
}

/// Why a value changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Never applied before.
    FirstSync,
    /// The source offer changed since the last apply.
    SourceChanged,
    /// The desired file or the settings changed since the last apply.
    ConfigChanged,
    /// Someone changed it in the destination after the last apply (drift).
    ChangedInDestination,
    /// offersync created it, but the destination no longer has it.
    MissingInDestination,
    /// The offer was removed from its desired file.
    RemovedFromConfig,
    /// The source network no longer lets us run the offer.
    UnavailableAtSource,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::FirstSync => "first sync",
            Reason::SourceChanged => "source changed",
            Reason::ConfigChanged => "config changed",
            Reason::ChangedInDestination => "changed in iScale",
            Reason::MissingInDestination => "missing in iScale",
            Reason::RemovedFromConfig => "removed from the desired file",
            Reason::UnavailableAtSource => "no longer runnable at the source",
        }
    }
}

/// One field's change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    /// `null` when the field does not exist yet (a create, a new event).
    pub before: Option<FieldValue>,
    /// `null` when the field goes away (an event the source dropped).
    pub after: Option<FieldValue>,
    pub reasons: Vec<Reason>,
    /// How a computed money value came about, e.g. `source 350.00 x (1 - 0.20) = 280.00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
}

/// One change to one destination resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub address: Address,
    pub resource: Resource,
    pub action: Action,
    /// The destination's id of the resource, when it exists.
    pub destination_id: Option<u64>,
    /// Every reason behind the field changes, in a fixed order.
    pub reasons: Vec<Reason>,
    pub fields: Vec<FieldChange>,
    /// The offer as it should be after the change (absent for a pause).
    #[serde(skip)]
    pub spec: Option<OfferSpec>,
}

/// The kinds of resources offersync manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Offer,
}

/// Something the reader should know that is not a change: a source event that cannot be
/// carried, a source quirk offersync worked around.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub address: Address,
    pub message: String,
}

/// The whole plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub format_version: u32,
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
    pub summary: Summary,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub pause: usize,
    /// Managed offers that need nothing.
    pub unchanged: usize,
}

impl Plan {
    pub fn new(mut changes: Vec<Change>, mut notes: Vec<Note>, unchanged: usize) -> Self {
        changes.sort_by(|a, b| a.address.cmp(&b.address).then(a.resource.cmp(&b.resource)));
        notes.sort_by(|a, b| a.address.cmp(&b.address));
        let count = |action| {
            changes
                .iter()
                .filter(|change| change.action == action)
                .count()
        };
        let summary = Summary {
            create: count(Action::Create),
            update: count(Action::Update),
            pause: count(Action::Pause),
            unchanged,
        };
        Self {
            format_version: FORMAT_VERSION,
            changes,
            notes,
            summary,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
