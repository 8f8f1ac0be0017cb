//! No configured key or token may appear in any output, log or file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;

use offersync::sandbox::Faults;
use rust_decimal::Decimal;

use crate::common::TestContext;

fn secrets(t: &TestContext) -> Vec<String> {
    let mut secrets = vec![t.fixtures.destination.api_key.clone()];
    for source in &t.fixtures.sources {
        secrets.push(source.api_key.clone());
        secrets.extend(source.extra_api_keys.iter().cloned());
        secrets.push(source.verification_token.clone());
    }
    if let Some(offerit) = &t.fixtures.offerit {
        secrets.push(offerit.api_key.clone());
        secrets.push(offerit.api_username.clone());
    }
    secrets.retain(|secret| !secret.is_empty());
    assert!(
        secrets.len() >= 5,
        "the fixtures hold keys and tokens to look for"
    );
    secrets
}

#[track_caller]
fn assert_clean(secrets: &[String], what: &str, text: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret leaked into {what}:\n{text}"
        );
    }
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_command_prints_or_stores_a_secret() {
    let t = TestContext::new();
    let secrets = secrets(&t);
    let mut runs = vec![
        t.run(&["validate"]),
        t.run(&["plan"]),
        t.run(&["plan", "--json"]),
        t.run(&["plan", "--markdown"]),
        t.run(&["apply"]),
    ];
    // Retries, lost answers and adoption write their own messages: a faulty first apply
    // with every log line on, then one that finishes.
    t.sandbox().set_faults(Faults {
        error_rate: 0.3,
        drop_after_commit_rate: 0.2,
        burst_429: 2,
    });
    runs.push(t.run_with(&["apply", "--auto-approve"], &[("OFFERSYNC_LOG", "debug")]));
    t.sandbox().set_faults(Faults::default());
    runs.push(t.run(&["apply", "--auto-approve"]));
    t.sandbox()
        .set_source_payout("trimrx", 1, "Base", Decimal::from(360))
        .unwrap();
    runs.push(t.run(&["plan", "--detailed-exitcode"]));
    runs.push(t.run_with(&["apply", "--auto-approve"], &[("OFFERSYNC_LOG", "trace")]));
    runs.push(t.run(&["verify"]));
    runs.push(t.run(&[
        "postbacks",
        "report",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
    ]));
    t.sandbox()
        .set_advertiser_token(t.fixtures.sources[0].destination_advertiser_id, "x")
        .unwrap();
    runs.push(t.run(&["plan", "--json"]));
    // A saved plan that changes a token, and its apply.
    runs.push(t.run(&["plan", "--out", "plans/token.json"]).expect(0));
    runs.push(t.run(&["apply", "plans/token.json"]).expect(0));
    runs.push(t.run(&["verify"]));
    runs.push(t.run(&["schema"]));
    runs.push(t.run(&["demo"]));
    for run in &runs {
        assert_clean(&secrets, "stdout", &run.stdout);
        assert_clean(&secrets, "stderr", &run.stderr);
    }
    let mut files = Vec::new();
    files_under(&t.path("state"), &mut files);
    files_under(&t.path("schemas"), &mut files);
    files_under(&t.path("plans"), &mut files);
    assert!(files.len() > 10, "state was written: {files:?}");
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert_clean(&secrets, &file.display().to_string(), &text);
    }
}

