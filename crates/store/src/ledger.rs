//! The per-record ledger: the exactly-once backbone.
//!
//! It guards any write a flow makes to its target, whatever the target is (the Order Flow
//! writes orders to an ERP, the Order Status Flow item statuses to Omnitron, the Order Cancel
//! Flow cancellations). One entry per (flow id, ledger key); the key is the flow's choice and
//! need not be the row log's record key. Its [`LedgerPhase`] tells a resumed run exactly where
//! a record stopped, whatever the crash point:
//!
//! | crash point | what the entry shows | what the engine does |
//! |---|---|---|
//! | before the intent | no entry (or `rejected` / `released` from an earlier attempt) | write |
//! | after the intent, before the write's answer was recorded | `intent` | check the target, or retry an idempotent write, else hold *in doubt* |
//! | after the result, before the follow-up steps | `accepted`, no steps | finish the steps without writing again |
//! | part-way through the follow-up steps | `accepted`, some steps | finish the remaining steps |
//! | after every step, before `completed` | `accepted`, every step | mark completed |
//! | after `completed` | `completed` | skip |
//!
//! Every transition is one conditional statement (or one transaction) checked against the
//! phase and attempt number, so two workers can never both write one record: the second
//! [`crate::Store::record_intent`] gets [`crate::StoreError::LedgerConflict`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::execution::ExecutionId;
use crate::redact::StoredBody;

/// Where a record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerPhase {
    /// An intent was recorded and no result yet: the write is in flight, or — once its
    /// execution is no longer running — *in doubt* (it may or may not have landed).
    Intent,
    /// The target accepted the write; the follow-up steps are not all done yet.
    Accepted,
    /// The target answered with a failure (e.g. a non-2xx status, or the flow's check of the
    /// response refused it). Nothing landed, so a new attempt may write again.
    Rejected,
    /// An in-doubt record was established as not written (a query of the target), is safe to
    /// write again (an idempotent write), or a person chose to resend it. A new attempt may
    /// write again.
    Released,
    /// Every follow-up step is done, or a person marked the record done. Never written again.
    Completed,
}

impl LedgerPhase {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerPhase::Intent => "intent",
            LedgerPhase::Accepted => "accepted",
            LedgerPhase::Rejected => "rejected",
            LedgerPhase::Released => "released",
            LedgerPhase::Completed => "completed",
        }
    }

    /// Parses [`LedgerPhase::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "intent" => LedgerPhase::Intent,
            "accepted" => LedgerPhase::Accepted,
            "rejected" => LedgerPhase::Rejected,
            "released" => LedgerPhase::Released,
            "completed" => LedgerPhase::Completed,
            _ => return None,
        })
    }

    /// True when a new attempt may write this record to its target.
    pub fn may_send(self) -> bool {
        matches!(self, LedgerPhase::Rejected | LedgerPhase::Released)
    }
}

/// What the engine records just before the write ([`crate::Store::record_intent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    /// The execution making the attempt.
    pub execution_id: ExecutionId,
    /// The record's primary key in the source (e.g. the order pk).
    pub record_id: Option<String>,
    /// [`crate::request_hash`] of the body about to be written.
    pub request_hash: String,
}

/// What the target answered to the write ([`crate::Store::record_result`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResult {
    /// The HTTP status code.
    pub status_code: u16,
    /// True when the target accepted the write (e.g. 2xx). The entry becomes `accepted`;
    /// otherwise `rejected`.
    pub accepted: bool,
    /// The target's reference for the written record (e.g. the ERP's order number), when
    /// known.
    pub reference: Option<String>,
    /// The response body (redacted, capped at the ledger cap before it is stored).
    pub response: Option<String>,
    /// Why it was rejected, when it was.
    pub error: Option<String>,
}

/// How an entry is resolved outside the normal path ([`crate::Store::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A query of the target found the record already written (e.g. the Order Flow's Query
    /// Check Order found the order in the ERP): the entry becomes `accepted` (finish the
    /// follow-up steps, never write). Allowed with no entry (already written on first sight)
    /// and from `intent`, `rejected`, `released`.
    AlreadyWritten {
        /// The execution that ran the query.
        execution_id: ExecutionId,
        /// The query's HTTP status code.
        status_code: u16,
        /// The target's reference, when the query response gives it.
        reference: Option<String>,
        /// The query response body (redacted, capped).
        response: Option<String>,
    },
    /// A query of the target established the record was not written: `intent` → `released`.
    NotWritten {
        /// The execution that ran the query.
        execution_id: ExecutionId,
    },
    /// The flow's write is idempotent (e.g. setting an item to a status it already has is a
    /// no-op), so an intent left by a dead run is simply written again: `intent` →
    /// `released`, then a new [`crate::Store::record_intent`].
    ///
    /// The store does not look at the entry's execution: the caller must hold the flow's
    /// lease, so the run that recorded the intent is known to be gone (or is the caller).
    RetryIdempotent {
        /// The execution that will write again.
        execution_id: ExecutionId,
    },
    /// A person decided to write again: any phase → `released`.
    Resend {
        /// Who decided.
        by: String,
        /// Why.
        note: Option<String>,
    },
    /// A person decided the record is done (e.g. entered in the target by hand): any phase →
    /// `completed`. It will never be written again.
    MarkDone {
        /// Who decided.
        by: String,
        /// Why.
        note: Option<String>,
    },
}

