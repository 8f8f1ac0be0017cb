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
        // TrimRx goes to iScale, DirectMeds to Offerit.
        "+ directmeds/12  create Offerit offer  (first sync)",
        "+ trimrx/1  create iScale offer  (first sync)",
        "directmeds: Offerit has no API that reads an offer back: edits made in Offerit are not visible",
        "Plan: 25 to create, 1 to update, 0 to pause, 0 to delete; 0 offers unchanged.",
        // 1 of them lists trimrx's advertiser's offers, looking for offers an interrupted
        // run made; Offerit is asked nothing.
        "this plan sent 15 reads and 0 writes",
        "━━ 2. offersync apply --auto-approve ━━",
        "Apply complete: 25 created, 1 updated, 0 paused, 0 marked deleted.",
        "and 30 writes",
        "━━ 3. offersync plan (again: nothing to do) ━━",
        "No changes.",
        "━━ 4. At the source: trimrx raises the Base payout of offer 1 to 370.00; directmeds raises the Base payout of offer 12 to 109.99 ━━",
        "━━ 5. offersync plan (shows exactly those changes, and why) ━━",
        "flat_amount_per_conversion  84.99 -> 93.49  # source changed; source 109.99 x (1 - 0.15) = 93.49",
        "280.00 -> 296.00  # source changed; source 370.00 x (1 - 0.20) = 296.00",
        "Plan: 0 to create, 2 to update, 0 to pause, 0 to delete; 2 offers unchanged.",
        "━━ 6. offersync apply --auto-approve ━━",
        "Apply complete: 0 created, 2 updated, 0 paused, 0 marked deleted.",
    ];
    let mut rest = stdout.as_str();
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing or out of order in:\n{stdout}"));
        rest = &rest[at + step.len()..];
    }
    // One write per destination, in whichever order they finished.
    let sent = rest
        .lines()
        .find(|line| line.starts_with("[sandbox log] this apply sent"))
        .unwrap_or_else(|| panic!("the last apply's log line:\n{stdout}"));
    assert!(
        sent.contains("reads and 2 writes: ")
            && sent.contains("PUT /v1/networks/offers/")
            && sent.contains("PATCH /api/offer/edit_offer"),
        "{stdout}"
    );
    assert!(
        stdout.contains("this plan sent 18 reads and 0 writes\n\n━━ 4."),
        "the second plan wrote nothing:\n{stdout}"
    );
}
