//! The offer resource end to end: the real binary against the sandbox.

use rust_decimal::Decimal;
use std::str::FromStr;

use std::collections::BTreeMap;

use crate::common::{TestContext, event};

/// Writes in the sandbox log by method and path, ids replaced by `{id}`.
pub fn write_counts(t: &TestContext) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for write in t.writes() {
        let path: Vec<&str> = write
            .path
            .split('/')
            .map(|part| {
                if part.parse::<u64>().is_ok() {
                    "{id}"
                } else {
                    part
                }
            })
            .collect();
        *counts
            .entry(format!("{} {}", write.method, path.join("/")))
            .or_default() += 1;
    }
    counts
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn amount(value: &serde_json::Value) -> Decimal {
    Decimal::from_str(&value.to_string()).unwrap()
}

#[test]
fn plan_apply_plan_converges_with_no_writes_when_in_sync() {
    let t = TestContext::new();

    let first = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        first.stdout.contains(
            "Plan: 32 to create, 2 to update, 0 to pause, 0 to delete; 0 offers unchanged."
        ),
        "{}",
        first.stdout
    );
    assert!(
        t.writes().is_empty(),
        "plan must not write: {:?}",
        t.writes()
    );
    assert!(
        !t.path("state/trimrx").exists(),
        "plan must not write state"
    );

    let apply = t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 32 created, 2 updated, 0 paused, 0 marked deleted."),
        "{}",
        apply.stdout
    );
    // 4 offers (each with its thumbnail in the same POST), 6 URLs, 3 rules, 5 creatives,
    // targeting of 4 offers (PATCH + PUT each), 7 uploads (4 thumbnails, 3 images), 6
    // pixels in the source networks and the 2 advertisers' tokens.
    let expected: BTreeMap<String, usize> = [
        ("PATCH /v1/networks/patch/advertiser/apply", 2),
        ("PATCH /v1/networks/patch/offers/apply", 4),
        ("POST /v1/affiliates/pixels", 6),
        ("POST /v1/networks/creatives", 5),
        ("POST /v1/networks/custom/payoutrevenue", 3),
        ("POST /v1/networks/offers", 4),
        ("POST /v1/networks/offerurls", 6),
        ("POST /v1/networks/uploads/temp", 7),
        ("PUT /v1/networks/offers/{id}/targeting", 4),
    ]
    .into_iter()
    .map(|(key, count)| (key.to_owned(), count))
    .collect();
    assert_eq!(write_counts(&t), expected);

    t.clear_log();
    let again = t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(t.writes().is_empty(), "{:?}", t.writes());
}

#[test]
fn apply_writes_the_rendered_offer_with_exact_money() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);

    let glp1 = t.destination_offer("trimrx", 1);
    assert_eq!(
        glp1["name"],
        "TrimRx - Compounded Semaglutide Weight Loss Program"
    );
    assert_eq!(glp1["network_advertiser_id"], 13);
    assert_eq!(glp1["visibility"], "require_approval");
    assert_eq!(glp1["offer_status"], "active");
    assert_eq!(
        glp1["destination_url"],
        "https://start.trimrx.test/semaglutide?oid=1&affid=42&sub5={transaction_id}"
    );
    let base = event(&glp1, "Base");
    assert_eq!(base["is_default"], true);
    assert_eq!(amount(&base["revenue_amount"]), dec("350"));
    assert_eq!(amount(&base["payout_amount"]), dec("280"));
    assert_eq!(amount(&event(&glp1, "Upsell")["payout_amount"]), dec("232"));

    // 120.50 at 0.20 -> 96.40
    let starter = t.destination_offer("trimrx", 2);
    assert_eq!(
        amount(&event(&starter, "Base")["payout_amount"]),
        dec("96.40")
    );
    assert_eq!(starter["visibility"], "public");

    // 99.99 at 0.15 (the network's margin) -> 84.99, rounded down
    let ed = t.destination_offer("directmeds", 12);
    assert_eq!(amount(&event(&ed, "Base")["payout_amount"]), dec("84.99"));
    assert_eq!(amount(&event(&ed, "Base")["revenue_amount"]), dec("99.99"));

    // 33.33% at 0.20 -> 26.66%
    let revshare = t.destination_offer("directmeds", 15);
    let base = event(&revshare, "Base");
    assert_eq!(base["payout_type"], "cps");
    assert_eq!(amount(&base["payout_percentage"]), dec("26.66"));
    assert_eq!(amount(&base["revenue_percentage"]), dec("33.33"));

    let entries = revshare["relationship"]["payout_revenue"]["entries"]
        .as_array()
        .unwrap();
    assert_eq!(
        entries.iter().filter(|e| e["is_default"] == true).count(),
        1
    );
}

