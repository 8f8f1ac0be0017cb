//! The desired config: `desired/<network>.yaml`, one file per source network
//! (DESIGN section 4.3).
//!
//! Types here are what operators write; they are strict (unknown keys are errors) and
//! every error names the file, line and column. This module reads files and nothing else:
//! it knows nothing of settings, sources or Everflow.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::everflow::types::Visibility;
use crate::money::Margin;

/// The folder of desired files inside a workspace.
pub const DESIRED_DIR: &str = "desired";

/// One `desired/<network>.yaml`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, expecting = "a map with an `offers:` list")]
#[schemars(
    title = "offersync desired network",
    description = "Which offers of one source network to carry into the destination, and how. The network is named by the file's stem: desired/trimrx.yaml reads its settings from TRIMRX_* variables."
)]
pub struct DesiredFile {
    /// Where this network's offers go. `iscale` (the default) is the Everflow network
    /// configured by the `ISCALE_*` settings; `offerit` the Offerit (Trackfinity)
    /// install configured by the `OFFERIT_*` settings.
    #[serde(default)]
    pub destination: Destination,
    /// Margin for this network's offers, overriding `ISCALE_PAYOUT_MARGIN` (or
    /// `OFFERIT_PAYOUT_MARGIN` for an Offerit destination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<Margin>,
    /// Visibility of this network's offers in the destination unless an offer says
    /// otherwise. Default `require_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Whether offersync manages this network's postback pixels (and the advertiser's
    /// verification token). Default true; needs `{NETWORK}_VERIFICATION_TOKEN` and
    /// `ISCALE_TRACKING_DOMAIN`.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub postbacks: bool,
    /// Safety guards: plans that trip one exit 3 and are not applied unless the run
    /// names the guard's `--allow-*` flag.
    #[serde(default, skip_serializing_if = "Guards::is_default")]
    pub guards: Guards,
    /// The source offers to carry. An offer removed from this list is paused in the
    /// destination, never deleted. `offers: []` is valid.
    #[serde(deserialize_with = "deserialize_offers")]
    #[schemars(extend("uniqueItems" = true))]
    pub offers: Vec<OfferConfig>,
}

/// One source offer to carry, with optional overrides.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(
    deny_unknown_fields,
    expecting = "an offer: a map with `source_offer_id:`"
)]
pub struct OfferConfig {
    /// The offer's id in the source network (`network_offer_id`).
    pub source_offer_id: SourceOfferId,
    /// Name in the destination. Default: the source offer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<NonEmpty>,
    /// HTML description in the destination. Default: the source offer's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_description: Option<String>,
    /// Visibility in the destination. Default: the file's `visibility`, else
    /// `require_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Margin for this offer, overriding the file's and `ISCALE_PAYOUT_MARGIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<Margin>,
    /// Keep the destination offer paused even while the source runs it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Source URL ids (`network_offer_url_id`) not to carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_urls: Vec<u64>,
    /// Geo targeting overrides. Default: the source's countries and regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoConfig>,
    /// Offerit only (`destination: offerit`): source payout events carried as Offerit
    /// offer goals, by event name, each with the id of a goal defined in the Offerit
    /// install (`goals: {Upsell: 1}`). offersync never invents goal ids; an event without
    /// one is listed in the plan as not carried.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_goals"
    )]
    pub goals: BTreeMap<String, GoalId>,
}

/// Safety guards of one network: what makes a plan too surprising to apply unattended.
/// The count-based guards (paused, unavailable) apply only from `min_managed_offers`
/// managed offers on, so small setups and deliberate removals are not blocked.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a map of guard settings such as `max_paused_percent: 30`"
)]
pub struct Guards {
    /// Refuse a plan that pauses more than this percentage of the network's managed
    /// offers (for any reason). Override: `--allow-mass-pause`. Default 30.
    #[serde(deserialize_with = "percent")]
    #[schemars(range(max = 100))]
    pub max_paused_percent: u32,
    /// Refuse a plan in which more than this percentage of the managed offers are no
    /// longer available at the source: more likely a broken fetch or a lost approval
    /// than real removals. Override: `--allow-source-shrink`. Default 30.
    #[serde(deserialize_with = "percent")]
    #[schemars(range(max = 100))]
    pub max_unavailable_percent: u32,
    /// The count-based guards apply from this many managed offers in the network on.
    /// Default 10.
    pub min_managed_offers: u32,
    /// Refuse a plan that sets a payout keeping less than this margin of the revenue
    /// (0.10 keeps at least 10%). Override: `--allow-low-margin`. Default: no minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_margin: Option<Margin>,
    /// Refuse a plan that raises a payout by more than this percentage of its current
    /// value. Override: `--allow-payout-rise`. Default 100 (a doubling).
    pub max_payout_rise_percent: u32,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            max_paused_percent: 30,
            max_unavailable_percent: 30,
            min_managed_offers: 10,
            min_margin: None,
            max_payout_rise_percent: 100,
        }
    }
}

