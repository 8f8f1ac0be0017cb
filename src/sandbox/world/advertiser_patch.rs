//! The advertisers bulk edit: `PATCH /v1/networks/patch/advertiser/apply` and
//! its dry-run twin `POST /v1/networks/patch/advertiser/submit`
//! (advertisers-extras.yaml, LEGACY).
//!
//! Body `{network_advertiser_ids:[...], fields:[{field_type, field_value,
//! operator}]}`; apply answers `{"result": true}` like the offers bulk edit
//! (LIVE). A missing `operator` is overwrite: advertisers-extras.yaml marks it
//! required, but ISCALE sends none and it works for them.
//!
//! Supported field types are the General ones whose advertiser field the
//! sandbox holds: `advertiser_status` (`account_status`), `advertiser_name`
//! (`name`), `internal_note` (`internal_notes`), `verification_token` (at most
//! 50 characters: advertisers.yaml `maxLength: 50`, advertisers-extras.yaml),
//! `currency` (`default_currency_id`), `attribution_method`,
//! `email_attribution_method`, `attribution_priority`, `account_manager_id`
//! (`network_employee_id`, "the account manager (network employee)") and
//! `sales_manager_id`. The other documented field types (labels, variables,
//! billing, direct linking) are refused by name as not simulated, and unknown
//! ones as unknown, rather than accepted and dropped. A request is all or
//! nothing; a change moves the advertiser's `time_saved`.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::Clock;
use super::bulk_patch::{FieldHead, field_head, parse_body};
use super::destination::Destination;
use super::targeting::Operator;

/// advertisers.yaml `verification_token: maxLength: 50`.
pub(crate) const MAX_TOKEN_CHARS: usize = 50;

/// The statuses a client may set (advertisers.yaml create enum; the object's
/// `pending` is Everflow's own state for sign-ups).
const STATUS: &[&str] = &["active", "inactive", "suspended"];

/// Documented field types the sandbox does not simulate.
const NOT_SIMULATED: &[&str] = &[
    "labels",
    "variables_affiliate_id",
    "variables_affiliate",
    "variables_sub_1",
    "variables_sub_2",
    "variables_sub_3",
    "variables_sub_4",
    "variables_sub_5",
    "variables_source_id",
    "billing_tax_details",
    "billing_frequency",
    "billing_frequency_weekly",
    "billing_frequency_bimonthly",
    "billing_frequency_monthly",
    "billing_frequency_two_months",
    "billing_frequency_quarterly",
    "billing_auto_invoicing_auto_creation",
    "billing_auto_invoicing_creation_amount_threshold",
    "billing_auto_invoicing_auto_invoice_start_date",
    "billing_auto_invoicing_generation_days_delay",
    "billing_invoice_setting_terms_days",
    "billing_invoice_setting_hide_from_advertiser",
    "direct_linking_offer_id",
    "direct_linking_affiliate_id",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Any string; `clear` empties it.
    Text,
    /// A non-blank string.
    Name,
    /// A string of at most [`MAX_TOKEN_CHARS`]; `clear` empties it.
    Token,
    Choice(&'static [&'static str]),
    /// An ISO 4217 code.
    Currency,
    /// A non-negative integer (0: nobody).
    Id,
}

/// field_type, the advertiser field it sets, its kind.
const SUPPORTED: &[(&str, &str, Kind)] = &[
    ("advertiser_status", "account_status", Kind::Choice(STATUS)),
    ("advertiser_name", "name", Kind::Name),
    ("internal_note", "internal_notes", Kind::Text),
    ("verification_token", "verification_token", Kind::Token),
    ("currency", "default_currency_id", Kind::Currency),
    (
        "attribution_method",
        "attribution_method",
        Kind::Choice(&["first_touch", "last_touch"]),
    ),
    (
        "email_attribution_method",
        "email_attribution_method",
        Kind::Choice(&["last_affiliate_attribution", "first_affiliate_attribution"]),
    ),
    (
        "attribution_priority",
        "attribution_priority",
        Kind::Choice(&["click", "coupon_code"]),
    ),
    ("account_manager_id", "network_employee_id", Kind::Id),
    ("sales_manager_id", "sales_manager_id", Kind::Id),
];

/// One validated `fields[]` element: set `field` to `value`.
#[derive(Clone, Debug, PartialEq)]
struct PatchField {
    field_type: String,
    operator: Operator,
    field: &'static str,
    value: Value,
}

/// A validated advertiser bulk edit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AdvertiserPatch {
    pub advertiser_ids: Vec<u64>,
    fields: Vec<PatchField>,
}

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

