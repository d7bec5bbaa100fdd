#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Flow state, leases and retention — on every backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, start};
use omnibridge_store::{
    FinishExecution, LeaseOutcome, LedgerPhase, NewIntent, NewRowLog, RetentionPolicy, RowLogQuery,
    RowStatus, Step, WriteResult,
};

on_every_backend!(
    flow_state_gets_sets_and_lists_per_flow,
    compare_and_set_only_changes_the_expected_value,
    concurrent_compare_and_set_has_one_winner,
    a_lease_is_exclusive_until_it_expires,
    a_heartbeat_keeps_the_lease_and_a_lost_lease_is_reported,
    release_frees_the_lease_only_for_its_owner,
    many_contenders_get_one_lease,
    retention_deletes_old_executions_with_their_row_logs,
    retention_caps_executions_per_flow_and_keeps_running_ones_and_the_ledger,
);

async fn flow_state_gets_sets_and_lists_per_flow(f: Fixture) {
    let store = f.open().await;
    assert_eq!(
        store
            .get_flow_state("status", "last.request")
            .await
            .unwrap(),
        None
    );
    store
        .set_flow_state("status", "last.request", "2026-03-01T12:00:00.000000Z")
        .await
        .unwrap();
    store
        .set_flow_state("status", "last.request", "2026-03-01T12:05:00.000000Z")
        .await
        .unwrap();
    store
        .set_flow_state("status", "cursor", "42")
        .await
        .unwrap();
    store.set_flow_state("orders", "cursor", "7").await.unwrap();
    assert_eq!(
        store
            .get_flow_state("status", "last.request")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-03-01T12:05:00.000000Z")
    );
    assert_eq!(
        store.list_flow_state("status").await.unwrap(),
        vec![
            ("cursor".to_string(), "42".to_string()),
            (
                "last.request".to_string(),
                "2026-03-01T12:05:00.000000Z".to_string()
            ),
        ]
    );
    assert_eq!(
        store.list_flow_state("orders").await.unwrap(),
        vec![("cursor".to_string(), "7".to_string())]
    );
}

async fn compare_and_set_only_changes_the_expected_value(f: Fixture) {
    let store = f.open().await;
    let cas = |expected: Option<&'static str>, new: Option<&'static str>| {
        let store = Arc::clone(&store);
        async move {
            store
                .compare_and_set_flow_state("f", "k", expected, new)
                .await
                .unwrap()
        }
    };
    assert!(cas(None, None).await, "absent stays absent");
    assert!(!cas(Some("1"), Some("2")).await, "nothing to compare with");
    assert!(cas(None, Some("1")).await, "create when absent");
    assert!(!cas(None, Some("9")).await, "no create when present");
    assert!(!cas(None, None).await, "present is not absent");
    assert!(!cas(Some("0"), Some("2")).await, "wrong expected value");
    assert!(cas(Some("1"), Some("2")).await);
    assert_eq!(
        store.get_flow_state("f", "k").await.unwrap().as_deref(),
        Some("2")
    );
    assert!(!cas(Some("1"), None).await, "no delete with a stale value");
    assert!(cas(Some("2"), None).await, "delete");
    assert_eq!(store.get_flow_state("f", "k").await.unwrap(), None);
}