impl Guards {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

fn percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = u32::deserialize(deserializer)?;
    if value > 100 {
        return Err(serde::de::Error::custom(format!(
            "expected a percentage from 0 to 100, got {value}"
        )));
    }
    Ok(value)
}

/// Geo targeting overrides of one offer.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(
    deny_unknown_fields,
    expecting = "a map with `countries:` and/or `regions:`"
)]
pub struct GeoConfig {
    /// Countries to include, by ISO 3166-1 alpha-2 code, instead of the source's included
    /// countries (the source's exclusions stay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<CountryCode>>,
    /// Whether to carry the source's region rules. Default true.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub regions: bool,
}

fn yes() -> bool {
    true
}

/// An ISO 3166-1 alpha-2 country code such as `US`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct CountryCode(pub String);

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = CountryCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a two-letter country code such as US")
            }
            fn visit_str<E: serde::de::Error>(self, code: &str) -> Result<CountryCode, E> {
                if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) {
                    Ok(CountryCode(code.to_ascii_uppercase()))
                } else {
                    Err(E::custom(format!(
                        "expected a two-letter country code such as US, got `{code}`"
                    )))
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for CountryCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CountryCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "ISO 3166-1 alpha-2 country code, e.g. US.",
            "type": "string",
            "pattern": "^[A-Za-z]{2}$"
        })
    }
}

/// Where a network's offers go (DESIGN 4.5).
#[derive(
    Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The iScale Everflow network (Network API, `ISCALE_*` settings).
    #[default]
    Iscale,
    /// An Offerit (Trackfinity) install (`OFFERIT_*` settings, seed 003).
    Offerit,
}

impl Destination {
    pub fn is_iscale(&self) -> bool {
        *self == Destination::Iscale
    }

    /// The name people know it by: `iScale`, `Offerit`.
    pub fn title(self) -> &'static str {
        match self {
            Destination::Iscale => "iScale",
            Destination::Offerit => "Offerit",
        }
    }
}

/// The id of a goal defined in an Offerit install: a positive integer.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct GoalId(pub u64);

impl<'de> Deserialize<'de> for GoalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_u64(PositiveId {
                expecting: "a positive integer goal id",
                not_positive: "a goal id must be a positive integer",
                check: |_| Ok(()),
            })
            .map(GoalId)
    }
}

/// A visitor of positive integer ids. `check` runs inside it, so that serde_yaml points
/// an error it raises at the id itself.
struct PositiveId<F> {
    expecting: &'static str,
    not_positive: &'static str,
    check: F,
}

impl<F: FnOnce(u64) -> Result<(), String>> serde::de::Visitor<'_> for PositiveId<F> {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<u64, E> {
        match u64::try_from(id) {
            Ok(id) => self.visit_u64(id),
            Err(_) => Err(E::custom(self.not_positive)),
        }
    }
    fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<u64, E> {
        if id == 0 {
            return Err(E::custom(self.not_positive));
        }
        (self.check)(id).map_err(E::custom)?;
        Ok(id)
    }
}

impl JsonSchema for GoalId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoalId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The id of a goal defined in the Offerit install.",
            "type": "integer",
            "minimum": 1
        })
    }
}

thread_local! {
    // The destination of the file being parsed, read before the file itself: `goals:`
    // belongs to Offerit, and the error must point at it, wherever `destination:` is
    // written. `None`: unknown (a file parsed without `parse`), nothing is checked.
    static FILE_DESTINATION: Cell<Option<Destination>> = const { Cell::new(None) };
}

