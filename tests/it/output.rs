//! What plan prints, for people (text) and machines (JSON), snapshot-tested.

use rust_decimal::Decimal;

use crate::common::TestContext;

#[test]
fn first_plan_text_and_json() {
    let t = TestContext::new();
    let text = t.run(&["plan"]).expect(0);
    let json = t.run(&["plan", "--json"]).expect(0);
    t.insta_settings().bind(|| {
        insta::assert_snapshot!("first_plan_text", text.stdout);
        insta::assert_snapshot!("first_plan_json", json.stdout);
    });
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["format_version"], 1);
    assert_eq!(parsed["summary"]["create"], 32);
}

#[test]
fn update_plan_text_and_json() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
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
    t.insta_settings().bind(|| {
        insta::assert_snapshot!("update_plan_text", text.stdout);
        insta::assert_snapshot!("update_plan_json", json.stdout);
    });
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
