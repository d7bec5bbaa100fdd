//! Cron expressions: Quartz (6 or 7 fields) or Unix (5 fields), evaluated in a time zone.
//!
//! croner does the parsing and the searching, DST included. What it lacks for Quartz is done
//! here: `L-n` in day-of-month (n-th day before the last), `L` alone in day-of-week (Saturday),
//! refusing a day-of-month and a day-of-week that are both set (Quartz refuses it; croner would
//! OR them), and error messages that name the field at fault.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::error::{Field, ScheduleError};

/// A wrong candidate day for `L-n` moves the search one day on; with at most four candidate
/// days a month this bounds a search far beyond any real schedule, so a pattern that can never
/// match (`L-30` in February only) ends instead of spinning.
const MAX_LAST_DAY_STEPS: usize = 2_000;

/// Which cron convention an expression follows, decided by its field count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `sec min hour day-of-month month day-of-week [year]`, weekdays 1–7 = SUN–SAT.
    Quartz,
    /// `min hour day-of-month month day-of-week`, weekdays 0–7 (0 and 7 are Sunday).
    Unix,
}

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub(crate) struct CronExpr {
    source: String,
    dialect: Dialect,
    cron: Cron,
    /// `Some(n)` for a Quartz `L-n` day-of-month: croner is given the days it can fall on and
    /// this filters them to the one that is n days before the month's last.
    days_before_last: Option<u32>,
}

struct FieldInfo {
    name: &'static str,
    allowed: &'static str,
}

const QUARTZ_FIELDS: [FieldInfo; 7] = [
    FieldInfo {
        name: "second",
        allowed: "0-59",
    },
    FieldInfo {
        name: "minute",
        allowed: "0-59",
    },
    FieldInfo {
        name: "hour",
        allowed: "0-23",
    },
    FieldInfo {
        name: "day-of-month",
        allowed: "1-31, ?, L, L-n, nW, LW",
    },
    FieldInfo {
        name: "month",
        allowed: "1-12 or JAN-DEC",
    },
    FieldInfo {
        name: "day-of-week",
        allowed: "1-7 or SUN-SAT, ?, nL, n#k",
    },
    FieldInfo {
        name: "year",
        allowed: "1-5000",
    },
];

const UNIX_FIELDS: [FieldInfo; 5] = [
    FieldInfo {
        name: "minute",
        allowed: "0-59",
    },
    FieldInfo {
        name: "hour",
        allowed: "0-23",
    },
    FieldInfo {
        name: "day-of-month",
        allowed: "1-31, ?, L, nW, LW",
    },
    FieldInfo {
        name: "month",
        allowed: "1-12 or JAN-DEC",
    },
    FieldInfo {
        name: "day-of-week",
        allowed: "0-7 or SUN-SAT, nL, n#k",
    },
];

fn quartz_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Optional)
        // Quartz numbers weekdays 1-7 from Sunday and accepts `0/15` steps.
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
}

fn unix_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

fn is_any(field: &str) -> bool {
    field == "*" || field == "?"
}

impl CronExpr {
    /// Parses `source`; 6 or 7 fields are Quartz, 5 are Unix, `@daily` and friends are Unix
    /// nicknames.
    pub(crate) fn parse(source: &str) -> Result<Self, ScheduleError> {
        let trimmed = source.trim();
        let bad = |reason: String| ScheduleError::invalid(Field::Cron, reason);
        if trimmed.is_empty() {
            return Err(bad("is empty".into()));
        }
        if trimmed.starts_with('@') {
            let cron = unix_parser().parse(trimmed).map_err(|e| {
                bad(format!(
                    "`{trimmed}` is not a known nickname (@yearly, @monthly, @weekly, @daily, @hourly): {e}"
                ))
            })?;
            return Ok(CronExpr {
                source: trimmed.to_string(),
                dialect: Dialect::Unix,
                cron,
                days_before_last: None,
            });
        }
        // croner reads names and letters in upper case; so do the Quartz checks below.
        let mut fields: Vec<String> = trimmed
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let (dialect, infos): (Dialect, &[FieldInfo]) = match fields.len() {
            5 => (Dialect::Unix, &UNIX_FIELDS),
            6 | 7 => (Dialect::Quartz, &QUARTZ_FIELDS),
            n => {
                return Err(bad(format!(
                    "`{trimmed}` has {n} field{}; expected 6 or 7 (Quartz: second minute hour \
                     day-of-month month day-of-week [year]) or 5 (Unix: minute hour day-of-month \
                     month day-of-week)",
                    if n == 1 { "" } else { "s" }
                )));
            }
        };
        let mut days_before_last = None;
        if dialect == Dialect::Quartz {
            if !is_any(&fields[3]) && !is_any(&fields[5]) {
                return Err(bad(format!(
                    "`{trimmed}` sets both day-of-month (`{}`) and day-of-week (`{}`); as in \
                     Quartz, one of them must be `?`",
                    fields[3], fields[5]
                )));
            }
            if let Some(offset) = fields[3].strip_prefix("L-") {
                let n: u32 = offset.parse().ok().filter(|n| *n <= 30).ok_or_else(|| {
                    bad(format!(
                        "`{trimmed}` field 4 (day-of-month) `{}`: L-n needs n from 0 to 30",
                        fields[3]
                    ))
                })?;
                // Months have 28 to 31 days, so n days before the last is one of these four.
                let first = 28u32.saturating_sub(n).max(1);
                let last = 31 - n;
                fields[3] = if first == last {
                    first.to_string()
                } else {
                    format!("{first}-{last}")
                };
                days_before_last = Some(n);
            }
            // Quartz reads a bare `L` in day-of-week as its last day, Saturday.
            if fields[5] == "L" {
                fields[5] = "7".into();
            }
        }
        let parser = match dialect {
            Dialect::Quartz => quartz_parser(),
            Dialect::Unix => unix_parser(),
        };
        let cron = parser.parse(&fields.join(" ")).map_err(|whole| {
            bad(describe_failure(
                trimmed, &fields, infos, dialect, &parser, &whole,
            ))
        })?;
        Ok(CronExpr {
            source: trimmed.to_string(),
            dialect,
            cron,
            days_before_last,
        })
    }