#[test]
fn state_records_ids_and_fingerprints_stably() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id: u64 = t
        .read("state/trimrx/1/iscale_offer_id.txt")
        .trim()
        .parse()
        .unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&t.read("state/trimrx/1/state.json")).unwrap();
    assert_eq!(state["offer"]["id"], id);
    assert_eq!(state["format_version"], 1);
    assert!(state["offer"]["fields"]["name"].is_string());
    for file in ["offer.json", "url_mapping.json", "create_payload.json"] {
        assert!(
            t.path(&format!("state/trimrx/1/{file}")).is_file(),
            "{file}"
        );
    }
    let mapping: serde_json::Value =
        serde_json::from_str(&t.read("state/trimrx/1/url_mapping.json")).unwrap();
    assert_eq!(
        mapping[0]["landing_page"],
        "https://start.trimrx.test/semaglutide"
    );

    // A plan leaves the committed files exactly as they were.
    let before = t.read("state/trimrx/1/state.json");
    t.run(&["plan"]).expect(0);
    assert_eq!(t.read("state/trimrx/1/state.json"), before);
}

#[test]
fn a_source_payout_change_sends_one_put_and_keeps_unmanaged_edits() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id: u64 = t
        .read("state/trimrx/1/iscale_offer_id.txt")
        .trim()
        .parse()
        .unwrap();
    let base_event_id =
        event(&t.destination_offer("trimrx", 1), "Base")["network_offer_payout_revenue_id"].clone();

    // An iScale user edits a field offersync does not manage.
    t.sandbox()
        .edit_destination_offer(id, |offer| {
            offer.insert("internal_notes".into(), "negotiated by Dana".into());
        })
        .unwrap();
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", dec("370"))
        .unwrap();
    t.clear_log();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ trimrx/1  update iScale offer {id}  (source changed)"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("280.00 -> 296.00  # source changed; source 370.00 x (1 - 0.20) = 296.00"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "Plan: 0 to create, 1 to update, 0 to pause, 0 to delete; 3 offers unchanged."
        )
    );

    t.run(&["apply", "--auto-approve"]).expect(0);
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "exactly one write: {writes:?}");
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].path, format!("/v1/networks/offers/{id}"));

    let offer = t.sandbox().destination_offer(id).unwrap();
    assert_eq!(
        offer["internal_notes"], "negotiated by Dana",
        "the PUT kept the unmanaged edit"
    );
    let base = event(&offer, "Base");
    assert_eq!(amount(&base["payout_amount"]), dec("296"));
    assert_eq!(amount(&base["revenue_amount"]), dec("370"));
    assert_eq!(
        base["network_offer_payout_revenue_id"], base_event_id,
        "the event keeps its id"
    );

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty());
}

