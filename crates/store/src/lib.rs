//! Persistence for the omnibridge engine.
//!
//! Everything the engine must remember between records, runs and crashes lives behind one
//! object-safe trait, [`Store`]: executions (who or what triggered a run, its state, status,
//! counts and timings), row logs (one per record per execution, with redacted and capped
//! bodies and the record's replay payload), the per-record **ledger** that makes writes
//! exactly-once (an intent before the write, the target's result after, each follow-up step,
//! then completed), small per-flow state (`last.request`, cursors), leases so runs of one flow
//! never overlap, and retention.
//!
//! Several kinds of flow share it (the Order Flow writes orders to an ERP, the Order Status
//! Flow item statuses to Omnitron, the Order Cancel Flow cancellations), so its vocabulary is
//! the flows' common one: a record succeeded, failed, is in doubt or was skipped
//! ([`RowStatus`]); each flow names its own [`Step`]s and outcome labels (`sent`,
//! `already_in_erp`, `updated`, ...), which the store keeps and counts without knowing them.
//!
//! The engine holds an `Arc<dyn Store>` from [`open`] and never learns which database it talks
//! to. Two backends implement the trait with one shared body of portable SQL
//! (`sql_impl.rs`): [`SqliteStore`] (embedded, WAL, the single-node default) and
//! [`PgStore`] (many nodes sharing one PostgreSQL). Both run the same test suite.
//!
//! Key decisions:
//! - **The ledger guards every transition with one conditional statement** (phase and attempt
//!   number in the `WHERE`), so exactly one of many concurrent callers can record an intent
//!   for a record, and every crash point leaves a distinct, recoverable phase (see [`ledger`]).
//! - **The store redacts, not the caller**: bodies, errors, outcomes, `log.*` attributes and
//!   summaries go through the [`Redactor`] on the way in, so a forgotten call site cannot leak
//!   a token. The one exception is a row log's replay payload, which must stay exact to be
//!   written again: it is stored whole and only read back one at a time, never listed.
//! - **SQLite writes are group-committed**: one writer task runs every write queued during the
//!   previous commit in one transaction (each in its own savepoint) and answers each caller only
//!   after the commit, so `synchronous=FULL` durability costs one fsync per batch, not per record.
//! - **Time comes from a [`Clock`]** and is stored as UTC microseconds in 64-bit integers: the
//!   same ordering on both databases, and tests move time instead of sleeping.
//!
//! # One record, as the engine drives it
//!
//! The Order Flow writing order 1001 to an ERP:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use omnibridge_store::*;
//!
//! // The flow's own step names (it has others: `read`, `write_erp`, ...).
//! const DONE: Step = Step::new("done");
//!
//! let store = open("sqlite::memory:", StoreOptions::default()).await?;
//! store.redactor().secrets().add("omnitron-token-123"); // every token, as it is obtained
//!
//! // One run of a flow, under the flow's lease (named by the flow id).
//! let lease = store.acquire_lease("orders", "node-1", Duration::from_secs(30)).await?;
//! assert!(lease.acquired().is_some());
//! store.interrupt_orphaned_executions().await?; // runs left by a dead process
//! let run = store
//!     .create_execution(NewExecution {
//!         flow_id: "orders".into(),
//!         flow_name: "Order Flow".into(),
//!         trigger: Trigger::Scheduled,
//!         owner: "node-1".into(),
//!     })
//!     .await?;
//!
//! // Before writing order 1001 to the ERP: the intent. Refused if it is in doubt or done.
//! let body = r#"{"number":"1001"}"#;
//! let entry = store
//!     .record_intent("orders", "1001", NewIntent {
//!         execution_id: run.id.clone(),
//!         record_id: Some("42".into()),
//!         request_hash: request_hash(body.as_bytes()),
//!     })
//!     .await?;
//! // After the ERP answered.
//! store
//!     .record_result("orders", "1001", entry.attempt, WriteResult {
//!         status_code: 201,
//!         accepted: true,
//!         reference: Some("ERP-9".into()),
//!         response: Some(r#"{"id":"ERP-9"}"#.into()),
//!         error: None,
//!     })
//!     .await?;
//! // Each follow-up step (here: marking the order sent in Omnitron).
//! store.record_step("orders", "1001", entry.attempt, "is_send").await?;
//!
//! // Then, in one write: completed, the row log, the counts.
//! let refused = store
//!     .finish_record(
//!         NewRowLog {
//!             execution_id: run.id.clone(),
//!             record_key: "1001".into(),
//!             record_id: Some("42".into()),
//!             status: RowStatus::Success,
//!             step: DONE,
//!             outcome: Some("sent".into()),
//!             error: None,
//!             attributes: serde_json::Map::new(),
//!             request: Some(body.into()),
//!             response: Some("Authorization: Token omnitron-token-123".into()),
//!             payload: Some(body.into()), // what a replay writes again
//!         },
//!         Counts {
//!             read: 1,
//!             succeeded: 1,
//!             outcomes: [("sent".to_string(), 1)].into(),
//!             ..Counts::default()
//!         },
//!         Some(Completion { flow_id: "orders", record_key: "1001", how: Completed::Accepted { attempt: entry.attempt } }),
//!     )
//!     .await?;
//! assert!(refused.is_none());
//! let done = store.finish_execution(&run.id, FinishExecution::default()).await?;
//! assert_eq!(done.status, ExecutionStatus::Success);
//! assert_eq!(done.counts.outcome("sent"), 1);
//! store.release_lease("orders", "node-1").await?;
//!
//! let logs = store
//!     .list_row_logs(&RowLogQuery { execution_id: Some(run.id), ..RowLogQuery::default() })
//!     .await?;
//! let log = &logs.items[0];
//! assert_eq!(log.response.as_ref().unwrap().text, "Authorization: ***");
//! assert!(log.has_payload);
//! assert_eq!(store.row_log_payload(log.id).await?.as_deref(), Some(body));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod clock;
mod error;
pub mod execution;
pub mod lease;
pub mod ledger;
mod postgres;
mod redact;
pub mod retention;
pub mod row_log;
mod sql_impl;
mod sqlite;
mod store;

