//! Managed fields as a flat, ordered list of `(path, value)`, the common ground on which
//! what offersync wants and what the destination holds are compared.
//!
//! Paths read like the API: `name`, `events["Base"].payout_amount`. Values compare by
//! meaning (280 equals 280.00) and fingerprint the same way, so a server that formats a
//! number differently never causes a diff.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::money::format_amount;

/// How a secret reads wherever it is shown.
pub const MASK: &str = "********";

/// One managed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    /// An enum value or an id: shown bare.
    Symbol(String),
    Money(Decimal),
    Percent(Decimal),
    Id(u64),
    Bool(bool),
    /// A secret, by its keyed digest (`SecretHasher`): compared and fingerprinted by
    /// that, always shown masked.
    Secret(String),
}

impl FieldValue {
    /// A short, stable fingerprint of the value's meaning.
    pub fn fingerprint(value: Option<&FieldValue>) -> String {
        let canonical = match value {
            None => "absent".to_owned(),
            Some(FieldValue::Text(text)) => format!("text:{text}"),
            Some(FieldValue::Symbol(text)) => format!("symbol:{text}"),
            Some(FieldValue::Money(amount)) => format!("money:{}", amount.normalize()),
            Some(FieldValue::Percent(amount)) => format!("percent:{}", amount.normalize()),
            Some(FieldValue::Id(id)) => format!("id:{id}"),
            Some(FieldValue::Bool(flag)) => format!("bool:{flag}"),
            Some(FieldValue::Secret(digest)) => format!("secret:{digest}"),
        };
        short_hash(canonical.as_bytes())
    }

    pub fn is_multiline(&self) -> bool {
        matches!(self, FieldValue::Text(text) if text.contains('\n'))
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(text) => write!(f, "{text:?}"),
            FieldValue::Symbol(text) => f.write_str(text),
            FieldValue::Money(amount) => f.write_str(&format_amount(*amount)),
            FieldValue::Percent(amount) => write!(f, "{}%", format_amount(*amount)),
            FieldValue::Id(id) => write!(f, "{id}"),
            FieldValue::Bool(flag) => write!(f, "{flag}"),
            FieldValue::Secret(_) => f.write_str(MASK),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Text(text) | FieldValue::Symbol(text) => serializer.serialize_str(text),
            FieldValue::Money(amount) | FieldValue::Percent(amount) => {
                Serialize::serialize(&amount.normalize(), serializer)
            }
            FieldValue::Id(id) => serializer.serialize_u64(*id),
            FieldValue::Bool(flag) => serializer.serialize_bool(*flag),
            FieldValue::Secret(_) => serializer.serialize_str(MASK),
        }
    }
}

impl JsonSchema for FieldValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FieldValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A managed value. A string: text, an enum value (`cpa`, `active`, `include`), a URL, or `********` for a secret (always masked). A number: an id, or money and percentages with their exact decimal digits (`26.66` means 26.66%; parse them as decimals, not floats). A boolean.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// The first 16 hex digits of a SHA-256.
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Fingerprint per field path.
pub fn field_fingerprints(fields: &Fields) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(path, value)| (path.clone(), FieldValue::fingerprint(Some(value))))
        .collect()
}

/// One fingerprint for a whole set of field fingerprints.
pub fn combined_fingerprint(fingerprints: &BTreeMap<String, String>) -> String {
    let text: String = fingerprints
        .iter()
        .map(|(path, fingerprint)| format!("{path}={fingerprint}\n"))
        .collect();
    short_hash(text.as_bytes())
}

pub type Fields = Vec<(String, FieldValue)>;

/// The path of one event field.
pub fn event_path(entry_name: &str, field: &str) -> String {
    format!("events[{entry_name:?}].{field}")
}

/// The entry name in an event path, if it is one.
pub fn event_of(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("events[\"")?;
    let close = rest.find("\"].")?;
    Some((&rest[..close], &rest[close + 3..]))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn money_fingerprints_ignore_scale() {
        let a = FieldValue::Money(Decimal::from_str("280.00").unwrap());
        let b = FieldValue::Money(Decimal::from(280));
        assert_eq!(a, b);
        assert_eq!(
            FieldValue::fingerprint(Some(&a)),
            FieldValue::fingerprint(Some(&b))
        );
        assert_ne!(
            FieldValue::fingerprint(Some(&a)),
            FieldValue::fingerprint(Some(&FieldValue::Percent(Decimal::from(280))))
        );
        assert_ne!(
            FieldValue::fingerprint(None),
            FieldValue::fingerprint(Some(&a))
        );
    }

    #[test]
    fn event_paths_round_trip() {
        let path = event_path("Upsell \"VIP\"", "payout_amount");
        assert_eq!(path, r#"events["Upsell \"VIP\""].payout_amount"#);
        assert_eq!(
            event_of(r#"events["Base"].payout_amount"#),
            Some(("Base", "payout_amount"))
        );
        assert_eq!(event_of("name"), None);
    }
}
