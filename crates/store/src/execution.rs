//! Executions: one run of one flow, with who or what started it, its state, status and counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An execution id: a UUID v4 in its hyphenated text form (portable across databases and
/// readable in URLs and logs).
pub type ExecutionId = String;

/// Who or what started an execution (the Integrator's `triggered_by` / `is_triggered`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// The flow's schedule fired.
    Scheduled,
    /// A person started it (UI, CLI, API).
    Manual {
        /// The user name.
        user: String,
    },
    /// An outbound request (`POST /api/v1/flows/{flow}/outbound`) started it.
    Outbound {
        /// Who called, when known (API token name, remote address).
        caller: Option<String>,
    },
    /// A replay of failed records of an earlier execution.
    Replay {
        /// The execution being replayed.
        parent: ExecutionId,
        /// Who asked for the replay, when a person did.
        user: Option<String>,
    },
}

impl Trigger {
    /// The trigger's kind as stored: `scheduled`, `manual`, `outbound`, `replay`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual { .. } => "manual",
            Trigger::Outbound { .. } => "outbound",
            Trigger::Replay { .. } => "replay",
        }
    }

    /// The Integrator's `is_triggered`: true for every run the schedule did not start.
    pub fn is_triggered(&self) -> bool {
        !matches!(self, Trigger::Scheduled)
    }

    /// The Integrator's `triggered_by`: the user or caller, when there is one.
    pub fn triggered_by(&self) -> Option<&str> {
        match self {
            Trigger::Scheduled => None,
            Trigger::Manual { user } => Some(user),
            Trigger::Outbound { caller } => caller.as_deref(),
            Trigger::Replay { user, .. } => user.as_deref(),
        }
    }

    /// The parent execution of a replay.
    pub fn parent(&self) -> Option<&str> {
        match self {
            Trigger::Replay { parent, .. } => Some(parent),
            _ => None,
        }
    }
}

/// Whether an execution is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionState {
    /// Started and not yet finished.
    Running,
    /// Finished normally (whatever its status).
    Finished,
    /// Its process died or was stopped before it finished.
    Interrupted,
}

impl ExecutionState {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Running => "running",
            ExecutionState::Finished => "finished",
            ExecutionState::Interrupted => "interrupted",
        }
    }

    /// Parses [`ExecutionState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => ExecutionState::Running,
            "finished" => ExecutionState::Finished,
            "interrupted" => ExecutionState::Interrupted,
            _ => return None,
        })
    }

    /// The Integrator Logs API `state` code: 2 In Progress while running, 3 Finished after
    /// (an interrupted run is over too). Code 1 (Start) is never stored: an execution is
    /// created running.
    pub fn integrator_code(self) -> u8 {
        match self {
            ExecutionState::Running => 2,
            ExecutionState::Finished | ExecutionState::Interrupted => 3,
        }
    }
}

/// How an execution went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Still running.
    InProgress,
    /// Nothing failed or is in doubt: every record counted succeeded or was skipped.
    Success,
    /// Nothing succeeded and something failed (or the run itself failed, e.g. login, read).
    Failed,
    /// Nothing was read.
    Empty,
    /// Some records succeeded and some failed or are in doubt.
    Partial,
}

impl ExecutionStatus {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "in_progress",
            ExecutionStatus::Success => "success",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Empty => "empty",
            ExecutionStatus::Partial => "partial",
        }
    }

    /// Parses [`ExecutionStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in_progress" => ExecutionStatus::InProgress,
            "success" => ExecutionStatus::Success,
            "failed" => ExecutionStatus::Failed,
            "empty" => ExecutionStatus::Empty,
            "partial" => ExecutionStatus::Partial,
            _ => return None,
        })
    }

    /// The Integrator Logs API `status` code: 1 In Progress, 2 Success, 3 Failed, 4 Empty.
    /// Partial has no code of its own there; it reports 3 (something failed).
    pub fn integrator_code(self) -> u8 {
        match self {
            ExecutionStatus::InProgress => 1,
            ExecutionStatus::Success => 2,
            ExecutionStatus::Failed | ExecutionStatus::Partial => 3,
            ExecutionStatus::Empty => 4,
        }
    }
}

