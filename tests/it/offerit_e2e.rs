//! The Offerit destination end to end (issue 8): the real binary against the sandbox's
//! Offerit install, with DirectMeds sent to Offerit and TrimRx still to iScale.

use std::collections::BTreeMap;

use offersync::sandbox::{Faults, LoggedRequest, SandboxOptions};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::TestContext;

/// DirectMeds sent to Offerit, with its Refill event as goal 3 (what the demo runs).
const DIRECTMEDS_TO_OFFERIT: &str = include_str!("../../docs/examples/directmeds-offerit.yaml");

fn offerit_workspace() -> TestContext {
    let t = TestContext::new();
    t.write("desired/directmeds.yaml", DIRECTMEDS_TO_OFFERIT);
    t
}

/// The Offerit requests logged since the log was last cleared.
fn offerit_calls(t: &TestContext) -> Vec<LoggedRequest> {
    t.sandbox()
        .requests()
        .into_iter()
        .filter(|request| request.offerit_call().is_some())
        .collect()
}

/// Offerit calls by `endpoint/action`.
fn offerit_counts(t: &TestContext) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in offerit_calls(t) {
        *counts
            .entry(call.offerit_call().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(call, count)| ((*call).to_owned(), *count))
        .collect()
}

/// The Offerit offer state records for a DirectMeds offer.
fn offerit_offer(t: &TestContext, source_offer_id: u64) -> Value {
    let id: u64 = t
        .read(&format!(
            "state/directmeds/{source_offer_id}/offerit_offer_id.txt"
        ))
        .trim()
        .parse()
        .unwrap();
    t.sandbox()
        .offerit_offer(id)
        .expect("the offer exists in the sandbox's Offerit")
}

fn affiliate_id(t: &TestContext) -> u64 {
    t.fixtures
        .sources
        .iter()
        .find(|source| source.name == "directmeds")
        .unwrap()
        .affiliate_id
}

/// Without `OFFERIT_API_KEY` the workspace cannot be planned, and the error names it.
#[track_caller]
fn refused_without_the_offerit_key(t: &TestContext) {
    t.keep_settings(|line| !line.starts_with("OFFERIT_API_KEY="));
    let error = t.run(&["plan"]).expect(1);
    assert!(
        error.stderr.contains("`OFFERIT_API_KEY`"),
        "{}",
        error.stderr
    );
}

