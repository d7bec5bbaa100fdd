//! `omnibridge expr eval` as a user runs it: key=value attributes, an attributes file, and a
//! template that does not compile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn omnibridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_omnibridge"))
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = omnibridge().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn evaluates_the_seed_dynamic_url_with_key_value_attributes() {
    let template = r#"${http.query.string:isEmpty():not():ifElse(${literal("http://x/{TOKEN}/run"):replace("{TOKEN}",${token.erp})}, ${last.request:replaceAll("(\.\d*)?Z?$","")})}"#;
    let (ok, stdout, stderr) = run(&[
        "expr",
        "eval",
        template,
        "last.request=2024-01-02T03:04:05.123Z",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "2024-01-02T03:04:05\n");
    let (ok, stdout, _) = run(&[
        "expr",
        "eval",
        template,
        "http.query.string=a=b",
        "token.erp=abc",
    ]);
    assert!(ok);
    assert_eq!(stdout, "http://x/abc/run\n");
}

#[test]
fn reads_attributes_from_a_json_file_and_lets_arguments_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attrs.json");
    std::fs::write(
        &path,
        r#"{"number": "00122340593828", "token": "a b&c", "page": 3, "gone": null}"#,
    )
    .unwrap();
    let template = "https://erp/api?number=${number}&token=${token:urlEncode()}&page=${page:plus(1)}&gone=${gone:isNull()}";
    let (ok, stdout, stderr) = run(&[
        "expr",
        "eval",
        template,
        "--attrs-file",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "https://erp/api?number=00122340593828&token=a+b%26c&page=4&gone=true\n"
    );
    let (ok, stdout, _) = run(&[
        "expr",
        "eval",
        "${number}",
        "--attrs-file",
        path.to_str().unwrap(),
        "number=42",
    ]);
    assert!(ok);
    assert_eq!(stdout, "42\n");
}

#[test]
fn a_typo_is_refused_with_its_position_and_the_nearest_function() {
    let (ok, stdout, stderr) = run(&["expr", "eval", "id=\n${x:repalce('a', 'b')}", "x=a"]);
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("line 2, column 5"), "{stderr}");
    assert!(stderr.contains("unknown function 'repalce'"), "{stderr}");
    assert!(stderr.contains("did you mean `replace`?"), "{stderr}");
}

#[test]
fn an_evaluation_error_exits_non_zero() {
    let (ok, _, stderr) = run(&["expr", "eval", "${x:divide(0)}", "x=4"]);
    assert!(!ok);
    assert!(stderr.contains("division by zero"), "{stderr}");
}

#[test]
fn now_can_be_fixed_for_reproducible_output() {
    let (ok, stdout, _) = run(&[
        "expr",
        "eval",
        "${now():minus(3600000):format('yyyy-MM-dd HH:mm', 'Europe/Istanbul')}",
        "--now",
        "1735689600000",
    ]);
    assert!(ok);
    assert_eq!(stdout, "2025-01-01 02:00\n");
}

/// A reader that closes the pipe early (`omnibridge ... | head -c 10`) ends the command
/// quietly: no panic message, exit 0.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::io::Read;
    let mut child = omnibridge()
        .args(["expr", "eval", "${literal('x'):padLeft(1000000, 'y')}"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"yyyyyyyyyy");
    // More than a pipe buffer is still unwritten: closing our end makes the next write fail.
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Dates without a zone argument use the process's `TZ`, as NiFi uses the JVM's zone;
/// `--time-zone` overrides it.
#[test]
fn dates_default_to_the_zone_tz_names() {
    let template = "${now():format('HH:mm')}";
    let at = "1700000000000"; // 2023-11-14T22:13:20Z
    let with_tz = |tz: &str, extra: &[&str]| {
        let mut command = omnibridge();
        command
            .args(["expr", "eval", template, "--now", at])
            .args(extra);
        command.env("TZ", tz);
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    assert_eq!(with_tz("America/New_York", &[]), "17:13\n");
    assert_eq!(with_tz("Europe/Istanbul", &[]), "01:13\n");
    assert_eq!(
        with_tz("America/New_York", &["--time-zone", "UTC"]),
        "22:13\n"
    );
}
