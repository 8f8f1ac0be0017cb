//! The committed JSON Schemas must match the Rust types, and `plan --json` must match its
//! schema. Rewrite them with `cargo run -- schema` (or `OFFERSYNC_UPDATE_SCHEMA=1 cargo
//! test`).

use offersync::schema::{DESIRED_SCHEMA_PATH, PLAN_SCHEMA_PATH, desired_schema, schemas};
use serde_json::{Value, json};

use crate::common::{TestContext, change_a_bit_of_everything};

#[test]
fn committed_schemas_are_current() {
    for (relative, fresh) in schemas() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        if std::env::var_os("OFFERSYNC_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{relative} is stale: run `cargo run -- schema` and commit the result"
        );
    }
}

#[test]
fn example_desired_files_validate_against_their_schema_reference() {
    for file in ["desired/trimrx.yaml", "desired/directmeds.yaml"] {
        let text =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
                .unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/desired.schema.json"),
            "{file} points editors at the schema"
        );
    }
}

#[test]
fn schema_command_writes_and_checks() {
    let t = TestContext::new();
    let check = t.run(&["schema", "--check"]).expect(1);
    assert_eq!(
        check.stderr,
        "error: schemas/desired.schema.json and schemas/plan.schema.json are out of date; run `offersync schema` to rewrite them\n"
    );
    t.run(&["schema"]).expect(0);
    for (path, fresh) in schemas() {
        assert_eq!(t.read(path), fresh);
    }
    t.run(&["schema", "--check"]).expect(0);

    // Each schema is checked, not only the first.
    t.write(PLAN_SCHEMA_PATH, "{}\n");
    let check = t.run(&["schema", "--check"]).expect(1);
    assert_eq!(
        check.stderr,
        "error: schemas/plan.schema.json is out of date; run `offersync schema` to rewrite it\n"
    );
    assert_eq!(t.read(DESIRED_SCHEMA_PATH), desired_schema());
}

/// The committed plan schema, compiled.
fn plan_validator() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PLAN_SCHEMA_PATH);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("the plan schema is a valid 2020-12 schema")
}

/// What the validator finds wrong, one line per error.
fn errors(validator: &jsonschema::Validator, plan: &Value) -> Vec<String> {
    validator
        .iter_errors(plan)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn plan_json_matches_its_schema() {
    let validator = plan_validator();
    let t = TestContext::new();
    let first: Value = serde_json::from_str(&t.run(&["plan", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(
        errors(&validator, &first),
        Vec::<String>::new(),
        "first plan"
    );

    t.run(&["apply", "--auto-approve"]).expect(0);
    change_a_bit_of_everything(&t);
    let update: Value = serde_json::from_str(&t.run(&["plan", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(
        errors(&validator, &update),
        Vec::<String>::new(),
        "update plan"
    );

    // The plans checked hold every action, reason and resource kind the schema lists, so
    // none of its branches goes untested.
    let seen = |pointer: &str| -> std::collections::BTreeSet<String> {
        [&first, &update]
            .into_iter()
            .flat_map(|plan| plan["changes"].as_array().unwrap())
            .flat_map(|change| match change.pointer(pointer).unwrap() {
                Value::Array(values) => values.clone(),
                value => vec![value.clone()],
            })
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        seen("/action"),
        ["create", "delete", "pause", "update"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        seen("/resource/kind"),
        [
            "advertiser",
            "creative",
            "offer",
            "pixel",
            "rule",
            "targeting",
            "thumbnail",
            "url"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        seen("/reasons"),
        [
            "changed_in_destination",
            "changed_outside",
            "config_changed",
            "first_sync",
            "removed_from_config",
            "source_changed"
        ]
        .map(String::from)
        .into()
    );
    assert!(
        !update["notes"].as_array().unwrap().is_empty(),
        "the update plan has a note"
    );
}

/// An edit that makes a valid plan invalid.
type Breakage = fn(&mut Value);

#[test]
fn the_plan_schema_rejects_a_broken_plan() {
    let validator = plan_validator();
    let t = TestContext::new();
    let plan: Value = serde_json::from_str(&t.run(&["plan", "--json"]).expect(0).stdout).unwrap();
    assert!(validator.is_valid(&plan));

    let cases: [(&str, Breakage); 9] = [
        ("an unknown action", |plan| {
            plan["changes"][0]["action"] = json!("destroy");
        }),
        ("an unknown reason", |plan| {
            plan["changes"][0]["fields"][0]["reasons"] = json!(["because"]);
        }),
        ("a field with no reason", |plan| {
            plan["changes"][0]["fields"][0]["reasons"] = json!([]);
        }),
        ("an unknown key", |plan| {
            plan["changes"][0]["surprise"] = json!(true);
        }),
        ("a missing summary", |plan| {
            plan.as_object_mut().unwrap().remove("summary");
        }),
        ("another format version", |plan| {
            plan["format_version"] = json!(2);
        }),
        ("a url without its source id", |plan| {
            plan["changes"][0]["resource"] = json!({"kind": "url", "key": null});
        }),
        ("a token shown in clear", |plan| {
            plan["changes"][0]["fields"][0] = json!({
                "field": "verification_token",
                "before": null,
                "after": "the-real-token",
                "reasons": ["first_sync"]
            });
        }),
        ("money as text", |plan| {
            let field = plan["changes"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .filter(|change| change["resource"]["kind"] == "offer")
                .flat_map(|change| change["fields"].as_array_mut().unwrap())
                .find(|field| field["field"] == "events[\"Base\"].payout_amount")
                .unwrap();
            field["after"] = json!("84.99");
        }),
    ];
    for (what, edit) in cases {
        let mut broken = plan.clone();
        edit(&mut broken);
        let found = errors(&validator, &broken);
        // One error each: the edit is what is wrong, nothing else.
        assert_eq!(found.len(), 1, "{what}: {found:?}");
    }
}
