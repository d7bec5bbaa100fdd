//! The scheduler's decisions, driven by plain instants for a clock.
// Test helpers outside #[test] fns are not covered by clippy.toml's test allowance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use omnibridge_schedule::{
    Decision, FlowId, Schedule, ScheduleSpec, Scheduler, SchedulerError, SkipReason,
};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn t0() -> DateTime<Utc> {
    utc(2025, 1, 1, 0, 0, 0)
}

fn id(name: &str) -> FlowId {
    FlowId::from(name)
}

fn every(text: &str) -> Option<Schedule> {
    Some(
        Schedule::parse(&ScheduleSpec {
            every: Some(text.into()),
            ..ScheduleSpec::default()
        })
        .unwrap(),
    )
}

fn cron(expr: &str) -> Option<Schedule> {
    Some(
        Schedule::parse(&ScheduleSpec {
            cron: Some(expr.into()),
            ..ScheduleSpec::default()
        })
        .unwrap(),
    )
}

fn after(flow: &str) -> Option<Schedule> {
    Some(
        Schedule::parse(&ScheduleSpec {
            after: Some(flow.into()),
            ..ScheduleSpec::default()
        })
        .unwrap(),
    )
}

fn scheduler(flows: Vec<(&str, Option<Schedule>)>) -> Scheduler {
    Scheduler::new(flows.into_iter().map(|(name, s)| (id(name), s))).unwrap()
}

fn build_error(flows: Vec<(&str, Option<Schedule>)>) -> SchedulerError {
    Scheduler::new(flows.into_iter().map(|(name, s)| (id(name), s))).unwrap_err()
}

fn fire(name: &str) -> Decision {
    Decision::Fire(id(name))
}

fn no_history() -> Vec<(FlowId, DateTime<Utc>)> {
    Vec::new()
}

#[test]
fn new_flow_fires_one_interval_after_start_then_on_its_grid() {
    let mut s = scheduler(vec![("a", every("5m"))]);
    assert_eq!(s.start(t0(), no_history()), []);
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(5)));
    assert_eq!(s.sleep_until(), Some(t0() + TimeDelta::minutes(5)));
    assert_eq!(s.due(t0() + TimeDelta::minutes(4)), []);
    assert_eq!(s.due(t0() + TimeDelta::minutes(5)), [fire("a")]);
    assert_eq!(s.last_fire(&id("a")), Some(t0() + TimeDelta::minutes(5)));
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(10)));
    // A tick 30 s late does not shift the grid.
    assert_eq!(s.due(t0() + TimeDelta::seconds(630)), [fire("a")]);
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(15)));
    // A tick three intervals late fires once and lands back on the grid.
    assert_eq!(s.due(t0() + TimeDelta::seconds(1930)), [fire("a")]);
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(35)));
}

#[test]
fn cron_flow_fires_at_each_match() {
    let mut s = scheduler(vec![("c", cron("0 0 * * * ?"))]);
    assert_eq!(s.start(utc(2025, 1, 1, 0, 10, 0), no_history()), []);
    assert_eq!(s.next_fire(&id("c")), Some(utc(2025, 1, 1, 1, 0, 0)));
    assert_eq!(s.due(utc(2025, 1, 1, 1, 0, 0)), [fire("c")]);
    assert_eq!(s.next_fire(&id("c")), Some(utc(2025, 1, 1, 2, 0, 0)));
    // Late by 2.5 hours: one fire, next at the first match after now.
    assert_eq!(s.due(utc(2025, 1, 1, 4, 30, 0)), [fire("c")]);
    assert_eq!(s.next_fire(&id("c")), Some(utc(2025, 1, 1, 5, 0, 0)));
}

