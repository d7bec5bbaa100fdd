//! Test fixtures: the same scenarios run on an SQLite file, SQLite in memory and PostgreSQL.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use omnibridge_store::{
    Counts, ExecutionId, ManualClock, NewExecution, SecretValues, Store, StoreOptions, Trigger,
};

/// Where a fixture's database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// The PostgreSQL server the tests use: `OMNIBRIDGE_TEST_POSTGRES_URL`, or the local one.
pub fn postgres_base_url() -> String {
    std::env::var("OMNIBRIDGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Drops a PostgreSQL schema when the fixture goes away, on its own runtime (Drop cannot
/// await on the test's).
struct PgSchemaGuard {
    base_url: String,
    schema: String,
}

impl Drop for PgSchemaGuard {
    fn drop(&mut self) {
        let base_url = self.base_url.clone();
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&base_url).await {
                    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// One isolated database plus a manual clock and the shared secret set.
pub struct Fixture {
    pub kind: Kind,
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub secrets: SecretValues,
    pub row_log_body_cap: usize,
    pub ledger_body_cap: usize,
    memory: Option<Arc<dyn Store>>,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgSchemaGuard>,
}

pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

impl Fixture {
    /// A fresh fixture, or `None` when PostgreSQL is asked for and not reachable.
    pub async fn new(kind: Kind) -> Option<Fixture> {
        let clock = Arc::new(ManualClock::new(start_time()));
        let secrets = SecretValues::new();
        let mut fixture = Fixture {
            kind,
            url: String::new(),
            clock,
            secrets,
            row_log_body_cap: 1024,
            ledger_body_cap: 4096,
            memory: None,
            _dir: None,
            _pg: None,
        };
        match kind {
            Kind::SqliteFile => {
                let dir = tempfile::tempdir().unwrap();
                fixture.url = format!("sqlite://{}", dir.path().join("store.db").display());
                fixture._dir = Some(dir);
            }
            Kind::SqliteMemory => {
                fixture.url = "sqlite::memory:".to_string();
                let store = omnibridge_store::open(&fixture.url, fixture.options())
                    .await
                    .unwrap();
                fixture.memory = Some(store);
            }
            Kind::Postgres => {
                use sqlx::Connection;
                let base = postgres_base_url();
                // PostgreSQL is part of the suite: `scripts/test` starts it. Skipping is an
                // explicit choice made when building (OMNIBRIDGE_SKIP_POSTGRES=1 marks these
                // tests ignored, see build.rs), never a silent pass.
                let mut conn = match sqlx::PgConnection::connect(&base).await {
                    Ok(conn) => conn,
                    Err(e) => panic!(
                        "PostgreSQL is not reachable at {base} ({e}); run `bash scripts/ensure-tools` \
                         (or set OMNIBRIDGE_TEST_POSTGRES_URL, or build the tests with \
                         OMNIBRIDGE_SKIP_POSTGRES=1 to mark them skipped)"
                    ),
                };
                let schema = format!("ob_test_{}", uuid::Uuid::new_v4().simple());
                let create = format!("CREATE SCHEMA \"{schema}\"");
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                fixture.url = format!("{base}{sep}options[search_path]={schema}");
                fixture._pg = Some(PgSchemaGuard {
                    base_url: base,
                    schema,
                });
            }
        }
        Some(fixture)
    }

    pub fn options(&self) -> StoreOptions {
        let mut options = StoreOptions {
            clock: self.clock.clone(),
            row_log_body_cap: self.row_log_body_cap,
            ledger_body_cap: self.ledger_body_cap,
            ..StoreOptions::default()
        };
        options.redactor = omnibridge_store::Redactor::new(self.secrets.clone());
        options
    }

    /// Opens the store (a new instance on the same database each call, except in memory).
    pub async fn open(&self) -> Arc<dyn Store> {
        if let Some(store) = &self.memory {
            return store.clone();
        }
        omnibridge_store::open(&self.url, self.options())
            .await
            .unwrap()
    }

    /// True when [`Fixture::open`] reaches the same data through a new connection pool.
    pub fn reopens(&self) -> bool {
        self.memory.is_none()
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

pub fn new_execution(flow_id: &str, owner: &str) -> NewExecution {
    NewExecution {
        flow_id: flow_id.to_string(),
        flow_name: format!("{flow_id} name"),
        trigger: Trigger::Scheduled,
        owner: owner.to_string(),
    }
}

pub async fn start(store: &Arc<dyn Store>, flow_id: &str) -> ExecutionId {
    store
        .create_execution(new_execution(flow_id, "node-a"))
        .await
        .unwrap()
        .id
}

pub fn counts(read: u64, succeeded: u64, failed: u64) -> Counts {
    Counts {
        read,
        succeeded,
        failed,
        ..Counts::default()
    }
}

/// Outcome counters from `(label, count)` pairs.
pub fn outcomes(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A plain connection to a fixture's database, beside the store: to set up data the store
/// would not write (an old schema's rows, a corrupt value) and to look at what it stored.
pub enum RawConn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl RawConn {
    /// Connects to `url` (an SQLite file or a PostgreSQL URL; not `sqlite::memory:`).
    pub async fn connect(url: &str) -> RawConn {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            use std::str::FromStr;
            // The store creates the file; a database set up before the store must do it too.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true);
            RawConn::Sqlite(
                sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap(),
            )
        } else {
            RawConn::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    /// Runs one statement (written to run unchanged on both databases).
    pub async fn try_execute(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        Ok(match self {
            RawConn::Sqlite(conn) => sqlx::query(sql).execute(conn).await?.rows_affected(),
            RawConn::Postgres(conn) => sqlx::query(sql).execute(conn).await?.rows_affected(),
        })
    }

    pub async fn execute(&mut self, sql: &str) -> u64 {
        match self.try_execute(sql).await {
            Ok(n) => n,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    /// A query returning one 64-bit integer.
    pub async fn scalar(&mut self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            RawConn::Sqlite(conn) => sqlx::query_scalar(sql).fetch_one(conn).await.unwrap(),
            RawConn::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await.unwrap(),
        }
    }
}

/// Runs each named scenario `async fn(Fixture)` on every backend.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = $crate::common::Fixture::new($crate::common::Kind::SqliteFile).await.unwrap();
                    super::$name(f).await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let f = $crate::common::Fixture::new($crate::common::Kind::SqliteMemory).await.unwrap();
                    super::$name(f).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(skip_postgres, ignore = "PostgreSQL skipped: OMNIBRIDGE_SKIP_POSTGRES")]
                async fn $name() {
                    if let Some(f) = $crate::common::Fixture::new($crate::common::Kind::Postgres).await {
                        super::$name(f).await;
                    }
                }
            )*
        }
    };
}
