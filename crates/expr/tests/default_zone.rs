//! Date functions without a zone argument use the engine's default zone, as NiFi uses the JVM
//! default zone: the zone configured in `EvalOptions`, else the one the `TZ` environment
//! variable names, else UTC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::attributes;
use omnibridge_expr::{EvalOptions, Template};

fn render(source: &str, pairs: &[(&str, &str)], options: &EvalOptions) -> String {
    Template::compile(source)
        .unwrap()
        .evaluate_with(&attributes(pairs), options)
        .unwrap()
}

/// What NiFi running with the JVM default zone America/New_York gives for these.
const NEW_YORK_CASES: &[(&str, &str, &str)] = &[
    // Summer (EDT, UTC-4) and winter (EST, UTC-5): the wall-clock hour round-trips...
    (
        "${d:toDate('yyyy-MM-dd HH:mm'):format('HH')}",
        "2024-07-01 09:30",
        "09",
    ),
    (
        "${d:toDate('yyyy-MM-dd HH:mm'):format('HH')}",
        "2024-01-15 09:30",
        "09",
    ),
    // ...and the instant is the New York one.
    (
        "${d:toDate('yyyy-MM-dd HH:mm'):toNumber()}",
        "2024-07-01 09:30",
        "1719840600000",
    ),
    (
        "${d:toDate('yyyy-MM-dd HH:mm'):toNumber()}",
        "2024-01-15 09:30",
        "1705329000000",
    ),
    (
        "${d:format('yyyy-MM-dd HH:mm z')}",
        "1719840600000",
        "2024-07-01 09:30 EDT",
    ),
    (
        "${d:toDate():format('yyyy-MM-dd HH:mm')}",
        "1705329000000",
        "2024-01-15 09:30",
    ),
    // A DATE rendered as text is Java's Date.toString in the default zone.
    (
        "${d:toDate('yyyy-MM-dd HH:mm')}",
        "2024-07-01 09:30",
        "Mon Jul 01 09:30:00 EDT 2024",
    ),
    // An explicit zone argument still wins.
    (
        "${d:toDate('yyyy-MM-dd HH:mm'):format('HH', 'UTC')}",
        "2024-07-01 09:30",
        "13",
    ),
    (
        "${d:toDate('yyyy-MM-dd HH:mm', 'UTC'):format('HH')}",
        "2024-07-01 13:30",
        "09",
    ),
];

#[test]
fn a_configured_default_zone_drives_format_to_date_and_to_number() {
    let options = EvalOptions::new()
        .with_time_zone("America/New_York")
        .unwrap();
    assert_eq!(options.time_zone_id(), "America/New_York");
    for (source, value, expected) in NEW_YORK_CASES {
        assert_eq!(
            render(source, &[("d", value)], &options),
            *expected,
            "{source}"
        );
    }
    let options = options.with_fixed_now(1_719_840_600_000);
    assert_eq!(
        render("${now():format('yyyy-MM-dd HH:mm')}", &[], &options),
        "2024-07-01 09:30"
    );
}

#[test]
fn the_tz_value_names_the_default_zone_or_utc() {
    for (tz, expected) in [
        (Some("America/New_York"), "America/New_York"),
        (Some(":America/New_York"), "America/New_York"),
        (Some(" Europe/Istanbul "), "Europe/Istanbul"),
        (Some("UTC"), "UTC"),
        (Some("GMT+3"), "GMT+03:00"),
        (Some("Not/AZone"), "UTC"),
        (Some(""), "UTC"),
        (Some(":"), "UTC"),
        (None, "UTC"),
    ] {
        assert_eq!(EvalOptions::time_zone_id_from_tz(tz), expected, "{tz:?}");
    }
}

#[test]
fn the_default_options_take_their_zone_from_tz() {
    let tz = std::env::var("TZ").ok();
    assert_eq!(
        EvalOptions::new().time_zone_id(),
        EvalOptions::time_zone_id_from_tz(tz.as_deref())
    );
    assert_eq!(
        EvalOptions::new()
            .with_time_zone("Asia/Tokyo")
            .unwrap()
            .time_zone_id(),
        "Asia/Tokyo"
    );
}

/// Runs this test binary again with `TZ=America/New_York` (rather than changing this
/// process's environment) to check that plain `evaluate` follows it.
#[test]
fn evaluate_follows_tz_of_the_process() {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "renders_in_the_zone_tz_names",
            "--ignored",
            "--test-threads=1",
        ])
        .env("TZ", "America/New_York")
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "run by evaluate_follows_tz_of_the_process with TZ=America/New_York"]
fn renders_in_the_zone_tz_names() {
    assert_eq!(std::env::var("TZ").as_deref(), Ok("America/New_York"));
    assert_eq!(EvalOptions::new().time_zone_id(), "America/New_York");
    for (source, value, expected) in NEW_YORK_CASES {
        let got = Template::compile(source)
            .unwrap()
            .evaluate(&attributes(&[("d", value)]))
            .unwrap();
        assert_eq!(got, *expected, "{source}");
    }
}
