//! Row logs: one line per record per execution (the Integrator's line logs).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::execution::ExecutionId;
use crate::redact::StoredBody;

/// How one record ended in one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Written to the ERP (or finished from the ledger) and marked in Omnitron.
    Success,
    /// Failed; retried by the next run or a replay.
    Failed,
    /// Found already in the ERP; Omnitron updated without writing.
    AlreadyInErp,
    /// The ERP write may or may not have landed; held for the query check or a person.
    InDoubt,
    /// Not processed (e.g. already completed according to the ledger).
    Skipped,
}

impl RowStatus {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Success => "success",
            RowStatus::Failed => "failed",
            RowStatus::AlreadyInErp => "already_in_erp",
            RowStatus::InDoubt => "in_doubt",
            RowStatus::Skipped => "skipped",
        }
    }

    /// Parses [`RowStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => RowStatus::Success,
            "failed" => RowStatus::Failed,
            "already_in_erp" => RowStatus::AlreadyInErp,
            "in_doubt" => RowStatus::InDoubt,
            "skipped" => RowStatus::Skipped,
            _ => return None,
        })
    }
}

/// The last step a record reached, in Order Flow order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Read from Omnitron (list + detail assembly).
    Read,
    /// Query Check Order.
    QueryCheck,
    /// The user's Script.
    Script,
    /// The Jolt Mapping.
    Mapping,
    /// Write Data to ERP.
    WriteErp,
    /// Check Response Script.
    CheckResponse,
    /// Write Data to Omnitron (mappings, `is_send`).
    WriteOmnitron,
    /// Post Script.
    PostScript,
    /// Every step done.
    Done,
}

impl Step {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::QueryCheck => "query_check",
            Step::Script => "script",
            Step::Mapping => "mapping",
            Step::WriteErp => "write_erp",
            Step::CheckResponse => "check_response",
            Step::WriteOmnitron => "write_omnitron",
            Step::PostScript => "post_script",
            Step::Done => "done",
        }
    }

    /// Parses [`Step::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read" => Step::Read,
            "query_check" => Step::QueryCheck,
            "script" => Step::Script,
            "mapping" => Step::Mapping,
            "write_erp" => Step::WriteErp,
            "check_response" => Step::CheckResponse,
            "write_omnitron" => Step::WriteOmnitron,
            "post_script" => Step::PostScript,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

/// What the engine provides for one row log ([`crate::Store::append_row_log`]). Bodies, the
/// error and the attributes are redacted and the bodies capped by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRowLog {
    /// The execution the record ran in.
    pub execution_id: ExecutionId,
    /// The record's business key (the order number).
    pub record_key: String,
    /// The record's primary key in the source (the order pk), when it has one.
    pub record_id: Option<String>,
    /// How it ended.
    pub status: RowStatus,
    /// The last step reached.
    pub step: Step,
    /// Why it failed, or any message worth keeping.
    pub error: Option<String>,
    /// The record's `log.*` attributes (a JSON object; keys kept as given).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The request body sent (to the ERP, usually), as text.
    pub request: Option<String>,
    /// The response body received, as text.
    pub response: Option<String>,
}

/// A row log as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowLog {
    /// Store-assigned, increasing with insertion order.
    pub id: i64,
    /// The execution.
    pub execution_id: ExecutionId,
    /// The execution's flow id.
    pub flow_id: String,
    /// The record's business key.
    pub record_key: String,
    /// The record's primary key.
    pub record_id: Option<String>,
    /// How it ended.
    pub status: RowStatus,
    /// The last step reached.
    pub step: Step,
    /// The redacted error.
    pub error: Option<String>,
    /// The redacted `log.*` attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The redacted, capped request body.
    pub request: Option<StoredBody>,
    /// The redacted, capped response body.
    pub response: Option<StoredBody>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Which row logs to list ([`crate::Store::list_row_logs`]). Results are newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLogQuery {
    /// Only this execution.
    pub execution_id: Option<ExecutionId>,
    /// Only this flow.
    pub flow_id: Option<String>,
    /// Only this record key (combine with `flow_id` for one record's history across runs).
    pub record_key: Option<String>,
    /// Only these statuses (empty = any).
    pub statuses: Vec<RowStatus>,
    /// Page size (clamped to 1..=1000).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

impl Default for RowLogQuery {
    fn default() -> Self {
        RowLogQuery {
            execution_id: None,
            flow_id: None,
            record_key: None,
            statuses: Vec::new(),
            limit: 25,
            offset: 0,
        }
    }
}
