//! Fire times and validation of single schedules, with fixed instants for a clock.
// Test helpers outside #[test] fns are not covered by clippy.toml's test allowance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use omnibridge_schedule::{Dialect, Field, MIN_INTERVAL, Schedule, ScheduleError, ScheduleSpec};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn cron(expr: &str, tz: &str) -> Schedule {
    Schedule::parse(&ScheduleSpec {
        cron: Some(expr.into()),
        timezone: Some(tz.into()),
        ..ScheduleSpec::default()
    })
    .unwrap()
}

fn every(text: &str) -> Schedule {
    Schedule::parse(&ScheduleSpec {
        every: Some(text.into()),
        ..ScheduleSpec::default()
    })
    .unwrap()
}

/// The fire times after `from` as the scheduler walks them: each from the previous one.
fn fires(schedule: &Schedule, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    schedule
        .preview(from, count)
        .into_iter()
        .map(|t| t.with_timezone(&Utc))
        .collect()
}

/// The fire times as `YYYY-MM-DD HH:MM:SS ZONE` on the schedule's wall clock.
fn local_fires(schedule: &Schedule, from: DateTime<Utc>, count: usize) -> Vec<String> {
    schedule
        .preview(from, count)
        .into_iter()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string())
        .collect()
}

fn spec_error(spec: ScheduleSpec) -> ScheduleError {
    Schedule::parse(&spec).unwrap_err()
}

fn cron_error(expr: &str) -> String {
    let err = spec_error(ScheduleSpec {
        cron: Some(expr.into()),
        ..ScheduleSpec::default()
    });
    assert_eq!(err.field(), Some(Field::Cron), "{err}");
    err.to_string()
}

// ---- intervals ----

#[test]
fn interval_forms_parse_to_their_length() {
    assert_eq!(every("30s").every(), Some(TimeDelta::seconds(30)));
    assert_eq!(every("5m").every(), Some(TimeDelta::minutes(5)));
    assert_eq!(every("1h").every(), Some(TimeDelta::hours(1)));
    assert_eq!(every("1d").every(), Some(TimeDelta::days(1)));
    assert_eq!(every("7days").every(), Some(TimeDelta::days(7)));
    assert_eq!(every(" 1h 30m ").every(), Some(TimeDelta::minutes(90)));
    assert_eq!(every("1s").every(), Some(MIN_INTERVAL));
}

#[test]
fn interval_next_fire_is_the_instant_plus_the_interval() {
    let s = every("5m");
    assert_eq!(
        s.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 1, 0, 5, 0))
    );
    assert_eq!(
        fires(&s, utc(2025, 1, 1, 0, 0, 0), 3),
        [
            utc(2025, 1, 1, 0, 5, 0),
            utc(2025, 1, 1, 0, 10, 0),
            utc(2025, 1, 1, 0, 15, 0)
        ]
    );
}

#[test]
fn interval_is_elapsed_time_across_new_york_spring_forward() {
    let s = Schedule::parse(&ScheduleSpec {
        every: Some("1d".into()),
        timezone: Some("America/New_York".into()),
        ..ScheduleSpec::default()
    })
    .unwrap();
    // 10:00 EST on the 8th; 24 hours later the clocks have sprung forward, so it is 11:00 EDT.
    let from = utc(2025, 3, 8, 15, 0, 0);
    assert_eq!(
        local_fires(&s, from, 2),
        ["2025-03-09 11:00:00 EDT", "2025-03-10 11:00:00 EDT"]
    );
}

#[test]
fn interval_in_istanbul_keeps_its_wall_clock_over_the_old_dst_dates() {
    let s = Schedule::parse(&ScheduleSpec {
        every: Some("1d".into()),
        timezone: Some("Europe/Istanbul".into()),
        ..ScheduleSpec::default()
    })
    .unwrap();
    // Europe changed clocks on 30 March and 26 October 2025; Istanbul has stayed at +03 since 2016.
    let from = utc(2025, 3, 29, 7, 0, 0);
    assert_eq!(
        local_fires(&s, from, 2),
        ["2025-03-30 10:00:00 +03", "2025-03-31 10:00:00 +03"]
    );
    let from = utc(2025, 10, 25, 7, 0, 0);
    assert_eq!(
        local_fires(&s, from, 2),
        ["2025-10-26 10:00:00 +03", "2025-10-27 10:00:00 +03"]
    );
}

