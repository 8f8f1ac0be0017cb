//! What plan prints, for people (text), machines (JSON) and pull requests (Markdown),
//! snapshot-tested.

use rust_decimal::Decimal;

use crate::common::{TestContext, change_a_bit_of_everything};

#[test]
fn first_plan_in_every_format() {
    let t = TestContext::new();
    let text = t.run(&["plan"]).expect(0);
    let json = t.run(&["plan", "--json"]).expect(0);
    let markdown = t.run(&["plan", "--markdown"]).expect(0);
    t.insta_settings().bind(|| {
        insta::assert_snapshot!("first_plan_text", text.stdout);
        insta::assert_snapshot!("first_plan_json", json.stdout);
        insta::assert_snapshot!("first_plan_markdown", markdown.stdout);
    });
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["format_version"], 1);
    assert_eq!(parsed["summary"]["create"], 32);
}

#[test]
fn update_plan_in_every_format() {
    let t = TestContext::new();
    t.apply_in_address_order();
    t.sandbox()
        .set_source_payout("trimrx", 1, "Upsell", Decimal::new(31050, 2))
        .unwrap();
    t.write(
        "desired/directmeds.yaml",
        &crate::common::DESIRED_DIRECTMEDS.replace(
            "name: DirectMeds Online Pharmacy (RevShare)",
            "name: DirectMeds Pharmacy RevShare\n    html_description: |\n      <p>Revenue share on every order.</p>\n      <p>First 12 months.</p>",
        ),
    );
    let text = t.run(&["plan"]).expect(0);
    let json = t.run(&["plan", "--json"]).expect(0);
    let markdown = t.run(&["plan", "--markdown"]).expect(0);
    t.insta_settings().bind(|| {
        insta::assert_snapshot!("update_plan_text", text.stdout);
        insta::assert_snapshot!("update_plan_json", json.stdout);
        insta::assert_snapshot!("update_plan_markdown", markdown.stdout);
    });
}

#[test]
fn markdown_of_every_kind_of_change() {
    let t = TestContext::new();
    t.apply_in_address_order();
    change_a_bit_of_everything(&t);
    let markdown = t
        .run(&["plan", "--markdown", "--detailed-exitcode"])
        .expect(2);
    let mut settings = t.insta_settings();
    // Apply creates the pixels and URLs of several offers at once: their ids vary.
    settings.add_filter(r"(pixel|offer URL) \d+", "$1 [ID]");
    settings.bind(|| {
        insta::assert_snapshot!("every_kind_of_change_markdown", markdown.stdout);
    });
    // The token someone set in iScale is as secret as ours.
    assert!(!markdown.stdout.contains("someone-else-set-this"));
}

#[test]
fn no_changes_markdown_says_so() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let markdown = t.run(&["plan", "--markdown"]).expect(0);
    assert_eq!(
        markdown.stdout,
        "### offersync plan: no changes\n\nThe destination matches the desired config and the sources (4 managed offers).\n"
    );
}

#[test]
fn markdown_and_json_are_one_or_the_other() {
    let t = TestContext::new();
    let both = t.run(&["plan", "--json", "--markdown"]);
    assert_ne!(both.code, 0);
    assert!(both.stdout.is_empty(), "{}", both.stdout);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

#[test]
fn no_changes_json_is_an_empty_plan() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let json = t.run(&["plan", "--json", "--detailed-exitcode"]).expect(0);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["changes"], serde_json::json!([]));
    assert_eq!(parsed["summary"]["unchanged"], 4);
}
