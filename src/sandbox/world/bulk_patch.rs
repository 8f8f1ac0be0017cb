//! The offers bulk edit: `PATCH /v1/networks/patch/offers/apply` and its
//! dry-run twin `POST /v1/networks/patch/offers/submit` (LIVE).
//!
//! Body `{network_offer_ids:[...], fields:[{field_type, field_value,
//! operator}]}`; apply answers `{"result": true}`. Supported field types: the
//! LEGACY patchable ones that are plain offer fields (`offer_status`,
//! `visibility`, `offer_name` for `name`, `destination_url`, `labels`, the caps,
//! ...) and `ruleset_countries` / `ruleset_regions`. Others are refused by
//! name rather than accepted and dropped. A request is all or nothing: every
//! offer and every field is checked before anything changes.
//!
//! Base fields move `time_saved` like a PUT does; the ruleset is a
//! relationship and does not (LEGACY network/offers).

use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::body::Fields;
use super::destination::Destination;
use super::offer_fields::{self, FIELDS, FieldSpec, Kind};
use super::targeting::{self, Geo, Operator, Targeting};

/// Offer fields left out of the LEGACY patchable list (`name` is patched as
/// `offer_name`).
const NOT_PATCHABLE: &[&str] = &[
    "name",
    "caps_timezone_id",
    "attribution_method",
    "is_seo_friendly",
];

#[derive(Clone, Debug, PartialEq)]
enum Change {
    /// A scalar offer field (overwrite only).
    Base { name: &'static str, value: Value },
    /// `labels`: a list of strings.
    Labels(Vec<String>),
    /// A ruleset list.
    Geo(Geo, Vec<Value>),
}

/// One validated `fields[]` element.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PatchField {
    field_type: String,
    operator: Operator,
    change: Change,
}

/// A validated bulk edit request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Patch {
    pub offer_ids: Vec<u64>,
    fields: Vec<PatchField>,
}

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

fn base_spec(field_type: &str) -> Option<&'static FieldSpec> {
    if field_type == "offer_name" {
        return FIELDS.iter().find(|f| f.name == "name");
    }
    FIELDS
        .iter()
        .find(|f| f.name == field_type && !NOT_PATCHABLE.contains(&f.name))
}

/// A `fields[]` element of either bulk edit, before its type is known.
pub(super) struct FieldHead<'a> {
    /// `fields[i]`, for messages.
    pub at: String,
    pub obj: &'a Map<String, Value>,
    pub field_type: String,
}

/// The parts of a `fields[]` element both bulk edits read alike: an object of
/// `field_type`, `field_value` and `operator`, with a non-empty `field_type`.
pub(super) fn field_head(i: usize, v: &Value) -> Result<FieldHead<'_>, ApiError> {
    let at = format!("fields[{i}]");
    let obj = v
        .as_object()
        .ok_or_else(|| bad(format!("{at} must be an object")))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "field_type" | "field_value" | "operator"))
    {
        return Err(bad(format!("unknown field {at}.{k}")));
    }
    let field_type = match obj.get("field_type").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => return Err(bad(format!("{at}.field_type is required"))),
    };
    Ok(FieldHead {
        at,
        obj,
        field_type,
    })
}

/// The body both bulk edits share, `{<ids_key>: [...], fields: [...]}`: the
/// ids (positive, repeats dropped, order kept) and each `fields[]` element as
/// `parse_field` reads it. `noun` names an id in messages.
pub(super) fn parse_body<F>(
    body: Option<&Value>,
    ids_key: &str,
    noun: &str,
    parse_field: impl Fn(usize, &Value) -> Result<F, ApiError>,
) -> Result<(Vec<u64>, Vec<F>), ApiError> {
    let body = Fields::new(body, &[ids_key, "fields"])?;
    let ids = body
        .get(ids_key)
        .ok_or_else(|| bad(format!("{ids_key} is required")))?
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
        .filter(|ids| !ids.is_empty() && ids.iter().all(|id| *id > 0))
        .ok_or_else(|| bad(format!("{ids_key} must be a non-empty array of {noun} ids")))?;
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let fields = body
        .get("fields")
        .ok_or_else(|| bad("fields is required".into()))?
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("fields must be a non-empty array".into()))?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_field(i, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((unique, fields))
}