/// The per-execution counters. Used both as the stored totals and as a delta to add
/// ([`crate::Store::increment_counts`]).
///
/// The five fixed counters mean the same in every flow; `outcomes` break them down in the
/// flow's own terms, keyed by outcome label (the Order Flow counts `sent` and `already_in_erp`
/// there, the Order Status Flow `updated` and `already_applied`), so a new flow needs no new
/// column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Records read from the source.
    pub read: u64,
    /// Records whose write was done, or found already done.
    pub succeeded: u64,
    /// Records that failed (retried by the next run or a replay).
    pub failed: u64,
    /// Records whose write may or may not have landed, held for a check or a person.
    pub in_doubt: u64,
    /// Records skipped (e.g. done earlier, according to the ledger).
    pub skipped: u64,
    /// Per-flow counters keyed by outcome label (1 to [`crate::MAX_NAME_CHARS`] characters,
    /// redacted like a row log's outcome). A breakdown of the counters above: they do not
    /// change [`Counts::derived_status`].
    pub outcomes: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds `other` to these counts (saturating: counts never wrap).
    pub fn add(&mut self, other: &Counts) {
        self.read = self.read.saturating_add(other.read);
        self.succeeded = self.succeeded.saturating_add(other.succeeded);
        self.failed = self.failed.saturating_add(other.failed);
        self.in_doubt = self.in_doubt.saturating_add(other.in_doubt);
        self.skipped = self.skipped.saturating_add(other.skipped);
        for (label, count) in &other.outcomes {
            let total = self.outcomes.entry(label.clone()).or_default();
            *total = total.saturating_add(*count);
        }
    }

    /// The count of one outcome label; 0 when it was never counted.
    pub fn outcome(&self, name: &str) -> u64 {
        self.outcomes.get(name).copied().unwrap_or(0)
    }

    /// The status these counts mean for a finished run: nothing counted → Empty; nothing
    /// failed or in doubt → Success; nothing succeeded or skipped but failures → Failed;
    /// otherwise Partial.
    pub fn derived_status(&self) -> ExecutionStatus {
        let bad = self.failed.saturating_add(self.in_doubt);
        let good = self.succeeded.saturating_add(self.skipped);
        if self.read == 0 && bad == 0 && good == 0 {
            ExecutionStatus::Empty
        } else if bad == 0 {
            ExecutionStatus::Success
        } else if good == 0 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Partial
        }
    }
}

/// What the engine provides to start an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExecution {
    /// The flow id.
    pub flow_id: String,
    /// The flow name at the time of the run (flows can be renamed).
    pub flow_name: String,
    /// Who or what started it.
    pub trigger: Trigger,
    /// The process instance running it (e.g. `host:pid:uuid`). Must be the same owner that
    /// holds the flow's lease: [`crate::Store::interrupt_orphaned_executions`] relies on it.
    pub owner: String,
}

/// How an execution ends ([`crate::Store::finish_execution`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinishExecution {
    /// The final status; `None` derives it from the stored counts ([`Counts::derived_status`])
    /// inside the same transaction, so late increments are taken into account.
    pub status: Option<ExecutionStatus>,
    /// Why the run failed as a whole (login, read error), redacted before it is stored.
    pub error: Option<String>,
    /// Any summary the engine wants to keep (e.g. pages read, timings), stored as JSON.
    pub summary: Option<serde_json::Value>,
}

/// An execution as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The execution id.
    pub id: ExecutionId,
    /// The flow id.
    pub flow_id: String,
    /// The flow name when it ran.
    pub flow_name: String,
    /// Who or what started it.
    pub trigger: Trigger,
    /// The process instance that ran it.
    pub owner: String,
    /// Running, finished or interrupted.
    pub state: ExecutionState,
    /// In progress until finished.
    pub status: ExecutionStatus,
    /// The counters, with the flow's outcome counters.
    pub counts: Counts,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished or was interrupted.
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at - started_at` in milliseconds.
    pub duration_ms: Option<i64>,
    /// The run-level error, redacted.
    pub error: Option<String>,
    /// The engine's summary JSON.
    pub summary: Option<serde_json::Value>,
}

/// Which executions to list ([`crate::Store::list_executions`]). Results are newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Only this flow.
    pub flow_id: Option<String>,
    /// Only these statuses (empty = any).
    pub statuses: Vec<ExecutionStatus>,
    /// Only this state.
    pub state: Option<ExecutionState>,
    /// Page size (clamped to 1..=1000).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

impl Default for ExecutionQuery {
    fn default() -> Self {
        ExecutionQuery {
            flow_id: None,
            statuses: Vec::new(),
            state: None,
            limit: 25,
            offset: 0,
        }
    }
}