#[test]
fn an_edit_in_iscale_to_a_managed_field_is_shown_as_drift_and_repaired() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let offer = t.destination_offer("directmeds", 12);
    let id = offer["network_offer_id"].as_u64().unwrap();
    t.sandbox()
        .edit_destination_offer(id, |offer| {
            offer.insert("name".into(), "Renamed by hand".into());
        })
        .unwrap();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains("~ name  \"Renamed by hand\" -> \"DirectMeds - ED Treatment Online Visit\"  # changed in iScale"),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(t.writes().len(), 1);
    assert_eq!(
        t.sandbox().destination_offer(id).unwrap()["name"],
        "DirectMeds - ED Treatment Online Visit"
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_config_change_is_attributed_to_the_config() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.write(
        "desired/trimrx.yaml",
        "offers:\n  - source_offer_id: 1\n    margin: 0.25\n  - source_offer_id: 2\n    visibility: public\n",
    );
    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("280.00 -> 262.50  # config changed; source 350.00 x (1 - 0.25) = 262.50"),
        "{}",
        plan.stdout
    );
}

#[test]
fn removing_an_offer_from_the_desired_file_pauses_it_once() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = t.destination_offer("trimrx", 2)["network_offer_id"]
        .as_u64()
        .unwrap();
    t.write("desired/trimrx.yaml", "offers:\n  - source_offer_id: 1\n");

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "- trimrx/2  pause iScale offer {id}  (removed from the desired file)"
        )),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let offer = t.sandbox().destination_offer(id).unwrap();
    assert_eq!(offer["offer_status"], "paused");
    assert_eq!(
        offer["name"], "TrimRx - Tirzepatide Starter Plan",
        "nothing else changed"
    );

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty());

    // Carried again: it comes back active.
    t.write("desired/trimrx.yaml", crate::common::DESIRED_TRIMRX);
    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("~ offer_status  paused -> active  # config changed"),
        "{}",
        plan.stdout
    );
}

