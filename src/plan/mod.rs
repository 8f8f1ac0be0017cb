//! The plan: what would change in the destination, and why. Plain data; computing it
//! (`diff`), showing it (`show`) and carrying it out (`crate::apply`) are separate steps.
//!
//! The JSON form (`plan --json`) is this module's types serialized; its shape is
//! documented in `docs/plan-json.md` and versioned by [`FORMAT_VERSION`].

pub mod diff;
pub mod fields;
pub mod flatten;
pub mod show;

use std::fmt;

use serde::{Serialize, Serializer};

use crate::desired::SourceOfferId;
use crate::render::{
    CreativeSpec, OfferSpec, PixelSpec, RuleKey, RuleSpec, TargetingSpec, ThumbnailSpec, UrlSpec,
};
use crate::secret::Secret;
use fields::FieldValue;

/// Version of the plan's JSON shape.
pub const FORMAT_VERSION: u32 = 1;

/// Which source offer a change is about: `trimrx/1`. Offer id 0 (never a real offer)
/// stands for the network itself, for what belongs to it rather than to one offer (its
/// advertiser's verification token); it sorts, and so applies, before the offers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Address {
    pub network: String,
    pub source_offer_id: SourceOfferId,
}

impl Address {
    /// The address of a network itself.
    pub fn network(network: &str) -> Self {
        Self {
            network: network.to_owned(),
            source_offer_id: SourceOfferId(0),
        }
    }

    pub fn is_network(&self) -> bool {
        self.source_offer_id.0 == 0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_network() {
            f.write_str(&self.network)
        } else {
            write!(f, "{}/{}", self.network, self.source_offer_id)
        }
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
    /// URLs, rules and creatives have no DELETE: their status becomes `deleted`
    /// (`inactive` for pixels).
    Delete,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Pause | Action::Delete => '-',
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
    /// The offer was imported from iScale (`offersync import`) and nothing has been
    /// applied to it since: the value was found so, not applied by offersync.
    NotAppliedSinceImport,
    /// Someone changed it in the destination after the last apply (drift).
    ChangedInDestination,
    /// Someone changed it where it lives outside iScale (a pixel in a source network)
    /// after the last apply.
    ChangedOutside,
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
            Reason::NotAppliedSinceImport => "not applied since import",
            Reason::ChangedInDestination => "changed in iScale",
            Reason::ChangedOutside => "changed outside offersync",
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
    pub resource: ResourceId,
    pub action: Action,
    /// The destination's id of the resource, when it exists.
    pub destination_id: Option<u64>,
    /// Every reason behind the field changes, in a fixed order.
    pub reasons: Vec<Reason>,
    pub fields: Vec<FieldChange>,
    /// What the resource should be after the change.
    #[serde(skip)]
    pub target: Target,
}

/// A resource of one source offer's destination. The order is the order of apply:
/// what a resource refers to comes before it (rules refer to URLs and events).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceId {
    /// The verification token of a network's advertiser in iScale.
    Advertiser,
    Offer,
    Thumbnail,
    Url(u64),
    Rule(RuleKey),
    Creative(u64),
    Targeting,
    /// A pixel in the source network: `conversion` or `event:<source event id>`.
    Pixel(String),
}

impl ResourceId {
    pub fn kind(&self) -> ResourceKind {
        match self {
            ResourceId::Offer | ResourceId::Thumbnail => ResourceKind::Offer,
            ResourceId::Url(_) => ResourceKind::Urls,
            ResourceId::Rule(_) => ResourceKind::Rules,
            ResourceId::Creative(_) => ResourceKind::Creatives,
            ResourceId::Targeting => ResourceKind::Targeting,
            ResourceId::Advertiser | ResourceId::Pixel(_) => ResourceKind::Postbacks,
        }
    }

    /// `offer`, `thumbnail`, `url`, `rule`, `creative`, `targeting`.
    pub fn name(&self) -> &'static str {
        match self {
            ResourceId::Offer => "offer",
            ResourceId::Thumbnail => "thumbnail",
            ResourceId::Url(_) => "url",
            ResourceId::Rule(_) => "rule",
            ResourceId::Creative(_) => "creative",
            ResourceId::Targeting => "targeting",
            ResourceId::Advertiser => "advertiser",
            ResourceId::Pixel(_) => "pixel",
        }
    }

    /// Which one of its kind: the source URL or creative id, or the rule key.
    pub fn key(&self) -> Option<String> {
        match self {
            ResourceId::Url(id) | ResourceId::Creative(id) => Some(id.to_string()),
            ResourceId::Rule(key) => Some(key.0.clone()),
            ResourceId::Pixel(key) => Some(key.clone()),
            ResourceId::Offer
            | ResourceId::Thumbnail
            | ResourceId::Targeting
            | ResourceId::Advertiser => None,
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key() {
            Some(key) => write!(f, "{}[{key}]", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("ResourceId", 2)?;
        state.serialize_field("kind", self.name())?;
        state.serialize_field("key", &self.key())?;
        state.end()
    }
}

/// Kinds of resources, as `--only` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum ResourceKind {
    /// The destination offer: basic info, payout events and thumbnail.
    Offer,
    /// Landing-page URLs.
    Urls,
    /// Creatives.
    Creatives,
    /// Geo targeting.
    Targeting,
    /// Custom payout rules.
    Rules,
    /// Postback pixels in the source networks and the advertisers' verification tokens.
    Postbacks,
}

/// What a resource should be after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Offer(Box<OfferSpec>),
    Thumbnail(ThumbnailSpec),
    Url(UrlSpec),
    Rule(RuleSpec),
    Creative(CreativeSpec),
    Targeting(TargetingSpec),
    Pixel(Box<PixelSpec>),
    /// The advertiser's verification token should be the configured one.
    Token(Secret),
    /// The offer should stop running.
    Pause,
    /// The resource should be marked deleted.
    Delete,
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
    pub delete: usize,
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
            delete: count(Action::Delete),
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

    /// The plan without the changes `keep` refuses (and without their offers' notes).
    pub fn retain(self, keep: impl Fn(&Address) -> bool) -> Self {
        let unchanged = self.summary.unchanged;
        let changes = self.changes.into_iter().filter(|c| keep(&c.address));
        let notes = self.notes.into_iter().filter(|n| keep(&n.address));
        Self::new(changes.collect(), notes.collect(), unchanged)
    }
}
