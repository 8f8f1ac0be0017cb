//! The Offerit client against the sandbox's Offerit install, through real HTTP on
//! loopback, configured from the `.env.local` the fixtures generate; and the
//! sandbox's `/api` routes as a raw HTTP client sees them.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use offersync::http::retry::RetryOptions;
use offersync::offerit::{Form, OfferCreated, OfferitApi, OfferitError, OfferitOptions};
use offersync::sandbox::{Faults, Fixtures, LoggedRequest, SandboxHandle, SandboxOptions};
use offersync::secret::Secret;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use url::Url;

/// A sandbox and the Offerit settings its `.env.local` holds.
struct Ctx {
    handle: SandboxHandle,
    env: BTreeMap<String, String>,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx::with_options(SandboxOptions::default())
    }

    fn with_options(options: SandboxOptions) -> Ctx {
        let fixtures = Fixtures::builtin();
        let handle = SandboxHandle::start(fixtures.clone(), options).unwrap();
        let env = fixtures
            .env_local(&handle.url())
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ctx { handle, env }
    }

    fn setting(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} is in .env.local"))
    }

    /// A client with the `.env.local` settings and quick retries.
    fn client(&self) -> OfferitApi {
        self.client_with_key(self.setting("OFFERIT_API_KEY"))
    }

    fn client_with_key(&self, key: &str) -> OfferitApi {
        let options = OfferitOptions {
            retry: RetryOptions {
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                ..RetryOptions::default()
            },
            ..OfferitOptions::default()
        };
        OfferitApi::new(
            &Url::parse(self.setting("OFFERIT_URL")).unwrap(),
            Secret::new(key),
            Secret::new(self.setting("OFFERIT_API_USERNAME")),
            options,
        )
        .unwrap()
    }

    fn secrets(&self) -> [&str; 2] {
        [
            self.setting("OFFERIT_API_KEY"),
            self.setting("OFFERIT_API_USERNAME"),
        ]
    }

    /// The Offerit requests logged so far.
    fn calls(&self) -> Vec<LoggedRequest> {
        self.handle
            .sandbox()
            .requests()
            .into_iter()
            .filter(|r| r.offerit_call().is_some())
            .collect()
    }

    fn count(&self, call: &str) -> usize {
        self.calls()
            .iter()
            .filter(|r| r.offerit_call() == Some(call))
            .count()
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// An offer as the render step will build it (issue 8): the fields in a fixed order.
fn offer_form(advertiser: &str) -> Form {
    Form::new()
        .with("name", "TrimRx GLP-1 Weight Loss")
        .with("offer_description", "<p>Doctor-led & \"simple\"</p>")
        .with("authorized", vec!["US", "CA"])
        .with("unauthorized", vec!["PR"])
        .with("advertiserid", advertiser)
        .with("advertiser_cost_type", "conversion")
        .with("advertiser_cost_flat", dec("370.00"))
        .with("commission_type", "cpa")
        .with("flat_amount_per_conversion", dec("296.00"))
        .with(
            "url",
            "https://start.trimrx.test/glp1?uid=0&oid=1&affid=42&sub5=%%click_hash%%",
        )
        .with("preview_url", "https://trimrx.test/")
        .with("thumb_url", "https://cdn.trimrx.test/thumb.png")
}

#[tokio::test]
async fn the_client_creates_edits_and_pauses_an_offer() {
    let t = Ctx::new();
    let api = t.client();
    let advertiser = t.setting("TRIMRX_OFFERIT_ADVERTISER_ID").to_owned();

    let created = api.add_offer(&offer_form(&advertiser)).await.unwrap();
    assert_eq!(
        created,
        OfferCreated {
            offer_id: 400,
            landing_page_id: 432
        }
    );
    let page = api
        .add_landing_page(
            400,
            &Form::new().with("name", "Spring Promo").with(
                "url",
                "https://start.trimrx.test/spring?uid=105&sub5=%%click_hash%%",
            ),
        )
        .await
        .unwrap();
    assert_eq!(page, 433);
    let goal = Form::new()
        .with("goal_id", 1u64)
        .with("commission_type", "flat")
        .with("amount", dec("9.60"))
        .with("revenue_type", "conversion")
        .with("revenue_amount", dec("12.00"));
    api.set_offer_goals(400, &[goal]).await.unwrap();
    api.edit_offer(
        400,
        &Form::new().with("flat_amount_per_conversion", dec("300.10")),
    )
    .await
    .unwrap();
    api.edit_landing_page(
        433,
        &Form::new().with("url", "https://start.trimrx.test/summer"),
    )
    .await
    .unwrap();
    api.pause_offer(400).await.unwrap();

    let offer = t.handle.sandbox().offerit_offer(400).unwrap();
    assert_eq!(
        offer["fields"],
        json!({
            "name": "TrimRx GLP-1 Weight Loss",
            "offer_description": "<p>Doctor-led & \"simple\"</p>",
            "authorized": ["US", "CA"],
            "unauthorized": ["PR"],
            "advertiserid": "4003",
            "advertiser_cost_type": "conversion",
            "advertiser_cost_flat": "370.00",
            "commission_type": "cpa",
            "flat_amount_per_conversion": "300.10",
            "url": "https://start.trimrx.test/glp1?uid=0&oid=1&affid=42&sub5=%%click_hash%%",
            "preview_url": "https://trimrx.test/",
            "thumb_url": "https://cdn.trimrx.test/thumb.png",
        })
    );
    assert_eq!(offer["status"], "paused");
    assert_eq!(offer["landing_pageids"], json!([432, 433]));
    assert_eq!(
        offer["goals"],
        json!([{
            "offer_goal_id": 1,
            "goal_id": 1,
            "fields": {
                "goal_id": "1",
                "commission_type": "flat",
                "amount": "9.60",
                "revenue_type": "conversion",
                "revenue_amount": "12.00",
            },
        }])
    );
    assert_eq!(
        t.handle.sandbox().offerit_landing_page(433).unwrap()["fields"],
        json!({"name": "Spring Promo", "url": "https://start.trimrx.test/summer"})
    );

    // One request per call, each with its form in the log and no secret anywhere.
    for call in [
        "offer/add_offer",
        "offer/add_landing_page",
        "offer/set_offer_goals",
        "offer/edit_offer",
        "offer/edit_landing_page",
        "offer/pause_offer",
    ] {
        assert_eq!(t.count(call), 1, "{call}");
    }
    let calls = t.calls();
    assert_eq!(calls.len(), 6);
    assert!(calls.iter().all(|r| r.status == 200 && r.is_write()));
    let edit = calls
        .iter()
        .find(|r| r.offerit_call() == Some("offer/edit_offer"))
        .unwrap();
    assert_eq!(edit.method, "PATCH");
    assert_eq!(
        edit.form,
        Some(json!({"offerid": "400", "flat_amount_per_conversion": "300.10"}))
    );
    let log = serde_json::to_string(&calls).unwrap();
    for secret in t.secrets() {
        assert!(!log.contains(secret), "a secret is in the request log");
    }

    api.activate_offer(400).await.unwrap();
    let offer = t.handle.sandbox().offerit_offer(400).unwrap();
    assert_eq!(offer["status"], "active");
}

#[tokio::test]
async fn refusals_name_the_field_and_change_nothing() {
    let t = Ctx::new();
    let api = t.client();
    let rejection = |result: Result<(), OfferitError>| {
        let error = result.unwrap_err();
        (
            error.status(),
            error.rejection().map(str::to_owned),
            error.to_string(),
        )
    };

    let no_url = Form::new().with("name", "x");
    let (status, message, text) = rejection(api.add_offer(&no_url).await.map(|_| ()));
    assert_eq!(
        (status, message.as_deref()),
        (Some(400), Some("url is required"))
    );
    assert_eq!(
        text,
        "POST /api/offer/add_offer: Offerit refused it (HTTP 400, result `error`): url is required"
    );
    let unknown_advertiser = offer_form("99");
    let (status, message, _) = rejection(api.add_offer(&unknown_advertiser).await.map(|_| ()));
    assert_eq!(
        (status, message.as_deref()),
        (Some(400), Some("advertiserid `99` is not an advertiser"))
    );
    assert_eq!(t.handle.sandbox().offerit().unwrap()["offers"], json!([]));

    api.add_offer(&offer_form("4003")).await.unwrap();
    let (status, message, _) = rejection(
        api.add_landing_page(400, &Form::new().with("url", "https://x.test"))
            .await
            .map(|_| ()),
    );
    assert_eq!(
        (status, message.as_deref()),
        (Some(400), Some("name is required"))
    );
    let (status, message, text) =
        rejection(api.edit_offer(999, &Form::new().with("name", "y")).await);
    assert_eq!(
        (status, message.as_deref()),
        (Some(404), Some("offer 999 not found"))
    );
    assert!(text.starts_with("PATCH /api/offer/edit_offer: "), "{text}");
    let (status, message, _) = rejection(api.edit_landing_page(999, &Form::new()).await);
    assert_eq!(
        (status, message.as_deref()),
        (Some(404), Some("landing page 999 not found"))
    );
    let (status, message, _) = rejection(
        api.set_offer_goals(400, &[Form::new().with("goal_id", 42u64)])
            .await,
    );
    assert_eq!(
        (status, message.as_deref()),
        (Some(404), Some("goal 42 not found"))
    );
    let (status, message, _) = rejection(api.pause_offer(401).await);
    assert_eq!(
        (status, message.as_deref()),
        (Some(404), Some("offer 401 not found"))
    );

    // Refused before anything is sent: no request, no effect.
    let before = t.calls().len();
    let error = api.set_offer_goals(400, &[]).await.unwrap_err();
    assert!(error.to_string().contains("empty `goal_vars`"), "{error}");
    let error = api
        .edit_offer(400, &Form::new().with("offerid", 401u64))
        .await
        .unwrap_err();
    assert!(!error.may_have_taken_effect(), "{error}");
    assert_eq!(t.calls().len(), before);

    // Refusals are not retried: one request each.
    assert_eq!(t.count("offer/add_offer"), 3);
    assert_eq!(t.count("offer/edit_offer"), 1);
    assert!(t.calls().iter().all(|r| r.fault.is_none()));
}

#[tokio::test]
async fn a_wrong_key_is_a_clear_error_without_secrets() {
    let t = Ctx::new();
    let wrong_key = "sbx_oi_admin_NotTheRightKeyAtAll";
    let error = t
        .client_with_key(wrong_key)
        .add_offer(&offer_form("4003"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.rejection(), Some("invalid api-key or api-username"));
    assert!(!error.may_have_taken_effect());
    for text in [error.to_string(), format!("{error:?}")] {
        for secret in t.secrets().into_iter().chain([wrong_key]) {
            assert!(!text.contains(secret), "a secret in {text}");
        }
    }
    assert_eq!(t.handle.sandbox().offerit().unwrap()["offers"], json!([]));
    assert_eq!(t.count("offer/add_offer"), 1);
}

#[tokio::test]
async fn a_lost_add_offer_answer_is_not_sent_again_but_edits_are() {
    let t = Ctx::new();
    let api = t.client();
    let sandbox = t.handle.sandbox();
    sandbox.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let error = api.add_offer(&offer_form("4003")).await.unwrap_err();
    assert!(
        matches!(
            error,
            OfferitError::Transport {
                maybe_delivered: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.may_have_taken_effect());
    // Created once, asked once: a second add_offer would have made a duplicate.
    assert_eq!(t.count("offer/add_offer"), 1);
    assert_eq!(
        sandbox.offerit().unwrap()["offers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // An edit sets values: sending it again is harmless, so it is retried.
    let error = api
        .edit_offer(400, &Form::new().with("name", "Renamed"))
        .await
        .unwrap_err();
    assert!(error.may_have_taken_effect());
    assert_eq!(
        t.count("offer/edit_offer"),
        OfferitOptions::default().retry.max_attempts as usize
    );
    assert!(
        t.calls()
            .iter()
            .all(|r| r.fault.as_deref() == Some("drop_after_commit"))
    );

    // A 500 before any effect: a create is not retried (it cannot know), an edit is.
    sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    sandbox.clear_requests();
    let error = api.add_offer(&offer_form("4003")).await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(error.may_have_taken_effect());
    assert_eq!(t.count("offer/add_offer"), 1);
    api.pause_offer(400).await.unwrap_err();
    assert_eq!(
        t.count("offer/pause_offer"),
        OfferitOptions::default().retry.max_attempts as usize
    );
    sandbox.set_faults(Faults::default());
    api.pause_offer(400).await.unwrap();
    assert_eq!(sandbox.offerit_offer(400).unwrap()["status"], "paused");
    assert_eq!(
        sandbox.offerit_offer(400).unwrap()["fields"]["name"],
        "Renamed"
    );
}

#[tokio::test]
async fn offerit_is_slowed_by_latency_but_never_rate_limited() {
    // A bucket of one request per window for every Everflow key.
    let t = Ctx::with_options(SandboxOptions {
        network_rate: 1,
        affiliate_rate: 1,
        window: Duration::from_secs(30),
        ..SandboxOptions::default()
    });
    let api = t.client();
    let sandbox = t.handle.sandbox();
    sandbox.set_faults(Faults {
        burst_429: 3,
        ..Faults::default()
    });
    api.add_offer(&offer_form("4003")).await.unwrap();
    for n in 0..10u64 {
        api.edit_offer(400, &Form::new().with("hidden", n % 2 == 0))
            .await
            .unwrap();
    }
    assert_eq!(t.count("offer/edit_offer"), 10);
    assert!(
        t.calls()
            .iter()
            .all(|r| r.status == 200 && r.bucket.is_empty())
    );
    // The forced 429s are Everflow's; Offerit took none of them.
    assert_eq!(sandbox.faults().burst_429, 3);

    sandbox.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    api.pause_offer(400).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A raw request to the sandbox's `/api`, with the admin's headers unless `auth` is
/// false; returns the status, the `Allow` header and the body.
async fn raw(
    t: &Ctx,
    method: reqwest::Method,
    path: &str,
    auth: bool,
    content_type: &str,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", t.handle.url()))
        .header("content-type", content_type)
        .body(body.to_owned());
    if auth {
        // Header names are not case-sensitive.
        request = request
            .header("API-Key", t.setting("OFFERIT_API_KEY"))
            .header("Api-Username", t.setting("OFFERIT_API_USERNAME"));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    (status, allow, body)
}

/// [`raw`] with the admin's headers and a form body, as the client sends them.
async fn form_call(
    t: &Ctx,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    raw(t, method, path, true, FORM, body).await
}

#[tokio::test]
async fn the_api_answers_with_offerit_envelopes() {
    use reqwest::Method;
    let t = Ctx::new();
    let error = |message: &str| json!({"result": "error", "message": message});

    let r = form_call(&t, Method::POST, "/api/offer/add_offer", "name=A&url=u").await;
    assert_eq!(
        (r.0, r.2),
        (
            StatusCode::OK,
            json!({"result": "Success", "message": {"landing_pageid": "432", "offerid": "400"}})
        )
    );
    let r = form_call(&t, Method::PATCH, "/api/offer/pause_offer", "offerid=400").await;
    assert_eq!(
        r.2,
        json!({"result": "success", "message": "Offer expired."})
    );
    let r = form_call(
        &t,
        Method::PATCH,
        "/api/offer/activate_offer",
        "offerid=400",
    )
    .await;
    assert_eq!(
        r.2,
        json!({"result": "success", "message": "Offer activated."})
    );
    let r = form_call(
        &t,
        Method::POST,
        "/api/offer/add_landing_page",
        "offerid=400&name=P&url=v",
    )
    .await;
    assert_eq!(
        r.2,
        json!({"result": "Success", "message": {"landing_pageid": "433"}})
    );

    let r = form_call(&t, Method::GET, "/api/offer/add_offer", "").await;
    assert_eq!(
        r,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            Some("POST".to_owned()),
            error("offer/add_offer takes POST, not GET")
        )
    );
    let r = form_call(&t, Method::POST, "/api/offer/pause_offer", "offerid=400").await;
    assert_eq!(
        (r.0, r.1.as_deref()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("PATCH"))
    );
    let r = form_call(&t, Method::POST, "/api/offer/delete_offer", "").await;
    assert_eq!(
        (r.0, r.2),
        (
            StatusCode::NOT_FOUND,
            error("unknown endpoint or action `offer/delete_offer`")
        )
    );
    let r = form_call(&t, Method::GET, "/api", "").await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);

    let r = raw(
        &t,
        Method::POST,
        "/api/offer/add_offer",
        false,
        FORM,
        "name=A&url=u",
    )
    .await;
    assert_eq!(
        (r.0, r.2),
        (
            StatusCode::BAD_REQUEST,
            error("api-key and api-username headers are required")
        )
    );
    // Authentication comes before routing, as on `/v1`.
    let r = raw(&t, Method::GET, "/api/nothing/here", false, FORM, "").await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
    let r = raw(
        &t,
        Method::POST,
        "/api/offer/add_offer",
        true,
        "application/json",
        r#"{"name":"A","url":"u"}"#,
    )
    .await;
    assert_eq!(
        (r.0, r.2),
        (
            StatusCode::BAD_REQUEST,
            error("the request body must be application/x-www-form-urlencoded")
        )
    );
    let r = form_call(
        &t,
        Method::PATCH,
        "/api/offer/set_offer_goals",
        "offerid=400",
    )
    .await;
    assert_eq!(
        (r.0, r.2),
        (StatusCode::BAD_REQUEST, error("goal_vars is required"))
    );

    // Every one of them is in the log, refused ones too; only the two adds created.
    assert_eq!(t.calls().len(), 12);
    let offerit = t.handle.sandbox().offerit().unwrap();
    assert_eq!(offerit["offers"].as_array().unwrap().len(), 1);
    assert_eq!(offerit["landing_pages"].as_array().unwrap().len(), 2);

    // The control endpoint shows the same install.
    let control: Value = reqwest::get(format!("{}/_sandbox/offerit", t.handle.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(control, offerit);
    assert_eq!(
        control["advertisers"][0],
        json!({"loginid": 4003, "username": "trimrx"})
    );
}

#[tokio::test]
async fn a_sandbox_without_an_offerit_install_says_so() {
    let mut fixtures = Fixtures::builtin();
    fixtures.offerit = None;
    for source in &mut fixtures.sources {
        source.offerit_advertiser_id = None;
    }
    let handle = SandboxHandle::start(fixtures, SandboxOptions::default()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = OfferitApi::new(
        &Url::parse(&handle.url()).unwrap(),
        Secret::new("any-key-at-all"),
        Secret::new("any-user"),
        OfferitOptions::default(),
    )
    .unwrap();
    let error = api.pause_offer(400).await.unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert_eq!(
        error.rejection(),
        Some("this sandbox has no Offerit install")
    );
    assert!(handle.sandbox().offerit().is_none());
    let control = reqwest::get(format!("{}/_sandbox/offerit", handle.url()))
        .await
        .unwrap();
    assert_eq!(control.status(), StatusCode::NOT_FOUND);
}