/// Checks `v` as a value of `kind`; `what` names it in errors.
fn check_value(what: &str, kind: Kind, v: &Value) -> Result<Value, ApiError> {
    if kind == Kind::Id {
        return v
            .as_u64()
            .map(|n| json!(n))
            .ok_or_else(|| bad(format!("{what} must be a non-negative integer")));
    }
    let s = v
        .as_str()
        .ok_or_else(|| bad(format!("{what} must be a string")))?;
    match kind {
        Kind::Name if s.trim().is_empty() => Err(bad(format!("{what} must not be empty"))),
        Kind::Token if s.chars().count() > MAX_TOKEN_CHARS => Err(bad(format!(
            "{what} must be at most {MAX_TOKEN_CHARS} characters, got {}",
            s.chars().count()
        ))),
        Kind::Choice(list) if !list.contains(&s) => {
            Err(bad(format!("{what} must be one of {}", list.join(", "))))
        }
        Kind::Currency if !(s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())) => Err(bad(
            format!("{what} must be a three-letter currency code such as USD"),
        )),
        _ => Ok(json!(s)),
    }
}

fn parse_field(i: usize, v: &Value) -> Result<PatchField, ApiError> {
    let FieldHead {
        at,
        obj,
        field_type,
    } = field_head(i, v)?;
    let Some((_, field, kind)) = SUPPORTED.iter().find(|(t, ..)| *t == field_type) else {
        if NOT_SIMULATED.contains(&field_type.as_str()) {
            return Err(bad(format!(
                "field_type {field_type} is not supported by the sandbox"
            )));
        }
        return Err(bad(format!(
            "field_type {field_type} is not an advertiser field (supported: {})",
            SUPPORTED.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        )));
    };
    let operator = Operator::parse(obj.get("operator"))?;
    let what = format!("{at}.field_value");
    let sent = obj.get("field_value").filter(|v| !v.is_null());
    let value = match operator {
        Operator::Overwrite => {
            let v = sent.ok_or_else(|| bad(format!("{what} is required for {field_type}")))?;
            check_value(&what, *kind, v)?
        }
        // `clear` "resets to default": the empty string of a free text.
        Operator::Clear if matches!(kind, Kind::Text | Kind::Token) => {
            if sent.is_some_and(|v| v != "") {
                return Err(bad(format!("{what} must be empty with operator clear")));
            }
            json!("")
        }
        _ => {
            return Err(bad(format!(
                "operator {} is not valid for field_type {field_type}",
                operator.as_str()
            )));
        }
    };
    Ok(PatchField {
        field_type,
        operator,
        field,
        value,
    })
}

/// Validates the body of apply or submit.
pub(crate) fn parse_advertiser_patch(body: Option<&Value>) -> Result<AdvertiserPatch, ApiError> {
    let (advertiser_ids, fields) =
        parse_body(body, "network_advertiser_ids", "advertiser", parse_field)?;
    Ok(AdvertiserPatch {
        advertiser_ids,
        fields,
    })
}

impl Destination {
    /// `PATCH /v1/networks/patch/advertiser/apply`: every advertiser must exist
    /// (400 otherwise, nothing changes); `time_saved` moves on a change.
    pub fn patch_advertisers(
        &mut self,
        patch: &AdvertiserPatch,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        if let Some(id) = patch
            .advertiser_ids
            .iter()
            .find(|id| !self.advertisers.contains_key(id))
        {
            return Err(bad(format!(
                "network_advertiser_ids: advertiser {id} does not exist"
            )));
        }
        for id in &patch.advertiser_ids {
            if let Some(adv) = self.advertisers.get_mut(id) {
                let before = adv.clone();
                for f in &patch.fields {
                    adv.insert(f.field.into(), f.value.clone());
                }
                if *adv != before {
                    let previous = adv.get("time_saved").and_then(Value::as_u64).unwrap_or(0);
                    adv.insert("time_saved".into(), json!(clock.after(previous)));
                }
            }
        }
        Ok(())
    }

    /// Sets one advertiser's verification token as the UI would (same rule as
    /// the bulk edit); `Err` says why not.
    pub fn set_advertiser_token(
        &mut self,
        id: u64,
        token: &str,
        clock: &mut Clock,
    ) -> Result<(), ApiError> {
        let field = json!({"field_type": "verification_token", "field_value": token});
        let patch = AdvertiserPatch {
            advertiser_ids: vec![id],
            fields: vec![parse_field(0, &field)?],
        };
        self.patch_advertisers(&patch, clock)
    }

