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

/// A database URL's password is never printed, even when the store cannot be opened.
#[test]
fn a_database_password_is_not_printed_when_the_store_cannot_be_opened() {
    // A port that is not a number: refused before any connection is tried.
    let url = "postgres://omni:SeCrEt-pw@127.0.0.1:99999999/test";
    let out = omnibridge()
        .args(["logs", "--database", url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot open the store at"), "{err}");
    assert!(err.contains("omni:***@127.0.0.1"), "{err}");
    assert!(!err.contains("SeCrEt-pw"), "{err}");
}
