//! The [`Store`] trait: everything the engine persists, behind one object-safe interface.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::error::{StoreError, StoreResult};
use crate::execution::{
    Counts, Execution, ExecutionId, ExecutionQuery, FinishExecution, NewExecution,
};
use crate::lease::{Lease, LeaseOutcome};
use crate::ledger::{LedgerEntry, LedgerPhase, LedgerQuery, NewIntent, Resolution, WriteResult};
use crate::redact::{DEFAULT_LEDGER_BODY_CAP, DEFAULT_ROW_LOG_BODY_CAP, Redactor};
use crate::retention::{PruneReport, RetentionPolicy};
use crate::row_log::{NewRowLog, RowLog, RowLogQuery};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match the query in all (for "page 2 of 7").
    pub total: u64,
}

/// Which ledger entry a finished record completes ([`Store::finish_record`]): the flow, the
/// record's ledger key (which may differ from its row log's record key) and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion<'a> {
    /// The flow id of the ledger entry.
    pub flow_id: &'a str,
    /// The record's ledger key.
    pub record_key: &'a str,
    /// What is completed.
    pub how: Completed<'a>,
}

/// One finished record for [`Store::finish_records`]: its row log, its share of the counts, and
/// the ledger entry it completes.
#[derive(Debug, Clone)]
pub struct FinishedRecord<'a> {
    /// The row log.
    pub log: NewRowLog,
    /// What it adds to its execution's counts.
    pub delta: Counts,
    /// The ledger entry it completes, if any.
    pub completed: Option<Completion<'a>>,
}

/// How a ledger entry is completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed<'a> {
    /// The write of this attempt was accepted (and recorded so): `accepted` → `completed`.
    Accepted {
        /// The accepted attempt.
        attempt: u32,
    },
    /// An idempotent write (setting a status an item already has changes nothing), recorded
    /// only once the target accepted it: the entry is created `completed` with this result, or
    /// an open one (`intent`, `rejected`, `released`) is completed with it. Such a write needs
    /// no intent before it: if a crash hides whether it landed, sending it again is harmless;
    /// what the ledger must remember is that it is done, so it is never sent twice.
    Idempotent {
        /// The target's accepting answer.
        result: &'a WriteResult,
    },
}

/// The error for a completion that carries a refusal: only an accepted write completes a record.
pub(crate) fn refusing_result() -> StoreError {
    StoreError::InvalidValue {
        field: "completion.how.result",
        value: "accepted = false".to_string(),
        problem: "only an accepted write completes a record; record a refusal with record_result"
            .to_string(),
    }
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (single node).
    Sqlite,
    /// PostgreSQL (shared by many nodes).
    Postgres,
}

/// How hard SQLite works to keep a commit across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// `synchronous=FULL`: every commit is on disk before the call returns, so an intent is
    /// durable before the write it announces leaves, even across a power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash (SIGKILL) but the last commits may be
    /// lost on a power loss or OS crash. Faster.
    Normal,
}

/// How a store is set up. `StoreOptions::default()` is what production uses.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Redaction rules and the shared set of secret values to scrub.
    pub redactor: Redactor,
    /// Cap on each row log body, in bytes (default 64 KiB).
    pub row_log_body_cap: usize,
    /// Cap on the write's response kept in the ledger, in bytes (default 1 MiB).
    pub ledger_body_cap: usize,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// SQLite only: durability of commits.
    pub sqlite_durability: SqliteDurability,
    /// SQLite only: how long a write waits for another process's lock before failing.
    pub busy_timeout: Duration,
    /// Most connections to keep open for reads (and, on PostgreSQL, writes).
    pub max_connections: u32,
    /// SQLite only: the most pages the database file may grow to (`PRAGMA max_page_count`),
    /// or `None` for SQLite's own limit. A write that would grow past it fails as on a full
    /// disk ("database or disk is full"), which is how tests stand for one.
    pub sqlite_max_pages: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            redactor: Redactor::default(),
            row_log_body_cap: DEFAULT_ROW_LOG_BODY_CAP,
            ledger_body_cap: DEFAULT_LEDGER_BODY_CAP,
            clock: Arc::new(SystemClock),
            sqlite_durability: SqliteDurability::default(),
            busy_timeout: Duration::from_secs(30),
            max_connections: 4,
            sqlite_max_pages: None,
        }
    }
}