#[test]
fn plan_apply_creates_each_offer_once_and_a_second_plan_sends_nothing() {
    let t = offerit_workspace();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("+ directmeds/12  create Offerit offer"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("flat_amount_per_conversion  84.99  # source 99.99 x (1 - 0.15) = 84.99"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "directmeds: Offerit has no API that reads an offer back: edits made in Offerit \
             are not visible to offersync"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "directmeds/12: not carried to Offerit: creatives `ED Skyscraper 300x600`, `ED Text Link`; \
             1 custom payout rule"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        offerit_calls(&t).is_empty(),
        "a plan asks Offerit nothing: {:?}",
        offerit_calls(&t)
    );

    t.run(&["apply", "--auto-approve"]).expect(0);
    // Two offers, the two further landing pages of offer 12 and its goal.
    assert_eq!(
        offerit_counts(&t),
        counts(&[
            ("offer/add_offer", 2),
            ("offer/add_landing_page", 2),
            ("offer/set_offer_goals", 1),
        ])
    );
    let offerit = t.sandbox().offerit().unwrap();
    assert_eq!(offerit["offers"].as_array().unwrap().len(), 2, "{offerit}");

    let affid = affiliate_id(&t);
    let visit = offerit_offer(&t, 12);
    assert_eq!(visit["status"], "active");
    assert_eq!(
        visit["fields"],
        json!({
            "name": "DirectMeds - ED Treatment Online Visit",
            "offer_description": "<p>Discreet online visit for ED treatment (sildenafil, tadalafil). Pays per completed paid visit.</p><p>Refill event fires on the first refill.</p>",
            "authorized": "US",
            "advertiserid": "4004",
            "advertiser_cost_type": "conversion",
            "advertiser_cost_flat": "99.99",
            // 99.99 x (1 - 0.15) = 84.9915, rounded down.
            "commission_type": "cpa",
            "flat_amount_per_conversion": "84.99",
            "url": format!("https://www.directmeds.test/ed?uid=0&oid=12&affid={affid}&sub5=%%click_hash%%"),
            "preview_url": "https://www.directmeds.test/ed",
            "thumb_url": format!("{}/_sandbox/web/directmeds/ed-256x256.jpg", t.sandbox_url()),
        })
    );
    assert_eq!(
        visit["goals"],
        json!([{
            "offer_goal_id": 1,
            "goal_id": 3,
            "fields": {
                "goal_id": "3",
                "commission_type": "flat",
                "amount": "38.25",
                "revenue_type": "conversion",
                "revenue_amount": "45.00"
            }
        }])
    );
    let pages: Vec<Value> = visit["landing_pageids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            t.sandbox()
                .offerit_landing_page(id.as_u64().unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(
        pages.len(),
        3,
        "the default page and one per further source URL"
    );
    assert_eq!(
        pages[2]["fields"],
        json!({
            "name": "ED Discreet Checkout",
            "url": format!("https://www.directmeds.test/ed/discreet-checkout?uid=1202&oid=12&affid={affid}&sub5=%%click_hash%%"),
        })
    );

    let revshare = offerit_offer(&t, 15);
    assert_eq!(revshare["fields"]["commission_type"], "cps");
    assert_eq!(revshare["fields"]["advertiser_cost_type"], "sale");
    assert_eq!(
        revshare["fields"]["percentage_of_customer_conversion"],
        "26.66"
    );
    assert_eq!(revshare["fields"]["authorized"], "CA,US");

    // The source pixels post Offerit's click hash back to its process_pixel.php.
    let domain = &t.fixtures.offerit.as_ref().unwrap().tracking_domain;
    let pixels: Vec<Value> = t
        .sandbox()
        .source_pixels("directmeds")
        .into_iter()
        .filter(|pixel| pixel["pixel_status"] == "active")
        .collect();
    assert_eq!(pixels.len(), 2, "{pixels:?}");
    for pixel in &pixels {
        assert_eq!(pixel["pixel_type"], "conversion");
        assert_eq!(
            pixel["postback_url"],
            format!("https://{domain}/signup/process_pixel.php?click_hash={{sub5}}")
        );
    }

    // State records ids and what was applied, and no iScale id file.
    let state: Value = serde_json::from_str(&t.read("state/directmeds/12/state.json")).unwrap();
    assert_eq!(
        state["offerit"]["values"]["flat_amount_per_conversion"],
        "84.99"
    );
    assert_eq!(state["urls"].as_object().unwrap().len(), 2);
    assert!(!t.path("state/directmeds/12/iscale_offer_id.txt").exists());
    assert!(!t.path("state/directmeds/12/offerit_pending.json").exists());

    t.clear_log();
    let again = t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(t.writes().is_empty(), "{:?}", t.writes());
    assert!(
        offerit_calls(&t).is_empty(),
        "a plan sends Offerit nothing: {:?}",
        offerit_calls(&t)
    );
}

#[test]
fn a_source_payout_change_sends_exactly_one_edit_offer_with_the_new_commission() {
    let t = offerit_workspace();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = offerit_offer(&t, 12)["offerid"].clone();

    t.sandbox()
        .set_source_payout("directmeds", 12, "Base", Decimal::new(10999, 2))
        .unwrap();
    t.clear_log();
    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ directmeds/12  update Offerit offer {id}  (source changed)"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "flat_amount_per_conversion  84.99 -> 93.49  # source changed; source 109.99 x (1 - 0.15) = 93.49"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 1 to update, 0 to pause, 0 to delete"),
        "{}",
        plan.stdout
    );

    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].offerit_call(), Some("offer/edit_offer"));
    assert_eq!(
        writes[0].form,
        Some(json!({
            "offerid": id.to_string(),
            "advertiser_cost_flat": "109.99",
            "flat_amount_per_conversion": "93.49",
        }))
    );
    assert_eq!(
        offerit_offer(&t, 12)["fields"]["flat_amount_per_conversion"],
        "93.49"
    );

    t.clear_log();
    let again = t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(offerit_calls(&t).is_empty());
}

