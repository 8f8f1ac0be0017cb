//! The committed JSON Schemas must match the Rust types. Rewrite them with
//! `cargo run -- schema` (or `OFFERSYNC_UPDATE_SCHEMA=1 cargo test`).

use offersync::schema::{DESIRED_SCHEMA_PATH, PLAN_SCHEMA_PATH, desired_schema, schemas};

use crate::common::TestContext;

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
