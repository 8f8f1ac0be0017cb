//! An offer's content end to end: landing-page URLs, creatives, geo targeting, custom
//! payout rules and thumbnails, checked in the sandbox after apply.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::common::{TestContext, event};
use crate::e2e::write_counts;

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(&value.to_string()).unwrap()
}

fn offer_id(t: &TestContext, network: &str, source_offer_id: u64) -> u64 {
    t.destination_offer(network, source_offer_id)["network_offer_id"]
        .as_u64()
        .unwrap()
}

/// The URL of a destination offer named `name`.
fn url_named<'a>(urls: &'a [Value], name: &str) -> &'a Value {
    urls.iter()
        .find(|url| url["name"] == name)
        .unwrap_or_else(|| panic!("no URL {name} in {urls:?}"))
}

/// The uploaded image behind an asset URL, decoded.
fn image_at(t: &TestContext, url: &str) -> image::DynamicImage {
    let (content_type, bytes) = t.sandbox().asset(url).expect("the asset was uploaded");
    assert!(content_type.starts_with("image/"), "{content_type}");
    image::load_from_memory(&bytes).expect("the asset is an image")
}

#[test]
fn every_resource_of_an_offer_lands_with_the_right_fields() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = offer_id(&t, "trimrx", 1);

    // Three URLs, each to its landing page with our attribution parameters.
    let urls = t.sandbox().destination_urls(id);
    assert_eq!(urls.len(), 3);
    let quiz = url_named(&urls, "Quiz Funnel");
    assert_eq!(quiz["url_status"], "active");
    assert_eq!(
        quiz["destination_url"],
        "https://start.trimrx.test/quiz/semaglutide?uid=102&oid=1&affid=42&sub5={transaction_id}"
    );
    let upsell = url_named(&urls, "Upsell Page");

    // One rule: Upsell on URLs 102 and 103, 290 at the source -> 232 at margin 0.20.
    let rules = t.sandbox().destination_payout_rules(id);
    assert_eq!(rules.len(), 1, "{rules:?}");
    let rule = &rules[0];
    let offer = t.sandbox().destination_offer(id).unwrap();
    assert_eq!(
        rule["network_offer_payout_revenue_id"],
        event(&offer, "Upsell")["network_offer_payout_revenue_id"],
        "the rule is on iScale's Upsell event"
    );
    assert_eq!(dec(&rule["payout_amount"]), Decimal::from(232));
    assert_eq!(dec(&rule["revenue_amount"]), Decimal::from(290));
    assert_eq!(rule["is_apply_specific_offer_urls"], true);
    let mut rule_urls: Vec<u64> = rule["network_offer_url_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_u64().unwrap())
        .collect();
    rule_urls.sort_unstable();
    let mut expected = vec![
        quiz["network_offer_url_id"].as_u64().unwrap(),
        upsell["network_offer_url_id"].as_u64().unwrap(),
    ];
    expected.sort_unstable();
    assert_eq!(rule_urls, expected, "source URLs mapped to iScale URL ids");
    assert_eq!(rule["name"], "Upsell on Quiz Funnel, Upsell Page: $290");

    // Two creatives: the image re-uploaded (its bytes), the html with its code.
    let creatives = t.sandbox().destination_creatives(id);
    assert_eq!(creatives.len(), 2);
    let banner = creatives
        .iter()
        .find(|creative| creative["creative_type"] == "image")
        .unwrap();
    let picture = image_at(&t, banner["resource_url"].as_str().unwrap());
    assert_eq!((picture.width(), picture.height()), (300, 250));
    let html = creatives
        .iter()
        .find(|creative| creative["creative_type"] == "html")
        .unwrap();
    assert!(!html["html_code"].as_str().unwrap().is_empty());

    // US included, Mississippi and Louisiana excluded.
    let targeting = t
        .sandbox()
        .destination_targeting(id)
        .expect("targeting was written");
    let countries: Vec<(u64, &str)> = targeting["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["country_id"].as_u64().unwrap(),
                c["targeting_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(countries, [(227, "include")]);
    let mut regions: Vec<(u64, &str)> = targeting["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region_id"].as_u64().unwrap(),
                r["targeting_type"].as_str().unwrap(),
            )
        })
        .collect();
    regions.sort_unstable();
    assert_eq!(regions, [(1420, "exclude"), (1501, "exclude")]);

    // The thumbnail: the source's 640x360 image, cover-cropped to 400x400.
    let thumbnail = image_at(&t, offer["thumbnail_url"].as_str().unwrap());
    assert_eq!((thumbnail.width(), thumbnail.height()), (400, 400));
}