#[test]
fn tick_while_running_is_skipped_and_runs_never_overlap() {
    let mut s = scheduler(vec![("a", every("1m"))]);
    s.start(t0(), no_history());
    assert_eq!(s.due(t0() + TimeDelta::minutes(1)), [fire("a")]);
    s.started(&id("a")).unwrap();
    assert!(s.is_running(&id("a")));
    assert_eq!(
        s.due(t0() + TimeDelta::minutes(2)),
        [Decision::Skipped(id("a"), SkipReason::StillRunning)]
    );
    assert_eq!(SkipReason::StillRunning.to_string(), "still running");
    // The skipped tick is not fired later; the next one is.
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(3)));
    assert_eq!(s.last_fire(&id("a")), Some(t0() + TimeDelta::minutes(1)));
    assert_eq!(
        s.finished(&id("a"), true, t0() + TimeDelta::seconds(150)),
        Ok(vec![])
    );
    assert_eq!(s.due(t0() + TimeDelta::seconds(150)), []);
    assert_eq!(s.due(t0() + TimeDelta::minutes(3)), [fire("a")]);
}

#[test]
fn down_for_ten_intervals_fires_once_at_start() {
    let mut s = scheduler(vec![("a", every("1m")), ("c", cron("0 * * * * ?"))]);
    let last = t0();
    let now = t0() + TimeDelta::seconds(10 * 60 + 30);
    let decisions = s.start(now, vec![(id("a"), last), (id("c"), last)]);
    assert_eq!(decisions, [fire("a"), fire("c")]);
    // Nothing more is due at start: the missed ticks are not made up one by one.
    assert_eq!(s.due(now), []);
    assert_eq!(s.last_fire(&id("a")), Some(now));
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::minutes(11)));
    assert_eq!(s.next_fire(&id("c")), Some(t0() + TimeDelta::minutes(11)));
    assert_eq!(s.due(t0() + TimeDelta::minutes(11)), [fire("a"), fire("c")]);
}

#[test]
fn restart_before_the_next_fire_keeps_the_interval_and_catches_nothing_up() {
    let mut s = scheduler(vec![("a", every("1h"))]);
    let last = t0();
    let now = t0() + TimeDelta::minutes(20);
    assert_eq!(
        s.start(now, vec![(id("a"), last), (id("unknown"), last)]),
        []
    );
    assert_eq!(s.next_fire(&id("a")), Some(t0() + TimeDelta::hours(1)));
}

#[test]
fn after_chain_fires_dependents_on_success_only() {
    let mut s = scheduler(vec![
        ("import", every("1h")),
        ("enrich", after("import")),
        ("export", after("enrich")),
        ("audit", after("import")),
        ("manual", None),
    ]);
    assert_eq!(s.start(t0(), no_history()), []);
    // `after` and unscheduled flows have no fire times of their own.
    assert_eq!(s.next_fire(&id("enrich")), None);
    assert_eq!(s.next_fire(&id("manual")), None);
    assert_eq!(s.sleep_until(), Some(t0() + TimeDelta::hours(1)));

    let at = t0() + TimeDelta::hours(1);
    assert_eq!(s.due(at), [fire("import")]);
    s.started(&id("import")).unwrap();
    // Failure fires nothing.
    assert_eq!(s.finished(&id("import"), false, at), Ok(vec![]));

    let at = t0() + TimeDelta::hours(2);
    assert_eq!(s.due(at), [fire("import")]);
    s.started(&id("import")).unwrap();
    let done = at + TimeDelta::minutes(3);
    assert_eq!(
        s.finished(&id("import"), true, done),
        Ok(vec![fire("audit"), fire("enrich")])
    );
    assert_eq!(s.last_fire(&id("enrich")), Some(done));
    s.started(&id("enrich")).unwrap();
    s.started(&id("audit")).unwrap();
    assert_eq!(s.finished(&id("audit"), true, done), Ok(vec![]));
    assert_eq!(
        s.finished(&id("enrich"), true, done),
        Ok(vec![fire("export")])
    );
}

