//! Money in JSON: exact decimals in, JSON numbers out.
//!
//! `rust_decimal` serializes a `Decimal` as a JSON *string* unless `serde-float`
//! is on, and Everflow sends numbers, so the sandbox converts by hand. Output is
//! normalized (`350`, `120.5`, `26.66`) the way Everflow's Go backend prints a
//! float64, so a client that echoes `350.00` must compare as decimals, not text.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Number, Value};

/// Reads a JSON number exactly. `None` for anything that is not a number.
pub(crate) fn parse(value: &Value) -> Option<Decimal> {
    let Value::Number(n) = value else {
        return None;
    };
    // With serde_json's arbitrary_precision (turned on by rust_decimal's
    // serde-arbitrary-precision feature) `as_str` is the number as written.
    let text = n.as_str();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// Writes a decimal as a JSON number without trailing zeros.
pub(crate) fn to_json(d: Decimal) -> Value {
    let text = d.normalize().to_string();
    Number::from_str(&text).map_or(Value::String(text), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_the_written_digits() {
        let v: Value = serde_json::from_str("33.33").unwrap();
        assert_eq!(parse(&v), Some(Decimal::new(3333, 2)));
        let v: Value = serde_json::from_str("1e2").unwrap();
        assert_eq!(parse(&v), Some(Decimal::from(100)));
        assert_eq!(parse(&Value::String("5".into())), None);
    }

    #[test]
    fn to_json_is_a_normalized_number() {
        assert_eq!(to_json(Decimal::new(35000, 2)).to_string(), "350");
        assert_eq!(to_json(Decimal::new(12050, 2)).to_string(), "120.5");
        assert_eq!(to_json(Decimal::new(2666, 2)).to_string(), "26.66");
        assert!(to_json(Decimal::ZERO).is_number());
    }
}