#[test]
fn thumbnails_fall_back_to_og_image_then_initials() {
    let t = TestContext::new();
    let apply = t.run(&["apply", "--auto-approve"]).expect(0);

    // directmeds/15 has no thumbnail_url: its preview page's og:image is used.
    assert!(
        apply
            .stderr
            .contains("directmeds/15 thumbnail: set the thumbnail of iScale offer")
            && apply.stderr.contains("thumbnail made from og:image "),
        "{}",
        apply.stderr
    );
    let state: Value = serde_json::from_str(&t.read("state/directmeds/15/state.json")).unwrap();
    assert!(
        state["thumbnail"]["values"]["used"]
            .as_str()
            .unwrap()
            .starts_with("og:image "),
        "{state}"
    );
    let pharmacy = t.destination_offer("directmeds", 15);
    let og = image_at(&t, pharmacy["thumbnail_url"].as_str().unwrap());
    assert_eq!((og.width(), og.height()), (400, 400));

    // trimrx/2 has no image anywhere: a placeholder with its initials.
    assert!(
        apply
            .stderr
            .contains("thumbnail made from a placeholder with the initials TT"),
        "{}",
        apply.stderr
    );
    let starter = t.destination_offer("trimrx", 2);
    let placeholder = image_at(&t, starter["thumbnail_url"].as_str().unwrap()).to_rgb8();
    assert_eq!(placeholder.dimensions(), (400, 400));
    let background = *placeholder.get_pixel(0, 0);
    let ink = placeholder
        .pixels()
        .filter(|pixel| **pixel != background)
        .count();
    assert!(
        ink > 400 * 400 / 50,
        "the initials are drawn ({ink} pixels)"
    );
}

#[test]
fn nothing_is_downloaded_or_uploaded_again_when_nothing_changed() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.clear_log();
    t.sandbox().clear_web_requests();
    t.run(&["apply", "--auto-approve"]).expect(0);
    assert!(t.writes().is_empty(), "{:?}", t.writes());
    assert!(
        t.sandbox().web_requests().is_empty(),
        "no image or page fetched again: {:?}",
        t.sandbox().web_requests()
    );
}

#[test]
fn a_removed_source_url_is_marked_deleted_and_a_new_one_created() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let id = offer_id(&t, "trimrx", 1);
    let main_lp = url_named(&t.sandbox().destination_urls(id), "Main LP")["network_offer_url_id"]
        .as_u64()
        .unwrap();

    // The source drops URL 101 and adds URL 105.
    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            let urls = offer["relationship"]["urls"]["entries"].as_array_mut().unwrap();
            urls.retain(|url| url["network_offer_url_id"] != 101);
            urls.push(serde_json::json!({"network_offer_url_id": 105, "name": "Spring Promo", "preview_url": ""}));
        })
        .unwrap();
    t.sandbox()
        .set_landing_page("trimrx", 1, 105, "https://start.trimrx.test/spring")
        .unwrap();

    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout.contains(&format!(
            "- trimrx/1 url[101]  mark deleted offer URL {main_lp}  (source changed)"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ trimrx/1 url[105]  create offer URL  (source changed)"),
        "{}",
        plan.stdout
    );

    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let writes = t.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let put = writes.iter().find(|w| w.method == "PUT").unwrap();
    assert_eq!(put.path, format!("/v1/networks/offerurls/{main_lp}"));
    assert_eq!(put.body.as_ref().unwrap()["url_status"], "deleted");
    let post = writes.iter().find(|w| w.method == "POST").unwrap();
    assert_eq!(post.path, "/v1/networks/offerurls");
    assert_eq!(
        post.body.as_ref().unwrap()["destination_url"],
        "https://start.trimrx.test/spring?uid=105&oid=1&affid=42&sub5={transaction_id}"
    );

    t.clear_log();
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(t.writes().is_empty());
}

