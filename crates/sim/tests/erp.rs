#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The ERP simulator over HTTP: auth modes, order query and create modes, the status feed,
//! cancellations, the CRM sink, the push driver and the control plane.

mod common;

use base64::Engine;
use common::client;
use omnibridge_sim::erp::{
    AuthMode, CancelMode, CreateMode, EmptyShape, ErpAuth, Malformed, PageFault, Pagination,
    PushAuth, PushConfig, QueryMode, StatusFeed, StatusRow,
};
use omnibridge_sim::{ErpConfig, ErpHandle, ErpSim, FaultAction, FaultRule, JournalQuery};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn erp(config: ErpConfig) -> ErpHandle {
    ErpSim::start(config).await.unwrap()
}

async fn jwt_token(h: &ErpHandle) -> String {
    let a = h.auth();
    let r: Value = client()
        .post(format!("{}/auth/login", h.base_url()))
        .json(&json!({"username": a.username, "password": a.password, "company": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["data"]["access_token"].as_str().unwrap().to_string()
}

async fn call(
    method: reqwest::Method,
    url: String,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = client().request(method, url);
    if let Some(t) = auth {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v, ct)
}

#[tokio::test]
async fn jwt_login_tokens_expire_by_ttl_and_uses_with_the_configured_answer() {
    let h = erp(ErpConfig::default()).await;
    let url = format!("{}/orders/query?number=1", h.base_url());
    let bad: Value = client()
        .post(format!("{}/auth/login", h.base_url()))
        .json(&json!({"username": "x", "password": "y"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["success"], false);
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), None, None).await.0,
        401
    );
    let t = jwt_token(&h).await;
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some("forged"), None)
            .await
            .0,
        401
    );
    h.update_scenario(|s| {
        s.auth.token_max_uses = Some(1);
        s.auth.expired_token_status = 403;
    })
    .await;
    let t = jwt_token(&h).await;
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        200
    );
    let (s, body, _) = call(reqwest::Method::GET, url.clone(), Some(&t), None).await;
    assert_eq!(
        (s, body),
        (403, json!({"success": false, "error": "token expired"}))
    );
    h.update_scenario(|s| {
        s.auth.token_max_uses = None;
        s.auth.token_ttl_seconds = Some(30);
        s.auth.expired_token_status = 200;
    })
    .await;
    let t = jwt_token(&h).await;
    h.clock(omnibridge_sim::ClockChange {
        advance_seconds: Some(31),
        ..Default::default()
    })
    .await;
    let (s, body, _) = call(reqwest::Method::GET, url.clone(), Some(&t), None).await;
    assert_eq!(
        (s, body["error"].clone()),
        (200, json!("token expired")),
        "200-with-error-body expiry"
    );
    h.update_scenario(|s| {
        s.auth.login_fail_next = 1;
        s.auth.login_latency_ms = 50;
    })
    .await;
    let a = h.auth();
    let started = Instant::now();
    let r = client()
        .post(format!("{}/auth/login", h.base_url()))
        .json(&json!({"username": a.username, "password": a.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        client()
            .post(format!("{}/auth/login", h.base_url()))
            .json(&json!({"username": a.username, "password": a.password}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{}/auth/login", h.base_url()))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn basic_static_custom_header_oauth_token_in_url_and_none_modes() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::Basic)).await;
    let a = h.auth();
    let url = format!("{}/orders/query?number=5", h.base_url());
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.username, a.password));
    assert_eq!(
        client()
            .get(&url)
            .header("Authorization", format!("Basic {basic}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = client()
        .get(&url)
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    h.update_scenario(|s| s.auth.mode = AuthMode::StaticToken)
        .await;
    assert_eq!(
        client()
            .get(&url)
            .header("Authorization", a.static_token.as_str())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(&url)
            .header("Authorization", "Token other")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    h.update_scenario(|s| s.auth.mode = AuthMode::CustomHeader)
        .await;
    assert_eq!(
        client()
            .get(&url)
            .header(a.header_name.as_str(), a.header_value.as_str())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(client().get(&url).send().await.unwrap().status(), 401);

    h.update_scenario(|s| s.auth.mode = AuthMode::Oauth2Cc)
        .await;
    let tok: Value = client()
        .post(format!("{}/oauth/token", h.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", a.client_id.as_str()),
            ("client_secret", a.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    let t = tok["access_token"].as_str().unwrap();
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(t), None)
            .await
            .0,
        200
    );
    let bad = client()
        .post(format!("{}/oauth/token", h.base_url()))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    h.update_scenario(|s| s.auth.mode = AuthMode::TokenInUrl)
        .await;
    let t = jwt_token(&h).await;
    assert_eq!(
        client()
            .get(format!("{}/(S({t}))/orders/query?number=5", h.base_url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{}/(S(wrong))/orders/query?number=5", h.base_url()))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    h.update_scenario(|s| s.auth.mode = AuthMode::None).await;
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn every_order_query_mode_answers_as_specified() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    let q = |n: &str| format!("{}/orders/query?number={n}", h.base_url());
    let cases: Vec<(&str, QueryMode, u16, Value)> = vec![
        (
            "1",
            QueryMode::Found,
            200,
            json!({"order": {"number": "1", "erp_no": "E1", "status": "CREATED"}}),
        ),
        (
            "2",
            QueryMode::NotFoundPathEmpty {
                shape: EmptyShape::Null,
            },
            200,
            json!({"order": null}),
        ),
        (
            "3",
            QueryMode::NotFoundPathEmpty {
                shape: EmptyShape::Array,
            },
            200,
            json!({"order": []}),
        ),
        (
            "4",
            QueryMode::NotFoundPathEmpty {
                shape: EmptyShape::Object,
            },
            200,
            json!({}),
        ),
        (
            "5",
            QueryMode::NotFoundPathValue {
                value: "NOT_FOUND".into(),
            },
            200,
            json!({"order": "NOT_FOUND"}),
        ),
        (
            "6",
            QueryMode::NotFoundCode { status: 404 },
            404,
            json!({"success": false, "error": "order not found"}),
        ),
        (
            "7",
            QueryMode::FailureCode { status: 503 },
            503,
            json!({"success": false, "error": "internal error"}),
        ),
        (
            "8",
            QueryMode::UnlistedCode { status: 418 },
            418,
            json!({"error": "unexpected"}),
        ),
    ];
    for (n, mode, _, _) in &cases {
        h.set_order_query_mode(*n, mode.clone()).await;
    }
    for (n, _, status, body) in cases {
        let (s, b, _) = call(reqwest::Method::GET, q(n), None, None).await;
        assert_eq!((s, b), (status, body), "number {n}");
    }
    h.set_order_query_mode("9", QueryMode::NotFoundCode { status: 204 })
        .await;
    assert_eq!(client().get(q("9")).send().await.unwrap().status(), 204);
    h.set_order_query_mode("10", QueryMode::Xml).await;
    let (s, b, ct) = call(reqwest::Method::GET, q("10"), None, None).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("application/xml"));
    assert_eq!(
        b,
        json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><order/></response>")
    );
    h.set_order_query_mode("11", QueryMode::Slow { ms: 200 })
        .await;
    let t = Instant::now();
    assert_eq!(call(reqwest::Method::GET, q("11"), None, None).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    h.set_order_query_mode("12", QueryMode::Hang).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(quick.get(q("12")).send().await.unwrap_err().is_timeout());
    h.set_order_query_mode("13", QueryMode::Reset).await;
    let r = client().get(q("13")).send().await;
    assert!(match r {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    });
    // auth_expired: 401 once (token revoked), then normal after re-login.
    h.update_scenario(|s| s.auth.mode = AuthMode::Jwt).await;
    h.set_order_query_mode("14", QueryMode::AuthExpired).await;
    let t1 = jwt_token(&h).await;
    assert_eq!(
        call(reqwest::Method::GET, q("14"), Some(&t1), None).await.0,
        401
    );
    assert_eq!(
        call(reqwest::Method::GET, q("14"), Some(&t1), None).await.0,
        401,
        "old token is dead"
    );
    let t2 = jwt_token(&h).await;
    assert_eq!(
        call(reqwest::Method::GET, q("14"), Some(&t2), None).await,
        (200, json!({"order": null}), "application/json".into())
    );
    assert_eq!(
        call(reqwest::Method::POST, q("1"), Some(&t2), None).await.0,
        405
    );
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/orders/query", h.base_url()),
            Some(&t2),
            None
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn order_create_modes_store_count_and_become_visible_to_the_query() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    let url = format!("{}/orders", h.base_url());
    let order = |n: &str| json!({"number": n, "orderitem_set": [{"pk": 11, "sku": "A"}, {"pk": 12, "sku": "B"}]});
    let (s, b, _) = call(reqwest::Method::POST, url.clone(), None, Some(order("100"))).await;
    assert_eq!(s, 201);
    assert_eq!(
        b,
        json!({"erp_order_no": "E100", "lines": [{"omnitron_item_id": 11, "erp_line_code": "L11"}, {"omnitron_item_id": 12, "erp_line_code": "L12"}]})
    );
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/orders/query?number=100", h.base_url()),
            None,
            None
        )
        .await
        .1["order"]["erp_no"],
        "E100"
    );
    assert_eq!(
        call(reqwest::Method::PUT, url.clone(), None, Some(order("101")))
            .await
            .0,
        201
    );
    assert_eq!(
        call(
            reqwest::Method::PATCH,
            url.clone(),
            None,
            Some(order("102"))
        )
        .await
        .0,
        405
    );
    assert_eq!(
        call(reqwest::Method::DELETE, url.clone(), None, None)
            .await
            .0,
        405
    );
    let modes = [
        ("200", CreateMode::OkErrorBody, 200, false),
        ("201", CreateMode::Validation, 400, false),
        ("202", CreateMode::Duplicate, 409, false),
        ("203", CreateMode::Server { status: 502 }, 502, false),
        (
            "204",
            CreateMode::CommitThenFail { reset: false },
            500,
            true,
        ),
        ("205", CreateMode::Slow { ms: 100 }, 201, true),
        ("206", CreateMode::Xml, 201, true),
    ];
    for (n, m, _, _) in &modes {
        h.set_order_create_mode(*n, m.clone()).await;
    }
    for (n, _, status, stored) in &modes {
        let (s, b, ct) = call(reqwest::Method::POST, url.clone(), None, Some(order(n))).await;
        assert_eq!(s, *status, "{n}: {b}");
        assert_eq!(h.state().await.order(n).is_some(), *stored, "{n}");
        if *n == "203" {
            assert!(ct.starts_with("text/html"));
        }
        if *n == "206" {
            assert!(
                b.as_str()
                    .unwrap()
                    .contains("<erp_order_no>E206</erp_order_no>")
            );
        }
        if *n == "200" {
            assert_eq!(b, json!({"success": false, "message": "stock error"}));
        }
    }
    // commit_then_fail: the next run's query finds it.
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/orders/query?number=204", h.base_url()),
            None,
            None
        )
        .await
        .1["order"]["number"],
        "204"
    );
    h.set_order_create_mode("207", CreateMode::CommitThenFail { reset: true })
        .await;
    let r = client().post(&url).json(&order("207")).send().await;
    assert!(match r {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    });
    assert_eq!(h.state().await.order("207").unwrap().creates, 1);
    h.set_order_create_mode("208", CreateMode::Reset).await;
    assert!(
        client()
            .post(&url)
            .json(&order("208"))
            .send()
            .await
            .is_err()
            || h.state().await.order("208").is_none()
    );
    assert!(h.state().await.order("208").is_none());
    h.set_order_create_mode("209", CreateMode::Hang).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(
        quick
            .post(&url)
            .json(&order("209"))
            .send()
            .await
            .unwrap_err()
            .is_timeout()
    );
    // a second create of the same number is counted (exactly-once is provable) ...
    assert_eq!(
        call(reqwest::Method::POST, url.clone(), None, Some(order("100")))
            .await
            .0,
        201
    );
    assert_eq!(h.state().await.order("100").unwrap().creates, 2);
    // ... or refused when configured.
    h.update_scenario(|s| s.create_reject_duplicates = true)
        .await;
    assert_eq!(
        call(reqwest::Method::POST, url.clone(), None, Some(order("100")))
            .await
            .0,
        409
    );
    assert_eq!(
        call(
            reqwest::Method::POST,
            url.clone(),
            None,
            Some(json!({"sku": "x"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            reqwest::Method::POST,
            url.clone(),
            None,
            Some(json!([1, 2]))
        )
        .await
        .0,
        400
    );
    // auth_expired on create
    h.update_scenario(|s| s.auth.mode = AuthMode::Jwt).await;
    h.set_order_create_mode("300", CreateMode::AuthExpired)
        .await;
    let t = jwt_token(&h).await;
    assert_eq!(
        call(
            reqwest::Method::POST,
            url.clone(),
            Some(&t),
            Some(order("300"))
        )
        .await
        .0,
        401
    );
    let t = jwt_token(&h).await;
    assert_eq!(
        call(
            reqwest::Method::POST,
            url.clone(),
            Some(&t),
            Some(order("300"))
        )
        .await
        .0,
        201
    );
    let st: Value = client()
        .get(format!("{}/__sim/state", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let o = st["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == "300")
        .unwrap();
    assert_eq!(o["creates"], 1);
    let alias: Value = client()
        .get(format!("{}/__erp/orders", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alias["orders"], st["orders"]);
}

async fn feed_rows(h: &ErpHandle, n: usize) {
    let rows = (0..n)
        .map(|i| StatusRow {
            id: 0,
            order: json!(format!("N{i}")),
            orderitems: vec![
                json!({"id": 1000 + i, "status": "500", "tracking_number": format!("T{i}")}),
            ],
            modified_date: None,
        })
        .collect();
    h.add_status_rows(rows).await;
}

#[tokio::test]
async fn status_feed_paginates_by_offset_seek_next_field_and_none() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    feed_rows(&h, 7).await;
    let base = format!("{}/orders/status", h.base_url());
    let get = |q: String| {
        let url = format!("{base}{q}");
        async move { call(reqwest::Method::GET, url, None, None).await.1 }
    };
    // offset
    h.set_status_feed(StatusFeed {
        pagination: Pagination::Offset,
        ..Default::default()
    })
    .await;
    let p = get("?offset=0&limit=3".into()).await;
    assert_eq!(p["results"].as_array().unwrap().len(), 3);
    assert_eq!(p["total"], 7);
    assert_eq!(
        get("?offset=6&limit=3".into()).await["results"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "last page is shorter"
    );
    assert_eq!(get("?offset=x".into()).await["success"], false);
    // seek
    h.set_status_feed(StatusFeed {
        pagination: Pagination::Seek,
        page_size: 3,
        ..Default::default()
    })
    .await;
    let mut after = String::new();
    let mut seen = 0;
    loop {
        let p = get(format!("?{after}")).await;
        let rows = p["results"].as_array().unwrap().len();
        if rows == 0 {
            assert!(p["last_id"].is_null());
            break;
        }
        seen += rows;
        after = format!("after={}", p["last_id"]);
    }
    assert_eq!(seen, 7);
    // next_field: absolute URL that keeps the other params
    h.set_status_feed(StatusFeed {
        pagination: Pagination::NextField,
        page_size: 3,
        ..Default::default()
    })
    .await;
    let mut url = format!("{base}?foo=bar");
    let mut pages = 0;
    loop {
        let (_, p, _) = call(reqwest::Method::GET, url.clone(), None, None).await;
        pages += 1;
        match p["next"].as_str() {
            Some(n) => {
                assert!(n.contains("foo=bar"));
                url = n.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    h.set_status_feed(StatusFeed {
        pagination: Pagination::NextField,
        page_size: 3,
        next_token: true,
        ..Default::default()
    })
    .await;
    assert_eq!(get(String::new()).await["next"], "p2");
    assert_eq!(get("?cursor=p3".into()).await["next"], Value::Null);
    // none
    h.set_status_feed(StatusFeed {
        pagination: Pagination::None,
        ..Default::default()
    })
    .await;
    let all = get(String::new()).await;
    assert_eq!(all.as_array().unwrap().len(), 7);
    assert_eq!(all[0]["orderitems"][0]["id"], 1000);
    // number filter, POST with body params, service/run
    assert_eq!(get("?number=N3".into()).await.as_array().unwrap().len(), 1);
    let (s, b, _) = call(
        reqwest::Method::POST,
        base.clone(),
        None,
        Some(json!({"number": "N4", "custom": "x"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b.as_array().unwrap().len(), 1);
    let j = h
        .journal(JournalQuery {
            method: Some("POST".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(j[0].body["custom"], "x", "custom params are journaled");
    let run = format!(
        "{}/service/run?{{'name':'Akinon','Parameters':[{{'Name':'Order','Value':'N5'}}]}}",
        h.base_url()
    );
    assert_eq!(
        call(reqwest::Method::GET, run, None, None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        call(reqwest::Method::DELETE, base.clone(), None, None)
            .await
            .0,
        405
    );
}

#[tokio::test]
async fn status_feed_dates_xml_and_page_faults() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    h.clock(omnibridge_sim::ClockChange {
        freeze_at: Some("2024-06-01T10:00:00Z".parse().unwrap()),
        ..Default::default()
    })
    .await;
    feed_rows(&h, 2).await;
    h.clock(omnibridge_sim::ClockChange {
        advance_seconds: Some(3600),
        ..Default::default()
    })
    .await;
    feed_rows(&h, 3).await;
    let base = format!("{}/orders/status", h.base_url());
    h.set_status_feed(StatusFeed {
        pagination: Pagination::None,
        reject_z: true,
        ..Default::default()
    })
    .await;
    let (s, b, _) = call(
        reqwest::Method::GET,
        format!("{base}?modified_date__gt=2024-06-01T10:30:00.000001"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b.as_array().unwrap().len(), 3);
    let (s, b, _) = call(
        reqwest::Method::GET,
        format!("{base}?modified_date__gt=2024-06-01T10:30:00Z"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("Z"));
    h.set_status_feed(StatusFeed {
        pagination: Pagination::None,
        timezone: Some("Europe/Istanbul".into()),
        ..Default::default()
    })
    .await;
    let (_, b, _) = call(
        reqwest::Method::GET,
        format!("{base}?modified_date__gt=2024-06-01T13:30:00"),
        None,
        None,
    )
    .await;
    assert_eq!(b.as_array().unwrap().len(), 3, "13:30 Istanbul = 10:30 UTC");
    // XML with repeated <order> children
    h.set_status_feed(StatusFeed {
        pagination: Pagination::Offset,
        xml: true,
        ..Default::default()
    })
    .await;
    let (_, b, ct) = call(reqwest::Method::GET, base.clone(), None, None).await;
    assert!(ct.starts_with("application/xml"));
    let xml = b.as_str().unwrap();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<order><id>").count(), 5);
    assert!(xml.contains("<total>5</total>"));
    // page faults
    let feed = StatusFeed {
        pagination: Pagination::Offset,
        page_size: 2,
        page_status: Some(PageFault {
            page: 2,
            status: 500,
            ms: 0,
        }),
        slow_page: Some(PageFault {
            page: 1,
            status: 200,
            ms: 150,
        }),
        auth_expired_on_page: Some(3),
        ..Default::default()
    };
    h.set_status_feed(feed).await;
    let t = Instant::now();
    assert_eq!(
        call(reqwest::Method::GET, format!("{base}?offset=0"), None, None)
            .await
            .0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        call(reqwest::Method::GET, format!("{base}?offset=2"), None, None)
            .await
            .0,
        500
    );
    assert_eq!(
        call(reqwest::Method::GET, format!("{base}?offset=4"), None, None)
            .await
            .0,
        401
    );
    assert_eq!(
        call(reqwest::Method::GET, format!("{base}?offset=4"), None, None)
            .await
            .0,
        200,
        "401 only once"
    );
    h.set_status_feed(StatusFeed {
        page_size: 2,
        duplicate_across_pages: true,
        ..Default::default()
    })
    .await;
    let p1 = call(reqwest::Method::GET, format!("{base}?offset=0"), None, None)
        .await
        .1;
    let p2 = call(reqwest::Method::GET, format!("{base}?offset=2"), None, None)
        .await
        .1;
    assert_eq!(p2["results"][0], p1["results"][1]);
    h.set_status_feed(StatusFeed {
        empty: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        call(reqwest::Method::GET, base.clone(), None, None).await.1["results"],
        json!([])
    );
    h.set_status_feed(StatusFeed {
        malformed_json: true,
        ..Default::default()
    })
    .await;
    let r = client().get(&base).send().await.unwrap();
    assert!(r.json::<Value>().await.is_err());
}

#[tokio::test]
async fn cancellation_modes_are_counted_per_plan() {
    let h = erp(ErpConfig::default()
        .auth_mode(AuthMode::None)
        .cancellation_mode(2, CancelMode::Reject { status: 422 }))
    .await;
    let url = format!("{}/cancellations", h.base_url());
    let send = |plan: u64| {
        call(
            reqwest::Method::POST,
            url.clone(),
            None,
            Some(json!({"plan_id": plan, "reason": "x"})),
        )
    };
    assert_eq!(
        send(1).await.1,
        json!({"status": "OK", "plan_id": "1", "erp_ref": "C1"})
    );
    assert_eq!(send(2).await.0, 422);
    h.set_cancellation_mode(3, CancelMode::Auth { status: 401 })
        .await;
    assert_eq!(send(3).await.0, 401);
    assert_eq!(send(3).await.0, 200);
    h.set_cancellation_mode(4, CancelMode::RetryLater { status: 503 })
        .await;
    assert_eq!(send(4).await.0, 503);
    assert_eq!(send(4).await.0, 503);
    h.set_cancellation_mode(5, CancelMode::OkErrorBody).await;
    assert_eq!(
        send(5).await,
        (
            200,
            json!({"status": "REJECTED", "plan_id": "5"}),
            "application/json".into()
        )
    );
    h.set_cancellation_mode(6, CancelMode::Slow { ms: 100 })
        .await;
    let t = Instant::now();
    assert_eq!(send(6).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(100));
    h.set_cancellation_mode(7, CancelMode::Xml).await;
    assert!(send(7).await.2.starts_with("application/xml"));
    h.set_cancellation_mode(8, CancelMode::Hang).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(
        quick
            .post(&url)
            .json(&json!({"plan_id": 8}))
            .send()
            .await
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(
        call(
            reqwest::Method::PUT,
            url.clone(),
            None,
            Some(json!({"plan_id": 1}))
        )
        .await
        .0,
        405
    );
    assert_eq!(
        call(
            reqwest::Method::POST,
            url.clone(),
            None,
            Some(json!({"x": 1}))
        )
        .await
        .0,
        400
    );
    let st = h.state().await;
    assert_eq!(st.cancellation("1").unwrap().count, 1);
    assert_eq!(st.cancellation("3").unwrap().count, 2);
    assert_eq!(st.cancellation("3").unwrap().accepted, 1);
    assert_eq!(st.cancellation("4").unwrap().accepted, 0);
    assert_eq!(
        st.cancellation("1").unwrap().last_body,
        json!({"plan_id": 1, "reason": "x"})
    );
    // method configurable
    h.update_scenario(|s| s.cancellation_method = "GET".into())
        .await;
    assert_eq!(
        call(reqwest::Method::GET, format!("{url}?plan_id=9"), None, None)
            .await
            .0,
        200
    );
    assert_eq!(h.state().await.cancellation("9").unwrap().count, 1);
}

#[tokio::test]
async fn crm_sink_and_push_driver_record_what_was_sent() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    let (s, _, _) = call(
        reqwest::Method::POST,
        format!("{}/crm/notify", h.base_url()),
        None,
        Some(json!({"order": "1"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/crm/notify", h.base_url()),
            None,
            None
        )
        .await
        .0,
        405
    );
    feed_rows(&h, 5).await;
    let sink = format!("{}/crm/notify", h.base_url());
    let results = h
        .push(PushConfig {
            batch_size: 2,
            concurrency: 2,
            auth: PushAuth::Valid {
                header: "Authorization".into(),
                value: "Token good".into(),
            },
            ..PushConfig::new(&sink)
        })
        .await;
    assert_eq!(
        results.iter().map(|r| r.rows).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    assert!(results.iter().all(|r| r.status == Some(200)));
    let st = h.state().await;
    assert_eq!(st.notifications.len(), 4);
    assert_eq!(
        st.notifications[1].as_array().unwrap()[0]["orderitem_set"][0]["id"],
        1000
    );
    let j = h
        .journal(JournalQuery {
            path: Some("/crm/notify".into()),
            method: Some("POST".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(j.last().unwrap().headers["authorization"], "Token good");
    // malformed payloads and auth variants via the control plane
    let r: Value = client()
        .post(format!("{}/__sim/push", h.base_url()))
        .json(&json!({"url": sink, "rows": [{"order": "X", "orderitem_set": [{"id": 1, "status": "500"}]}], "auth": {"kind": "invalid"}, "malformed": "missing_id"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r[0]["status"], 200);
    let st = h.state().await;
    assert_eq!(
        st.notifications.last().unwrap(),
        &json!([{"order": "X", "orderitem_set": [{"status": "500"}]}])
    );
    let obj = h
        .push(PushConfig {
            malformed: Malformed::ObjectInsteadOfArray,
            ..PushConfig::new(&sink)
        })
        .await;
    assert_eq!(obj.len(), 1);
    assert!(h.state().await.notifications.last().unwrap().is_object());
    let j = h.journal(JournalQuery::default()).await;
    assert!(
        j.iter()
            .any(|e| e.headers.get("authorization").map(String::as_str)
                == Some("Token invalid-token"))
    );
    let down = h.push(PushConfig::new("http://127.0.0.1:9/nowhere")).await;
    assert!(down[0].error.is_some());
}

#[tokio::test]
async fn control_plane_sets_scenarios_faults_and_resets() {
    let h = erp(ErpConfig::default()).await;
    let c = client();
    let r = c.post(format!("{}/__sim/scenario", h.base_url())).json(&json!({"auth": {"mode": "none"}, "query_default": {"mode": "not_found_code", "status": 404}})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/orders/query?number=1", h.base_url()),
            None,
            None
        )
        .await
        .0,
        404
    );
    let r = c
        .put(format!("{}/__sim/scenario/query/1", h.base_url()))
        .json(&json!({"mode": "found"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/orders/query?number=1", h.base_url()),
            None,
            None
        )
        .await
        .0,
        200
    );
    c.put(format!("{}/__erp/scenario/create/5", h.base_url()))
        .json(&json!({"mode": "duplicate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(
            reqwest::Method::POST,
            format!("{}/orders", h.base_url()),
            None,
            Some(json!({"number": "5"}))
        )
        .await
        .0,
        409
    );
    c.put(format!("{}/__sim/scenario/cancellations/8", h.base_url()))
        .json(&json!({"mode": "retry_later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(
            reqwest::Method::POST,
            format!("{}/cancellations", h.base_url()),
            None,
            Some(json!({"pk": 8}))
        )
        .await
        .0,
        503
    );
    let bad = c
        .post(format!("{}/__sim/scenario", h.base_url()))
        .json(&json!({"nonsense": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = c
        .put(format!("{}/__sim/scenario/query/1", h.base_url()))
        .json(&json!({"mode": "teleport"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let rows = c
        .post(format!("{}/__sim/status_rows", h.base_url()))
        .json(&json!([{"order": "A", "orderitems": [{"id": 1, "status": "500"}]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(rows.status(), 201);
    // drop_after_commit on create: stored once, client sees 500
    h.add_fault(
        FaultRule::new(FaultAction::DropAfterCommit {
            status: 500,
            reset: false,
        })
        .method("POST")
        .path("^/orders$")
        .nth(1),
    )
    .await
    .unwrap();
    assert_eq!(
        call(
            reqwest::Method::POST,
            format!("{}/orders", h.base_url()),
            None,
            Some(json!({"number": "77"}))
        )
        .await
        .0,
        500
    );
    assert_eq!(h.state().await.order("77").unwrap().creates, 1);
    let sc: Value = c
        .get(format!("{}/__sim/scenario", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sc["auth"]["mode"], "none");
    c.post(format!("{}/__sim/reset", h.base_url()))
        .send()
        .await
        .unwrap();
    let st = h.state().await;
    assert!(st.orders.is_empty() && st.status_rows.is_empty());
    assert_eq!(
        h.scenario().await.auth.mode,
        AuthMode::Jwt,
        "reset restores the start scenario"
    );
    assert!(h.faults().await.is_empty());
    let j: Vec<Value> = c
        .get(format!("{}/__sim/journal", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(j.is_empty());
    let auth = ErpAuth {
        mode: AuthMode::StaticToken,
        static_token: "Key abc".into(),
        ..Default::default()
    };
    h.set_auth(auth).await;
    assert_eq!(
        client()
            .get(format!("{}/orders/query?number=1", h.base_url()))
            .header("Authorization", "Key abc")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        call(
            reqwest::Method::GET,
            format!("{}/nope", h.base_url()),
            None,
            None
        )
        .await
        .0,
        404
    );
    h.shutdown().await;
}

#[tokio::test]
async fn erp_fault_rules_rate_limit_invalidate_tokens_and_truncate() {
    let h = erp(ErpConfig::default()).await;
    let url = format!("{}/orders/query?number=1", h.base_url());
    let t = jwt_token(&h).await;
    h.add_fault(
        FaultRule::new(FaultAction::RateLimit { retry_after: 3 })
            .path("query")
            .nth(1),
    )
    .await
    .unwrap();
    h.add_fault(
        FaultRule::new(FaultAction::InvalidateToken)
            .path("query")
            .nth(3),
    )
    .await
    .unwrap();
    let r = client().get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        401,
        "token invalidated before handling"
    );
    let t2 = jwt_token(&h).await;
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t2), None)
            .await
            .0,
        200
    );
    h.add_fault(
        FaultRule::new(FaultAction::Truncate {
            keep_bytes: Some(5),
        })
        .path("status"),
    )
    .await
    .unwrap();
    h.add_status_rows(vec![StatusRow {
        id: 0,
        order: json!("A"),
        orderitems: vec![],
        modified_date: None,
    }])
    .await;
    let resp = client()
        .get(format!("{}/orders/status", h.base_url()))
        .bearer_auth(&t2)
        .send()
        .await;
    assert!(match resp {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    });
    let j = h
        .journal(JournalQuery {
            path: Some("/orders/status".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(j[0].fault.as_deref(), Some("truncate"));
    assert_eq!(j[0].response["results"][0]["order"], "A");
    let seeded: Value = client()
        .post(format!("{}/__sim/seed", h.base_url()))
        .json(&json!({"seed": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seeded, json!({"seed": 3}));
    assert!(h.faults().await.is_empty(), "reseeding clears the rules");
}

#[tokio::test]
async fn status_rows_can_be_cleared_and_created_orders_feed_the_status_endpoint() {
    let h = erp(ErpConfig::default().auth_mode(AuthMode::None)).await;
    call(
        reqwest::Method::POST,
        format!("{}/orders", h.base_url()),
        None,
        Some(json!({"number": "900", "lines": [{"id": 5}]})),
    )
    .await;
    let (_, feed, _) = call(
        reqwest::Method::GET,
        format!("{}/orders/status?number=900", h.base_url()),
        None,
        None,
    )
    .await;
    assert_eq!(feed["results"][0]["orderitems"][0]["id"], 5);
    assert_eq!(feed["results"][0]["orderitems"][0]["status"], "450");
    let r = client()
        .delete(format!("{}/__sim/status_rows", h.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(h.state().await.status_rows.is_empty());
    let bad = client()
        .post(format!("{}/__sim/status_rows", h.base_url()))
        .json(&json!([{"orderitems": []}]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a row needs `order`");
}
