//! [`Form`]: the fields of one Offerit request, in order, and their encoding as PHP's
//! `http_build_query` writes them.
//!
//! Offerit reads every body as a PHP form, PATCH included, with arrays in bracket
//! syntax (`goal_vars[0][goal_id]=1`, `authorized[0]=US`; offerit-api-facts.md
//! section 2). The encoding follows `http_build_query` with its defaults, so a body
//! is what the docs' PHP examples would send:
//! - names and values are `urlencode`d: ASCII letters, digits and `-_.` stay, a space
//!   becomes `+`, every other byte `%XX` (brackets in names too, `%5B`/`%5D`);
//! - a list is written with explicit indices (`a[0]=x&a[1]=y`), a map with its keys;
//! - a list or map without entries is left out entirely, as PHP leaves out an empty
//!   array, so "present but empty" cannot be sent (an empty `device_types` cannot
//!   unset the device types through this encoding);
//! - `true`/`false` are `1`/`0`.
//!
//! Money goes in as [`Decimal`] and is written with its own digits (`296.00` stays
//! `296.00`): no float ever stands between the amount and the text.
//!
//! Field order is the order the fields were set in, so a body is deterministic and
//! snapshot tests can pin it. Building the fields of an offer is the render step's
//! job, not this module's.

use std::fmt::Write as _;

use rust_decimal::Decimal;

/// The value of one field: text, a list or a map (PHP arrays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormValue {
    Text(String),
    /// Written `name[0]=..&name[1]=..`.
    List(Vec<FormValue>),
    /// Written `name[key]=..`, in this order.
    Map(Vec<(String, FormValue)>),
}

impl FormValue {
    /// A list of values, e.g. ISO-2 country codes.
    pub fn list<T: Into<FormValue>>(items: impl IntoIterator<Item = T>) -> FormValue {
        FormValue::List(items.into_iter().map(Into::into).collect())
    }

    /// A map of values, in the order given.
    pub fn map<K: Into<String>, V: Into<FormValue>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> FormValue {
        FormValue::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        )
    }

    /// The text, when this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FormValue::Text(text) => Some(text),
            FormValue::List(_) | FormValue::Map(_) => None,
        }
    }

    /// Appends `(name, text)` for every leaf under `name`, as PHP would name them.
    fn flatten_into(&self, name: &str, out: &mut Vec<(String, String)>) {
        match self {
            FormValue::Text(text) => out.push((name.to_owned(), text.clone())),
            FormValue::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    item.flatten_into(&format!("{name}[{index}]"), out);
                }
            }
            FormValue::Map(entries) => {
                for (key, item) in entries {
                    item.flatten_into(&format!("{name}[{key}]"), out);
                }
            }
        }
    }
}

impl From<&str> for FormValue {
    fn from(text: &str) -> Self {
        FormValue::Text(text.to_owned())
    }
}

impl From<String> for FormValue {
    fn from(text: String) -> Self {
        FormValue::Text(text)
    }
}

impl From<&String> for FormValue {
    fn from(text: &String) -> Self {
        FormValue::Text(text.clone())
    }
}

impl From<Decimal> for FormValue {
    /// The decimal's own digits (`Decimal`'s `Display` never uses an exponent); a
    /// negative zero loses its sign.
    fn from(amount: Decimal) -> Self {
        let amount = if amount.is_zero() {
            amount.abs()
        } else {
            amount
        };
        FormValue::Text(amount.to_string())
    }
}

impl From<u64> for FormValue {
    fn from(number: u64) -> Self {
        FormValue::Text(number.to_string())
    }
}

impl From<u32> for FormValue {
    fn from(number: u32) -> Self {
        FormValue::Text(number.to_string())
    }
}

impl From<i64> for FormValue {
    fn from(number: i64) -> Self {
        FormValue::Text(number.to_string())
    }
}

impl From<bool> for FormValue {
    /// `1` or `0`, as `http_build_query` writes PHP booleans.
    fn from(flag: bool) -> Self {
        FormValue::Text(if flag { "1" } else { "0" }.to_owned())
    }
}

impl<T: Into<FormValue>> From<Vec<T>> for FormValue {
    fn from(items: Vec<T>) -> Self {
        FormValue::list(items)
    }
}

/// The fields of one request, in the order they were first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, FormValue)>,
}

impl Form {
    pub fn new() -> Form {
        Form::default()
    }

    /// Sets a field: a new name goes last, a name already set keeps its place and
    /// takes the new value (a form never names a field twice).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<FormValue>) -> &mut Form {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(known, _)| *known == name) {
            Some((_, slot)) => *slot = value,
            None => self.fields.push((name, value)),
        }
        self
    }

    /// [`Form::set`] by value, for building a form in one expression.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<FormValue>) -> Form {
        self.set(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&FormValue> {
        self.fields
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FormValue)> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every leaf as `(name, text)` with PHP's bracket names, unencoded, in the order
    /// they are sent: `("goal_vars[0][goal_id]", "1")`. What snapshots should show.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            value.flatten_into(name, &mut out);
        }
        out
    }

    /// The body, as `http_build_query` would write it (see the module docs).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.pairs() {
            if !out.is_empty() {
                out.push('&');
            }
            urlencode_into(&name, &mut out);
            out.push('=');
            urlencode_into(&value, &mut out);
        }
        out
    }
}

