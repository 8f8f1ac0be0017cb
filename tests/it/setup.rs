//! `offersync setup`, driven by flags and the environment, and at a terminal.

use std::io::Write as _;

use offersync::sandbox::SandboxOptions;
use serde_json::Value;

use crate::common::TestContext;

/// A fresh workspace with no settings: only what setup itself needs in the environment.
fn bare() -> TestContext {
    let t = TestContext::bare(SandboxOptions::default());
    std::fs::remove_file(t.path(".env.local")).unwrap();
    t
}

fn keys(t: &TestContext) -> Vec<(String, String)> {
    vec![
        ("EVERFLOW_API_URL".to_owned(), t.sandbox_url()),
        (
            "ISCALE_API_KEY".to_owned(),
            t.fixtures.destination.api_key.clone(),
        ),
        (
            "TRIMRX_API_KEY".to_owned(),
            t.fixtures.sources[0].api_key.clone(),
        ),
        (
            "DIRECTMEDS_API_KEY".to_owned(),
            t.fixtures.sources[1].api_key.clone(),
        ),
    ]
}

fn setup(t: &TestContext, args: &[&str]) -> crate::common::Run {
    let keys = keys(t);
    let env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    t.run_with(&all, &env)
}

fn assert_no_key(t: &TestContext, text: &str) {
    for (name, value) in keys(t) {
        if name.ends_with("_KEY") {
            assert!(!text.contains(&value), "{name} was printed:\n{text}");
        }
    }
}

