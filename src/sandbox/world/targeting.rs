//! Geo targeting of destination offers: the country and region rules written
//! by the bulk PATCH (`ruleset_countries`, `ruleset_regions`) and by ISCALE's
//! `PUT /v1/networks/offers/{id}/targeting`, and the countries the sandbox
//! knows by id.
//!
//! Quirk kept on purpose (ISCALE: the PATCH "returns true but GET may still
//! show null targeting"; DESIGN.md 6): what is stored here is never shown by
//! `GET /v1/networks/offers/{id}`. Tests read it with
//! [`super::super::Sandbox::destination_targeting`].

use serde_json::{Map, Value, json};

use super::super::error::ApiError;

/// Countries whose ids appear in a document: AD and CW in the LEGACY
/// metadata/countries sample, US in the rulesets example, CA and PR in ISCALE.
/// Everflow has about 250; no public copy of the table exists, so the sandbox
/// lists only these and does not refuse other ids.
pub(crate) const KNOWN_COUNTRIES: &[(u64, &str, &str)] = &[
    (1, "AD", "Andorra"),
    (39, "CA", "Canada"),
    (177, "PR", "Puerto Rico"),
    (227, "US", "United States"),
    (246, "CW", "Curacao"),
];

/// Regions whose ids appear in a document (ISCALE).
const KNOWN_REGIONS: &[(u64, &str)] = &[(1420, "LA"), (1501, "MS")];

/// The stored targeting of one offer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Targeting {
    pub countries: Vec<Value>,
    pub regions: Vec<Value>,
}

impl Targeting {
    pub fn list_mut(&mut self, geo: Geo) -> &mut Vec<Value> {
        match geo {
            Geo::Country => &mut self.countries,
            Geo::Region => &mut self.regions,
        }
    }

    pub fn list(&self, geo: Geo) -> &[Value] {
        match geo {
            Geo::Country => &self.countries,
            Geo::Region => &self.regions,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "countries": self.countries, "regions": self.regions })
    }
}

/// Which list a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Geo {
    Country,
    Region,
}

impl Geo {
    fn id_key(self) -> &'static str {
        match self {
            Geo::Country => "country_id",
            Geo::Region => "region_id",
        }
    }

    fn code_key(self) -> &'static str {
        match self {
            Geo::Country => "country_code",
            Geo::Region => "region_code",
        }
    }

    /// The id of the stored rule row (SNAP reporting.yaml ruleset items), which
    /// a client may send back; it is not kept.
    fn row_key(self) -> &'static str {
        match self {
            Geo::Country => "network_targeting_country_id",
            Geo::Region => "network_targeting_region_id",
        }
    }

    fn known_code(self, id: u64) -> Option<&'static str> {
        match self {
            Geo::Country => KNOWN_COUNTRIES.iter().find(|c| c.0 == id).map(|c| c.1),
            Geo::Region => KNOWN_REGIONS.iter().find(|r| r.0 == id).map(|r| r.1),
        }
    }
}

/// A list operator of the bulk PATCH (advertiser patch schema; the facts file
/// assumes the same for offers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operator {
    Overwrite,
    Append,
    Delete,
    Clear,
}

impl Operator {
    /// `None` (no operator sent) is overwrite: ISCALE sends none and it works.
    pub fn parse(v: Option<&Value>) -> Result<Operator, ApiError> {
        match v {
            None | Some(Value::Null) => Ok(Operator::Overwrite),
            Some(Value::String(s)) => match s.as_str() {
                "overwrite" => Ok(Operator::Overwrite),
                "append" => Ok(Operator::Append),
                "delete" => Ok(Operator::Delete),
                "clear" => Ok(Operator::Clear),
                other => Err(ApiError::bad_request(format!(
                    "operator `{other}` must be one of overwrite, append, delete, clear"
                ))),
            },
            Some(_) => Err(ApiError::bad_request("operator must be a string")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Overwrite => "overwrite",
            Operator::Append => "append",
            Operator::Delete => "delete",
            Operator::Clear => "clear",
        }
    }
}

fn item_id(geo: Geo, item: &Value) -> u64 {
    item.get(geo.id_key()).and_then(Value::as_u64).unwrap_or(0)
}

/// Validates a list of rules; `what` names it in errors. With `ids_only` (the
/// delete operator) an item needs only its id.
///
/// An item is `{country_id|region_id, targeting_type: include|exclude,
/// match_type, label?, country_code|region_code?}`. Countries and regions
/// support only the `exact` match type (rulesets.mdx). A code that contradicts
/// a known id is refused.
pub(crate) fn parse_items(
    geo: Geo,
    what: &str,
    v: &Value,
    ids_only: bool,
) -> Result<Vec<Value>, ApiError> {
    let bad = |m: String| ApiError::bad_request(m);
    let list = v
        .as_array()
        .ok_or_else(|| bad(format!("{what} must be an array")))?;
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = format!("{what}[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| bad(format!("{at} must be an object")))?;
        let keys = [
            geo.id_key(),
            geo.code_key(),
            "label",
            "targeting_type",
            "match_type",
            geo.row_key(),
            "network_id",
        ];
        if let Some(k) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(bad(format!("unknown field {at}.{k}")));
        }
        let present = |k: &str| obj.get(k).filter(|v| !v.is_null());
        let id = match present(geo.id_key()).map(Value::as_u64) {
            Some(Some(id)) if id > 0 => id,
            _ => return Err(bad(format!("{at}.{} is required", geo.id_key()))),
        };
        if out.iter().any(|o| item_id(geo, o) == id) {
            return Err(bad(format!("{what} lists {} {id} twice", geo.id_key())));
        }
        let mut stored = Map::new();
        stored.insert(geo.id_key().into(), json!(id));
        if !ids_only {
            for k in [geo.code_key(), "label"] {
                match present(k) {
                    None => {}
                    Some(Value::String(s)) => {
                        stored.insert(k.into(), json!(s));
                    }
                    Some(_) => return Err(bad(format!("{at}.{k} must be a string"))),
                }
            }
            if let (Some(code), Some(known)) = (
                stored.get(geo.code_key()).and_then(Value::as_str),
                geo.known_code(id),
            ) && !code.eq_ignore_ascii_case(known)
            {
                return Err(bad(format!(
                    "{at}.{} {code} does not match {} {id} ({known})",
                    geo.code_key(),
                    geo.id_key()
                )));
            }
            let targeting_type = present("targeting_type").and_then(Value::as_str);
            match targeting_type {
                Some("include" | "exclude") => {}
                Some(_) => {
                    return Err(bad(format!(
                        "{at}.targeting_type must be one of include, exclude"
                    )));
                }
                None => return Err(bad(format!("{at}.targeting_type is required"))),
            }
            match present("match_type").and_then(Value::as_str) {
                Some("exact") => {}
                Some(other) => {
                    return Err(bad(format!(
                        "{at}.match_type `{other}` is not supported for {}: use exact",
                        geo_name(geo)
                    )));
                }
                None => return Err(bad(format!("{at}.match_type is required"))),
            }
            stored.insert("targeting_type".into(), json!(targeting_type));
            stored.insert("match_type".into(), json!("exact"));
        }
        out.push(Value::Object(stored));
    }
    Ok(out)
}