fn deserialize_goals<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, GoalId>, D::Error> {
    struct Goals;
    impl<'de> serde::de::Visitor<'de> for Goals {
        type Value = BTreeMap<String, GoalId>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of payout event names to Offerit goal ids, such as `{Upsell: 1}`")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut goals = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                // Raised once the first key is read, so the error points into the map.
                if FILE_DESTINATION.get() == Some(Destination::Iscale) {
                    return Err(serde::de::Error::custom(
                        "goals are Offerit goals: they need `destination: offerit` at the top of the file",
                    ));
                }
                if name.trim().is_empty() {
                    return Err(serde::de::Error::custom(
                        "a goal needs the name of a source payout event",
                    ));
                }
                let id: GoalId = map.next_value()?;
                if goals.insert(name.clone(), id).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "payout event `{}` is mapped twice",
                        crate::text::shown(&name)
                    )));
                }
            }
            Ok(goals)
        }
    }
    deserializer.deserialize_map(Goals)
}

/// A source offer id: a positive integer, unique within its file.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct SourceOfferId(pub u64);

impl fmt::Display for SourceOfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

thread_local! {
    // The ids seen so far in the offers list being parsed, with the 1-based index of the
    // entry that had each. A Deserialize impl has no other way to know its siblings, and
    // raising the error from the id itself is what makes serde_yaml point at its line.
    static SEEN_IDS: RefCell<Option<BTreeMap<u64, usize>>> = const { RefCell::new(None) };
}

impl<'de> Deserialize<'de> for SourceOfferId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The duplicate check runs inside the visitor: an error raised there carries the
        // position of the id itself, not of the offer around it.
        let unique = |id: u64| {
            SEEN_IDS.with(|seen| {
                let mut seen = seen.borrow_mut();
                let Some(seen) = seen.as_mut() else {
                    return Ok(());
                };
                let index = seen.len() + 1;
                match seen.insert(id, index) {
                    Some(first) => Err(format!(
                        "duplicate source_offer_id {id} (already listed as offer #{first})"
                    )),
                    None => Ok(()),
                }
            })
        };
        deserializer
            .deserialize_u64(PositiveId {
                expecting: "a positive integer offer id",
                not_positive: "source_offer_id must be a positive integer",
                check: unique,
            })
            .map(SourceOfferId)
    }
}

impl JsonSchema for SourceOfferId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SourceOfferId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The offer's id in the source network (network_offer_id); unique within the file.",
            "type": "integer",
            "minimum": 1
        })
    }
}

fn deserialize_offers<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<OfferConfig>, D::Error> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SEEN_IDS.with(|seen| *seen.borrow_mut() = None);
        }
    }
    SEEN_IDS.with(|seen| *seen.borrow_mut() = Some(BTreeMap::new()));
    let _reset = Reset;
    // `offers:` with nothing after it is YAML null, which serde_yaml reads as an empty
    // list: every offer of the network would then be paused. Only `offers: []` says that.
    // The error is raised inside the visitor so that it points at the value.
    struct Offers;
    impl<'de> serde::de::Visitor<'de> for Offers {
        type Value = Vec<OfferConfig>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of offers")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(
                "expected a list of offers, found nothing; write `offers: []` to carry none",
            ))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut offers = Vec::new();
            while let Some(offer) = seq.next_element()? {
                offers.push(offer);
            }
            Ok(offers)
        }
    }
    deserializer.deserialize_any(Offers)
}

/// A string that must not be empty or blank.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct NonEmpty(#[schemars(length(min = 1))] pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().is_empty() {
            return Err(serde::de::Error::custom("expected a non-empty string"));
        }
        Ok(NonEmpty(text))
    }
}

/// A desired file, parsed, with the network it names.
#[derive(Clone, Debug)]
pub struct DesiredNetwork {
    /// The file stem: `trimrx` for `desired/trimrx.yaml`.
    pub name: String,
    /// The path as shown to people (relative to the workspace).
    pub path: PathBuf,
    pub file: DesiredFile,
}

