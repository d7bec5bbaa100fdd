//! Explain mode, as the engine and the CLI use it: what matched, what did not, and why a key
//! stayed unwritten.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_jolt::{Jolt, SpecMatch};
use serde_json::json;

fn m(spec: &str, input: &str) -> SpecMatch {
    SpecMatch {
        spec_path: spec.into(),
        input_path: input.into(),
    }
}

#[test]
fn shift_reports_matches_and_the_entries_that_matched_nothing() {
    let jolt = Jolt::compile(&json!([
        {"operation": "shift", "spec": {"items": {"*": {"sku": "lines[&1].code", "[0]": "oops"}}, "missing": "x"}}
    ]))
    .unwrap();
    let e = jolt.explain(&json!({"items": [{"sku": "A"}, {"sku": "B"}]}));
    assert_eq!(
        e.output,
        Some(json!({"lines": [{"code": "A"}, {"code": "B"}]}))
    );
    let step = &e.steps[0];
    assert!(
        step.matched
            .contains(&m("/0/spec/items/*/sku", "/items/1/sku"))
    );
    assert!(
        step.unmatched_spec_paths
            .contains(&"/0/spec/missing".to_string())
    );
    // "[0]" on the left-hand side never matches an array index (a common mistake).
    assert!(
        step.unmatched_spec_paths
            .contains(&"/0/spec/items/*/[0]".to_string())
    );
    let text = e.to_text();
    assert!(text.contains("UNMATCHED /0/spec/missing"), "{text}");
}

#[test]
fn modify_reports_functions_that_gave_no_value() {
    let jolt = Jolt::compile(&json!([
        {"operation": "modify-overwrite-beta", "spec": {"n": "=toInteger", "ratio": "=divide(@(1,n),0)"}}
    ]))
    .unwrap();
    let e = jolt.explain(&json!({"n": "abc"}));
    assert_eq!(e.output, Some(json!({"n": "abc"})));
    let step = &e.steps[0];
    assert!(step.no_value.contains(&m("/0/spec/n", "/n")));
    assert!(step.no_value.contains(&m("/0/spec/ratio", "/ratio")));
    let serialized = serde_json::to_value(&e).unwrap();
    assert_eq!(serialized["steps"][0]["operation"], "modify-overwrite-beta");
}

#[test]
fn default_remove_and_cardinality_are_traced() {
    let jolt = Jolt::compile(&json!([
        {"operation": "default", "spec": {"a": 1, "b": {"c": 2}}},
        {"operation": "remove", "spec": {"a": "", "zzz": ""}},
        {"operation": "cardinality", "spec": {"b": "MANY"}}
    ]))
    .unwrap();
    let e = jolt.explain(&json!({}));
    assert_eq!(e.output, Some(json!({"b": [{"c": 2}]})));
    assert!(e.steps[0].matched.contains(&m("/0/spec/b/c", "/b/c")));
    assert!(e.steps[1].matched.contains(&m("/1/spec/a", "/a")));
    assert_eq!(
        e.steps[1].unmatched_spec_paths,
        vec!["/1/spec/zzz".to_string()]
    );
    assert!(e.steps[2].matched.contains(&m("/2/spec/b", "/b")));
}

#[test]
fn a_failing_step_is_reported_with_its_index_and_input_path() {
    let jolt = Jolt::compile(&json!([
        {"operation": "shift", "spec": {"a": "a"}},
        {"operation": "shift", "spec": {"a": {"b": "x.&5"}}}
    ]))
    .unwrap();
    let err = jolt.apply(&json!({"a": {"b": 1}})).unwrap_err();
    assert_eq!(err.operation_index, 1);
    assert_eq!(err.input_path, "/a/b");
    let e = jolt.explain(&json!({"a": {"b": 1}}));
    assert!(e.error.unwrap().contains("operation 1 (shift)"));
    assert_eq!(e.steps.len(), 1);
}
