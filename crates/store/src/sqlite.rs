//! The SQLite backend: embedded, single node, the default.
//!
//! Writes go through a pool of exactly one connection, so writers queue in-process in FIFO
//! order instead of spinning on SQLite's busy handler; reads use a separate pool and, in WAL
//! mode, never wait for writers. Transactions that read before they write start with
//! `BEGIN IMMEDIATE` so another process's writer cannot invalidate what they read.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

use crate::clock::{from_micros, to_micros};
use crate::error::{LedgerPhaseName, StoreError, StoreResult};
use crate::execution::{
    Counts, Execution, ExecutionId, ExecutionQuery, ExecutionState, ExecutionStatus,
    FinishExecution, NewExecution, Trigger,
};
use crate::lease::{Lease, LeaseOutcome};
use crate::ledger::{
    ErpResult, LedgerEntry, LedgerPhase, LedgerQuery, LedgerResolution, LedgerResult, NewIntent,
    Resolution,
};
use crate::redact::{Redactor, StoredBody};
use crate::retention::{PruneReport, RetentionPolicy};
use crate::row_log::{NewRowLog, RowLog, RowLogQuery, RowStatus, Step};
use crate::sql_impl::sql_store_impl;
use crate::store::{Backend, Page, SqliteDurability, Store, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite statements are written with `?` placeholders already.
macro_rules! sql {
    ($s:expr) => {
        $s
    };
}

/// SQLite holds the database write lock for the whole `BEGIN IMMEDIATE` transaction.
macro_rules! for_update {
    () => {
        ""
    };
}

fn dyn_sql(s: String) -> String {
    s
}

/// A [`Store`] on an SQLite database file (or in memory).
#[derive(Debug)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    options: StoreOptions,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` — `sqlite://path/to/file.db`,
    /// `sqlite:path`, or `sqlite::memory:` — and applies the embedded migrations.
    ///
    /// Settings: WAL journal, foreign keys on, the configured busy timeout and durability
    /// (`synchronous=FULL` by default, so an intent is on disk before the ERP write leaves).
    pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: url.to_string(),
            problem: e.to_string(),
        })?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let connect = connect
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.sqlite_durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            });
        let connect = if in_memory {
            connect
        } else {
            connect.journal_mode(SqliteJournalMode::Wal)
        };
        // The one writer; for an in-memory database it is also the only reader, since the
        // data lives as long as this connection and no other connection could see it unlocked.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>)
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .connect_with(connect)
                .await?
        };
        tracing::debug!(url, in_memory, "opened SQLite store");
        Ok(SqliteStore {
            write,
            read,
            options,
        })
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}

sql_store_impl!(SqliteStore, Sqlite, Backend::Sqlite);
