//! Exact money and the margin rule (DESIGN section 5 item 2).
//!
//! Amounts are `rust_decimal::Decimal`, parsed from the exact text of JSON numbers
//! (serde_json's arbitrary precision), never from `f64`. What we pay affiliates is the
//! source payout times `1 - margin`, rounded DOWN to the cent: rounding up would pay out
//! more than the margin allows.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The share of each payout the operator keeps: `0 <= margin < 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Margin(Decimal);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarginError {
    #[error("expected a decimal number such as 0.20, got `{0}`")]
    NotANumber(String),
    #[error("must be at least 0 and less than 1, got {0}")]
    OutOfRange(Decimal),
}

impl Margin {
    pub const DEFAULT: Margin = Margin(Decimal::from_parts(20, 0, 0, false, 2));

    pub fn new(value: Decimal) -> Result<Self, MarginError> {
        if value < Decimal::ZERO || value >= Decimal::ONE {
            return Err(MarginError::OutOfRange(value));
        }
        Ok(Self(value.normalize()))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// What affiliates are paid for a source amount: `amount x (1 - margin)`, rounded down
    /// to two decimals. The same rule serves flat amounts and percentages.
    pub fn apply(self, amount: Decimal) -> Decimal {
        round_down_cents(amount * (Decimal::ONE - self.0))
    }
}

impl Default for Margin {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for Margin {
    type Err = MarginError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = Decimal::from_str(text.trim())
            .map_err(|_| MarginError::NotANumber(crate::text::shown(text.trim())))?;
        Self::new(value)
    }
}

impl fmt::Display for Margin {
    /// `0.20`, `0.125`: at least two decimals, and every one the margin has.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_amount(self.0))
    }
}

impl Serialize for Margin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Serialize::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Margin {
    /// YAML gives `0.20` as a float: its shortest round-trip text is the number the
    /// operator wrote, so going through that text is exact for any margin a person types.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Margin;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a margin between 0 and 1, such as 0.20")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Margin, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Margin, E> {
                Margin::new(Decimal::from(v)).map_err(|e| E::custom(format!("margin {e}")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Margin, E> {
                Margin::new(Decimal::from(v)).map_err(|e| E::custom(format!("margin {e}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Margin, E> {
                v.parse().map_err(|e| E::custom(format!("margin {e}")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Margin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Margin".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Share of each source payout the operator keeps: payout = source x (1 - margin), rounded down to the cent.",
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1
        })
    }
}

/// Rounds a non-negative amount down to the cent.
pub fn round_down_cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

/// Formats an amount as people read money, with two decimals (`280.00`), and exactly:
/// an amount with more decimals shows them all (`12.345`), so that two amounts that
/// differ never read the same.
pub fn format_amount(amount: Decimal) -> String {
    let amount = amount.normalize();
    if amount.scale() <= 2 {
        format!("{amount:.2}")
    } else {
        amount.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn design_examples_of_the_margin_rule() {
        let m20: Margin = "0.20".parse().unwrap();
        assert_eq!(m20.apply(dec("350")), dec("280"));
        assert_eq!(m20.apply(dec("120.50")), dec("96.40"));
        let m15: Margin = "0.15".parse().unwrap();
        // 99.99 x 0.85 = 84.9915: rounded down, never up.
        assert_eq!(m15.apply(dec("99.99")), dec("84.99"));
        // Percentages follow the same rule: 33.33% at 0.20 -> 26.664% -> 26.66%.
        assert_eq!(m20.apply(dec("33.33")), dec("26.66"));
    }

    #[test]
    fn margin_bounds() {
        assert!("0".parse::<Margin>().is_ok());
        assert!("0.999".parse::<Margin>().is_ok());
        assert_eq!(
            "1".parse::<Margin>(),
            Err(MarginError::OutOfRange(Decimal::ONE))
        );
        assert!(matches!(
            "-0.1".parse::<Margin>(),
            Err(MarginError::OutOfRange(_))
        ));
        assert!(matches!(
            "abc".parse::<Margin>(),
            Err(MarginError::NotANumber(_))
        ));
    }

    #[test]
    fn yaml_float_margin_is_exact() {
        let margin: Margin = serde_yaml::from_str("0.15").unwrap();
        assert_eq!(margin.value(), dec("0.15"));
        assert_eq!(margin.apply(dec("99.99")), dec("84.99"));
    }

    #[test]
    fn amounts_read_with_two_decimals_or_all_they_have() {
        assert_eq!(format_amount(dec("280")), "280.00");
        assert_eq!(format_amount(dec("96.4")), "96.40");
        assert_eq!(format_amount(dec("84.9900")), "84.99");
        assert_eq!(format_amount(dec("12.345")), "12.345");
        assert_eq!(format_amount(dec("0.005")), "0.005");
        assert_eq!(format_amount(dec("-1.5")), "-1.50");
        assert_ne!(format_amount(dec("12.345")), format_amount(dec("12.34")));
        assert_eq!(Margin::default().to_string(), "0.20");
        assert_eq!("0.125".parse::<Margin>().unwrap().to_string(), "0.125");
    }

    #[test]
    fn default_margin_is_twenty_percent() {
        assert_eq!(Margin::default().value(), dec("0.20"));
    }
}