fn parse_field(i: usize, v: &Value) -> Result<PatchField, ApiError> {
    let FieldHead {
        at,
        obj,
        field_type,
    } = field_head(i, v)?;
    let operator = Operator::parse(obj.get("operator"))?;
    let value = obj.get("field_value").filter(|v| !v.is_null());
    let what = format!("{at}.field_value");
    let geo = match field_type.as_str() {
        "ruleset_countries" => Some(Geo::Country),
        "ruleset_regions" => Some(Geo::Region),
        _ => None,
    };
    let is_list = geo.is_some() || field_type == "labels";
    if !is_list && operator != Operator::Overwrite {
        return Err(bad(format!(
            "operator {} is not valid for field_type {field_type} (use overwrite)",
            operator.as_str()
        )));
    }
    let value = match (operator, value) {
        (Operator::Clear, None) => &Value::Null,
        (Operator::Clear, Some(v)) if v.as_array().is_some_and(Vec::is_empty) => v,
        (Operator::Clear, Some(_)) => {
            return Err(bad(format!("{what} must be empty with operator clear")));
        }
        (_, None) => return Err(bad(format!("{what} is required for {field_type}"))),
        (_, Some(v)) => v,
    };
    let change = if let Some(geo) = geo {
        let items = if operator == Operator::Clear {
            Vec::new()
        } else {
            targeting::parse_items(geo, &what, value, operator == Operator::Delete)?
        };
        Change::Geo(geo, items)
    } else if let Some(spec) = base_spec(&field_type) {
        if matches!(spec.kind, Kind::Labels) {
            let labels = if operator == Operator::Clear {
                Vec::new()
            } else {
                value
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|s| s.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| bad(format!("{what} must be an array of strings")))?
            };
            Change::Labels(labels)
        } else {
            let checked = offer_fields::check(&what, spec.kind, value)?;
            if spec.name == "name" && checked.as_str().is_none_or(|s| s.trim().is_empty()) {
                return Err(bad(format!("{what} must not be empty")));
            }
            Change::Base {
                name: spec.name,
                value: checked,
            }
        }
    } else {
        return Err(bad(format!(
            "field_type {field_type} is not supported (the sandbox patches offer fields, ruleset_countries and ruleset_regions)"
        )));
    };
    Ok(PatchField {
        field_type,
        operator,
        change,
    })
}

/// Validates the body of apply or submit.
pub(crate) fn parse_patch(body: Option<&Value>) -> Result<Patch, ApiError> {
    let (offer_ids, fields) = parse_body(body, "network_offer_ids", "offer", parse_field)?;
    Ok(Patch { offer_ids, fields })
}

/// One offer as the patch would leave it, with the value of each field before
/// and after it was applied (for submit).
struct Patched {
    base: Map<String, Value>,
    targeting: Option<Targeting>,
    steps: Vec<(Value, Value)>,
}

impl PatchField {
    fn current(&self, base: &Map<String, Value>, targeting: &Targeting) -> Value {
        match &self.change {
            Change::Base { name, .. } => base.get(*name).cloned().unwrap_or(Value::Null),
            Change::Labels(_) => base.get("labels").cloned().unwrap_or(json!([])),
            Change::Geo(geo, _) => Value::Array(targeting.list(*geo).to_vec()),
        }
    }

