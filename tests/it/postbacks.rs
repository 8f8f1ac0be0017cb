//! Postbacks end to end: pixels in the source networks, the advertiser's verification
//! token, `verify`, and the postback health report.

use serde_json::Value;

use crate::common::TestContext;
use crate::e2e::write_counts;

/// The iScale id of an offer's event.
fn event_id(t: &TestContext, network: &str, source_offer_id: u64, name: &str) -> u64 {
    let offer = t.destination_offer(network, source_offer_id);
    crate::common::event(&offer, name)["network_offer_payout_revenue_id"]
        .as_u64()
        .unwrap()
}

fn token(t: &TestContext, network: &str) -> String {
    t.fixtures
        .sources
        .iter()
        .find(|source| source.name == network)
        .unwrap()
        .verification_token
        .clone()
}

fn pixels_of(t: &TestContext, network: &str, source_offer_id: u64) -> Vec<Value> {
    let mut pixels: Vec<Value> = t
        .sandbox()
        .source_pixels(network)
        .into_iter()
        .filter(|pixel| pixel["network_offer_id"] == source_offer_id)
        .collect();
    pixels.sort_by_key(|pixel| pixel["network_offer_payout_revenue_id"].as_u64());
    pixels
}

#[test]
fn each_source_network_holds_exactly_the_expected_pixels() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let domain = "trk.iscale.test";
    let trimrx = token(&t, "trimrx");

    // trimrx/1: Base (conversion) and Upsell (event 12 at the source).
    let pixels = pixels_of(&t, "trimrx", 1);
    assert_eq!(pixels.len(), 2, "{pixels:#?}");
    let conversion = &pixels[0];
    assert_eq!(conversion["pixel_type"], "conversion");
    assert_eq!(conversion["network_offer_payout_revenue_id"], 0);
    assert_eq!(conversion["delivery_method"], "postback");
    assert_eq!(conversion["pixel_level"], "specific");
    assert_eq!(conversion["pixel_status"], "active");
    assert_eq!(
        conversion["postback_url"],
        format!("https://{domain}/?nid=7001&transaction_id={{sub5}}&verification_token={trimrx}")
    );
    let upsell = &pixels[1];
    assert_eq!(upsell["pixel_type"], "post_conversion");
    assert_eq!(upsell["network_offer_payout_revenue_id"], 12);
    assert_eq!(
        upsell["postback_url"],
        format!(
            "https://{domain}/?nid=7001&transaction_id={{sub5}}&verification_token={trimrx}&event_id={}",
            event_id(&t, "trimrx", 1, "Upsell")
        )
    );

    // Every network: a conversion pixel per offer, one event pixel per other event.
    assert_eq!(t.sandbox().source_pixels("trimrx").len(), 3);
    assert_eq!(t.sandbox().source_pixels("directmeds").len(), 3);
    for network in ["trimrx", "directmeds"] {
        for pixel in t.sandbox().source_pixels(network) {
            let url = pixel["postback_url"].as_str().unwrap();
            // adv_event_id only works in advertiser postbacks; here it silently drops events.
            assert!(!url.contains("adv_event_id"), "{url}");
        }
    }
    for write in t.writes() {
        let body = write.body.map(|body| body.to_string()).unwrap_or_default();
        assert!(
            !body.contains("adv_event_id"),
            "{} {}: {body}",
            write.method,
            write.path
        );
    }

    // The advertiser of each network has its token.
    let advertiser = t.fixtures.sources[0].destination_advertiser_id;
    let tokens = t
        .sandbox()
        .requests()
        .into_iter()
        .filter(|request| request.path == "/v1/networks/patch/advertiser/apply")
        .count();
    assert_eq!(tokens, 2, "one token PATCH per network");
    let _ = advertiser;

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty(), "{:?}", t.writes());
}

