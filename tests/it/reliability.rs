//! Reliability: an apply that is throttled, half-failed, interrupted or killed never
//! leaves duplicates behind and converges on the next run.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::Duration;

use offersync::sandbox::{Faults, SandboxOptions};
use serde_json::Value;

use crate::common::TestContext;

/// Everything offersync manages that exists more than once in the sandbox: offers by
/// their marker label, and per offer the live (not deleted or inactive) URLs, rules and
/// creatives by name, and per source network the active pixels by offer, type and
/// event. Empty when there are no duplicates.
fn duplicates(t: &TestContext) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |key: String| *seen.entry(key).or_default() += 1;
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    for offer in t.sandbox().destination_offers() {
        let id = offer["network_offer_id"].as_u64().unwrap();
        for label in offer["labels"].as_array().into_iter().flatten() {
            count(format!("offer labelled {label}"));
        }
        for url in t.sandbox().destination_urls(id) {
            if text(&url, "url_status") != "deleted" {
                count(format!("offer {id} URL {}", text(&url, "name")));
            }
        }
        for rule in t.sandbox().destination_payout_rules(id) {
            if text(&rule, "custom_setting_status") != "deleted" {
                count(format!("offer {id} rule {}", text(&rule, "name")));
            }
        }
        for creative in t.sandbox().destination_creatives(id) {
            if text(&creative, "creative_status") != "deleted" {
                count(format!("offer {id} creative {}", text(&creative, "name")));
            }
        }
    }
    for network in ["trimrx", "directmeds"] {
        for pixel in t.sandbox().source_pixels(network) {
            if text(&pixel, "pixel_status") == "active" {
                count(format!(
                    "{network} pixel of offer {} {} {}",
                    pixel["network_offer_id"],
                    text(&pixel, "pixel_type"),
                    pixel["network_offer_payout_revenue_id"]
                ));
            }
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(key, n)| format!("{key} x{n}"))
        .collect()
}

/// How many offers, URLs, rules, creatives and pixels exist, to check that a test made
/// the whole fleet and not a part of it.
fn managed_count(t: &TestContext) -> usize {
    let offers = t.sandbox().destination_offers();
    let children: usize = offers
        .iter()
        .map(|offer| {
            let id = offer["network_offer_id"].as_u64().unwrap();
            t.sandbox().destination_urls(id).len()
                + t.sandbox().destination_payout_rules(id).len()
                + t.sandbox().destination_creatives(id).len()
        })
        .sum();
    let pixels: usize = ["trimrx", "directmeds"]
        .iter()
        .map(|network| t.sandbox().source_pixels(network).len())
        .sum();
    offers.len() + children + pixels
}

/// The writes of a clean apply of the example workspace.
const WRITES: usize = 41;

/// Of them, temp uploads (thumbnails and creative files): single-use files, not
/// resources.
const UPLOADS: usize = 7;

/// The writes in the sandbox's log that make or change a resource: a temp upload is
/// attached by the write that names it, and a creative's file goes up with its offer's
/// create, so a run stopped in between uploads it again next time.
fn resource_writes(t: &TestContext) -> usize {
    t.writes()
        .iter()
        .filter(|write| !write.path.ends_with("/uploads/temp"))
        .count()
}

/// What a clean apply of the example workspace makes (4 offers, 6 URLs, 3 rules, 5
/// creatives, 6 pixels).
const FLEET: usize = 24;

#[test]
fn an_offer_created_but_never_recorded_is_adopted_not_created_again() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    // As if the run had been killed right after the offer's POST: nothing recorded.
    std::fs::remove_dir_all(t.path("state/trimrx/1")).unwrap();
    t.clear_log();

    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("carries this offer's label `offersync:trimrx/1`"),
        "{}",
        plan.stdout
    );
    let apply = t.run(&["apply", "--auto-approve"]).expect(0);
    let creates: Vec<_> = t
        .writes()
        .into_iter()
        .filter(|write| write.method == "POST" && !write.path.ends_with("/uploads/temp"))
        .collect();
    assert!(
        creates.is_empty(),
        "created again: {creates:?}\n{}",
        apply.stdout
    );
    assert_eq!(duplicates(&t), Vec::<String>::new());
    assert!(t.path("state/trimrx/1/state.json").exists());

    t.clear_log();
    let again = t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(t.writes().is_empty());
}

