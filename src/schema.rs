//! JSON Schemas generated from the Rust types, committed under `schemas/`: the desired
//! files' (so editors can validate them: `# yaml-language-server: $schema=...`) and the
//! JSON of `plan --json` (so CI can check what it parses).

use schemars::generate::SchemaSettings;

use crate::desired::DesiredFile;
use crate::plan::Plan;

/// Where the desired-file schema lives in a workspace (and in this repository).
pub const DESIRED_SCHEMA_PATH: &str = "schemas/desired.schema.json";

/// Where the schema of `plan --json` lives, beside it.
pub const PLAN_SCHEMA_PATH: &str = "schemas/plan.schema.json";

/// The schema of `desired/<network>.yaml`, as committed (pretty JSON, trailing newline).
pub fn desired_schema() -> String {
    let schema = schemars::schema_for!(DesiredFile);
    pretty(&schema)
}

/// The schema of what `plan --json` prints, as committed. It describes the serialized
/// form: an optional field is one that may be left out, not one that may be `null`.
pub fn plan_schema() -> String {
    let schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Plan>();
    pretty(&schema)
}

/// Every committed schema, by path.
pub fn schemas() -> [(&'static str, String); 2] {
    [
        (DESIRED_SCHEMA_PATH, desired_schema()),
        (PLAN_SCHEMA_PATH, plan_schema()),
    ]
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema serializes");
    text.push('\n');
    text
}
