//! Retention: how old and how many executions to keep.

use serde::{Deserialize, Serialize};

use crate::execution::ExecutionId;

/// What to prune ([`crate::Store::prune`]). Running executions and the ledger are never
/// pruned: the ledger is what keeps records from being written twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Delete executions that started more than this long ago (by the store's clock).
    pub max_age: Option<chrono::Duration>,
    /// Keep at most this many executions per flow (the newest).
    pub max_executions_per_flow: Option<u64>,
}

/// What [`crate::Store::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// The executions deleted.
    pub executions: Vec<ExecutionId>,
    /// How many row logs went with them.
    pub row_logs_deleted: u64,
}
