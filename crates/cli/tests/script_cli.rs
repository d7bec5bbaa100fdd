//! `omnibridge script test | check | migrate`, driven as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn omnibridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args(args)
        .output()
        .expect("the omnibridge binary runs")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn seed_template() -> String {
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/004_dbcdb5cc9060168b.txt"
    ))
    .unwrap();
    let after = seed.split("**Example Script:**").nth(1).unwrap();
    let code = after.split("```python\n").nth(1).unwrap();
    code.split("```").next().unwrap().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn script_test_prints_the_panel_result_for_the_seed_template() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "s.py", &seed_template());
    let input = write(dir.path(), "in.json", r#"{"number": "1001"}"#);

    let out = omnibridge(&[
        "script",
        "test",
        "--script",
        &script,
        "--input",
        &input,
        "--attr",
        "token.erp=abc",
        "--attr",
        "flow.name=Orders",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = json(&out);
    assert_eq!(result["result_data"], "{\n    \"number\": \"1001\"\n}");
    assert_eq!(
        result["attributes"],
        serde_json::json!({"flow.name": "Orders", "token.erp": "abc"})
    );
    assert_eq!(result["relationship"], "success");
    assert_eq!(result["stdout"], "");
    assert_eq!(result["error"], serde_json::Value::Null);
}

#[test]
fn script_test_shows_log_script_error_when_the_template_catches_an_exception() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "s.py", &seed_template());
    let input = write(dir.path(), "in.json", "<not json>");

    let out = omnibridge(&["script", "test", "--script", &script, "--input", &input]);
    assert_eq!(out.status.code(), Some(1));
    let result = json(&out);
    assert_eq!(result["relationship"], "failure");
    let trace = result["attributes"]["log.script.error"].as_str().unwrap();
    assert!(trace.contains("JSONDecodeError"), "{trace}");
    assert_eq!(result["result_data"], "<not json>");
}

#[test]
fn script_test_reports_a_timeout_as_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "loop.py", "while True:\n    pass\n");
    let out = omnibridge(&["script", "test", "--script", &script, "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let result = json(&out);
    assert_eq!(result["relationship"], serde_json::Value::Null);
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("timed out after 1 s"), "{error}");
}

const LEGACY: &str = "ff = session.get()\nif ff != None:\n    print 'routing', ff.getAttribute('id')\n    session.transfer(ff, REL_SUCCESS)\n";

#[test]
fn a_python2_script_fails_with_the_fix_and_migrate_write_makes_it_run() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "legacy.py", LEGACY);

    let out = omnibridge(&["script", "test", "--script", &script, "--attr", "id=7"]);
    assert_eq!(out.status.code(), Some(1));
    let error = json(&out)["error"].as_str().unwrap().to_string();
    assert!(error.contains("line 3"), "{error}");
    assert!(
        error.contains("print statement: write `print(...)`"),
        "{error}"
    );
    assert!(error.contains("omnibridge script migrate"), "{error}");

    let check = omnibridge(&["script", "check", &script]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("line 3"));

    let preview = omnibridge(&["script", "migrate", &script]);
    assert_eq!(preview.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&preview.stdout)
            .contains("print('routing', ff.getAttribute('id'))")
    );
    assert!(
        String::from_utf8_lossy(&preview.stderr).contains("legacy.py:3: fixed: print statement")
    );
    assert_eq!(
        std::fs::read_to_string(&script).unwrap(),
        LEGACY,
        "no --write: file untouched"
    );

    let migrated = omnibridge(&["script", "migrate", &script, "--write"]);
    assert_eq!(migrated.status.code(), Some(0));
    let out = omnibridge(&["script", "test", "--script", &script, "--attr", "id=7"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let result = json(&out);
    assert_eq!(result["stdout"], "routing 7\n");
    assert_eq!(result["relationship"], "success");

    let check = omnibridge(&["script", "check", &script]);
    assert_eq!(check.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&check.stdout).contains("compiles (nifi form)"));
}
