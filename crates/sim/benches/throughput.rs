#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Simulator throughput: requests/s for the Omnitron order list and detail routes (the routes
//! the Order Flow hammers), one request at a time and 32 in flight, so flow benchmarks can show
//! the simulator is not their bottleneck. Criterion's "thrpt" line is requests per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use omnibridge_sim::{OmnitronConfig, OmnitronSim};
use serde_json::Value;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (h, token, pks) = rt.block_on(async {
        let h = OmnitronSim::start(OmnitronConfig::default().orders(200).seed(7))
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let key: Value = http
            .post(format!("{}/api/v1/auth/login/", h.base_url()))
            .json(&serde_json::json!({"username": h.username(), "password": h.password()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pks: Vec<u64> = h.state().await.orders.iter().map(|o| o.pk).collect();
        (h, key["key"].as_str().unwrap().to_string(), pks)
    });
    let http = reqwest::Client::new();
    let auth = format!("Token {token}");
    let list = format!(
        "{}/api/v1/orders_integration/?is_send=false&sort=id&limit=25&status=400&status=450&status=500&status=510&status=540&status=550&id__gt=0",
        h.base_url()
    );
    let detail = |i: usize| {
        format!(
            "{}/api/v1/orders_integration/{}/detailed_integration/",
            h.base_url(),
            pks[i % pks.len()]
        )
    };

    let get = |url: String| {
        let http = http.clone();
        let auth = auth.clone();
        async move {
            let r = http
                .get(url)
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().len()
        }
    };

    let mut g = c.benchmark_group("omnitron");
    g.throughput(Throughput::Elements(1));
    g.bench_function("order_list_seek_page_25", |b| {
        b.iter(|| rt.block_on(get(list.clone())))
    });
    let mut i = 0;
    g.bench_function("order_detail", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(get(detail(i)))
        })
    });
    const IN_FLIGHT: usize = 32;
    g.throughput(Throughput::Elements(IN_FLIGHT as u64));
    g.bench_function("order_list_32_in_flight", |b| {
        b.iter(|| {
            rt.block_on(futures::future::join_all(
                (0..IN_FLIGHT).map(|_| get(list.clone())),
            ))
        })
    });
    g.bench_function("order_detail_32_in_flight", |b| {
        b.iter(|| {
            rt.block_on(futures::future::join_all(
                (0..IN_FLIGHT).map(|k| get(detail(k))),
            ))
        })
    });
    g.finish();
    rt.block_on(h.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
