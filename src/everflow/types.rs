//! Everflow's shared vocabulary: enums and list wrappers used by both APIs.
//!
//! Enum values are the lowercase snake_case strings of the API (facts file, "Value
//! formats"); an unknown value is a decode error that names where it was found.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// How an affiliate is paid for an event (proto-derived enum in SNAP reporting.yaml).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PayoutType {
    Blank,
    Cpc,
    Cpa,
    Cpm,
    Cps,
    CpaCps,
    Prv,
    CpaSku,
    CpsSku,
    CpaCpsSku,
    PrvSku,
}

/// How the network is paid for an event.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RevenueType {
    Blank,
    Rpc,
    Rpa,
    Rpm,
    Rps,
    RpaRps,
    RpaSku,
    RpsSku,
    RpaRpsSku,
}

impl PayoutType {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutType::Blank => "blank",
            PayoutType::Cpc => "cpc",
            PayoutType::Cpa => "cpa",
            PayoutType::Cpm => "cpm",
            PayoutType::Cps => "cps",
            PayoutType::CpaCps => "cpa_cps",
            PayoutType::Prv => "prv",
            PayoutType::CpaSku => "cpa_sku",
            PayoutType::CpsSku => "cps_sku",
            PayoutType::CpaCpsSku => "cpa_cps_sku",
            PayoutType::PrvSku => "prv_sku",
        }
    }

    /// The revenue type that mirrors this payout type: what the source pays us on the
    /// same basis. `prv` (a share of the network's revenue) has no revenue counterpart,
    /// and the SKU types depend on per-SKU settings the Affiliate API does not expose.
    pub fn revenue_type(self) -> Option<RevenueType> {
        match self {
            PayoutType::Blank => Some(RevenueType::Blank),
            PayoutType::Cpc => Some(RevenueType::Rpc),
            PayoutType::Cpa => Some(RevenueType::Rpa),
            PayoutType::Cpm => Some(RevenueType::Rpm),
            PayoutType::Cps => Some(RevenueType::Rps),
            PayoutType::CpaCps => Some(RevenueType::RpaRps),
            PayoutType::Prv
            | PayoutType::PrvSku
            | PayoutType::CpaSku
            | PayoutType::CpsSku
            | PayoutType::CpaCpsSku => None,
        }
    }

    /// Whether the flat amount is meaningful for this type.
    pub fn uses_amount(self) -> bool {
        matches!(
            self,
            PayoutType::Cpc | PayoutType::Cpa | PayoutType::Cpm | PayoutType::CpaCps
        )
    }

    /// Whether the percentage is meaningful for this type.
    pub fn uses_percentage(self) -> bool {
        matches!(self, PayoutType::Cps | PayoutType::CpaCps)
    }
}

impl RevenueType {
    pub fn as_str(self) -> &'static str {
        match self {
            RevenueType::Blank => "blank",
            RevenueType::Rpc => "rpc",
            RevenueType::Rpa => "rpa",
            RevenueType::Rpm => "rpm",
            RevenueType::Rps => "rps",
            RevenueType::RpaRps => "rpa_rps",
            RevenueType::RpaSku => "rpa_sku",
            RevenueType::RpsSku => "rps_sku",
            RevenueType::RpaRpsSku => "rpa_rps_sku",
        }
    }
}

impl fmt::Display for PayoutType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RevenueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Offer visibility to affiliates.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    RequireApproval,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::RequireApproval => "require_approval",
            Visibility::Private => "private",
        }
    }
}

/// Offer status.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Active,
    Paused,
    Pending,
    Deleted,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Active => "active",
            OfferStatus::Paused => "paused",
            OfferStatus::Pending => "pending",
            OfferStatus::Deleted => "deleted",
        }
    }
}