#[test]
fn an_offer_removed_from_the_desired_file_is_paused_never_deleted() {
    let t = offerit_workspace();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = offerit_offer(&t, 15)["offerid"].clone();

    t.write(
        "desired/directmeds.yaml",
        "destination: offerit\nmargin: 0.15\noffers:\n  - source_offer_id: 12\n    goals: {Refill: 3}\n",
    );
    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "- directmeds/15  pause Offerit offer {id}  (removed from the desired file)"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("offer_status  active -> paused"),
        "{}",
        plan.stdout
    );

    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(offerit_counts(&t), counts(&[("offer/pause_offer", 1)]));
    let paused = offerit_offer(&t, 15);
    assert_eq!(paused["status"], "paused");
    // Still there, with everything it had.
    assert_eq!(paused["fields"]["commission_type"], "cps");

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(offerit_calls(&t).is_empty());

    // Carried again: activated, not created anew.
    t.write("desired/directmeds.yaml", DIRECTMEDS_TO_OFFERIT);
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(offerit_counts(&t), counts(&[("offer/activate_offer", 1)]));
    assert_eq!(offerit_offer(&t, 15)["status"], "active");
}

#[test]
fn a_workspace_that_sends_everything_to_offerit_needs_no_iscale_setting() {
    let t = TestContext::bare(SandboxOptions::default());
    // No iScale settings, no iScale advertisers, no verification tokens.
    t.keep_settings(|line| {
        let iscale_advertiser =
            line.contains("_ADVERTISER_ID=") && !line.contains("_OFFERIT_ADVERTISER_ID=");
        !line.starts_with("ISCALE_") && !iscale_advertiser && !line.contains("_VERIFICATION_TOKEN=")
    });
    t.write("desired/directmeds.yaml", DIRECTMEDS_TO_OFFERIT);

    let valid = t.run(&["validate"]).expect(0);
    assert!(
        valid.stdout.starts_with("Valid: 1 network"),
        "{}",
        valid.stdout
    );
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        t.sandbox()
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/v1/networks")),
        "iScale is never called"
    );
    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);

    // A missing Offerit setting is named, with no value quoted.
    refused_without_the_offerit_key(&t);
}

