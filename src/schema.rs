//! JSON Schemas generated from the Rust types, committed under `schemas/` so editors can
//! validate desired files (`# yaml-language-server: $schema=...`).

use crate::desired::DesiredFile;

/// Where the desired-file schema lives in a workspace (and in this repository).
pub const DESIRED_SCHEMA_PATH: &str = "schemas/desired.schema.json";

/// The schema of `desired/<network>.yaml`, as committed (pretty JSON, trailing newline).
pub fn desired_schema() -> String {
    let schema = schemars::schema_for!(DesiredFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
