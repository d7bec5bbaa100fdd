//! `omnibridge demo`, the newcomer's first command, tells its whole story against the
//! simulators: every flow runs, nothing reaches the ERP twice, and each failure is the one the
//! demo staged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_demo_runs_every_flow_and_nothing_is_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let out = Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .arg("demo")
        .args([
            "--omnitron-listen",
            "127.0.0.1:0",
            "--erp-listen",
            "127.0.0.1:0",
        ])
        .arg("--database-file")
        .arg(dir.path().join("demo.db"))
        .arg("--examples")
        .arg(&examples)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{errors}");

    // Order Flow: the two staged failures, then a replay and a quiet run.
    assert!(text.contains("failed at query_check"), "{text}");
    assert!(text.contains("failed at check_response"), "{text}");
    assert!(text.contains("0 created more than once"), "{text}");
    let marked = text.lines().find(|l| l.contains("Omnitron marks")).unwrap();
    let words: Vec<&str> = marked.split_whitespace().collect();
    let sent_at = words.iter().position(|w| *w == "marks").unwrap();
    assert_eq!(words[sent_at + 1], words[sent_at + 3], "{marked}");

    // Order Status Flow: Omnitron's own words for the two refused rows, the pushed row
    // without an order, and the dynamic URL as the ERP received it.
    assert!(text.contains("Invalid pk"), "{text}");
    assert!(
        text.contains("can not be changed from 500 to 400"),
        "{text}"
    );
    assert!(text.contains("the row has no `order`"), "{text}");
    assert!(text.contains("'Name': 'Date'"), "{text}");

    // Order Cancel Flow: every plan ends approved or rejected, and the ERP took each approved
    // plan exactly once, whatever it answered before.
    let plans: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("plan ") && l.contains("in Omnitron"))
        .collect();
    assert!(plans.len() >= 3, "{text}");
    assert_eq!(
        plans
            .iter()
            .filter(|l| l.contains("rejected in Omnitron"))
            .count(),
        1,
        "{text}"
    );
    for line in plans {
        if line.contains("approved in Omnitron") {
            assert!(line.ends_with("took it 1 time(s)"), "{line}");
        } else {
            assert!(line.ends_with("took it 0 time(s)"), "{line}");
        }
    }
    assert!(text.contains("relation is do_nothing"), "{text}");
}