#[test]
fn a_source_rule_change_updates_the_rule_with_one_put() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            offer["relationship"]["custom_payout_settings"]["entries"][0]["payout_amount"] =
                serde_json::json!(300);
        })
        .unwrap();
    let plan = t.run(&["plan"]).expect(0);
    assert!(
        plan.stdout
            .contains("232.00 -> 240.00  # source changed; source 300.00 x (1 - 0.20) = 240.00"),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let counts = write_counts(&t);
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [("PUT /v1/networks/custom/payoutrevenue/{id}".to_owned(), 1)]
    );
}

#[test]
fn targeting_never_shows_as_a_perpetual_diff_but_a_source_change_does() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve"]).expect(0);
    // The sandbox, like Everflow, does not show targeting back: still no changes.
    t.run(&["plan", "--detailed-exitcode"]).expect(0);

    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            offer["relationship"]["ruleset"]["countries"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"country_id": 39, "country_code": "CA", "label": "Canada", "targeting_type": "include", "match_type": "exact"}));
        })
        .unwrap();
    let plan = t.run(&["plan", "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("~ trimrx/1 targeting  set geo targeting  (source changed)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ countries[\"CA\"]  include  # source changed"),
        "{}",
        plan.stdout
    );
    t.clear_log();
    t.run(&["apply", "--auto-approve"]).expect(0);
    let counts: Vec<_> = write_counts(&t).into_iter().collect();
    assert_eq!(
        counts,
        [
            ("PATCH /v1/networks/patch/offers/apply".to_owned(), 1),
            ("PUT /v1/networks/offers/{id}/targeting".to_owned(), 1)
        ]
    );
    let id = offer_id(&t, "trimrx", 1);
    let targeting = t.sandbox().destination_targeting(id).unwrap();
    assert_eq!(targeting["countries"].as_array().unwrap().len(), 2);
    t.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn only_urls_and_sync_links_touch_nothing_else() {
    let t = TestContext::new();
    t.run(&["apply", "--auto-approve", "--only", "offer"])
        .expect(0);
    t.clear_log();
    let plan = t.run(&["plan", "--only", "urls"]).expect(0);
    assert!(
        plan.stdout.contains("Plan: 6 to create, 0 to update"),
        "{}",
        plan.stdout
    );
    t.run(&["sync-links", "--auto-approve"]).expect(0);
    let counts: Vec<_> = write_counts(&t).into_iter().collect();
    assert_eq!(counts, [("POST /v1/networks/offerurls".to_owned(), 6)]);
    let rules = t.run(&["sync-rules", "--auto-approve"]).expect(0);
    assert!(
        rules.stdout.contains("Apply complete: 3 created"),
        "{}",
        rules.stdout
    );
    t.run(&["plan", "--only", "urls,rules", "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn a_broken_source_image_falls_back_and_says_so() {
    let t = TestContext::new();
    let broken = format!("{}/_sandbox/web/trimrx/gone.png", t.sandbox_url());
    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            offer.insert("thumbnail_url".into(), broken.clone().into());
        })
        .unwrap();
    let apply = t
        .run(&["apply", "--auto-approve", "--offer", "trimrx/1"])
        .expect(0);
    assert!(
        apply
            .stderr
            .contains(&format!("thumbnail_url: `{broken}`: HTTP 404")),
        "the failure is reported: {}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("thumbnail made from a placeholder with the initials TC"),
        "{}",
        apply.stderr
    );
    let offer = t.destination_offer("trimrx", 1);
    let thumbnail = image_at(&t, offer["thumbnail_url"].as_str().unwrap());
    assert_eq!((thumbnail.width(), thumbnail.height()), (400, 400));
}

#[test]
fn a_creative_image_gone_at_the_source_fails_that_creative_alone_and_says_so_once() {
    // The file goes up while the offer is created; when it cannot, the creative's own
    // step meets the failure again and reports it, once.
    let t = TestContext::new();
    let gone = format!("{}/_sandbox/web/trimrx/gone.png", t.sandbox_url());
    let set_banner = |url: &str| {
        t.sandbox()
            .edit_source_offer("trimrx", 1, |offer| {
                let entries = offer["relationship"]["creatives"]["entries"]
                    .as_array_mut()
                    .unwrap();
                entries[0]["resource_url"] = url.into();
            })
            .unwrap();
    };
    let banner = format!("{}/_sandbox/web/trimrx/banner-300x250.png", t.sandbox_url());
    set_banner(&gone);
    let apply = t.run(&["apply", "--auto-approve", "--offer", "trimrx/1"]);
    assert_ne!(apply.code, 0, "a failed creative fails the run");
    let reported = format!("creative[1001]: cannot download the file: `{gone}`: HTTP 404");
    assert_eq!(
        apply.stderr.matches(&reported).count(),
        1,
        "{}",
        apply.stderr
    );
    let id = offer_id(&t, "trimrx", 1);
    let creatives = t.sandbox().destination_creatives(id);
    let types: Vec<&str> = creatives
        .iter()
        .map(|creative| creative["creative_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["html"], "the other creative landed");
    assert_eq!(t.sandbox().destination_urls(id).len(), 3, "and the URLs");

    // Back at the source: the next apply uploads it and creates that creative only.
    set_banner(&banner);
    t.sandbox().clear_requests();
    t.run(&["apply", "--auto-approve", "--offer", "trimrx/1"])
        .expect(0);
    let writes: Vec<String> = t
        .writes()
        .iter()
        .map(|write| format!("{} {}", write.method, write.path))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /v1/networks/uploads/temp",
            "POST /v1/networks/creatives"
        ]
    );
}

#[test]
fn a_source_image_on_an_internal_address_is_never_fetched() {
    // A source advertiser's URL must not make offersync read cloud metadata.
    let t = TestContext::new();
    let metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
    t.sandbox()
        .edit_source_offer("trimrx", 1, |offer| {
            offer.insert("thumbnail_url".into(), metadata.into());
        })
        .unwrap();
    let apply = t
        .run(&["apply", "--auto-approve", "--offer", "trimrx/1"])
        .expect(0);
    assert!(
        apply.stderr.contains(&format!(
            "thumbnail_url: `{metadata}`: 169.254.169.254 (link-local address); \
             only public addresses are fetched"
        )),
        "the refusal is reported: {}",
        apply.stderr
    );
    let offer = t.destination_offer("trimrx", 1);
    let thumbnail = image_at(&t, offer["thumbnail_url"].as_str().unwrap());
    assert_eq!((thumbnail.width(), thumbnail.height()), (400, 400));
}

#[test]
fn geo_overrides_resolve_country_codes_through_everflow() {
    let t = TestContext::new();
    t.write(
        "desired/trimrx.yaml",
        "offers:\n  - source_offer_id: 2\n    geo:\n      countries: [CA, US]\n",
    );
    let plan = t.run(&["plan", "--only", "targeting"]).expect(0);
    assert!(
        plan.stdout
            .contains("+ countries[\"CA\"]  include\n    + countries[\"US\"]  include\n"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("countries[\"PR\"]"),
        "the override replaced the source's includes: {}",
        plan.stdout
    );
    let reads: Vec<String> = t
        .sandbox()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        reads.contains(&"/v1/meta/countries".to_owned()),
        "{reads:?}"
    );

    t.write(
        "desired/trimrx.yaml",
        "offers:\n  - source_offer_id: 2\n    geo:\n      countries: [FR]\n",
    );
    let error = t.run(&["plan"]).expect(1);
    assert_eq!(
        error.stderr,
        "error: trimrx/2: geo.countries: unknown country code `FR`\n"
    );
}
