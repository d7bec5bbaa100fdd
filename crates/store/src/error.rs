//! The one error type of the store.

use crate::ledger::LedgerPhase;

/// Everything a [`crate::Store`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one this crate can open.
    #[error("database URL {url:?}: {problem}")]
    BadUrl {
        /// The URL as given (with any password removed).
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The database driver failed (connection, I/O, constraint, lock timeout, ...).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database file could not be prepared for opening (created, locked for migrations).
    #[error("cannot open the database: {0}")]
    Open(String),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The write transaction a call was part of could not begin or commit (disk full, I/O
    /// error, the store was closed). Nothing of the call was written.
    #[error("write transaction failed, nothing was written: {0}")]
    WriteFailed(String),
    /// The execution does not exist (never created, or pruned by retention).
    #[error("execution {0} not found")]
    ExecutionNotFound(String),
    /// The execution is no longer running, so it cannot be finished or interrupted again.
    #[error("execution {id} is {state}, not running")]
    ExecutionNotRunning {
        /// The execution id.
        id: String,
        /// Its current state (`finished` or `interrupted`).
        state: String,
    },
    /// A ledger transition was refused because the entry is not in a phase that allows it.
    /// This is the exactly-once guard: e.g. recording an intent for a record that is in doubt
    /// or whose write the target already accepted.
    #[error(
        "ledger entry for flow {flow_id:?} record {record_key:?}: cannot {action} while it is {phase} (attempt {attempt})"
    )]
    LedgerConflict {
        /// Flow id of the entry.
        flow_id: String,
        /// Record key of the entry.
        record_key: String,
        /// What was attempted (`record an intent`, `record a result`, ...).
        action: &'static str,
        /// The phase the entry is in (`none` when there is no entry).
        phase: LedgerPhaseName,
        /// The entry's current attempt number (0 when there is no entry).
        attempt: u32,
    },
    /// A value read back from the database does not fit the model (e.g. an unknown enum name,
    /// a negative count). Means the database was edited by hand or by a newer version.
    #[error("corrupt value in {table}.{column}: {problem}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Column name.
        column: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A value passed in is not one the store accepts: an empty or over-long outcome label,
    /// a step name outside `[a-z0-9_.]`. Refused before anything is written, rather than
    /// stored as something that could not be read back or counted.
    #[error("{field} {value:?}: {problem}")]
    InvalidValue {
        /// The field (`row_logs.outcome`, `counts.outcomes`, `row_logs.step`).
        field: &'static str,
        /// The value given (its first characters, when it is long).
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value passed in is larger than the store's hard limit for it (a row log's replay
    /// payload above [`crate::MAX_ROW_LOG_PAYLOAD_BYTES`]). Nothing was written.
    #[error("{field} is {bytes} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The field (`row_logs.payload`).
        field: &'static str,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A number passed in does not fit the database (counts above `i64::MAX`).
    #[error("{field}: value {value} is out of range")]
    OutOfRange {
        /// The field name.
        field: &'static str,
        /// The value given.
        value: u64,
    },
}

/// A ledger phase, or `none` when the record has no entry, for [`StoreError::LedgerConflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerPhaseName {
    /// The record has no ledger entry.
    None,
    /// The entry's phase.
    Phase(LedgerPhase),
}

impl std::fmt::Display for LedgerPhaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerPhaseName::None => f.write_str("none"),
            LedgerPhaseName::Phase(p) => f.write_str(p.as_str()),
        }
    }
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;
