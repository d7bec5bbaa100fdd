#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Opening stores: URLs, migrations on a fresh and an existing database, SQLite settings.

mod common;

use std::str::FromStr;

use omnibridge_store::{Backend, Store, StoreError, StoreOptions, open};
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
    assert_eq!(applied, vec![(1, true)]);
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
    assert!(matches!(err, StoreError::Database(_)), "{err}");
}

#[tokio::test]
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
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, vec![1]);
}