    /// `POST /v1/networks/patch/advertiser/submit`: what apply would do,
    /// changing nothing (advertisers-extras.yaml response shape); unknown
    /// advertisers are `resource_errors`.
    pub fn preview_advertiser_patch(&self, patch: &AdvertiserPatch) -> Value {
        let mut changes = Vec::new();
        let mut resource_errors = Vec::new();
        for id in &patch.advertiser_ids {
            let Some(adv) = self.advertisers.get(id) else {
                resource_errors.push(json!({
                    "resource_id": id,
                    "error_message": format!("advertiser {id} does not exist"),
                }));
                continue;
            };
            let summary = json!({
                "network_advertiser_id": id,
                "network_id": self.network_id,
                "name": adv.get("name").cloned().unwrap_or(Value::Null),
                "account_status": adv.get("account_status").cloned().unwrap_or(Value::Null),
            });
            let mut current = adv.clone();
            for f in &patch.fields {
                let before = current.get(f.field).cloned().unwrap_or(Value::Null);
                current.insert(f.field.into(), f.value.clone());
                let side = |value: &Value| {
                    json!({
                        "field_type": f.field_type,
                        "field_value": value,
                        "operator": f.operator.as_str(),
                    })
                };
                let status = if before == f.value { "no_change" } else { "ok" };
                changes.push(json!({
                    "network_advertiser": summary,
                    "change_status": status,
                    "current_field": side(&before),
                    "changed_field": side(&f.value),
                    "error_message": "",
                    "related_changes": "",
                }));
            }
        }
        json!({ "changes": changes, "resource_errors": resource_errors })
    }

    /// Every advertiser in id order (`GET /v1/networks/advertisers`).
    pub fn advertisers_json(&self) -> Vec<Value> {
        self.advertisers
            .values()
            .cloned()
            .map(Value::Object)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)] // called with json! literals
    fn err(v: Value) -> String {
        parse_advertiser_patch(Some(&v)).unwrap_err().message
    }

    #[allow(clippy::needless_pass_by_value)] // called with json! literals
    fn one(field: Value) -> Value {
        json!({"network_advertiser_ids": [13], "fields": [field]})
    }

    #[test]
    fn iscale_body_parses_without_operator() {
        let p = parse_advertiser_patch(Some(&json!({
            "network_advertiser_ids": [13, 13],
            "fields": [{"field_type": "verification_token", "field_value": "acme_iscale_2025"}]
        })))
        .unwrap();
        assert_eq!(p.advertiser_ids, [13]);
        assert_eq!(p.fields[0].operator, Operator::Overwrite);
        assert_eq!(p.fields[0].field, "verification_token");
    }

    #[test]
    fn bad_bodies_name_what_is_wrong() {
        let token = |t: &str| one(json!({"field_type": "verification_token", "field_value": t}));
        assert!(parse_advertiser_patch(Some(&token(&"x".repeat(50)))).is_ok());
        assert!(err(token(&"x".repeat(51))).contains("at most 50 characters, got 51"));
        assert!(
            err(one(
                json!({"field_type": "verification_token", "field_value": 5})
            ))
            .contains("must be a string")
        );
        assert!(
            err(one(json!({"field_type": "colour", "field_value": "red"})))
                .starts_with("field_type colour is not an advertiser field")
        );
        assert!(
            err(one(json!({"field_type": "labels", "field_value": []})))
                .contains("labels is not supported by the sandbox")
        );
        assert!(
            err(one(
                json!({"field_type": "advertiser_status", "field_value": "gone"})
            ))
            .contains("must be one of active, inactive, suspended")
        );
        assert!(
            err(one(
                json!({"field_type": "advertiser_name", "field_value": " "})
            ))
            .contains("must not be empty")
        );
        assert!(
            err(one(json!({"field_type": "currency", "field_value": "usd"})))
                .contains("currency code")
        );
        assert!(
            err(one(
                json!({"field_type": "advertiser_name", "field_value": "x", "operator": "append"})
            ))
            .contains("not valid for field_type advertiser_name")
        );
        assert!(
            err(one(
                json!({"field_type": "advertiser_name", "operator": "clear"})
            ))
            .contains("not valid")
        );
        assert!(
            parse_advertiser_patch(Some(&one(
                json!({"field_type": "internal_note", "operator": "clear"})
            )))
            .is_ok()
        );
        assert!(
            err(one(json!({"field_type": "internal_note"}))).contains("field_value is required")
        );
        assert_eq!(
            err(json!({"fields": []})),
            "network_advertiser_ids is required"
        );
        assert!(err(json!({"network_advertiser_ids": [13], "fields": []})).contains("non-empty"));
        assert!(
            err(json!({"network_advertiser_ids": [13], "fields": [], "x": 1}))
                .contains("unknown field x")
        );
    }
}
