//! The built-in Everflow simulator, through real HTTP on loopback.

use std::time::{Duration, Instant};

use offersync::sandbox::{Faults, Fixtures, LoggedRequest, SandboxHandle, SandboxOptions};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A running sandbox plus a client that knows its keys.
struct Ctx {
    handle: SandboxHandle,
    client: reqwest::Client,
    network_key: String,
    trimrx_key: String,
    trimrx_key2: String,
    /// Another affiliate (58) of the trimrx network: not us.
    trimrx_other_key: String,
    directmeds_key: String,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error(&self) -> &str {
        self.body["Error"].as_str().unwrap_or("")
    }
}

fn ctx_with(options: SandboxOptions) -> Ctx {
    // reqwest is built with `rustls-no-provider`: a client needs a process-wide
    // provider even for plain http. A second install just fails; that is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fixtures = Fixtures::builtin();
    let network_key = fixtures.destination.api_key.clone();
    let trimrx_key = fixtures.sources[0].api_key.clone();
    let trimrx_key2 = fixtures.sources[0].extra_api_keys[0].clone();
    let trimrx_other_key = fixtures.sources[0].other_affiliates[0].api_key.clone();
    let directmeds_key = fixtures.sources[1].api_key.clone();
    Ctx {
        handle: SandboxHandle::start(fixtures, options).unwrap(),
        client: reqwest::Client::new(),
        network_key,
        trimrx_key,
        trimrx_key2,
        trimrx_other_key,
        directmeds_key,
    }
}

fn ctx() -> Ctx {
    ctx_with(SandboxOptions::default())
}

