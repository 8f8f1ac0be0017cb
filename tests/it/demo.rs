//! `offersync demo` tells the whole story on the built-in sandbox.

#[test]
fn demo_runs_the_whole_story() {
    let output = assert_cmd::cargo::cargo_bin_cmd!("offersync")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let steps = [
        "━━ 1. offersync plan ━━",
        "Plan: 32 to create, 2 to update, 0 to pause, 0 to delete; 0 offers unchanged.",
        // 2 of them list the advertisers' offers, looking for offers an interrupted run made.
        "this plan sent 17 reads and 0 writes",
        "━━ 2. offersync apply --auto-approve ━━",
        "Apply complete: 32 created, 2 updated, 0 paused, 0 marked deleted.",
        "and 41 writes",
        "━━ 3. offersync plan (again: nothing to do) ━━",
        "No changes.",
        "━━ 4. At the source: trimrx raises the Base payout of offer 1 to 370.00 ━━",
        "━━ 5. offersync plan (shows exactly that change, and why) ━━",
        "280.00 -> 296.00  # source changed; source 370.00 x (1 - 0.20) = 296.00",
        "Plan: 0 to create, 1 to update, 0 to pause, 0 to delete; 3 offers unchanged.",
        "━━ 6. offersync apply --auto-approve ━━",
        "Apply complete: 0 created, 1 updated, 0 paused, 0 marked deleted.",
    ];
    let mut rest = stdout.as_str();
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing or out of order in:\n{stdout}"));
        rest = &rest[at + step.len()..];
    }
    assert!(
        rest.contains("sent 21 reads and 1 write: PUT /v1/networks/offers/"),
        "{stdout}"
    );
    assert!(
        stdout.contains("this plan sent 20 reads and 0 writes\n\n━━ 4."),
        "the second plan wrote nothing:\n{stdout}"
    );
}