fn geo_name(geo: Geo) -> &'static str {
    match geo {
        Geo::Country => "countries",
        Geo::Region => "regions",
    }
}

/// Applies one operator: overwrite replaces the list, append adds (an item
/// whose id is already there replaces it), delete removes the ids given,
/// clear empties the list.
pub(crate) fn apply(geo: Geo, list: &mut Vec<Value>, op: Operator, items: &[Value]) {
    match op {
        Operator::Overwrite => *list = items.to_vec(),
        Operator::Append => {
            for item in items {
                let id = item_id(geo, item);
                match list.iter_mut().find(|o| item_id(geo, o) == id) {
                    Some(slot) => *slot = item.clone(),
                    None => list.push(item.clone()),
                }
            }
        }
        Operator::Delete => {
            list.retain(|o| !items.iter().any(|i| item_id(geo, i) == item_id(geo, o)));
        }
        Operator::Clear => list.clear(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Value {
        json!({"country_id": 227, "match_type": "exact", "targeting_type": "include", "label": "United States"})
    }

    #[test]
    fn iscale_items_parse_and_bad_ones_do_not() {
        let items = parse_items(Geo::Country, "field_value", &json!([us()]), false).unwrap();
        assert_eq!(items, vec![us()]);
        let ms = json!([{"region_id": 1501, "region_code": "MS", "targeting_type": "exclude", "match_type": "exact"}]);
        assert!(parse_items(Geo::Region, "regions", &ms, false).is_ok());
        let err = |v: Value| {
            parse_items(Geo::Country, "countries", &v, false)
                .unwrap_err()
                .message
        };
        assert_eq!(
            err(json!([{"country_id": 227, "match_type": "exact"}])),
            "countries[0].targeting_type is required"
        );
        assert!(
            err(
                json!([{"country_id": 227, "targeting_type": "include", "match_type": "contains"}])
            )
            .contains("use exact")
        );
        assert!(err(json!([{"country_id": 227, "country_code": "CA", "targeting_type": "include", "match_type": "exact"}]))
            .contains("does not match"));
        assert!(err(json!([us(), us()])).contains("twice"));
        assert!(err(json!([{"region_id": 1}])).contains("unknown field"));
        assert!(err(json!({"country_id": 1})).contains("must be an array"));
        let ids = parse_items(Geo::Country, "v", &json!([{"country_id": 39}]), true).unwrap();
        assert_eq!(ids, vec![json!({"country_id": 39})]);
    }

    #[test]
    fn operators() {
        let ca = json!({"country_id": 39, "targeting_type": "include", "match_type": "exact"});
        let us_ex = json!({"country_id": 227, "targeting_type": "exclude", "match_type": "exact"});
        let mut list = vec![us()];
        apply(
            Geo::Country,
            &mut list,
            Operator::Append,
            &[ca.clone(), us_ex.clone()],
        );
        assert_eq!(list, vec![us_ex, ca.clone()]);
        apply(
            Geo::Country,
            &mut list,
            Operator::Delete,
            &[json!({"country_id": 227})],
        );
        assert_eq!(list, vec![ca]);
        apply(Geo::Country, &mut list, Operator::Overwrite, &[us()]);
        assert_eq!(list, vec![us()]);
        apply(Geo::Country, &mut list, Operator::Clear, &[]);
        assert!(list.is_empty());
        assert_eq!(Operator::parse(None).unwrap(), Operator::Overwrite);
        assert!(Operator::parse(Some(&json!("merge"))).is_err());
    }
}