#[test]
fn after_dependent_still_running_is_skipped_and_paused_one_left_out() {
    let mut s = scheduler(vec![
        ("manual", None),
        ("b", after("manual")),
        ("c", after("manual")),
    ]);
    s.start(t0(), no_history());
    s.started(&id("b")).unwrap();
    s.pause(&id("c")).unwrap();
    s.started(&id("manual")).unwrap();
    assert_eq!(
        s.finished(&id("manual"), true, t0()),
        Ok(vec![Decision::Skipped(id("b"), SkipReason::StillRunning)])
    );
    s.resume(&id("c"), t0()).unwrap();
    s.finished(&id("b"), true, t0()).unwrap();
    assert_eq!(
        s.finished(&id("manual"), true, t0()),
        Ok(vec![fire("b"), fire("c")])
    );
}

#[test]
fn refuses_after_cycles_naming_the_flows() {
    let err = build_error(vec![("a", after("b")), ("b", after("a"))]);
    assert_eq!(err, SchedulerError::Cycle(vec![id("a"), id("b"), id("a")]));
    assert_eq!(
        err.to_string(),
        "schedule.after forms a cycle, so none of these flows would ever run: \
         `a` runs after `b`, `b` runs after `a`"
    );
    let err = build_error(vec![
        ("start", every("1h")),
        ("z", after("x")),
        ("x", after("y")),
        ("y", after("z")),
        ("w", after("x")),
    ]);
    assert_eq!(
        err,
        SchedulerError::Cycle(vec![id("x"), id("y"), id("z"), id("x")])
    );
    let err = build_error(vec![("self", after("self"))]);
    assert_eq!(err, SchedulerError::Cycle(vec![id("self"), id("self")]));
}

#[test]
fn refuses_after_naming_an_unknown_flow() {
    let err = build_error(vec![("b", after("ghost"))]);
    assert_eq!(
        err.to_string(),
        "flow `b`: schedule.after names `ghost`, which is not a flow"
    );
}

#[test]
fn refuses_a_flow_listed_twice() {
    let err = build_error(vec![("a", every("1m")), ("a", every("2m"))]);
    assert_eq!(err, SchedulerError::DuplicateFlow(id("a")));
}

#[test]
fn calls_about_unknown_flows_are_errors() {
    let mut s = scheduler(vec![("a", every("1m"))]);
    let ghost = id("ghost");
    assert_eq!(
        s.started(&ghost),
        Err(SchedulerError::UnknownFlow(ghost.clone()))
    );
    assert_eq!(
        s.finished(&ghost, true, t0()),
        Err(SchedulerError::UnknownFlow(ghost.clone()))
    );
    assert_eq!(
        s.pause(&ghost),
        Err(SchedulerError::UnknownFlow(ghost.clone()))
    );
    assert_eq!(
        s.resume(&ghost, t0()),
        Err(SchedulerError::UnknownFlow(ghost.clone()))
    );
    assert_eq!(s.next_fire(&ghost), None);
}

#[test]
fn paused_flow_never_fires_and_resume_starts_from_now_without_a_burst() {
    let mut s = scheduler(vec![("a", every("1m")), ("b", every("10m"))]);
    s.start(t0(), no_history());
    s.pause(&id("a")).unwrap();
    assert!(s.is_paused(&id("a")));
    assert_eq!(s.next_fire(&id("a")), None);
    // Only b is slept for.
    assert_eq!(s.sleep_until(), Some(t0() + TimeDelta::minutes(10)));
    for minute in 1..=30 {
        let decisions = s.due(t0() + TimeDelta::minutes(minute));
        assert!(
            decisions.iter().all(|d| d.flow() != &id("a")),
            "{decisions:?}"
        );
    }
    let now = t0() + TimeDelta::seconds(30 * 60 + 20);
    s.resume(&id("a"), now).unwrap();
    assert!(!s.is_paused(&id("a")));
    // No burst for the 30 ticks missed while paused.
    assert_eq!(s.due(now), []);
    assert_eq!(s.next_fire(&id("a")), Some(now + TimeDelta::minutes(1)));
    assert_eq!(s.due(now + TimeDelta::minutes(1)), [fire("a")]);
    // Resuming a flow that is not paused keeps its next fire.
    s.resume(&id("a"), now + TimeDelta::seconds(90)).unwrap();
    assert_eq!(s.next_fire(&id("a")), Some(now + TimeDelta::minutes(2)));
}