impl Ctx {
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.handle.url()));
        if let Some(key) = key {
            req = req.header("X-Eflow-API-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn net(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(&self.network_key), body).await
    }

    async fn aff(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.trimrx_key), None)
            .await
    }

    /// Uploads `bytes` to `/v1/networks/uploads/temp`; returns the temp URL.
    async fn upload(&self, mime: &str, bytes: &[u8]) -> String {
        let body = json!({"mime_type": mime, "content_base64": base64(bytes)});
        let r = self
            .net(Method::POST, "/v1/networks/uploads/temp", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["urls"][0]["url"].as_str().unwrap().to_owned()
    }

    /// A `thumbnail_file`/`resource_file` value for a fresh upload of `bytes`.
    async fn file(&self, mime: &str, bytes: &[u8], name: &str) -> Value {
        let url = self.upload(mime, bytes).await;
        json!({"temp_url": url, "original_file_name": name})
    }

    /// Creates an offer and returns its id.
    async fn create(&self, body: Value) -> u64 {
        let r = self
            .net(Method::POST, "/v1/networks/offers", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["network_offer_id"].as_u64().unwrap()
    }

    fn log(&self) -> Vec<LoggedRequest> {
        self.handle.sandbox().requests()
    }
}

/// A valid create body, as offersync would send it for TrimRx offer 1.
fn offer_body(name: &str) -> Value {
    json!({
        "network_advertiser_id": 13,
        "name": name,
        "destination_url": "https://start.trimrx.test/semaglutide?oid=1&affid=42&sub5={transaction_id}",
        "currency_id": "USD",
        "network_tracking_domain_id": 1,
        "offer_status": "active",
        "visibility": "require_approval",
        "html_description": "<p>GLP-1</p>",
        "preview_url": "https://start.trimrx.test/semaglutide",
        "internal_notes": "managed by offersync",
        "payout_revenue": [
            {"entry_name": "Base", "payout_type": "cpa", "payout_amount": 280, "revenue_type": "rpa", "revenue_amount": 350, "is_default": true},
            {"entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 232, "revenue_type": "rpa", "revenue_amount": 290, "is_default": false}
        ]
    })
}

/// Standard base64 with padding (the sandbox accepts nothing else).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A real PNG (300x250) from the built-in web fixtures.
const BANNER_PNG: &[u8] =
    include_bytes!("../../src/sandbox/fixtures/web/trimrx/banner-300x250.png");
/// A real GIF (300x600) from the built-in web fixtures.
const SKYSCRAPER_GIF: &[u8] =
    include_bytes!("../../src/sandbox/fixtures/web/directmeds/ed-300x600.gif");

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

// ---- authentication and realms ----

#[tokio::test]
async fn missing_or_unknown_key_is_401_and_counts_against_nothing() {
    let c = ctx();
    let r = c.call(Method::GET, "/v1/networks/offers", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body, json!({"Error": "No Authentication Method Found"}));
    assert!(r.header("x-ratelimit-limit").is_none());

    let r = c
        .call(
            Method::GET,
            "/v1/networks/offers",
            Some("sbx_nw_not_a_key_at_all_0000"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid API key");

    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.status, StatusCode::OK);
    // Two 401s before it did not use quota: this is the first counted request.
    let limit: u32 = r.header("x-ratelimit-limit").unwrap().parse().unwrap();
    let remaining: u32 = r.header("x-ratelimit-remaining").unwrap().parse().unwrap();
    assert_eq!(remaining, limit - 1);
    assert_eq!(c.log()[0].bucket, "");
    assert_eq!(c.log()[2].bucket, "network:7001");
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let c = ctx();
    let resp = c
        .client
        .get(format!("{}/v1/networks/settings", c.handle.url()))
        .header("x-eflow-api-key", &c.network_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_key_type_is_403_out_of_realm() {
    let c = ctx();
    let r = c.aff("/v1/networks/offers").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body, json!({"Error": "Out of realm"}));
    assert!(r.header("x-ratelimit-remaining").is_some());
    let r = c
        .net(Method::GET, "/v1/affiliates/offersrunnable", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), "Out of realm");
}

#[tokio::test]
async fn unknown_route_bad_method_and_bad_json() {
    let c = ctx();
    let r = c.net(Method::GET, "/v1/networks/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"Error": "not found"}));
    let r = c.net(Method::DELETE, "/v1/networks/offers/1", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.body["Error"].is_string());

    let resp = c
        .client
        .post(format!("{}/v1/networks/offers", c.handle.url()))
        .header("X-Eflow-API-Key", &c.network_key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert!(body["Error"].as_str().unwrap().contains("not valid json"));
    assert!(c.handle.sandbox().destination_offers().is_empty());
}

// ---- POST /v1/networks/offers ----

#[tokio::test]
async fn create_rejects_each_missing_required_field() {
    let c = ctx();
    for field in [
        "network_advertiser_id",
        "name",
        "destination_url",
        "currency_id",
        "network_tracking_domain_id",
        "offer_status",
        "payout_revenue",
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/offers",
                Some(without(offer_body("x"), field)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(r.body, json!({"Error": format!("{field} is required")}));

        let mut empty = offer_body("x");
        empty[field] = match &empty[field] {
            Value::String(_) => json!(""),
            Value::Array(_) => json!([]),
            _ => json!(0),
        };
        let r = c
            .net(Method::POST, "/v1/networks/offers", Some(empty))
            .await;
        assert_eq!(r.error(), format!("{field} is required"), "empty {field}");
    }
    assert!(c.handle.sandbox().destination_offers().is_empty());
}

#[tokio::test]
async fn create_validates_references_enums_and_unknown_fields() {
    let c = ctx();
    let cases = [
        (
            json!({"network_advertiser_id": 99}),
            "network_advertiser_id 99 does not exist",
        ),
        (
            json!({"network_tracking_domain_id": 9}),
            "network_tracking_domain_id 9 does not exist",
        ),
        (json!({"colour": "red"}), "unknown field colour"),
        (
            json!({"offer_status": "deleted"}),
            "offer_status must be one of active, paused, pending",
        ),
        (
            json!({"redirect_mode": "bounce"}),
            "redirect_mode must be one of standard, single_meta_refresh, double_meta_refresh",
        ),
    ];
    for (patch, message) in cases {
        let mut body = offer_body("x");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = c.net(Method::POST, "/v1/networks/offers", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error(), message);
    }
    let mut two_defaults = offer_body("x");
    two_defaults["payout_revenue"][1]["is_default"] = json!(true);
    let r = c
        .net(Method::POST, "/v1/networks/offers", Some(two_defaults))
        .await;
    assert!(
        r.error().contains("exactly one entry with is_default"),
        "{}",
        r.error()
    );

    // Read-only fields from a GET are accepted and ignored.
    let mut with_read_only = offer_body("x");
    with_read_only["network_offer_id"] = json!(424242);
    with_read_only["time_saved"] = json!(1);
    with_read_only["relationship"] = json!({"payout_revenue": {"total": 0, "entries": []}});
    let id = c.create(with_read_only).await;
    assert_ne!(id, 424242);
}

#[tokio::test]
async fn create_then_get_shows_payout_revenue_only_when_asked() {
    let c = ctx();
    let mut body = offer_body("TrimRx GLP-1");
    body["thumbnail_file"] = c.file("image/png", BANNER_PNG, "thumb.png").await;
    let r = c.net(Method::POST, "/v1/networks/offers", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    let created = r.body;
    let id = created["network_offer_id"].as_u64().unwrap();
    assert_eq!(id, 1001, "destination ids start where the fixtures say");
    assert_eq!(created["network_id"], 7001);
    assert_eq!(created["name"], "TrimRx GLP-1");
    assert!(created["time_created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(created["time_created"], created["time_saved"]);
    assert_eq!(created["relationship"], json!({}));
    let thumbnail = created["thumbnail_url"].as_str().unwrap();
    assert!(
        thumbnail.starts_with(&format!("{}/_sandbox/assets/", c.handle.url()))
            && thumbnail.ends_with("/thumb.png"),
        "{thumbnail}"
    );
    assert!(!created.to_string().contains("payout_revenue"));

    let plain = c
        .net(Method::GET, &format!("/v1/networks/offers/{id}"), None)
        .await;
    assert_eq!(
        plain.body, created,
        "GET without relationship = the create response"
    );

    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers/{id}?relationship=payout_revenue"),
            None,
        )
        .await;
    let rel = &r.body["relationship"];
    assert_eq!(
        rel.as_object().unwrap().len(),
        1,
        "only what was asked: {rel}"
    );
    assert_eq!(rel["payout_revenue"]["total"], 2);
    let base = &rel["payout_revenue"]["entries"][0];
    assert_eq!(base["entry_name"], "Base");
    assert_eq!(base["payout_amount"], json!(280));
    assert_eq!(base["revenue_amount"], json!(350));
    assert_eq!(base["revenue_type"], "rpa");
    assert_eq!(base["is_default"], true);
    assert_eq!(base["network_offer_id"], id);
    assert_eq!(base["network_offer_payout_revenue_id"], 5001);
    assert_eq!(
        rel["payout_revenue"]["entries"][1]["network_offer_payout_revenue_id"],
        5002
    );
    assert!(r.body.get("payout_revenue").is_none());

    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers/{id}?relationship=payout_revenue,advertiser"),
            None,
        )
        .await;
    assert_eq!(r.body["relationship"]["advertiser"]["name"], "TrimRx");
    assert!(r.body["relationship"]["payout_revenue"].is_object());
    let r = c
        .net(
            Method::GET,
            &format!(
                "/v1/networks/offers/{id}?relationship=advertiser&relationship=payout_revenue"
            ),
            None,
        )
        .await;
    assert_eq!(r.body["relationship"].as_object().unwrap().len(), 2);
    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers/{id}?relationship=all"),
            None,
        )
        .await;
    assert!(r.body["relationship"]["payout_revenue"].is_object());

    assert_eq!(
        c.handle.sandbox().destination_offer(id).unwrap()["relationship"]["payout_revenue"]["total"],
        2
    );
    let r = c.net(Method::GET, "/v1/networks/offers/999999", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["Error"].is_string());
}

// ---- PUT /v1/networks/offers/{id} ----

fn entries(offer: &Value) -> &Vec<Value> {
    offer["relationship"]["payout_revenue"]["entries"]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn put_is_a_full_replacement_that_keeps_sent_event_ids() {
    let c = ctx();
    let mut with_thumbnail = offer_body("Offer");
    with_thumbnail["thumbnail_file"] = c.file("image/png", BANNER_PNG, "thumb.png").await;
    let id = c.create(with_thumbnail).await;
    let before = c.handle.sandbox().destination_offer(id).unwrap();
    assert_ne!(before["thumbnail_url"], "");
    let upsell_id = entries(&before)[1]["network_offer_payout_revenue_id"]
        .as_u64()
        .unwrap();

    // Leave out internal_notes and visibility; keep Upsell by id, drop nothing
    // else by id, add a new event.
    let trimmed = without(offer_body("Offer"), "internal_notes");
    let mut body = without(trimmed, "visibility");
    body["payout_revenue"] = json!([
        {"entry_name": "Base", "payout_type": "cpa", "payout_amount": 281, "revenue_type": "rpa", "revenue_amount": 351, "is_default": true},
        {"network_offer_payout_revenue_id": upsell_id, "entry_name": "Upsell", "payout_type": "cpa", "payout_amount": 240, "revenue_type": "rpa", "revenue_amount": 300},
        {"entry_name": "Refill", "payout_type": "cpa", "payout_amount": 36, "revenue_type": "rpa", "revenue_amount": 45}
    ]);
    let r = c
        .net(
            Method::PUT,
            &format!("/v1/networks/offers/{id}"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["internal_notes"], "",
        "omitted optional field reverts to default"
    );
    assert_eq!(r.body["visibility"], "public");
    assert_eq!(
        r.body["thumbnail_url"], before["thumbnail_url"],
        "no new thumbnail_file: image kept"
    );

    let after = c.handle.sandbox().destination_offer(id).unwrap();
    let e = entries(&after);
    assert_eq!(e.len(), 3);
    assert_eq!(
        e[1]["network_offer_payout_revenue_id"], upsell_id,
        "sent id kept"
    );
    assert_eq!(e[1]["revenue_amount"], json!(300));
    let old_base = entries(&before)[0]["network_offer_payout_revenue_id"]
        .as_u64()
        .unwrap();
    let new_base = e[0]["network_offer_payout_revenue_id"].as_u64().unwrap();
    assert!(
        new_base > upsell_id && new_base != old_base,
        "entry without id is new"
    );
    assert!(e[2]["network_offer_payout_revenue_id"].as_u64().unwrap() > new_base);

    // An id of another offer, or unknown, is refused.
    let other = c.create(offer_body("Other")).await;
    let other_offer = c.handle.sandbox().destination_offer(other).unwrap();
    let foreign = entries(&other_offer)[0]["network_offer_payout_revenue_id"].clone();
    let mut body = offer_body("Offer");
    body["payout_revenue"][0]["network_offer_payout_revenue_id"] = foreign;
    let r = c
        .net(
            Method::PUT,
            &format!("/v1/networks/offers/{id}"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("does not belong"), "{}", r.error());

    let r = c
        .net(
            Method::PUT,
            "/v1/networks/offers/777",
            Some(offer_body("x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .net(
            Method::PUT,
            &format!("/v1/networks/offers/{id}"),
            Some(without(offer_body("x"), "payout_revenue")),
        )
        .await;
    assert_eq!(r.error(), "payout_revenue is required");
}

#[tokio::test]
async fn time_saved_moves_only_when_a_base_field_changes() {
    let c = ctx();
    let id = c.create(offer_body("Offer")).await;
    let path = format!("/v1/networks/offers/{id}");
    let with_rel = format!("{path}?relationship=payout_revenue");
    let t0 = c.net(Method::GET, &with_rel, None).await.body["time_saved"]
        .as_u64()
        .unwrap();

    // GET -> overlay nothing -> PUT (entries copied from the relationship).
    let current = c.net(Method::GET, &with_rel, None).await.body;
    let mut body = current.clone();
    body["payout_revenue"] = current["relationship"]["payout_revenue"]["entries"].clone();
    let r = c.net(Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["time_saved"].as_u64().unwrap(), t0, "identical PUT");

    // A payout change is a relationship change: time_saved stays.
    body["payout_revenue"][0]["payout_amount"] = json!(279.99);
    c.net(Method::PUT, &path, Some(body.clone())).await;
    let now = c.net(Method::GET, &with_rel, None).await.body;
    assert_eq!(now["time_saved"].as_u64().unwrap(), t0);
    assert_eq!(entries(&now)[0]["payout_amount"], json!(279.99));

    // A base field change moves it.
    body["name"] = json!("Offer renamed");
    let r = c.net(Method::PUT, &path, Some(body.clone())).await;
    let renamed = r.body["time_saved"].as_u64().unwrap();
    assert!(renamed > t0);
    assert_eq!(r.body["time_created"], current["time_created"]);

    // So does attaching a thumbnail (thumbnail_url is a base field).
    assert_eq!(r.body["thumbnail_url"], "");
    body["thumbnail_file"] = c.file("image/png", BANNER_PNG, "new logo.png").await;
    let r = c.net(Method::PUT, &path, Some(body)).await;
    assert!(
        r.body["thumbnail_url"]
            .as_str()
            .unwrap()
            .ends_with("/new_logo.png"),
        "{:?}",
        r.body
    );
    let t1 = r.body["time_saved"].as_u64().unwrap();
    assert!(t1 > renamed);

    // A UI edit through the handle moves it too, and keeps events.
    c.handle
        .sandbox()
        .edit_destination_offer(id, |o| {
            o.insert("internal_notes".into(), json!("edited in the UI"));
        })
        .unwrap();
    let edited = c.handle.sandbox().destination_offer(id).unwrap();
    assert_eq!(edited["internal_notes"], "edited in the UI");
    assert!(edited["time_saved"].as_u64().unwrap() > t1);
    assert_eq!(entries(&edited).len(), 2);
    let err = c
        .handle
        .sandbox()
        .edit_destination_offer(id, |o| {
            o.insert("visibility".into(), json!("secret"));
        })
        .unwrap_err();
    assert!(err.to_string().contains("visibility"), "{err}");
    assert!(
        c.handle
            .sandbox()
            .edit_destination_offer(1, |_| {})
            .is_err()
    );
}

// ---- lists, paging, filters, offerstable ----

#[tokio::test]
async fn paging_and_page_size_limits() {
    let c = ctx();
    for n in 0..3 {
        c.create(offer_body(&format!("Offer {n}"))).await;
    }
    let r = c
        .net(Method::GET, "/v1/networks/offers?page=2&page_size=2", None)
        .await;
    assert_eq!(
        r.body["paging"],
        json!({"page": 2, "page_size": 2, "total_count": 3})
    );
    assert_eq!(r.body["offers"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["offers"][0]["name"], "Offer 2");
    let r = c.net(Method::GET, "/v1/networks/offers", None).await;
    assert_eq!(
        r.body["paging"],
        json!({"page": 1, "page_size": 50, "total_count": 3})
    );
    let r = c
        .net(Method::GET, "/v1/networks/offers?page_size=2000", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for bad in ["page_size=2001", "page_size=0", "page=0", "page=abc"] {
        let r = c
            .net(Method::GET, &format!("/v1/networks/offers?{bad}"), None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body["Error"].is_string());
    }
    let r = c
        .aff("/v1/affiliates/offersrunnable?page=1&page_size=1")
        .await;
    assert_eq!(r.body["paging"]["total_count"], 2);
    assert_eq!(r.body["offers"].as_array().unwrap().len(), 1);
    let r = c.aff("/v1/affiliates/offersrunnable?page_size=2001").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_filters_and_relationships() {
    let c = ctx();
    let a = c.create(offer_body("TrimRx A")).await;
    let mut dm = offer_body("DirectMeds B");
    dm["network_advertiser_id"] = json!(14);
    dm["offer_status"] = json!("paused");
    let b = c.create(dm).await;
    let ids = |r: &Reply| -> Vec<u64> {
        r.body["offers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["network_offer_id"].as_u64().unwrap())
            .collect()
    };
    let r = c
        .net(
            Method::GET,
            "/v1/networks/offers?filter=network_advertiser_id%3D14",
            None,
        )
        .await;
    assert_eq!(ids(&r), vec![b]);
    assert_eq!(r.body["paging"]["total_count"], 1);
    let r = c
        .net(
            Method::GET,
            "/v1/networks/offers?filter=offer_status%3Dactive",
            None,
        )
        .await;
    assert_eq!(ids(&r), vec![a]);
    let r = c
        .net(
            Method::GET,
            &format!(
                "/v1/networks/offers?filter=network_offer_id%3E{a}&filter=offer_status%3Dpaused"
            ),
            None,
        )
        .await;
    assert_eq!(ids(&r), vec![b]);
    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers?filter=network_offer_id%3C{b}"),
            None,
        )
        .await;
    assert_eq!(ids(&r), vec![a]);
    let r = c
        .net(
            Method::GET,
            "/v1/networks/offers?filter=time_saved%3E4000000000",
            None,
        )
        .await;
    assert!(ids(&r).is_empty());
    let r = c
        .net(
            Method::GET,
            "/v1/networks/offers?filter=payout_amount%3D1",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // List elements carry payout_revenue and labels without asking (tap-everflow).
    let r = c.net(Method::GET, "/v1/networks/offers", None).await;
    let rel = &r.body["offers"][0]["relationship"];
    assert_eq!(rel["payout_revenue"]["total"], 2);
    assert_eq!(rel["labels"], json!({"total": 0, "entries": []}));
    assert!(rel["encoded_value"].as_str().unwrap().len() == 6);
}

#[tokio::test]
async fn offerstable_is_a_read_with_table_rows() {
    let c = ctx();
    let a = c.create(offer_body("Semaglutide Program")).await;
    let mut dm = offer_body("ED Visit");
    dm["network_advertiser_id"] = json!(14);
    dm["labels"] = json!(["telehealth"]);
    let b = c.create(dm).await;
    let table = |body: Value| {
        c.net(
            Method::POST,
            "/v1/networks/offerstable?page=1&page_size=10",
            Some(body),
        )
    };

    let r = table(json!({"search_terms": [{"search_type": "name", "value": "semaglutide"}]})).await;
    assert_eq!(r.body["paging"]["total_count"], 1);
    let row = &r.body["offers"][0];
    assert_eq!(row["network_offer_id"], a);
    assert_eq!(
        row["payout"],
        json!({"payout_type": "cpa", "payout_amount": 280})
    );
    assert_eq!(
        row["revenue"],
        json!({"revenue_type": "rpa", "revenue_amount": 350})
    );
    assert!(row.get("html_description").is_none());

    let r =
        table(json!({"search_terms": [{"search_type": "advertiser_name", "value": "directmeds"}]}))
            .await;
    assert_eq!(r.body["offers"][0]["network_offer_id"], b);
    let r =
        table(json!({"filters": {"network_advertiser_ids": [13], "offer_status": "active"}})).await;
    assert_eq!(r.body["paging"]["total_count"], 1);
    let r =
        table(json!({"filters": {"labels": ["telehealth"], "visibilities": ["require_approval"]}}))
            .await;
    assert_eq!(r.body["offers"][0]["network_offer_id"], b);
    let r = table(json!({"search_terms": [{"search_type": "colour", "value": "x"}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .net(
            Method::POST,
            "/v1/networks/offerstable?relationship=tracking_domain",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        r.body["offers"][0]["relationship"]["tracking_domain"]["url"],
        "trk.iscale.test"
    );

    let log = c.log();
    let tables: Vec<_> = log
        .iter()
        .filter(|l| l.path == "/v1/networks/offerstable")
        .collect();
    assert!(!tables.is_empty() && tables.iter().all(|l| !l.is_write()));
}

// ---- Affiliate API ----

#[tokio::test]
async fn runnable_lists_runnable_offers_with_full_relationships() {
    let c = ctx();
    let r = c.aff("/v1/affiliates/offersrunnable").await;
    assert_eq!(r.status, StatusCode::OK);
    let offers = r.body["offers"].as_array().unwrap();
    let ids: Vec<u64> = offers
        .iter()
        .map(|o| o["network_offer_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![1, 2],
        "pending and private offers are not runnable"
    );
    let o = &offers[0];
    for key in [
        "network_id",
        "name",
        "offer_status",
        "currency_id",
        "visibility",
        "thumbnail_url",
        "html_description",
        "is_description_plain_text",
        "preview_url",
        "tracking_url",
        "redirect_tracking_url",
        "impression_tracking_url",
        "network_category_id",
        "is_caps_enabled",
        "caps_timezone_id",
        "daily_payout_cap",
        "is_use_direct_linking",
        "is_using_suppression_list",
        "network_tracking_domain_id",
        "app_identifier",
        "date_live_until",
        "time_created",
        "time_saved",
    ] {
        assert!(o.get(key).is_some(), "missing {key}");
    }
    let rel = &o["relationship"];
    assert_eq!(rel["offer_affiliate_status"], "approved");
    assert_eq!(rel["payouts"]["total"], 2);
    let base = &rel["payouts"]["entries"][0];
    assert_eq!(base["entry_name"], "Base");
    assert_eq!(base["payout_amount"], json!(350));
    assert_eq!(base["is_default"], true);
    assert!(
        base.get("revenue_amount").is_none(),
        "affiliates do not see revenue"
    );
    assert_eq!(rel["payouts"]["entries"][1]["entry_name"], "Upsell");
    assert_eq!(rel["payouts"]["entries"][1]["payout_amount"], json!(290));
    assert_eq!(rel["urls"]["total"], 3);
    assert_eq!(rel["urls"]["entries"][0]["preview_url"], "");
    assert_eq!(rel["creatives"]["entries"][0]["width"], 300);
    assert_eq!(rel["ruleset"]["countries"][0]["country_id"], 227);
    assert_eq!(rel["ruleset"]["regions"][0]["region_id"], 1501);
    assert_eq!(rel["custom_payout_settings"]["total"], 1);
    assert_eq!(
        offers[1]["relationship"]["payouts"]["entries"][0]["payout_amount"],
        json!(120.5)
    );
    // Landing pages are sandbox-only data.
    assert!(!r.body.to_string().contains("landing_pages"));

    let r = c
        .aff("/v1/affiliates/offersrunnable?search=tirzepatide")
        .await;
    assert_eq!(r.body["offers"][0]["network_offer_id"], 2);
    assert_eq!(r.body["paging"]["total_count"], 1);
    let r = c.aff("/v1/affiliates/offersrunnable?search=1").await;
    assert_eq!(r.body["offers"][0]["network_offer_id"], 1);

    let r = c
        .call(
            Method::GET,
            "/v1/affiliates/offersrunnable",
            Some(&c.directmeds_key),
            None,
        )
        .await;
    let dm = r.body["offers"].as_array().unwrap();
    assert_eq!(dm.len(), 2);
    assert_eq!(
        dm[0]["relationship"]["payouts"]["entries"][0]["payout_amount"],
        json!(99.99)
    );
    let pct = &dm[1]["relationship"]["payouts"]["entries"][0];
    assert_eq!(pct["payout_type"], "cps");
    assert_eq!(pct["payout_percentage"], json!(33.33));
}

#[tokio::test]
async fn affiliate_offer_visibility() {
    let c = ctx();
    let r = c.aff("/v1/affiliates/offers/1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["name"],
        "TrimRx - Compounded Semaglutide Weight Loss Program"
    );
    let r = c.aff("/v1/affiliates/offers/3").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "require_approval offers are visible"
    );
    assert_eq!(r.body["relationship"]["offer_affiliate_status"], "pending");
    for hidden in ["4", "999", "12", "abc"] {
        let r = c.aff(&format!("/v1/affiliates/offers/{hidden}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "offer {hidden}");
        assert!(r.body["Error"].is_string());
    }
}

#[tokio::test]
async fn tracking_url_shapes_and_errors() {
    let c = ctx();
    let r = c.aff("/v1/affiliates/offers/1/url/0").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("tracking_url").is_none());
    assert_eq!(
        r.body["url"],
        "https://start.trimrx.test/semaglutide?_ef_transaction_id=&oid=1&affid=42"
    );
    let r = c.aff("/v1/affiliates/offers/1/url/102").await;
    assert_eq!(
        r.body["url"],
        "https://start.trimrx.test/quiz/semaglutide?_ef_transaction_id=&uid=102&oid=1&affid=42"
    );
    // Not direct linking: a redirect link on the source's tracking domain.
    let r = c.aff("/v1/affiliates/offers/2/url/201").await;
    let link = r.body["url"].as_str().unwrap();
    assert!(
        link.starts_with("https://trk.trimrx.test/") && link.ends_with("/?uid=201"),
        "{link}"
    );
    let offer2 = c.aff("/v1/affiliates/offers/2").await;
    assert_eq!(
        offer2.body["tracking_url"],
        c.aff("/v1/affiliates/offers/2/url/0").await.body["url"]
    );

    let r = c.aff("/v1/affiliates/offers/1/url/999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.aff("/v1/affiliates/offers/3/url/0").await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "visible but not runnable"
    );
    assert!(r.body["Error"].is_string());
    let r = c.aff("/v1/affiliates/offers/4/url/0").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "private and not approved");

    let r = c
        .call(
            Method::GET,
            "/v1/affiliates/offers/12/url/1202",
            Some(&c.directmeds_key),
            None,
        )
        .await;
    assert_eq!(
        r.body["url"],
        "https://www.directmeds.test/ed/discreet-checkout?_ef_transaction_id=&uid=1202&oid=12&affid=77"
    );
}

#[tokio::test]
async fn another_affiliate_of_the_network_sees_it_as_itself() {
    let c = ctx();
    let other = |path: &'static str| c.call(Method::GET, path, Some(&c.trimrx_other_key), None);
    let r = other("/v1/affiliates/settings").await;
    assert_eq!(r.body["network_affiliate_id"], 58);
    assert_eq!(r.body["name"], "Crestline Digital");
    assert_eq!(r.body["network_id"], 101);

    // The fixtures hold our standing on each offer; another affiliate runs the
    // public offers, sees require_approval ones unapplied and no private ones.
    let r = other("/v1/affiliates/offersrunnable").await;
    let ids: Vec<u64> = r.body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["network_offer_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    let r = other("/v1/affiliates/offers/3").await;
    assert_eq!(
        r.body["relationship"]["offer_affiliate_status"],
        "not_applied"
    );
    let r = other("/v1/affiliates/offers/3/url/0").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = other("/v1/affiliates/offers/4").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Its links carry its own affiliate id, in the view and from url/{id}.
    let r = other("/v1/affiliates/offers/1/url/102").await;
    assert_eq!(
        r.body["url"],
        "https://start.trimrx.test/quiz/semaglutide?_ef_transaction_id=&uid=102&oid=1&affid=58"
    );
    let theirs = other("/v1/affiliates/offers/2").await.body;
    let ours = c.aff("/v1/affiliates/offers/2").await.body;
    assert_ne!(theirs["tracking_url"], ours["tracking_url"]);
    assert_eq!(
        theirs["tracking_url"],
        other("/v1/affiliates/offers/2/url/0").await.body["url"]
    );
    // Both keys share the network's rate-limit bucket.
    let buckets: Vec<String> = c.log().iter().map(|r| r.bucket.clone()).collect();
    assert!(
        buckets.iter().all(|b| b == "affiliate:trimrx"),
        "{buckets:?}"
    );
}

#[tokio::test]
async fn settings_domains_and_advertisers() {
    let c = ctx();
    let r = c.aff("/v1/affiliates/settings").await;
    assert_eq!(r.body["network_affiliate_id"], 42);
    assert_eq!(r.body["network_id"], 101);
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.body["network_id"], 7001);
    let r = c
        .net(Method::GET, "/v1/networks/domains/tracking", None)
        .await;
    let primary: Vec<_> = r.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["is_primary_domain"] == true)
        .collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["url"], "trk.iscale.test");
    assert_eq!(primary[0]["network_tracking_domain_id"], 1);
    let r = c
        .net(Method::GET, "/v1/networks/advertisers/13", None)
        .await;
    assert_eq!(r.body["name"], "TrimRx");
    assert_eq!(r.body["verification_token"], "");
    assert_eq!(r.body["offer_id_macro"], "oid");
    let r = c
        .net(Method::GET, "/v1/networks/advertisers/99", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// ---- rate limits ----

#[tokio::test]
async fn rate_limit_headers_and_429_per_customer_bucket() {
    let c = ctx_with(SandboxOptions {
        network_rate: 1,
        affiliate_rate: 1,
        ..SandboxOptions::default()
    });
    // 1 rps = 30 per 30 s window; both trimrx keys share one bucket.
    for i in 0..30u32 {
        let key = if i % 2 == 0 {
            &c.trimrx_key
        } else {
            &c.trimrx_key2
        };
        let r = c
            .call(Method::GET, "/v1/affiliates/settings", Some(key), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "request {i}");
        assert_eq!(r.header("x-ratelimit-limit"), Some("30"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some((29 - i).to_string().as_str())
        );
    }
    let r = c.aff("/v1/affiliates/offersrunnable").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body, json!({"Error": "Too Many Requests"}));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("retry-after").is_none());
    // Other customers have their own buckets.
    let r = c
        .call(
            Method::GET,
            "/v1/affiliates/settings",
            Some(&c.directmeds_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("29"));
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("29"));
    let buckets: Vec<_> = c.log().iter().map(|l| l.bucket.clone()).collect();
    assert_eq!(buckets[0], "affiliate:trimrx");
    assert_eq!(buckets[31], "affiliate:directmeds");
    assert_eq!(buckets[32], "network:7001");
}

#[tokio::test]
async fn default_limits_are_everflows() {
    let c = ctx();
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("900"));
    let r = c.aff("/v1/affiliates/settings").await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("150"));
}

// ---- the request log ----

#[tokio::test]
async fn request_log_records_writes_reads_and_bodies_without_keys() {
    let c = ctx();
    let id = c.create(offer_body("Logged")).await;
    c.net(
        Method::GET,
        &format!("/v1/networks/offers/{id}?relationship=payout_revenue"),
        None,
    )
    .await;
    c.net(
        Method::POST,
        "/v1/networks/offerstable",
        Some(json!({"filters": {}})),
    )
    .await;
    c.net(
        Method::PUT,
        &format!("/v1/networks/offers/{id}"),
        Some(offer_body("Logged 2")),
    )
    .await;
    c.aff("/v1/affiliates/offersrunnable?page=1").await;

    let log = c.log();
    let summary: Vec<(&str, &str, bool, u16)> = log
        .iter()
        .map(|l| (l.method.as_str(), l.path.as_str(), l.is_write(), l.status))
        .collect();
    let one = format!("/v1/networks/offers/{id}");
    assert_eq!(
        summary,
        vec![
            ("POST", "/v1/networks/offers", true, 200),
            ("GET", one.as_str(), false, 200),
            ("POST", "/v1/networks/offerstable", false, 200),
            ("PUT", one.as_str(), true, 200),
            ("GET", "/v1/affiliates/offersrunnable", false, 200),
        ]
    );
    assert_eq!(log[1].query, "relationship=payout_revenue");
    assert_eq!(log[0].body.as_ref().unwrap()["name"], "Logged");
    assert!(log[1].body.is_none());
    assert_eq!(log[4].bucket, "affiliate:trimrx");
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&c.network_key) && !text.contains(&c.trimrx_key));
    assert_eq!(log.iter().filter(|l| l.is_write()).count(), 2);

    c.handle.sandbox().clear_requests();
    assert!(c.log().is_empty());
}

// ---- faults ----

async fn statuses(c: &Ctx, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            c.net(Method::GET, "/v1/networks/settings", None)
                .await
                .status
                .as_u16(),
        );
    }
    out
}

#[tokio::test]
async fn error_faults_are_reproducible_by_seed() {
    let opts = |seed| SandboxOptions {
        seed,
        faults: Faults {
            error_rate: 0.5,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    };
    let a = statuses(&ctx_with(opts(42)), 32).await;
    let b = statuses(&ctx_with(opts(42)), 32).await;
    let other = statuses(&ctx_with(opts(43)), 32).await;
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn error_fault_comes_before_any_effect() {
    let c = ctx_with(SandboxOptions {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    });
    let r = c
        .net(Method::POST, "/v1/networks/offers", Some(offer_body("x")))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, json!({"Error": "internal error"}));
    assert!(r.header("x-ratelimit-remaining").is_some());
    assert!(c.handle.sandbox().destination_offers().is_empty());
    assert_eq!(c.log()[0].fault.as_deref(), Some("error_500"));
}

#[tokio::test]
async fn dropped_write_commits_but_the_client_gets_no_complete_response() {
    let c = ctx();
    c.handle.sandbox().set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    // Reads are never dropped.
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.status, StatusCode::OK);

    let sent = c
        .client
        .post(format!("{}/v1/networks/offers", c.handle.url()))
        .header("X-Eflow-API-Key", &c.network_key)
        .json(&offer_body("Dropped"))
        .send()
        .await;
    match sent {
        Ok(resp) => {
            assert_eq!(resp.status(), StatusCode::OK, "headers went out");
            assert!(resp.bytes().await.is_err(), "the body must never arrive");
        }
        Err(e) => panic!("the status line and headers should arrive first: {e}"),
    }
    let offers = c.handle.sandbox().destination_offers();
    assert_eq!(offers.len(), 1, "the effect was committed");
    assert_eq!(offers[0]["name"], "Dropped");
    let last = c.log().pop().unwrap();
    assert_eq!(last.fault.as_deref(), Some("drop_after_commit"));
    assert!(last.is_write());

    // A failed write (400) has no effect to commit and is answered normally.
    let r = c
        .net(
            Method::POST,
            "/v1/networks/offers",
            Some(without(offer_body("x"), "name")),
        )
        .await;
    assert_eq!(r.error(), "name is required");

    c.handle.sandbox().set_faults(Faults::default());
    let r = c.net(Method::GET, "/v1/networks/offers", None).await;
    assert_eq!(r.body["paging"]["total_count"], 1);
}

#[tokio::test]
async fn burst_429_then_normal_service() {
    let c = ctx();
    c.handle.sandbox().set_faults(Faults {
        burst_429: 2,
        ..Faults::default()
    });
    for _ in 0..2 {
        let r = c.net(Method::GET, "/v1/networks/settings", None).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        assert!(r.header("retry-after").is_none());
    }
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("x-ratelimit-remaining"),
        Some("899"),
        "bursts used no quota"
    );
}

#[tokio::test]
async fn latency_is_added_and_changeable_at_runtime() {
    let c = ctx_with(SandboxOptions {
        latency: Duration::from_millis(150),
        ..SandboxOptions::default()
    });
    let t = Instant::now();
    c.net(Method::GET, "/v1/networks/settings", None).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    c.handle.sandbox().set_latency(Duration::ZERO);
    let t = Instant::now();
    c.net(Method::GET, "/v1/networks/settings", None).await;
    assert!(t.elapsed() < Duration::from_millis(150));
}

// ---- control endpoints and the Rust API ----

#[tokio::test]
async fn control_endpoints() {
    let c = ctx();
    c.net(Method::GET, "/v1/networks/settings", None).await;
    let r = c.call(Method::GET, "/_sandbox/requests", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.as_array().unwrap().len(),
        1,
        "control calls are not logged"
    );
    assert_eq!(r.body[0]["path"], "/v1/networks/settings");
    assert!(r.header("x-ratelimit-limit").is_none());

    let r = c
        .call(Method::DELETE, "/_sandbox/requests", None, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(c.log().is_empty());

    let r = c
        .call(
            Method::PUT,
            "/_sandbox/faults",
            None,
            Some(json!({"burst_429": 1, "latency_ms": 0})),
        )
        .await;
    assert_eq!(r.body["burst_429"], 1);
    assert_eq!(c.handle.sandbox().faults().burst_429, 1);
    let r = c.net(Method::GET, "/v1/networks/settings", None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = c
        .call(
            Method::PUT,
            "/_sandbox/faults",
            None,
            Some(json!({"error_rate": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("error_rate"));
    let r = c
        .call(
            Method::PUT,
            "/_sandbox/faults",
            None,
            Some(json!({"eror_rate": 0.1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = c
        .call(
            Method::PATCH,
            "/_sandbox/sources/trimrx/offers/1/payouts/Upsell",
            None,
            Some(json!({"payout_amount": 300})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["payout_amount"], json!(300));
    let offer = c.aff("/v1/affiliates/offers/1").await;
    assert_eq!(
        offer.body["relationship"]["payouts"]["entries"][1]["payout_amount"],
        json!(300)
    );
    assert_eq!(
        offer.body["time_saved"],
        json!(1735689600 + 86400 * 40),
        "a relationship change"
    );

    for bad in [
        "/_sandbox/sources/nope/offers/1/payouts/Base",
        "/_sandbox/sources/trimrx/offers/77/payouts/Base",
        "/_sandbox/sources/trimrx/offers/1/payouts/Nope",
    ] {
        let r = c
            .call(Method::PATCH, bad, None, Some(json!({"payout_amount": 1})))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let r = c
        .call(
            Method::PATCH,
            "/_sandbox/sources/trimrx/offers/1/payouts/Base",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn set_source_payout_through_the_handle() {
    let c = ctx();
    let sb = c.handle.sandbox();
    sb.set_source_payout("directmeds", 12, "Base", Decimal::new(10999, 2))
        .unwrap();
    let r = c
        .call(
            Method::GET,
            "/v1/affiliates/offers/12",
            Some(&c.directmeds_key),
            None,
        )
        .await;
    assert_eq!(
        r.body["relationship"]["payouts"]["entries"][0]["payout_amount"],
        json!(109.99)
    );
    assert!(
        sb.set_source_payout("directmeds", 12, "Nope", Decimal::ONE)
            .is_err()
    );
    assert!(
        sb.set_source_payout("directmeds", 1, "Base", Decimal::ONE)
            .is_err()
    );
    assert!(
        sb.set_source_payout("nowhere", 1, "Base", Decimal::ONE)
            .is_err()
    );
    assert!(
        sb.set_source_payout("directmeds", 12, "Base", Decimal::NEGATIVE_ONE)
            .is_err()
    );
}

#[test]
fn handle_works_from_sync_code_and_stops_on_drop() {
    use std::io::{Read, Write};
    let handle = SandboxHandle::start(Fixtures::builtin(), SandboxOptions::default()).unwrap();
    let addr = handle.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /v1/networks/settings HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(reply.contains("No Authentication Method Found"));
    assert_eq!(handle.sandbox().requests().len(), 1);
    drop(handle);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "stopped on drop"
    );
}

// ---- fixtures on loopback: the web host and {sandbox} ----

impl Ctx {
    /// A plain GET without a key: status, content type and body bytes.
    async fn download(&self, path_or_url: &str) -> (StatusCode, String, Vec<u8>) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.handle.url())
        };
        let resp = self.client.get(url).send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, resp.bytes().await.unwrap().to_vec())
    }

    async fn offer_of(&self, key: &str, id: u64) -> Value {
        let r = self
            .call(
                Method::GET,
                &format!("/v1/affiliates/offers/{id}"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }
}

#[tokio::test]
async fn fixture_urls_point_at_this_sandbox() {
    let c = ctx();
    let base = c.handle.url();
    let r = c.aff("/v1/affiliates/offersrunnable").await;
    let text = r.body.to_string();
    assert!(!text.contains("{sandbox}"), "placeholder left in {text}");
    let offers = r.body["offers"].as_array().unwrap();
    assert_eq!(
        offers[0]["thumbnail_url"],
        format!("{base}/_sandbox/web/trimrx/semaglutide-640x360.png")
    );
    assert_eq!(
        offers[0]["relationship"]["creatives"]["entries"][0]["resource_url"],
        format!("{base}/_sandbox/web/trimrx/banner-300x250.png")
    );
    assert_eq!(offers[1]["thumbnail_url"], "");
    assert_eq!(
        offers[1]["preview_url"],
        format!("{base}/_sandbox/web/trimrx/tirzepatide.html")
    );
    let dm = c.offer_of(&c.directmeds_key, 15).await;
    assert_eq!(
        dm["preview_url"],
        format!("{base}/_sandbox/web/directmeds/pharmacy.html")
    );
    // The raw fixtures keep the placeholder; only the running sandbox fills it.
    assert!(
        serde_json::to_string(&Fixtures::builtin())
            .unwrap()
            .contains("{sandbox}/_sandbox/web/")
    );
}

#[tokio::test]
async fn the_built_in_fixtures_describe_the_documented_cases() {
    let c = ctx();
    let glp1 = c.offer_of(&c.trimrx_key, 1).await;
    let rel = &glp1["relationship"];
    let url_ids: Vec<u64> = rel["urls"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["network_offer_url_id"].as_u64().unwrap())
        .collect();
    assert_eq!(url_ids, [101, 102, 103]);
    let kinds: Vec<&str> = rel["creatives"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["creative_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "html"]);
    let rules = rel["custom_payout_settings"]["entries"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["payout_amount"], json!(290));
    assert_eq!(rules[0]["network_offer_payout_revenue_id"], 12);
    assert_eq!(
        rules[0]["relationship"]["offer_urls"],
        json!([{"network_offer_url_id": 102, "name": "Quiz Funnel"}, {"network_offer_url_id": 103, "name": "Upsell Page"}])
    );
    let regions: Vec<u64> = rel["ruleset"]["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["region_id"].as_u64().unwrap())
        .collect();
    assert_eq!(regions, [1501, 1420]);

    let starter = c.offer_of(&c.trimrx_key, 2).await;
    let rule = &starter["relationship"]["custom_payout_settings"]["entries"][0];
    assert_eq!(rule["relationship"]["network_offer_url_ids"], json!([201]));
    assert_eq!(rule["payout_amount"], json!(130));

    let ed = c.offer_of(&c.directmeds_key, 12).await;
    let rel = &ed["relationship"];
    assert_eq!(
        rel["custom_payout_settings"]["entries"][0]["network_offer_url_ids"],
        json!([1202])
    );
    let creatives = rel["creatives"]["entries"].as_array().unwrap();
    assert!(
        creatives[0]["resource_url"]
            .as_str()
            .unwrap()
            .ends_with(".gif")
    );
    assert_eq!(creatives[1]["creative_type"], "text");
}

#[tokio::test]
async fn web_host_serves_fixture_files_and_404s_otherwise() {
    let c = ctx();
    for (path, ct, magic) in [
        (
            "trimrx/semaglutide-640x360.png",
            "image/png",
            &b"\x89PNG"[..],
        ),
        ("trimrx/banner-300x250.png", "image/png", b"\x89PNG"),
        ("directmeds/ed-300x600.gif", "image/gif", b"GIF89a"),
        ("directmeds/og-pharmacy.jpg", "image/jpeg", b"\xff\xd8\xff"),
    ] {
        let (status, got_ct, body) = c.download(&format!("/_sandbox/web/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(got_ct, ct, "{path}");
        assert!(body.starts_with(magic), "{path}");
    }
    let (status, ct, page) = c.download("/_sandbox/web/directmeds/pharmacy.html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(page).unwrap();
    let og = format!(
        "<meta property=\"og:image\" content=\"{}/_sandbox/web/directmeds/og-pharmacy.jpg\">",
        c.handle.url()
    );
    assert!(page.contains(&og), "{page}");
    let (_, _, page) = c.download("/_sandbox/web/trimrx/tirzepatide.html").await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<h1>") && !page.contains("og:image") && !page.contains("rel=\"icon"));

    for path in [
        "/_sandbox/web/trimrx/nothing.png",
        "/_sandbox/web/",
        "/favicon.ico",
        "/apple-touch-icon.png",
    ] {
        assert_eq!(c.download(path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(c.log().is_empty(), "web downloads are not /v1 requests");
    let seen = c.handle.sandbox().web_requests();
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert_eq!(seen[0], "/_sandbox/web/trimrx/semaglutide-640x360.png");
    assert_eq!(seen[9], "/apple-touch-icon.png");
    c.handle.sandbox().clear_web_requests();
    assert!(c.handle.sandbox().web_requests().is_empty());

    // Not rate limited: far more than a window's worth of requests all pass.
    let c = ctx_with(SandboxOptions {
        network_rate: 1,
        affiliate_rate: 1,
        ..SandboxOptions::default()
    });
    for _ in 0..40 {
        let (status, _, _) = c.download("/_sandbox/web/trimrx/tirzepatide.html").await;
        assert_eq!(status, StatusCode::OK);
    }
}

// ---- temp uploads, thumbnails, assets ----

#[tokio::test]
async fn temp_upload_answers_the_documented_shape() {
    let c = ctx();
    let r = c
        .net(
            Method::POST,
            "/v1/networks/uploads/temp",
            Some(json!({"mime_type": "image/png", "content_base64": base64(BANNER_PNG)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let urls = r.body["urls"].as_array().unwrap();
    assert_eq!(urls.len(), 1);
    assert_eq!(urls[0]["name"], "");
    let url = urls[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://usercontent.everflowclient.io/7001/temp/"),
        "{url}"
    );
    let log = c.log();
    assert!(log[0].is_write(), "an upload is a write");

    let bad = [
        // ISCALE's variant contradicts LEGACY and LIVE.
        json!({"content": base64(BANNER_PNG), "file_type": "image/png", "file_name": "t.png"}),
        json!({"mime_type": "image/png"}),
        json!({"mime_type": "image/png", "content_base64": ""}),
        json!({"mime_type": "image/png", "content_base64": format!("data:image/png;base64,{}", base64(BANNER_PNG))}),
        json!({"mime_type": "image/jpeg", "content_base64": base64(BANNER_PNG)}),
        json!({"mime_type": "text/plain", "content_base64": "aGk"}),
    ];
    for body in bad {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/uploads/temp",
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!r.error().is_empty());
    }
    let r = c
        .call(
            Method::POST,
            "/v1/networks/uploads/temp",
            Some(&c.trimrx_key),
            Some(json!({"mime_type": "image/png", "content_base64": base64(BANNER_PNG)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn thumbnail_file_sets_a_served_thumbnail_url() {
    let c = ctx();
    let mut body = offer_body("With thumbnail");
    body["thumbnail_file"] = c.file("image/png", BANNER_PNG, "thumbnail.png").await;
    let id = c.create(body).await;
    let offer = c.handle.sandbox().destination_offer(id).unwrap();
    let url = offer["thumbnail_url"].as_str().unwrap();
    let (status, ct, bytes) = c.download(url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/png");
    assert_eq!(bytes, BANNER_PNG, "the asset is the uploaded file");
    assert_eq!(
        c.handle.sandbox().asset(url),
        Some(("image/png".to_owned(), BANNER_PNG.to_vec()))
    );
    assert!(
        c.handle
            .sandbox()
            .web_requests()
            .iter()
            .any(|p| url.ends_with(p.as_str()))
    );
    assert!(
        c.handle
            .sandbox()
            .asset("http://127.0.0.1:1/_sandbox/assets/99/x.png")
            .is_none()
    );

    // A thumbnail must be an image.
    let mut body = offer_body("Zip thumbnail");
    body["thumbnail_file"] = c.file("application/zip", b"PK\x03\x04", "a.zip").await;
    let r = c.net(Method::POST, "/v1/networks/offers", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("must be an image"), "{}", r.error());
}

#[tokio::test]
async fn temp_urls_are_single_use_and_must_be_known() {
    let c = ctx();
    let file = c.file("image/png", BANNER_PNG, "a.png").await;
    let mut body = offer_body("First");
    body["thumbnail_file"] = file.clone();
    c.create(body).await;

    let mut again = offer_body("Second");
    again["thumbnail_file"] = file.clone();
    let r = c
        .net(Method::POST, "/v1/networks/offers", Some(again))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("already used"), "{}", r.error());
    assert_eq!(
        c.handle.sandbox().destination_offers().len(),
        1,
        "nothing was created"
    );

    // Nor as a creative's file.
    let offer = c.handle.sandbox().destination_offers()[0]["network_offer_id"]
        .as_u64()
        .unwrap();
    let mut creative = creative_body(offer, "image");
    creative["resource_file"] = file;
    let r = c
        .net(Method::POST, "/v1/networks/creatives", Some(creative))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("already used"), "{}", r.error());

    let mut unknown = offer_body("Third");
    unknown["thumbnail_file"] = json!({
        "temp_url": "https://usercontent.everflowclient.io/7001/temp/00000000-0000-4000-8000-000000000000",
        "original_file_name": "a.png"
    });
    let r = c
        .net(Method::POST, "/v1/networks/offers", Some(unknown))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("not a temp upload"), "{}", r.error());

    // A request that fails for another reason does not use the upload up.
    let fresh = c.file("image/png", BANNER_PNG, "b.png").await;
    let mut broken = without(offer_body("Broken"), "currency_id");
    broken["thumbnail_file"] = fresh.clone();
    let r = c
        .net(Method::POST, "/v1/networks/offers", Some(broken))
        .await;
    assert_eq!(r.error(), "currency_id is required");
    let mut fixed = offer_body("Fixed");
    fixed["thumbnail_file"] = fresh;
    c.create(fixed).await;
}

// ---- offer URLs ----

fn url_body(offer_id: u64, name: &str) -> Value {
    json!({
        "network_offer_id": offer_id,
        "name": name,
        "destination_url": "https://start.trimrx.test/quiz/semaglutide?uid=102&oid=1&affid=42&sub5={transaction_id}",
        "preview_url": "https://start.trimrx.test/quiz/semaglutide",
        "url_status": "active",
        "is_apply_specific_affiliates": false,
        "is_hidden_affiliate": false
    })
}

impl Ctx {
    async fn create_url(&self, offer_id: u64, name: &str) -> u64 {
        let r = self
            .net(
                Method::POST,
                "/v1/networks/offerurls",
                Some(url_body(offer_id, name)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["network_offer_url_id"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn offer_url_create_requires_the_documented_fields() {
    let c = ctx();
    let offer = c.create(offer_body("Offer")).await;
    for key in [
        "network_offer_id",
        "name",
        "destination_url",
        "url_status",
        "is_apply_specific_affiliates",
        "is_hidden_affiliate",
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/offerurls",
                Some(without(url_body(offer, "Quiz"), key)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key}");
        assert_eq!(r.error(), format!("{key} is required"));
    }
    let r = c
        .net(
            Method::POST,
            "/v1/networks/offerurls",
            Some(url_body(999, "Quiz")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("999 does not exist"), "{}", r.error());

    let r = c
        .net(
            Method::POST,
            "/v1/networks/offerurls",
            Some(url_body(offer, "Quiz")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let u = &r.body;
    assert_eq!(
        u["network_offer_url_id"], 3001,
        "ids start where the fixtures say"
    );
    assert_eq!(u["network_id"], 7001);
    assert_eq!(u["network_offer_id"], offer);
    assert_eq!(u["url_status"], "active");
    assert_eq!(u["network_affiliate_ids"], json!([]));
    assert_eq!(u["time_created"], u["time_saved"]);
    let r = c
        .call(
            Method::POST,
            "/v1/networks/offerurls",
            Some(&c.trimrx_key),
            Some(url_body(offer, "Quiz")),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn offer_url_put_is_a_full_replacement_and_there_is_no_delete() {
    let c = ctx();
    let offer = c.create(offer_body("Offer")).await;
    let id = c.create_url(offer, "Quiz").await;
    let path = format!("/v1/networks/offerurls/{id}");
    let before = c.net(Method::GET, &path, None).await.body;
    assert_eq!(
        before["preview_url"],
        "https://start.trimrx.test/quiz/semaglutide"
    );

    // GET -> PUT unchanged keeps time_saved.
    let r = c.net(Method::PUT, &path, Some(before.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, before);

    // Leaving preview_url out resets it; url_status deleted is how a URL goes.
    let mut body = without(url_body(offer, "Quiz (old)"), "preview_url");
    body["url_status"] = json!("deleted");
    let r = c.net(Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["preview_url"], "", "omitted optional field reverts");
    assert_eq!(r.body["url_status"], "deleted");
    assert_eq!(r.body["name"], "Quiz (old)");
    assert!(r.body["time_saved"].as_u64() > before["time_saved"].as_u64());
    assert_eq!(r.body["time_created"], before["time_created"]);

    body["network_offer_url_id"] = json!(id + 1);
    let r = c.net(Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("does not match"), "{}", r.error());
    let other = c.create(offer_body("Other")).await;
    let r = c
        .net(Method::PUT, &path, Some(url_body(other, "Moved")))
        .await;
    assert!(r.error().contains("cannot change"), "{}", r.error());
    let r = c
        .net(
            Method::PUT,
            "/v1/networks/offerurls/98765",
            Some(url_body(offer, "x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = c.net(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.error().contains("url_status"), "{}", r.error());
    assert_eq!(r.header("allow"), Some("GET,PUT"));
    assert_eq!(
        c.handle.sandbox().destination_urls(offer).len(),
        1,
        "still there"
    );
    let delete = c.log().pop().unwrap();
    assert!(delete.is_write() && delete.status == 405);
}

#[tokio::test]
async fn offer_urls_show_in_the_list_filter_and_the_offer_relationship() {
    let c = ctx();
    let a = c.create(offer_body("A")).await;
    let b = c.create(offer_body("B")).await;
    let a1 = c.create_url(a, "A1").await;
    let _b1 = c.create_url(b, "B1").await;
    let a2 = c.create_url(a, "A2").await;
    let mut paused = url_body(a, "A2");
    paused["url_status"] = json!("paused");
    c.net(
        Method::PUT,
        &format!("/v1/networks/offerurls/{a2}"),
        Some(paused),
    )
    .await;

    let r = c.net(Method::GET, "/v1/networks/offerurls", None).await;
    assert_eq!(r.body["paging"]["total_count"], 3);
    assert_eq!(
        r.body["paging"]["page_size"], 2000,
        "LEGACY: first 2000 by default"
    );
    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offerurls?filter=network_offer_id%3D{a}"),
            None,
        )
        .await;
    let ids: Vec<u64> = r.body["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["network_offer_url_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [a1, a2]);
    let r = c
        .net(
            Method::GET,
            &format!(
                "/v1/networks/offerurls?filter=network_offer_id%3D{a}&filter=url_status%3Dpaused"
            ),
            None,
        )
        .await;
    assert_eq!(r.body["urls"][0]["network_offer_url_id"], a2);
    assert_eq!(r.body["paging"]["total_count"], 1);
    let r = c
        .net(Method::GET, "/v1/networks/offerurls?filter=name%3DA1", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .net(Method::GET, "/v1/networks/offerurls?page_size=2001", None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers/{a}?relationship=urls"),
            None,
        )
        .await;
    let urls = &r.body["relationship"]["urls"];
    assert_eq!(urls["total"], 2);
    assert_eq!(urls["entries"][1]["url_status"], "paused");
    assert_eq!(urls["entries"][0]["name"], "A1");
    let plain = c
        .net(Method::GET, &format!("/v1/networks/offers/{a}"), None)
        .await;
    assert!(plain.body["relationship"].get("urls").is_none());
    assert_eq!(
        c.handle.sandbox().destination_urls(a),
        urls["entries"].as_array().unwrap().clone()
    );
}

// ---- creatives ----

fn creative_body(offer_id: u64, ty: &str) -> Value {
    json!({
        "network_offer_id": offer_id,
        "name": format!("Creative {ty}"),
        "creative_type": ty,
        "creative_status": "active",
        "is_private": false,
        "additional_offer_ids": [],
        "is_apply_specific_affiliates": false
    })
}

#[tokio::test]
async fn creative_create_requires_the_documented_fields() {
    let c = ctx();
    let offer = c.create(offer_body("Offer")).await;
    let mut html = creative_body(offer, "html");
    html["html_code"] = json!("<b>GLP-1</b>");
    for key in [
        "network_offer_id",
        "name",
        "creative_type",
        "creative_status",
        "is_private",
        "additional_offer_ids",
        "is_apply_specific_affiliates",
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/creatives",
                Some(without(html.clone(), key)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key}");
        assert_eq!(r.error(), format!("{key} is required"));
    }
    for (ty, missing) in [
        ("html", "html_code is required for html creatives"),
        ("text", "html_code is required for text creatives"),
        ("email", "email_from is required for email creatives"),
        ("image", "resource_file is required for image creatives"),
        ("video", "resource_file is required for video creatives"),
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/creatives",
                Some(creative_body(offer, ty)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{ty}");
        assert_eq!(r.error(), missing);
    }
    let mut extra = html.clone();
    extra["additional_offer_ids"] = json!([4242]);
    let r = c
        .net(Method::POST, "/v1/networks/creatives", Some(extra))
        .await;
    assert!(r.error().contains("4242 does not exist"), "{}", r.error());

    let r = c
        .net(Method::POST, "/v1/networks/creatives", Some(html))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["network_offer_creative_id"], 4001);
    assert_eq!(r.body["html_code"], "<b>GLP-1</b>");
    assert_eq!(r.body["resource_url"], "");
    assert_eq!(r.body["relationship"]["offer"]["name"], "Offer");
    assert!(r.body["relationship"].get("resource_asset").is_none());
}

#[tokio::test]
async fn creative_resource_file_becomes_a_served_asset() {
    let c = ctx();
    let offer = c.create(offer_body("Offer")).await;
    let mut body = creative_body(offer, "image");
    body["resource_file"] = c.file("image/gif", SKYSCRAPER_GIF, "ed 300x600.gif").await;
    let r = c
        .net(Method::POST, "/v1/networks/creatives", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let created = r.body;
    let id = created["network_offer_creative_id"].as_u64().unwrap();
    let url = created["resource_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/_sandbox/assets/", c.handle.url())),
        "{url}"
    );
    let (status, ct, bytes) = c.download(&url).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/gif"));
    assert_eq!(bytes, SKYSCRAPER_GIF, "served bytes equal the upload");
    let asset = &created["relationship"]["resource_asset"];
    assert_eq!(asset["url"], url.as_str());
    assert_eq!(asset["content_type"], "image/gif");
    assert_eq!(asset["filename"], "ed_300x600.gif");
    assert_eq!(asset["file_size"], SKYSCRAPER_GIF.len());
    assert_eq!(
        (
            asset["image_width"].as_u64(),
            asset["image_height"].as_u64()
        ),
        (Some(300), Some(600))
    );
    assert_eq!(
        (created["width"].as_u64(), created["height"].as_u64()),
        (Some(300), Some(600))
    );

    // PUT without resource_file keeps the file; a new one replaces it.
    let path = format!("/v1/networks/creatives/{id}");
    let mut renamed = creative_body(offer, "image");
    renamed["name"] = json!("Renamed");
    let r = c.net(Method::PUT, &path, Some(renamed.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["resource_url"], url.as_str());
    assert_eq!(r.body["name"], "Renamed");
    renamed["resource_file"] = c.file("image/png", BANNER_PNG, "banner.png").await;
    let r = c.net(Method::PUT, &path, Some(renamed)).await;
    let new_url = r.body["resource_url"].as_str().unwrap();
    assert_ne!(new_url, url);
    assert_eq!(c.handle.sandbox().asset(new_url).unwrap().1, BANNER_PNG);
    assert_eq!(r.body["width"], 300);
    assert_eq!(r.body["height"], 250);

    let list = c
        .net(
            Method::GET,
            &format!("/v1/networks/creatives?filter=network_offer_id%3D{offer}"),
            None,
        )
        .await;
    assert_eq!(list.body["paging"]["total_count"], 1);
    assert_eq!(list.body["creatives"][0]["name"], "Renamed");
    assert_eq!(c.handle.sandbox().destination_creatives(offer).len(), 1);
    let r = c
        .net(
            Method::GET,
            "/v1/networks/creatives?filter=network_offer_id%3D1",
            None,
        )
        .await;
    assert_eq!(r.body["creatives"], json!([]));
    let r = c.net(Method::GET, "/v1/networks/creatives/9", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // An image creative's file must be an image.
    let mut zip = creative_body(offer, "image");
    zip["resource_file"] = c.file("application/zip", b"PK\x03\x04", "a.zip").await;
    let r = c
        .net(Method::POST, "/v1/networks/creatives", Some(zip))
        .await;
    assert!(r.error().contains("must be an image"), "{}", r.error());
}

// ---- custom payout/revenue settings ----

/// ISCALE's body: the Upsell event on two URLs of the offer.
fn rule_body(offer_id: u64, event_id: u64, url_ids: &[u64]) -> Value {
    json!({
        "network_offer_id": offer_id,
        "network_offer_payout_revenue_id": event_id,
        "name": "Upsells URLs $290",
        "custom_setting_status": "active",
        "is_apply_all_affiliates": true,
        "is_custom_payout_enabled": true,
        "payout_amount": 232.00,
        "payout_percentage": 0,
        "payout_type": "cpa",
        "is_custom_revenue_enabled": true,
        "revenue_amount": 290,
        "revenue_percentage": 0,
        "revenue_type": "rpa",
        "is_apply_specific_offer_urls": true,
        "network_offer_url_ids": url_ids
    })
}

#[tokio::test]
async fn custom_payout_settings_check_fields_events_and_urls() {
    let c = ctx();
    let offer = c.create(offer_body("Offer")).await;
    let upsell = entries(&c.handle.sandbox().destination_offer(offer).unwrap())[1]
        ["network_offer_payout_revenue_id"]
        .as_u64()
        .unwrap();
    let quiz = c.create_url(offer, "Quiz").await;
    let other = c.create(offer_body("Other")).await;
    let foreign = c.create_url(other, "Elsewhere").await;

    for key in [
        "network_offer_id",
        "network_offer_payout_revenue_id",
        "name",
        "custom_setting_status",
        "is_apply_all_affiliates",
        "is_custom_payout_enabled",
        "is_custom_revenue_enabled",
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/custom/payoutrevenue",
                Some(without(rule_body(offer, upsell, &[quiz]), key)),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key}");
        assert_eq!(r.error(), format!("{key} is required"));
    }
    let post = |body: Value| {
        c.net(
            Method::POST,
            "/v1/networks/custom/payoutrevenue",
            Some(body),
        )
    };
    let r = post(rule_body(offer, upsell, &[quiz, foreign])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.error()
            .contains(&format!("{foreign} is not a url of offer {offer}")),
        "{}",
        r.error()
    );
    let r = post(rule_body(offer, 999_999, &[quiz])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.error().contains("999999 is not an event of offer"),
        "{}",
        r.error()
    );
    let other_event = entries(&c.handle.sandbox().destination_offer(other).unwrap())[0]
        ["network_offer_payout_revenue_id"]
        .clone();
    let mut body = rule_body(offer, 0, &[quiz]);
    body["network_offer_payout_revenue_id"] = other_event;
    assert_eq!(
        post(body).await.status,
        StatusCode::BAD_REQUEST,
        "another offer's event"
    );
    let mut neither = rule_body(offer, upsell, &[quiz]);
    neither["is_custom_payout_enabled"] = json!(false);
    neither["is_custom_revenue_enabled"] = json!(false);
    assert!(post(neither).await.error().starts_with("at least one of"));

    let r = post(rule_body(offer, upsell, &[quiz])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let rule = r.body;
    assert_eq!(rule["network_custom_payout_revenue_setting_id"], 6001);
    assert_eq!(rule["payout_amount"], json!(232));
    assert_eq!(rule["revenue_amount"], json!(290));
    assert_eq!(rule["network_offer_url_ids"], json!([quiz]));
    assert_eq!(rule["network_offer_payout_revenue_id"], upsell);
    for key in [
        "description",
        "public_description",
        "date_valid_from",
        "is_postback_disabled",
        "network_affiliate_ids",
    ] {
        assert!(rule.get(key).is_some(), "LIVE response has {key}");
    }
    // The base conversion is event 0.
    assert_eq!(
        post(rule_body(offer, 0, &[quiz])).await.status,
        StatusCode::OK
    );

    // PUT: full replacement; status deleted deactivates (ISCALE).
    let path = format!(
        "/v1/networks/custom/payoutrevenue/{}",
        rule["network_custom_payout_revenue_setting_id"]
    );
    let mut gone = rule_body(offer, upsell, &[quiz]);
    gone["custom_setting_status"] = json!("deleted");
    let r = c.net(Method::PUT, &path, Some(gone)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["custom_setting_status"], "deleted");

    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/custom/payoutrevenue?filter=network_offer_id%3D{offer}"),
            None,
        )
        .await;
    assert_eq!(r.body["paging"]["total_count"], 2);
    assert_eq!(
        r.body["custom_payout_revenue_settings"][0]["custom_setting_status"],
        "deleted"
    );
    assert_eq!(c.handle.sandbox().destination_payout_rules(offer).len(), 2);
    assert!(
        c.handle
            .sandbox()
            .destination_payout_rules(other)
            .is_empty()
    );

    // DELETE is documented for these settings.
    let r = c.net(Method::DELETE, &path, None).await;
    assert_eq!(r.body, json!({"result": true}));
    assert_eq!(
        c.net(Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
}

// ---- bulk PATCH, targeting, meta ----

fn geo_patch(offer_ids: &[u64]) -> Value {
    json!({
        "network_offer_ids": offer_ids,
        "fields": [
            {"field_type": "ruleset_countries", "field_value": [{"country_id": 227, "match_type": "exact", "targeting_type": "include", "label": "United States"}], "operator": "overwrite"},
            {"field_type": "ruleset_regions", "field_value": [
                {"region_id": 1501, "targeting_type": "exclude", "match_type": "exact", "label": "Mississippi (US)"},
                {"region_id": 1420, "region_code": "LA", "targeting_type": "exclude", "match_type": "exact"}
            ], "operator": "overwrite"}
        ]
    })
}

#[tokio::test]
async fn patched_targeting_is_stored_but_not_shown_by_get() {
    let c = ctx();
    let id = c.create(offer_body("Offer")).await;
    let before = c
        .net(Method::GET, &format!("/v1/networks/offers/{id}"), None)
        .await
        .body;
    assert!(c.handle.sandbox().destination_targeting(id).is_none());

    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/offers/apply",
            Some(geo_patch(&[id])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!({"result": true}));
    assert!(c.log().last().unwrap().is_write());

    for rel in ["ruleset", "targeting"] {
        let r = c
            .net(
                Method::GET,
                &format!("/v1/networks/offers/{id}?relationship={rel}"),
                None,
            )
            .await;
        assert_eq!(
            r.body["relationship"][rel],
            Value::Null,
            "{rel} is not shown"
        );
    }
    let stored = c.handle.sandbox().destination_targeting(id).unwrap();
    assert_eq!(
        stored,
        json!({
            "countries": [{"country_id": 227, "match_type": "exact", "targeting_type": "include", "label": "United States"}],
            "regions": [
                {"region_id": 1501, "targeting_type": "exclude", "match_type": "exact", "label": "Mississippi (US)"},
                {"region_id": 1420, "region_code": "LA", "targeting_type": "exclude", "match_type": "exact"}
            ]
        })
    );
    let after = c
        .net(Method::GET, &format!("/v1/networks/offers/{id}"), None)
        .await
        .body;
    assert_eq!(
        after["time_saved"], before["time_saved"],
        "a ruleset is a relationship"
    );

    // append / delete / clear.
    let ops = json!({"network_offer_ids": [id], "fields": [
        {"field_type": "ruleset_countries", "field_value": [{"country_id": 39, "country_code": "CA", "targeting_type": "include", "match_type": "exact"}], "operator": "append"},
        {"field_type": "ruleset_regions", "field_value": [{"region_id": 1501}], "operator": "delete"}
    ]});
    let r = c
        .net(Method::PATCH, "/v1/networks/patch/offers/apply", Some(ops))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let t = c.handle.sandbox().destination_targeting(id).unwrap();
    assert_eq!(t["countries"].as_array().unwrap().len(), 2);
    assert_eq!(t["regions"].as_array().unwrap().len(), 1);
    assert_eq!(t["regions"][0]["region_id"], 1420);
    let clear = json!({"network_offer_ids": [id], "fields": [{"field_type": "ruleset_regions", "operator": "clear"}]});
    c.net(
        Method::PATCH,
        "/v1/networks/patch/offers/apply",
        Some(clear),
    )
    .await;
    assert_eq!(
        c.handle.sandbox().destination_targeting(id).unwrap()["regions"],
        json!([])
    );

    // The undocumented targeting PUT replaces both lists.
    let put = json!({
        "countries": [{"country_id": 227, "country_code": "US", "targeting_type": "include", "match_type": "exact"}],
        "regions": [{"region_id": 1501, "region_code": "MS", "targeting_type": "exclude", "match_type": "exact"}]
    });
    let r = c
        .net(
            Method::PUT,
            &format!("/v1/networks/offers/{id}/targeting"),
            Some(put.clone()),
        )
        .await;
    assert_eq!(r.body, json!({"result": true}));
    assert_eq!(c.handle.sandbox().destination_targeting(id).unwrap(), put);
    let r = c
        .net(
            Method::GET,
            &format!("/v1/networks/offers/{id}?relationship=all"),
            None,
        )
        .await;
    assert_eq!(r.body["relationship"]["ruleset"], Value::Null);
    let r = c
        .net(Method::PUT, "/v1/networks/offers/4242/targeting", Some(put))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .net(
            Method::PUT,
            &format!("/v1/networks/offers/{id}/targeting"),
            Some(json!({"cities": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bulk_patch_edits_base_fields_all_or_nothing() {
    let c = ctx();
    let a = c.create(offer_body("A")).await;
    let b = c.create(offer_body("B")).await;
    let t0 = c.handle.sandbox().destination_offer(a).unwrap()["time_saved"].clone();
    // ISCALE sends no operator for visibility.
    let body = json!({"network_offer_ids": [a, b], "fields": [
        {"field_type": "visibility", "field_value": "public"},
        {"field_type": "offer_status", "field_value": "paused", "operator": "overwrite"}
    ]});
    let r = c
        .net(Method::PATCH, "/v1/networks/patch/offers/apply", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for id in [a, b] {
        let o = c.handle.sandbox().destination_offer(id).unwrap();
        assert_eq!(
            (o["visibility"].as_str(), o["offer_status"].as_str()),
            (Some("public"), Some("paused"))
        );
    }
    let a_now = c.handle.sandbox().destination_offer(a).unwrap();
    assert!(
        a_now["time_saved"].as_u64() > t0.as_u64(),
        "base fields move time_saved"
    );
    assert_eq!(entries(&a_now).len(), 2, "events untouched");

    let rename = json!({"network_offer_ids": [a], "fields": [{"field_type": "offer_name", "field_value": "A renamed"}]});
    c.net(
        Method::PATCH,
        "/v1/networks/patch/offers/apply",
        Some(rename),
    )
    .await;
    assert_eq!(
        c.handle.sandbox().destination_offer(a).unwrap()["name"],
        "A renamed"
    );

    // Unknown field types and offers are refused by name; nothing changes.
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/offers/apply",
            Some(json!({"network_offer_ids": [a], "fields": [{"field_type": "ruleset_cities", "field_value": []}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("ruleset_cities"), "{}", r.error());
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/offers/apply",
            Some(json!({"network_offer_ids": [a, 4242], "fields": [{"field_type": "offer_status", "field_value": "active"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("4242"), "{}", r.error());
    assert_eq!(
        c.handle.sandbox().destination_offer(a).unwrap()["offer_status"],
        "paused",
        "all or nothing"
    );
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/offers/apply",
            Some(json!({"network_offer_ids": [a], "fields": [{"field_type": "network_advertiser_id", "field_value": 99}]})),
        )
        .await;
    assert!(
        r.error()
            .contains("network_advertiser_id 99 does not exist"),
        "{}",
        r.error()
    );

    // submit is the dry run: a read that changes nothing.
    let preview = json!({"network_offer_ids": [a, 4242], "fields": [{"field_type": "offer_status", "field_value": "active"}]});
    let r = c
        .net(
            Method::POST,
            "/v1/networks/patch/offers/submit",
            Some(preview),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let change = &r.body["changes"][0];
    assert_eq!(change["change_status"], "ok");
    assert_eq!(change["current_field"]["field_value"], "paused");
    assert_eq!(change["changed_field"]["field_value"], "active");
    assert_eq!(change["network_offer"]["network_offer_id"], a);
    assert_eq!(r.body["resource_errors"][0]["id"], 4242);
    assert!(!c.log().last().unwrap().is_write());
    assert_eq!(
        c.handle.sandbox().destination_offer(a).unwrap()["offer_status"],
        "paused"
    );
}

#[tokio::test]
async fn meta_countries_lists_only_documented_ids() {
    let c = ctx();
    let r = c.net(Method::GET, "/v1/meta/countries", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let countries = r.body["countries"].as_array().unwrap();
    let ids: Vec<(u64, &str)> = countries
        .iter()
        .map(|c| {
            (
                c["country_id"].as_u64().unwrap(),
                c["country_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [(1, "AD"), (39, "CA"), (177, "PR"), (227, "US"), (246, "CW")]
    );
    assert_eq!(countries[0]["country_name"], "Andorra");
    // Not under a portal: any valid key may read it, and it counts.
    let r = c.aff("/v1/meta/countries").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("x-ratelimit-remaining").is_some());
    let r = c.call(Method::GET, "/v1/meta/countries", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---- source-side changes through the handle ----

#[tokio::test]
async fn source_offers_can_be_edited_through_the_handle() {
    let c = ctx();
    let sb = c.handle.sandbox();
    sb.edit_source_offer("trimrx", 1, |o| {
        o.insert("name".into(), json!("TrimRx GLP-1 (new name)"));
        let urls = o["relationship"]["urls"]["entries"].as_array_mut().unwrap();
        urls.push(json!({"network_offer_url_id": 104, "name": "Bundle"}));
    })
    .unwrap();
    let glp1 = c.offer_of(&c.trimrx_key, 1).await;
    assert_eq!(glp1["name"], "TrimRx GLP-1 (new name)");
    assert_eq!(
        glp1["relationship"]["urls"]["total"], 4,
        "totals are recounted"
    );
    assert_eq!(
        glp1["relationship"]["urls"]["entries"][3]["preview_url"],
        ""
    );
    // Until it gets its own page, a new URL of a direct-linking offer uses the
    // default URL's page.
    let r = c.aff("/v1/affiliates/offers/1/url/104").await;
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .starts_with("https://start.trimrx.test/semaglutide?"),
        "{:?}",
        r.body
    );

    sb.set_landing_page("trimrx", 1, 104, "https://start.trimrx.test/bundle")
        .unwrap();
    let r = c.aff("/v1/affiliates/offers/1/url/104").await;
    assert_eq!(
        r.body["url"],
        "https://start.trimrx.test/bundle?_ef_transaction_id=&uid=104&oid=1&affid=42"
    );
    // The default URL of a direct-linking offer moves its tracking_url too.
    sb.set_landing_page("trimrx", 1, 0, "https://start.trimrx.test/new")
        .unwrap();
    let glp1 = c.offer_of(&c.trimrx_key, 1).await;
    assert!(
        glp1["tracking_url"]
            .as_str()
            .unwrap()
            .starts_with("https://start.trimrx.test/new?")
    );

    assert!(
        sb.set_landing_page("trimrx", 1, 999, "https://x.test")
            .is_err()
    );
    assert!(
        sb.set_landing_page("trimrx", 1, 101, "ftp://x.test")
            .is_err()
    );
    let err = sb
        .edit_source_offer("trimrx", 1, |o| {
            o.insert("visibility".into(), json!("hidden"));
        })
        .unwrap_err();
    assert!(err.to_string().contains("visibility"), "{err}");
    assert!(
        sb.edit_source_offer("trimrx", 1, |o| {
            o.insert("network_offer_id".into(), json!(2));
        })
        .is_err()
    );
    assert!(sb.edit_source_offer("nowhere", 1, |_| {}).is_err());
    assert!(sb.edit_source_offer("trimrx", 77, |_| {}).is_err());
    assert_eq!(
        c.offer_of(&c.trimrx_key, 1).await["visibility"],
        "public",
        "a refused edit changes nothing"
    );
}

// ---- tracking links for the destination's affiliates ----

/// Sets destination offers' visibility with the bulk PATCH, as ISCALE does
/// before asking for a tracking link.
async fn set_visibility(c: &Ctx, offer_id: u64, visibility: &str) {
    let body = json!({
        "network_offer_ids": [offer_id],
        "fields": [{"field_type": "visibility", "field_value": visibility}]
    });
    let r = c
        .net(Method::PATCH, "/v1/networks/patch/offers/apply", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn click_link(c: &Ctx, body: Value) -> Reply {
    c.net(
        Method::POST,
        "/v1/networks/tracking/offers/clicks",
        Some(body),
    )
    .await
}

#[tokio::test]
async fn tracking_links_need_a_public_active_offer_and_a_known_affiliate() {
    let c = ctx();
    let offer = c.create(offer_body("Semaglutide")).await;
    let body = json!({"network_offer_id": offer, "network_affiliate_id": 7});

    // offer_body is require_approval: the affiliate may not run it yet.
    let r = click_link(&c, body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("not allowed to run"), "{}", r.error());

    set_visibility(&c, offer, "public").await;
    let r = click_link(&c, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let url = r.body["url"].as_str().unwrap();
    let rest = url.strip_prefix("https://trk.iscale.test/").unwrap();
    let parts: Vec<&str> = rest.split('/').collect();
    assert_eq!(parts.len(), 3, "two opaque segments then /: {url}");
    assert!(parts[2].is_empty() && parts[0].len() == 6 && parts[1].len() == 6);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "only url");
    // Stable, and distinct per affiliate.
    assert_eq!(click_link(&c, body.clone()).await.body["url"], url);
    let other = click_link(
        &c,
        json!({"network_offer_id": offer, "network_affiliate_id": 22}),
    )
    .await;
    assert_ne!(other.body["url"], url);

    // Another tracking domain, sub ids and source_id as query parameters.
    let r = click_link(
        &c,
        json!({
            "network_offer_id": offer, "network_affiliate_id": 1,
            "network_tracking_domain_id": 2, "sub1": "fb ads", "sub5": "x", "source_id": "s1"
        }),
    )
    .await;
    let url = r.body["url"].as_str().unwrap();
    assert!(url.starts_with("https://go.iscale.test/"), "{url}");
    assert!(url.ends_with("/?sub1=fb+ads&sub5=x&source_id=s1"), "{url}");

    // An offer URL of this offer adds uid; another offer's URL does not pass.
    let url_id = c.create_url(offer, "Quiz").await;
    let r = click_link(
        &c,
        json!({"network_offer_id": offer, "network_affiliate_id": 7, "network_offer_url_id": url_id}),
    )
    .await;
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/?uid={url_id}")),
        "{:?}",
        r.body
    );
    let second = c.create(offer_body("Tirzepatide")).await;
    set_visibility(&c, second, "public").await;
    let r = click_link(
        &c,
        json!({"network_offer_id": second, "network_affiliate_id": 7, "network_offer_url_id": url_id}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Unknown or missing ids, unknown keys, paused offers.
    for (body, needle) in [
        (
            json!({"network_offer_id": 999_999, "network_affiliate_id": 7}),
            "network_offer_id",
        ),
        (
            json!({"network_offer_id": offer, "network_affiliate_id": 4242}),
            "network_affiliate_id",
        ),
        (
            json!({"network_offer_id": offer}),
            "network_affiliate_id is required",
        ),
        (
            json!({"network_affiliate_id": 7}),
            "network_offer_id is required",
        ),
        (
            json!({"network_offer_id": offer, "network_affiliate_id": 7, "network_tracking_domain_id": 9}),
            "tracking domain",
        ),
        (
            json!({"network_offer_id": offer, "network_affiliate_id": 7, "creative_id": 1}),
            "creative_id",
        ),
        (
            json!({"network_offer_id": offer, "network_affiliate_id": 7, "sub6": "x"}),
            "unknown field sub6",
        ),
        (
            json!({"network_offer_id": offer, "network_affiliate_id": 7, "is_encrypt_parameters": true}),
            "is_encrypt_parameters",
        ),
    ] {
        let r = click_link(&c, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(needle), "{body}: {}", r.error());
    }
    let pause = json!({
        "network_offer_ids": [offer],
        "fields": [{"field_type": "offer_status", "field_value": "paused"}]
    });
    c.net(
        Method::PATCH,
        "/v1/networks/patch/offers/apply",
        Some(pause),
    )
    .await;
    assert_eq!(click_link(&c, body).await.status, StatusCode::BAD_REQUEST);

    // A link is computed, not created: the log counts it as a read.
    let clicks: Vec<LoggedRequest> = c
        .log()
        .into_iter()
        .filter(|r| r.path == "/v1/networks/tracking/offers/clicks")
        .collect();
    assert!(clicks.len() > 10);
    assert!(clicks.iter().all(|r| !r.is_write()));
    // The Affiliate API key is out of realm here.
    let r = c
        .call(
            Method::POST,
            "/v1/networks/tracking/offers/clicks",
            Some(&c.trimrx_key),
            Some(json!({"network_offer_id": offer, "network_affiliate_id": 7})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// ---- affiliate postbacks ----

/// ISCALE's postback body for a source offer: the base conversion, or an event
/// of the offer when `event_id` is not 0.
fn pixel_body(offer_id: u64, event_id: u64) -> Value {
    let mut body = json!({
        "network_offer_id": offer_id,
        "delivery_method": "postback",
        "pixel_level": "specific",
        "pixel_status": "active",
        "pixel_type": "conversion",
        "postback_url": "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=trimrx_iscale_2025"
    });
    if event_id != 0 {
        body["network_offer_payout_revenue_id"] = json!(event_id);
        body["pixel_type"] = json!("post_conversion");
        body["postback_url"] = json!(format!(
            "https://trk.iscale.test/?nid=7001&transaction_id={{sub5}}&verification_token=trimrx_iscale_2025&event_id={event_id}"
        ));
    }
    body
}

impl Ctx {
    async fn aff_call(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(key), body).await
    }

    /// Creates a postback as us in trimrx; returns it.
    async fn create_pixel(&self, body: Value) -> Value {
        let r = self
            .aff_call(
                &self.trimrx_key,
                Method::POST,
                "/v1/affiliates/pixels",
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }

    async fn pixel_ids(&self, key: &str, query: &str) -> Vec<u64> {
        let r = self
            .aff_call(
                key,
                Method::GET,
                &format!("/v1/affiliates/pixels{query}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
        assert!(r.body.get("paging").is_none(), "LEGACY shows no paging");
        r.body["pixels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["network_pixel_id"].as_u64().unwrap())
            .collect()
    }
}

#[tokio::test]
async fn affiliate_postbacks_are_created_and_listed_with_filters() {
    let c = ctx();
    let base = c.create_pixel(pixel_body(1, 0)).await;
    assert_eq!(base["network_id"], 101);
    assert_eq!(base["network_affiliate_id"], 42);
    assert_eq!(base["network_offer_id"], 1);
    assert_eq!(base["network_offer_payout_revenue_id"], 0);
    assert_eq!(base["delay_ms"], 0);
    assert_eq!(base["html_code"], "");
    assert_eq!(base["facebook_pixel"], Value::Null);
    assert_eq!(
        base["relationship"]["affiliate"]["network_affiliate_id"],
        42
    );
    assert_eq!(base["relationship"]["affiliate"]["name"], "iScale Media");
    assert!(base["time_created"].as_u64().unwrap() > 0);
    assert_eq!(base["time_created"], base["time_saved"]);
    let event = c.create_pixel(pixel_body(1, 12)).await;
    assert_eq!(event["pixel_type"], "post_conversion");
    assert_eq!(event["network_offer_payout_revenue_id"], 12);
    let html = c
        .create_pixel(json!({
            "delivery_method": "html", "pixel_level": "global", "pixel_status": "inactive",
            "pixel_type": "conversion", "html_code": "<img src=\"https://px.iscale.test/c.gif\">"
        }))
        .await;
    assert_eq!(html["network_offer_id"], 0);
    assert_eq!(html["postback_url"], "");
    let other_offer = c.create_pixel(pixel_body(2, 0)).await;
    let id = |p: &Value| p["network_pixel_id"].as_u64().unwrap();
    let (base, event, html, other_offer) = (id(&base), id(&event), id(&html), id(&other_offer));

    let key = c.trimrx_key.clone();
    assert_eq!(
        c.pixel_ids(&key, "").await,
        [base, event, html, other_offer]
    );
    assert_eq!(
        c.pixel_ids(&key, "?network_offer_id=1").await,
        [base, event]
    );
    assert_eq!(
        c.pixel_ids(&key, "?pixel_type=post_conversion").await,
        [event]
    );
    assert_eq!(
        c.pixel_ids(&key, "?pixel_status=active&pixel_type=conversion")
            .await,
        [base, other_offer]
    );
    assert_eq!(c.pixel_ids(&key, "?pixel_status=inactive").await, [html]);
    assert_eq!(c.pixel_ids(&key, "?delivery_method=html").await, [html]);
    assert_eq!(
        c.pixel_ids(&key, "?filter=network_offer_payout_revenue_id%3D12")
            .await,
        [event]
    );
    assert!(c.pixel_ids(&key, "?network_offer_id=3").await.is_empty());
    for bad in [
        "?pixel_type=event",
        "?pixel_status=paused",
        "?network_offer_id=x",
        "?filter=postback_url%3Dx",
    ] {
        let r = c
            .aff_call(
                &key,
                Method::GET,
                &format!("/v1/affiliates/pixels{bad}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // GET one and the handle show what the list shows.
    let listed = c
        .aff_call(&key, Method::GET, "/v1/affiliates/pixels", None)
        .await
        .body["pixels"]
        .clone();
    let one = c
        .aff_call(
            &key,
            Method::GET,
            &format!("/v1/affiliates/pixels/{event}"),
            None,
        )
        .await;
    assert_eq!(one.body, listed[1]);
    assert_eq!(
        Value::Array(c.handle.sandbox().source_pixels("trimrx")),
        listed
    );
    assert!(c.handle.sandbox().source_pixels("directmeds").is_empty());
    assert!(c.handle.sandbox().source_pixels("nowhere").is_empty());
    let creates: Vec<LoggedRequest> = c
        .log()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/affiliates/pixels")
        .collect();
    assert_eq!(creates.len(), 4);
    assert!(creates.iter().all(LoggedRequest::is_write));
}

#[tokio::test]
async fn affiliate_postbacks_refuse_what_could_not_fire() {
    let c = ctx();
    let post = |body: Value| {
        c.aff_call(
            &c.trimrx_key,
            Method::POST,
            "/v1/affiliates/pixels",
            Some(body),
        )
    };
    let with = |mut body: Value, k: &str, v: Value| {
        body[k] = v;
        body
    };
    let cases = [
        (pixel_body(1, 21), "21 is not an event of offer 1"),
        (pixel_body(1, 11), "base conversion of offer 1"),
        (
            with(
                pixel_body(1, 0),
                "network_offer_payout_revenue_id",
                json!(12),
            ),
            "must be 0 for pixel_type conversion",
        ),
        (
            with(
                pixel_body(1, 0),
                "postback_url",
                json!("ftp://trk.iscale.test/?a=1"),
            ),
            "http or https",
        ),
        (
            with(
                pixel_body(1, 0),
                "postback_url",
                json!("trk.iscale.test/?nid=7001"),
            ),
            "http or https",
        ),
        (
            with(pixel_body(1, 0), "postback_url", json!("")),
            "postback_url is required",
        ),
        (
            with(pixel_body(1, 12), "adv_event_id", json!(5002)),
            "unknown field adv_event_id",
        ),
        (
            pixel_body(3, 0),
            "network_offer_id 3 is not an offer you can run",
        ),
        (
            pixel_body(4, 0),
            "network_offer_id 4 is not an offer you can run",
        ),
        (
            pixel_body(999, 0),
            "network_offer_id 999 is not an offer you can run",
        ),
        (
            with(pixel_body(1, 0), "delay_ms", json!(300_001)),
            "delay_ms",
        ),
        (
            with(pixel_body(1, 0), "pixel_level", json!("global")),
            "global postback",
        ),
        (
            with(pixel_body(1, 0), "pixel_level", json!("global_offer")),
            "pixel_level must be one of",
        ),
        (
            with(pixel_body(1, 0), "pixel_type", json!("cpc")),
            "cpc payout",
        ),
        (
            with(pixel_body(1, 0), "network_affiliate_id", json!(58)),
            "not yours",
        ),
        (
            with(pixel_body(1, 0), "delivery_method", json!("email")),
            "delivery_method must be one of",
        ),
    ];
    for (body, needle) in cases {
        let r = post(body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(needle), "{body}: {}", r.error());
    }
    assert!(
        c.pixel_ids(&c.trimrx_key, "").await.is_empty(),
        "nothing was stored"
    );
    // Event ids are per offer: directmeds' refill event on its own offer works.
    let r = c
        .aff_call(
            &c.directmeds_key,
            Method::POST,
            "/v1/affiliates/pixels",
            Some(pixel_body(12, 122)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["network_id"], 202);
}

#[tokio::test]
async fn affiliate_postback_put_replaces_and_only_its_affiliate_sees_it() {
    let c = ctx();
    let mut body = pixel_body(1, 12);
    body["delay_ms"] = json!(5000);
    let created = c.create_pixel(body.clone()).await;
    assert_eq!(created["delay_ms"], 5000);
    let id = created["network_pixel_id"].as_u64().unwrap();
    let path = format!("/v1/affiliates/pixels/{id}");

    // PUT is a full replacement: delay_ms left out goes back to 0.
    let mut replacement = body.clone();
    replacement.as_object_mut().unwrap().remove("delay_ms");
    replacement["pixel_status"] = json!("inactive");
    let r = c
        .aff_call(&c.trimrx_key, Method::PUT, &path, Some(replacement.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["delay_ms"], 0);
    assert_eq!(r.body["pixel_status"], "inactive");
    assert_eq!(r.body["time_created"], created["time_created"]);
    let saved = r.body["time_saved"].as_u64().unwrap();
    assert!(saved > created["time_saved"].as_u64().unwrap());
    // The same body again changes nothing; what GET shows can be PUT back.
    let again = c
        .aff_call(&c.trimrx_key, Method::PUT, &path, Some(r.body.clone()))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["time_saved"], saved);
    // A PUT is validated like a POST, and the path id must agree.
    let bad = c
        .aff_call(&c.trimrx_key, Method::PUT, &path, Some(pixel_body(1, 21)))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let mut wrong_id = replacement.clone();
    wrong_id["network_pixel_id"] = json!(id + 1);
    let bad = c
        .aff_call(&c.trimrx_key, Method::PUT, &path, Some(wrong_id))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Our second key is us; the network's other affiliate and another network
    // see nothing of it, and cannot change it.
    assert_eq!(c.pixel_ids(&c.trimrx_key2, "").await, [id]);
    for key in [&c.trimrx_other_key, &c.directmeds_key] {
        assert!(c.pixel_ids(key, "").await.is_empty());
        let r = c.aff_call(key, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = c
            .aff_call(key, Method::PUT, &path, Some(replacement.clone()))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let theirs = c
        .aff_call(
            &c.trimrx_other_key,
            Method::POST,
            "/v1/affiliates/pixels",
            Some(pixel_body(2, 0)),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{:?}", theirs.body);
    assert_eq!(theirs.body["network_affiliate_id"], 58);
    assert_eq!(
        theirs.body["relationship"]["affiliate"]["name"],
        "Crestline Digital"
    );
    let theirs = theirs.body["network_pixel_id"].as_u64().unwrap();
    assert_eq!(c.pixel_ids(&c.trimrx_other_key, "").await, [theirs]);
    assert_eq!(c.pixel_ids(&c.trimrx_key, "").await, [id]);
    // The other affiliate cannot name offers it may not run.
    let r = c
        .aff_call(
            &c.trimrx_other_key,
            Method::POST,
            "/v1/affiliates/pixels",
            Some(pixel_body(3, 0)),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn source_postbacks_can_be_edited_through_the_handle() {
    let c = ctx();
    let sb = c.handle.sandbox();
    let id = c.create_pixel(pixel_body(1, 0)).await["network_pixel_id"]
        .as_u64()
        .unwrap();
    let corrupted =
        "https://trk.iscale.test/?nid=7001&transaction_id={sub5}&verification_token=WRONG";
    sb.edit_source_pixel("trimrx", id, |p| {
        p.insert("postback_url".into(), json!(corrupted));
    })
    .unwrap();
    let r = c
        .aff_call(
            &c.trimrx_key,
            Method::GET,
            &format!("/v1/affiliates/pixels/{id}"),
            None,
        )
        .await;
    assert_eq!(r.body["postback_url"], corrupted);
    assert_eq!(sb.source_pixels("trimrx")[0]["postback_url"], corrupted);
    // An edit the API would refuse is refused and changes nothing.
    let err = sb
        .edit_source_pixel("trimrx", id, |p| {
            p.insert("postback_url".into(), json!("not a url"));
        })
        .unwrap_err();
    assert!(err.to_string().contains("postback_url"), "{err}");
    assert_eq!(sb.source_pixels("trimrx")[0]["postback_url"], corrupted);
    assert!(sb.edit_source_pixel("trimrx", id + 100, |_| {}).is_err());
    assert!(sb.edit_source_pixel("nowhere", id, |_| {}).is_err());
    // Handle edits are not API requests.
    assert!(
        c.log()
            .iter()
            .all(|r| r.method == "POST" || r.method == "GET")
    );
}

// ---- advertisers: list and bulk edit ----

#[allow(clippy::needless_pass_by_value)] // called with json! literals
fn token_patch(ids: Value, token: Value) -> Value {
    json!({
        "network_advertiser_ids": ids,
        "fields": [{"field_type": "verification_token", "field_value": token}]
    })
}

#[tokio::test]
async fn advertiser_patch_sets_the_token_that_get_shows() {
    let c = ctx();
    let before = c
        .net(Method::GET, "/v1/networks/advertisers/13", None)
        .await
        .body;
    assert_eq!(before["verification_token"], "");

    // ISCALE's body: no operator.
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/advertiser/apply",
            Some(token_patch(json!([13]), json!("acme_iscale_2025"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!({"result": true}));
    let after = c
        .net(Method::GET, "/v1/networks/advertisers/13", None)
        .await
        .body;
    assert_eq!(after["verification_token"], "acme_iscale_2025");
    assert!(after["time_saved"].as_u64() > before["time_saved"].as_u64());
    let other = c
        .net(Method::GET, "/v1/networks/advertisers/14", None)
        .await
        .body;
    assert_eq!(other["verification_token"], "", "only the named advertiser");

    // Exactly 50 characters pass, 51 do not, and nothing changes then.
    let fifty = "t".repeat(50);
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/advertiser/apply",
            Some(token_patch(json!([13, 14]), json!(fifty))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/advertiser/apply",
            Some(token_patch(json!([13]), json!("t".repeat(51)))),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("at most 50 characters"), "{}", r.error());
    let get = c
        .net(Method::GET, "/v1/networks/advertisers/14", None)
        .await;
    assert_eq!(get.body["verification_token"], fifty);

    // Unknown field types are named; so are unknown advertisers.
    for (body, needle) in [
        (
            json!({"network_advertiser_ids": [13], "fields": [{"field_type": "postback_token", "field_value": "x"}]}),
            "postback_token",
        ),
        (
            json!({"network_advertiser_ids": [13], "fields": [{"field_type": "labels", "field_value": [{"label_id": 5}], "operator": "append"}]}),
            "labels",
        ),
        (
            token_patch(json!([13, 99]), json!("x")),
            "advertiser 99 does not exist",
        ),
        (token_patch(json!([]), json!("x")), "network_advertiser_ids"),
    ] {
        let r = c
            .net(
                Method::PATCH,
                "/v1/networks/patch/advertiser/apply",
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(needle), "{body}: {}", r.error());
    }
    assert_eq!(
        c.net(Method::GET, "/v1/networks/advertisers/13", None)
            .await
            .body["verification_token"],
        fifty,
        "a refused request changes nothing"
    );

    // Other supported fields, with an explicit operator.
    let r = c
        .net(
            Method::PATCH,
            "/v1/networks/patch/advertiser/apply",
            Some(json!({
                "network_advertiser_ids": [14],
                "fields": [
                    {"field_type": "advertiser_name", "field_value": "DirectMeds Inc.", "operator": "overwrite"},
                    {"field_type": "internal_note", "field_value": "synced by offersync"},
                    {"field_type": "advertiser_status", "field_value": "inactive"}
                ]
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let dm = c
        .net(Method::GET, "/v1/networks/advertisers/14", None)
        .await
        .body;
    assert_eq!(dm["name"], "DirectMeds Inc.");
    assert_eq!(dm["internal_notes"], "synced by offersync");
    assert_eq!(dm["account_status"], "inactive");

    // The dry run reports and changes nothing, and is a read.
    let r = c
        .net(
            Method::POST,
            "/v1/networks/patch/advertiser/submit",
            Some(token_patch(json!([13, 77]), json!("preview_only"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["changes"][0]["change_status"], "ok");
    assert_eq!(r.body["changes"][0]["current_field"]["field_value"], fifty);
    assert_eq!(
        r.body["changes"][0]["changed_field"]["field_value"],
        "preview_only"
    );
    assert_eq!(r.body["resource_errors"][0]["resource_id"], 77);
    assert_eq!(
        c.net(Method::GET, "/v1/networks/advertisers/13", None)
            .await
            .body["verification_token"],
        fifty
    );
    let log = c.log();
    let writes: Vec<&str> = log
        .iter()
        .filter(|r| r.is_write())
        .map(|r| r.path.as_str())
        .collect();
    assert!(
        writes
            .iter()
            .all(|p| *p == "/v1/networks/patch/advertiser/apply")
    );
    assert!(
        log.iter()
            .any(|r| r.path.ends_with("/advertiser/submit") && !r.is_write())
    );
}

#[tokio::test]
async fn advertisers_list_and_ui_token_edits() {
    let c = ctx();
    let r = c.net(Method::GET, "/v1/networks/advertisers", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r.body["advertisers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["TrimRx", "DirectMeds"]);
    assert_eq!(
        r.body["paging"],
        json!({"page": 1, "page_size": 50, "total_count": 2})
    );
    assert_eq!(
        r.body["advertisers"][0]["relationship"]["labels"]["total"],
        0
    );
    let r = c
        .net(
            Method::GET,
            "/v1/networks/advertisers?filter=name%3DDirectMeds",
            None,
        )
        .await;
    assert_eq!(r.body["advertisers"][0]["network_advertiser_id"], 14);
    assert_eq!(r.body["paging"]["total_count"], 1);
    let r = c
        .net(
            Method::GET,
            "/v1/networks/advertisers?page_size=1&page=2",
            None,
        )
        .await;
    assert_eq!(r.body["advertisers"][0]["network_advertiser_id"], 14);

    // Someone sets a token in the UI: the API shows it, the list too.
    let sb = c.handle.sandbox();
    sb.set_advertiser_token(13, "changed_in_the_ui").unwrap();
    let r = c
        .net(Method::GET, "/v1/networks/advertisers/13", None)
        .await;
    assert_eq!(r.body["verification_token"], "changed_in_the_ui");
    let r = c
        .net(
            Method::GET,
            "/v1/networks/advertisers?filter=verification_token%3Dchanged_in_the_ui",
            None,
        )
        .await;
    assert_eq!(r.body["paging"]["total_count"], 1);
    assert!(sb.set_advertiser_token(13, &"x".repeat(51)).is_err());
    assert!(sb.set_advertiser_token(99, "x").is_err());
    let r = c
        .net(Method::GET, "/v1/networks/advertisers/13", None)
        .await;
    assert_eq!(r.body["verification_token"], "changed_in_the_ui");
}

// ---- partner postbacks ----

/// A partner postback body as LIVE's example writes it.
fn partner_pixel_body(affiliate_id: u64, offer_id: u64, level: &str) -> Value {
    json!({
        "network_offer_id": offer_id,
        "network_affiliate_id": affiliate_id,
        "delivery_method": "postback",
        "pixel_level": level,
        "pixel_status": "active",
        "pixel_type": "conversion",
        "postback_url": "https://example.com/postback?tid={transaction_id}",
        "description": format!("Conversion postback for affiliate {affiliate_id}")
    })
}

impl Ctx {
    async fn create_partner_pixel(&self, body: Value) -> Value {
        let r = self
            .net(Method::POST, "/v1/networks/pixels", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }

    /// The ids `pixelstable` answers for `query` (seed 001 body), page 1 of 50.
    async fn pixel_table(&self, query: Value) -> Vec<u64> {
        let r = self
            .net(
                Method::POST,
                "/v1/networks/pixelstable",
                Some(json!({ "query": query })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
        r.body["pixels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["network_pixel_id"].as_u64().unwrap())
            .collect()
    }
}

#[tokio::test]
async fn partner_postbacks_list_and_table_filters() {
    let c = ctx();
    let r = c.net(Method::GET, "/v1/networks/pixels", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["paging"],
        json!({"page": 1, "page_size": 50, "total_count": 4})
    );
    let fixtures = r.body["pixels"].as_array().unwrap();
    assert_eq!(fixtures[0]["network_pixel_id"], 8001);
    assert_eq!(fixtures[0]["pixel_level"], "global");
    assert_eq!(fixtures[0]["network_offer_id"], 0);
    assert_eq!(
        fixtures[0]["relationship"]["affiliate"]["name"],
        "Bluewave Media LLC"
    );
    assert_eq!(fixtures[0]["facebook_pixel"], Value::Null);
    assert!(fixtures[0]["relationship"].get("offer").is_none());
    assert_eq!(fixtures[2]["delivery_method"], "html");
    assert!(
        fixtures[2]["html_code"]
            .as_str()
            .unwrap()
            .starts_with("<img")
    );

    let a = c.create(offer_body("Semaglutide")).await;
    let b = c.create(offer_body("Tirzepatide")).await;
    let specific = c
        .create_partner_pixel(partner_pixel_body(22, a, "specific"))
        .await;
    assert_eq!(specific["relationship"]["offer"]["name"], "Semaglutide");
    assert_eq!(
        specific["relationship"]["affiliate"]["network_affiliate_id"],
        22
    );
    let offer_wide = c
        .create_partner_pixel(partner_pixel_body(7, b, "global_offer"))
        .await;
    assert_eq!(
        offer_wide["network_affiliate_id"], 0,
        "fires for every partner (seed 001)"
    );
    assert!(offer_wide["relationship"].get("affiliate").is_none());
    let id = |p: &Value| p["network_pixel_id"].as_u64().unwrap();
    let (specific, offer_wide) = (id(&specific), id(&offer_wide));

    assert_eq!(
        c.pixel_table(json!({})).await,
        [8001, 8002, 8003, 8004, specific, offer_wide]
    );
    // Global postbacks match any offer filter; offer-wide ones any partner filter.
    assert_eq!(
        c.pixel_table(json!({"filters": {"network_offer_ids": [a]}}))
            .await,
        [8001, 8002, 8003, 8004, specific]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"network_offer_ids": [b]}}))
            .await,
        [8001, 8002, 8003, 8004, offer_wide]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"network_affiliate_ids": [22]}}))
            .await,
        [8003, specific, offer_wide]
    );
    assert_eq!(
        c.pixel_table(
            json!({"filters": {"network_affiliate_ids": [22], "network_offer_ids": [a]}})
        )
        .await,
        [8003, specific]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"status": "inactive"}}))
            .await,
        [8004]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"offer_status": "inactive"}}))
            .await,
        [8004]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"status": "active", "pixel_type": "post_conversion"}}))
            .await,
        [8002]
    );
    assert_eq!(
        c.pixel_table(json!({"filters": {"delivery_methods": ["html", "facebook"]}}))
            .await,
        [8003]
    );
    let search =
        |ty: &str, value: &str| json!({"search_terms": [{"search_type": ty, "value": value}]});
    assert_eq!(
        c.pixel_table(search("payload", "BLUEWAVE-media")).await,
        [8001, 8002]
    );
    assert_eq!(
        c.pixel_table(search("payload", "pixel.apexhealth")).await,
        [8003]
    );
    assert_eq!(
        c.pixel_table(search("description", "house qa")).await,
        [8004]
    );
    assert_eq!(
        c.pixel_table(search("pixel_id", &specific.to_string()))
            .await,
        [specific]
    );

    // Rows are seed 001's: names, no relationship.
    let r = c
        .net(
            Method::POST,
            "/v1/networks/pixelstable?page=2&page_size=2",
            Some(json!({"query": {"filters": {"network_offer_ids": [a]}}})),
        )
        .await;
    assert_eq!(
        r.body["paging"],
        json!({"page": 2, "page_size": 2, "total_count": 5})
    );
    let rows = r.body["pixels"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["network_pixel_id"], 8003);
    assert_eq!(rows[0]["network_affiliate_name"], "Apex Health Partners");
    assert_eq!(rows[0]["network_offer_name"], "");
    assert_eq!(rows[0]["relationship"], json!({}));
    let row = c
        .net(
            Method::POST,
            "/v1/networks/pixelstable",
            Some(json!({"query": {"search_terms": [{"search_type": "pixel_id", "value": specific.to_string()}]}})),
        )
        .await
        .body["pixels"][0]
        .clone();
    assert_eq!(row["network_offer_name"], "Semaglutide");
    assert_eq!(row["network_affiliate_name"], "Apex Health Partners");

    // The old flat body and unknown filters are refused.
    for bad in [
        json!({"filters": {"status": "active"}}),
        json!({"query": {"filters": {"pixel_status": "active"}}}),
        json!({"query": {"filters": {"status": "paused"}}}),
    ] {
        let r = c
            .net(Method::POST, "/v1/networks/pixelstable", Some(bad.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The list's filter=.
    let r = c
        .net(
            Method::GET,
            "/v1/networks/pixels?filter=pixel_level%3Dspecific",
            None,
        )
        .await;
    assert_eq!(r.body["paging"]["total_count"], 1);
    assert_eq!(r.body["pixels"][0]["network_pixel_id"], specific);
    // The table search is a read.
    assert!(
        c.log()
            .iter()
            .filter(|r| r.path == "/v1/networks/pixelstable")
            .all(|r| !r.is_write())
    );
}

#[tokio::test]
async fn partner_postbacks_post_put_delete() {
    let c = ctx();
    let offer = c.create(offer_body("Semaglutide")).await;
    let other = c.create(offer_body("Tirzepatide")).await;
    let events = |id: u64| {
        let offer = c.handle.sandbox().destination_offer(id).unwrap();
        entries(&offer)
            .iter()
            .map(|e| e["network_offer_payout_revenue_id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let (base, upsell) = (events(offer)[0], events(offer)[1]);
    let other_upsell = events(other)[1];
    let with = |mut body: Value, k: &str, v: Value| {
        body[k] = v;
        body
    };
    let specific = partner_pixel_body(7, offer, "specific");
    let event = with(
        with(specific.clone(), "pixel_type", json!("post_conversion")),
        "network_offer_payout_revenue_id",
        json!(upsell),
    );
    let cases = [
        (
            with(specific.clone(), "network_affiliate_id", json!(0)),
            "network_affiliate_id is required",
        ),
        (
            with(specific.clone(), "network_affiliate_id", json!(999)),
            "network_affiliate_id 999 does not exist",
        ),
        (
            with(specific.clone(), "network_offer_id", json!(999_999)),
            "network_offer_id 999999 does not exist",
        ),
        (
            with(specific.clone(), "network_offer_id", json!(0)),
            "network_offer_id is required",
        ),
        (
            with(
                event.clone(),
                "network_offer_payout_revenue_id",
                json!(other_upsell),
            ),
            "is not an event of offer",
        ),
        (
            with(
                event.clone(),
                "network_offer_payout_revenue_id",
                json!(base),
            ),
            "base conversion",
        ),
        (
            with(
                specific.clone(),
                "network_offer_payout_revenue_id",
                json!(upsell),
            ),
            "must be 0 for pixel_type conversion",
        ),
        (
            with(
                with(specific.clone(), "delivery_method", json!("html")),
                "html_code",
                json!("<img>"),
            ),
            "postback_url must be empty",
        ),
        (
            with(
                with(specific.clone(), "delivery_method", json!("html")),
                "postback_url",
                json!(""),
            ),
            "html_code is required",
        ),
        (
            with(specific.clone(), "delay_ms", json!(300_001)),
            "delay_ms",
        ),
        (
            with(specific.clone(), "pixel_level", json!("everything")),
            "pixel_level must be one of global, specific, global_offer",
        ),
        (
            with(specific.clone(), "postback_url", json!("example.com/pb")),
            "http or https",
        ),
        (
            with(specific.clone(), "fire_on", json!("conversion")),
            "unknown field fire_on",
        ),
    ];
    for (body, needle) in cases {
        let r = c
            .net(Method::POST, "/v1/networks/pixels", Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(needle), "{body}: {}", r.error());
    }
    // An offer's event, or 0 for all of its events.
    assert_eq!(
        c.create_partner_pixel(event.clone()).await["network_offer_payout_revenue_id"],
        upsell
    );
    let all_events = with(event.clone(), "network_offer_payout_revenue_id", json!(0));
    c.create_partner_pixel(all_events).await;

    let mut body = specific.clone();
    body["delay_ms"] = json!(1500);
    let created = c.create_partner_pixel(body.clone()).await;
    assert_eq!(created["delay_ms"], 1500);
    assert_eq!(
        created["description"],
        "Conversion postback for affiliate 7"
    );
    let id = created["network_pixel_id"].as_u64().unwrap();
    let path = format!("/v1/networks/pixels/{id}");
    assert_eq!(c.net(Method::GET, &path, None).await.body, created);
    let held = c.handle.sandbox().destination_pixels();
    assert_eq!(held.last(), Some(&created));

    // PUT is a full replacement: what is left out is reset.
    let mut replacement = body.clone();
    let map = replacement.as_object_mut().unwrap();
    map.remove("delay_ms");
    map.remove("description");
    replacement["network_affiliate_id"] = json!(22);
    let r = c.net(Method::PUT, &path, Some(replacement.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["delay_ms"], 0);
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["network_affiliate_id"], 22);
    assert_eq!(
        r.body["relationship"]["affiliate"]["name"],
        "Apex Health Partners"
    );
    assert!(r.body["time_saved"].as_u64() > created["time_saved"].as_u64());
    let saved = r.body["time_saved"].clone();
    let again = c.net(Method::PUT, &path, Some(r.body.clone())).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "what GET shows can be PUT back: {:?}",
        again.body
    );
    assert_eq!(
        again.body["time_saved"], saved,
        "no change, no new time_saved"
    );
    let mut wrong = replacement.clone();
    wrong["network_pixel_id"] = json!(id + 1);
    assert_eq!(
        c.net(Method::PUT, &path, Some(wrong)).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = c
        .net(Method::PUT, "/v1/networks/pixels/999999", Some(replacement))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // DELETE removes it for good.
    let r = c.net(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"result": true}));
    assert_eq!(
        c.net(Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.net(Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    let log = c.log();
    let delete = log.iter().find(|r| r.method == "DELETE").unwrap();
    assert!(delete.is_write());
    assert!(
        log.iter()
            .filter(|r| r.path == "/v1/networks/pixels" && r.method == "POST")
            .all(LoggedRequest::is_write)
    );
    // Affiliate keys are out of realm.
    let r = c
        .call(
            Method::GET,
            "/v1/networks/pixels",
            Some(&c.trimrx_key),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// ---- partner postback delivery report ----

/// seed 002's body for two days, with `filters` (`[resource_type, value]`).
fn report_body(filters: &[(&str, &str)]) -> Value {
    let filters: Vec<Value> = filters
        .iter()
        .map(|(ty, value)| json!({"resource_type": ty, "filter_id_value": value}))
        .collect();
    json!({
        "timezone_id": 90,
        "from": "2024-02-07",
        "to": "2024-02-08",
        "query": {"filters": filters}
    })
}

impl Ctx {
    async fn report(&self, body: Value) -> Vec<Value> {
        let r = self
            .net(
                Method::POST,
                "/v1/networks/reporting/affiliate/pixels",
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body.as_object().unwrap().len(), 1, "only pixels");
        r.body["pixels"].as_array().unwrap().clone()
    }

    /// The export's content type and text.
    async fn export(&self, body: Value) -> (String, String) {
        let resp = self
            .client
            .post(format!(
                "{}/v1/networks/reporting/affiliate/pixels/export",
                self.handle.url()
            ))
            .header("X-Eflow-API-Key", &self.network_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let ty = resp.headers()["content-type"].to_str().unwrap().to_owned();
        (ty, resp.text().await.unwrap())
    }
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap()
}

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn postback_report_rows_come_from_the_postbacks_of_existing_offers() {
    let c = ctx();
    assert!(
        c.report(report_body(&[])).await.is_empty(),
        "no offers, no conversions"
    );
    let a = c.create(offer_body("Semaglutide")).await;
    let b = c.create(offer_body("Tirzepatide")).await;
    let payouts = entries(&c.handle.sandbox().destination_offer(a).unwrap()).clone();
    let upsell = u(&payouts[1], "network_offer_payout_revenue_id");

    // 2 offers x 2 days x 3 active fixture postbacks (8004 is inactive) x 3.
    let rows = c.report(report_body(&[])).await;
    assert_eq!(rows.len(), 36);
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "network_id",
        "network_offer_id",
        "network_offer_payout_revenue_id",
        "affiliate_id",
        "pixel_id",
        "conversion_id",
        "transaction_id",
        "timestamp",
        "delivery_method",
        "pixel_level",
        "pixel_status",
        "pixel_type",
        "payload",
        "is_success",
        "debug_information",
        "last_attempt",
        "failed_attempts",
        "relationship",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let (from, to) = (1_707_264_000, 1_707_436_799); // 2024-02-07 00:00:00 .. 02-08 23:59:59 UTC
    let times: Vec<u64> = rows.iter().map(|r| u(r, "timestamp")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "timestamp order");
    assert!(times.iter().all(|t| (from..=to).contains(t)));
    let pixel_ids: std::collections::BTreeSet<u64> =
        rows.iter().map(|r| u(r, "pixel_id")).collect();
    assert_eq!(
        pixel_ids.into_iter().collect::<Vec<_>>(),
        [8001, 8002, 8003]
    );
    let txids: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["transaction_id"].as_str().unwrap())
        .collect();
    assert_eq!(txids.len(), 36, "one transaction per delivery");

    for r in &rows {
        assert_eq!(r["network_id"], 7001);
        let tid = r["transaction_id"].as_str().unwrap();
        assert_eq!(tid.len(), 32);
        assert!(tid.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            r["relationship"]["offer"]["network_offer_id"],
            r["network_offer_id"]
        );
        assert_eq!(
            r["relationship"]["affiliate"]["network_affiliate_id"],
            r["affiliate_id"]
        );
        let payload = r["payload"].as_str().unwrap();
        assert!(payload.contains(tid), "{payload}");
        assert!(!payload.contains("{transaction_id}"));
        match u(r, "pixel_id") {
            8001 => {
                assert_eq!(r["affiliate_id"], 7);
                assert_eq!(r["network_offer_payout_revenue_id"], 0);
                assert!(
                    payload.ends_with(&format!("&oid={}&payout=280", u(r, "network_offer_id"))),
                    "{payload}"
                );
            }
            8002 => {
                assert_eq!(r["pixel_type"], "post_conversion");
                assert_eq!(
                    r["network_offer_payout_revenue_id"],
                    if r["network_offer_id"] == a {
                        upsell
                    } else {
                        upsell + 2
                    }
                );
                assert!(payload.ends_with("&payout=232"), "{payload}");
            }
            _ => {
                assert_eq!(r["delivery_method"], "html");
                assert_eq!(r["affiliate_id"], 22);
                assert_eq!(
                    r["relationship"]["affiliate"]["name"],
                    "Apex Health Partners"
                );
                assert!(payload.starts_with("<img src=\"https://pixel.apexhealth.test/fire?tid="));
                assert_eq!(r["is_success"], true, "the browser fires html pixels");
                assert_eq!(r["debug_information"], "");
            }
        }
        if r["is_success"] == true {
            assert_eq!((u(r, "failed_attempts"), u(r, "last_attempt")), (0, 0));
        } else {
            assert_eq!(u(r, "failed_attempts"), 3);
            assert!(u(r, "last_attempt") > u(r, "timestamp"));
            let debug = r["debug_information"].as_str().unwrap();
            assert!(debug.starts_with(&format!("PostbackUrl: {payload}\n")));
            assert!(
                debug.contains("Status: 500") || debug.contains("deadline exceeded"),
                "{debug}"
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| r["relationship"]["offer"]["name"] == "Tirzepatide")
    );
    assert!(rows.iter().any(|r| r["network_offer_id"] == b));

    // The same request gives the same rows.
    assert_eq!(c.report(report_body(&[])).await, rows);
    // A time window narrows to the rows inside it.
    let mut narrow = report_body(&[]);
    narrow["from"] = json!("2024-02-07 06:00:00");
    narrow["to"] = json!("2024-02-07 17:59:59");
    let inside = c.report(narrow).await;
    let expect: Vec<&Value> = rows
        .iter()
        .filter(|r| (1_707_285_600..=1_707_328_799).contains(&u(r, "timestamp")))
        .collect();
    assert_eq!(inside.iter().collect::<Vec<_>>(), expect);

    // A new postback of one offer adds rows for that offer only.
    c.create_partner_pixel(partner_pixel_body(1, a, "specific"))
        .await;
    let more = c.report(report_body(&[])).await;
    let new: Vec<&Value> = more.iter().filter(|r| u(r, "pixel_id") > 8004).collect();
    assert_eq!(new.len(), 6);
    assert!(
        new.iter()
            .all(|r| r["network_offer_id"] == a && r["affiliate_id"] == 1)
    );

    // Bad bodies.
    for (body, needle) in [
        (
            without(report_body(&[]), "timezone_id"),
            "timezone_id is required",
        ),
        (without(report_body(&[]), "from"), "from is required"),
        (
            json!({"timezone_id": 90, "from": "07/02/2024", "to": "2024-02-08"}),
            "YYYY-mm-DD",
        ),
        (
            json!({"timezone_id": 90, "from": "2024-02-08", "to": "2024-02-07"}),
            "before",
        ),
        (report_body(&[("campaign", "1")]), "resource_type"),
        (
            report_body(&[("delivery_status", "pending")]),
            "success or failure",
        ),
        (
            json!({"timezone_id": 90, "from": "2024-02-07", "to": "2024-02-08", "format": "csv"}),
            "format",
        ),
    ] {
        let r = c
            .net(
                Method::POST,
                "/v1/networks/reporting/affiliate/pixels",
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(needle), "{body}: {}", r.error());
    }
    // Reports are reads.
    assert!(
        c.log()
            .iter()
            .filter(|r| r.path.starts_with("/v1/networks/reporting/"))
            .all(|r| !r.is_write())
    );
}

#[tokio::test]
async fn postback_report_filters_or_within_a_type_and_across_types() {
    let c = ctx();
    let a = c.create(offer_body("Semaglutide")).await;
    let b = c.create(offer_body("Tirzepatide")).await;
    c.handle.sandbox().set_postback_volume(20);
    let a_id = a;
    let (a, b) = (a.to_string(), b.to_string());
    let all = c.report(report_body(&[])).await;
    assert_eq!(all.len(), 2 * 2 * 3 * 20);
    let count = |f: &dyn Fn(&Value) -> bool| all.iter().filter(|r| f(r)).count();

    let only_a = c.report(report_body(&[("offer", &a)])).await;
    assert_eq!(only_a.len(), count(&|r| r["network_offer_id"] == a_id));
    assert_eq!(only_a.len(), all.len() / 2);
    // Same type: OR.
    assert_eq!(
        c.report(report_body(&[("offer", &a), ("offer", &b)])).await,
        all
    );
    let apex = c.report(report_body(&[("affiliate", "22")])).await;
    assert_eq!(apex.len(), count(&|r| r["affiliate_id"] == 22));
    assert!(apex.iter().all(|r| r["delivery_method"] == "html"));
    assert_eq!(
        c.report(report_body(&[("affiliate", "22"), ("affiliate", "7")]))
            .await,
        all
    );
    // Different types: AND.
    let a_and_7 = c
        .report(report_body(&[("offer", &a), ("affiliate", "7")]))
        .await;
    assert_eq!(
        a_and_7.len(),
        count(&|r| r["network_offer_id"] == a_id && r["affiliate_id"] == 7)
    );
    assert!(!a_and_7.is_empty());
    let failures = c
        .report(report_body(&[("delivery_status", "failure")]))
        .await;
    assert_eq!(failures.len(), count(&|r| r["is_success"] == false));
    assert!(
        !failures.is_empty(),
        "about 1 in 8 postback deliveries fail"
    );
    assert!(failures.len() < all.len() / 4);
    assert!(
        c.report(report_body(&[
            ("delivery_status", "failure"),
            ("affiliate", "22")
        ]))
        .await
        .is_empty(),
        "html pixels never fail, and the filters are ANDed"
    );
    assert_eq!(
        c.report(report_body(&[
            ("delivery_status", "failure"),
            ("delivery_status", "success")
        ]))
        .await,
        all
    );
    assert!(
        c.report(report_body(&[("offer", "999999")]))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn postback_report_caps_at_1000_and_the_export_has_every_row() {
    let c = ctx();
    c.create(offer_body("Semaglutide")).await;
    c.create(offer_body("Tirzepatide")).await;
    c.handle.sandbox().set_postback_volume(200);
    let total = 2 * 2 * 3 * 200;

    let capped = c.report(report_body(&[])).await;
    assert_eq!(capped.len(), 1000);

    let mut body = report_body(&[]);
    body["format"] = json!("json");
    let (ty, text) = c.export(body.clone()).await;
    assert_eq!(ty, "application/x-ndjson");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        total,
        "newline-delimited, one row per line, uncapped"
    );
    assert_eq!(
        lines[..1000],
        capped[..],
        "the report holds the first 1000 rows"
    );
    let times: Vec<u64> = lines.iter().map(|r| u(r, "timestamp")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(c.export(body.clone()).await.1, text, "deterministic");

    body["format"] = json!("csv");
    let (ty, csv) = c.export(body.clone()).await;
    assert!(ty.starts_with("text/csv"), "{ty}");
    let records = csv_records(&csv);
    assert_eq!(records.len(), total + 1, "a header and every row");
    assert_eq!(records[0][0], "network_id");
    assert!(records[0].contains(&"transaction_id".to_owned()));
    let tx = records[0]
        .iter()
        .position(|h| h == "transaction_id")
        .unwrap();
    let debug = records[0]
        .iter()
        .position(|h| h == "debug_information")
        .unwrap();
    assert!(records[1..].iter().all(|r| r.len() == records[0].len()));
    for (record, row) in records[1..].iter().zip(&lines) {
        assert_eq!(record[tx], row["transaction_id"].as_str().unwrap());
        assert_eq!(record[debug], row["debug_information"].as_str().unwrap());
    }

    // Filters apply to the export too, and below the cap both agree.
    let mut failures = report_body(&[("delivery_status", "failure"), ("affiliate", "7")]);
    let reported = c.report(failures.clone()).await;
    assert!(!reported.is_empty() && reported.len() < 1000);
    failures["format"] = json!("json");
    assert_eq!(c.export(failures).await.1.lines().count(), reported.len());

    // The export needs a format.
    let r = c
        .net(
            Method::POST,
            "/v1/networks/reporting/affiliate/pixels/export",
            Some(report_body(&[])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("format"));
    let exports: Vec<LoggedRequest> = c
        .log()
        .into_iter()
        .filter(|r| r.path.ends_with("/export"))
        .collect();
    assert_eq!(exports.len(), 5);
    assert!(exports.iter().all(|r| !r.is_write()));
}

#[tokio::test]
async fn reporting_allows_10_requests_at_a_time() {
    let c = ctx();
    c.handle.sandbox().set_latency(Duration::from_millis(1500));
    let url = format!("{}/v1/networks/reporting/affiliate/pixels", c.handle.url());
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (client, url, key) = (c.client.clone(), url.clone(), c.network_key.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("X-Eflow-API-Key", key)
                    .json(&report_body(&[]))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [[200; 10].as_slice(), &[429, 429]].concat());
    // The slots come back, and other endpoints never counted.
    c.handle.sandbox().set_latency(Duration::ZERO);
    assert!(c.report(report_body(&[])).await.is_empty());
    let refused: Vec<LoggedRequest> = c.log().into_iter().filter(|r| r.status == 429).collect();
    assert_eq!(refused.len(), 2);
}
