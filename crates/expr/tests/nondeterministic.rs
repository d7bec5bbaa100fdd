//! Functions whose results depend on time, host or randomness (none of them are in the NiFi
//! vectors, which exclude them): checked by shape and by the properties NiFi guarantees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_expr::{EvalOptions, Template};

fn eval(source: &str) -> String {
    Template::compile(source).unwrap().evaluate(&()).unwrap()
}

#[test]
fn now_reads_the_injected_clock_or_the_system_clock() {
    let options = EvalOptions::new()
        .with_fixed_now(1_403_620_278_642)
        .with_time_zone("UTC")
        .unwrap();
    let template =
        Template::compile("${now():toNumber()} ${now():format('yyyy-MM-dd HH:mm:ss.SSS')}")
            .unwrap();
    assert_eq!(
        template.evaluate_with(&(), &options).unwrap(),
        "1403620278642 2014-06-24 14:31:18.642"
    );
    let before = chrono::Utc::now().timestamp_millis();
    let now: i64 = eval("${now():toNumber()}").parse().unwrap();
    let after = chrono::Utc::now().timestamp_millis();
    assert!(before <= now && now <= after);
    let options = EvalOptions::new()
        .with_fixed_now(0)
        .with_time_zone("Europe/Istanbul")
        .unwrap();
    assert_eq!(
        Template::compile("${now()}")
            .unwrap()
            .evaluate_with(&(), &options)
            .unwrap(),
        "Thu Jan 01 02:00:00 EET 1970"
    );
}

#[test]
fn uuid_is_a_random_version_4_uuid() {
    let first = eval("${UUID()}");
    let second = eval("${UUID()}");
    assert_ne!(first, second);
    let parsed = uuid::Uuid::parse_str(&first).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(first, first.to_lowercase());
}

#[test]
fn next_int_counts_up() {
    let first: i64 = eval("${nextInt()}").parse().unwrap();
    let second: i64 = eval("${nextInt()}").parse().unwrap();
    assert!(second > first);
}

#[test]
fn random_is_a_non_negative_long_and_math_random_is_below_one() {
    for _ in 0..20 {
        let value: i64 = eval("${random()}").parse().unwrap();
        assert!(value >= 0);
        let fraction: f64 = eval("${math('random')}").parse().unwrap();
        assert!((0.0..1.0).contains(&fraction));
    }
}

#[test]
fn host_functions_describe_this_machine() {
    assert!(!eval("${hostname()}").is_empty());
    assert_eq!(eval("${hostname(false)}"), eval("${hostname()}"));
    assert!(eval("${ip()}").parse::<std::net::IpAddr>().is_ok());
    assert!(!eval("${thread()}").is_empty());
}

#[test]
fn random_repeat_stays_within_its_bounds() {
    for _ in 0..20 {
        let text = eval("${literal('ab'):repeat(2, 4)}");
        assert!([4, 6, 8].contains(&text.len()), "{text}");
    }
}