impl Resolution {
    /// The name stored in the database: `already_written`, `not_written`, `retry_idempotent`,
    /// `resend`, `mark_done`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resolution::AlreadyWritten { .. } => "already_written",
            Resolution::NotWritten { .. } => "not_written",
            Resolution::RetryIdempotent { .. } => "retry_idempotent",
            Resolution::Resend { .. } => "resend",
            Resolution::MarkDone { .. } => "mark_done",
        }
    }
}

/// The result part of an entry: what the target answered to the write (or to the query, for
/// `already_written`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerResult {
    /// The HTTP status code (of the write, or of the query for `already_written`).
    pub status_code: Option<u16>,
    /// Whether the target accepted the write.
    pub accepted: bool,
    /// The target's reference for the written record.
    pub reference: Option<String>,
    /// The redacted, capped response.
    pub response: Option<StoredBody>,
    /// The rejection reason.
    pub error: Option<String>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// The last resolution of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerResolution {
    /// [`Resolution::kind`].
    pub kind: String,
    /// The person, for `resend` / `mark_done`.
    pub by: Option<String>,
    /// The note.
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One record's ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The flow id.
    pub flow_id: String,
    /// The record's ledger key (e.g. the order number), chosen by the flow.
    pub record_key: String,
    /// The record's primary key.
    pub record_id: Option<String>,
    /// Where it stands.
    pub phase: LedgerPhase,
    /// The attempt number: 1 for the first intent, +1 for each new intent; 0 when the entry
    /// was created by [`Resolution::AlreadyWritten`] without any write.
    pub attempt: u32,
    /// The execution of the last intent or resolution.
    pub execution_id: Option<ExecutionId>,
    /// When the current attempt's intent was recorded.
    pub intent_at: Option<DateTime<Utc>>,
    /// The current attempt's request hash.
    pub request_hash: Option<String>,
    /// The current attempt's result.
    pub result: Option<LedgerResult>,
    /// Follow-up steps done for the current attempt, in the order they were recorded
    /// ([`crate::Store::record_step`]).
    pub steps: Vec<String>,
    /// When the record was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The last resolution of the current attempt.
    pub resolution: Option<LedgerResolution>,
    /// When the entry was created.
    pub created_at: DateTime<Utc>,
    /// When the entry last changed.
    pub updated_at: DateTime<Utc>,
}

/// Which ledger entries to list ([`crate::Store::list_ledger`]), ordered by record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerQuery {
    /// The flow.
    pub flow_id: String,
    /// Only entries in these phases (empty = any).
    pub phases: Vec<LedgerPhase>,
    /// Only entries whose last execution is no longer running (finished, interrupted, or
    /// pruned): with `phases = [Intent]` these are the records *in doubt*.
    pub stale_only: bool,
    /// Keyset pagination: only record keys greater than this one. Stable while the listed
    /// entries are being resolved.
    pub after_record_key: Option<String>,
    /// Page size (clamped to 1..=1000).
    pub limit: u32,
}

impl LedgerQuery {
    /// Records *in doubt* in a flow: an intent, no result, and no running execution.
    pub fn in_doubt(flow_id: impl Into<String>) -> Self {
        LedgerQuery {
            flow_id: flow_id.into(),
            phases: vec![LedgerPhase::Intent],
            stale_only: true,
            after_record_key: None,
            limit: 100,
        }
    }

    /// Records whose write the target accepted but whose follow-up steps were not finished by
    /// a run that is no longer running: finish them without writing again.
    pub fn accepted_not_completed(flow_id: impl Into<String>) -> Self {
        LedgerQuery {
            flow_id: flow_id.into(),
            phases: vec![LedgerPhase::Accepted],
            stale_only: true,
            after_record_key: None,
            limit: 100,
        }
    }
}