#[test]
fn a_corrupted_pixel_url_is_shown_and_repaired_with_one_put() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let pixel = pixels_of(&t, "trimrx", 1)[1].clone();
    let id = pixel["network_pixel_id"].as_u64().unwrap();
    t.sandbox()
        .edit_source_pixel("trimrx", id, |pixel| {
            let url = pixel["postback_url"]
                .as_str()
                .unwrap()
                .replace("event_id=", "adv_event_id=");
            pixel.insert("postback_url".into(), url.into());
        })
        .unwrap();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ trimrx/1 pixel[event:12]  update pixel {id}  (changed outside offersync)"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("adv_event_id="),
        "the plan shows what is wrong: {}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains(&token(&t, "trimrx")),
        "the token is masked"
    );

    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let counts: Vec<_> = write_counts(&t).into_iter().collect();
    assert_eq!(counts, [("PUT /v1/affiliates/pixels/{id}".to_owned(), 1)]);
    let repaired = pixels_of(&t, "trimrx", 1)[1].clone();
    assert_eq!(
        repaired["network_pixel_id"], id,
        "repaired in place, not a second POST"
    );
    assert!(
        !repaired["postback_url"]
            .as_str()
            .unwrap()
            .contains("adv_event_id")
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_wrong_advertiser_token_is_set_back_and_masked() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let advertiser = t.fixtures.sources[0].destination_advertiser_id;
    t.sandbox()
        .set_advertiser_token(advertiser, "someone-else-set-this")
        .unwrap();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ trimrx advertiser  set the verification token of iScale advertiser {advertiser}"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ verification_token  ******** -> ********"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("someone-else-set-this"));

    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let counts: Vec<_> = write_counts(&t).into_iter().collect();
    assert_eq!(
        counts,
        [("PATCH /v1/networks/patch/advertiser/apply".to_owned(), 1)]
    );
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn state_never_holds_a_guessable_token_fingerprint() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let state = t.read("state/trimrx/1/state.json");
    let token = token(&t, "trimrx");
    assert!(!state.contains(&token));
    // A plain hash of the token would let anyone holding the repository guess it.
    let plain = offersync::plan::fields::FieldValue::fingerprint(Some(
        &offersync::plan::fields::FieldValue::Text(token),
    ));
    assert!(!state.contains(&plain.to_string()));
}

#[test]
fn verify_passes_after_apply_and_names_each_problem() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let ok = t.run(&["verify"]).expect(0);
    assert!(ok.stdout.contains("0 failed"), "{}", ok.stdout);
    assert!(
        ok.stdout.lines().any(|line| line.starts_with("trimrx/1 ")
            && line.contains(" pixels ")
            && line.contains(" ok ")),
        "{}",
        ok.stdout
    );

    // A pixel with a wrong event id.
    let pixel = pixels_of(&t, "trimrx", 1)[1].clone();
    let id = pixel["network_pixel_id"].as_u64().unwrap();
    t.sandbox()
        .edit_source_pixel("trimrx", id, |pixel| {
            let url = pixel["postback_url"].as_str().unwrap();
            let wrong = format!("{}999999", &url[..url.rfind('=').unwrap() + 1]);
            pixel.insert("postback_url".into(), wrong.into());
        })
        .unwrap();
    let failed = t.run(&["verify"]).expect(1);
    assert!(
        failed.stdout.contains(&format!(
            "pixel event:12 ({id}): event_id 999999 is not an event of iScale offer"
        )),
        "{}",
        failed.stdout
    );
    assert!(failed.stderr.contains("verify found"), "{}", failed.stderr);
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.run(&["verify"]).expect(0);

    // A URL a rule uses, deactivated by hand.
    let offer = t.destination_offer("trimrx", 1)["network_offer_id"]
        .as_u64()
        .unwrap();
    let rule = &t.sandbox().destination_payout_rules(offer)[0];
    let url = rule["network_offer_url_ids"][0].as_u64().unwrap();
    deactivate_url(&t, url);
    let failed = t.run(&["verify"]).expect(1);
    assert!(
        failed.stdout.contains(&format!("URL {url} is paused")),
        "{}",
        failed.stdout
    );
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.run(&["verify"]).expect(0);

    // A wrong token.
    let advertiser = t.fixtures.sources[1].destination_advertiser_id;
    t.sandbox()
        .set_advertiser_token(advertiser, "not-the-token")
        .unwrap();
    let failed = t.run(&["verify"]).expect(1);
    assert!(
        failed.stdout.contains(&format!(
            "directmeds  token   FAIL    advertiser {advertiser} has another verification token"
        )) || failed
            .stdout
            .contains("has another verification token than the configured one"),
        "{}",
        failed.stdout
    );
    assert!(!failed.stdout.contains("not-the-token"));
}

