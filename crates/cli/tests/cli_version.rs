//! The binary starts and answers `version` and `--help`.

use std::process::Command;

fn omnibridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_omnibridge"))
}

#[test]
fn version_prints_the_crate_version() {
    let out = omnibridge().arg("version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!("omnibridge {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_subcommand_fails_with_usage() {
    let out = omnibridge().arg("no-such-command").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unrecognized subcommand"), "{err}");
}
