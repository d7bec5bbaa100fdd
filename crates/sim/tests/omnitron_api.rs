#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Omnitron simulator's REST API driven over HTTP: auth, pagination, filters, reads,
//! writes and DRF error shapes.

mod common;

use chrono::Duration;
use common::{Api, client, omnitron};
use omnibridge_sim::JournalQuery;
use omnibridge_sim::omnitron::{AuthPolicy, LoginOverride};
use serde_json::{Value, json};

#[tokio::test]
async fn login_gives_a_token_and_bad_logins_get_drf_errors() {
    let h = omnitron(3).await;
    let http = client();
    for prefix in ["/api/v1", "/api/i1"] {
        for slash in ["/", ""] {
            let r = http
                .post(format!("{}{prefix}/auth/login{slash}", h.base_url()))
                .json(&json!({"username": h.username(), "password": h.password()}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let key = r.json::<Value>().await.unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(key.len(), 40);
            assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
    let r = http
        .post(format!("{}/api/v1/auth/login/", h.base_url()))
        .json(&json!({"username": h.username(), "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"non_field_errors": ["Unable to log in with provided credentials."], "code": "authorization"})
    );
    let r = http
        .post(format!("{}/api/v1/auth/login/", h.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"username": ["This field is required."], "password": ["This field is required."]})
    );
    let r = http
        .get(format!("{}/api/v1/auth/login/", h.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Method \"GET\" not allowed."})
    );
    let r = http
        .post(format!("{}/api/v1/auth/login/", h.base_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );
    let r = http
        .post(format!("{}/api/v1/auth/login/", h.base_url()))
        .form(&[("username", h.username()), ("password", h.password())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "DRF also accepts form logins");
}

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let h = omnitron(3).await;
    let http = client();
    let url = format!("{}/api/v1/orders_integration/", h.base_url());
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Token");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
    );
    let r = http
        .get(&url)
        .header("Authorization", "Token nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Invalid token.", "code": "authentication_failed"})
    );
    let r = http
        .get(&url)
        .header("Authorization", "Token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Invalid token header. No credentials provided."
    );
    let api = Api::login(&h).await;
    let r = http
        .get(&url)
        .header("Authorization", format!("token {}", api.token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the keyword is case-insensitive, as in DRF"
    );
}

#[tokio::test]
async fn token_policy_knobs_expire_limit_revoke_and_fail_logins() {
    let h = omnitron(2).await;
    // max_uses
    h.set_auth_policy(AuthPolicy {
        max_uses: Some(2),
        ..Default::default()
    })
    .await;
    let api = Api::login(&h).await;
    assert_eq!(api.get("/api/v1/orders/").await.0, 200);
    assert_eq!(api.get("/api/v1/orders/").await.0, 200);
    assert_eq!(api.get("/api/v1/orders/").await.0, 401);
    // ttl against the simulated clock
    h.set_auth_policy(AuthPolicy {
        ttl_seconds: Some(60),
        ..Default::default()
    })
    .await;
    let api = Api::login(&h).await;
    assert_eq!(api.get("/api/v1/orders/").await.0, 200);
    h.clock(omnibridge_sim::ClockChange {
        advance_seconds: Some(61),
        ..Default::default()
    })
    .await;
    assert_eq!(api.get("/api/v1/orders/").await.0, 401);
    // revoke via the control plane
    h.set_auth_policy(AuthPolicy::default()).await;
    let api = Api::login(&h).await;
    let r = client()
        .post(format!("{}/__sim/auth/revoke", h.base_url()))
        .json(&json!({"token": api.token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"revoked": 1}));
    assert_eq!(api.get("/api/v1/orders/").await.0, 401);
    // login_fail_next, then a login works again
    h.login_fail_next(1).await;
    let bad = client()
        .post(format!("{}/api/v1/auth/login/", h.base_url()))
        .json(&json!({"username": h.username(), "password": h.password()}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let api = Api::login(&h).await;
    assert_eq!(api.get("/api/v1/orders/").await.0, 200);
    // login status override (HTML 502) and latency via the control plane
    let policy = AuthPolicy {
        login_latency_ms: 20,
        login_status_override: Some(LoginOverride {
            status: 502,
            body: None,
            html: Some("<html>Bad Gateway</html>".into()),
        }),
        ..Default::default()
    };
    let r = client()
        .post(format!("{}/__sim/auth", h.base_url()))
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!("{}/api/i1/auth/login/", h.base_url()))
        .json(&json!({"username": h.username(), "password": h.password()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(h.login_count().await >= 4);
    assert_eq!(
        h.revoke_all_tokens().await,
        1,
        "only the last login's token is still alive"
    );
}

#[tokio::test]
async fn order_flow_read_query_uses_seek_pagination_and_all_filters() {
    let h = omnitron(200).await;
    let api = Api::login(&h).await;
    let since = omnibridge_sim::iso(h.now() - Duration::days(21));
    let state = h.state().await;
    let expected: Vec<u64> = state
        .orders
        .iter()
        .filter(|o| !o.is_send)
        .filter(|o| ["400", "450", "500", "510", "540", "550"].contains(&o.status.as_str()))
        .filter(|o| o.modified_date > h.now() - Duration::days(21))
        .filter(|o| [1, 2].contains(&o.channel))
        .map(|o| o.pk)
        .collect();
    assert!(
        expected.len() > 25,
        "the data must need more than one seek page ({})",
        expected.len()
    );
    let excluded_by_window = state
        .orders
        .iter()
        .filter(|o| !o.is_send && o.modified_date <= h.now() - Duration::days(21))
        .count();
    assert!(excluded_by_window > 0, "the 3-week window must matter");
    let mut seen = Vec::new();
    let mut last = 0;
    loop {
        let path = format!(
            "/api/v1/orders_integration/?is_send=false&id__gt={last}&sort=id&limit=25&status=400&status=450&status=500&status=510&status=540&status=550&modified_date__gt={since}&channel__in=1,2"
        );
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let results = page["results"].as_array().unwrap();
        if results.is_empty() {
            break;
        }
        for o in results {
            assert!(o["customer"].is_u64(), "list rows are flat");
            assert!(o.get("orderitem_set").is_none());
            seen.push(o["pk"].as_u64().unwrap());
        }
        last = *seen.last().unwrap();
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn page_pagination_links_keep_the_query_and_bad_pages_are_404() {
    let h = omnitron(30).await;
    let api = Api::login(&h).await;
    let (s, p1) = api
        .get("/api/v1/orders_integration/?limit=10&sort=-id&is_send=False")
        .await;
    assert_eq!(s, 200);
    let count = p1["count"].as_u64().unwrap();
    assert!(count > 10);
    assert!(p1["previous"].is_null());
    let next = p1["next"].as_str().unwrap().to_string();
    assert_eq!(
        next,
        format!(
            "{}/api/v1/orders_integration/?limit=10&sort=-id&is_send=False&page=2",
            h.base_url()
        )
    );
    let (_, p2) = api.get(&next).await;
    assert_eq!(
        p2["previous"].as_str().unwrap(),
        format!(
            "{}/api/v1/orders_integration/?limit=10&sort=-id&is_send=False",
            h.base_url()
        )
    );
    let ids1: Vec<u64> = p1["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pk"].as_u64().unwrap())
        .collect();
    let ids2: Vec<u64> = p2["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pk"].as_u64().unwrap())
        .collect();
    assert!(
        ids1.windows(2).all(|w| w[0] > w[1]) && ids1.last() > ids2.first(),
        "sort=-id is descending across pages"
    );
    let pages = count.div_ceil(10);
    assert_eq!(
        api.get(&format!(
            "/api/v1/orders_integration/?limit=10&is_send=False&page={pages}"
        ))
        .await
        .1["next"],
        Value::Null
    );
    let (s, body) = api
        .get(&format!(
            "/api/v1/orders_integration/?limit=10&is_send=False&page={}",
            pages + 1
        ))
        .await;
    assert_eq!((s, body), (404, json!({"detail": "Invalid page."})));
    assert_eq!(api.get("/api/v1/orders_integration/?page=abc").await.0, 404);
    let (s, all) = api.get("/api/v1/orders/?limit=99999").await;
    assert_eq!(s, 200);
    assert_eq!(all["results"].as_array().unwrap().len(), 30);
    assert_eq!(
        api.get("/api/v1/orders/").await.1["results"]
            .as_array()
            .unwrap()
            .len(),
        10,
        "default limit is 10"
    );
}

#[tokio::test]
async fn filters_by_number_pk_status_in_dates_and_bad_values() {
    let h = omnitron(40).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let o = &state.orders[5];
    let (_, r) = api
        .get(&format!("/api/v1/orders_integration/?number={}", o.number))
        .await;
    assert_eq!(r["count"], 1);
    assert_eq!(r["results"][0]["pk"], o.pk);
    let (_, r) = api
        .get(&format!(
            "/api/v1/orders/?pk__in={},{}",
            state.orders[1].pk, state.orders[2].pk
        ))
        .await;
    assert_eq!(r["count"], 2);
    let n400 = state
        .orders
        .iter()
        .filter(|o| o.status == "400" || o.status == "450")
        .count();
    assert_eq!(
        api.get("/api/v1/orders/?status__in=400,450&limit=100")
            .await
            .1["count"],
        n400
    );
    let mid = state.orders[20].modified_date;
    let newer = state
        .orders
        .iter()
        .filter(|o| o.modified_date > mid)
        .count();
    let (_, r) = api
        .get(&format!(
            "/api/v1/orders/?modified_date__gt={}",
            omnibridge_sim::iso(mid).replace('Z', "")
        ))
        .await;
    assert_eq!(r["count"], newer, "naive datetimes are UTC");
    let older = state
        .orders
        .iter()
        .filter(|o| o.modified_date < mid)
        .count();
    assert_eq!(
        api.get(&format!(
            "/api/v1/orders/?modified_date__lt={}",
            omnibridge_sim::iso(mid)
        ))
        .await
        .1["count"],
        older
    );
    let (s, r) = api.get("/api/v1/orders/?modified_date__gt=yesterday").await;
    assert_eq!(
        (s, r),
        (
            400,
            json!({"modified_date__gt": ["Enter a valid date/time."]})
        )
    );
    let (s, r) = api.get("/api/v1/orders/?is_send=maybe").await;
    assert_eq!(s, 400);
    assert!(r["is_send"].is_array());
    assert_eq!(
        api.get("/api/v1/orders/?unknown_filter=1").await.0,
        200,
        "unknown filters are ignored"
    );
    let waiting = state
        .orders
        .iter()
        .filter(|o| o.cancel_status.as_deref() == Some("waiting"))
        .count();
    assert_eq!(
        api.get("/api/i1/orders/?cancel_status=waiting").await.1["count"],
        waiting
    );
}

#[tokio::test]
async fn detail_items_and_discounts_have_the_seed_004_shape() {
    let h = omnitron(20).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let canonical = omnibridge_sim::data::generator::canonical_order();
    for o in state.orders.iter().take(20) {
        let (s, d) = api
            .get(&format!(
                "/api/v1/orders_integration/{}/detailed_integration",
                o.pk
            ))
            .await;
        assert_eq!(s, 200);
        for key in canonical.as_object().unwrap().keys() {
            assert!(d.get(key).is_some(), "detailed order lacks {key}");
        }
        assert!(d["shipping_address"]["township"]["mapping"].is_array());
        assert!(d["shipping_address"]["district"]["zipcode"].is_string());
        let items = d["orderitem_set"].as_array().unwrap();
        assert!((1..=6).contains(&items.len()));
        let (_, list) = api
            .get(&format!(
                "/api/v1/order_items/?order_id={}&limit=99999",
                o.pk
            ))
            .await;
        assert_eq!(list["count"].as_u64().unwrap() as usize, items.len());
        for it in list["results"].as_array().unwrap() {
            let (s, detail) = api
                .get(&format!(
                    "/api/v1/order_items/{}/detailed_integration",
                    it["pk"]
                ))
                .await;
            assert_eq!(s, 200);
            assert!(detail["product"]["sku"].is_string());
            assert_eq!(detail["order"], o.pk);
        }
        let (_, discounts) = api
            .get(&format!(
                "/api/v1/discount_items/?order_id={}&limit=99999",
                o.pk
            ))
            .await;
        for disc in discounts["results"].as_array().unwrap() {
            let (s, dd) = api
                .get(&format!(
                    "/api/v1/discount_items/{}/detailed_integration/",
                    disc["pk"]
                ))
                .await;
            assert_eq!(s, 200);
            assert!(dd["promotion"]["name"].is_string());
            for b in dd["benefitapplicant_set"].as_array().unwrap() {
                assert!(
                    items.iter().any(|i| i["pk"] == b["order_item"]),
                    "benefit applicants point at the order's items"
                );
            }
        }
        assert_eq!(
            discounts["count"].as_u64().unwrap() as usize,
            d["discountitem_set"].as_array().unwrap().len()
        );
    }
    let first = &state.orders[0];
    let (_, by_number) = api
        .get(&format!(
            "/api/v1/orders_integration/detailed/?limit=1&number={}",
            first.number
        ))
        .await;
    assert_eq!(by_number["count"], 1);
    assert_eq!(
        by_number["results"][0]["orderitem_set"]
            .as_array()
            .unwrap()
            .len(),
        first.items.len()
    );
    assert_eq!(
        api.get("/api/v1/orders_integration/999999/detailed_integration/")
            .await,
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(api.get("/api/v1/order_items/abc/").await.0, 404);
    assert_eq!(
        api.get("/api/v1/no_such_route/").await,
        (404, json!({"detail": "Not found."}))
    );
}

#[tokio::test]
async fn fixtures_in_the_seed_004_shape_can_be_loaded_and_read_back() {
    let h = omnitron(0).await;
    let api = Api::login(&h).await;
    let r = client()
        .post(format!("{}/__sim/orders", h.base_url()))
        .json(&omnibridge_sim::data::generator::canonical_order())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"pks": [9876421]}));
    let (_, d) = api
        .get("/api/v1/orders_integration/9876421/detailed_integration/")
        .await;
    let canonical = omnibridge_sim::data::generator::canonical_order();
    assert_eq!(
        d["orderitem_set"][1]["benefitapplicant_set"],
        canonical["orderitem_set"][1]["benefitapplicant_set"]
    );
    assert_eq!(d["shipping_address"], canonical["shipping_address"]);
    let dup = client()
        .post(format!("{}/__sim/orders", h.base_url()))
        .json(&canonical)
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 400);
    assert!(
        dup.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
}

#[tokio::test]
async fn write_data_to_omnitron_marks_sent_and_maps_order_and_items() {
    let h = omnitron(10).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let o = state.orders.iter().find(|o| !o.is_send).unwrap();
    let item = &o.items[0];
    // item mapping: 201, then 200 for the same code; missing code 400
    let (s, m) = api
        .post(
            &format!("/api/v1/order_items/{}/create_mapping/", item.pk),
            json!({"update_stock": true, "code": "L-1"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(m["content_type"], 66);
    assert_eq!(m["object_id"], item.pk);
    assert_eq!(m["integration_type"], "external_company");
    assert_eq!(m["code"], "L-1");
    assert_eq!(
        api.post(
            &format!("/api/i1/order_items/{}/create_mapping", item.pk),
            json!({"code": "L-1"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/order_items/{}/create_mapping/", item.pk),
            json!({"update_stock": true})
        )
        .await,
        (400, json!({"code": ["This field is required."]}))
    );
    // item PATCH: extra_field merges, attributes validated, illegal transition refused
    let (s, it) = api
        .patch(
            &format!("/api/v1/order_items/{}/", item.pk),
            json!({"extra_field": {"erp": "x"}, "external_status": "SENT"}),
        )
        .await;
    assert_eq!(s, 200, "{it}");
    assert_eq!(it["extra_field"]["erp"], "x");
    assert!(
        it["extra_field"].get("price_extra_field").is_some(),
        "extra_field is merged"
    );
    let (s, e) = api
        .patch(
            &format!("/api/v1/order_items/{}/", item.pk),
            json!({"attributes": {"a": 1}}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["attributes"].is_array());
    // order mapping and is_send
    let (s, om) = api
        .post(
            &format!("/api/v1/orders/{}/create_mapping/", o.pk),
            json!({"code": o.number}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(om["object_id"], o.pk);
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{}/create_mapping/", o.pk),
            json!({"code": o.number})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.patch(
            &format!("/api/v1/orders/{}/", o.pk),
            json!({"is_send": "perhaps"})
        )
        .await,
        (400, json!({"is_send": ["Must be a valid boolean."]}))
    );
    let (s, body) = api
        .patch(
            &format!("/api/v1/orders/{}/", o.pk),
            json!({"is_send": true, "status": "600"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["is_send"], true);
    assert_eq!(body["status"], o.status, "only is_send is writable");
    assert_eq!(
        api.send(
            reqwest::Method::PUT,
            &format!("/api/v1/orders/{}/", o.pk),
            Some(json!({}))
        )
        .await,
        (405, json!({"detail": "Method \"PUT\" not allowed."}))
    );
    assert_eq!(
        api.send(
            reqwest::Method::DELETE,
            &format!("/api/v1/orders/{}/", o.pk),
            None
        )
        .await
        .0,
        405
    );
    // state shows it all
    let after = h.state().await;
    let so = after.order(&o.number).unwrap();
    assert!(so.is_send);
    assert_eq!(so.mappings.len(), 1);
    assert_eq!(so.items[0].mappings.len(), 1);
    assert!(!so.items[0].stock_reserved);
    assert!(so.modified_date > o.modified_date);
    let (_, list) = api
        .get(&format!(
            "/api/v1/orders_integration/?is_send=false&number={}",
            o.number
        ))
        .await;
    assert_eq!(list["count"], 0, "a sent order drops out of is_send=false");
    // journal has every request with bodies and answers
    let patches = h
        .journal(JournalQuery {
            method: Some("PATCH".into()),
            path: Some(format!("/orders/{}/", o.pk)),
            ..Default::default()
        })
        .await;
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[1].body, json!({"is_send": true, "status": "600"}));
    assert_eq!(patches[1].status, Some(200));
    assert_eq!(patches[1].response["is_send"], true);
    assert!(patches[1].headers["authorization"].starts_with("Token "));
    let over_http: Vec<Value> = client()
        .get(format!("{}/__sim/journal?method=PATCH", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http.len(), 4);
    let st: Value = client()
        .get(format!("{}/__sim/state", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let so = st["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["number"] == o.number.as_str())
        .unwrap();
    assert_eq!(so["is_send"], true);
    assert_eq!(so["items"][0]["mappings"][0]["code"], "L-1");
    assert!(so["items"][0]["status"].is_string());
}

#[tokio::test]
async fn bulk_status_update_validates_ids_statuses_and_transitions_atomically() {
    let h = omnitron(30).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let o = state
        .orders
        .iter()
        .find(|o| {
            o.status == "400" && o.items.len() >= 2 && o.items.iter().all(|i| i.status == "400")
        })
        .unwrap();
    let (a, b) = (o.items[0].pk, o.items[1].pk);
    let path = "/api/i1/order_items/bulk_status_update/";
    let (s, e) = api
        .patch(
            path,
            json!({"orderitem_set": [{"id": a, "status": "500"}, {"id": 99, "status": "500"}]}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        e,
        json!({"orderitem_set": [{}, {"id": ["Invalid pk \"99\" - object does not exist."]}]})
    );
    assert_eq!(
        h.state().await.order(&o.number).unwrap().items[0].status,
        "400",
        "all or nothing"
    );
    let (s, e) = api
        .patch(path, json!({"orderitem_set": [{"id": a, "status": "777"}]}))
        .await;
    assert_eq!(s, 400);
    assert!(e["orderitem_set"][0]["status"].is_array());
    let (s, e) = api.patch(path, json!({"orderitem_set": {"id": a}})).await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"orderitem_set": ["Expected a list of items but got type \"dict\"."]})
        )
    );
    let body = json!({"order": o.number, "orderitem_set": [
        {"id": a, "status": 500, "invoice_number": "INV1", "tracking_number": "T1", "shipping_company": "yurtici"},
        {"id": b, "status": "450"}]});
    let (s, r) = api.patch(path, body).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r.as_array().unwrap().len(), 2);
    assert_eq!(r[0]["status"], "500");
    assert_eq!(r[0]["invoice_number"], "INV1");
    let after = h.state().await;
    let so = after.order(&o.number).unwrap();
    assert_eq!(so.items[0].fields["tracking_number"], "T1");
    let min_live = so
        .items
        .iter()
        .filter(|i| i.status != "100")
        .map(|i| i.status.clone())
        .min()
        .unwrap();
    assert_eq!(so.status, min_live, "order status follows its lowest item");
    let (s, e) = api
        .patch(path, json!({"orderitem_set": [{"id": a, "status": "400"}]}))
        .await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"orderitem_set": [{"non_field_errors": ["Order item status can not be changed from 500 to 400."]}]})
        )
    );
    assert_eq!(api.post(path, json!({})).await.0, 405);
    // partial mode applies the valid rows
    client()
        .post(format!("{}/__sim/config", h.base_url()))
        .json(&json!({"bulk_partial": true}))
        .send()
        .await
        .unwrap();
    let (s, _) = api
        .patch(
            path,
            json!({"orderitem_set": [{"id": b, "status": "500"}, {"id": 99}]}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        h.state().await.order(&o.number).unwrap().items[1].status,
        "500"
    );
}

#[tokio::test]
async fn clock_control_moves_the_three_week_window() {
    let h = omnitron(40).await;
    let api = Api::login(&h).await;
    let frozen: Value = client()
        .post(format!("{}/__sim/clock", h.base_url()))
        .json(&json!({"freeze": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(frozen["frozen"], true);
    let before = count_since(&api, h.now() - Duration::days(21)).await;
    let v: Value = client()
        .post(format!("{}/__sim/clock", h.base_url()))
        .json(&json!({"advance_seconds": 7 * 86400}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["offset_seconds"], 7 * 86400);
    let after = count_since(&api, h.now() - Duration::days(21)).await;
    assert!(
        after < before,
        "a week later fewer orders are inside the window ({after} < {before})"
    );
    let c: Value = client()
        .get(format!("{}/__sim/clock", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["frozen"], true);
}

#[tokio::test]
async fn seed_and_reset_restore_known_data() {
    let h = omnitron(10).await;
    let api = Api::login(&h).await;
    let o = h.state().await.orders[0].clone();
    api.patch(
        &format!("/api/v1/orders/{}/", o.pk),
        json!({"is_send": !o.is_send}),
    )
    .await;
    let r: Value = client()
        .post(format!("{}/__sim/reset", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"reset": true}));
    assert_eq!(h.state().await.orders[0].is_send, o.is_send);
    assert!(h.journal(JournalQuery::default()).await.is_empty());
    assert_eq!(
        api.get("/api/v1/orders/").await.0,
        401,
        "reset revokes tokens"
    );
    let r: Value = client()
        .post(format!("{}/__sim/seed", h.base_url()))
        .json(&json!({"seed": 9, "orders": 25}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"seed": 9, "orders": 25}));
    let s = h.state().await;
    assert_eq!(s.orders.len(), 25);
    assert!(s.orders[0].number.starts_with("100009"));
}

async fn count_since(api: &Api, since: chrono::DateTime<chrono::Utc>) -> u64 {
    let path = format!(
        "/api/v1/orders/?modified_date__gt={}&limit=1",
        omnibridge_sim::iso(since)
    );
    api.get(&path).await.1["count"].as_u64().unwrap()
}

#[tokio::test]
async fn remaining_read_routes_and_control_routes_answer() {
    let h = omnitron(12).await;
    let api = Api::login(&h).await;
    let o = h.state().await.orders[0].clone();
    let (s, flat) = api
        .get(&format!("/api/v1/orders_integration/{}/", o.pk))
        .await;
    assert_eq!(s, 200);
    assert_eq!(flat["number"], o.number.as_str());
    assert!(flat["channel"].is_u64());
    let (s, item) = api
        .get(&format!("/api/i1/order_items/{}", o.items[0].pk))
        .await;
    assert_eq!(s, 200);
    assert!(
        item["product"].is_u64(),
        "list/retrieve shape has the product pk"
    );
    let d = h.order_json(o.pk).await.unwrap();
    if let Some(disc) = d["discountitem_set"].as_array().unwrap().first() {
        let (s, flat) = api
            .get(&format!("/api/v1/discount_items/{}/", disc["pk"]))
            .await;
        assert_eq!(s, 200);
        assert!(flat["promotion"].is_u64());
    }
    let c = client();
    let doc: Value = c
        .get(format!("{}/__sim/orders/{}", h.base_url(), o.pk))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, d);
    assert_eq!(
        c.get(format!("{}/__sim/orders/1", h.base_url()))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let auth: Value = c
        .get(format!("{}/__sim/auth", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(auth["username"], h.username());
    assert!(auth["logins"].as_u64().unwrap() >= 1);
    c.post(format!("{}/__sim/faults", h.base_url()))
        .json(&json!([{"action": {"kind": "hang"}, "path": "nothing-matches"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(h.faults().await.len(), 1);
    c.delete(format!("{}/__sim/faults", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(h.faults().await.is_empty());
    assert!(!h.journal(JournalQuery::default()).await.is_empty());
    let since = h.journal(JournalQuery::default()).await.last().unwrap().seq;
    api.get("/api/v1/orders/").await;
    let newer: Vec<Value> = c
        .get(format!("{}/__sim/journal?since={since}", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    c.delete(format!("{}/__sim/journal", h.base_url()))
        .send()
        .await
        .unwrap();
    assert!(h.journal(JournalQuery::default()).await.is_empty());
    let bad = c
        .post(format!("{}/__sim/clock", h.base_url()))
        .json(&json!({"advance_seconds": "soon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