/// Pauses an offer URL as an iScale user would, through the Network API.
fn deactivate_url(t: &TestContext, url_id: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let base = format!("{}/v1/networks/offerurls/{url_id}", t.sandbox_url());
        let key = t.fixtures.destination.api_key.clone();
        let mut url: Value = client
            .get(&base)
            .header("X-Eflow-API-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        url["url_status"] = "paused".into();
        for field in [
            "network_id",
            "time_created",
            "time_saved",
            "remote_offer_resource",
            "relationship",
        ] {
            url.as_object_mut().unwrap().remove(field);
        }
        let status = client
            .put(&base)
            .header("X-Eflow-API-Key", &key)
            .json(&url)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
    });
}

#[test]
fn only_postbacks_and_sync_postbacks() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve", "--only", "offer"])
        .expect(0);
    let plan = t.run(&["plan", "--only", "postbacks"]).expect(0);
    // 6 pixels and 2 advertiser tokens.
    assert!(
        plan.stdout.contains("Plan: 6 to create, 2 to update"),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["sync-postbacks", "--auto-approve"]).expect(0);
    let counts = write_counts(&t);
    assert_eq!(
        counts.get("POST /v1/affiliates/pixels"),
        Some(&6),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("PATCH /v1/networks/patch/advertiser/apply"),
        Some(&2),
        "{counts:?}"
    );
    assert_eq!(counts.len(), 2, "{counts:?}");
    t.run(&["plan", "--only", "postbacks", "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn postbacks_need_a_token_and_a_tracking_domain_unless_turned_off() {
    let t = TestContext::new();
    let env = t.read(".env.local");
    let kept: String = env
        .lines()
        .filter(|line| {
            !line.starts_with("TRIMRX_VERIFICATION_TOKEN")
                && !line.starts_with("ISCALE_TRACKING_DOMAIN")
        })
        .map(|line| format!("{line}\n"))
        .collect();
    t.write(".env.local", &kept);
    let run = t.run(&["validate"]).expect(1);
    assert_eq!(
        run.stderr,
        "error: missing settings: `ISCALE_TRACKING_DOMAIN` (postback domain; `offersync setup` discovers it), \
         `TRIMRX_VERIFICATION_TOKEN` (postback verification token); set them in .env.local or the environment\n"
    );
    t.write(
        "desired/trimrx.yaml",
        "postbacks: false\noffers:\n  - source_offer_id: 1\n",
    );
    t.write("desired/directmeds.yaml", "postbacks: false\noffers: []\n");
    t.run(&["validate"]).expect(0);
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(
        t.sandbox().source_pixels("trimrx").is_empty(),
        "postbacks: false leaves pixels alone"
    );
}

#[test]
fn postback_report_summarises_deliveries_and_partner_postbacks() {
    let t = TestContext::new();
    t.apply_in_address_order();
    let report = t
        .run(&[
            "postbacks",
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-03",
        ])
        .expect(0);
    t.insta_settings()
        .bind(|| insta::assert_snapshot!("postback_report", report.stdout));
    assert!(!report.stdout.contains("export stream"));

    // More rows than the report endpoint returns: the export stream is used.
    t.sandbox().set_postback_volume(200);
    t.clear_log();
    let big = t
        .run(&[
            "postbacks",
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-03",
        ])
        .expect(0);
    assert!(
        big.stdout
            .contains("(read from the export stream: more than 1000)"),
        "{}",
        big.stdout
    );
    let paths: Vec<String> = t
        .sandbox()
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    assert!(
        paths.contains(&"/v1/networks/reporting/affiliate/pixels/export".to_owned()),
        "{paths:?}"
    );
    t.insta_settings()
        .bind(|| insta::assert_snapshot!("postback_report_export", big.stdout));
}
