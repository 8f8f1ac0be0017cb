//! The plan: what would change in the destination, and why. Plain data; computing it
//! (`diff`), showing it (`show` for people, `markdown` for pull requests) and carrying it
//! out (`crate::apply`) are separate steps.
//!
//! The JSON form (`plan --json`) is this module's types serialized; its shape is
//! documented in `docs/plan-json.md` and versioned by [`FORMAT_VERSION`].

pub mod diff;
pub mod fields;
pub mod flatten;
pub mod markdown;
pub mod show;

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

use crate::desired::{Destination, SourceOfferId};
use crate::render::offerit::{GoalSpec, OfferitOfferSpec};
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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Address {
    /// The source network: the stem of its desired file (`trimrx` for
    /// `desired/trimrx.yaml`).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub network: String,
    /// The offer's id in the source network (`network_offer_id`); 0 for what belongs to
    /// the network itself rather than to one offer (its advertiser's verification token).
    #[schemars(schema_with = "offer_id_or_network")]
    pub source_offer_id: SourceOfferId,
}

/// A source offer id, or 0 for the network (the desired file's schema says `>= 1`).
fn offer_id_or_network(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 0
    })
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

impl std::str::FromStr for Address {
    type Err = String;

    /// The inverse of `Display`: `trimrx/12`, or `trimrx` for the network itself.
    fn from_str(text: &str) -> Result<Self, String> {
        let (network, id) = match text.split_once('/') {
            Some((network, id)) => (network, Some(id)),
            None => (text, None),
        };
        if network.is_empty() {
            return Err(format!("expected NETWORK/ID, got `{text}`"));
        }
        let Some(id) = id else {
            return Ok(Self::network(network));
        };
        let id: u64 = id
            .parse()
            .ok()
            .filter(|&id| id > 0)
            .ok_or_else(|| format!("the offer id in `{text}` must be a positive integer"))?;
        Ok(Self {
            network: network.to_owned(),
            source_offer_id: SourceOfferId(id),
        })
    }
}

/// What a change does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The resource does not exist yet in the destination (or in the source network, for
    /// a pixel).
    Create,
    /// Some of its managed fields change.
    Update,
    /// Offers are never deleted: one that should no longer run is paused.
    Pause,
    /// URLs, rules and creatives have no DELETE: their status becomes `deleted`
    /// (`inactive` for pixels; an Offerit landing page is made private).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = field_rules)]
pub struct FieldChange {
    /// The managed field, named like the API names it: `name`,
    /// `events["Base"].payout_amount`, `countries["US"]` (per kind: docs/plan-json.md).
    pub field: String,
    /// The value now: `null` when the field does not exist yet (a create, a new event).
    pub before: Option<FieldValue>,
    /// The value wanted: `null` when the field goes away (an event the source dropped).
    pub after: Option<FieldValue>,
    /// Why this value changes, in a fixed order.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub reasons: Vec<Reason>,
    /// How a computed payout came about, e.g. `source 350.00 x (1 - 0.20) = 280.00`.
    /// Only on payout amounts and percentages that the margin computes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub lineage: Option<String>,
}

/// What the JSON promises of some fields by their name, beyond their types: a
/// verification token is always masked (a pixel without one has no such field; earlier
/// versions read `none`), and money and percentages are numbers.
fn field_rules(schema: &mut Schema) {
    let masked = fields::MASK;
    schema.insert(
        "allOf".to_owned(),
        serde_json::json!([
            {
                "if": { "properties": { "field": { "const": "verification_token" } } },
                "then": {
                    "properties": {
                        "before": { "enum": [masked, "none", null] },
                        "after": { "enum": [masked, null] }
                    }
                }
            },
            {
                "if": {
                    "properties": {
                        "field": { "pattern": "(^|\\.)(payout|revenue)_(amount|percentage)$|^(advertiser_cost_flat|flat_amount_per_conversion|flat_amount_per_click|percentage_of_customer_conversion)$|^goals\\[.*\\]\\.(amount|revenue_amount)$" }
                    }
                },
                "then": {
                    "properties": {
                        "before": { "type": ["number", "null"] },
                        "after": { "type": ["number", "null"] }
                    }
                }
            }
        ]),
    );
}

/// One change to one destination resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Change {
    /// The source offer (or network) the resource belongs to.
    pub address: Address,
    /// Where the resource is: iScale (the default, left out) or Offerit. A pixel is in
    /// the source network, and posts to this destination.
    #[serde(default, skip_serializing_if = "Destination::is_iscale")]
    pub destination: Destination,
    /// Which resource of it changes.
    pub resource: ResourceId,
    /// What the change does to the resource.
    pub action: Action,
    /// The destination's id of the resource, when it exists: the iScale (or Offerit)
    /// offer's for `offer`, `thumbnail` and `goals`, the advertiser's for `advertiser`,
    /// the Offerit landing page's for an Offerit `url`, the pixel's in the source network
    /// for `pixel`; `null` for a create and for `targeting`.
    pub destination_id: Option<u64>,
    /// Every reason behind the field changes, in a fixed order.
    #[schemars(extend("uniqueItems" = true))]
    pub reasons: Vec<Reason>,
    /// Each managed field that changes, in the resource's field order.
    pub fields: Vec<FieldChange>,
    /// What the resource should be after the change (for apply; not in the JSON).
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
    /// The goals of an Offerit offer (its non-default payout events).
    Goals,
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
            ResourceId::Offer | ResourceId::Thumbnail | ResourceId::Goals => ResourceKind::Offer,
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
            ResourceId::Goals => "goals",
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
            | ResourceId::Goals
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

