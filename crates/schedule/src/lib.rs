//! Flow schedules and the scheduler's decisions, with no I/O and no clock of its own.
//!
//! A flow runs on an interval (`every = "5m"`), on a cron (`cron = "0 30 2 * * ?"`, Quartz or
//! Unix), or after another flow succeeds (`after = "orders"`), in an IANA zone (UTC by default).
//! [`Schedule`] checks a flow config's fields and computes fire times; [`Scheduler`] keeps every
//! flow's state and, given the time, says what to run. Time is always passed in, so the server
//! owns the clock and the tests control it.

mod cron;
mod error;
mod schedule;
mod scheduler;

pub use cron::Dialect;
pub use error::{Field, ScheduleError, SchedulerError};
pub use schedule::{MIN_INTERVAL, Schedule, ScheduleSpec};
pub use scheduler::{Decision, FlowId, Scheduler, SkipReason};