use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{LedgerPhaseName, StoreError, StoreResult};
pub use execution::{
    Counts, Execution, ExecutionId, ExecutionQuery, ExecutionState, ExecutionStatus,
    FinishExecution, NewExecution, Trigger,
};
pub use lease::{Lease, LeaseOutcome};
pub use ledger::{
    LedgerEntry, LedgerPhase, LedgerQuery, LedgerResolution, LedgerResult, NewIntent, Resolution,
    WriteResult,
};
pub use postgres::PgStore;
pub use redact::{
    DEFAULT_LEDGER_BODY_CAP, DEFAULT_ROW_LOG_BODY_CAP, MIN_SECRET_LEN, REDACTED, Redactor,
    SecretValues, StoredBody, request_hash, truncation_marker,
};
pub use retention::{PruneReport, RetentionPolicy};
pub use row_log::{
    MAX_NAME_CHARS, MAX_ROW_LOG_PAYLOAD_BYTES, NewRowLog, RowLog, RowLogQuery, RowStatus, Step,
};
pub use sqlite::SqliteStore;
pub use store::{
    Backend, Completed, Completion, FinishedRecord, Page, SqliteDurability, Store, StoreOptions,
};

/// Opens the store named by a database URL: `sqlite://path` (created if missing),
/// `sqlite::memory:`, or `postgres://user@host/db` (`postgresql://` too). Migrations are
/// applied before it returns.
pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, options).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url, options).await?))
    } else {
        Err(StoreError::BadUrl {
            url: omnibridge_http::redact_url(url),
            problem: "expected sqlite://<path>, sqlite::memory: or postgres://...".to_string(),
        })
    }
}
