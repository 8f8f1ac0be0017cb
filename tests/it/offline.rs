//! `plan --refresh=false`: planning from what the last refreshing plan read, with no
//! request at all.

use crate::common::{DESIRED_DIRECTMEDS, TestContext, change_a_bit_of_everything};

const CACHE: &str = "state/.cache/plan-reads.json";

/// Runs an offline plan and checks it sent nothing.
#[track_caller]
fn offline_plan(t: &TestContext, code: i32) -> crate::common::Run {
    t.clear_log();
    let run = t
        .run(&["plan", "--refresh=false", "--detailed-exitcode"])
        .expect(code);
    let requests = t.sandbox().requests();
    assert!(
        requests.is_empty(),
        "an offline plan made {} requests: {:?}",
        requests.len(),
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    run
}

#[test]
fn an_offline_plan_sends_nothing_and_plans_what_the_refreshing_one_did() {
    let t = TestContext::new();
    t.apply_in_address_order();
    // Drift everywhere: source payouts and URLs, config, iScale edits, a token and a
    // pixel changed outside offersync.
    change_a_bit_of_everything(&t);
    let refreshing = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(t.path(CACHE).is_file(), "a refreshing plan keeps its reads");

    let offline = offline_plan(&t, 2);
    assert_eq!(offline.stdout, refreshing.stdout);
    assert!(
        offline.stderr.contains("without refreshing"),
        "{}",
        offline.stderr
    );
    let json_refreshing = t.run(&["plan", "--json"]).expect(0).stdout;
    let json_offline = t
        .run(&["plan", "--json", "--refresh=false"])
        .expect(0)
        .stdout;
    assert_eq!(json_offline, json_refreshing);

    // Field for field, not only where a change shows: a saved plan fingerprints the typed
    // views of each changed offer's source, iScale objects and pixels, which is all a plan
    // from the cache keeps of them.
    t.run(&["plan", "--out", "refreshing.json"]).expect(0);
    t.run(&["plan", "--refresh=false", "--out", "offline.json"])
        .expect(0);
    assert_eq!(t.read("offline.json"), t.read("refreshing.json"));
    // Applied from fresh reads: the cache's objects, views without their text, build no
    // request body.
    let apply = t.run(&["apply", "offline.json"]).expect(0);
    assert!(apply.stdout.contains("Apply complete"), "{}", apply.stdout);
}

#[test]
fn an_offline_plan_sees_config_changes_but_not_source_changes() {
    let t = TestContext::new();
    t.apply_in_address_order();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    offline_plan(&t, 0);

    // What the source says now is not seen offline; a config change is.
    t.sandbox()
        .set_source_payout("trimrx", 1, "Upsell", rust_decimal::Decimal::new(31050, 2))
        .unwrap();
    offline_plan(&t, 0);
    t.write(
        "desired/directmeds.yaml",
        &DESIRED_DIRECTMEDS.replace(
            "name: DirectMeds Online Pharmacy (RevShare)",
            "name: DirectMeds Pharmacy RevShare",
        ),
    );
    let offline = offline_plan(&t, 2);
    assert!(
        offline.stdout.contains("DirectMeds Pharmacy RevShare"),
        "{}",
        offline.stdout
    );
    assert!(!offline.stdout.contains("310.5"), "{}", offline.stdout);
}

#[test]
fn apply_forgets_the_cache_and_an_offline_plan_then_asks_for_a_refresh() {
    let t = TestContext::new();
    // Where there is no state folder yet, a plan leaves no cache either.
    t.run(&["plan"]).expect(0);
    assert!(!t.path("state").exists());
    t.apply_in_address_order();
    t.sandbox()
        .set_source_payout("trimrx", 1, "Upsell", rust_decimal::Decimal::new(31050, 2))
        .unwrap();
    t.run(&["plan"]).expect(0);
    assert!(t.path(CACHE).is_file());
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(!t.path(CACHE).exists(), "apply leaves no stale reads");

    let refused = offline_plan(&t, 1);
    assert!(
        refused.stderr.contains("no read cache") && refused.stderr.contains("offersync plan"),
        "{}",
        refused.stderr
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    offline_plan(&t, 0);
}

#[test]
fn an_offline_plan_refuses_what_the_cache_did_not_read() {
    let t = TestContext::new();
    t.apply_in_address_order();
    // The cache holds one network's reads only.
    t.run(&["plan", "--network", "trimrx"]).expect(0);
    let refused = offline_plan(&t, 1);
    assert!(
        refused.stderr.contains("does not hold"),
        "{}",
        refused.stderr
    );
    let narrow = t
        .run(&["plan", "--refresh=false", "--network", "trimrx"])
        .expect(0);
    assert!(narrow.stdout.contains("No changes"), "{}", narrow.stdout);

    // A cache from another format is refused, not misread.
    let text = t.read(CACHE).replacen("\"format\":1", "\"format\":999", 1);
    t.write(CACHE, &text);
    let refused = offline_plan(&t, 1);
    assert!(
        refused.stderr.contains("another version"),
        "{}",
        refused.stderr
    );
}

#[test]
fn the_cache_keeps_tokens_only_as_digests() {
    let t = TestContext::new();
    t.apply_in_address_order();
    t.run(&["plan"]).expect(0);
    let cache = t.read(CACHE);
    for source in &t.fixtures.sources {
        assert!(
            !cache.contains(&source.verification_token),
            "the token of {} is in the cache",
            source.name
        );
        assert!(!cache.contains(&source.api_key));
    }
    assert!(!cache.contains(&t.fixtures.destination.api_key));
    assert!(
        cache.contains("offersync-digest-"),
        "pixels and advertisers are cached"
    );
    // Put back on load: the managed tokens and pixels show no change.
    let offline = offline_plan(&t, 0);
    assert!(offline.stdout.contains("No changes"), "{}", offline.stdout);
}
