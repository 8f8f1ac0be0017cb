//! The committed JSON Schema must match the Rust types. Rewrite it with
//! `cargo run -- schema` (or `OFFERSYNC_UPDATE_SCHEMA=1 cargo test`).

use offersync::schema::{DESIRED_SCHEMA_PATH, desired_schema};

#[test]
fn committed_desired_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DESIRED_SCHEMA_PATH);
    let fresh = desired_schema();
    if std::env::var_os("OFFERSYNC_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{DESIRED_SCHEMA_PATH} is stale: run `cargo run -- schema` and commit the result"
    );
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
    let t = crate::common::TestContext::new();
    let check = t.run(&["schema", "--check"]).expect(1);
    assert_eq!(
        check.stderr,
        "error: schemas/desired.schema.json is out of date; run `offersync schema` to rewrite it\n"
    );
    t.run(&["schema"]).expect(0);
    assert_eq!(t.read(DESIRED_SCHEMA_PATH), desired_schema());
    t.run(&["schema", "--check"]).expect(0);
}