/// A list relationship. Everflow wraps most as `{"total": n, "entries": [...]}`, some
/// older pages show a plain array, and proto3 may leave it out or send null: all read
/// as a list.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Entries<T>(pub Vec<T>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum or a detour through a Value: each form is
        // told apart, and an error in an entry keeps its path (`payouts.entries[0].payout_type`).
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list or {\"entries\": [...]}")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Entries<T>, E> {
                Ok(Entries::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Entries<T>, E> {
                Ok(Entries::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entries<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "entries" {
                        entries = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// An object as read: the raw JSON (for overlaying a PUT) and a typed view of the fields
/// offersync compares.
///
/// The raw JSON is absent from objects loaded from the read cache (`plan --refresh=false`):
/// a plan compares typed views only, and the raw text is used only to build request
/// bodies, which a plan from the cache never does (it is never applied: `apply` reads
/// afresh). Keeping it would hold the whole cache's text for nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Live<T> {
    raw: Option<RawObject>,
    pub view: T,
}

impl<T: DeserializeOwned> Live<T> {
    /// Decodes an object, naming where its shape is wrong.
    pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
        let view = serde_path_to_error::deserialize(&value).map_err(decode_detail)?;
        match value {
            serde_json::Value::Object(raw) => Ok(Self {
                raw: Some(RawObject::from_map(&raw)),
                view,
            }),
            _ => Err("expected an object".to_owned()),
        }
    }

    /// Decodes the typed view of an object kept as text.
    pub fn from_raw(raw: RawObject) -> Result<Self, String> {
        let view = raw.decode()?;
        Ok(Self {
            raw: Some(raw),
            view,
        })
    }
}

impl<T> Live<T> {
    /// An object known by its typed view alone, as the read cache gives it: no request
    /// body can be built from it (see [`Live::raw`]).
    pub fn view_only(view: T) -> Self {
        Self { raw: None, view }
    }

    /// The object as it was read, for a request body.
    ///
    /// # Panics
    ///
    /// When the object came from the read cache, which keeps views only.
    pub fn raw(&self) -> &RawObject {
        self.raw.as_ref().expect(RAW_INVARIANT)
    }

    /// Puts `raw` in place of the object's text; its view is the caller's to keep in step.
    pub fn set_raw(&mut self, raw: RawObject) {
        self.raw = Some(raw);
    }
}

/// Why [`Live::raw`] and [`SourceSnapshot::raw`](crate::source::SourceSnapshot::raw) may
/// expect the raw text.
pub const RAW_INVARIANT: &str = "request bodies and `offer.json` are made only from objects \
    read from Everflow; only a plan from the read cache holds objects without their text, \
    and it is never applied";

/// A JSON object as it was read, kept as its text and decoded only where a request body
/// is built from it (a PUT replaces the whole object, so its body starts from the live
/// one). Objects read together, such as the items of one page of a list, share one
/// buffer and are slices of it: holding thousands of offers costs their text once, not a
/// tree of values each. (The read cache keeps no text at all: see [`Live`].)
#[derive(Clone)]
pub struct RawObject {
    text: Arc<String>,
    span: Range<usize>,
}

impl RawObject {
    /// The text of an object in hand.
    pub fn from_map(object: &serde_json::Map<String, serde_json::Value>) -> Self {
        let text = serde_json::to_string(object).expect("a JSON map always serializes");
        let span = 0..text.len();
        Self {
            text: Arc::new(text),
            span,
        }
    }

    /// The object `raw`, a slice of `buffer` (which it was parsed from); an error when it
    /// is not an object.
    pub fn within(buffer: &Arc<String>, raw: &RawValue) -> Result<Self, String> {
        let text = raw.get();
        check_object(text)?;
        let start = (text.as_ptr() as usize).wrapping_sub(buffer.as_ptr() as usize);
        let span = start..start + text.len();
        match buffer.get(span.clone()) {
            Some(slice) if std::ptr::eq(slice, text) => Ok(Self {
                text: Arc::clone(buffer),
                span,
            }),
            // Not parsed from `buffer` after all: keep a copy of its own.
            _ => Ok(Self {
                text: Arc::new(text.to_owned()),
                span: 0..text.len(),
            }),
        }
    }

    /// The object's JSON text, as it was read.
    pub fn text(&self) -> &str {
        &self.text[self.span.clone()]
    }

    /// The object, decoded.
    pub fn object(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(self.text()).expect("a raw object holds a JSON object")
    }

    /// One field of the object, decoded.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        self.object().remove(key)
    }

    /// A typed view of the object, naming where its shape is wrong.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        decode_text(self.text())
    }
}

/// A typed view of the JSON object `raw`, without keeping its text: the errors of
/// [`RawObject::within`] and [`RawObject::decode`] together.
pub fn decode_object<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    check_object(raw.get())?;
    decode_text(raw.get())
}

