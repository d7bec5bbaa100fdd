//! The PostgreSQL backend: many `omnibridge serve` nodes sharing one database.
//!
//! Same tables, columns and statements as SQLite (`sql_impl.rs`); placeholders are rewritten
//! from `?` to `$n` once per statement, and transactions that read before they write lock the
//! rows they read (`SELECT ... FOR UPDATE`). Pass a schema with
//! `postgres://...?options[search_path]=<schema>` to keep several stores in one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row};

use crate::clock::{from_micros, to_micros};
use crate::error::{LedgerPhaseName, StoreError, StoreResult};
use crate::execution::{
    Counts, Execution, ExecutionId, ExecutionQuery, ExecutionState, ExecutionStatus,
    FinishExecution, NewExecution, Trigger,
};
use crate::lease::{Lease, LeaseOutcome};
use crate::ledger::{
    LedgerEntry, LedgerPhase, LedgerQuery, LedgerResolution, LedgerResult, NewIntent, Resolution,
    WriteResult,
};
use crate::redact::{Redactor, StoredBody};
use crate::retention::{PruneReport, RetentionPolicy};
use crate::row_log::{
    MAX_NAME_CHARS, MAX_ROW_LOG_PAYLOAD_BYTES, NewRowLog, RowLog, RowLogQuery, RowStatus, Step,
};
use crate::sql_impl::{BoxFut, sql_store_impl};
use crate::store::{Backend, Completed, Completion, FinishedRecord, Page, Store, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Rewrites a `?`-placeholder statement to PostgreSQL's `$1, $2, ...` once, on first use.
macro_rules! sql {
    ($s:expr) => {{
        static REWRITTEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        AssertSqlSafe(REWRITTEN.get_or_init(|| numbered_placeholders($s)).as_str())
    }};
}

/// Locks the rows read, so the write that follows in the transaction sees them unchanged.
macro_rules! for_update {
    () => {
        " FOR UPDATE"
    };
}

fn dyn_sql(s: String) -> String {
    numbered_placeholders(&s)
}

/// `?` → `$n`, leaving quoted literals alone.
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut in_quote = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                out.push(c);
            }
            '?' if !in_quote => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    write: PgPool,
    read: PgPool,
    options: StoreOptions,
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?options[search_path]=s]`)
    /// and applies the embedded migrations (under an advisory lock, so nodes starting together
    /// migrate once).
    pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: omnibridge_http::redact_url(url),
            problem: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.busy_timeout.max(Duration::from_secs(1)))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        tracing::debug!(url = %omnibridge_http::redact_url(url), "opened PostgreSQL store");
        Ok(PgStore {
            write: pool.clone(),
            read: pool,
            options,
        })
    }

    /// Runs `job` in its own transaction: committed when it succeeds, rolled back otherwise.
    async fn write_tx<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFut<'c, StoreResult<T>> + Send + 'static,
    {
        let mut tx = self.write.begin().await?;
        let out = job(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}

sql_store_impl!(PgStore, Postgres, Backend::Postgres);

#[cfg(test)]
mod tests {
    use super::numbered_placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered_placeholders("SELECT '?' , ? FROM t WHERE a = ? AND b = 'x?y'"),
            "SELECT '?' , $1 FROM t WHERE a = $2 AND b = 'x?y'"
        );
    }
}