#[test]
fn setup_from_flags_writes_settings_and_starter_files() {
    let t = bare();
    let run = setup(
        &t,
        &[
            "--network",
            "trimrx",
            "--network",
            "directmeds",
            "--advertiser",
            "trimrx=13",
            "--advertiser",
            "directmeds=14",
        ],
    )
    .expect(0);
    assert_no_key(&t, &run.stdout);
    assert_no_key(&t, &run.stderr);
    assert!(
        run.stdout
            .contains("Wrote .env.local (mode 0600, keys not shown)"),
        "{}",
        run.stdout
    );

    let env = t.read(".env.local");
    for line in [
        "ISCALE_NETWORK_ID=7001",
        "TRIMRX_AFFILIATE_ID=42",
        "TRIMRX_ADVERTISER_ID=13",
        "DIRECTMEDS_AFFILIATE_ID=77",
        "DIRECTMEDS_ADVERTISER_ID=14",
        "ISCALE_TRACKING_DOMAIN=trk.iscale.test",
    ] {
        assert!(
            env.lines().any(|candidate| candidate == line),
            "{line} missing in:\n{env}"
        );
    }
    let token = env
        .lines()
        .find_map(|line| line.strip_prefix("TRIMRX_VERIFICATION_TOKEN="))
        .unwrap();
    assert_eq!(token.len(), 24, "a random token is proposed");
    assert!(!run.stdout.contains(token), "the token is not shown");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(t.path(".env.local"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let desired = t.read("desired/trimrx.yaml");
    assert!(desired.contains("offers: []"), "{desired}");
    assert!(
        desired.contains("#   - source_offer_id: 1  # TrimRx"),
        "{desired}"
    );

    // The result is a working workspace.
    t.run(&["validate"]).expect(0);
    // A second setup does not overwrite without --force.
    let again = setup(&t, &["--network", "trimrx", "--advertiser", "trimrx=13"]).expect(1);
    assert!(again.stderr.contains("pass --force"), "{}", again.stderr);
}

#[test]
fn without_a_terminal_missing_answers_name_their_flag_or_variable() {
    let t = bare();
    let run = setup(&t, &[]).expect(1);
    assert!(run.stderr.contains("pass --network"), "{}", run.stderr);
    let run = setup(&t, &["--network", "acme"]).expect(1);
    assert!(
        run.stderr
            .contains("no terminal to ask for `ACME_API_KEY`: set it in the environment"),
        "{}",
        run.stderr
    );
    assert!(!t.path(".env.local").exists(), "nothing written");
}

#[test]
fn without_a_terminal_the_advertiser_named_like_the_network_is_taken() {
    let t = bare();
    setup(&t, &["--network", "trimrx"]).expect(0);
    assert!(t.read(".env.local").contains("TRIMRX_ADVERTISER_ID=13"));
}

/// An applied workspace whose iScale offers exist, the first of them (lowest id, which
/// discovery picks) directmeds/12, which is not public.
fn applied() -> TestContext {
    let t = TestContext::new();
    t.apply_in_address_order();
    t
}

#[test]
fn discovery_makes_an_offer_public_for_one_link_and_puts_it_back() {
    let t = applied();
    t.clear_log();
    let run = setup(
        &t,
        &[
            "--force",
            "--network",
            "trimrx",
            "--advertiser",
            "trimrx=13",
        ],
    )
    .expect(0);
    assert!(
        run.stderr
            .contains("Tracking domain trk.iscale.test (from a tracking link for iScale offer"),
        "{}",
        run.stderr
    );
    let patches: Vec<String> = t
        .sandbox()
        .requests()
        .into_iter()
        .filter(|request| request.path == "/v1/networks/patch/offers/apply")
        .map(|request| {
            request.body.unwrap()["fields"][0]["field_value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(patches, ["public", "require_approval"]);
    // Only trimrx/2 is public, because its desired file says so.
    let public: Vec<Value> = t
        .sandbox()
        .destination_offers()
        .into_iter()
        .filter(|offer| offer["visibility"] == "public")
        .map(|offer| offer["name"].clone())
        .collect();
    assert_eq!(public, ["TrimRx - Tirzepatide Starter Plan"]);
    assert!(!t.path("state/visibility-restore.json").exists());
}

#[test]
fn discovery_puts_visibility_back_when_the_link_fails() {
    let t = applied();
    let first = t.sandbox().destination_offers()[0].clone();
    let id = first["network_offer_id"].as_u64().unwrap();
    let before = first["visibility"].clone();
    let run = setup(
        &t,
        &[
            "--force",
            "--network",
            "trimrx",
            "--advertiser",
            "trimrx=13",
            "--link-affiliate-id",
            "999999",
        ],
    )
    .expect(1);
    assert!(
        run.stderr.contains("discovering the tracking domain"),
        "{}",
        run.stderr
    );
    assert_eq!(
        t.sandbox().destination_offer(id).unwrap()["visibility"],
        before
    );
    assert!(!t.path("state/visibility-restore.json").exists());
}

#[test]
fn a_visibility_change_left_by_a_killed_setup_is_undone_by_the_next_apply() {
    let t = applied();
    let first = t.sandbox().destination_offers()[0].clone();
    let id = first["network_offer_id"].as_u64().unwrap();
    // What a setup killed between its PATCH and its restore leaves behind.
    t.sandbox()
        .edit_destination_offer(id, |offer| {
            offer.insert("visibility".into(), "public".into());
        })
        .unwrap();
    t.write(
        "state/visibility-restore.json",
        &format!("{{\"network_offer_id\": {id}, \"visibility\": \"require_approval\"}}\n"),
    );
    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stderr
            .contains("an interrupted setup left an iScale offer public"),
        "{}",
        plan.stderr
    );
    let apply = t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        apply
            .stderr
            .contains(&format!("put iScale offer {id} back to `require_approval`")),
        "{}",
        apply.stderr
    );
    assert_eq!(
        t.sandbox().destination_offer(id).unwrap()["visibility"],
        "require_approval"
    );
    assert!(!t.path("state/visibility-restore.json").exists());
}

#[test]
fn setup_at_a_terminal_asks_and_never_echoes_a_key() {
    let t = bare();
    let iscale = t.fixtures.destination.api_key.clone();
    let trimrx = t.fixtures.sources[0].api_key.clone();
    let command = format!(
        "{} -C '{}' setup",
        env!("CARGO_BIN_EXE_offersync"),
        t.root().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("EVERFLOW_API_URL", t.sandbox_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the binary at a pseudo-terminal");
    let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let screen = screen.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            loop {
                match std::io::Read::read(&mut stdout, &mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => screen.lock().unwrap().extend_from_slice(&buffer[..n]),
                }
            }
        })
    };
    // Like a person: answer each prompt once it shows (typing ahead would be echoed
    // by the terminal before the program turns echo off).
    let answers = [
        ("iScale Network API key (not shown):", iscale.as_str()),
        ("Source networks", "trimrx"),
        ("trimrx: Affiliate API key (not shown):", trimrx.as_str()),
        ("trimrx: advertiser id [13]:", ""),
        ("trimrx: postback verification token", ""),
    ];
    let stdin = child.stdin.as_mut().unwrap();
    for (prompt, answer) in answers {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !String::from_utf8_lossy(&screen.lock().unwrap()).contains(prompt) {
            assert!(std::time::Instant::now() < deadline, "no prompt `{prompt}`");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        writeln!(stdin, "{answer}").unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success());
    let output = std::process::Output {
        status,
        stdout: screen.lock().unwrap().clone(),
        stderr: Vec::new(),
    };
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("iScale Network API key (not shown):"),
        "{screen}"
    );
    assert!(screen.contains("trimrx: advertiser id [13]:"), "{screen}");
    assert!(screen.contains("Wrote .env.local"), "{screen}");
    assert!(
        !screen.contains(&iscale),
        "the iScale key was echoed:\n{screen}"
    );
    assert!(
        !screen.contains(&trimrx),
        "the trimrx key was echoed:\n{screen}"
    );
    let env = t.read(".env.local");
    assert!(env.contains("TRIMRX_ADVERTISER_ID=13"), "{env}");
    assert!(env.contains(&format!("TRIMRX_API_KEY={trimrx}")));
}