// ---- cron and time zones ----

#[test]
fn cron_in_istanbul_fires_at_the_same_utc_time_since_2016() {
    let s = cron("0 0 10 * * ?", "Europe/Istanbul");
    assert_eq!(
        fires(&s, utc(2025, 3, 29, 0, 0, 0), 3),
        [
            utc(2025, 3, 29, 7, 0, 0),
            utc(2025, 3, 30, 7, 0, 0),
            utc(2025, 3, 31, 7, 0, 0)
        ]
    );
    assert_eq!(
        fires(&s, utc(2025, 10, 25, 0, 0, 0), 3),
        [
            utc(2025, 10, 25, 7, 0, 0),
            utc(2025, 10, 26, 7, 0, 0),
            utc(2025, 10, 27, 7, 0, 0)
        ]
    );
}

#[test]
fn cron_in_istanbul_follows_the_zone_history_before_2016() {
    // Istanbul still had summer time in 2015 (EEST, +03, from 29 March).
    let s = cron("0 0 10 * * ?", "Europe/Istanbul");
    assert_eq!(
        fires(&s, utc(2015, 3, 28, 0, 0, 0), 2),
        [utc(2015, 3, 28, 8, 0, 0), utc(2015, 3, 29, 7, 0, 0)]
    );
}

#[test]
fn new_york_spring_forward_gap_fires_a_0230_cron_once_at_0300() {
    let s = cron("0 30 2 * * ?", "America/New_York");
    assert_eq!(
        local_fires(&s, utc(2025, 3, 8, 17, 0, 0), 3),
        [
            "2025-03-09 03:00:00 EDT",
            "2025-03-10 02:30:00 EDT",
            "2025-03-11 02:30:00 EDT"
        ]
    );
    // Asked from inside the gap day after 03:00, nothing more fires that day.
    assert_eq!(
        s.next_after(utc(2025, 3, 9, 7, 0, 0)),
        Some(utc(2025, 3, 10, 6, 30, 0))
    );
}

#[test]
fn new_york_spring_forward_gap_in_five_field_unix_cron() {
    let s = cron("30 2 * * *", "America/New_York");
    assert_eq!(s.cron_dialect(), Some(Dialect::Unix));
    assert_eq!(
        local_fires(&s, utc(2025, 3, 8, 17, 0, 0), 2),
        ["2025-03-09 03:00:00 EDT", "2025-03-10 02:30:00 EDT"]
    );
}

#[test]
fn new_york_fall_back_overlap_fires_a_0130_cron_once() {
    let s = cron("0 30 1 * * ?", "America/New_York");
    // 01:30 happens twice on 2 November 2025 (05:30 and 06:30 UTC); it fires on the first only.
    assert_eq!(
        fires(&s, utc(2025, 11, 1, 12, 0, 0), 3),
        [
            utc(2025, 11, 2, 5, 30, 0),
            utc(2025, 11, 3, 6, 30, 0),
            utc(2025, 11, 4, 6, 30, 0)
        ]
    );
    // Even asked from between the two passes.
    assert_eq!(
        s.next_after(utc(2025, 11, 2, 6, 0, 0)),
        Some(utc(2025, 11, 3, 6, 30, 0))
    );
}

