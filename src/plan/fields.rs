//! Managed fields as a flat, ordered list of `(path, value)`, the common ground on which
//! what offersync wants and what the destination holds are compared.
//!
//! Paths read like the API: `name`, `events["Base"].payout_amount`. Values compare by
//! meaning (280 equals 280.00) and fingerprint the same way, so a server that formats a
//! number differently never causes a diff.

use std::fmt;

use litemap::LiteMap;
use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
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
    pub fn fingerprint(value: Option<&FieldValue>) -> Fingerprint {
        let (kind, text): (&str, std::borrow::Cow<'_, str>) = match value {
            None => ("absent", "".into()),
            Some(FieldValue::Text(text)) => ("text:", text.into()),
            Some(FieldValue::Symbol(text)) => ("symbol:", text.into()),
            Some(FieldValue::Money(amount)) => ("money:", amount.normalize().to_string().into()),
            Some(FieldValue::Percent(amount)) => {
                ("percent:", amount.normalize().to_string().into())
            }
            Some(FieldValue::Id(id)) => ("id:", id.to_string().into()),
            Some(FieldValue::Bool(flag)) => ("bool:", flag.to_string().into()),
            Some(FieldValue::Secret(digest)) => ("secret:", digest.into()),
        };
        Fingerprint::of_parts(&[kind.as_bytes(), text.as_bytes()])
    }

    pub fn is_multiline(&self) -> bool {
        matches!(self, FieldValue::Text(text) if text.contains('\n'))
    }

    /// The value as state records it, for a destination that cannot show it back: text
    /// as it is, numbers with their exact digits. Never a secret (its digest stands in).
    pub fn recorded(&self) -> String {
        match self {
            FieldValue::Text(text) | FieldValue::Symbol(text) | FieldValue::Secret(text) => {
                text.clone()
            }
            FieldValue::Money(amount) | FieldValue::Percent(amount) => {
                amount.normalize().to_string()
            }
            FieldValue::Id(id) => id.to_string(),
            FieldValue::Bool(flag) => flag.to_string(),
        }
    }

    /// A recorded value read back with the type of `like` (the value wanted now), so
    /// that a plan shows `280.00 -> 296.00` as money, and guards compare amounts.
    /// Text that does not parse as that type, or with nothing to go by, stays a symbol.
    pub fn from_recorded(like: Option<&FieldValue>, text: &str) -> FieldValue {
        let parsed = match like {
            Some(FieldValue::Text(_)) => Some(FieldValue::Text(text.to_owned())),
            Some(FieldValue::Money(_)) => text.parse().ok().map(FieldValue::Money),
            Some(FieldValue::Percent(_)) => text.parse().ok().map(FieldValue::Percent),
            Some(FieldValue::Id(_)) => text.parse().ok().map(FieldValue::Id),
            Some(FieldValue::Bool(_)) => text.parse().ok().map(FieldValue::Bool),
            Some(FieldValue::Symbol(_) | FieldValue::Secret(_)) | None => None,
        };
        parsed.unwrap_or_else(|| FieldValue::Symbol(text.to_owned()))
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

/// A short, stable digest: the first 8 bytes of a SHA-256, written as 16 hex digits
/// (which is how `state.json` and the plan files hold it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 8]);

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_parts(&[bytes])
    }

    /// The fingerprint of the parts written one after the other.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&digest[..8]);
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "expected a fingerprint of 16 hex digits, got `{}`",
                text.escape_debug()
            )
        };
        if text.len() != 16 {
            return Err(invalid());
        }
        let mut bytes = [0; 8];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Self(bytes))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Fingerprint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fingerprint of 16 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Fingerprint, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The first 16 hex digits of a SHA-256.
pub fn short_hash(bytes: &[u8]) -> String {
    Fingerprint::of(bytes).to_string()
}

/// Fingerprint per field path.
pub fn field_fingerprints(fields: &Fields) -> LiteMap<String, Fingerprint> {
    fields
        .iter()
        .map(|(path, value)| (path.clone(), FieldValue::fingerprint(Some(value))))
        .collect()
}

/// One fingerprint for a whole set of field fingerprints.
pub fn combined_fingerprint(fingerprints: &LiteMap<String, Fingerprint>) -> Fingerprint {
    let text: String = fingerprints
        .iter()
        .map(|(path, fingerprint)| format!("{path}={fingerprint}\n"))
        .collect();
    Fingerprint::of(text.as_bytes())
}

pub type Fields = Vec<(String, FieldValue)>;

