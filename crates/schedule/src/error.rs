//! Errors from parsing a schedule and from building or driving the scheduler.

use std::fmt;

use crate::FlowId;

/// The flow-config field a [`ScheduleError`] is about, shown as `schedule.<name>` so a user can
/// find the line to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `schedule.every`: an interval.
    Every,
    /// `schedule.cron`: a Quartz or Unix cron expression.
    Cron,
    /// `schedule.after`: the flow whose success triggers this one.
    After,
    /// `schedule.timezone`: the IANA zone cron fire times are computed in.
    Timezone,
}

impl Field {
    /// The field's name as written in the flow config, e.g. `schedule.cron`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Every => "schedule.every",
            Field::Cron => "schedule.cron",
            Field::After => "schedule.after",
            Field::Timezone => "schedule.timezone",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a schedule was refused. Every message starts with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// None of `every`, `cron` or `after` was given (a flow without a schedule is checked with
    /// [`ScheduleSpec::is_empty`](crate::ScheduleSpec::is_empty) before parsing).
    #[error("schedule: one of schedule.every, schedule.cron or schedule.after is required")]
    Missing,
    /// More than one of `every`, `cron` and `after` was given: which one wins would be a guess.
    #[error("schedule: only one of schedule.every, schedule.cron or schedule.after may be set, found {}", join_fields(.0))]
    Conflicting(Vec<Field>),
    /// A field's value is wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field whose value is wrong.
        field: Field,
        /// What is wrong, quoting the value.
        reason: String,
    },
}

impl ScheduleError {
    /// The field the error is about; for [`ScheduleError::Conflicting`], the first of them.
    pub fn field(&self) -> Option<Field> {
        match self {
            ScheduleError::Missing => None,
            ScheduleError::Conflicting(fields) => fields.first().copied(),
            ScheduleError::Invalid { field, .. } => Some(*field),
        }
    }

    pub(crate) fn invalid(field: Field, reason: impl Into<String>) -> Self {
        ScheduleError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

fn join_fields(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Why the scheduler refused its flows or a call about a flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// Two flows were given the same id.
    #[error("flow `{0}` is listed twice")]
    DuplicateFlow(FlowId),
    /// A flow's `schedule.after` names a flow the scheduler does not know.
    #[error("flow `{flow}`: schedule.after names `{after}`, which is not a flow")]
    UnknownAfter {
        /// The flow whose schedule is wrong.
        flow: FlowId,
        /// The name it waits on.
        after: FlowId,
    },
    /// Flows wait on each other through `schedule.after`, so none of them would ever run.
    /// The list is the cycle in order, each flow running after the next, the first repeated last.
    #[error("schedule.after forms a cycle, so none of these flows would ever run: {}", describe_cycle(.0))]
    Cycle(Vec<FlowId>),
    /// A call named a flow the scheduler was not built with.
    #[error("flow `{0}` is not scheduled here")]
    UnknownFlow(FlowId),
}

fn describe_cycle(cycle: &[FlowId]) -> String {
    cycle
        .windows(2)
        .map(|pair| format!("`{}` runs after `{}`", pair[0], pair[1]))
        .collect::<Vec<_>>()
        .join(", ")
}