#[test]
fn hourly_cron_keeps_real_time_spacing_over_new_york_dst() {
    let s = cron("0 30 * * * ?", "America/New_York");
    // Fall back: 01:30 EDT and 01:30 EST are an hour apart, so both fire.
    assert_eq!(
        local_fires(&s, utc(2025, 11, 2, 4, 45, 0), 3),
        [
            "2025-11-02 01:30:00 EDT",
            "2025-11-02 01:30:00 EST",
            "2025-11-02 02:30:00 EST"
        ]
    );
    // Spring forward: 02:30 does not exist; 01:30 EST to 03:30 EDT is one real hour.
    assert_eq!(
        fires(&s, utc(2025, 3, 9, 6, 0, 0), 2),
        [utc(2025, 3, 9, 6, 30, 0), utc(2025, 3, 9, 7, 30, 0)]
    );
}

#[test]
fn quartz_l_is_the_last_day_of_the_month() {
    let s = cron("0 0 12 L * ?", "UTC");
    assert_eq!(s.cron_dialect(), Some(Dialect::Quartz));
    assert_eq!(
        fires(&s, utc(2024, 1, 15, 0, 0, 0), 4),
        [
            utc(2024, 1, 31, 12, 0, 0),
            utc(2024, 2, 29, 12, 0, 0),
            utc(2024, 3, 31, 12, 0, 0),
            utc(2024, 4, 30, 12, 0, 0)
        ]
    );
}

#[test]
fn quartz_l_minus_two_is_two_days_before_the_last() {
    let s = cron("0 0 12 L-2 * ?", "UTC");
    assert_eq!(
        fires(&s, utc(2024, 1, 1, 0, 0, 0), 5),
        [
            utc(2024, 1, 29, 12, 0, 0),
            utc(2024, 2, 27, 12, 0, 0),
            utc(2024, 3, 29, 12, 0, 0),
            utc(2024, 4, 28, 12, 0, 0),
            utc(2024, 5, 29, 12, 0, 0)
        ]
    );
    assert_eq!(
        s.next_after(utc(2025, 2, 1, 0, 0, 0)),
        Some(utc(2025, 2, 26, 12, 0, 0))
    );
}

#[test]
fn quartz_l_minus_n_in_a_zone_and_at_its_extremes() {
    let s = cron("0 0 9 L-1 * ?", "Europe/Istanbul");
    assert_eq!(
        local_fires(&s, utc(2025, 1, 1, 0, 0, 0), 2),
        ["2025-01-30 09:00:00 +03", "2025-02-27 09:00:00 +03"]
    );
    // L-0 is L.
    let s = cron("0 0 12 L-0 * ?", "UTC");
    assert_eq!(
        s.next_after(utc(2025, 2, 1, 0, 0, 0)),
        Some(utc(2025, 2, 28, 12, 0, 0))
    );
    // L-30 is the 1st of the 31-day months only.
    let s = cron("0 0 0 L-30 * ?", "UTC");
    assert_eq!(
        fires(&s, utc(2025, 1, 15, 0, 0, 0), 2),
        [utc(2025, 3, 1, 0, 0, 0), utc(2025, 5, 1, 0, 0, 0)]
    );
    // Every minute of that day, not of the days around it.
    let s = cron("0 * * L-2 * ?", "UTC");
    assert_eq!(
        fires(&s, utc(2025, 2, 26, 23, 58, 0), 3),
        [
            utc(2025, 2, 26, 23, 59, 0),
            utc(2025, 3, 29, 0, 0, 0),
            utc(2025, 3, 29, 0, 1, 0)
        ]
    );
}

#[test]
fn quartz_w_is_the_nearest_weekday_within_the_month() {
    let s = cron("0 0 12 15W * ?", "UTC");
    // 15 February 2025 is a Saturday: Friday the 14th. 15 June 2025 is a Sunday: Monday the 16th.
    assert_eq!(
        s.next_after(utc(2025, 2, 1, 0, 0, 0)),
        Some(utc(2025, 2, 14, 12, 0, 0))
    );
    assert_eq!(
        s.next_after(utc(2025, 6, 1, 0, 0, 0)),
        Some(utc(2025, 6, 16, 12, 0, 0))
    );
    // 31 May 2025 is a Saturday: LW is Friday the 30th.
    let s = cron("0 0 12 LW * ?", "UTC");
    assert_eq!(
        s.next_after(utc(2025, 5, 1, 0, 0, 0)),
        Some(utc(2025, 5, 30, 12, 0, 0))
    );
}