/// The path of one event field.
pub fn event_path(entry_name: &str, field: &str) -> String {
    format!("events[{entry_name:?}].{field}")
}

/// The path of one field of an Offerit goal, by its source event's name.
pub fn goal_path(entry_name: &str, field: &str) -> String {
    format!("goals[{entry_name:?}].{field}")
}

/// Whether a field holds what affiliates are paid, in any destination: iScale's
/// `payout_amount` and `payout_percentage` (of events and rules), Offerit's commission
/// fields and goal amounts. Guards watch these.
pub fn is_payout_field(path: &str) -> bool {
    const OFFERIT: [&str; 3] = [
        "flat_amount_per_conversion",
        "percentage_of_customer_conversion",
        "flat_amount_per_click",
    ];
    path.ends_with("payout_amount")
        || path.ends_with("payout_percentage")
        || OFFERIT.contains(&path)
        || (path.starts_with("goals[") && path.ends_with("].amount"))
}

/// Whether a field holds what the source pays, in any destination: iScale's
/// `revenue_amount` and `revenue_percentage`, Offerit's `advertiser_cost_flat` and goal
/// revenue amounts.
pub fn is_revenue_field(path: &str) -> bool {
    path.ends_with("revenue_amount")
        || path.ends_with("revenue_percentage")
        || path == "advertiser_cost_flat"
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
    fn fingerprints_are_the_ones_state_files_hold() {
        // The first 16 hex digits of SHA-256("text:TrimRx") etc., as written by every
        // earlier version: a change here would make every applied field look changed.
        let cases = [
            (Some(FieldValue::Text("TrimRx".into())), "68972703bacc4a5f"),
            (None, "5ad38304b535c298"),
            (
                Some(FieldValue::Money(Decimal::from_str("280.00").unwrap())),
                "920d3013d794c7f5",
            ),
            (Some(FieldValue::Id(7)), "cbf7819ddb9b7672"),
        ];
        for (value, hex) in cases {
            let fingerprint = FieldValue::fingerprint(value.as_ref());
            assert_eq!(fingerprint.to_string(), hex);
            assert_eq!(Fingerprint::from_str(hex), Ok(fingerprint));
            assert_eq!(
                serde_json::to_string(&fingerprint).unwrap(),
                format!("\"{hex}\"")
            );
        }
    }

    #[test]
    fn a_fingerprint_is_16_hex_digits() {
        for bad in [
            "",
            "68972703bacc4a5",
            "68972703bacc4a5fa",
            "68972703bacc4a5g",
            "689727é3bacc4a5f",
        ] {
            let error = Fingerprint::from_str(bad).unwrap_err();
            assert!(
                error.starts_with("expected a fingerprint of 16 hex digits"),
                "{error}"
            );
        }
        let error = serde_json::from_str::<Fingerprint>("\"zz\"").unwrap_err();
        assert!(error.to_string().contains("16 hex digits"), "{error}");
    }

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
    fn recorded_values_read_back_as_what_is_wanted() {
        let money = FieldValue::Money(Decimal::from_str("296.00").unwrap());
        assert_eq!(money.recorded(), "296");
        assert_eq!(
            FieldValue::from_recorded(Some(&money), "280"),
            FieldValue::Money(Decimal::from(280))
        );
        let text = FieldValue::Text("a\nb".into());
        assert_eq!(
            FieldValue::from_recorded(Some(&text), &text.recorded()),
            text
        );
        assert_eq!(
            FieldValue::from_recorded(Some(&FieldValue::Id(1)), "x"),
            FieldValue::Symbol("x".into())
        );
        assert_eq!(
            FieldValue::from_recorded(None, "paused"),
            FieldValue::Symbol("paused".into())
        );
    }

    #[test]
    fn payout_fields_of_every_destination() {
        for path in [
            r#"events["Base"].payout_amount"#,
            "payout_percentage",
            "flat_amount_per_conversion",
            r#"goals["Upsell"].amount"#,
        ] {
            assert!(is_payout_field(path), "{path}");
        }
        for path in [
            "advertiser_cost_flat",
            r#"goals["Upsell"].revenue_amount"#,
            "name",
        ] {
            assert!(!is_payout_field(path), "{path}");
        }
        for path in [
            "advertiser_cost_flat",
            r#"goals["Upsell"].revenue_amount"#,
            "revenue_amount",
        ] {
            assert!(is_revenue_field(path), "{path}");
        }
        assert!(!is_revenue_field("flat_amount_per_conversion"));
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