#[test]
fn a_lost_add_offer_answer_is_never_sent_again() {
    let t = offerit_workspace();
    t.write(
        "desired/directmeds.yaml",
        "destination: offerit\npostbacks: false\noffers:\n  - source_offer_id: 15\n",
    );
    t.write("desired/trimrx.yaml", "offers: []\n");
    t.sandbox().set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let apply = t.run(&["apply", "--auto-approve"]).expect(1);
    assert!(
        apply
            .stderr
            .contains("directmeds/15 offer: Offerit may have made it, but the answer was lost"),
        "{}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("state/directmeds/15/offerit_pending.json"),
        "{}",
        apply.stderr
    );
    t.sandbox().set_faults(Faults::default());
    // It was made (the answer, not the create, was lost) and is not recorded.
    assert_eq!(
        t.sandbox().offerit().unwrap()["offers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!t.path("state/directmeds/15/state.json").exists());

    let plan = t.run(&["plan"]).expect(1);
    assert!(
        plan.stderr.contains(
            "directmeds/15: an earlier apply sent Offerit a create for offer and lost the answer"
        ),
        "{}",
        plan.stderr
    );
    let apply = t.run(&["apply", "--auto-approve"]).expect(1);
    assert!(apply.stderr.contains("lost the answer"), "{}", apply.stderr);
    assert_eq!(
        offerit_calls(&t)
            .iter()
            .filter(|call| call.offerit_call() == Some("offer/add_offer"))
            .count(),
        1,
        "add_offer went out once"
    );

    // Once someone has looked (and paused the copy in Offerit), removing the note lets
    // offersync create the offer.
    std::fs::remove_file(t.path("state/directmeds/15/offerit_pending.json")).unwrap();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(t.path("state/directmeds/15/state.json").exists());
}

#[test]
fn offerit_changes_read_in_json_and_markdown_and_a_dropped_url_is_made_private() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors = |plan: &Value| -> Vec<String> {
        validator
            .iter_errors(plan)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect()
    };
    let t = offerit_workspace();
    let first: Value = serde_json::from_str(
        &t.run(&["plan", "--network", "directmeds", "--json"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(errors(&first), Vec::<String>::new());
    let changes = first["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .all(|change| change["destination"] == "offerit")
    );
    let goals = changes
        .iter()
        .find(|change| change["resource"]["kind"] == "goals")
        .unwrap();
    assert_eq!(
        goals["fields"][2],
        json!({
            "field": "goals[\"Refill\"].amount",
            "before": null,
            "after": 38.25,
            "reasons": ["first_sync"],
            "lineage": "source 45.00 x (1 - 0.15) = 38.25"
        })
    );
    t.run(&["apply", "--auto-approve"]).expect(0);
    let page = t.read("state/directmeds/12/state.json");
    let page: Value = serde_json::from_str(&page).unwrap();
    let discreet = page["urls"]["1202"]["id"].as_u64().unwrap();

    // At the source: a payout rises and URL 1202 goes; in the file: offer 15 goes.
    let sandbox = t.sandbox();
    sandbox
        .set_source_payout("directmeds", 12, "Refill", Decimal::new(5000, 2))
        .unwrap();
    sandbox
        .edit_source_offer("directmeds", 12, |offer| {
            let relationship = offer.get_mut("relationship").unwrap();
            relationship["urls"]["entries"]
                .as_array_mut()
                .unwrap()
                .retain(|url| url["network_offer_url_id"] != 1202);
            // Its payout rule names it.
            relationship["custom_payout_settings"]["entries"] = json!([]);
        })
        .unwrap();
    t.write(
        "desired/directmeds.yaml",
        "destination: offerit\nmargin: 0.15\noffers:\n  - source_offer_id: 12\n    goals: {Refill: 3}\n",
    );
    let update: Value = serde_json::from_str(
        &t.run(&["plan", "--network", "directmeds", "--json"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(errors(&update), Vec::<String>::new());
    let kinds: Vec<(String, String)> = update["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (
                change["resource"]["kind"].as_str().unwrap().to_owned(),
                change["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("goals".to_owned(), "update".to_owned()),
            ("url".to_owned(), "delete".to_owned()),
            ("offer".to_owned(), "pause".to_owned()),
        ]
    );

    let markdown = t
        .run(&["plan", "--network", "directmeds", "--markdown"])
        .expect(0);
    for shown in [
        "set the goals of Offerit offer",
        &format!("make private landing page {discreet}"),
        "pause Offerit offer",
        // The goal's payout and revenue count like iScale's events'.
        "payouts +4.25, revenue +5.00",
    ] {
        assert!(
            markdown.stdout.contains(shown),
            "{shown}:\n{}",
            markdown.stdout
        );
    }
    let text = t.run(&["plan", "--network", "directmeds"]).expect(0);
    assert!(
        text.stdout
            .contains("goals[\"Refill\"].amount          38.25 -> 42.50  # source changed; source 50.00 x (1 - 0.15) = 42.50"),
        "{}",
        text.stdout
    );

    t.clear_log();
    let apply = t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply.stderr.contains(&format!(
            "directmeds/12 url[1202]: made private landing page {discreet}"
        )),
        "{}",
        apply.stderr
    );
    assert_eq!(
        offerit_counts(&t),
        counts(&[
            ("offer/edit_landing_page", 1),
            ("offer/pause_offer", 1),
            ("offer/set_offer_goals", 1),
        ])
    );
    assert_eq!(
        t.sandbox().offerit_landing_page(discreet).unwrap()["fields"]["private"],
        "1"
    );
    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(offerit_calls(&t).is_empty());
}

#[test]
fn removing_the_whole_offerit_file_pauses_its_offers_there() {
    let t = offerit_workspace();
    t.run(&["apply", "--auto-approve"]).expect(0);
    std::fs::remove_file(t.path("desired/directmeds.yaml")).unwrap();
    // Its network settings are no longer needed; Offerit's are, for the pause.
    t.keep_settings(|line| !line.starts_with("DIRECTMEDS_"));

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 2 to pause, 0 to delete"),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(offerit_counts(&t), counts(&[("offer/pause_offer", 2)]));

    refused_without_the_offerit_key(&t);
}

#[test]
fn a_network_moved_to_offerit_after_an_apply_to_iscale_is_refused_by_name() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve", "--network", "directmeds"])
        .expect(0);
    t.write("desired/directmeds.yaml", DIRECTMEDS_TO_OFFERIT);
    let plan = t.run(&["plan"]).expect(1);
    assert!(
        plan.stderr.contains(
            "directmeds/12: state records it in iScale, but desired/directmeds.yaml sends the \
             network's offers to Offerit; moving offers between destinations is not supported"
        ),
        "{}",
        plan.stderr
    );

    // What the hint says works: pause them where they are, put their state away, move.
    t.write("desired/directmeds.yaml", "offers: []\n");
    let pause = t
        .run(&["apply", "--auto-approve", "--network", "directmeds"])
        .expect(0);
    assert!(
        pause.stdout.contains("0 created, 0 updated, 2 paused"),
        "{}",
        pause.stdout
    );
    std::fs::rename(t.path("state/directmeds"), t.path("moved-directmeds")).unwrap();
    t.write("desired/directmeds.yaml", DIRECTMEDS_TO_OFFERIT);
    t.clear_log();
    t.run(&["apply", "--auto-approve", "--network", "directmeds"])
        .expect(0);
    assert_eq!(offerit_counts(&t)["offer/add_offer"], 2);
}

#[test]
fn an_offline_plan_reads_offerit_offers_from_state_too() {
    let t = offerit_workspace();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.run(&["plan"]).expect(0);
    t.clear_log();
    let offline = t
        .run(&["plan", "--refresh=false", "--detailed-exitcode"])
        .expect(0);
    assert!(
        offline.stdout.starts_with("No changes."),
        "{}",
        offline.stdout
    );
    assert!(
        t.sandbox().requests().is_empty(),
        "{:?}",
        t.sandbox().requests()
    );
}

#[test]
fn the_guards_watch_offerit_commissions_too() {
    let t = offerit_workspace();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.sandbox()
        .set_source_payout("directmeds", 12, "Base", Decimal::from(250))
        .unwrap();
    let plan = t.run(&["plan"]).expect(3);
    assert!(
        plan.stderr.contains(
            "directmeds/12 offer: flat_amount_per_conversion rises from 84.99 to 212.50 (+150.03%), \
             more than the 100% allowed"
        ),
        "{}",
        plan.stderr
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(3);
    assert!(offerit_calls(&t).is_empty(), "nothing applied");
    t.run(&["apply", "--auto-approve", "--allow-payout-rise"])
        .expect(0);
    assert_eq!(offerit_counts(&t), counts(&[("offer/edit_offer", 1)]));
}