    /// The expression as written (trimmed).
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The first fire time strictly after `instant`, reckoned on `zone`'s wall clock.
    ///
    /// croner settles DST: a fixed time in a spring-forward gap fires once at the first instant
    /// after the gap; a fixed time in a fall-back overlap fires once, on its first pass. A
    /// wildcard or stepped hour follows real time: the missing hour has no fires and the
    /// repeated hour's are fired on both passes, since each is a distinct instant.
    pub(crate) fn next_after(&self, instant: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let mut from = instant.with_timezone(&zone);
        let mut inclusive = false;
        for _ in 0..MAX_LAST_DAY_STEPS {
            let candidate = self.cron.find_next_occurrence(&from, inclusive).ok()?;
            let Some(n) = self.days_before_last else {
                return Some(candidate.with_timezone(&Utc));
            };
            let last = last_day_of_month(candidate.year(), candidate.month())?;
            if last.checked_sub(n) == Some(candidate.day()) {
                return Some(candidate.with_timezone(&Utc));
            }
            // A day that is not n before the last: nothing on it can match, go to the next day.
            from = start_of_next_day(&candidate, zone)?;
            inclusive = true;
        }
        None
    }
}

/// The first instant of the local day after `t`'s, even where midnight is in a DST gap.
fn start_of_next_day(t: &DateTime<Tz>, zone: Tz) -> Option<DateTime<Tz>> {
    let next = t.date_naive().succ_opt()?;
    let midnight = next.and_hms_opt(0, 0, 0)?;
    if let Some(earliest) = zone.from_local_datetime(&midnight).earliest() {
        return Some(earliest);
    }
    // Midnight was skipped by a DST change: croner's fixed-time rule puts `0 0 0 * * ?` at the
    // first instant after the gap, which is the day's first instant.
    let daily = quartz_parser().parse("0 0 0 * * ?").ok()?;
    daily.find_next_occurrence(t, false).ok()
}

fn last_day_of_month(year: i32, month: u32) -> Option<u32> {
    let (y, m) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    Some(NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()?.day())
}

/// Says which field made croner refuse the expression: each field is parsed alone, the others
/// set to match anything, so the message can name the field, quote it and give its range.
fn describe_failure(
    source: &str,
    fields: &[String],
    infos: &[FieldInfo],
    dialect: Dialect,
    parser: &CronParser,
    whole: &croner::errors::CronError,
) -> String {
    for (i, field) in fields.iter().enumerate() {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| {
                if j == i {
                    field.as_str()
                } else if dialect == Dialect::Quartz && j == 0 {
                    "0"
                } else {
                    "*"
                }
            })
            .collect();
        if let Err(e) = parser.parse(&alone.join(" ")) {
            let info = &infos[i];
            return format!(
                "`{source}` field {} ({}) `{field}`: {}; allowed: {}",
                i + 1,
                info.name,
                croner_reason(&e),
                info.allowed
            );
        }
    }
    format!("`{source}`: {}", croner_reason(whole))
}

/// croner's message without its "Component error:" style prefix and trailing full stop, in
/// lower case to read on after a colon.
fn croner_reason(e: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    let text = match e {
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => m.clone(),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
