//! Bad input: every case gives one clear line naming where and what, exit 1, no call to
//! any API and nothing written.

use offersync::sandbox::SandboxOptions;

use crate::common::TestContext;

/// Runs `validate` and `plan`; both must fail with exactly `expected` and touch nothing.
#[track_caller]
fn assert_rejected(t: &TestContext, env: &[(&str, &str)], expected: &str) {
    for command in ["validate", "plan"] {
        let run = t.run_with(&[command], env).expect(1);
        assert_eq!(run.stderr, format!("error: {expected}\n"), "`{command}`");
        assert_eq!(run.stderr.lines().count(), 1, "one line");
        assert!(
            run.stdout.is_empty(),
            "`{command}` printed data: {}",
            run.stdout
        );
    }
    assert!(t.sandbox().requests().is_empty(), "no API call was made");
    assert!(!t.path("state").exists(), "nothing was written");
}

fn with_trimrx(yaml: &str) -> TestContext {
    let t = TestContext::bare(SandboxOptions::default());
    t.write("desired/trimrx.yaml", yaml);
    t
}

#[test]
fn a_valid_workspace_validates() {
    let t = TestContext::new();
    let run = t.run(&["validate"]).expect(0);
    assert_eq!(
        run.stdout,
        "Valid: 2 networks (directmeds, trimrx), 4 offers to carry; settings complete.\n"
    );
    assert!(
        t.sandbox().requests().is_empty(),
        "validate makes no network call"
    );
}

#[test]
fn the_minimal_desired_file_is_valid() {
    let t = with_trimrx("offers:\n  - source_offer_id: 1\n");
    t.run(&["validate"]).expect(0);
}

#[test]
fn invalid_yaml() {
    let t = with_trimrx("offers:\n  - source_offer_id: 1\n  name: misaligned\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:3:3: did not find expected '-' indicator, while parsing a block collection",
    );
}

#[test]
fn wrong_type() {
    let t = with_trimrx("offers:\n  - source_offer_id: one\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:2:22: offers[0].source_offer_id: invalid type: string \"one\", expected a positive integer offer id",
    );
}

#[test]
fn unknown_key() {
    let t = with_trimrx("offers:\n  - source_offer_id: 1\n    visiblity: public\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:3:5: offers[0]: unknown field `visiblity`, expected one of `source_offer_id`, `name`, `html_description`, `visibility`, `margin`, `paused`, `exclude_urls`, `geo`, `goals`",
    );
}

#[test]
fn unknown_enum_value() {
    let t = with_trimrx("visibility: everyone\noffers: []\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:1:13: visibility: unknown variant `everyone`, expected one of `public`, `require_approval`, `private`",
    );
}

#[test]
fn duplicate_offer_ids() {
    let t = with_trimrx("offers:\n  - source_offer_id: 7\n  - source_offer_id: 7\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:3:22: offers[1].source_offer_id: duplicate source_offer_id 7 (already listed as offer #1)",
    );
}

#[test]
fn margin_out_of_range_in_the_desired_file() {
    let t = with_trimrx("offers:\n  - source_offer_id: 1\n    margin: 1\n");
    assert_rejected(
        &t,
        &[],
        "desired/trimrx.yaml:3:13: offers[0].margin: margin must be at least 0 and less than 1, got 1",
    );
}

#[test]
fn margin_out_of_range_in_the_settings() {
    let t = with_trimrx("offers: []\n");
    assert_rejected(
        &t,
        &[("ISCALE_PAYOUT_MARGIN", "-0.1")],
        "invalid settings: `ISCALE_PAYOUT_MARGIN` must be at least 0 and less than 1, got -0.1",
    );
}

#[test]
fn missing_and_empty_settings_are_listed_at_once() {
    let t = with_trimrx("offers: []\n");
    t.write(".env.local", "TRIMRX_AFFILIATE_ID=\n");
    assert_rejected(
        &t,
        &[],
        "missing settings: `ISCALE_API_KEY`, `ISCALE_NETWORK_ID`, \
         `ISCALE_TRACKING_DOMAIN` (postback domain; `offersync setup` discovers it), \
         `TRIMRX_API_KEY` (the API key for desired/trimrx.yaml), `TRIMRX_AFFILIATE_ID` (empty), \
         `TRIMRX_ADVERTISER_ID`, `TRIMRX_VERIFICATION_TOKEN` (postback verification token); \
         set them in .env.local or the environment",
    );
}

#[test]
fn a_desired_file_whose_network_has_no_api_key() {
    let t = TestContext::new();
    t.write("desired/acme.yaml", "offers:\n  - source_offer_id: 1\n");
    assert_rejected(
        &t,
        &[],
        "missing settings: `ACME_API_KEY` (the API key for desired/acme.yaml), `ACME_AFFILIATE_ID`, \
         `ACME_ADVERTISER_ID`, `ACME_VERIFICATION_TOKEN` (postback verification token); \
         set them in .env.local or the environment",
    );
}

#[test]
fn a_verification_token_over_fifty_characters() {
    let t = with_trimrx("offers: []\n");
    let token = "v".repeat(51);
    assert_rejected(
        &t,
        &[("TRIMRX_VERIFICATION_TOKEN", token.as_str())],
        "invalid settings: `TRIMRX_VERIFICATION_TOKEN` is 51 characters long; Everflow accepts at most 50",
    );
}

#[test]
fn ids_must_be_positive_integers() {
    let t = with_trimrx("offers: []\n");
    assert_rejected(
        &t,
        &[("TRIMRX_ADVERTISER_ID", "thirteen")],
        "invalid settings: `TRIMRX_ADVERTISER_ID` must be a positive integer, got `thirteen`",
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let t = with_trimrx("offers: []\n");
    assert_rejected(
        &t,
        &[("EVERFLOW_API_URL", "http://api.eflow.team")],
        "invalid settings: `EVERFLOW_API_URL` uses plain http to `api.eflow.team`; plain http is allowed only to loopback",
    );
}

#[test]
fn a_broken_env_file_line_is_named_by_number() {
    let t = with_trimrx("offers: []\n");
    let env = t.read(".env.local");
    t.write(".env.local", &format!("{env}this line is broken\n"));
    let line = env.lines().count() + 1;
    assert_rejected(
        &t,
        &[],
        &format!(
            "{}:{line}: cannot parse this line: expected `NAME=value`",
            t.path(".env.local").display()
        ),
    );
}

#[test]
fn an_oddly_named_desired_file() {
    let t = TestContext::bare(SandboxOptions::default());
    t.write("desired/Trim Rx.yaml", "offers: []\n");
    assert_rejected(
        &t,
        &[],
        "desired/Trim Rx.yaml: the file name names the network: use lowercase letters, digits, `-` and `_` (e.g. desired/trimrx.yaml)",
    );
}

#[test]
fn a_missing_workspace() {
    let output = assert_cmd::cargo::cargo_bin_cmd!("offersync")
        .env_clear()
        .args(["-C", "/nonexistent/offersync", "validate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: workspace `/nonexistent/offersync` does not exist or is not a folder\n"
    );
}