/// Everything the engine persists: executions, row logs, the per-record ledger, flow state,
/// leases and retention. Object-safe (`Arc<dyn Store>`), so the engine never knows which
/// database it talks to.
///
/// Conventions for every method:
/// - ids and keys are plain strings; execution ids are UUIDs made by the store;
/// - every timestamp comes from the store's [`Clock`] and is UTC;
/// - everything that may carry a secret (bodies, errors, outcomes, `log.*` attributes,
///   summaries) is redacted by the store's [`Redactor`] before it is written, and bodies are
///   capped with an explicit truncation marker — except a row log's replay payload, kept whole
///   for a replay and never listed;
/// - each method is atomic on its own, and safe to call from many tasks (and, on PostgreSQL,
///   many nodes) at once.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Closes the connections, waiting for in-flight calls (SQLite checkpoints its WAL).
    /// Calls made afterwards fail with a database error.
    async fn close(&self);

    /// The redactor applied to everything written; add secret values to
    /// `redactor().secrets()` as they become known (e.g. each new token).
    fn redactor(&self) -> &Redactor;

    // ---- executions ------------------------------------------------------------------------

    /// Starts an execution: state `running`, status `in_progress`, zero counts and no
    /// outcomes, `started_at` = now. Returns it with its new id.
    async fn create_execution(&self, new: NewExecution) -> StoreResult<Execution>;

    /// Adds `delta` to the execution's counts and outcome counters in one transaction (each
    /// counter is added to in the database, so the many record tasks calling this at once lose
    /// nothing) and returns the new totals. Allowed after the execution finished too (a late
    /// record), so counts are never lost. Fails with `ExecutionNotFound`, or `InvalidValue`
    /// for an empty or over-long outcome label.
    async fn increment_counts(&self, id: &str, delta: Counts) -> StoreResult<Counts>;

    /// Finishes a running execution: state `finished`, the given or derived status,
    /// `finished_at`, `duration_ms`, error (redacted) and summary (redacted). Fails with
    /// `ExecutionNotRunning` when it was already finished or interrupted.
    async fn finish_execution(&self, id: &str, finish: FinishExecution) -> StoreResult<Execution>;

    /// Marks one running execution `interrupted` (graceful shutdown, cancel), with a reason
    /// kept as its error and the status derived from its counts. Fails with
    /// `ExecutionNotRunning` when it is not running.
    async fn interrupt_execution(&self, id: &str, reason: &str) -> StoreResult<Execution>;

    /// Marks `interrupted` every running execution whose owner no longer holds a live lease
    /// named by the execution's flow id (its process died; its lease expired or was taken
    /// over). Call at start-up after acquiring the flow's lease, and from a reaper. Returns the
    /// ids marked.
    async fn interrupt_orphaned_executions(&self) -> StoreResult<Vec<ExecutionId>>;

    /// One execution, or `None` when it does not exist.
    async fn get_execution(&self, id: &str) -> StoreResult<Option<Execution>>;

    /// Executions matching `query`, newest first (by start time), with the total.
    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Page<Execution>>;

    // ---- row logs --------------------------------------------------------------------------

    /// Appends one row log (redacting bodies, error, outcome and attributes; capping bodies;
    /// keeping the replay payload whole) and returns it as stored. Fails with
    /// `ExecutionNotFound` for an unknown execution, `InvalidValue` for an invalid step or
    /// outcome, `TooLarge` for a payload above [`crate::MAX_ROW_LOG_PAYLOAD_BYTES`].
    async fn append_row_log(&self, log: NewRowLog) -> StoreResult<RowLog>;

    /// Everything that follows a finished record, as one write: when `completed` names a
    /// ledger entry, marks it `completed` (see [`Completed`]; an idempotent completion with a
    /// refusing result is an `InvalidValue`); appends the
    /// record's row log (like [`Store::append_row_log`]); adds `delta` to the execution's
    /// counts and outcome counters (like [`Store::increment_counts`]).
    ///
    /// A refused or failed completion does not stop the row log and counts: it is returned as
    /// `Ok(Some(error))`. `Err` means the row log or the counts were not written (e.g.
    /// `ExecutionNotFound`).
    async fn finish_record(
        &self,
        log: NewRowLog,
        delta: Counts,
        completed: Option<Completion<'_>>,
    ) -> StoreResult<Option<StoreError>> {
        let refused = match completed {
            Some(Completion {
                flow_id,
                record_key,
                how: Completed::Accepted { attempt },
            }) => self
                .mark_completed(flow_id, record_key, attempt)
                .await
                .err(),
            Some(Completion {
                flow_id,
                record_key,
                how: Completed::Idempotent { result },
            }) => {
                if !result.accepted {
                    return Err(refusing_result());
                }
                // Without an entry, or with a closed one, an intent opens it; then the result.
                let entry = match self.get_ledger_entry(flow_id, record_key).await? {
                    Some(entry) if entry.phase == LedgerPhase::Intent => Ok(entry),
                    _ => {
                        self.record_intent(
                            flow_id,
                            record_key,
                            NewIntent {
                                execution_id: log.execution_id.clone(),
                                record_id: log.record_id.clone(),
                                request_hash: String::new(),
                            },
                        )
                        .await
                    }
                };
                match entry {
                    Ok(entry) => match self
                        .record_result(flow_id, record_key, entry.attempt, result.clone())
                        .await
                    {
                        Ok(_) => self
                            .mark_completed(flow_id, record_key, entry.attempt)
                            .await
                            .err(),
                        Err(error) => Some(error),
                    },
                    Err(error) => Some(error),
                }
            }
            None => None,
        };
        let execution_id = log.execution_id.clone();
        self.append_row_log(log).await?;
        self.increment_counts(&execution_id, delta).await?;
        Ok(refused)
    }

    /// [`Store::finish_record`] for many records as one write (a batch of what the row-log
    /// writer has ready): one refusal (or `None`) per record, in order. `Err` means nothing of
    /// the batch was written.
    async fn finish_records(
        &self,
        records: Vec<FinishedRecord<'_>>,
    ) -> StoreResult<Vec<Option<StoreError>>> {
        let mut refusals = Vec::with_capacity(records.len());
        for record in records {
            refusals.push(
                self.finish_record(record.log, record.delta, record.completed)
                    .await?,
            );
        }
        Ok(refusals)
    }

    /// Row logs matching `query` (by execution, by flow + record key across executions, by
    /// status), newest first, with the total.
    async fn list_row_logs(&self, query: &RowLogQuery) -> StoreResult<Page<RowLog>>;

    /// The replay payload of row log `row_log_id`, whole, as it was given; `None` when the row
    /// log does not exist (never written, or pruned) or has no payload.
    async fn row_log_payload(&self, row_log_id: i64) -> StoreResult<Option<String>>;

    // ---- ledger ----------------------------------------------------------------------------

    /// The ledger entries of these record keys of one flow — the ones that exist, in no
    /// particular order — in one read (a page of records checked at once). Keys are read in
    /// chunks, so any number may be given.
    async fn get_ledger_entries(
        &self,
        flow_id: &str,
        record_keys: &[String],
    ) -> StoreResult<Vec<LedgerEntry>>;

    /// The record's ledger entry, or `None` when it was never attempted.
    async fn get_ledger_entry(
        &self,
        flow_id: &str,
        record_key: &str,
    ) -> StoreResult<Option<LedgerEntry>>;

    /// Records the intent to write the record to its target, just before the write. Allowed
    /// when there is no entry or it is `rejected`/`released`; the entry becomes `intent` with
    /// attempt + 1 (the previous attempt's result, steps and resolution are cleared). Any other
    /// phase fails with `LedgerConflict` — the record is in flight, in doubt, accepted or done,
    /// and must not be written. Exactly one of many concurrent callers succeeds.
    async fn record_intent(
        &self,
        flow_id: &str,
        record_key: &str,
        intent: NewIntent,
    ) -> StoreResult<LedgerEntry>;

    /// Records the target's answer to attempt `attempt`: `intent` → `accepted` (e.g. 2xx) or
    /// `rejected`. The response is redacted and capped at the ledger cap. `LedgerConflict`
    /// unless the entry is `intent` at that attempt.
    async fn record_result(
        &self,
        flow_id: &str,
        record_key: &str,
        attempt: u32,
        result: WriteResult,
    ) -> StoreResult<LedgerEntry>;

    /// The flow's check of the response refused a write the target accepted (e.g. the Order
    /// Flow's Check Response Script did not set `is_send` to `"1"`): `accepted` → `rejected`,
    /// with the reason, so the next run writes again. `LedgerConflict` unless the entry is
    /// `accepted` at that attempt.
    async fn record_refusal(
        &self,
        flow_id: &str,
        record_key: &str,
        attempt: u32,
        reason: &str,
    ) -> StoreResult<LedgerEntry>;

    /// Records that one follow-up step of the current attempt is done (for the Order Flow,
    /// e.g. `item_mapping:1234`, `order_mapping`, `is_send`), so a resume skips it.
    /// Idempotent. `LedgerConflict` unless the entry is `accepted` at that attempt.
    async fn record_step(
        &self,
        flow_id: &str,
        record_key: &str,
        attempt: u32,
        step: &str,
    ) -> StoreResult<LedgerEntry>;

    /// Marks the record completed once its follow-up steps are done: `accepted` →
    /// `completed`. `LedgerConflict` unless the entry is `accepted` at that attempt.
    async fn mark_completed(
        &self,
        flow_id: &str,
        record_key: &str,
        attempt: u32,
    ) -> StoreResult<LedgerEntry>;

    /// Resolves an entry outside the normal path (see [`Resolution`] for the phases each kind
    /// is allowed from). `LedgerConflict` when the kind is not allowed in the current phase.
    async fn resolve(
        &self,
        flow_id: &str,
        record_key: &str,
        resolution: Resolution,
    ) -> StoreResult<LedgerEntry>;

    /// Ledger entries of one flow matching `query`, ordered by record key (keyset-paginated).
    /// [`LedgerQuery::in_doubt`] and [`LedgerQuery::accepted_not_completed`] build the two
    /// queries a resuming run needs.
    async fn list_ledger(&self, query: &LedgerQuery) -> StoreResult<Vec<LedgerEntry>>;

    // ---- flow state ------------------------------------------------------------------------

    /// A flow's value for `key` (e.g. `last.request`), or `None`.
    async fn get_flow_state(&self, flow_id: &str, key: &str) -> StoreResult<Option<String>>;

    /// Sets a flow's value for `key`, creating or replacing it.
    async fn set_flow_state(&self, flow_id: &str, key: &str, value: &str) -> StoreResult<()>;

    /// Sets `key` to `new` only if it currently is `expected` (`None` = absent); `new = None`
    /// deletes it. Returns whether it was changed. Atomic against concurrent callers.
    async fn compare_and_set_flow_state(
        &self,
        flow_id: &str,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> StoreResult<bool>;

    /// All of a flow's keys and values, ordered by key.
    async fn list_flow_state(&self, flow_id: &str) -> StoreResult<Vec<(String, String)>>;

    // ---- leases ----------------------------------------------------------------------------

    /// Takes the lease `key` for `owner` until now + `ttl`: granted when nobody holds it, when
    /// `owner` already holds it (renewed, same generation), or when the holder's lease expired
    /// (taken over: `stolen_from`, generation + 1). Otherwise `Held` with the live holder.
    async fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome>;

    /// Renews `owner`'s lease to now + `ttl`. `None` when `owner` does not hold it any more
    /// (expired and taken over, or released): the caller must stop its work.
    async fn heartbeat_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>>;

    /// Gives the lease up if `owner` holds it. Returns whether it did.
    async fn release_lease(&self, key: &str, owner: &str) -> StoreResult<bool>;

    /// The lease `key` as stored (possibly expired), or `None`.
    async fn get_lease(&self, key: &str) -> StoreResult<Option<Lease>>;

    // ---- retention -------------------------------------------------------------------------

    /// Deletes finished and interrupted executions (never running ones) older than
    /// `policy.max_age` or beyond the newest `policy.max_executions_per_flow` of their flow,
    /// with their row logs and outcome counters. The ledger is kept. Returns what was removed.
    async fn prune(&self, policy: &RetentionPolicy) -> StoreResult<PruneReport>;
}