/// The same for a network sent to Offerit: its key and username travel in headers only.
#[test]
fn the_offerit_key_and_username_are_never_printed_or_stored() {
    let t = TestContext::new();
    let secrets = secrets(&t);
    let offerit = t
        .fixtures
        .offerit
        .as_ref()
        .expect("the fixtures have an Offerit install");
    t.write(
        "desired/directmeds.yaml",
        "destination: offerit\noffers:\n  - source_offer_id: 12\n    goals: {Refill: 3}\n  - source_offer_id: 15\n",
    );
    let mut runs = vec![
        t.run(&["validate"]),
        t.run(&["plan"]),
        t.run(&["plan", "--json"]),
        t.run(&["plan", "--markdown"]),
        t.run(&["plan", "--out", "plans/first.json"]),
    ];
    // Lost answers and retries with every log line on, then an apply that finishes
    // (after the lost creates are let go of by hand).
    t.sandbox().set_faults(Faults {
        error_rate: 0.3,
        drop_after_commit_rate: 0.3,
        burst_429: 2,
    });
    runs.push(t.run_with(&["apply", "--auto-approve"], &[("OFFERSYNC_LOG", "trace")]));
    t.sandbox().set_faults(Faults::default());
    for id in [12, 15] {
        let _ =
            std::fs::remove_file(t.path(&format!("state/directmeds/{id}/offerit_pending.json")));
    }
    runs.push(t.run_with(&["apply", "--auto-approve"], &[("OFFERSYNC_LOG", "debug")]));
    t.sandbox()
        .set_source_payout("directmeds", 12, "Base", Decimal::from(120))
        .unwrap();
    runs.push(t.run(&["plan", "--out", "plans/update.json"]).expect(0));
    runs.push(t.run(&["apply", "plans/update.json"]).expect(0));
    runs.push(t.run(&["verify"]));
    // A wrong key: Offerit refuses, and the error names no key.
    runs.push(t.run_with(
        &["apply", "--auto-approve"],
        &[
            ("OFFERIT_API_KEY", "sbx_oi_admin_SomeoneElsesKey"),
            ("OFFERSYNC_LOG", "debug"),
        ],
    ));
    t.write(
        "desired/directmeds.yaml",
        "destination: offerit\noffers: []\n",
    );
    runs.push(t.run(&["apply", "--auto-approve"]));
    for run in &runs {
        assert_clean(&secrets, "stdout", &run.stdout);
        assert_clean(&secrets, "stderr", &run.stderr);
    }
    assert!(
        runs.iter()
            .any(|run| run.stdout.contains("pause Offerit offer")),
        "the runs reached Offerit"
    );
    let mut files = Vec::new();
    files_under(&t.path("state"), &mut files);
    files_under(&t.path("plans"), &mut files);
    assert!(
        files
            .iter()
            .any(|file| file.ends_with("offerit_offer_id.txt")),
        "state was written: {files:?}"
    );
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert_clean(&secrets, &file.display().to_string(), &text);
        assert!(!text.contains(&offerit.api_username), "{}", file.display());
    }
}

#[test]
fn the_sandbox_command_writes_its_settings_but_never_prints_them() {
    let t = TestContext::new();
    let secrets = secrets(&t);
    let env_out = t.path("sandbox.env");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_offersync"))
        // A bare file name, as the README shows it (relative to where it runs).
        .args(["sandbox", "--port", "0", "--env-out", "sandbox.env"])
        .current_dir(t.root())
        .env_clear()
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = String::new();
    while !lines.contains("listening on") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push_str(&line);
    }
    child.kill().unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child.wait().unwrap();
    assert!(
        lines.contains("Everflow sandbox listening on http://127.0.0.1:"),
        "{lines}"
    );
    assert_clean(&secrets, "sandbox stderr", &lines);
    assert_clean(&secrets, "sandbox stdout", &stdout);
    let written = std::fs::read_to_string(&env_out).unwrap();
    assert!(
        written.contains(&t.fixtures.destination.api_key),
        "the env file configures the sandbox"
    );
}

/// A server that echoes the key it was sent in a 400 body, as a broken proxy might.
fn echoing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut key = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("x-eflow-api-key:") {
                    key = line[line.len() - value.len()..].trim().to_owned();
                }
            }
            let body = format!(r#"{{"Error":"key {key} is not allowed here"}}"#);
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_key_echoed_back_by_a_server_is_masked() {
    let t = TestContext::new();
    let url = echoing_server();
    let run = t
        .run_with(&["plan"], &[("EVERFLOW_API_URL", url.as_str())])
        .expect(1);
    assert!(
        run.stderr
            .contains("HTTP 400: key ******** is not allowed here"),
        "{}",
        run.stderr
    );
    assert_clean(&secrets(&t), "stderr", &run.stderr);
}
