//! Runs every NiFi conformance vector (`cases.json`: NiFi 1.28.1, `cases-nifi2.json`: NiFi 2.x
//! additions) through the engine, the way NiFi evaluates a processor property.
//!
//! Vectors we believe are wrong stay in the run: they are listed with the reason in
//! `tests/disputed_cases.json`, and the test asserts that they still differ, so a fix (or a
//! changed vector) forces the list to be revisited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use indexmap::IndexMap;
use omnibridge_expr::{EvalOptions, Template};
use serde_json::Value;

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/nifi-el/"
);

fn load(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{SHARED}{file}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn attributes(case: &Value) -> IndexMap<String, Option<String>> {
    case["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().map(str::to_string)))
        .collect()
}

/// What the engine did with one vector, as text comparable with the expectation.
fn outcome(case: &Value) -> String {
    let expr = case["expr"].as_str().unwrap();
    let template = match Template::compile(expr) {
        Ok(template) => template,
        Err(_) => return "<error:compile>".to_string(),
    };
    let attributes = attributes(case);
    // UTC default zone, as the vectors assume (whatever `TZ` says); `now()` is not used by any
    // vector.
    let options = EvalOptions::new().with_time_zone("UTC").unwrap();
    match template.evaluate_with(&attributes, &options) {
        Ok(text) => text,
        Err(_) => "<error:evaluate>".to_string(),
    }
}

fn expected(case: &Value) -> String {
    if case["error"].as_bool() == Some(true) {
        format!("<error:{}>", case["phase"].as_str().unwrap())
    } else {
        case["expected"].as_str().unwrap_or_default().to_string()
    }
}

fn run(file: &str) -> (usize, usize, Vec<String>) {
    let disputed: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("disputed_cases.json")).unwrap();
    let cases = load(file);
    let mut passed = 0;
    let mut disputed_count = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let got = outcome(case);
        let want = expected(case);
        let matches = got == want;
        match (matches, disputed.get(id)) {
            (true, None) => passed += 1,
            (false, Some(_)) => disputed_count += 1,
            (true, Some(reason)) => failures.push(format!(
                "{id}: listed as disputed ({reason}) but now matches NiFi; remove it from disputed_cases.json"
            )),
            (false, None) => failures.push(format!(
                "{id}: {}\n    attributes: {}\n    expected: {want:?}\n    got:      {got:?}",
                case["expr"].as_str().unwrap(),
                case["attributes"]
            )),
        }
    }
    (passed, disputed_count, failures)
}

#[test]
fn nifi_1_28_and_2_x_conformance_vectors() {
    let mut all_failures = Vec::new();
    let mut summary = Vec::new();
    for file in ["cases.json", "cases-nifi2.json"] {
        let (passed, disputed, failures) = run(file);
        summary.push(format!(
            "{file}: {passed} passed, {disputed} disputed (see tests/disputed_cases.json), {} failed",
            failures.len()
        ));
        all_failures.extend(failures);
    }
    for line in &summary {
        println!("conformance {line}");
    }
    assert!(
        all_failures.is_empty(),
        "{} failures:\n{}\n{}",
        all_failures.len(),
        all_failures.join("\n"),
        summary.join("\n")
    );
}