#[test]
fn scope_filters_limit_what_is_planned() {
    let t = TestContext::new();
    // directmeds/12: offer, thumbnail, 2 URLs, a rule, 2 creatives, targeting, 2 pixels;
    // directmeds/15: offer, thumbnail, targeting, a pixel; and the advertiser's token.
    let plan = t.run(&["plan", "--network", "directmeds"]).expect(0);
    assert!(
        plan.stdout.contains("Plan: 14 to create, 1 to update"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("trimrx/"));
    let plan = t.run(&["plan", "--offer", "trimrx/2"]).expect(0);
    assert!(
        plan.stdout.contains("Plan: 7 to create, 1 to update"),
        "{}",
        plan.stdout
    );
    let plan = t
        .run(&["plan", "--offer", "trimrx/2", "--only", "urls,rules"])
        .expect(0);
    assert!(plan.stdout.contains("Plan: 2 to create"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("+ trimrx/2 url[201]"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ trimrx/2 rule[21:201]"),
        "{}",
        plan.stdout
    );
    let unknown = t.run(&["plan", "--offer", "trimrx/99"]).expect(1);
    assert_eq!(
        unknown.stderr,
        "error: offer `trimrx/99` is neither in desired/trimrx.yaml nor in state\n"
    );
    let unknown = t.run(&["plan", "--network", "nope"]).expect(1);
    assert_eq!(
        unknown.stderr,
        "error: no desired file or state for network `nope`\n"
    );
}

#[test]
fn apply_refuses_without_a_terminal_or_auto_approve() {
    let t = TestContext::new();
    let run = t.run(&["apply"]).expect(1);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(t.sandbox().requests().is_empty(), "refused before any call");
}

#[test]
fn a_second_apply_is_refused_while_the_workspace_is_locked() {
    let t = TestContext::new();
    let lock = offersync::lock::WorkspaceLock::acquire(&t.path("state"), "test holder").unwrap();
    let run = t.run(&["apply", "--auto-approve"]).expect(1);
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        run.stderr
    );
    assert!(t.writes().is_empty());
    drop(lock);
    t.run(&["apply", "--auto-approve"]).expect(0);
}

#[test]
fn unrunnable_and_invisible_source_offers_are_clear_errors() {
    let t = TestContext::new();
    t.write(
        "desired/trimrx.yaml",
        "offers:\n  - source_offer_id: 3\n  - source_offer_id: 4\n",
    );
    let run = t.run(&["plan"]).expect(1);
    assert_eq!(
        run.stderr,
        "error: 2 offers cannot be planned:\n  trimrx/3: the source network does not let us run this offer (400)\n  \
         trimrx/4: the source network does not show this offer to us (404)\n"
    );
}

#[test]
fn a_wrong_affiliate_id_is_caught_before_it_misattributes() {
    let t = TestContext::new();
    let run = t
        .run_with(&["plan"], &[("TRIMRX_AFFILIATE_ID", "41")])
        .expect(1);
    assert_eq!(
        run.stderr,
        "error: `TRIMRX_API_KEY` belongs to affiliate 42 in trimrx, but `TRIMRX_AFFILIATE_ID` is 41; \
         links would credit the wrong affiliate\n"
    );
}

/// Runs `offersync -C <workspace> apply` at a pseudo-terminal (util-linux `script`),
/// typing `answer` at the prompt.
fn apply_at_a_terminal(t: &TestContext, answer: &str) -> String {
    let command = format!(
        "{} -C '{}' apply",
        env!("CARGO_BIN_EXE_offersync"),
        t.root().display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{answer}\n").as_bytes())?;
            child.wait_with_output()
        })
        .expect("util-linux `script` runs the binary at a pseudo-terminal");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn apply_at_a_terminal_asks_and_only_yes_applies() {
    let t = TestContext::new();
    let declined = apply_at_a_terminal(&t, "y");
    assert!(
        declined.contains("Do you want to apply these changes? Only `yes` will be accepted."),
        "{declined}"
    );
    assert!(
        declined.contains("Apply cancelled; nothing was changed."),
        "{declined}"
    );
    assert!(t.writes().is_empty());

    let accepted = apply_at_a_terminal(&t, "yes");
    assert!(
        accepted.contains("Apply complete: 32 created, 2 updated, 0 paused, 0 marked deleted."),
        "{accepted}"
    );
    assert_eq!(t.writes().len(), 41);
}

#[test]
fn removing_a_whole_desired_file_pauses_its_offers_without_its_settings() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    std::fs::remove_file(t.path("desired/directmeds.yaml")).unwrap();
    // The network's own settings are no longer needed to pause what it left behind.
    t.keep_settings(|line| !line.starts_with("DIRECTMEDS_"));

    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains("- directmeds/12  pause iScale offer"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- directmeds/15  pause iScale offer"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "Plan: 0 to create, 0 to update, 2 to pause, 0 to delete; 2 offers unchanged."
        ),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(t.writes().len(), 2);
    assert_eq!(
        t.destination_offer("directmeds", 12)["offer_status"],
        "paused"
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_first_apply_shares_targeting_patches_and_event_id_lists() {
    let t = TestContext::with_fleet(3, offersync::sandbox::SandboxOptions::default());
    t.run(&["apply", "--auto-approve"]).expect(0);
    let requests = t.sandbox().requests();
    let patches: Vec<Vec<u64>> = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.path == "/v1/networks/patch/offers/apply")
        .map(|r| {
            let ids = &r.body.as_ref().unwrap()["network_offer_ids"];
            serde_json::from_value(ids.clone()).unwrap()
        })
        .collect();
    // One PATCH per distinct targeting (the copies of each network's offer share theirs),
    // naming every offer that has it; the PUT stays per offer.
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert!(patches.iter().all(|ids| ids.len() == 3), "{patches:?}");
    let counts = write_counts(&t);
    assert_eq!(counts["PUT /v1/networks/offers/{id}/targeting"], 6);
    // The new offers' event ids come from one list per advertiser (after the plan's
    // own list per advertiser), not from a read per offer.
    let reads = |path: &str| {
        requests
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    };
    assert_eq!(reads("/v1/networks/offers"), 4);
    let offer_reads = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/v1/networks/offers/"))
        .count();
    assert_eq!(offer_reads, 0);
    assert_eq!(counts["POST /v1/affiliates/pixels"], 12);

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty());
}
