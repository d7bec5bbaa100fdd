//! A flow's schedule, parsed and checked, and the fire times it gives.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::cron::{CronExpr, Dialect};
use crate::error::{Field, ScheduleError};

/// The shortest interval accepted. Shorter ones would run a flow (HTTP calls, a store write per
/// run) more often than the engine can finish it, and are more likely a typo (`500ms` for `500s`).
pub const MIN_INTERVAL: TimeDelta = TimeDelta::seconds(1);

/// A flow config's `schedule` table as written, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleSpec {
    /// `schedule.every`: an interval such as `30s`, `5m`, `1h`, `1d` or `7days`.
    pub every: Option<String>,
    /// `schedule.cron`: Quartz (6 or 7 fields) or Unix (5 fields) cron.
    pub cron: Option<String>,
    /// `schedule.after`: run when this flow's execution succeeds.
    pub after: Option<String>,
    /// `schedule.timezone`: an IANA zone such as `Europe/Istanbul`; UTC when absent.
    pub timezone: Option<String>,
}

impl ScheduleSpec {
    /// True when no field is set: the flow has no schedule and runs only when started by hand.
    /// [`Schedule::parse`] refuses such a spec, so a caller checks this first.
    pub fn is_empty(&self) -> bool {
        self.every.is_none()
            && self.cron.is_none()
            && self.after.is_none()
            && self.timezone.is_none()
    }
}

/// What makes a flow run.
#[derive(Debug, Clone)]
enum Trigger {
    Every(TimeDelta),
    // Boxed: a parsed cron is ~350 bytes, and most schedules in a project are small.
    Cron(Box<CronExpr>),
    After(String),
}

/// A checked schedule: an interval, a cron expression or another flow's success, and the zone
/// cron fire times are reckoned in.
#[derive(Debug, Clone)]
pub struct Schedule {
    trigger: Trigger,
    zone: Tz,
}

impl Schedule {
    /// Checks a flow config's schedule. Exactly one of `every`, `cron` and `after` must be set;
    /// `timezone` defaults to UTC (it is accepted but unused with `every` and `after`, which do
    /// not read a wall clock). Each error names its field.
    pub fn parse(spec: &ScheduleSpec) -> Result<Schedule, ScheduleError> {
        let zone = parse_zone(spec.timezone.as_deref())?;
        let given: Vec<Field> = [
            (Field::Every, spec.every.is_some()),
            (Field::Cron, spec.cron.is_some()),
            (Field::After, spec.after.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect();
        if given.len() > 1 {
            return Err(ScheduleError::Conflicting(given));
        }
        let trigger = if let Some(every) = &spec.every {
            Trigger::Every(parse_interval(every)?)
        } else if let Some(cron) = &spec.cron {
            Trigger::Cron(Box::new(CronExpr::parse(cron)?))
        } else if let Some(after) = &spec.after {
            let flow = after.trim();
            if flow.is_empty() {
                return Err(ScheduleError::invalid(Field::After, "names no flow"));
            }
            Trigger::After(flow.to_string())
        } else {
            return Err(ScheduleError::Missing);
        };
        Ok(Schedule { trigger, zone })
    }

    /// Parses a bare expression, as `omnibridge schedule preview "<expr>" --tz <zone>` takes it:
    /// fewer than five words, without cron's `*` or `?` and not starting with `@`, are an
    /// interval (`5m`, `7 days`); anything else a cron expression (so `* * * *` is a cron with
    /// a field missing). Errors name `schedule.every` or `schedule.cron` accordingly.
    pub fn parse_expression(expr: &str, timezone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let trimmed = expr.trim();
        // A cron has at least five fields or is an @nickname; a duration has neither.
        let looks_like_duration = !trimmed.starts_with('@')
            && !trimmed.contains(['*', '?'])
            && trimmed.split_whitespace().count() < 5;
        let spec = ScheduleSpec {
            every: looks_like_duration.then(|| trimmed.to_string()),
            cron: (!looks_like_duration).then(|| trimmed.to_string()),
            after: None,
            timezone: timezone.map(str::to_string),
        };
        Schedule::parse(&spec)
    }

    /// The zone cron fire times are reckoned in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The interval, for an `every` schedule.
    pub fn every(&self) -> Option<TimeDelta> {
        match &self.trigger {
            Trigger::Every(d) => Some(*d),
            _ => None,
        }
    }

    /// The cron expression as written, for a `cron` schedule.
    pub fn cron(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::Cron(c) => Some(c.source()),
            _ => None,
        }
    }

    /// Whether a `cron` schedule was read as Quartz (6–7 fields) or Unix (5 fields).
    pub fn cron_dialect(&self) -> Option<Dialect> {
        match &self.trigger {
            Trigger::Cron(c) => Some(c.dialect()),
            _ => None,
        }
    }

    /// The flow whose success triggers this one, for an `after` schedule.
    pub fn after(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::After(flow) => Some(flow),
            _ => None,
        }
    }

