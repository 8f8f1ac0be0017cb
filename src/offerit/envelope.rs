//! Offerit's response envelope, `{"result": ..., "message": ...}`, in every variant
//! its docs print (offerit-api-facts.md section 2, "Response envelope"):
//!
//! - `{"result":"Success","message":{...}}` (add_offer);
//! - `{"result":"success","message":"Offer expired."}` (pause_offer, activate_offer);
//! - `[{"result":"Success","message":{"loginid":"4003"}}]`, wrapped in an array
//!   (add_advertiser);
//! - `{"result":"error","data":"Invalid ip"}`, `data` instead of `message` (/config/*);
//! - `{"result":"error","message":"*error* - Void transaction exists."}`;
//! - `{"result":"Success",}`, with the trailing comma the set_offer_groups page prints.
//!
//! As the facts file recommends, `result` is compared case-insensitively and the
//! payload is `message` or else `data`, an object or a string. Ids in payloads are
//! strings in the samples (`"offerid":"400"`); numbers are read too.

use serde_json::{Map, Value};

/// What an envelope carries besides its result.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Neither `message` nor `data` (or both `null`).
    None,
    Text(String),
    Object(Map<String, Value>),
    /// Anything else (a number, a list such as `["All"]`).
    Other(Value),
}

/// One decoded answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// `result` as sent (`Success`, `success`, `error`, ...).
    pub result: String,
    pub payload: Payload,
}

impl Envelope {
    /// Reads an answer body. `Err` says, on one line, why it is not an envelope.
    pub fn parse(body: &[u8]) -> Result<Envelope, String> {
        let value = match serde_json::from_slice::<Value>(body) {
            Ok(value) => value,
            Err(error) => {
                // `{"result":"Success",}` is printed that way in the docs; a PHP backend
                // that builds its JSON by hand may really send it.
                let text = String::from_utf8_lossy(body);
                serde_json::from_str::<Value>(&without_trailing_commas(&text))
                    .map_err(|_| format!("not JSON ({error})"))?
            }
        };
        let object = match value {
            Value::Object(object) => object,
            Value::Array(mut items) if items.len() == 1 => match items.pop() {
                Some(Value::Object(object)) => object,
                _ => return Err("a list that does not hold an object".to_owned()),
            },
            Value::Array(items) => {
                return Err(format!(
                    "a list of {} items where one envelope was expected",
                    items.len()
                ));
            }
            _ => return Err("not an object".to_owned()),
        };
        let result = match object.get("result") {
            Some(Value::String(result)) => result.clone(),
            Some(_) => return Err("`result` is not a string".to_owned()),
            None => return Err("no `result`".to_owned()),
        };
        let payload = match ["message", "data"]
            .iter()
            .find_map(|key| object.get(*key).filter(|value| !value.is_null()))
        {
            None => Payload::None,
            Some(Value::String(text)) => Payload::Text(text.clone()),
            Some(Value::Object(map)) => Payload::Object(map.clone()),
            Some(other) => Payload::Other(other.clone()),
        };
        Ok(Envelope { result, payload })
    }

    /// Whether `result` is `success` in any case.
    pub fn is_success(&self) -> bool {
        self.result.trim().eq_ignore_ascii_case("success")
    }

    /// The payload as text for a message: the string itself, or compact JSON.
    pub fn message(&self) -> String {
        match &self.payload {
            Payload::None => String::new(),
            Payload::Text(text) => text.clone(),
            Payload::Object(map) => Value::Object(map.clone()).to_string(),
            Payload::Other(value) => value.to_string(),
        }
    }

    /// A positive integer id in an object payload, written as a string (`"400"`) or a
    /// number.
    pub fn id(&self, key: &str) -> Result<u64, String> {
        let Payload::Object(map) = &self.payload else {
            return Err(format!("no `{key}`: the message is not an object"));
        };
        let parsed = match map.get(key) {
            None | Some(Value::Null) => return Err(format!("no `{key}` in the message")),
            Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
            Some(Value::Number(number)) => number.as_u64(),
            Some(_) => None,
        };
        match parsed {
            Some(id) if id > 0 => Ok(id),
            _ => Err(format!(
                "`{key}` is not a positive integer: {}",
                crate::text::shown(&map[key].to_string())
            )),
        }
    }
}

