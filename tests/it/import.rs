//! `offersync import`: offers synced by hand are taken over without being created again
//! and without a single write, and the next plan shows only what really differs.
//!
//! "By hand" here: an apply in the same workspace, whose state is then set aside and
//! whose offers lose the label offersync puts on what it creates, so that nothing but
//! what an operator's own offers would show is left to find them by.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::TestContext;

/// The example workspace applied, then made to look as if synced by hand: state moved
/// to `applied-state/` (for comparison), labels removed. Returns the iScale offer id of
/// each source offer, by `network/id`.
fn synced_by_hand() -> (TestContext, BTreeMap<String, u64>) {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let mut ids = BTreeMap::new();
    for (network, offer) in [
        ("trimrx", 1),
        ("trimrx", 2),
        ("directmeds", 12),
        ("directmeds", 15),
    ] {
        let id = t.destination_offer(network, offer)["network_offer_id"]
            .as_u64()
            .unwrap();
        ids.insert(format!("{network}/{offer}"), id);
        t.sandbox()
            .edit_destination_offer(id, |offer| {
                offer.remove("labels");
            })
            .unwrap();
        let labels = &t.sandbox().destination_offer(id).unwrap()["labels"];
        assert!(
            labels.as_array().is_none_or(Vec::is_empty),
            "the label is gone: {labels}"
        );
    }
    std::fs::rename(t.path("state"), t.path("applied-state")).unwrap();
    t.clear_log();
    (t, ids)
}

fn state_json(t: &TestContext, dir: &str, offer: &str) -> Value {
    serde_json::from_str(&t.read(&format!("{dir}/{offer}/state.json"))).unwrap()
}

/// Sets the payout of one event of an iScale offer, as a person would in the UI.
fn set_payout(t: &TestContext, id: u64, event: &str, amount: u64) {
    t.sandbox()
        .edit_destination_offer(id, |offer| {
            let entries = offer["payout_revenue"].as_array_mut().unwrap();
            let entry = entries
                .iter_mut()
                .find(|entry| entry["entry_name"] == event)
                .unwrap();
            entry["payout_amount"] = amount.into();
        })
        .unwrap();
}

#[test]
fn offers_synced_by_hand_are_imported_by_name_and_plan_no_changes() {
    let (t, ids) = synced_by_hand();

    let import = t.run(&["import"]).expect(0);
    assert!(t.writes().is_empty(), "import wrote: {:?}", t.writes());
    assert_eq!(
        import.stdout,
        format!(
            "directmeds/12: imported iScale offer {} (2 URLs, 1 rule, 2 creatives, 2 pixels)\n\
             directmeds/15: imported iScale offer {} (1 pixel)\n\
             trimrx/1: imported iScale offer {} (3 URLs, 1 rule, 2 creatives, 2 pixels)\n\
             trimrx/2: imported iScale offer {} (1 URL, 1 rule, 1 creative, 1 pixel)\n",
            ids["directmeds/12"], ids["directmeds/15"], ids["trimrx/1"], ids["trimrx/2"]
        )
    );
    assert!(
        import.stderr.contains("import cannot check it"),
        "{}",
        import.stderr
    );

    // What import recorded is what the apply recorded: the same ids, and fingerprints of
    // the same values (live here, applied there). Only where apply knows more (the
    // thumbnail it made itself) or less (event ids its create answer lacked) may differ.
    for offer in ["trimrx/1", "trimrx/2", "directmeds/12", "directmeds/15"] {
        let imported = state_json(&t, "state", offer);
        let applied = state_json(&t, "applied-state", offer);
        assert_eq!(imported["imported"], true);
        for key in ["urls", "rules", "creatives", "pixels", "targeting"] {
            assert_eq!(imported[key], applied[key], "{offer} {key}");
        }
        assert_eq!(imported["offer"]["id"], applied["offer"]["id"]);
        assert_eq!(imported["offer"]["fields"], applied["offer"]["fields"]);
        assert_eq!(
            imported["thumbnail"]["fields"],
            applied["thumbnail"]["fields"]
        );
        for file in ["offer.json", "url_mapping.json", "iscale_offer_id.txt"] {
            assert_eq!(
                t.read(&format!("state/{offer}/{file}")),
                t.read(&format!("applied-state/{offer}/{file}")),
                "{offer} {file}"
            );
        }
    }

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
    assert!(t.writes().is_empty(), "plan wrote: {:?}", t.writes());
}