    /// True for `every` and `cron` schedules, which fire on a clock; false for `after`.
    pub fn is_timed(&self) -> bool {
        !matches!(self.trigger, Trigger::After(_))
    }

    /// The first fire time strictly after `instant`; `None` for an `after` schedule, for a cron
    /// that never matches again (`0 0 0 30 2 ?`, a past year) and past the year 5000.
    ///
    /// An interval is elapsed time, not wall-clock time: its next fire is `instant + every`,
    /// whatever the zone, so `1d` is always 24 hours (a cron fires at a fixed wall-clock time).
    /// The scheduler decides which `instant` an interval counts from; see
    /// [`Scheduler`](crate::Scheduler).
    ///
    /// A cron is matched on the zone's wall clock. A fixed time that a spring-forward gap skips
    /// fires once, at the first instant after the gap; a fixed time that a fall-back overlap
    /// repeats fires once, on its first pass. Wildcard or stepped hours (`0 */15 * * * ?`)
    /// follow real time instead: the skipped hour has no fires and the repeated hour's fire on
    /// both passes, so the gaps between fires stay as written.
    pub fn next_after(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.trigger {
            Trigger::Every(every) => instant.checked_add_signed(*every),
            Trigger::Cron(cron) => cron.next_after(instant, self.zone),
            Trigger::After(_) => None,
        }
    }

    /// The next `count` fire times after `from`, on the schedule's zone, for previewing a
    /// schedule. Empty for an `after` schedule; shorter than `count` when the schedule ends.
    pub fn preview(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count.min(1_000));
        let mut at = from;
        while out.len() < count {
            let Some(next) = self.next_after(at) else {
                break;
            };
            out.push(next.with_timezone(&self.zone));
            at = next;
        }
        out
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.trigger {
            Trigger::Every(every) => match every.to_std() {
                Ok(std) => write!(f, "every {}", humantime::format_duration(std)),
                Err(_) => write!(f, "every {every}"),
            },
            Trigger::Cron(cron) => write!(f, "cron `{}` in {}", cron.source(), self.zone),
            Trigger::After(flow) => write!(f, "after `{flow}` succeeds"),
        }
    }
}

fn parse_zone(timezone: Option<&str>) -> Result<Tz, ScheduleError> {
    let Some(raw) = timezone else {
        return Ok(Tz::UTC);
    };
    let name = raw.trim();
    if name.is_empty() {
        return Err(ScheduleError::invalid(
            Field::Timezone,
            "is empty; give an IANA zone such as `Europe/Istanbul`, or leave it out for UTC",
        ));
    }
    name.parse::<Tz>().map_err(|_| {
        ScheduleError::invalid(
            Field::Timezone,
            format!("`{name}` is not an IANA time zone (such as `Europe/Istanbul` or `UTC`)"),
        )
    })
}

fn parse_interval(raw: &str) -> Result<TimeDelta, ScheduleError> {
    let text = raw.trim();
    let bad = |reason: String| ScheduleError::invalid(Field::Every, reason);
    let std = humantime::parse_duration(text).map_err(|e| {
        bad(format!(
            "`{text}` is not a duration ({e}); write e.g. `30s`, `5m`, `1h`, `1d` or `7days`"
        ))
    })?;
    if std.is_zero() {
        return Err(bad(format!(
            "`{text}` is zero; a flow cannot run continuously"
        )));
    }
    let every = TimeDelta::from_std(std)
        .map_err(|_| bad(format!("`{text}` is longer than any date can hold")))?;
    if every < MIN_INTERVAL {
        return Err(bad(format!("`{text}` is shorter than the minimum of 1s")));
    }
    Ok(every)
}
