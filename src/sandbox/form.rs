//! Decoding `application/x-www-form-urlencoded` bodies the way PHP fills `$_POST`
//! (and `parse_str`), for the Offerit routes: bracket names build nested arrays.
//!
//! - `a=1&a=2`: the last one wins;
//! - `a[]=x&a[]=y`: appended with the next integer key (PHP's "next free element":
//!   one more than the largest integer key so far, or 0);
//! - `a[k][0]=v`: nested maps; brackets may be percent-encoded (`a%5B0%5D`), as
//!   `http_build_query` sends them;
//! - in the name before the first `[`, spaces and dots become `_`; a `[` without its
//!   `]` there becomes `_` too and the rest is part of the name (`a[b=1` is `a_b`);
//!   text after a closing `]` that does not open another `[` is ignored;
//! - a value assigned where an array was (or the reverse) replaces it in place;
//! - names are nested at most [`MAX_DEPTH`] brackets deep (PHP's
//!   `max_input_nesting_level`); deeper ones are dropped, as PHP drops them.
//!
//! A PHP array keeps its insertion order; so does [`FormMap`]. It is shown as JSON
//! the way `json_encode` shows a PHP array: a list when its keys are `0..n` in
//! order, an object otherwise.

use serde_json::{Map, Value};

/// PHP's default `max_input_nesting_level`.
pub(crate) const MAX_DEPTH: usize = 64;

/// One decoded value: text, or a PHP array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FormNode {
    Text(String),
    Map(FormMap),
}

impl FormNode {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FormNode::Text(text) => Some(text),
            FormNode::Map(_) => None,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            FormNode::Text(text) => Value::String(text.clone()),
            FormNode::Map(map) => map.to_json(),
        }
    }
}

/// A PHP array: keys in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FormMap(Vec<(String, FormNode)>);

impl FormMap {
    pub fn get(&self, key: &str) -> Option<&FormNode> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, keeping its place when it exists.
    pub fn insert(&mut self, key: String, value: FormNode) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<FormNode> {
        let index = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(index).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FormNode)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets every entry of `other` here (an edit's fields over the stored ones).
    pub fn merge(&mut self, other: FormMap) {
        for (key, value) in other.0 {
            self.insert(key, value);
        }
    }

    /// The key `[]` appends under: one more than the largest integer key, or 0.
    fn next_index(&self) -> String {
        self.0
            .iter()
            .filter_map(|(k, _)| integer_key(k))
            .max()
            .map_or(0, |max| max + 1)
            .to_string()
    }

    /// The child map under `key`, made (in place of any text) when it is not one.
    fn child_map(&mut self, key: String) -> &mut FormMap {
        let index = match self.0.iter().position(|(k, _)| *k == key) {
            Some(index) => {
                if !matches!(self.0[index].1, FormNode::Map(_)) {
                    self.0[index].1 = FormNode::Map(FormMap::default());
                }
                index
            }
            None => {
                self.0.push((key, FormNode::Map(FormMap::default())));
                self.0.len() - 1
            }
        };
        match &mut self.0[index].1 {
            FormNode::Map(map) => map,
            FormNode::Text(_) => unreachable!("made a map just above"),
        }
    }

    /// Like `json_encode`: a list when the keys are `0..n` in order, else an object.
    pub fn to_json(&self) -> Value {
        let is_list = self
            .0
            .iter()
            .enumerate()
            .all(|(index, (k, _))| integer_key(k) == Some(index as u64));
        if is_list && !self.0.is_empty() {
            Value::Array(self.0.iter().map(|(_, v)| v.to_json()).collect())
        } else {
            let map: Map<String, Value> = self
                .0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            Value::Object(map)
        }
    }
}

impl IntoIterator for FormMap {
    type Item = (String, FormNode);
    type IntoIter = std::vec::IntoIter<(String, FormNode)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A key PHP stores as an integer: a non-negative decimal without leading zeros.
fn integer_key(key: &str) -> Option<u64> {
    let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty());
    if canonical && key.bytes().all(|b| b.is_ascii_digit()) {
        key.parse().ok()
    } else {
        None
    }
}

/// Decodes a form body (see the module docs). Invalid UTF-8 becomes U+FFFD.
pub(crate) fn decode(body: &[u8]) -> FormMap {
    let mut root = FormMap::default();
    for (name, value) in url::form_urlencoded::parse(body) {
        if let Some((base, path)) = parse_name(&name) {
            assign(&mut root, base, &path, value.into_owned());
        }
    }
    root
}

/// The base name and the bracket path of a field name; `None` for a name PHP drops
/// (empty, or nested deeper than [`MAX_DEPTH`]). `None` in the path is `[]`.
fn parse_name(raw: &str) -> Option<(String, Vec<Option<String>>)> {
    let raw = raw.trim_start_matches(' ');
    let php_base = |text: &str| text.replace([' ', '.'], "_");
    let Some(open) = raw.find('[') else {
        return (!raw.is_empty()).then(|| (php_base(raw), Vec::new()));
    };
    if open == 0 {
        return None;
    }
    let mut path = Vec::new();
    let mut rest = &raw[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            if path.is_empty() {
                // `a[b=1`: the `[` becomes `_` and the rest is part of the name.
                let name = format!("{}_{}", php_base(&raw[..open]), inner);
                return Some((name, Vec::new()));
            }
            break;
        };
        let segment = &inner[..close];
        path.push((!segment.is_empty()).then(|| segment.to_owned()));
        if path.len() > MAX_DEPTH {
            return None;
        }
        rest = &inner[close + 1..];
    }
    Some((php_base(&raw[..open]), path))
}