    fn apply(&self, base: &mut Map<String, Value>, targeting: &mut Targeting) {
        match &self.change {
            Change::Base { name, value } => {
                base.insert((*name).to_owned(), value.clone());
            }
            Change::Labels(labels) => {
                let mut list: Vec<String> = base
                    .get("labels")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                match self.operator {
                    Operator::Overwrite => list.clone_from(labels),
                    Operator::Append => {
                        for l in labels {
                            if !list.contains(l) {
                                list.push(l.clone());
                            }
                        }
                    }
                    Operator::Delete => list.retain(|l| !labels.contains(l)),
                    Operator::Clear => list.clear(),
                }
                base.insert("labels".into(), json!(list));
            }
            Change::Geo(geo, items) => {
                targeting::apply(*geo, targeting.list_mut(*geo), self.operator, items);
            }
        }
    }
}

impl Destination {
    fn patched(&self, id: u64, patch: &Patch) -> Result<Patched, ApiError> {
        let offer = self
            .offers
            .get(&id)
            .ok_or_else(|| bad(format!("network_offer_ids: offer {id} does not exist")))?;
        let mut base = offer.base.clone();
        let had = self.targeting.get(&id);
        let mut targeting = had.cloned().unwrap_or_default();
        let mut steps = Vec::with_capacity(patch.fields.len());
        for field in &patch.fields {
            let before = field.current(&base, &targeting);
            field.apply(&mut base, &mut targeting);
            steps.push((before, field.current(&base, &targeting)));
        }
        offer_fields::check_formats(&base)?;
        self.check_base_refs(&base)?;
        let touched = patch
            .fields
            .iter()
            .any(|f| matches!(f.change, Change::Geo(..)));
        Ok(Patched {
            base,
            targeting: (touched || had.is_some()).then_some(targeting),
            steps,
        })
    }

    /// `PATCH /v1/networks/patch/offers/apply`: every offer is checked first,
    /// then all change. Unknown offer ids are a 400 (the ids are in the body;
    /// the URL exists).
    pub fn patch_offers(&mut self, patch: &Patch, clock: &mut Clock) -> Result<(), ApiError> {
        let staged = patch
            .offer_ids
            .iter()
            .map(|id| self.patched(*id, patch).map(|p| (*id, p)))
            .collect::<Result<Vec<_>, _>>()?;
        for (id, p) in staged {
            if let Some(offer) = self.offers.get_mut(&id)
                && p.base != offer.base
            {
                let previous = offer.base["time_saved"].as_u64().unwrap_or(0);
                let mut base = p.base;
                base.insert("time_saved".into(), json!(clock.after(previous)));
                offer.base = base;
            }
            if let Some(t) = p.targeting {
                self.targeting.insert(id, t);
            }
        }
        Ok(())
    }

    /// `POST /v1/networks/patch/offers/submit`: what apply would do, changing
    /// nothing (LIVE response shape). Unknown offers are `resource_errors`,
    /// an offer whose result would be invalid gets `change_status: error`.
    pub fn preview_patch(&self, patch: &Patch) -> Value {
        let mut changes = Vec::new();
        let mut resource_errors = Vec::new();
        for id in &patch.offer_ids {
            let Some(offer) = self.offers.get(id) else {
                resource_errors.push(json!({
                    "id": id,
                    "label": "",
                    "type": "offer",
                    "message": format!("offer {id} does not exist"),
                }));
                continue;
            };
            let summary = json!({
                "network_offer_id": id,
                "network_id": self.network_id,
                "name": offer.base.get("name").cloned().unwrap_or(Value::Null),
                "offer_status": offer.base.get("offer_status").cloned().unwrap_or(Value::Null),
            });
            let result = self.patched(*id, patch);
            for (i, field) in patch.fields.iter().enumerate() {
                let side = |value: Value| {
                    json!({
                        "field_type": field.field_type,
                        "field_value": value,
                        "operator": field.operator.as_str(),
                    })
                };
                let (status, current, changed, message) = match &result {
                    Ok(p) => {
                        let (before, after) = p.steps[i].clone();
                        let status = if before == after { "no_change" } else { "ok" };
                        (status, before, after, String::new())
                    }
                    Err(e) => ("error", Value::Null, Value::Null, e.message.clone()),
                };
                changes.push(json!({
                    "network_offer": summary,
                    "change_status": status,
                    "current_field": side(current),
                    "changed_field": side(changed),
                    "error_message": message,
                    "related_changes": "",
                }));
            }
        }
        json!({ "changes": changes, "resource_errors": resource_errors })
    }

