//! The per-record ledger: the exactly-once backbone.
//!
//! One entry per (flow id, record key). Its [`LedgerPhase`] tells a resumed run exactly where a
//! record stopped, whatever the crash point:
//!
//! | crash point | what the entry shows | what the engine does |
//! |---|---|---|
//! | before the intent | no entry (or `rejected` / `released` from an earlier attempt) | send |
//! | after the intent, before the ERP answer was recorded | `intent` | Query Check Order, else hold *in doubt* |
//! | after the ERP result, before Omnitron | `accepted`, no Omnitron steps | finish Omnitron without sending |
//! | part-way through Omnitron | `accepted`, some steps | finish the remaining steps |
//! | after Omnitron, before `completed` | `accepted`, every step incl. `is_send` | mark completed |
//! | after `completed` | `completed` | skip |
//!
//! Every transition is one conditional statement (or one transaction) checked against the
//! phase and attempt number, so two workers can never both send one record: the second
//! [`crate::Store::record_intent`] gets [`crate::StoreError::LedgerConflict`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::execution::ExecutionId;
use crate::redact::StoredBody;

/// Where a record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerPhase {
    /// An intent was recorded and no result yet: the ERP write is in flight, or — once its
    /// execution is no longer running — *in doubt* (it may or may not have landed).
    Intent,
    /// The ERP answered and accepted the record; Omnitron is not yet fully updated.
    Accepted,
    /// The ERP answered with a failure (non-2xx, or the Check Response Script refused it).
    /// Nothing landed, so a new attempt may send again.
    Rejected,
    /// An in-doubt record was established as not in the ERP (Query Check Order), or a person
    /// chose to resend it. A new attempt may send again.
    Released,
    /// Omnitron was updated (`is_send`), or a person marked the record done. Never sent again.
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

    /// True when a new attempt may write this record to the ERP.
    pub fn may_send(self) -> bool {
        matches!(self, LedgerPhase::Rejected | LedgerPhase::Released)
    }
}

/// What the engine records just before the ERP write ([`crate::Store::record_intent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    /// The execution making the attempt.
    pub execution_id: ExecutionId,
    /// The record's primary key in the source (the order pk).
    pub record_id: Option<String>,
    /// [`crate::request_hash`] of the body about to be sent.
    pub request_hash: String,
}

/// What the ERP answered ([`crate::Store::record_result`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpResult {
    /// The HTTP status code.
    pub status_code: u16,
    /// True when the ERP accepted the record (2xx). The entry becomes `accepted`; otherwise
    /// `rejected`.
    pub accepted: bool,
    /// The ERP's reference for the record (its order number), when known.
    pub erp_reference: Option<String>,
    /// The response body (redacted, capped at the ledger cap before it is stored).
    pub response: Option<String>,
    /// Why it was rejected, when it was.
    pub error: Option<String>,
}

/// How an entry is resolved outside the normal path ([`crate::Store::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Query Check Order found the record in the ERP: the entry becomes `accepted` (finish the
    /// Omnitron side, never send). Allowed with no entry (already in the ERP on first sight) and
    /// from `intent`, `rejected`, `released`.
    FoundInErp {
        /// The execution that ran the query.
        execution_id: ExecutionId,
        /// The query's HTTP status code.
        status_code: u16,
        /// The ERP's reference, when the query response gives it.
        erp_reference: Option<String>,
        /// The query response body (redacted, capped).
        response: Option<String>,
    },
    /// Query Check Order established the record is not in the ERP: `intent` → `released`.
    NotInErp {
        /// The execution that ran the query.
        execution_id: ExecutionId,
    },
    /// A person decided to send again: any phase → `released`.
    Resend {
        /// Who decided.
        by: String,
        /// Why.
        note: Option<String>,
    },
    /// A person decided the record is done (e.g. entered in the ERP by hand): any phase →
    /// `completed`. It will never be sent again.
    MarkDone {
        /// Who decided.
        by: String,
        /// Why.
        note: Option<String>,
    },
}

impl Resolution {
    /// The name stored in the database: `found_in_erp`, `not_in_erp`, `resend`, `mark_done`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resolution::FoundInErp { .. } => "found_in_erp",
            Resolution::NotInErp { .. } => "not_in_erp",
            Resolution::Resend { .. } => "resend",
            Resolution::MarkDone { .. } => "mark_done",
        }
    }
}

/// The ERP result part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerResult {
    /// The HTTP status code (of the write, or of the query for `found_in_erp`).
    pub status_code: Option<u16>,
    /// Whether the ERP accepted the record.
    pub accepted: bool,
    /// The ERP's reference.
    pub erp_reference: Option<String>,
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
    /// The record's business key (order number).
    pub record_key: String,
    /// The record's primary key.
    pub record_id: Option<String>,
    /// Where it stands.
    pub phase: LedgerPhase,
    /// The attempt number: 1 for the first intent, +1 for each new intent; 0 when the entry
    /// was created by [`Resolution::FoundInErp`] without any write.
    pub attempt: u32,
    /// The execution of the last intent or resolution.
    pub execution_id: Option<ExecutionId>,
    /// When the current attempt's intent was recorded.
    pub intent_at: Option<DateTime<Utc>>,
    /// The current attempt's request hash.
    pub request_hash: Option<String>,
    /// The current attempt's ERP result.
    pub result: Option<LedgerResult>,
    /// Omnitron steps done for the current attempt, in the order they were recorded.
    pub omnitron_steps: Vec<String>,
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

    /// Records the ERP accepted whose Omnitron side was not finished by a run that is no longer
    /// running: finish them without writing to the ERP again.
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
