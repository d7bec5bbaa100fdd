#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Throughput of the operations the engine performs per record:
//! - a row log append with 2 KiB request and response bodies (redacted on the way in) and the
//!   same body as its replay payload (kept whole);
//! - one ledger cycle: intent, result, one follow-up step, completed (4 commits);
//!
//! on SQLite with `synchronous=FULL` (the default) and `NORMAL`, sequentially and from 16
//! concurrent tasks, and on PostgreSQL when one is reachable
//! (`OMNIBRIDGE_TEST_POSTGRES_URL`, default the local server).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use omnibridge_store::{
    NewExecution, NewIntent, NewRowLog, RowStatus, SqliteDurability, Step, Store, StoreOptions,
    Trigger, WriteResult, request_hash,
};
use serde_json::json;
use tokio::runtime::Runtime;

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

fn body() -> String {
    let lines: Vec<_> = (0..12)
        .map(|i| json!({"sku": format!("SKU-{i:05}"), "qty": i, "price": "129.90", "name": "Cotton shirt, blue"}))
        .collect();
    json!({"number": "1001", "customer": {"email": "a@b.c", "password": "x"}, "lines": lines})
        .to_string()
}

async fn one_cycle(store: &Arc<dyn Store>, exec: &str) {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed).to_string();
    let e = store
        .record_intent(
            "orders",
            &key,
            NewIntent {
                execution_id: exec.to_string(),
                record_id: Some(key.clone()),
                request_hash: request_hash(key.as_bytes()),
            },
        )
        .await
        .unwrap();
    store
        .record_result(
            "orders",
            &key,
            e.attempt,
            WriteResult {
                status_code: 201,
                accepted: true,
                reference: Some(key.clone()),
                response: Some(r#"{"ok":true}"#.into()),
                error: None,
            },
        )
        .await
        .unwrap();
    store
        .record_step("orders", &key, e.attempt, "is_send")
        .await
        .unwrap();
    store
        .mark_completed("orders", &key, e.attempt)
        .await
        .unwrap();
}

async fn one_row_log(store: &Arc<dyn Store>, exec: &str, body: &str) {
    store
        .append_row_log(NewRowLog {
            execution_id: exec.to_string(),
            record_key: "1001".into(),
            record_id: Some("1".into()),
            status: RowStatus::Success,
            step: Step::new("done"),
            outcome: Some("sent".into()),
            error: None,
            attributes: serde_json::Map::new(),
            request: Some(body.to_string()),
            response: Some(body.to_string()),
            payload: Some(body.to_string()),
        })
        .await
        .unwrap();
}

/// Runs `iters` operations spread over `tasks` tasks and returns the wall time.
fn concurrent(
    rt: &Runtime,
    store: &Arc<dyn Store>,
    exec: &str,
    iters: u64,
    tasks: u64,
    cycle: bool,
) -> Duration {
    let body = Arc::new(body());
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let store = Arc::clone(store);
                let exec = exec.to_string();
                let body = Arc::clone(&body);
                let n = iters / tasks + u64::from(t < iters % tasks);
                tokio::spawn(async move {
                    for _ in 0..n {
                        if cycle {
                            one_cycle(&store, &exec).await;
                        } else {
                            one_row_log(&store, &exec, &body).await;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        start.elapsed()
    })
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, label: &str, store: Arc<dyn Store>) {
    let exec = rt.block_on(async {
        store
            .create_execution(NewExecution {
                flow_id: "orders".into(),
                flow_name: "Orders".into(),
                trigger: Trigger::Scheduled,
                owner: "bench".into(),
            })
            .await
            .unwrap()
            .id
    });
    let body = body();
    let mut group = c.benchmark_group(label);
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("row_log_append_2KiB_bodies", |b| {
        b.iter(|| rt.block_on(one_row_log(&store, &exec, &body)))
    });
    group.bench_function("ledger_cycle_4_commits", |b| {
        b.iter(|| rt.block_on(one_cycle(&store, &exec)))
    });
    group.bench_function("row_log_append_16_tasks", |b| {
        b.iter_custom(|iters| concurrent(rt, &store, &exec, iters, 16, false))
    });
    group.bench_function("ledger_cycle_16_tasks", |b| {
        b.iter_custom(|iters| concurrent(rt, &store, &exec, iters, 16, true))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (label, durability) in [
        ("sqlite_full", SqliteDurability::Full),
        ("sqlite_normal", SqliteDurability::Normal),
    ] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{label}.db")).display()
        );
        let options = StoreOptions {
            sqlite_durability: durability,
            ..StoreOptions::default()
        };
        let store = rt.block_on(omnibridge_store::open(&url, options)).unwrap();
        bench_backend(c, &rt, label, store);
    }
    let pg = std::env::var("OMNIBRIDGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("ob_bench_{}", std::process::id());
    let pg_store = rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&pg).await.ok()?;
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
            .ok()?;
        let url = format!("{pg}?options[search_path]={schema}");
        let options = StoreOptions {
            max_connections: 16,
            ..StoreOptions::default()
        };
        omnibridge_store::open(&url, options).await.ok()
    });
    match pg_store {
        Some(store) => {
            bench_backend(c, &rt, "postgres", store.clone());
            rt.block_on(async {
                store.close().await;
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg).await {
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&mut conn)
                        .await;
                }
            });
        }
        None => eprintln!("PostgreSQL not reachable at {pg}: PostgreSQL figures skipped"),
    }
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