#[test]
fn a_field_edited_by_hand_before_import_is_the_one_change_the_first_plan_shows() {
    let (t, ids) = synced_by_hand();
    let id = ids["trimrx/1"];
    set_payout(&t, id, "Base", 250);

    let import = t
        .run(&["import", "trimrx/1", "--iscale-offer", &id.to_string()])
        .expect(0);
    assert_eq!(
        import.stdout,
        format!("trimrx/1: imported iScale offer {id} (3 URLs, 1 rule, 2 creatives, 2 pixels)\n")
    );
    assert!(t.writes().is_empty());

    let plan = t
        .run(&[
            "plan",
            "--offer",
            "trimrx/1",
            "--detailed-exitcode",
            "--json",
        ])
        .expect(2);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{plan:#}");
    let fields = changes[0]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{plan:#}");
    assert_eq!(fields[0]["field"], r#"events["Base"].payout_amount"#);
    assert_eq!(fields[0]["before"], 250);
    assert_eq!(fields[0]["after"], 280);
    // Nobody changed the config: the value was found so at import.
    assert_eq!(
        fields[0]["reasons"],
        serde_json::json!(["not_applied_since_import"])
    );

    let text = t
        .run(&["plan", "--offer", "trimrx/1", "--detailed-exitcode"])
        .expect(2);
    assert!(
        text.stdout.contains(&format!(
            "~ trimrx/1  update iScale offer {id}  (not applied since import)"
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("trimrx/1: imported from iScale offer {id}")),
        "{}",
        text.stdout
    );

    t.run(&["apply", "--auto-approve", "--offer", "trimrx/1"])
        .expect(0);
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "one PUT: {writes:?}");
    assert_eq!(writes[0].path, format!("/v1/networks/offers/{id}"));
    // Applied in full: from now on the record is offersync's own.
    assert!(
        state_json(&t, "state", "trimrx/1")
            .get("imported")
            .is_none()
    );

    // A later edit in iScale is drift, like on any offer offersync made.
    set_payout(&t, id, "Base", 260);
    let drift = t
        .run(&["plan", "--offer", "trimrx/1", "--detailed-exitcode"])
        .expect(2);
    assert!(
        drift
            .stdout
            .contains("260.00 -> 280.00  # changed in iScale"),
        "{}",
        drift.stdout
    );
}

#[test]
fn bulk_import_leaves_an_ambiguous_name_alone_and_names_the_candidates() {
    let (t, ids) = synced_by_hand();
    let name_of = |id: u64| {
        t.sandbox().destination_offer(id).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (name, other_name) = (name_of(ids["trimrx/1"]), name_of(ids["trimrx/2"]));
    // Someone gave trimrx/2's offer trimrx/1's name: two offers could be trimrx/1, and
    // none has trimrx/2's.
    t.sandbox()
        .edit_destination_offer(ids["trimrx/2"], |offer| {
            offer.insert("name".into(), name.clone().into());
        })
        .unwrap();

    let import = t.run(&["import", "--network", "trimrx"]).expect(0);
    let (first, second) = if ids["trimrx/1"] < ids["trimrx/2"] {
        (ids["trimrx/1"], ids["trimrx/2"])
    } else {
        (ids["trimrx/2"], ids["trimrx/1"])
    };
    assert!(
        import.stdout.contains(&format!(
            "trimrx/1: ambiguous, not imported: iScale offers {first}, {second} all match `{name}`"
        )),
        "{}",
        import.stdout
    );
    assert!(
        import.stdout.contains(&format!(
            "trimrx/2: no match for `{other_name}`, will be created"
        )),
        "{}",
        import.stdout
    );
    assert!(
        import.stderr.contains("1 offer was not imported"),
        "{}",
        import.stderr
    );
    assert!(!t.path("state/trimrx/1").exists());
    assert!(!t.path("state/trimrx/2").exists());
    // `--network trimrx` leaves the other network alone.
    assert!(!t.path("state/directmeds").exists());
    assert!(t.writes().is_empty());
}

#[test]
fn import_refuses_what_it_cannot_take_over_and_says_why() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id_of = |offer: &str| {
        t.read(&format!("state/{offer}/iscale_offer_id.txt"))
            .trim()
            .to_owned()
    };
    let (trimrx_1, trimrx_2, directmeds_12) =
        (id_of("trimrx/1"), id_of("trimrx/2"), id_of("directmeds/12"));
    t.clear_log();

    let managed = t
        .run(&["import", "trimrx/1", "--iscale-offer", &trimrx_2])
        .expect(1);
    assert!(
        managed.stderr.contains(&format!(
            "trimrx/1 is already managed: state records iScale offer {trimrx_1}"
        )),
        "{}",
        managed.stderr
    );

    std::fs::remove_dir_all(t.path("state/trimrx/2")).unwrap();
    let claimed = t
        .run(&["import", "trimrx/2", "--iscale-offer", &trimrx_1])
        .expect(1);
    assert!(
        claimed.stderr.contains(&format!(
            "trimrx/2: iScale offer {trimrx_1} is already recorded for trimrx/1"
        )),
        "{}",
        claimed.stderr
    );

    let missing = t
        .run(&["import", "trimrx/2", "--iscale-offer", "987654"])
        .expect(1);
    assert!(
        missing
            .stderr
            .contains("trimrx/2: iScale offer 987654 does not exist"),
        "{}",
        missing.stderr
    );

    let unlisted = t
        .run(&["import", "trimrx/99", "--iscale-offer", &trimrx_2])
        .expect(1);
    assert!(
        unlisted
            .stderr
            .contains("`trimrx/99` is not in desired/trimrx.yaml"),
        "{}",
        unlisted.stderr
    );

    // directmeds/12's offer is another advertiser's: most likely a mistyped id.
    std::fs::remove_dir_all(t.path("state/directmeds/12")).unwrap();
    let other = t
        .run(&["import", "trimrx/2", "--iscale-offer", &directmeds_12])
        .expect(1);
    assert!(
        other.stderr.contains(&format!(
            "trimrx/2: iScale offer {directmeds_12} belongs to advertiser"
        )) && other.stderr.contains("`TRIMRX_ADVERTISER_ID`")
            && other.stderr.contains("--force"),
        "{}",
        other.stderr
    );
    assert!(!t.path("state/trimrx/2").exists());

    // Another run holds the workspace: import writes state, so it waits its turn.
    let lock = offersync::lock::WorkspaceLock::acquire(&t.path("state"), "test").unwrap();
    let locked = t
        .run(&["import", "trimrx/2", "--iscale-offer", &trimrx_2])
        .expect(1);
    assert!(locked.stderr.contains("locked"), "{}", locked.stderr);
    drop(lock);

    let forced = t
        .run(&[
            "import",
            "trimrx/2",
            "--iscale-offer",
            &directmeds_12,
            "--force",
        ])
        .expect(0);
    assert!(
        forced
            .stderr
            .contains("the next plan moves it to advertiser"),
        "{}",
        forced.stderr
    );
    assert_eq!(id_of("trimrx/2"), directmeds_12);
    assert!(t.writes().is_empty(), "{:?}", t.writes());
}

#[test]
fn import_dry_run_lists_what_it_would_import_and_writes_nothing() {
    let (t, ids) = synced_by_hand();
    let dry = t.run(&["import", "--dry-run"]).expect(0);
    assert!(
        dry.stdout.contains(&format!(
            "trimrx/1: would import iScale offer {} (3 URLs",
            ids["trimrx/1"]
        )),
        "{}",
        dry.stdout
    );
    assert_eq!(dry.stdout.lines().count(), 4, "{}", dry.stdout);
    assert!(!t.path("state").exists(), "a dry run made state/");
    assert!(t.writes().is_empty());
}

#[test]
fn import_can_leave_targeting_for_the_next_apply_to_write() {
    let (t, _) = synced_by_hand();
    t.run(&["import", "--network", "trimrx", "--rewrite-targeting"])
        .expect(0);
    let plan = t
        .run(&[
            "plan",
            "--network",
            "trimrx",
            "--json",
            "--detailed-exitcode",
        ])
        .expect(2);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let changed: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (
                change["address"]["network"].as_str().unwrap().to_owned()
                    + "/"
                    + &change["address"]["source_offer_id"].to_string(),
                change["resource"]["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("trimrx/1".to_owned(), "targeting".to_owned()),
            ("trimrx/2".to_owned(), "targeting".to_owned())
        ]
    );
    t.run(&["apply", "--auto-approve", "--network", "trimrx"])
        .expect(0);
    t.run(&["plan", "--detailed-exitcode", "--network", "trimrx"])
        .expect(0);
}

#[test]
fn bulk_import_prefers_the_offer_that_carries_the_label_over_the_name() {
    // As if an apply had died right after creating trimrx/1: labelled, never recorded.
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = t.destination_offer("trimrx", 1)["network_offer_id"]
        .as_u64()
        .unwrap();
    std::fs::remove_dir_all(t.path("state/trimrx/1")).unwrap();
    t.sandbox()
        .edit_destination_offer(id, |offer| {
            offer.insert("name".into(), "Renamed by hand".into());
        })
        .unwrap();
    t.clear_log();

    let import = t.run(&["import", "--network", "trimrx"]).expect(0);
    assert!(
        import
            .stdout
            .starts_with(&format!("trimrx/1: imported iScale offer {id} (")),
        "{}",
        import.stdout
    );
    // trimrx/2 is recorded already: nothing to say about it.
    assert_eq!(import.stdout.lines().count(), 1, "{}", import.stdout);
    assert!(t.writes().is_empty());
    let plan = t
        .run(&["plan", "--offer", "trimrx/1", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout
            .contains("~ name  \"Renamed by hand\" -> \"TrimRx"),
        "{}",
        plan.stdout
    );
}