/// `text` without commas that directly precede a `}` or `]` (outside strings).
fn without_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let rest = text[index + 1..].trim_start();
            if rest.starts_with('}') || rest.starts_with(']') {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Envelope {
        Envelope::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn add_offer_success_with_string_ids() {
        let envelope =
            parse(r#"{"result":"Success","message":{"landing_pageid":"432","offerid":"400"}}"#);
        assert!(envelope.is_success());
        assert_eq!(envelope.id("offerid"), Ok(400));
        assert_eq!(envelope.id("landing_pageid"), Ok(432));
    }

    #[test]
    fn lowercase_success_with_a_string_message() {
        let envelope = parse(r#"{"result":"success","message":"Offer expired."}"#);
        assert!(envelope.is_success());
        assert_eq!(envelope.payload, Payload::Text("Offer expired.".into()));
        assert_eq!(envelope.message(), "Offer expired.");
        assert!(
            envelope
                .id("offerid")
                .unwrap_err()
                .contains("not an object")
        );
    }

    #[test]
    fn array_wrapped_envelope() {
        let envelope = parse(r#"[{"result":"Success","message":{"loginid":"4003"}}]"#);
        assert!(envelope.is_success());
        assert_eq!(envelope.id("loginid"), Ok(4003));
    }

    #[test]
    fn data_instead_of_message() {
        let envelope = parse(r#"{"result":"error","data":"Invalid ip"}"#);
        assert!(!envelope.is_success());
        assert_eq!(envelope.message(), "Invalid ip");
        let envelope = parse(r#"{"result":"Success","data":{"offerid":7}}"#);
        assert_eq!(envelope.id("offerid"), Ok(7));
        // `message` wins when both are there.
        let envelope = parse(r#"{"result":"error","message":"m","data":"d"}"#);
        assert_eq!(envelope.message(), "m");
    }

    #[test]
    fn error_with_a_message() {
        let envelope =
            parse(r#"{"result":"error","message":"*error* - Void transaction exists."}"#);
        assert!(!envelope.is_success());
        assert_eq!(envelope.message(), "*error* - Void transaction exists.");
        // Any case of anything but success is not a success.
        assert!(!parse(r#"{"result":"Error","message":"x"}"#).is_success());
        assert!(!parse(r#"{"result":"failure"}"#).is_success());
        assert!(parse(r#"{"result":"SUCCESS"}"#).is_success());
    }

    #[test]
    fn success_with_the_printed_trailing_comma() {
        let envelope = parse(r#"{"result":"Success",}"#);
        assert!(envelope.is_success());
        assert_eq!(envelope.payload, Payload::None);
        // A comma inside a string is text, not JSON.
        let envelope = parse(r#"{"result":"error","message":"a,}",}"#);
        assert_eq!(envelope.message(), "a,}");
    }

    #[test]
    fn other_payloads_and_ids() {
        let envelope = parse(r#"{"result":"Success","message":["All"]}"#);
        assert_eq!(envelope.payload, Payload::Other(json!(["All"])));
        assert_eq!(envelope.message(), r#"["All"]"#);
        let envelope = parse(r#"{"result":"Success","message":{"offerid":"0","x":"abc"}}"#);
        assert!(
            envelope
                .id("offerid")
                .unwrap_err()
                .contains("positive integer")
        );
        assert!(envelope.id("x").is_err());
        assert!(envelope.id("missing").unwrap_err().contains("no `missing`"));
    }

    #[test]
    fn what_is_not_an_envelope() {
        for (body, why) in [
            ("", "not JSON"),
            ("<html>oops</html>", "not JSON"),
            // The edit_affiliate sample, as printed: not JSON either.
            (r#"[ { "result":"Success"," } ]"#, "not JSON"),
            ("[]", "a list of 0 items"),
            ("[1]", "does not hold an object"),
            (r#"{"message":"x"}"#, "no `result`"),
            (r#"{"result":true}"#, "not a string"),
            ("42", "not an object"),
        ] {
            let error = Envelope::parse(body.as_bytes()).unwrap_err();
            assert!(error.contains(why), "{body}: {error}");
        }
    }
}
