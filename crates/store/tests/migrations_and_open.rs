#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Opening stores: URLs, migrations on a fresh and an existing database, SQLite settings.

mod common;

use std::str::FromStr;

use omnibridge_store::{
    Backend, Counts, ExecutionQuery, ExecutionStatus, LedgerPhase, NewRowLog, RowLogQuery,
    RowStatus, Step, Store, StoreError, StoreOptions, WriteResult, open,
};
use sqlx::Connection;

#[tokio::test]
async fn a_fresh_file_is_created_and_migrated_and_reopening_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.db");
    assert!(!path.exists());
    let url = format!("sqlite://{}", path.display());
    let store = open(&url, StoreOptions::default()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists());
    let id = store
        .create_execution(common::new_execution("orders", "node-a"))
        .await
        .unwrap()
        .id;
    store.set_flow_state("orders", "k", "v").await.unwrap();
    drop(store);

    // Opening the existing file again applies nothing new and keeps the data.
    for _ in 0..2 {
        let store = open(&url, StoreOptions::default()).await.unwrap();
        assert!(store.get_execution(&id).await.unwrap().is_some());
        assert_eq!(
            store
                .get_flow_state("orders", "k")
                .await
                .unwrap()
                .as_deref(),
            Some("v")
        );
    }
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, vec![(1, true), (2, true)]);
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        tables,
        vec![
            "execution_outcomes",
            "executions",
            "flow_state",
            "leases",
            "ledger",
            "ledger_steps",
            "row_logs"
        ]
    );
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = omnibridge_store::SqliteStore::open(&url, StoreOptions::default())
        .await
        .unwrap();
    // The journal mode is a property of the file: any new connection sees it.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // Foreign keys are enforced through the store: a row log's execution must exist (the
    // store checks it first), and deleting an execution takes its row logs (ON DELETE CASCADE).
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .foreign_keys(true);
    let mut fk = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let err = sqlx::query(
        "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, attributes, \
         created_at) VALUES ('missing', 'f', 'k', 'success', 'done', '{}', 0)",
    )
    .execute(&mut fk)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    store.close().await;
    let after = store.get_flow_state("f", "k").await.unwrap_err();
    assert!(matches!(after, StoreError::Database(_)), "{after}");
    let write = store.set_flow_state("f", "k", "v").await.unwrap_err();
    assert!(matches!(write, StoreError::WriteFailed(_)), "{write}");
    assert!(write.to_string().contains("nothing was written"), "{write}");
}

#[tokio::test]
async fn in_memory_databases_are_private_to_their_store() {
    let a = open("sqlite::memory:", StoreOptions::default())
        .await
        .unwrap();
    let b = open("sqlite::memory:", StoreOptions::default())
        .await
        .unwrap();
    a.set_flow_state("f", "k", "a").await.unwrap();
    assert_eq!(b.get_flow_state("f", "k").await.unwrap(), None);
    assert_eq!(
        a.get_flow_state("f", "k").await.unwrap().as_deref(),
        Some("a")
    );
}

