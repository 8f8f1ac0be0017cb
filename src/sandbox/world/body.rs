//! Reading a JSON request body field by field, with the messages every sandbox
//! route uses (`name is required`, `is_private must be a boolean`): shared by
//! offer URLs, creatives and custom payout/revenue settings.
//!
//! "Required" follows the documented required lists: a missing or `null` key is
//! missing, and so is a blank string or an id of 0 (proto3 empties), but `false`
//! and `[]` are values.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::super::error::ApiError;
use super::super::money;

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message)
}

/// A request body being read; unknown keys were refused when it was made.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Fields<'a> {
    /// The body as an object (no body = `{}`), refusing keys not in `known`.
    pub fn new(body: Option<&'a Value>, known: &[&str]) -> Result<Fields<'a>, ApiError> {
        let obj = match body {
            None | Some(Value::Null) => &*EMPTY,
            Some(Value::Object(o)) => o,
            Some(_) => return Err(bad("request body must be a json object".into())),
        };
        if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(bad(format!("unknown field {k}")));
        }
        Ok(Fields { obj })
    }

    /// The value of `k`, `None` when absent or `null`.
    pub fn get(&self, k: &str) -> Option<&'a Value> {
        self.obj.get(k).filter(|v| !v.is_null())
    }

    /// A required positive integer id.
    pub fn id(&self, k: &str) -> Result<u64, ApiError> {
        match self.opt_u64(k)? {
            Some(id) if id > 0 => Ok(id),
            _ => Err(bad(format!("{k} is required"))),
        }
    }

    /// A non-negative integer when present.
    pub fn opt_u64(&self, k: &str) -> Result<Option<u64>, ApiError> {
        self.get(k)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| bad(format!("{k} must be a non-negative integer")))
            })
            .transpose()
    }

    /// A string, `""` when absent.
    pub fn opt_text(&self, k: &str) -> Result<String, ApiError> {
        match self.get(k) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(bad(format!("{k} must be a string"))),
        }
    }

    /// A required, non-blank string.
    pub fn text(&self, k: &str) -> Result<String, ApiError> {
        let s = self.opt_text(k)?;
        if s.trim().is_empty() {
            return Err(bad(format!("{k} is required")));
        }
        Ok(s)
    }

    /// A boolean, `None` when absent.
    pub fn opt_flag(&self, k: &str) -> Result<Option<bool>, ApiError> {
        self.get(k)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| bad(format!("{k} must be a boolean")))
            })
            .transpose()
    }

    /// A required boolean (`false` counts as given).
    pub fn flag(&self, k: &str) -> Result<bool, ApiError> {
        self.opt_flag(k)?
            .ok_or_else(|| bad(format!("{k} is required")))
    }

    /// A required value from `list`.
    pub fn choice(&self, k: &str, list: &[&str]) -> Result<String, ApiError> {
        let s = self.text(k)?;
        if list.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(bad(format!("{k} must be one of {}", list.join(", "))))
        }
    }

    /// A value from `list`, `default` when absent.
    pub fn opt_choice(&self, k: &str, list: &[&str], default: &str) -> Result<String, ApiError> {
        if self.get(k).is_none() {
            return Ok(default.to_owned());
        }
        self.choice(k, list)
    }

    /// An array of distinct positive integers, `[]` when absent.
    pub fn opt_ids(&self, k: &str) -> Result<Vec<u64>, ApiError> {
        let Some(v) = self.get(k) else {
            return Ok(Vec::new());
        };
        let ids = v
            .as_array()
            .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
            .filter(|ids| ids.iter().all(|id| *id > 0))
            .ok_or_else(|| bad(format!("{k} must be an array of positive integers")))?;
        if let Some((_, id)) = ids
            .iter()
            .enumerate()
            .find(|(i, id)| ids[..*i].contains(id))
        {
            return Err(bad(format!("{k} lists {id} twice")));
        }
        Ok(ids)
    }

    /// A required array of positive integers (`[]` counts as given).
    pub fn ids(&self, k: &str) -> Result<Vec<u64>, ApiError> {
        if self.get(k).is_none() {
            return Err(bad(format!("{k} is required")));
        }
        self.opt_ids(k)
    }

    /// A non-negative amount, 0 when absent; exact (see `money.rs`).
    pub fn money(&self, k: &str) -> Result<Decimal, ApiError> {
        match self.get(k) {
            None => Ok(Decimal::ZERO),
            Some(v) => match money::parse(v) {
                Some(d) if d >= Decimal::ZERO => Ok(d.normalize()),
                _ => Err(bad(format!("{k} must be a non-negative number"))),
            },
        }
    }

    /// An absolute http(s) URL; `""` allowed (and the default) unless `required`.
    pub fn url(&self, k: &str, required: bool) -> Result<String, ApiError> {
        let s = if required {
            self.text(k)?
        } else {
            self.opt_text(k)?
        };
        if s.is_empty() || s.starts_with("https://") || s.starts_with("http://") {
            Ok(s)
        } else {
            Err(bad(format!("{k} must be an absolute http or https url")))
        }
    }

    /// Output-only `id_key` of a PUT body: absent, or equal to the path's id.
    pub fn same_id(&self, id_key: &str, path_id: u64) -> Result<(), ApiError> {
        match self.opt_u64(id_key)? {
            None => Ok(()),
            Some(sent) if sent == path_id => Ok(()),
            Some(sent) => Err(bad(format!(
                "{id_key} {sent} does not match the id in the path ({path_id})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_means_present_and_not_blank() {
        let body = json!({"a": "", "b": false, "c": 0, "d": null, "e": [], "f": "x"});
        let f = Fields::new(Some(&body), &["a", "b", "c", "d", "e", "f", "g"]).unwrap();
        assert_eq!(f.text("a").unwrap_err().message, "a is required");
        assert!(!f.flag("b").unwrap());
        assert_eq!(f.id("c").unwrap_err().message, "c is required");
        assert_eq!(f.flag("d").unwrap_err().message, "d is required");
        assert_eq!(f.ids("e").unwrap(), Vec::<u64>::new());
        assert_eq!(f.ids("g").unwrap_err().message, "g is required");
        assert_eq!(f.text("f").unwrap(), "x");
        assert_eq!(f.flag("f").unwrap_err().message, "f must be a boolean");
        assert!(Fields::new(Some(&body), &["a"]).is_err());
        assert!(Fields::new(Some(&json!([1])), &[]).is_err());
    }

    #[test]
    fn lists_urls_and_money() {
        let body = json!({"ids": [3, 3], "neg": [-1], "u": "ftp://x", "m": 1.50, "n": -2});
        let f = Fields::new(Some(&body), &["ids", "neg", "u", "m", "n"]).unwrap();
        assert_eq!(f.opt_ids("ids").unwrap_err().message, "ids lists 3 twice");
        assert!(f.opt_ids("neg").is_err());
        assert!(f.url("u", false).is_err());
        assert_eq!(f.money("m").unwrap().to_string(), "1.5");
        assert!(f.money("n").is_err());
        assert_eq!(f.money("absent").unwrap(), Decimal::ZERO);
        assert!(f.same_id("m", 1).is_err());
    }
}
