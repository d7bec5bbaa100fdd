#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Cancellation plans and order transactions over HTTP: filters, lifecycle, approval, cancel,
//! transaction mappings.

mod common;

use common::{Api, omnitron};
use serde_json::json;

#[tokio::test]
async fn plans_cover_both_types_and_every_status_and_filter_like_the_cancel_flow() {
    let h = omnitron(60).await;
    let api = Api::login(&h).await;
    let (s, statuses) = api
        .get("/api/v1/cancellation_plans/cancellation_plan_statuses/")
        .await;
    assert_eq!(s, 200);
    assert_eq!(statuses.as_array().unwrap().len(), 6);
    let (_, all) = api.get("/api/v1/cancellation_plans/?limit=100").await;
    let plans = all["results"].as_array().unwrap();
    for st in [
        "waiting",
        "confirmation_waiting",
        "confirmed",
        "approved",
        "completed",
        "rejected",
    ] {
        for t in ["cancel", "refund"] {
            assert!(
                plans
                    .iter()
                    .any(|p| p["status"] == st && p["plan_type"] == t),
                "{t}/{st}"
            );
            let (_, f) = api
                .get(&format!(
                    "/api/v1/cancellation_plans/?status={st}&plan_type={t}&limit=100"
                ))
                .await;
            assert!(
                f["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["status"] == st && p["plan_type"] == t)
            );
        }
    }
    let p = &plans[0];
    for key in [
        "pk",
        "order_previous_status",
        "refund_amount",
        "cancellationplanorderitem_set",
        "reason",
        "order",
        "created_by",
        "payment_plan",
    ] {
        assert!(p.get(key).is_some(), "plan lacks {key}");
    }
    assert!(p["cancellationplanorderitem_set"][0]["order_item"]["pk"].is_u64());
    let ct = p["channel_type"].as_str().unwrap().to_string();
    let ch = p["channel"].as_u64().unwrap();
    let (_, f) = api
        .get(&format!(
            "/api/v1/cancellation_plans/?channel_type={ct}&channel_id__in={ch},999&limit=100"
        ))
        .await;
    assert!(
        f["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["channel"] == ch)
    );
    assert!(f["count"].as_u64().unwrap() >= 1);
    let (_, one) = api
        .get(&format!("/api/v1/cancellation_plans/{}/", p["pk"]))
        .await;
    assert_eq!(one["pk"], p["pk"]);
    let (_, by_order) = api
        .get(&format!(
            "/api/v1/cancellation_plans/?order={}",
            p["order"]["pk"]
        ))
        .await;
    assert!(by_order["count"].as_u64().unwrap() >= 1);
    assert_eq!(
        api.get("/api/v1/cancellation_plans/?modified_date__gt=2999-01-01T00:00:00Z")
            .await
            .1["count"],
        0
    );
}

#[tokio::test]
async fn update_status_follows_the_lifecycle_and_mirrors_to_items() {
    let h = omnitron(60).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let waiting = state
        .cancellation_plans
        .iter()
        .find(|p| p.status == "waiting")
        .unwrap();
    let path = format!("/api/v1/cancellation_plans/{}/update_status/", waiting.pk);
    let (s, p) = api
        .post(&path, json!({"status": "confirmation_waiting"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["status"], "confirmation_waiting");
    let order = h.state().await.order_by_pk(waiting.order).unwrap().clone();
    let item = order
        .items
        .iter()
        .find(|i| waiting.items.contains(&i.pk))
        .unwrap();
    assert_eq!(item.cancel_status.as_deref(), Some("confirmation_waiting"));
    assert_eq!(
        api.post(&path, json!({"status": "waiting"})).await,
        (
            400,
            json!({"non_field_errors": ["Cancellation plan status can not be changed from confirmation_waiting to waiting."], "code": "invalid"})
        )
    );
    assert_eq!(api.post(&path, json!({"status": "bogus"})).await.0, 400);
    assert_eq!(
        api.post(&path, json!({})).await,
        (400, json!({"status": ["This field is required."]}))
    );
    assert_eq!(api.post(&path, json!({"status": "completed"})).await.0, 200);
    assert_eq!(
        api.post(&path, json!({"status": "rejected"})).await.0,
        400,
        "completed is terminal"
    );
    let after = h.state().await;
    assert_eq!(after.plan(waiting.pk).unwrap().status, "completed");
    let done = after.order_by_pk(waiting.order).unwrap();
    for i in done.items.iter().filter(|i| waiting.items.contains(&i.pk)) {
        assert!(i.status == "100" || i.status == "600");
        assert!(!i.stock_reserved);
    }
    assert_eq!(
        api.post(
            "/api/v1/cancellation_plans/99999/update_status/",
            json!({"status": "approved"})
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn cancel_creates_a_waiting_plan_and_approval_cancels_the_items() {
    let h = omnitron(40).await;
    let api = Api::login(&h).await;
    let state = h.state().await;
    let o = state
        .orders
        .iter()
        .find(|o| o.status == "400" && o.cancel_status.is_none())
        .unwrap();
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{}/cancellation_approved_order/", o.pk),
            json!({})
        )
        .await
        .0,
        400,
        "no plan yet"
    );
    let (s, plan) = api
        .post(&format!("/api/i1/orders/{}/cancel/", o.pk), json!({}))
        .await;
    assert_eq!(s, 201, "{plan}");
    assert_eq!(plan["status"], "waiting");
    let st = h.state().await;
    let so = st.order(&o.number).unwrap();
    assert_eq!(so.status, "50");
    assert_eq!(so.cancel_status.as_deref(), Some("waiting"));
    let (s, e) = api
        .post(&format!("/api/v1/orders/{}/cancel/", o.pk), json!({}))
        .await;
    assert_eq!(s, 400);
    assert!(
        e["non_field_errors"][0]
            .as_str()
            .unwrap()
            .contains("more than one")
    );
    let (s, approved) = api
        .post(
            &format!("/api/v1/orders/{}/cancellation_approved_order/", o.pk),
            json!({"cancellation_plan": plan["pk"]}),
        )
        .await;
    assert_eq!(s, 200, "{approved}");
    let st = h.state().await;
    let so = st.order(&o.number).unwrap();
    assert_eq!(so.status, "100", "all items cancelled → order cancelled");
    assert!(
        so.items
            .iter()
            .all(|i| i.status == "100" && i.cancel_status.as_deref() == Some("approved"))
    );
    assert_eq!(
        st.plan(plan["pk"].as_u64().unwrap()).unwrap().status,
        "approved"
    );
}

#[tokio::test]
async fn refund_transactions_without_mapping_are_listed_until_mapped() {
    let h = omnitron(60).await;
    let api = Api::login(&h).await;
    let (s, list) = api
        .get("/api/v1/order_transactions/?transaction_type=refund&mapping__isnull=true&limit=100")
        .await;
    assert_eq!(s, 200);
    let rows = list["results"].as_array().unwrap();
    assert!(!rows.is_empty());
    let t = &rows[0];
    assert_eq!(t["transaction_type"], "refund");
    assert!(t["related_cancellation_plan"].is_u64());
    let (_, plan) = api
        .get(&format!(
            "/api/v1/cancellation_plans/{}/",
            t["related_cancellation_plan"]
        ))
        .await;
    assert_eq!(plan["plan_type"], "refund");
    let (s, m) = api
        .post(
            &format!("/api/v1/order_transactions/{}/create_mapping/", t["pk"]),
            json!({"code": "ERP-R1"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(m["code"], "ERP-R1");
    let (_, again) = api
        .get("/api/v1/order_transactions/?transaction_type=refund&mapping__isnull=true&limit=100")
        .await;
    assert!(
        !again["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["pk"] == t["pk"])
    );
    let (_, mapped) = api
        .get("/api/v1/order_transactions/?mapping__isnull=false&limit=100")
        .await;
    assert!(
        mapped["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["pk"] == t["pk"])
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/order_transactions/{}/create_mapping/", t["pk"]),
            json!({})
        )
        .await,
        (400, json!({"code": ["This field is required."]}))
    );
    let (_, one) = api
        .get(&format!("/api/v1/order_transactions/{}/", t["pk"]))
        .await;
    assert_eq!(one["mapping"].as_array().unwrap().len(), 1);
    let (_, ct) = api.get("/api/v1/content_types/").await;
    assert!(
        ct["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == 77 && c["model"] == "ordertransaction")
    );
    let st = h.state().await;
    assert!(
        st.order_transactions
            .iter()
            .any(|x| t["pk"] == x.pk && x.mappings.len() == 1)
    );
}