#[test]
fn quartz_hash_is_the_nth_weekday_and_weekdays_count_from_sunday() {
    // Quartz: 6 is Friday, so 6#3 is the third Friday.
    let s = cron("0 0 12 ? * 6#3", "UTC");
    assert_eq!(
        fires(&s, utc(2025, 1, 1, 0, 0, 0), 2),
        [utc(2025, 1, 17, 12, 0, 0), utc(2025, 2, 21, 12, 0, 0)]
    );
    let s = cron("0 0 12 ? * MON#1", "UTC");
    assert_eq!(
        s.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 6, 12, 0, 0))
    );
    // 6L: the last Friday.
    let s = cron("0 0 12 ? * 6L", "UTC");
    assert_eq!(
        s.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 31, 12, 0, 0))
    );
}

#[test]
fn quartz_question_mark_and_weekday_numbers() {
    // 2 is Monday in Quartz; 1 Sunday; a bare L is Saturday.
    let monday = cron("0 0 9 ? * 2", "UTC");
    assert_eq!(
        monday.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 6, 9, 0, 0))
    );
    let sunday = cron("0 0 9 ? * 1", "UTC");
    assert_eq!(
        sunday.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 5, 9, 0, 0))
    );
    let saturday = cron("0 0 9 ? * L", "UTC");
    assert_eq!(
        saturday.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 4, 9, 0, 0))
    );
    // `?` in day-of-week leaves day-of-month in charge.
    let tenth = cron("0 0 9 10 * ?", "UTC");
    assert_eq!(
        tenth.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 10, 9, 0, 0))
    );
    // Quartz steps like 0/15 are accepted.
    let quarter = cron("0 0/15 * * * ?", "UTC");
    assert_eq!(
        quarter.next_after(utc(2025, 1, 1, 0, 7, 0)),
        Some(utc(2025, 1, 1, 0, 15, 0))
    );
}

#[test]
fn quartz_seventh_field_is_the_year() {
    let s = cron("0 0 12 1 1 ? 2030", "UTC");
    assert_eq!(
        s.next_after(utc(2025, 6, 1, 0, 0, 0)),
        Some(utc(2030, 1, 1, 12, 0, 0))
    );
    // After its only fire it never fires again.
    assert_eq!(s.next_after(utc(2030, 1, 1, 12, 0, 0)), None);
    assert_eq!(s.preview(utc(2025, 6, 1, 0, 0, 0), 5).len(), 1);
    let stepped = cron("0 0 12 1 1 ? 2030/2", "UTC");
    assert_eq!(
        fires(&stepped, utc(2029, 1, 1, 0, 0, 0), 2),
        [utc(2030, 1, 1, 12, 0, 0), utc(2032, 1, 1, 12, 0, 0)]
    );
}

#[test]
fn unix_five_field_cron_has_no_seconds_and_sunday_as_0_or_7() {
    let s = cron("*/15 9-17 * * 1-5", "UTC");
    assert_eq!(s.cron_dialect(), Some(Dialect::Unix));
    // Friday 3 January 2025, 17:50: the next is Monday at 09:00.
    assert_eq!(
        s.next_after(utc(2025, 1, 3, 17, 50, 0)),
        Some(utc(2025, 1, 6, 9, 0, 0))
    );
    let sunday0 = cron("0 9 * * 0", "UTC");
    let sunday7 = cron("0 9 * * 7", "UTC");
    assert_eq!(
        sunday0.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 5, 9, 0, 0))
    );
    assert_eq!(
        sunday7.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 5, 9, 0, 0))
    );
    let daily = cron("@daily", "UTC");
    assert_eq!(
        daily.next_after(utc(2025, 1, 1, 0, 0, 0)),
        Some(utc(2025, 1, 2, 0, 0, 0))
    );
}