impl JsonSchema for ResourceId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ResourceId".into()
    }

    /// One branch per kind: which kinds have a key, and what it looks like.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let digits = serde_json::json!({ "type": "string", "pattern": "^[0-9]+$" });
        let none = serde_json::json!({ "type": "null" });
        let branches: Vec<serde_json::Value> = [
            ResourceId::Advertiser,
            ResourceId::Offer,
            ResourceId::Thumbnail,
            ResourceId::Goals,
            ResourceId::Url(0),
            ResourceId::Rule(RuleKey(String::new())),
            ResourceId::Creative(0),
            ResourceId::Targeting,
            ResourceId::Pixel(String::new()),
        ]
        .iter()
        .map(|resource| {
            // The match makes a new variant fail to compile until it is described here.
            let (description, key) = match resource {
                ResourceId::Advertiser => (
                    "The verification token of the network's advertiser in iScale (with `source_offer_id` 0).",
                    none.clone(),
                ),
                ResourceId::Offer => (
                    "The destination offer: basic info and payout events (iScale), or its fields and commission (Offerit).",
                    none.clone(),
                ),
                ResourceId::Thumbnail => ("The iScale offer's thumbnail.", none.clone()),
                ResourceId::Goals => (
                    "The goals of an Offerit offer: the payout events its desired entry maps to goal ids.",
                    none.clone(),
                ),
                ResourceId::Url(_) => (
                    "A landing-page URL of the offer (an Offerit landing page); the key is the source URL id.",
                    digits.clone(),
                ),
                ResourceId::Rule(_) => (
                    "A custom payout rule; the key is `<source event id>:<source URL ids, comma-separated>`.",
                    serde_json::json!({ "type": "string", "pattern": "^[0-9]+:([0-9]+(,[0-9]+)*)?$" }),
                ),
                ResourceId::Creative(_) => (
                    "A creative; the key is the source creative id.",
                    digits.clone(),
                ),
                ResourceId::Targeting => ("The offer's geo targeting.", none.clone()),
                ResourceId::Pixel(_) => (
                    "A postback pixel in the source network; the key is `conversion` or `event:<source event id>`.",
                    serde_json::json!({ "type": "string", "pattern": "^(conversion|event:[0-9]+)$" }),
                ),
            };
            serde_json::json!({
                "description": description,
                "properties": {
                    "kind": { "const": resource.name() },
                    "key": key
                }
            })
        })
        .collect();
        json_schema!({
            "description": "Which resource changes: its kind and, for kinds an offer has several of, which one.",
            "type": "object",
            "properties": {
                "kind": {
                    "type": "string",
                    "enum": branches
                        .iter()
                        .map(|branch| branch["properties"]["kind"]["const"].clone())
                        .collect::<Vec<_>>()
                },
                "key": { "type": ["string", "null"] }
            },
            "required": ["kind", "key"],
            "additionalProperties": false,
            "oneOf": branches
        })
    }
}

/// Kinds of resources, as `--only` names them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
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

/// What a resource should be after a change. An Offerit landing page is a
/// [`Target::Url`], as an iScale offer URL is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Offer(Box<OfferSpec>),
    OfferitOffer(Box<OfferitOfferSpec>),
    /// An Offerit offer's goals, all of them (`set_offer_goals` replaces the list).
    Goals(Vec<GoalSpec>),
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Note {
    /// The source offer (or network) it is about.
    pub address: Address,
    /// One line for people; names from the source are in backticks.
    pub message: String,
}

/// The whole plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(
    deny_unknown_fields,
    title = "offersync plan",
    description = "What `offersync apply` would change, and why: the output of `offersync plan --json` (docs/plan-json.md). Secrets never appear: a token reads `********`. Money and percentages are JSON numbers with their exact decimal digits: parse them as decimals, not floats."
)]
pub struct Plan {
    /// The version of this shape; a change that removes or renames a field bumps it.
    #[schemars(extend("const" = FORMAT_VERSION))]
    pub format_version: u32,
    /// One entry per resource that changes, sorted by address and then in the order apply
    /// makes them (what a resource refers to comes first).
    pub changes: Vec<Change>,
    /// What to know that is not a change, sorted by address.
    pub notes: Vec<Note>,
    /// Counts per action.
    pub summary: Summary,
}

/// How many changes of each action the plan holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    /// Changes that create a resource.
    pub create: usize,
    /// Changes that update a resource.
    pub update: usize,
    /// Offers to pause.
    pub pause: usize,
    /// Resources to mark deleted (inactive, for pixels; private, for Offerit landing
    /// pages, which cannot be deleted).
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
