//! Operating from Git and CI: saved plans applied exactly as reviewed.

use rust_decimal::Decimal;

use crate::common::{DESIRED_TRIMRX, TestContext};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A workspace where everything was applied once, and the log cleared.
fn applied() -> TestContext {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.clear_log();
    t
}

fn iscale_id(t: &TestContext, network: &str, offer: u64) -> u64 {
    t.read(&format!("state/{network}/{offer}/iscale_offer_id.txt"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_saved_plan_is_applied_exactly_and_without_asking() {
    let t = applied();
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", dec("370"))
        .unwrap();
    let plan = t
        .run(&["plan", "--out", "plan.json", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stderr.contains("Saved the plan to plan.json"),
        "{}",
        plan.stderr
    );
    assert!(t.writes().is_empty(), "planning writes nothing");

    // No terminal and no --auto-approve: a saved plan was reviewed already.
    let apply = t.run(&["apply", "plan.json"]).expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 0 created, 1 updated"),
        "{}",
        apply.stdout
    );
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].path,
        format!("/v1/networks/offers/{}", iscale_id(&t, "trimrx", 1))
    );

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty());
    // Applied already: its own writes moved iScale, so it cannot be applied twice.
    let again = t.run(&["apply", "plan.json"]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert!(
        again.stderr.contains("stale") && again.stderr.contains("trimrx/1"),
        "{}",
        again.stderr
    );
    assert!(t.writes().is_empty());
}

#[test]
fn a_stale_saved_plan_is_refused_naming_each_offer_and_why() {
    let t = applied();
    for (network, offer, entry, amount) in [
        ("trimrx", 1, "Base", "370"),
        ("trimrx", 2, "Base", "45"),
        ("directmeds", 12, "Base", "109.99"),
    ] {
        t.sandbox()
            .set_source_payout(network, offer, entry, dec(amount))
            .unwrap();
    }
    t.run(&["plan", "--out", "plan.json"]).expect(0);

    // After the review: the source moves again, and someone edits iScale.
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", dec("380"))
        .unwrap();
    let directmeds = iscale_id(&t, "directmeds", 12);
    t.sandbox()
        .edit_destination_offer(directmeds, |offer| {
            offer.insert("name".into(), "Renamed by hand".into());
        })
        .unwrap();
    t.clear_log();

    let refused = t.run(&["apply", "plan.json"]).expect(1);
    for expected in [
        "the saved plan plan.json is stale; nothing was applied",
        "trimrx/1: the source offer changed since the plan",
        "directmeds/12: it was edited in iScale since the plan",
        "--skip-stale",
    ] {
        assert!(
            refused.stderr.contains(expected),
            "{expected}: {}",
            refused.stderr
        );
    }
    assert!(!refused.stderr.contains("trimrx/2"), "{}", refused.stderr);
    assert!(t.writes().is_empty(), "a stale plan writes nothing");

    // With the flag: exactly the offer that did not move, as it was saved.
    let partial = t.run(&["apply", "plan.json", "--skip-stale"]).expect(0);
    assert!(
        partial
            .stderr
            .contains("skipping 2 stale offers of the saved plan"),
        "{}",
        partial.stderr
    );
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].path,
        format!("/v1/networks/offers/{}", iscale_id(&t, "trimrx", 2))
    );
    let plan = t.run(&["plan"]).expect(0);
    assert!(plan.stdout.contains("~ trimrx/1"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ directmeds/12"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("~ trimrx/2"), "{}", plan.stdout);
}

#[test]
fn a_config_change_after_the_plan_makes_its_offers_stale() {
    let t = applied();
    t.sandbox()
        .set_source_payout("directmeds", 12, "Base", dec("109.99"))
        .unwrap();
    t.run(&["plan", "--out", "plan.json"]).expect(0);
    let desired = t.read("desired/directmeds.yaml");
    t.write(
        "desired/directmeds.yaml",
        &desired.replace("margin: 0.15", "margin: 0.25"),
    );
    t.clear_log();
    let refused = t.run(&["apply", "plan.json"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("directmeds/12: its desired config or settings changed since the plan"),
        "{}",
        refused.stderr
    );
    assert!(t.writes().is_empty());

    // An offer removed from its desired file since (never applied) cannot be planned.
    let t = TestContext::new();
    t.run(&["plan", "--out", "plan.json", "--offer", "trimrx/2"])
        .expect(0);
    t.write("desired/trimrx.yaml", "offers:\n  - source_offer_id: 1\n");
    let refused = t.run(&["apply", "plan.json"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("trimrx/2: it is no longer in its desired file nor in state"),
        "{}",
        refused.stderr
    );
}

#[test]
fn what_is_not_a_saved_plan_is_refused_by_name() {
    let t = TestContext::new();
    t.write("plan.json", "{\"format_version\": 1, \"changes\": []}\n");
    let refused = t.run(&["apply", "plan.json"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("plan.json is not an offersync saved plan"),
        "{}",
        refused.stderr
    );
    t.write("plan.json", "<html>");
    let refused = t.run(&["apply", "plan.json"]).expect(1);
    assert!(refused.stderr.contains("not JSON"), "{}", refused.stderr);

    // The saved plan stands for its own scope.
    // Usage errors exit 1 like any error (2 means changes present).
    let usage = t.run(&["apply", "plan.json", "--offer", "trimrx/1"]);
    assert_eq!(usage.code, 1, "{}", usage.stderr);
    assert!(
        usage.stderr.contains("cannot be used with"),
        "{}",
        usage.stderr
    );
    let usage = t.run(&["apply", "--skip-stale", "--auto-approve"]);
    assert_eq!(usage.code, 1, "{}", usage.stderr);
    assert!(t.run(&["--help"]).expect(0).stdout.contains("Usage"));
    assert!(t.writes().is_empty());
}

/// The example `desired/trimrx.yaml` with a guards section, and without its offer 2
/// unless `offers` has it.
fn trimrx_with_guards(offers: &[u64], guards: &str) -> String {
    let mut desired = format!("guards:\n{guards}{DESIRED_TRIMRX}");
    if !offers.contains(&2) {
        desired = desired.replace("  - source_offer_id: 2\n    visibility: public\n", "");
        assert!(!desired.contains("source_offer_id: 2"), "{desired}");
    }
    desired
}

#[test]
fn small_setups_may_remove_offers_without_tripping_a_guard() {
    let t = applied();
    // Two managed offers, below the default minimum of 10: removing one pauses it.
    t.write("desired/trimrx.yaml", "offers:\n  - source_offer_id: 1\n");
    t.run(&["plan", "--detailed-exitcode"]).expect(2);
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(t.writes().len(), 1);
}

#[test]
fn a_mass_pause_trips_its_guard_until_the_run_allows_it() {
    let t = applied();
    t.write(
        "desired/trimrx.yaml",
        &trimrx_with_guards(&[1], "  min_managed_offers: 2\n"),
    );
    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(3);
    assert!(
        plan.stdout.contains("- trimrx/2  pause iScale offer"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains(
            "trimrx: the plan pauses 1 of 2 managed offers, more than the 30% allowed \
             (guards.max_paused_percent) (override: --allow-mass-pause)"
        ),
        "{}",
        plan.stderr
    );
    t.run(&["apply", "--auto-approve"]).expect(3);
    assert!(t.writes().is_empty(), "a guarded plan writes nothing");
    // On a pull request, the comment says why the check fails.
    let comment = t.run(&["plan", "--markdown"]).expect(3).stdout;
    assert!(
        comment.starts_with(
            "> [!CAUTION]\n> **offersync will not apply this plan**: it trips these safety guards.\n\
             > - trimrx: the plan pauses 1 of 2 managed offers, more than the 30% allowed \
             (guards.max\\_paused\\_percent) (override: --allow-mass-pause)\n"
        ),
        "{comment}"
    );

    t.run(&["plan", "--detailed-exitcode", "--allow-mass-pause"])
        .expect(2);
    t.run(&["apply", "--auto-approve", "--allow-mass-pause"])
        .expect(0);
    assert_eq!(t.writes().len(), 1);
    // The override was for that run only; nothing is left to guard.
    t.run(&["plan", "--detailed-exitcode"]).expect(0);

    // A higher limit lets the same kind of plan through without a flag.
    let t = applied();
    t.write(
        "desired/trimrx.yaml",
        &trimrx_with_guards(&[1], "  min_managed_offers: 2\n  max_paused_percent: 50\n"),
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(2);
}

#[test]
fn a_source_that_stops_showing_offers_trips_the_shrink_guard() {
    let t = applied();
    t.write(
        "desired/trimrx.yaml",
        &trimrx_with_guards(
            &[1, 2],
            "  min_managed_offers: 2\n  max_paused_percent: 100\n",
        ),
    );
    // Our approval on trimrx/1 is withdrawn: the source answers 404.
    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            offer.insert("visibility".into(), "private".into());
            offer["relationship"]["offer_affiliate_status"] = "rejected".into();
        })
        .unwrap();
    let plan = t.run(&["plan"]).expect(3);
    assert!(
        plan.stderr.contains(
            "trimrx: the source no longer gives 1 of 2 managed offers, more than the 30% allowed"
        ),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("--allow-source-shrink"),
        "{}",
        plan.stderr
    );
    assert!(
        !plan.stderr.contains("--allow-mass-pause"),
        "{}",
        plan.stderr
    );
    t.run(&["apply", "--auto-approve", "--allow-source-shrink"])
        .expect(0);
    assert_eq!(t.writes().len(), 1);
}

#[test]
fn a_margin_below_the_minimum_trips_its_guard() {
    let t = applied();
    let desired = t.read("desired/directmeds.yaml");
    t.write(
        "desired/directmeds.yaml",
        &desired.replace(
            "margin: 0.15\n",
            "margin: 0.15\nguards:\n  min_margin: 0.18\n",
        ),
    );
    t.sandbox()
        .set_source_payout("directmeds", 12, "Base", dec("109.99"))
        .unwrap();
    let plan = t.run(&["plan"]).expect(3);
    assert!(
        plan.stderr.contains(
            "directmeds/12: its payouts keep a margin of 0.15, below the minimum 0.18 \
             (guards.min_margin) (override: --allow-low-margin)"
        ),
        "{}",
        plan.stderr
    );
    // directmeds/15 keeps 0.20, and is not changing anyway.
    assert!(!plan.stderr.contains("directmeds/15"), "{}", plan.stderr);
    t.run(&["apply", "--auto-approve"]).expect(3);
    assert!(t.writes().is_empty());
    t.run(&["apply", "--auto-approve", "--allow-low-margin"])
        .expect(0);
    assert_eq!(t.writes().len(), 1);
}

#[test]
fn a_payout_rising_too_far_trips_its_guard() {
    let t = applied();
    // 350 -> 800 at the source: the payout goes 280.00 -> 640.00, +128.57%.
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", dec("800"))
        .unwrap();
    let plan = t.run(&["plan"]).expect(3);
    assert!(
        plan.stderr.contains(
            "trimrx/1 offer: events[\"Base\"].payout_amount rises from 280.00 to 640.00 \
             (+128.57%), more than the 100% allowed (guards.max_payout_rise_percent)"
        ),
        "{}",
        plan.stderr
    );
    t.run(&["apply", "--auto-approve"]).expect(3);
    assert!(t.writes().is_empty());
    // A saved plan is guarded at apply too.
    t.run(&["plan", "--out", "plan.json", "--allow-payout-rise"])
        .expect(0);
    t.run(&["apply", "plan.json"]).expect(3);
    assert!(t.writes().is_empty());
    t.run(&["apply", "plan.json", "--allow-payout-rise"])
        .expect(0);
    assert_eq!(t.writes().len(), 1);

    // A wider limit in the desired file lets it through.
    let t = applied();
    t.write(
        "desired/trimrx.yaml",
        &trimrx_with_guards(&[1, 2], "  max_payout_rise_percent: 150\n"),
    );
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", dec("800"))
        .unwrap();
    t.run(&["plan", "--detailed-exitcode"]).expect(2);
}

#[test]
fn progress_bars_never_reach_logs() {
    // Off a terminal (CI logs, files), apply prints one line per change and no bar.
    let t = TestContext::new();
    let apply = t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply.stderr.contains("trimrx/1: created iScale offer"),
        "{}",
        apply.stderr
    );
    assert!(!apply.stderr.contains('\r'), "{:?}", apply.stderr);
    assert!(!apply.stderr.contains("applying ["), "{}", apply.stderr);
    let plan = t.run(&["plan"]).expect(0);
    assert!(!plan.stderr.contains('\r'), "{:?}", plan.stderr);
}

#[test]
fn shell_completions_cover_every_command_and_parse() {
    let t = TestContext::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = t.run(&["completions", shell]).expect(0).stdout;
        for word in [
            "plan",
            "apply",
            "allow-mass-pause",
            "skip-stale",
            "detailed-exitcode",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    // The bash script is valid bash (syntax check only, nothing runs).
    let script = t.run(&["completions", "bash"]).expect(0).stdout;
    t.write("offersync.bash", &script);
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(t.path("offersync.bash"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every `offersync` command in a shell script, cut at shell operators.
fn offersync_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in script.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("offersync ") {
            let starts_word = at == 0 || rest[..at].ends_with([' ', '(', '|', '&', ';']);
            let command = &rest[at..];
            let end = command
                .find(['>', '|', ';', ')', '&'])
                .unwrap_or(command.len());
            if starts_word {
                commands.push(
                    command[..end]
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                );
            }
            rest = &command[end.max(1)..];
        }
    }
    commands
}

#[test]
fn the_documented_workflow_runs_real_commands() {
    let text = include_str!("../../docs/github-actions/offersync.yml");
    let workflow: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    let mut commands = Vec::new();
    for (name, job) in workflow["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().unwrap() {
            if let Some(script) = step.get("run").and_then(serde_yaml::Value::as_str) {
                commands.extend(offersync_commands(script));
            }
        }
        assert!(
            job["steps"].as_sequence().unwrap().len() >= 3,
            "{name:?} has its steps"
        );
    }
    let shown: Vec<String> = commands.iter().map(|command| command.join(" ")).collect();
    assert_eq!(
        shown,
        [
            "offersync plan --out plan.json --markdown --detailed-exitcode",
            "offersync apply plan.json",
            "offersync plan --markdown --detailed-exitcode",
        ]
    );
    for command in commands {
        if let Err(error) = <offersync::cli::Cli as clap::Parser>::try_parse_from(&command) {
            panic!("`{}` does not parse: {error}", command.join(" "));
        }
    }
}