#[test]
fn cron_next_fire_is_strictly_after_the_instant_even_mid_second() {
    let s = cron("* * * * * ?", "UTC");
    let half = utc(2025, 1, 1, 10, 0, 0) + TimeDelta::milliseconds(500);
    assert_eq!(s.next_after(half), Some(utc(2025, 1, 1, 10, 0, 1)));
    assert_eq!(
        s.next_after(utc(2025, 1, 1, 10, 0, 0)),
        Some(utc(2025, 1, 1, 10, 0, 1))
    );
}

#[test]
fn cron_that_cannot_match_has_no_next_fire() {
    let s = cron("0 0 0 30 2 ?", "UTC");
    assert_eq!(s.next_after(utc(2025, 1, 1, 0, 0, 0)), None);
    assert!(s.preview(utc(2025, 1, 1, 0, 0, 0), 3).is_empty());
}

#[test]
fn after_schedule_has_no_fire_times() {
    let s = Schedule::parse(&ScheduleSpec {
        after: Some(" import-products ".into()),
        ..ScheduleSpec::default()
    })
    .unwrap();
    assert_eq!(s.after(), Some("import-products"));
    assert!(!s.is_timed());
    assert_eq!(s.next_after(utc(2025, 1, 1, 0, 0, 0)), None);
    assert!(s.preview(utc(2025, 1, 1, 0, 0, 0), 3).is_empty());
}

// ---- preview and bare expressions ----

#[test]
fn preview_of_a_bare_cron_expression_in_istanbul() {
    let s = Schedule::parse_expression("0 0 9 ? * MON-FRI", Some("Europe/Istanbul")).unwrap();
    assert_eq!(s.zone(), Tz::Europe__Istanbul);
    // Thursday 2 January 2025.
    assert_eq!(
        local_fires(&s, utc(2025, 1, 2, 5, 0, 0), 3),
        [
            "2025-01-02 09:00:00 +03",
            "2025-01-03 09:00:00 +03",
            "2025-01-06 09:00:00 +03"
        ]
    );
    assert_eq!(s.to_string(), "cron `0 0 9 ? * MON-FRI` in Europe/Istanbul");
}

#[test]
fn bare_expressions_that_look_like_durations_are_intervals() {
    let s = Schedule::parse_expression("5m", None).unwrap();
    assert_eq!(s.every(), Some(TimeDelta::minutes(5)));
    assert_eq!(s.to_string(), "every 5m");
    let s = Schedule::parse_expression("7 days", None).unwrap();
    assert_eq!(s.every(), Some(TimeDelta::days(7)));
    assert_eq!(s.zone(), Tz::UTC);
    let s = Schedule::parse_expression("@hourly", None).unwrap();
    assert_eq!(s.cron(), Some("@hourly"));
    let err = Schedule::parse_expression("5 parsecs", None).unwrap_err();
    assert_eq!(err.field(), Some(Field::Every));
    let err = Schedule::parse_expression("* * * * * * * *", None).unwrap_err();
    assert_eq!(err.field(), Some(Field::Cron));
    let err = Schedule::parse_expression("5m", Some("Mars/Olympus")).unwrap_err();
    assert_eq!(err.field(), Some(Field::Timezone));
}

// ---- validation ----

#[test]
fn refuses_a_zero_interval() {
    let err = spec_error(ScheduleSpec {
        every: Some("0s".into()),
        ..ScheduleSpec::default()
    });
    assert_eq!(err.field(), Some(Field::Every));
    let msg = err.to_string();
    assert!(msg.starts_with("schedule.every: `0s` is zero"), "{msg}");
}

#[test]
fn refuses_an_unknown_duration_unit() {
    let err = spec_error(ScheduleSpec {
        every: Some("5 parsecs".into()),
        ..ScheduleSpec::default()
    });
    let msg = err.to_string();
    assert!(
        msg.starts_with("schedule.every: `5 parsecs` is not a duration"),
        "{msg}"
    );
    assert!(msg.contains("parsecs"), "{msg}");
}

