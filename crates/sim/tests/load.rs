#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Both simulators stay up and answer correctly under 1,000 concurrent requests, including
//! malformed ones.

mod common;

use common::{Api, omnitron};
use futures::future::join_all;
use omnibridge_sim::erp::AuthMode;
use omnibridge_sim::{ErpConfig, ErpSim};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_get_proper_answers() {
    let h = omnitron(50).await;
    let erp = ErpSim::start(ErpConfig::default().auth_mode(AuthMode::None))
        .await
        .unwrap();
    let api = Api::login(&h).await;
    let pks: Vec<u64> = h.state().await.orders.iter().map(|o| o.pk).collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let tasks = (0..1000).map(|i| {
        let http = http.clone();
        let token = api.token.clone();
        let base = h.base_url();
        let erp_base = erp.base_url();
        let pk = pks[i % pks.len()];
        tokio::spawn(async move {
            let auth = format!("Token {token}");
            let (req, expected) = match i % 8 {
                0 => (
                    http.get(format!(
                        "{base}/api/v1/orders_integration/?limit=25&is_send=false"
                    ))
                    .header("Authorization", &auth),
                    200,
                ),
                1 => (
                    http.get(format!(
                        "{base}/api/v1/orders_integration/{pk}/detailed_integration/"
                    ))
                    .header("Authorization", &auth),
                    200,
                ),
                2 => (
                    http.patch(format!("{base}/api/v1/orders/{pk}/"))
                        .header("Authorization", &auth)
                        .header("content-type", "application/json")
                        .body("{broken"),
                    400,
                ),
                3 => (http.get(format!("{base}/api/v1/orders/{pk}/")), 401),
                4 => (
                    http.delete(format!("{base}/api/v1/order_items/bulk_status_update/"))
                        .header("Authorization", &auth),
                    405,
                ),
                5 => (
                    http.get(format!("{base}/api/v1/orders/?page=999"))
                        .header("Authorization", &auth),
                    404,
                ),
                6 => (
                    http.post(format!("{erp_base}/orders"))
                        .json(&json!({"number": format!("L{i}")})),
                    201,
                ),
                _ => (
                    http.get(format!("{erp_base}/orders/query?number=L{}", i - 1)),
                    200,
                ),
            };
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), expected, "request {i}");
            resp.bytes().await.unwrap();
        })
    });
    for r in join_all(tasks).await {
        r.unwrap();
    }
    assert_eq!(api.get("/api/v1/orders/").await.0, 200, "still up");
    assert_eq!(erp.state().await.orders.len(), 125);
    assert!(erp.state().await.orders.iter().all(|o| o.creates == 1));
    assert!(
        h.journal(omnibridge_sim::JournalQuery::default())
            .await
            .len()
            >= 750
    );
}