impl<K: Into<String>, V: Into<FormValue>> FromIterator<(K, V)> for Form {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut form = Form::new();
        for (name, value) in iter {
            form.set(name, value);
        }
        form
    }
}

/// PHP's `urlencode`: `[A-Za-z0-9_.-]` as is, space as `+`, other bytes `%XX`.
fn urlencode_into(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn the_seed_example_encodes_like_http_build_query() {
        // Seed 003's example request, as PHP 8 writes it with http_build_query.
        let form = Form::new()
            .with("name", "API TEST Offer")
            .with("url", "http://example.com/?id=%%click_hash%%")
            .with("preview_url", "http://example.com/")
            .with("authorized", "DE,ES")
            .with("advertiserid", 1u64)
            .with("advertiser_cost_type", "conversion")
            .with("advertiser_cost_flat", 20u64)
            .with("commission_type", 201u64)
            .with("flat_amount_per_conversion", 15u64)
            .with("flat_amount_per_continuity", 5u64);
        assert_eq!(
            form.encode(),
            "name=API+TEST+Offer&url=http%3A%2F%2Fexample.com%2F%3Fid%3D%25%25click_hash%25%25\
             &preview_url=http%3A%2F%2Fexample.com%2F&authorized=DE%2CES&advertiserid=1\
             &advertiser_cost_type=conversion&advertiser_cost_flat=20&commission_type=201\
             &flat_amount_per_conversion=15&flat_amount_per_continuity=5"
        );
    }

    #[test]
    fn arrays_get_indices_and_encoded_brackets() {
        let form = Form::new()
            .with("offerid", 400u64)
            .with(
                "goal_vars",
                FormValue::list([
                    FormValue::map([("goal_id", "1"), ("amount", "12.50")]),
                    FormValue::map([("offer_goal_id", "7")]),
                ]),
            )
            .with("authorized", vec!["US", "CA"]);
        assert_eq!(
            form.pairs(),
            [
                ("offerid", "400"),
                ("goal_vars[0][goal_id]", "1"),
                ("goal_vars[0][amount]", "12.50"),
                ("goal_vars[1][offer_goal_id]", "7"),
                ("authorized[0]", "US"),
                ("authorized[1]", "CA"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
        );
        assert_eq!(
            form.encode(),
            "offerid=400&goal_vars%5B0%5D%5Bgoal_id%5D=1&goal_vars%5B0%5D%5Bamount%5D=12.50\
             &goal_vars%5B1%5D%5Boffer_goal_id%5D=7&authorized%5B0%5D=US&authorized%5B1%5D=CA"
        );
    }

    #[test]
    fn empty_arrays_are_left_out_as_php_does() {
        let form = Form::new()
            .with("device_types", FormValue::List(Vec::new()))
            .with("name", "x")
            .with("targets", FormValue::Map(Vec::new()));
        assert_eq!(form.encode(), "name=x");
        assert_eq!(form.len(), 3);
    }

    #[test]
    fn escaping_covers_reserved_bytes_and_utf8() {
        let form = Form::new().with("a b&c=d", "x+y ~*'\u{e9}\n%");
        assert_eq!(form.encode(), "a+b%26c%3Dd=x%2By+%7E%2A%27%C3%A9%0A%25");
    }

    #[test]
    fn money_keeps_its_digits() {
        let amount = |text| FormValue::from(Decimal::from_str(text).unwrap());
        assert_eq!(amount("296.00"), FormValue::Text("296.00".into()));
        assert_eq!(amount("0.1"), FormValue::Text("0.1".into()));
        assert_eq!(
            amount("12345678901234567.89"),
            FormValue::Text("12345678901234567.89".into())
        );
        assert_eq!(amount("-0.00"), FormValue::Text("0.00".into()));
        // 0.1 + 0.2 as decimals is exactly 0.3 (as floats it would not be).
        let sum = Decimal::from_str("0.1").unwrap() + Decimal::from_str("0.2").unwrap();
        assert_eq!(FormValue::from(sum), FormValue::Text("0.3".into()));
    }

    #[test]
    fn setting_a_field_again_keeps_its_place() {
        let mut form = Form::new().with("a", "1").with("b", "2");
        form.set("a", true).set("c", false);
        assert_eq!(form.encode(), "a=1&b=2&c=0");
        form.set("a", "again");
        assert_eq!(form.encode(), "a=again&b=2&c=0");
        assert_eq!(form.get("b").and_then(FormValue::as_text), Some("2"));
        assert!(!form.contains("d"));
    }
}