#[test]
fn refuses_an_interval_under_one_second() {
    let err = spec_error(ScheduleSpec {
        every: Some("500ms".into()),
        ..ScheduleSpec::default()
    });
    let msg = err.to_string();
    assert!(
        msg.starts_with("schedule.every: `500ms` is shorter than the minimum of 1s"),
        "{msg}"
    );
}

#[test]
fn refuses_a_four_field_cron() {
    let msg = cron_error("* * * *");
    assert!(
        msg.starts_with("schedule.cron: `* * * *` has 4 fields; expected 6 or 7"),
        "{msg}"
    );
}

#[test]
fn refuses_an_out_of_range_second_naming_the_field() {
    let msg = cron_error("99 * * * * ?");
    assert_eq!(
        msg,
        "schedule.cron: `99 * * * * ?` field 1 (second) `99`: number out of bounds; allowed: 0-59"
    );
}

#[test]
fn refuses_out_of_range_values_in_other_fields_naming_each() {
    assert!(cron_error("0 0 24 * * ?").contains("field 3 (hour) `24`"));
    assert!(cron_error("0 0 12 32 * ?").contains("field 4 (day-of-month) `32`"));
    assert!(cron_error("0 0 12 ? 13 *").contains("field 5 (month) `13`"));
    assert!(cron_error("0 0 12 ? * 0").contains("field 6 (day-of-week) `0`"));
    assert!(cron_error("0 0 12 ? * 6#6").contains("field 6 (day-of-week) `6#6`"));
    assert!(cron_error("0 0 12 ? * * 5001").contains("field 7 (year) `5001`"));
    assert!(cron_error("60 * * * *").contains("field 1 (minute) `60`"));
    assert!(cron_error("0 0 12 L-31 * ?").contains("field 4 (day-of-month) `L-31`"));
    assert!(cron_error("0 0 12 ? * FOO").contains("field 6 (day-of-week)"));
    assert!(cron_error("@fortnightly").contains("nickname"));
    assert!(cron_error("   ").contains("is empty"));
}

#[test]
fn refuses_both_day_fields_in_quartz() {
    let msg = cron_error("0 0 12 1 * MON");
    assert!(
        msg.contains("sets both day-of-month (`1`) and day-of-week (`MON`)"),
        "{msg}"
    );
}

#[test]
fn refuses_an_unknown_time_zone() {
    let err = spec_error(ScheduleSpec {
        cron: Some("0 0 12 * * ?".into()),
        timezone: Some("Mars/Olympus".into()),
        ..ScheduleSpec::default()
    });
    assert_eq!(err.field(), Some(Field::Timezone));
    assert!(
        err.to_string()
            .starts_with("schedule.timezone: `Mars/Olympus` is not an IANA time zone"),
        "{err}"
    );
}

#[test]
fn refuses_more_than_one_trigger_naming_them() {
    let err = spec_error(ScheduleSpec {
        every: Some("5m".into()),
        cron: Some("0 0 12 * * ?".into()),
        after: Some("orders".into()),
        timezone: None,
    });
    assert_eq!(
        err,
        ScheduleError::Conflicting(vec![Field::Every, Field::Cron, Field::After])
    );
    assert!(
        err.to_string()
            .ends_with("found schedule.every and schedule.cron and schedule.after"),
        "{err}"
    );
}

#[test]
fn refuses_no_trigger_and_says_an_empty_spec_is_no_schedule() {
    assert!(ScheduleSpec::default().is_empty());
    assert_eq!(spec_error(ScheduleSpec::default()), ScheduleError::Missing);
    let only_zone = ScheduleSpec {
        timezone: Some("UTC".into()),
        ..ScheduleSpec::default()
    };
    assert!(!only_zone.is_empty());
    assert_eq!(spec_error(only_zone), ScheduleError::Missing);
}

#[test]
fn refuses_an_after_naming_no_flow() {
    let err = spec_error(ScheduleSpec {
        after: Some("  ".into()),
        ..ScheduleSpec::default()
    });
    assert_eq!(err.to_string(), "schedule.after: names no flow");
}