fn assign(map: &mut FormMap, key: String, path: &[Option<String>], value: String) {
    match path.split_first() {
        None => map.insert(key, FormNode::Text(value)),
        Some((next, rest)) => {
            let child = map.child_map(key);
            let next = next.clone().unwrap_or_else(|| child.next_index());
            assign(child, next, rest, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;
    use crate::offerit::{Form, FormValue};

    fn json(body: &str) -> Value {
        decode(body.as_bytes()).to_json()
    }

    #[test]
    fn plain_fields_and_escapes() {
        assert_eq!(
            json("name=API+TEST+Offer&url=http%3A%2F%2Fx.test%2F%3Fid%3D%25%25click_hash%25%25&e="),
            json!({"name": "API TEST Offer", "url": "http://x.test/?id=%%click_hash%%", "e": ""})
        );
        assert_eq!(json("a=1&a=2"), json!({"a": "2"}));
        assert_eq!(json(""), json!({}));
        assert_eq!(json("novalue&=x"), json!({"novalue": ""}));
    }

    #[test]
    fn brackets_nest_raw_or_encoded() {
        assert_eq!(
            json(
                "goal_vars[0][goal_id]=1&goal_vars%5B0%5D%5Bamount%5D=2.50&goal_vars[1][goal_id]=3"
            ),
            json!({"goal_vars": [{"goal_id": "1", "amount": "2.50"}, {"goal_id": "3"}]})
        );
        assert_eq!(
            json("authorized[]=US&authorized[]=CA&targets[landing_pageids]=1,2,3"),
            json!({"authorized": ["US", "CA"], "targets": {"landing_pageids": "1,2,3"}})
        );
    }

    #[test]
    fn appends_follow_the_largest_integer_key() {
        assert_eq!(
            json("a[5]=x&a[]=y&a[k]=z&a[]=w"),
            json!({"a": {"5": "x", "6": "y", "k": "z", "7": "w"}})
        );
        // "05" is a string key in PHP, not 5.
        assert_eq!(json("a[05]=x&a[]=y"), json!({"a": {"05": "x", "0": "y"}}));
    }

    #[test]
    fn php_name_quirks() {
        assert_eq!(json("a.b c=1"), json!({"a_b_c": "1"}));
        assert_eq!(json("a[b=1"), json!({"a_b": "1"}));
        assert_eq!(json("a[b]c=1"), json!({"a": {"b": "1"}}));
        assert_eq!(json("a[b][c=1"), json!({"a": {"b": "1"}}));
        assert_eq!(json("[x]=1"), json!({}));
        assert_eq!(json("  a=1"), json!({"a": "1"}));
        // Text replaced by an array and back, in place.
        assert_eq!(json("a=1&b=2&a[x]=3"), json!({"a": {"x": "3"}, "b": "2"}));
        assert_eq!(json("a[x]=3&a=1"), json!({"a": "1"}));
        let deep = format!("a{}=1", "[x]".repeat(MAX_DEPTH + 1));
        assert_eq!(json(&deep), json!({}));
        let ok = format!("a{}=1", "[x]".repeat(MAX_DEPTH));
        assert!(json(&ok)["a"].is_object());
    }

    #[test]
    fn encoder_and_decoder_agree() {
        let amount = Decimal::from_str("296.10").unwrap();
        let form = Form::new()
            .with("name", "Spring & Co. 100% \"off\" é")
            .with(
                "url",
                "https://x.test/?uid=1&oid=2&affid=3&sub5=%%click_hash%%",
            )
            .with("flat_amount_per_conversion", amount)
            .with("authorized", vec!["US", "CA"])
            .with("hidden", false)
            .with(
                "goal_vars",
                FormValue::list([
                    FormValue::map([
                        ("goal_id", FormValue::from(1u64)),
                        ("amount", amount.into()),
                    ]),
                    FormValue::map([("goal_id", "2")]),
                ]),
            )
            .with("targets", FormValue::map([("a b", "x[y]"), ("0", "z")]));
        let decoded = decode(form.encode().as_bytes());
        assert_eq!(
            decoded.to_json(),
            json!({
                "name": "Spring & Co. 100% \"off\" é",
                "url": "https://x.test/?uid=1&oid=2&affid=3&sub5=%%click_hash%%",
                "flat_amount_per_conversion": "296.10",
                "authorized": ["US", "CA"],
                "hidden": "0",
                "goal_vars": [{"goal_id": "1", "amount": "296.10"}, {"goal_id": "2"}],
                "targets": {"a b": "x[y]", "0": "z"},
            })
        );
        let order: Vec<&str> = decoded.iter().map(|(k, _)| k).collect();
        assert_eq!(
            order,
            [
                "name",
                "url",
                "flat_amount_per_conversion",
                "authorized",
                "hidden",
                "goal_vars",
                "targets"
            ]
        );
    }
}