#[test]
fn paused_cron_resumes_at_its_next_match_and_is_not_caught_up_at_start() {
    let mut s = scheduler(vec![("c", cron("0 0 * * * ?"))]);
    s.pause(&id("c")).unwrap();
    // Missed while down, but paused: no catch-up.
    assert_eq!(
        s.start(utc(2025, 1, 1, 5, 30, 0), vec![(id("c"), t0())]),
        []
    );
    assert_eq!(s.sleep_until(), None);
    s.resume(&id("c"), utc(2025, 1, 1, 5, 40, 0)).unwrap();
    assert_eq!(s.next_fire(&id("c")), Some(utc(2025, 1, 1, 6, 0, 0)));
}

#[test]
fn due_orders_decisions_by_fire_time_and_sleep_until_is_the_earliest() {
    let mut s = scheduler(vec![
        ("a", every("3m")),
        ("b", every("2m")),
        ("c", every("1m")),
    ]);
    s.start(t0(), no_history());
    assert_eq!(s.sleep_until(), Some(t0() + TimeDelta::minutes(1)));
    assert_eq!(
        s.due(t0() + TimeDelta::minutes(3)),
        [fire("c"), fire("b"), fire("a")]
    );
    assert_eq!(s.sleep_until(), Some(t0() + TimeDelta::minutes(4)));
    assert_eq!(
        s.flows().map(FlowId::as_str).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(
        s.schedule(&id("a")).and_then(Schedule::every),
        Some(TimeDelta::minutes(3))
    );
}

#[test]
fn daily_cron_over_new_york_spring_forward_fires_once_through_the_scheduler() {
    let schedule = Schedule::parse(&ScheduleSpec {
        cron: Some("0 30 2 * * ?".into()),
        timezone: Some("America/New_York".into()),
        ..ScheduleSpec::default()
    })
    .unwrap();
    let mut s = Scheduler::new([(id("d"), Some(schedule))]).unwrap();
    s.start(utc(2025, 3, 8, 17, 0, 0), no_history());
    let mut fired = Vec::new();
    // Tick every 10 minutes for two days.
    let mut now = utc(2025, 3, 8, 17, 0, 0);
    while now < utc(2025, 3, 10, 17, 0, 0) {
        if !s.due(now).is_empty() {
            fired.push(now);
        }
        now += TimeDelta::minutes(10);
    }
    // 03:00 EDT on the 9th (07:00 UTC), then 02:30 EDT on the 10th (06:30 UTC).
    assert_eq!(
        fired,
        [utc(2025, 3, 9, 7, 0, 0), utc(2025, 3, 10, 6, 30, 0)]
    );
}

#[test]
fn daily_cron_over_new_york_fall_back_fires_once_through_the_scheduler() {
    let schedule = Schedule::parse(&ScheduleSpec {
        cron: Some("0 30 1 * * ?".into()),
        timezone: Some("America/New_York".into()),
        ..ScheduleSpec::default()
    })
    .unwrap();
    let mut s = Scheduler::new([(id("d"), Some(schedule))]).unwrap();
    s.start(utc(2025, 11, 1, 17, 0, 0), no_history());
    let mut fired = Vec::new();
    let mut now = utc(2025, 11, 1, 17, 0, 0);
    while now < utc(2025, 11, 3, 17, 0, 0) {
        if !s.due(now).is_empty() {
            fired.push(now);
        }
        now += TimeDelta::minutes(10);
    }
    // 01:30 EDT on the 2nd (05:30 UTC) but not 01:30 EST an hour later; 01:30 EST on the 3rd.
    assert_eq!(
        fired,
        [utc(2025, 11, 2, 5, 30, 0), utc(2025, 11, 3, 6, 30, 0)]
    );
}