/// An error when the JSON `text` is not an object, saying what it is.
fn check_object(text: &str) -> Result<(), String> {
    if text.starts_with('{') {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    Err(format!("expected an object, got {}", json_kind(&value)))
}

/// A typed view of the JSON `text`, naming where its shape is wrong.
fn decode_text<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).or_else(|_| {
        // Rare, so decoded again as a value: that names the path, and says what was
        // found as a value does ("invalid type: null"), not where in a text nobody saw.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| error.to_string())?;
        serde_path_to_error::deserialize(&value).map_err(decode_detail)
    })
}

impl PartialEq for RawObject {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Written as the JSON object it is, without decoding it.
impl Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue =
            serde_json::from_str(self.text()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// The longest description of a decode error (a path and what was wrong there).
const MAX_DETAIL_CHARS: usize = 400;

/// What was wrong where in a JSON answer, on one short line: `` at `relationship.payouts`:
/// invalid type: ... `` (without the `at` when it is the whole answer).
pub fn decode_detail(error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let at = json_path(error.path());
    let inner = error.into_inner();
    let detail = if at == "." {
        inner.to_string()
    } else {
        format!("at `{at}`: {inner}")
    };
    // The message may quote a value of the answer: a megabyte, or text with newlines.
    crate::text::one_line(&detail, MAX_DETAIL_CHARS)
}

/// A JSON path as people read it. serde_json's exact numbers (arbitrary precision) show
/// up as a private field inside the number; that field is the number itself.
pub fn json_path(path: &serde_path_to_error::Path) -> String {
    path.to_string()
        .replace(".$serde_json::private::Number", "")
}

/// The JSON type of a value, for messages.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Paging block of list responses (SNAP paging.mdx).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Paging {
    #[serde(default)]
    pub page: u64,
    #[serde(default)]
    pub page_size: u64,
    #[serde(default)]
    pub total_count: u64,
}

impl Paging {
    /// Whether a later page exists (MAT pagination: stop when page x size >= total).
    pub fn has_more(&self, fetched_on_page: usize) -> bool {
        fetched_on_page > 0 && self.page.saturating_mul(self.page_size) < self.total_count
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn raw_objects_are_slices_of_the_text_they_were_read_from() {
        let text =
            Arc::new(r#"{"items": [{"id": 1, "n": 1.50}, {"id": 2}], "total": 2}"#.to_owned());
        let page: BTreeMap<&str, &RawValue> = serde_json::from_str(&text).unwrap();
        let items: Vec<&RawValue> = serde_json::from_str(page["items"].get()).unwrap();
        let first = RawObject::within(&text, items[0]).unwrap();
        assert!(Arc::ptr_eq(&first.text, &text), "shares the buffer");
        assert_eq!(first.text(), r#"{"id": 1, "n": 1.50}"#);
        // Written back as read (1.50 stays 1.50), not re-encoded.
        assert_eq!(
            serde_json::to_string(&vec![first.clone()]).unwrap(),
            r#"[{"id": 1, "n": 1.50}]"#
        );
        assert_eq!(first.get("id"), Some(serde_json::json!(1)));
        // Not from this buffer: kept as a copy of its own.
        let elsewhere = RawValue::from_string(r#"{"id": 3}"#.to_owned()).unwrap();
        let copy = RawObject::within(&text, &elsewhere).unwrap();
        assert!(!Arc::ptr_eq(&copy.text, &text));
        assert_eq!(copy.text(), r#"{"id": 3}"#);
        let total = RawObject::within(&text, page["total"]).unwrap_err();
        assert_eq!(total, "expected an object, got a number");
    }

    #[test]
    fn a_raw_object_names_where_its_shape_is_wrong_as_a_value_would() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct View {
            payout_type: PayoutType,
        }
        let raw = RawObject::from_map(
            serde_json::json!({"payout_type": null})
                .as_object()
                .unwrap(),
        );
        let error = raw.decode::<View>().unwrap_err();
        assert!(
            error.starts_with("at `payout_type`: invalid type: null"),
            "{error}"
        );
        assert!(!error.contains("line 1"), "{error}");
        // Decoded without keeping the text (the read cache), in the very same words.
        let slice = RawValue::from_string(raw.text().to_owned()).unwrap();
        assert_eq!(decode_object::<View>(&slice).unwrap_err(), error);
        let number = RawValue::from_string("2".to_owned()).unwrap();
        assert_eq!(
            decode_object::<View>(&number).unwrap_err(),
            "expected an object, got a number"
        );
    }

    #[test]
    #[should_panic(expected = "only a plan from the read cache holds objects without their text")]
    fn a_view_only_object_has_no_text_to_build_a_body_from() {
        let live = Live::view_only(Paging::default());
        live.raw();
    }

    #[test]
    fn entries_accept_every_form() {
        let wrapped: Entries<u32> = serde_json::from_str(r#"{"total":2,"entries":[1,2]}"#).unwrap();
        let plain: Entries<u32> = serde_json::from_str("[1,2]").unwrap();
        let null: Entries<u32> = serde_json::from_str("null").unwrap();
        let empty: Entries<u32> = serde_json::from_str(r#"{"total":0}"#).unwrap();
        assert_eq!(wrapped.0, vec![1, 2]);
        assert_eq!(plain.0, vec![1, 2]);
        assert!(null.0.is_empty());
        assert!(empty.0.is_empty());
    }

    #[test]
    fn entries_report_bad_members() {
        let error = serde_json::from_str::<Entries<u32>>(r#"{"entries":["x"]}"#).unwrap_err();
        assert!(
            error.to_string().contains("invalid type: string"),
            "{error}"
        );
        let error = serde_json::from_str::<Entries<u32>>("\"x\"").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(r#"invalid type: string "x", expected a list or {"entries": [...]}"#),
            "{error}"
        );
    }

    #[test]
    fn entries_keep_the_path_of_a_bad_member() {
        #[derive(Debug, Deserialize)]
        struct Holder {
            #[allow(dead_code)]
            list: Entries<u32>,
        }
        for (json, path) in [
            (
                r#"{"list": {"total": 2, "entries": [1, "x"]}}"#,
                "list.entries[1]",
            ),
            (r#"{"list": [1, 2, -3]}"#, "list[2]"),
        ] {
            let mut deserializer = serde_json::Deserializer::from_str(json);
            let error =
                serde_path_to_error::deserialize::<_, Holder>(&mut deserializer).unwrap_err();
            assert_eq!(error.path().to_string(), path);
        }
    }

    #[test]
    fn revenue_mirrors_payout() {
        assert_eq!(PayoutType::Cpa.revenue_type(), Some(RevenueType::Rpa));
        assert_eq!(PayoutType::CpaCps.revenue_type(), Some(RevenueType::RpaRps));
        assert_eq!(PayoutType::Prv.revenue_type(), None);
    }

    #[test]
    fn paging_stops_at_total() {
        let paging = Paging {
            page: 1,
            page_size: 2,
            total_count: 3,
        };
        assert!(paging.has_more(2));
        assert!(!Paging { page: 2, ..paging }.has_more(1));
        assert!(!paging.has_more(0));
    }
}
