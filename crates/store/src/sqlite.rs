//! The SQLite backend: embedded, single node, the default.
//!
//! Writes go to one writer task that owns the only write connection and **group-commits**:
//! it takes every write queued while the previous commit was on disk, runs each in its own
//! savepoint (a failing call rolls back only itself) inside one `BEGIN IMMEDIATE` transaction,
//! commits once, and only then answers each caller. With `synchronous=FULL` every answered
//! write is on disk, and 16 concurrent record tasks share one fsync instead of queueing for 16.
//! Reads use a separate pool and, in WAL mode, never wait for writers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

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
use crate::store::{
    Backend, Completed, Completion, FinishedRecord, Page, SqliteDurability, Store, StoreOptions,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite statements are written with `?` placeholders already.
macro_rules! sql {
    ($s:expr) => {
        $s
    };
}

/// The writer holds the database write lock for the whole `BEGIN IMMEDIATE` batch.
macro_rules! for_update {
    () => {
        ""
    };
}

fn dyn_sql(s: String) -> String {
    s
}

/// Most writes committed together in one transaction.
const MAX_BATCH: usize = 256;

/// Hands a write's result to its caller once the batch's commit outcome (an error message, or
/// `None` for committed) is known.
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

/// A queued write. Given the writer's connection (or `None` when the batch could not start), it
/// runs in a savepoint and gives the connection back, with its [`Deliver`] and whether the
/// batch is still sound (false if a savepoint could not be rolled back).
type WriterJob = Box<
    dyn FnOnce(
            Option<PoolConnection<Sqlite>>,
        ) -> BoxFut<'static, (Option<PoolConnection<Sqlite>>, Deliver, bool)>
        + Send,
>;

/// A [`Store`] on an SQLite database file (or in memory).
#[derive(Debug)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    writer: mpsc::Sender<WriterJob>,
    options: StoreOptions,
}

/// Runs one job inside a savepoint of the batch transaction. Returns its result and whether
/// the batch transaction is still sound.
async fn run_in_savepoint<T, F>(conn: &mut SqliteConnection, job: F) -> (StoreResult<T>, bool)
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFut<'c, StoreResult<T>> + Send,
{
    if let Err(e) = sqlx::query("SAVEPOINT write_job").execute(&mut *conn).await {
        return (Err(e.into()), true);
    }
    let result = job(&mut *conn).await;
    if result.is_err()
        && let Err(e) = sqlx::query("ROLLBACK TO write_job")
            .execute(&mut *conn)
            .await
    {
        return (Err(e.into()), false);
    }
    match sqlx::query("RELEASE write_job").execute(&mut *conn).await {
        Ok(_) => (result, true),
        Err(e) => (Err(e.into()), false),
    }
}

/// Tells every job of a batch that could not start why.
async fn fail_all(batch: Vec<WriterJob>, why: &str) {
    for job in batch {
        let (_, deliver, _) = job(None).await;
        deliver(Some(why));
    }
}

/// The writer task: one batch per loop, one commit per batch.
async fn run_writer(pool: SqlitePool, mut jobs: mpsc::Receiver<WriterJob>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                fail_all(batch, &e.to_string()).await;
                continue;
            }
        };
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            fail_all(batch, &e.to_string()).await;
            continue;
        }
        let mut delivers = Vec::with_capacity(batch.len());
        let mut sound = true;
        let mut held = Some(conn);
        for job in batch {
            let (back, deliver, ok) = job(held.take()).await;
            held = back;
            sound &= ok;
            delivers.push(deliver);
        }
        let outcome = match held.as_mut() {
            None => Err("the write connection was lost".to_string()),
            Some(_) if !sound => Err("a savepoint could not be rolled back".to_string()),
            Some(conn) => sqlx::query("COMMIT")
                .execute(&mut **conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        if outcome.is_err()
            && let Some(conn) = held.as_mut()
            && sqlx::query("ROLLBACK").execute(&mut **conn).await.is_err()
        {
            // A connection in an unknown transaction state must not serve the next batch.
            if let Some(mut conn) = held.take() {
                conn.close_on_drop();
            }
        }
        drop(held);
        let failure = outcome.err();
        for deliver in delivers {
            deliver(failure.as_deref());
        }
    }
}

/// Creates the database file if it is missing and takes an exclusive lock on it, waiting
/// for another process (or store) that holds it. The lock lasts as long as the file handle.
async fn lock_for_migrations(path: std::path::PathBuf) -> StoreResult<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .and_then(|file| file.lock().map(|()| file));
        file.map_err(|e| {
            StoreError::Open(format!(
                "cannot lock {} to apply migrations: {e}",
                path.display()
            ))
        })
    })
    .await
    .map_err(|e| StoreError::Open(format!("the migration lock task failed: {e}")))?
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` — `sqlite://path/to/file.db`,
    /// `sqlite:path`, or `sqlite::memory:` — and applies the embedded migrations.
    ///
    /// Settings: WAL journal, foreign keys on, the configured busy timeout and durability
    /// (`synchronous=FULL` by default, so an intent is on disk before the write it announces
    /// leaves).
    ///
    /// Must be called inside a Tokio runtime: the writer task is spawned on it and lives until
    /// the store is dropped or closed, so use the store from that runtime.
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
        let connect = match options.sqlite_max_pages {
            Some(pages) => connect.pragma("max_page_count", pages.to_string()),
            None => connect,
        };
        // Openers of one fresh file would otherwise race each other's migrations ("table
        // executions already exists", "database is locked"): the first to lock the file
        // migrates, the others wait for it and find the schema current. flock() locks are
        // separate from SQLite's own fcntl() locks, so this does not get in SQLite's way.
        let _migrating = if in_memory {
            None
        } else {
            Some(lock_for_migrations(connect.get_filename().to_path_buf()).await?)
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
        drop(_migrating);
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run_writer(write.clone(), jobs));
        tracing::debug!(url, in_memory, "opened SQLite store");
        Ok(SqliteStore {
            write,
            read,
            writer,
            options,
        })
    }

    /// Queues `job` for the writer task and waits until its batch is committed.
    async fn write_tx<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFut<'c, StoreResult<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let queued: WriterJob = Box::new(move |conn| {
            Box::pin(async move {
                let (conn, result, sound) = match conn {
                    Some(mut conn) => {
                        let (result, sound) = run_in_savepoint(&mut conn, job).await;
                        (Some(conn), Some(result), sound)
                    }
                    None => (None, None, true),
                };
                let deliver: Deliver = Box::new(move |failure: Option<&str>| {
                    let out = match (failure, result) {
                        (Some(why), _) => Err(StoreError::WriteFailed(why.to_string())),
                        (None, Some(result)) => result,
                        (None, None) => {
                            Err(StoreError::WriteFailed("the write did not run".to_string()))
                        }
                    };
                    // The caller may have given up waiting; nothing to do then.
                    let _ = reply.send(out);
                });
                (conn, deliver, sound)
            })
        });
        let stopped = || StoreError::WriteFailed("the store's writer has stopped".to_string());
        self.writer.send(queued).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

sql_store_impl!(SqliteStore, Sqlite, Backend::Sqlite);
