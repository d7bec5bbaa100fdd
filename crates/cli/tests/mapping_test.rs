//! `omnibridge mapping test` run as a user would: spec and input files in, JSON or an error out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn mapping_test(spec: &Path, input: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args(["mapping", "test", "--spec"])
        .arg(spec)
        .arg("--input")
        .arg(input)
        .args(extra)
        .output()
        .unwrap()
}

const ORDER_SPEC: &str = r##"[
  // map an order to an ERP body
  { "operation": "shift",
    "spec": {
      "number": "header.orderNo",
      "status": { "550": { "#APPROVED": "header.status" }, "*": { "#PENDING": "header.status" } },
      "lines": { "*": { "sku": "items[&1].code", "qty": "items[&1].quantity" } },
      "coupon": "header.coupon"
    } },
  { "operation": "modify-overwrite-beta",
    "spec": { "items": { "*": { "quantity": "=toInteger" } } } }
]"##;

const ORDER_INPUT: &str = r#"{
  "number": "ord-1", "status": 550,
  "lines": [ { "sku": "A", "qty": "2" }, { "sku": "B", "qty": "1" } ]
}"#;

#[test]
fn a_successful_transform_prints_the_output_json() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(dir.path(), "spec.json", ORDER_SPEC);
    let input = write(dir.path(), "input.json", ORDER_INPUT);
    let out = mapping_test(&spec, &input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        json!({
            "header": { "orderNo": "ord-1", "status": "APPROVED" },
            "items": [ { "code": "A", "quantity": 2 }, { "code": "B", "quantity": 1 } ]
        })
    );
}

#[test]
fn explain_reports_matches_and_spec_entries_that_matched_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(dir.path(), "spec.json", ORDER_SPEC);
    let input = write(dir.path(), "input.json", ORDER_INPUT);
    let out = mapping_test(&spec, &input, &["--explain"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("step 0 (shift)"), "{text}");
    assert!(
        text.contains("matched   /0/spec/lines/*/sku  <-  input /lines/1/sku"),
        "{text}"
    );
    // The input has no "coupon": that spec entry is reported as matching nothing.
    assert!(text.contains("UNMATCHED /0/spec/coupon"), "{text}");
    assert!(text.contains("step 1 (modify-overwrite-beta)"), "{text}");
    let json_part = text.split("output:\n").nth(1).unwrap();
    let output: Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(output["items"][0]["quantity"], json!(2));
}

#[test]
fn a_bad_spec_names_the_spec_path_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "spec.json",
        r#"[{"operation": "shift", "spec": {"order": {"lines": {"@": {"x": "y"}}}}}]"#,
    );
    let input = write(dir.path(), "input.json", "{}");
    let out = mapping_test(&spec, &input, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("/0/spec/order/lines/@"), "{err}");
    assert!(err.contains("can not have children"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_java_class_step_is_rejected_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "spec.json",
        r#"[{"operation": "com.example.MyTransform", "spec": {}}]"#,
    );
    let input = write(dir.path(), "input.json", "{}");
    let out = mapping_test(&spec, &input, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("com.example.MyTransform"), "{err}");
    assert!(err.contains("not supported"), "{err}");
}

#[test]
fn a_missing_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "input.json", "{}");
    let missing = dir.path().join("no-such-spec.json");
    let out = mapping_test(&missing, &input, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no-such-spec.json"), "{err}");
    assert!(err.contains("cannot read the spec file"), "{err}");
}

#[test]
fn extension_functions_need_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "spec.json",
        r#"[{"operation": "modify-overwrite-beta", "spec": {"total": "=ob:multiply(@(1,price),@(1,qty))"}}]"#,
    );
    let input = write(dir.path(), "input.json", r#"{"price": 2.5, "qty": 4}"#);
    let stock = mapping_test(&spec, &input, &[]);
    assert!(stock.status.success());
    let stock_out: Value = serde_json::from_slice(&stock.stdout).unwrap();
    // Stock Jolt has no such function: the key is not computed.
    assert_ne!(stock_out["total"], json!(10.0));
    let ext = mapping_test(&spec, &input, &["--extensions"]);
    assert!(ext.status.success());
    let ext_out: Value = serde_json::from_slice(&ext.stdout).unwrap();
    assert_eq!(ext_out["total"], json!(10.0));
}