async fn concurrent_compare_and_set_has_one_winner(f: Fixture) {
    let store = f.open().await;
    store.set_flow_state("f", "cursor", "100").await.unwrap();
    let wins = futures::future::join_all((0..16).map(|i| {
        let store = Arc::clone(&store);
        async move {
            store
                .compare_and_set_flow_state(
                    "f",
                    "cursor",
                    Some("100"),
                    Some(&format!("{}", 200 + i)),
                )
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
}

async fn a_lease_is_exclusive_until_it_expires(f: Fixture) {
    let store = f.open().await;
    let ttl = Duration::from_secs(60);
    let first = store.acquire_lease("orders", "node-a", ttl).await.unwrap();
    let lease = first.acquired().unwrap().clone();
    assert_eq!(lease.owner, "node-a");
    assert_eq!(lease.generation, 1);
    assert_eq!(
        lease.expires_at,
        common::start_time() + chrono::Duration::seconds(60)
    );
    assert_eq!(
        first,
        LeaseOutcome::Acquired {
            lease: lease.clone(),
            stolen_from: None
        }
    );

    // Someone else waits while it is live.
    f.advance_secs(59);
    match store.acquire_lease("orders", "node-b", ttl).await.unwrap() {
        LeaseOutcome::Held { by } => assert_eq!(by.owner, "node-a"),
        other => panic!("expected Held, got {other:?}"),
    }
    // The holder re-acquiring renews it, same generation.
    let renewed = store.acquire_lease("orders", "node-a", ttl).await.unwrap();
    let renewed = renewed.acquired().unwrap();
    assert_eq!(renewed.generation, 1);
    assert_eq!(renewed.acquired_at, common::start_time());
    assert_eq!(
        renewed.expires_at,
        common::start_time() + chrono::Duration::seconds(119)
    );

    // Expired: taken over, generation + 1.
    f.advance_secs(61);
    match store.acquire_lease("orders", "node-b", ttl).await.unwrap() {
        LeaseOutcome::Acquired { lease, stolen_from } => {
            assert_eq!(stolen_from.as_deref(), Some("node-a"));
            assert_eq!(lease.owner, "node-b");
            assert_eq!(lease.generation, 2);
        }
        other => panic!("expected a takeover, got {other:?}"),
    }
    // Another key is independent.
    assert!(
        store
            .acquire_lease("status", "node-a", ttl)
            .await
            .unwrap()
            .acquired()
            .is_some()
    );
    assert_eq!(
        store.get_lease("orders").await.unwrap().unwrap().owner,
        "node-b"
    );
    assert_eq!(store.get_lease("nothing").await.unwrap(), None);
}

async fn a_heartbeat_keeps_the_lease_and_a_lost_lease_is_reported(f: Fixture) {
    let store = f.open().await;
    let ttl = Duration::from_secs(10);
    store.acquire_lease("orders", "node-a", ttl).await.unwrap();
    for _ in 0..5 {
        f.advance_secs(8);
        let lease = store
            .heartbeat_lease("orders", "node-a", ttl)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            lease.expires_at,
            lease.heartbeat_at + chrono::Duration::seconds(10)
        );
    }
    // 40 s later, still held thanks to the heartbeats.
    assert!(matches!(
        store.acquire_lease("orders", "node-b", ttl).await.unwrap(),
        LeaseOutcome::Held { .. }
    ));
    // A stranger cannot heartbeat it.
    assert_eq!(
        store
            .heartbeat_lease("orders", "node-b", ttl)
            .await
            .unwrap(),
        None
    );
    // The holder stalls past expiry: its heartbeat reports the loss, even before a takeover.
    f.advance_secs(11);
    assert_eq!(
        store
            .heartbeat_lease("orders", "node-a", ttl)
            .await
            .unwrap(),
        None
    );
    store.acquire_lease("orders", "node-b", ttl).await.unwrap();
    assert_eq!(
        store
            .heartbeat_lease("orders", "node-a", ttl)
            .await
            .unwrap(),
        None
    );
}

async fn release_frees_the_lease_only_for_its_owner(f: Fixture) {
    let store = f.open().await;
    let ttl = Duration::from_secs(60);
    store.acquire_lease("orders", "node-a", ttl).await.unwrap();
    assert!(!store.release_lease("orders", "node-b").await.unwrap());
    assert!(store.release_lease("orders", "node-a").await.unwrap());
    assert!(!store.release_lease("orders", "node-a").await.unwrap());
    match store.acquire_lease("orders", "node-b", ttl).await.unwrap() {
        LeaseOutcome::Acquired { stolen_from, .. } => assert_eq!(stolen_from, None),
        other => panic!("expected Acquired, got {other:?}"),
    }
}

async fn many_contenders_get_one_lease(f: Fixture) {
    let store = f.open().await;
    let outcomes = futures::future::join_all((0..16).map(|i| {
        let store = Arc::clone(&store);
        async move {
            store
                .acquire_lease("orders", &format!("node-{i}"), Duration::from_secs(30))
                .await
                .unwrap()
        }
    }))
    .await;
    let winners: Vec<_> = outcomes.iter().filter_map(|o| o.acquired()).collect();
    assert_eq!(winners.len(), 1);
    let holder = &winners[0].owner;
    for outcome in &outcomes {
        if let LeaseOutcome::Held { by } = outcome {
            assert_eq!(&by.owner, holder);
        }
    }
}

fn row(execution_id: &str, key: &str) -> NewRowLog {
    NewRowLog {
        execution_id: execution_id.to_string(),
        record_key: key.to_string(),
        record_id: None,
        status: RowStatus::Success,
        step: Step::new("done"),
        outcome: Some("sent".into()),
        error: None,
        attributes: serde_json::Map::new(),
        request: None,
        response: None,
        payload: Some("{}".into()),
    }
}

async fn retention_deletes_old_executions_with_their_row_logs(f: Fixture) {
    let store = f.open().await;
    // Ten days of daily runs with two row logs each.
    let mut ids = Vec::new();
    for day in 0..10 {
        let id = start(&store, "orders").await;
        store
            .append_row_log(row(&id, &format!("{day}-a")))
            .await
            .unwrap();
        store
            .append_row_log(row(&id, &format!("{day}-b")))
            .await
            .unwrap();
        store
            .finish_execution(&id, FinishExecution::default())
            .await
            .unwrap();
        ids.push(id);
        f.advance_secs(86_400);
    }
    // Now is day 10. Keep 7 days: days 0, 1 and 2 started more than 7 days ago.
    let report = store
        .prune(&RetentionPolicy {
            max_age: Some(chrono::Duration::days(7)),
            max_executions_per_flow: None,
        })
        .await
        .unwrap();
    assert_eq!(report.executions, ids[0..3].to_vec());
    assert_eq!(report.row_logs_deleted, 6);
    for id in &ids[0..3] {
        assert_eq!(store.get_execution(id).await.unwrap(), None);
    }
    assert!(store.get_execution(&ids[3]).await.unwrap().is_some());
    assert_eq!(
        store
            .list_row_logs(&RowLogQuery::default())
            .await
            .unwrap()
            .total,
        14
    );
    // Nothing more to prune.
    let again = store
        .prune(&RetentionPolicy {
            max_age: Some(chrono::Duration::days(7)),
            max_executions_per_flow: None,
        })
        .await
        .unwrap();
    assert!(again.executions.is_empty());
}

async fn retention_caps_executions_per_flow_and_keeps_running_ones_and_the_ledger(f: Fixture) {
    let store = f.open().await;
    let mut orders = Vec::new();
    for i in 0..5 {
        let id = start(&store, "orders").await;
        store
            .append_row_log(row(&id, &format!("o{i}")))
            .await
            .unwrap();
        if i > 0 {
            store
                .finish_execution(&id, FinishExecution::default())
                .await
                .unwrap();
        }
        orders.push(id);
        f.advance_secs(60);
    }
    let mut status = Vec::new();
    for _ in 0..2 {
        let id = start(&store, "status").await;
        store
            .finish_execution(&id, FinishExecution::default())
            .await
            .unwrap();
        status.push(id);
        f.advance_secs(60);
    }
    // The oldest orders run is still running and wrote a ledger entry.
    store
        .record_intent(
            "orders",
            "1001",
            NewIntent {
                execution_id: orders[0].clone(),
                record_id: None,
                request_hash: "h".into(),
            },
        )
        .await
        .unwrap();
    store
        .record_result(
            "orders",
            "1001",
            1,
            WriteResult {
                status_code: 200,
                accepted: true,
                reference: None,
                response: None,
                error: None,
            },
        )
        .await
        .unwrap();

    let report = store
        .prune(&RetentionPolicy {
            max_age: None,
            max_executions_per_flow: Some(2),
        })
        .await
        .unwrap();
    // orders keeps its newest two; of the older three, the running one stays.
    assert_eq!(
        report.executions,
        vec![orders[1].clone(), orders[2].clone()]
    );
    assert_eq!(report.row_logs_deleted, 2);
    assert!(store.get_execution(&orders[0]).await.unwrap().is_some());
    for id in status.iter().chain(&orders[3..]) {
        assert!(store.get_execution(id).await.unwrap().is_some());
    }
    // The ledger survives retention.
    assert_eq!(
        store
            .get_ledger_entry("orders", "1001")
            .await
            .unwrap()
            .unwrap()
            .phase,
        LedgerPhase::Accepted
    );
}
