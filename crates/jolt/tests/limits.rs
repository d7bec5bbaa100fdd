//! No spec and no input may take the process down (issue 12, item 7), and functions keep
//! Java's handling of empty strings (item 14). Before the limits, the index cases below
//! allocated gigabytes and aborted, and the long path overflowed the stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_jolt::{CompileOptions, Jolt, Limits};
use serde_json::{Value, json};

fn shift(spec: Value) -> Value {
    json!([{"operation": "shift", "spec": spec}])
}

#[test]
fn an_array_index_written_in_the_spec_over_the_limit_is_a_spec_error() {
    let err = Jolt::compile(&shift(json!({"a": "x[999999999]"}))).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("999999999"), "{text}");
    assert!(text.contains("max_array_index"), "{text}");
    assert_eq!(err.path, "/0/spec/a");

    for spec in [
        json!([{"operation": "modify-overwrite-beta", "spec": {"list": {"[999999999]": "v"}}}]),
        json!([{"operation": "default", "spec": {"list[]": {"999999999": "v"}}}]),
    ] {
        let err = Jolt::compile(&spec).unwrap_err().to_string();
        assert!(err.contains("max_array_index"), "{spec}: {err}");
    }
}

#[test]
fn an_array_index_read_from_the_data_over_the_limit_fails_the_transform() {
    let jolt = Jolt::compile(&shift(json!({"*": "x[&]"}))).unwrap();
    // Within the limit, Jolt's padding is kept.
    assert_eq!(
        jolt.apply(&json!({"2": "v"})).unwrap(),
        json!({"x": [null, null, "v"]})
    );
    let err = jolt
        .apply(&json!({"999999999": "v"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("999999999"), "{err}");
    assert!(err.contains("max_array_index"), "{err}");

    let jolt = Jolt::compile(&shift(json!({"rows": {"*": {"v": "x[@(1,i)]"}}}))).unwrap();
    let err = jolt
        .apply(&json!({"rows": [{"i": 5_000_000_000_u64, "v": 1}]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_array_index"), "{err}");
}

#[test]
fn the_index_limit_is_set_per_engine() {
    let options = CompileOptions::default().limits(Limits::new().with_max_array_index(10));
    assert!(Jolt::compile_with(&shift(json!({"a": "x[11]"})), &options).is_err());
    let jolt = Jolt::compile_with(&shift(json!({"a": "x[10]"})), &options).unwrap();
    let out = jolt.apply(&json!({"a": 1})).unwrap();
    assert_eq!(out["x"].as_array().map(Vec::len), Some(11));
    let roomy = CompileOptions::default().limits(Limits::new().with_max_array_index(2_000_000));
    assert!(Jolt::compile_with(&shift(json!({"a": "x[1500000]"})), &roomy).is_ok());
}

#[test]
fn a_path_of_sixteen_thousand_segments_is_a_spec_error_not_a_stack_overflow() {
    let path = vec!["a"; 16_000].join(".");
    let err = Jolt::compile(&shift(json!({"in": path})))
        .unwrap_err()
        .to_string();
    assert!(err.contains("16000 segments"), "{err}");
    assert!(err.contains("max_depth"), "{err}");
    // The message quotes an excerpt of the path, not all of it.
    assert!(err.len() < 500, "{} chars", err.len());
}

/// `{"a": {"a": ... "out"}}`, `depth` objects deep. Built by moving, not with `json!`, which
/// copies a value recursively (and a debug build's test thread has a small stack).
fn nested(depth: usize) -> Value {
    let mut spec = json!("out");
    for _ in 0..depth {
        let mut map = serde_json::Map::new();
        map.insert("a".to_string(), spec);
        spec = Value::Object(map);
    }
    spec
}

#[test]
fn a_spec_nested_deeper_than_the_limit_is_a_spec_error() {
    for operation in [
        "shift",
        "default",
        "remove",
        "modify-overwrite-beta",
        "cardinality",
    ] {
        let chain = json!([{"operation": operation, "spec": nested(600)}]);
        let err = Jolt::compile(&chain).unwrap_err().to_string();
        assert!(err.contains("max_depth"), "{operation}: {err}");
    }
    let shallow = Limits::new().with_max_depth(3);
    let options = CompileOptions::default().limits(shallow);
    let err =
        Jolt::compile_with(&shift(json!({"a": {"b": {"c": {"d": "x"}}}})), &options).unwrap_err();
    assert!(err.to_string().contains("limit of 3 levels"), "{err}");
}

#[test]
fn join_and_concat_treat_empty_strings_as_java_does() {
    // Java's Strings.join skips null and "" items but appends the separator after every
    // other item that is not the list's last: a trailing empty item leaves a separator.
    let spec = json!([{"operation": "modify-overwrite-beta", "spec": {
        "trailing": "=join(',', @(1,trailing_in))",
        "leading": "=join(',', @(1,leading_in))",
        "args": "=join('-', '', 'a', '')",
        "mixed": "=join(',', @(1,mixed_in))",
        "concat_one": "=concat(@(1,empty))",
        "concat_two": "=concat(@(1,empty), 'b')"
    }}]);
    let jolt = Jolt::compile(&spec).unwrap();
    let out = jolt
        .apply(&json!({
            "trailing_in": ["a", ""],
            "leading_in": ["", "a"],
            "mixed_in": ["a", null, "", "b", null],
            "empty": ""
        }))
        .unwrap();
    assert_eq!(out["trailing"], json!("a,"));
    assert_eq!(out["leading"], json!("a"));
    assert_eq!(out["args"], json!("a-"));
    assert_eq!(out["mixed"], json!("a,b,"));
    // concat is a ListFunction in Java: one argument that is not a list gives no value.
    assert_eq!(out.get("concat_one"), None);
    assert_eq!(out["concat_two"], json!("b"));
}