#[test]
fn applies_converge_without_duplicates_on_a_faulty_sandbox() {
    let mut dropped = 0;
    for seed in [11, 2026, 51_121, 7_000_001] {
        let t = TestContext::with_options(SandboxOptions {
            faults: Faults {
                error_rate: 0.10,
                drop_after_commit_rate: 0.05,
                burst_429: 3,
            },
            seed,
            ..SandboxOptions::default()
        });
        let mut runs = Vec::new();
        while runs.len() < 6 {
            let run = t.run(&["apply", "--auto-approve"]);
            assert!(
                run.code == 0 || run.code == 1,
                "{}\n{}",
                run.stdout,
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            let done = run.code == 0;
            runs.push(run);
            if done {
                break;
            }
            // A burst of 429s between runs, as a busy shared bucket would give.
            t.sandbox().set_faults(Faults {
                burst_429: 3,
                ..t.sandbox().faults()
            });
        }
        assert_eq!(runs.last().unwrap().code, 0, "seed {seed}: {runs:#?}");
        dropped += t
            .sandbox()
            .requests()
            .iter()
            .filter(|request| request.fault.as_deref() == Some("drop_after_commit"))
            .count();
        t.sandbox().set_faults(Faults::default());
        assert_eq!(duplicates(&t), Vec::<String>::new(), "seed {seed}");
        assert_eq!(managed_count(&t), FLEET, "seed {seed}");

        t.clear_log();
        let plan = t.run(&["plan", "--detailed-exitcode"]).expect(0);
        assert!(
            plan.stdout.contains("No changes."),
            "seed {seed}: {}",
            plan.stdout
        );
        assert!(t.writes().is_empty(), "seed {seed}");
    }
    assert!(dropped > 0, "the seeds must drop some answers");
}

/// Starts `apply --auto-approve` without waiting for it, its output going to `output`.
fn start_apply(t: &TestContext, output: fn() -> Stdio) -> Child {
    t.process()
        .args(["apply", "--auto-approve"])
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap()
}

/// A small xorshift, so the kill moments are random but the same on every run.
struct Moments(u64);

impl Moments {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn applies_killed_at_random_moments_leave_no_duplicates() {
    let rounds: u64 = std::env::var("OFFERSYNC_KILL_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(20);
    let mut moments = Moments(0x0ff5_e75c_2026);
    for round in 0..rounds {
        // Latency keeps the run from racing far past the moment chosen to kill it.
        let t = TestContext::with_options(SandboxOptions {
            latency: Duration::from_millis(10),
            ..SandboxOptions::default()
        });
        // The moment: after so many writes, or (one round in ten) during the plan,
        // after so many reads. Counted from the sandbox's log, not from a clock.
        let after_writes = moments.next(WRITES as u64 + 10) as usize;
        let after_reads = 1 + moments.next(20) as usize;
        let mut child = start_apply(&t, Stdio::null);
        loop {
            let requests = t.sandbox().requests();
            let writes = requests.iter().filter(|request| request.is_write).count();
            let due = match after_writes {
                0..WRITES => writes > after_writes,
                _ => requests.len() >= after_reads,
            };
            if due || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        child.wait().unwrap();

        let finish = t.run(&["apply", "--auto-approve"]);
        assert_eq!(
            finish.code, 0,
            "round {round}\n{}\n{}",
            finish.stdout, finish.stderr
        );
        assert_eq!(duplicates(&t), Vec::<String>::new(), "round {round}");
        assert_eq!(managed_count(&t), FLEET, "round {round}");
        t.clear_log();
        let plan = t.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "round {round}\n{}", plan.stdout);
        assert!(t.writes().is_empty(), "round {round}");
    }
}

#[test]
fn a_second_apply_names_the_running_one_and_refuses() {
    let t = TestContext::with_options(SandboxOptions {
        latency: Duration::from_millis(30),
        ..SandboxOptions::default()
    });
    let mut first = start_apply(&t, Stdio::null);
    let pid = first.id();
    // Wait until the first run holds the lock (its pid is in the lock file).
    let lock = t.path("state/offersync.lock");
    while !std::fs::read_to_string(&lock).is_ok_and(|text| text.contains(&pid.to_string())) {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first apply ended early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = t.run(&["apply", "--auto-approve"]).expect(1);
    assert!(second.stderr.contains("locked"), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {pid}")),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn ctrl_c_stops_after_the_writes_in_flight_and_records_them() {
    let t = TestContext::with_options(SandboxOptions {
        latency: Duration::from_millis(30),
        ..SandboxOptions::default()
    });
    let child = start_apply(&t, Stdio::piped);
    while t.writes().len() < 10 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply interrupted:"), "{stdout}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(t.writes().len() < WRITES, "it stopped early");
    let written = resource_writes(&t);

    // Everything it wrote was recorded: nothing needs adopting, and finishing
    // makes exactly the resource writes it had left.
    let plan = t.run(&["plan"]).expect(0);
    assert!(!plan.stdout.contains("never recorded"), "{}", plan.stdout);
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(written + resource_writes(&t), WRITES - UPLOADS);
    assert_eq!(duplicates(&t), Vec::<String>::new());
}

/// Responses 429 in the sandbox log, by bucket.
fn throttled(t: &TestContext) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in t.sandbox().requests() {
        if request.status == 429 {
            *counts.entry(request.bucket).or_default() += 1;
        }
    }
    counts
}

#[test]
fn an_apply_spanning_many_rate_limit_windows_gets_no_429() {
    // Everflow's limits shrunk in time (2 s windows), so that a quick test still needs
    // several windows per bucket: 40 requests per window each.
    let t = TestContext::with_fleet(
        10,
        SandboxOptions {
            network_rate: 20,
            affiliate_rate: 20,
            window: Duration::from_secs(2),
            ..SandboxOptions::default()
        },
    );
    let env = [
        ("EVERFLOW_RATE_WINDOW", "2"),
        ("ISCALE_RATE_LIMIT", "20"),
        ("TRIMRX_RATE_LIMIT", "20"),
        ("DIRECTMEDS_RATE_LIMIT", "20"),
    ];
    t.run_with(&["apply", "--auto-approve"], &env).expect(0);
    let requests = t.sandbox().requests();
    let network = requests
        .iter()
        .filter(|r| r.bucket.starts_with("network"))
        .count();
    assert!(
        network > 3 * 40,
        "{network} requests fit in too few windows"
    );
    assert_eq!(throttled(&t), BTreeMap::new());
    assert_eq!(duplicates(&t), Vec::<String>::new());

    t.clear_log();
    t.run_with(&["plan", "--detailed-exitcode"], &env).expect(0);
    assert_eq!(throttled(&t), BTreeMap::new());
}

/// Acceptance figure of issue 5: 200 offers at Everflow's real limits (30 s windows).
/// Minutes long, so run on demand:
/// `cargo test --release --test it two_hundred_offers -- --ignored --nocapture`.
#[test]
#[ignore = "minutes long at Everflow's real limits; run on demand"]
#[allow(clippy::print_stderr)] // its figures are its output
fn two_hundred_offers_at_default_limits_get_no_429() {
    let t = TestContext::with_fleet(100, SandboxOptions::default());
    let started = std::time::Instant::now();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let applied = started.elapsed();
    let mut by_bucket: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for request in t.sandbox().requests() {
        let counts = by_bucket.entry(request.bucket).or_default();
        if request.is_write {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }
    eprintln!("apply of 200 offers: {applied:?}; (reads, writes) by bucket: {by_bucket:?}");
    assert_eq!(throttled(&t), BTreeMap::new());
    assert_eq!(duplicates(&t), Vec::<String>::new());

    t.clear_log();
    let started = std::time::Instant::now();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    eprintln!(
        "plan after it: {:?}, {} requests",
        started.elapsed(),
        t.sandbox().requests().len()
    );
    assert_eq!(throttled(&t), BTreeMap::new());
}
