//! Row logs: one line per record per execution (the Integrator's line logs).
//!
//! A row log speaks in two vocabularies: the store's own, shared by every flow ([`RowStatus`]:
//! did the record succeed, fail, end in doubt, or get skipped), and the flow's ([`Step`]: the
//! last step reached; `outcome`: how exactly it ended, e.g. `sent` or `already_in_erp` for the
//! Order Flow, `updated` or `already_applied` for the Order Status Flow). The store only
//! checks the flow's names for shape, so a new flow needs no change here.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::execution::ExecutionId;
use crate::redact::StoredBody;

/// Largest replay payload a row log may carry, in bytes: 16 MiB. The payload is stored whole
/// (a replay must resend exactly what was to be written), so the only bound is this hard
/// limit, which keeps one runaway record from bloating the database; a larger one is refused
/// with [`crate::StoreError::TooLarge`].
pub const MAX_ROW_LOG_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Longest flow-defined name (a [`Step`] or an outcome label), in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// How one record ended in one execution, in terms every flow shares. The flow's own, finer
/// label goes in the row log's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// The record's write was done, or found already done (see the row log's `outcome`).
    Success,
    /// Failed; retried by the next run or a replay.
    Failed,
    /// A write may or may not have landed; held for a check or a person.
    InDoubt,
    /// Not processed (e.g. the ledger says it is done).
    Skipped,
}

impl RowStatus {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Success => "success",
            RowStatus::Failed => "failed",
            RowStatus::InDoubt => "in_doubt",
            RowStatus::Skipped => "skipped",
        }
    }

    /// Parses [`RowStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => RowStatus::Success,
            "failed" => RowStatus::Failed,
            "in_doubt" => RowStatus::InDoubt,
            "skipped" => RowStatus::Skipped,
            _ => return None,
        })
    }
}

/// True for a valid [`Step`] name: 1 to [`MAX_NAME_CHARS`] characters of `[a-z0-9_.]`.
/// A `const fn` so [`Step::new`] can check names in constants at compile time.
const fn is_step_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    // Every allowed character is one byte, so the byte length is the character count.
    if bytes.is_empty() || bytes.len() > MAX_NAME_CHARS {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

/// The last step a record reached, in its flow's own terms (`write_erp`, `row_script`, ...);
/// each flow defines its steps.
///
/// A name is 1 to [`MAX_NAME_CHARS`] characters of `[a-z0-9_.]`, so it is safe to show, to
/// filter on and to use in metrics. Flows declare theirs as constants:
///
/// ```
/// use omnibridge_store::Step;
///
/// const WRITE_ERP: Step = Step::new("write_erp");
/// assert_eq!(WRITE_ERP.as_str(), "write_erp");
/// assert_eq!(Step::parse("write_erp"), Some(WRITE_ERP));
/// assert_eq!(Step::parse("Write ERP"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Step(Cow<'static, str>);

impl Step {
    /// A step named by a literal. The name must be valid (see [`Step`]): in a `const` an
    /// invalid one fails the build, and debug builds panic on one at run time; a release
    /// build leaves it to the store, which refuses to write a row log with an invalid step
    /// ([`crate::StoreError::InvalidValue`]) rather than store what it could not read back.
    pub const fn new(name: &'static str) -> Step {
        debug_assert!(
            is_step_name(name),
            "a step name is 1 to 64 characters of [a-z0-9_.]"
        );
        Step(Cow::Borrowed(name))
    }

    /// The name, as stored in the database and shown to users.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A step from a name read at run time (a database, a request), or `None` when the name
    /// is not valid.
    pub fn parse(s: &str) -> Option<Step> {
        is_step_name(s).then(|| Step(Cow::Owned(s.to_string())))
    }

    /// True when the name is valid: always for [`Step::parse`], not necessarily for
    /// [`Step::new`] in a release build or for a deserialized step.
    pub(crate) fn is_valid(&self) -> bool {
        is_step_name(&self.0)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the engine provides for one row log ([`crate::Store::append_row_log`]). Bodies, the
/// error, the outcome and the attributes are redacted and the bodies capped by the store; the
/// payload is kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRowLog {
    /// The execution the record ran in.
    pub execution_id: ExecutionId,
    /// The record's business key (e.g. the order number).
    pub record_key: String,
    /// The record's primary key in the source (e.g. the order pk), when it has one.
    pub record_id: Option<String>,
    /// How it ended, in the terms every flow shares.
    pub status: RowStatus,
    /// The last step reached.
    pub step: Step,
    /// The flow's own label for how the record ended (e.g. `sent`, `already_in_erp`,
    /// `updated`, `already_applied`): 1 to [`MAX_NAME_CHARS`] characters, stored as given
    /// (redacted like the error).
    pub outcome: Option<String>,
    /// Why it failed, or any message worth keeping.
    pub error: Option<String>,
    /// The record's `log.*` attributes (a JSON object; keys kept as given).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The request body sent (to the target, usually), as text.
    pub request: Option<String>,
    /// The response body received, as text.
    pub response: Option<String>,
    /// What a replay of this record needs to write it again, as text. Stored whole: not
    /// redacted (a replay must send the real values) and not capped, only refused above
    /// [`MAX_ROW_LOG_PAYLOAD_BYTES`]. Never listed; read back with
    /// [`crate::Store::row_log_payload`].
    pub payload: Option<String>,
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
    /// The flow's label for how it ended, redacted.
    pub outcome: Option<String>,
    /// The redacted error.
    pub error: Option<String>,
    /// The redacted `log.*` attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The redacted, capped request body.
    pub request: Option<StoredBody>,
    /// The redacted, capped response body.
    pub response: Option<StoredBody>,
    /// Whether a replay payload was stored ([`crate::Store::row_log_payload`] reads it).
    /// Listings leave the payload itself out: it may be large and is not redacted.
    pub has_payload: bool,
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