impl DesiredNetwork {
    pub fn offer(&self, id: SourceOfferId) -> Option<&OfferConfig> {
        self.file
            .offers
            .iter()
            .find(|offer| offer.source_offer_id == id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DesiredError {
    #[error("{}:{line}:{column}: {message}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

/// Loads every `desired/*.yaml` of a workspace, sorted by network name.
pub fn load_all(workspace: &Path) -> Result<Vec<DesiredNetwork>, DesiredError> {
    let dir = workspace.join(DESIRED_DIR);
    let shown_dir = Path::new(DESIRED_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(DesiredError::File {
                path: shown_dir.to_owned(),
                message: error.to_string(),
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();

    let mut networks: Vec<DesiredNetwork> = Vec::new();
    for path in files {
        let shown = shown_dir.join(path.file_name().unwrap_or_default());
        let name = network_name(&shown)?;
        if let Some(other) = networks.iter().find(|network| network.name == name) {
            return Err(DesiredError::File {
                path: shown,
                message: format!(
                    "network `{name}` is already described by {}",
                    other.path.display()
                ),
            });
        }
        let bytes = std::fs::read(&path).map_err(|error| DesiredError::File {
            path: shown.clone(),
            message: error.to_string(),
        })?;
        let file = parse(&shown, &bytes)?;
        networks.push(DesiredNetwork {
            name,
            path: shown,
            file,
        });
    }
    Ok(networks)
}

/// The network name a desired file stands for: its stem, which also names the settings
/// (`TRIMRX_*`), so only lowercase letters, digits, `-` and `_` are allowed.
fn network_name(path: &Path) -> Result<String, DesiredError> {
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    let valid = !stem.is_empty()
        && stem.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(DesiredError::File {
            path: path.to_owned(),
            message: "the file name names the network: use lowercase letters, digits, `-` and `_` (e.g. desired/trimrx.yaml)".to_owned(),
        });
    }
    Ok(stem.to_owned())
}

/// Parses one desired file. `path` is only used in error messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<DesiredFile, DesiredError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        // Everything before the bad byte is valid text: count lines and characters in it.
        let before = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        DesiredError::At {
            path: path.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: "not valid UTF-8; save the file as UTF-8".to_owned(),
        }
    })?;
    if text.trim().is_empty() {
        return Err(DesiredError::File {
            path: path.to_owned(),
            message: "the file is empty; a desired file needs at least `offers: []`".to_owned(),
        });
    }
    // libyaml reports these at 1:1 with a byte offset; say where they are.
    if let Some((line, column, c)) = control_character(text) {
        return Err(DesiredError::At {
            path: path.to_owned(),
            line,
            column,
            message: format!(
                "control character U+{:04X} is not allowed in YAML",
                u32::from(c)
            ),
        });
    }
    /// What is read before the file: its destination, when it parses.
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        destination: Destination,
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            FILE_DESTINATION.set(None);
        }
    }
    // A file whose head does not parse fails the full parse too, which says why.
    FILE_DESTINATION.set(
        serde_yaml::from_str::<Head>(text)
            .ok()
            .map(|head| head.destination),
    );
    let _reset = Reset;
    serde_yaml::from_str::<DesiredFile>(text).map_err(|error| yaml_error(path, text, &error))
}

/// The first character YAML does not allow (C0 and C1 controls other than tab, line
/// breaks and NEL, and DEL), with its line and column.
fn control_character(text: &str) -> Option<(usize, usize, char)> {
    text.lines().enumerate().find_map(|(index, line)| {
        line.chars()
            .enumerate()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\r' | '\u{85}'))
            .map(|(column, c)| (index + 1, column + 1, c))
    })
}

/// The longest message a desired-file error shows (the list of expected keys fits).
const MAX_MESSAGE_CHARS: usize = 400;

fn yaml_error(path: &Path, text: &str, error: &serde_yaml::Error) -> DesiredError {
    let mut message = strip_locations(&error.to_string());
    let mut location = error.location().map(|at| (at.line(), at.column()));
    if location.is_none() && message.contains("more than one document") {
        location = second_document(text).map(|line| (line, 1));
        message =
            "the file holds more than one YAML document (`---`); a desired file is one".to_owned();
    }
    // The message may quote the operator's value: a megabyte, or a string with newlines.
    let message = crate::text::one_line(&message, MAX_MESSAGE_CHARS);
    match location {
        Some((line, column)) => DesiredError::At {
            path: path.to_owned(),
            line,
            column,
            message,
        },
        None => DesiredError::File {
            path: path.to_owned(),
            message,
        },
    }
}

/// The line (1-based) of the `---` that starts a second YAML document, if one is found.
fn second_document(text: &str) -> Option<usize> {
    let mut in_document = false;
    for (index, line) in text.lines().enumerate() {
        let marker = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker {
            if in_document {
                return Some(index + 1);
            }
            in_document = true;
        } else if !line.trim().is_empty() && !line.starts_with(['#', '%']) {
            in_document = true;
        }
    }
    None
}

/// serde_yaml appends " at line L column C" (sometimes more than once); the location
/// is already in front of the message, so drop it from the text.
fn strip_locations(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" at line ") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let line_end = digits(tail);
        let after_line = &tail[line_end..];
        match after_line.strip_prefix(" column ") {
            Some(columns) if line_end > 0 => rest = &columns[digits(columns)..],
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<DesiredFile, String> {
        parse(Path::new("desired/trimrx.yaml"), text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_file_is_valid() {
        let file = parse_str("offers:\n  - source_offer_id: 1\n").unwrap();
        assert_eq!(file.offers.len(), 1);
        assert_eq!(file.offers[0].source_offer_id, SourceOfferId(1));
        assert_eq!(file.destination, Destination::Iscale);
        assert!(parse_str("offers: []\n").unwrap().offers.is_empty());
    }

    #[test]
    fn overrides_parse() {
        let file = parse_str(
            "margin: 0.15\nvisibility: public\noffers:\n  - source_offer_id: 7\n    name: Seven\n    margin: 0.3\n    paused: true\n",
        )
        .unwrap();
        assert_eq!(file.margin.unwrap().value().to_string(), "0.15");
        assert_eq!(file.offers[0].name.as_ref().unwrap().0, "Seven");
        assert!(file.offers[0].paused);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        assert_eq!(
            parse_str("offers:\n  - source_offer_id: 1\n    nmae: x\n").unwrap_err(),
            "desired/trimrx.yaml:3:5: offers[0]: unknown field `nmae`, expected one of `source_offer_id`, `name`, `html_description`, `visibility`, `margin`, `paused`, `exclude_urls`, `geo`, `goals`"
        );
    }

    #[test]
    fn wrong_type_names_line_and_column() {
        assert_eq!(
            parse_str("offers:\n  - source_offer_id: abc\n").unwrap_err(),
            "desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: string \"abc\", expected a positive integer offer id"
        );
    }

    #[test]
    fn duplicate_ids_point_at_the_second() {
        assert_eq!(
            parse_str(
                "offers:\n  - source_offer_id: 1\n  - source_offer_id: 2\n  - source_offer_id: 1\n"
            )
            .unwrap_err(),
            "desired/trimrx.yaml:4:22: offers[2].source_offer_id: duplicate source_offer_id 1 (already listed as offer #1)"
        );
    }

    #[test]
    fn margin_out_of_range_points_at_it() {
        assert_eq!(
            parse_str("margin: 1.2\noffers: []\n").unwrap_err(),
            "desired/trimrx.yaml:1:9: margin: margin must be at least 0 and less than 1, got 1.2"
        );
    }

    #[test]
    fn invalid_yaml_names_position() {
        let error = parse_str("offers:\n  - source_offer_id: 1\n   bad: [\n").unwrap_err();
        assert!(error.starts_with("desired/trimrx.yaml:3:"), "{error}");
    }

    #[test]
    fn empty_and_non_utf8_files() {
        assert_eq!(
            parse_str("").unwrap_err(),
            "desired/trimrx.yaml: the file is empty; a desired file needs at least `offers: []`"
        );
        assert_eq!(
            parse(Path::new("desired/x.yaml"), b"offers: [\xff]")
                .unwrap_err()
                .to_string(),
            "desired/x.yaml:1:10: not valid UTF-8; save the file as UTF-8"
        );
        assert_eq!(
            parse(
                Path::new("desired/x.yaml"),
                b"# \xc3\xa9\noffers:\n  - name: \xc3\xa9\xe9\n"
            )
            .unwrap_err()
            .to_string(),
            "desired/x.yaml:3:12: not valid UTF-8; save the file as UTF-8"
        );
    }

    #[test]
    fn offers_with_nothing_after_it_is_not_an_empty_list() {
        // Read as `[]`, it would pause every offer of the network.
        for text in ["offers:\n", "offers: ~\n", "offers: null\n"] {
            let error = parse_str(text).unwrap_err();
            assert!(
                error.starts_with("desired/trimrx.yaml:1:")
                    && error.ends_with(
                        "offers: expected a list of offers, found nothing; write `offers: []` to carry none"
                    ),
                "{error}"
            );
        }
    }

    #[test]
    fn control_characters_are_named_by_line_and_column() {
        assert_eq!(
            parse_str("offers: []\nmargin: 0.1\u{0}\n").unwrap_err(),
            "desired/trimrx.yaml:2:12: control character U+0000 is not allowed in YAML"
        );
        assert_eq!(
            parse_str("offers:\n  - source_offer_id: 1\n    name: \"a\u{1b}[2J\"\n").unwrap_err(),
            "desired/trimrx.yaml:3:13: control character U+001B is not allowed in YAML"
        );
        assert!(parse_str("offers:\r\n\t[]\r\n").is_err_and(|e| !e.contains("control")));
    }

    #[test]
    fn a_list_or_a_string_is_not_a_desired_file() {
        assert_eq!(
            parse_str("- source_offer_id: 1\n").unwrap_err(),
            "desired/trimrx.yaml:1:1: invalid type: sequence, expected a map with an `offers:` list"
        );
        assert_eq!(
            parse_str("offers:\n  - 7\n").unwrap_err(),
            "desired/trimrx.yaml:2:5: offers[0]: invalid type: integer `7`, expected an offer: a map with `source_offer_id:`"
        );
    }

    #[test]
    fn a_second_document_is_named_by_line() {
        assert_eq!(
            parse_str("# comment\n---\noffers: []\n---\noffers: []\n").unwrap_err(),
            "desired/trimrx.yaml:4:1: the file holds more than one YAML document (`---`); a desired file is one"
        );
    }

    #[test]
    fn quoted_values_stay_on_one_short_line() {
        let error = parse_str("visibility: \"pub\\nlic\"\noffers: []\n").unwrap_err();
        assert_eq!(
            error,
            "desired/trimrx.yaml:1:13: visibility: unknown variant `pub\\nlic`, expected one of `public`, `require_approval`, `private`"
        );
        let huge = format!("visibility: {}\noffers: []\n", "x".repeat(1 << 20));
        let error = parse_str(&huge).unwrap_err();
        assert!(error.len() < 500, "{} characters", error.len());
        assert!(error.starts_with("desired/trimrx.yaml:1:13: visibility: unknown variant `xxx"));
        assert!(error.ends_with("`, expected one of `public`, `require_approval`, `private`"));
    }

    #[test]
    fn missing_offers_key() {
        let error = parse_str("margin: 0.1\n").unwrap_err();
        assert!(error.contains("missing field `offers`"), "{error}");
    }

    #[test]
    fn geo_overrides_parse_and_validate() {
        let file = parse_str("offers:\n  - source_offer_id: 1\n    geo:\n      countries: [us, CA]\n      regions: false\n").unwrap();
        let geo = file.offers[0].geo.as_ref().unwrap();
        assert_eq!(
            geo.countries.as_deref(),
            Some(&[CountryCode("US".into()), CountryCode("CA".into())][..])
        );
        assert!(!geo.regions);
        assert_eq!(
            parse_str("offers:\n  - source_offer_id: 1\n    geo:\n      countries: [USA]\n")
                .unwrap_err(),
            "desired/trimrx.yaml:4:19: offers[0].geo.countries[0]: expected a two-letter country code such as US, got `USA`"
        );
    }

    #[test]
    fn an_offerit_file_maps_events_to_goals() {
        let file = parse_str(
            "offers:\n  - source_offer_id: 1\n    goals: {Upsell: 1, \"Refill 2\": 3}\ndestination: offerit\n",
        )
        .unwrap();
        assert_eq!(file.destination, Destination::Offerit);
        assert_eq!(
            file.offers[0].goals,
            BTreeMap::from([("Refill 2".into(), GoalId(3)), ("Upsell".into(), GoalId(1))])
        );
        assert_eq!(
            parse_str(
                "destination: offerit\noffers:\n  - source_offer_id: 1\n    goals: {Upsell: 0}\n"
            )
            .unwrap_err(),
            "desired/trimrx.yaml:4:21: offers[0].goals.Upsell: a goal id must be a positive integer"
        );
    }

    #[test]
    fn goals_in_an_iscale_file_name_their_place() {
        // Wherever `destination:` is (or is not) written.
        for text in [
            "offers:\n  - source_offer_id: 1\n    goals:\n      Upsell: 1\n",
            "offers:\n  - source_offer_id: 1\n    goals:\n      Upsell: 1\ndestination: iscale\n",
        ] {
            let error = parse_str(text).unwrap_err();
            assert!(
                error.starts_with("desired/trimrx.yaml:4:")
                    && error.ends_with(
                        "offers[0].goals: goals are Offerit goals: they need `destination: offerit` at the top of the file"
                    ),
                "{error}"
            );
        }
    }

    #[test]
    fn strip_locations_keeps_other_text() {
        assert_eq!(strip_locations("bad at line 3 column 4"), "bad");
        assert_eq!(
            strip_locations("x at line 1 column 2, while parsing at line 9 column 1"),
            "x, while parsing"
        );
        assert_eq!(strip_locations("look at line noise"), "look at line noise");
    }
}