    /// `PUT /v1/networks/offers/{id}/targeting` (ISCALE, undocumented): the
    /// body `{countries, regions}` replaces both lists (a missing one is
    /// emptied, as any Everflow PUT is a full replacement).
    pub fn put_targeting(&mut self, id: u64, body: Option<&Value>) -> Result<(), ApiError> {
        if !self.offers.contains_key(&id) {
            return Err(ApiError::no_such("offer", id));
        }
        let empty = Map::new();
        let obj = match body {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => return Err(bad("request body must be a json object".into())),
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "countries" | "regions"))
        {
            return Err(bad(format!(
                "unknown field {k} (the sandbox models countries and regions)"
            )));
        }
        let list = |k: &str, geo| match obj.get(k).filter(|v| !v.is_null()) {
            None => Ok(Vec::new()),
            Some(v) => targeting::parse_items(geo, k, v, false),
        };
        let t = Targeting {
            countries: list("countries", Geo::Country)?,
            regions: list("regions", Geo::Region)?,
        };
        self.targeting.insert(id, t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)] // called with json! literals
    fn err(v: Value) -> String {
        parse_patch(Some(&v)).unwrap_err().message
    }

    #[test]
    fn iscale_bodies_parse() {
        let geo = json!({
            "network_offer_ids": [4],
            "fields": [
                {"field_type": "ruleset_countries", "field_value": [{"country_id": 227, "match_type": "exact", "targeting_type": "include", "label": "United States"}], "operator": "overwrite"},
                {"field_type": "ruleset_regions", "field_value": [{"region_id": 1501, "targeting_type": "exclude", "match_type": "exact", "label": "Mississippi (US)"}], "operator": "overwrite"}
            ]
        });
        assert_eq!(parse_patch(Some(&geo)).unwrap().fields.len(), 2);
        let visibility = json!({"network_offer_ids": [4, 4], "fields": [{"field_type": "visibility", "field_value": "public"}]});
        let p = parse_patch(Some(&visibility)).unwrap();
        assert_eq!(p.offer_ids, [4]);
        assert_eq!(p.fields[0].operator, Operator::Overwrite);
    }

    #[test]
    fn bad_bodies_name_what_is_wrong() {
        let f = |field: Value| json!({"network_offer_ids": [1], "fields": [field]});
        assert_eq!(err(json!({"fields": []})), "network_offer_ids is required");
        assert_eq!(
            err(json!({"network_offer_ids": [1], "fields": []})),
            "fields must be a non-empty array"
        );
        assert!(err(json!({"network_offer_ids": ["offerId"], "fields": []})).contains("offer ids"));
        assert!(
            err(f(
                json!({"field_type": "ruleset_cities", "field_value": []})
            ))
            .starts_with("field_type ruleset_cities is not supported")
        );
        assert!(
            err(f(json!({"field_type": "name", "field_value": "x"})))
                .starts_with("field_type name is not supported")
        );
        assert!(
            err(f(
                json!({"field_type": "offer_status", "field_value": "gone"})
            ))
            .contains("must be one of active, paused, pending")
        );
        assert!(
            err(f(
                json!({"field_type": "offer_status", "field_value": "paused", "operator": "append"})
            ))
            .contains("not valid for field_type offer_status")
        );
        assert!(
            err(f(json!({"field_type": "offer_name", "field_value": " "})))
                .contains("must not be empty")
        );
        assert!(
            err(f(
                json!({"field_type": "ruleset_countries", "field_value": [1], "operator": "clear"})
            ))
            .contains("must be empty with operator clear")
        );
        assert!(err(f(json!({"field_type": "visibility"}))).contains("field_value is required"));
        assert!(
            err(f(
                json!({"field_type": "visibility", "field_value": "public", "value": 1})
            ))
            .contains("unknown field fields[0].value")
        );
    }
}