#[tokio::test]
async fn unknown_urls_are_refused_without_echoing_a_password() {
    let err = open("mysql://user:s3cret@db/omni", StoreOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::BadUrl { .. }));
    assert!(message.contains("expected sqlite://"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn a_missing_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("no/such/dir/s.db").display());
    let err = open(&url, StoreOptions::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Open(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("no/such/dir/s.db") && text.contains("No such file"),
        "{text}"
    );
}

#[tokio::test]
#[cfg_attr(skip_postgres, ignore = "PostgreSQL skipped: OMNIBRIDGE_SKIP_POSTGRES")]
async fn postgres_is_migrated_once_into_its_own_schema() {
    let Some(f) = common::Fixture::new(common::Kind::Postgres).await else {
        return;
    };
    let store = f.open().await;
    assert_eq!(store.backend(), Backend::Postgres);
    store.set_flow_state("orders", "k", "v").await.unwrap();
    drop(store);
    // Several nodes starting at once: the migration runs once, the data stays.
    let stores = futures::future::join_all((0..3).map(|_| f.open())).await;
    for store in &stores {
        assert_eq!(
            store
                .get_flow_state("orders", "k")
                .await
                .unwrap()
                .as_deref(),
            Some("v")
        );
    }
    let mut conn = sqlx::PgConnection::connect(&f.url).await.unwrap();
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(applied, vec![1, 2]);
}

/// Rows as version 0001 of the schema wrote them (the Order Flow's vocabulary): one finished
/// run with sent / already-in-ERP / failed / skipped records, one run with nothing sent, and
/// ledger entries with an ERP result, Omnitron steps and the old resolution names. Portable
/// SQL: the same statements on both databases.
const OLD_ROWS: &[&str] = &[
    "INSERT INTO executions (id, flow_id, flow_name, trigger_kind, owner, state, status, \
     count_read, count_sent, count_already_in_erp, count_failed, count_in_doubt, count_skipped, \
     started_at, finished_at, duration_ms) VALUES ('e1', 'orders', 'Order Flow', 'scheduled', \
     'node-a', 'finished', 'partial', 6, 3, 1, 1, 0, 1, 1000, 2000, 1)",
    "INSERT INTO executions (id, flow_id, flow_name, trigger_kind, owner, state, status, \
     count_read, count_sent, count_already_in_erp, count_failed, count_in_doubt, count_skipped, \
     started_at, finished_at, duration_ms) VALUES ('e2', 'orders', 'Order Flow', 'scheduled', \
     'node-a', 'finished', 'failed', 2, 0, 0, 1, 1, 0, 3000, 4000, 1)",
    "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, attributes, \
     request_text, request_bytes, request_truncated, created_at) VALUES \
     ('e1', 'orders', 'o-sent', 'success', 'done', '{}', '{\"number\":1}', 12, FALSE, 1100)",
    "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, attributes, \
     created_at) VALUES ('e1', 'orders', 'o-found', 'already_in_erp', 'write_omnitron', '{}', 1200)",
    "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, error, attributes, \
     created_at) VALUES ('e1', 'orders', 'o-failed', 'failed', 'write_erp', 'ERP said 500', \
     '{\"log.erp\":\"x\"}', 1300)",
    "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, attributes, \
     created_at) VALUES ('e1', 'orders', 'o-skipped', 'skipped', 'read', '{}', 1400)",
    "INSERT INTO row_logs (execution_id, flow_id, record_key, status, step, attributes, \
     created_at) VALUES ('e2', 'orders', 'o-doubt', 'in_doubt', 'write_erp', '{}', 3100)",
    "INSERT INTO ledger (flow_id, record_key, record_id, phase, attempt, execution_id, intent_at, \
     request_hash, result_at, erp_status, erp_accepted, erp_reference, erp_error, response_text, \
     response_bytes, response_truncated, completed_at, created_at, updated_at) VALUES \
     ('orders', 'o-sent', '1', 'accepted', 1, 'e1', 1050, 'h1', 1060, 201, TRUE, 'ERP-1', NULL, \
     '{\"id\":\"ERP-1\"}', 14, FALSE, NULL, 1050, 1070)",
    "INSERT INTO ledger_steps (flow_id, record_key, attempt, step, done_at) VALUES \
     ('orders', 'o-sent', 1, 'order_mapping', 1065)",
    "INSERT INTO ledger_steps (flow_id, record_key, attempt, step, done_at) VALUES \
     ('orders', 'o-sent', 1, 'is_send', 1066)",
    "INSERT INTO ledger (flow_id, record_key, phase, attempt, execution_id, result_at, erp_status, \
     erp_accepted, erp_reference, resolution, resolved_at, created_at, updated_at) VALUES \
     ('orders', 'o-found', 'accepted', 0, 'e1', 1150, 200, TRUE, 'ERP-2', 'found_in_erp', 1150, \
     1150, 1150)",
    "INSERT INTO ledger (flow_id, record_key, phase, attempt, execution_id, intent_at, \
     request_hash, resolution, resolved_at, created_at, updated_at) VALUES \
     ('orders', 'o-released', 'released', 1, 'e1', 1250, 'h3', 'not_in_erp', 1260, 1250, 1260)",
    "INSERT INTO ledger (flow_id, record_key, phase, attempt, execution_id, intent_at, \
     request_hash, result_at, erp_status, erp_accepted, erp_error, resolution, resolved_by, \
     resolution_note, resolved_at, created_at, updated_at) VALUES ('orders', 'o-failed', \
     'released', 1, 'e1', 1300, 'h4', 1310, 500, FALSE, 'ERP said 500', 'resend', 'ayse', \
     'retry', 1320, 1300, 1320)",
];

/// A database at schema 0001 with old rows, then opened by the store: 0002 must carry every
/// row over in the new vocabulary, and the store must go on working on it.
async fn upgrade_from_0001(f: &common::Fixture, migrations: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(migrations);
    // The crate's own migrations, applied only up to 0001: exactly what an older build left.
    let old = sqlx::migrate::Migrator::new(dir).await.unwrap();
    match common::RawConn::connect(&f.url).await {
        common::RawConn::Sqlite(mut conn) => old.run_to(1, &mut conn).await.unwrap(),
        common::RawConn::Postgres(mut conn) => old.run_to(1, &mut conn).await.unwrap(),
    }
    let mut raw = common::RawConn::connect(&f.url).await;
    for statement in OLD_ROWS {
        raw.execute(statement).await;
    }

    let store = f.open().await;

    // Executions: succeeded = sent + already in the ERP; the two became outcome counters.
    let e1 = store.get_execution("e1").await.unwrap().unwrap();
    assert_eq!(
        e1.counts,
        Counts {
            read: 6,
            succeeded: 4,
            failed: 1,
            in_doubt: 0,
            skipped: 1,
            outcomes: [("already_in_erp".to_string(), 1), ("sent".to_string(), 3)].into(),
        }
    );
    assert_eq!(
        e1.status,
        ExecutionStatus::Partial,
        "stored statuses are kept"
    );
    let e2 = store.get_execution("e2").await.unwrap().unwrap();
    assert_eq!(
        e2.counts,
        Counts {
            in_doubt: 1,
            ..common::counts(2, 0, 1)
        }
    );
    assert!(e2.counts.outcomes.is_empty(), "no zero counters are made");
    let listed = store
        .list_executions(&ExecutionQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert_eq!(listed.items[1].counts, e1.counts);

    // Row logs: already_in_erp became a success with that outcome; successes were sent.
    let logs = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some("e1".into()),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = logs
        .items
        .iter()
        .map(|l| {
            (
                l.record_key.as_str(),
                l.status,
                l.step.as_str(),
                l.outcome.as_deref(),
                l.has_payload,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("o-skipped", RowStatus::Skipped, "read", None, false),
            ("o-failed", RowStatus::Failed, "write_erp", None, false),
            (
                "o-found",
                RowStatus::Success,
                "write_omnitron",
                Some("already_in_erp"),
                false
            ),
            ("o-sent", RowStatus::Success, "done", Some("sent"), false),
        ]
    );
    assert_eq!(logs.items[1].error.as_deref(), Some("ERP said 500"));
    assert_eq!(
        logs.items[3].request.as_ref().unwrap().text,
        r#"{"number":1}"#
    );
    assert_eq!(store.row_log_payload(logs.items[3].id).await.unwrap(), None);

    // Ledger: the ERP result columns are the write's result; resolutions are renamed.
    let sent = store
        .get_ledger_entry("orders", "o-sent")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.phase, LedgerPhase::Accepted);
    let result = sent.result.clone().unwrap();
    assert_eq!(
        (
            result.status_code,
            result.accepted,
            result.reference.as_deref()
        ),
        (Some(201), true, Some("ERP-1"))
    );
    assert_eq!(result.response.unwrap().text, r#"{"id":"ERP-1"}"#);
    assert_eq!(sent.steps, vec!["order_mapping", "is_send"]);
    let found = store
        .get_ledger_entry("orders", "o-found")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.resolution.unwrap().kind, "already_written");
    assert_eq!(found.result.unwrap().reference.as_deref(), Some("ERP-2"));
    let released = store
        .get_ledger_entry("orders", "o-released")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(released.resolution.unwrap().kind, "not_written");
    let resent = store
        .get_ledger_entry("orders", "o-failed")
        .await
        .unwrap()
        .unwrap();
    let result = resent.result.unwrap();
    assert_eq!(
        (result.status_code, result.accepted, result.error.as_deref()),
        (Some(500), false, Some("ERP said 500"))
    );
    let resolution = resent.resolution.unwrap();
    assert_eq!(
        (resolution.kind.as_str(), resolution.by.as_deref()),
        ("resend", Some("ayse"))
    );

    // The old columns are gone.
    for gone in [
        "SELECT count_sent FROM executions",
        "SELECT count_already_in_erp FROM executions",
        "SELECT erp_reference FROM ledger",
    ] {
        assert!(raw.try_execute(gone).await.is_err(), "{gone}");
    }

    // And the upgraded database works on: the old entries go on where they stopped.
    store
        .record_step("orders", "o-sent", 1, "is_send")
        .await
        .unwrap();
    let done = store.mark_completed("orders", "o-sent", 1).await.unwrap();
    assert_eq!(done.phase, LedgerPhase::Completed);
    store
        .record_intent(
            "orders",
            "o-released",
            omnibridge_store::NewIntent {
                execution_id: "e1".into(),
                record_id: None,
                request_hash: "h5".into(),
            },
        )
        .await
        .unwrap();
    store
        .record_result(
            "orders",
            "o-released",
            2,
            WriteResult {
                status_code: 201,
                accepted: true,
                reference: Some("ERP-5".into()),
                response: None,
                error: None,
            },
        )
        .await
        .unwrap();
    let totals = store
        .increment_counts(
            "e1",
            Counts {
                succeeded: 1,
                outcomes: [("sent".to_string(), 1)].into(),
                ..Counts::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((totals.succeeded, totals.outcome("sent")), (5, 4));
    let appended = store
        .append_row_log(NewRowLog {
            execution_id: "e2".into(),
            record_key: "o-new".into(),
            record_id: None,
            status: RowStatus::Success,
            step: Step::new("done"),
            outcome: Some("sent".into()),
            error: None,
            attributes: serde_json::Map::new(),
            request: None,
            response: None,
            payload: Some("{}".into()),
        })
        .await
        .unwrap();
    assert!(appended.has_payload);
    drop(store);

    // Opening again applies nothing and changes nothing.
    let store = f.open().await;
    assert_eq!(
        store
            .get_execution("e1")
            .await
            .unwrap()
            .unwrap()
            .counts
            .outcome("sent"),
        4
    );
    let versions = raw
        .scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .await;
    assert_eq!(versions, 2);
}

#[tokio::test]
async fn an_sqlite_database_from_0001_is_upgraded_without_losing_data() {
    let f = common::Fixture::new(common::Kind::SqliteFile)
        .await
        .unwrap();
    upgrade_from_0001(&f, "migrations/sqlite").await;
}

#[tokio::test]
#[cfg_attr(skip_postgres, ignore = "PostgreSQL skipped: OMNIBRIDGE_SKIP_POSTGRES")]
async fn a_postgres_database_from_0001_is_upgraded_without_losing_data() {
    let Some(f) = common::Fixture::new(common::Kind::Postgres).await else {
        return;
    };
    upgrade_from_0001(&f, "migrations/postgres").await;
}

/// Two runs started at once on a fresh database used to race the migrations ("table
/// executions already exists", "database is locked"): opening migrates under a lock, so every
/// opener waits for the first and finds the schema ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_opened_at_once_on_a_fresh_sqlite_file_all_open() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { open(&url, StoreOptions::default()).await })
            })
            .collect();
        for (i, opened) in futures::future::join_all(opens)
            .await
            .into_iter()
            .enumerate()
        {
            let store = opened
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}, opener {i}: {e}"));
            store
                .create_execution(common::new_execution("orders", "node-a"))
                .await
                .unwrap();
        }
    }
}
