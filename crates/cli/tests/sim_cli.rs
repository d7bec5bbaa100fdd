#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `omnibridge sim` starts both simulators on free ports, prints their URLs and credentials,
//! serves the Omnitron API, and stops when killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn sim_prints_urls_and_serves_login_and_orders() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args([
            "sim",
            "--omnitron-listen",
            "127.0.0.1:0",
            "--erp-listen",
            "127.0.0.1:0",
            "--orders",
            "30",
            "--seed",
            "7",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.starts_with("Press Ctrl-C")) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => lines.push(l),
            Err(e) => {
                let _ = child.kill();
                panic!("no ready line ({e}); got {lines:?}");
            }
        }
    }
    let url_after = |prefix: &str| -> String {
        let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let omnitron = url_after("Omnitron simulator: ");
    let erp = url_after("ERP simulator: ");
    assert!(omnitron.starts_with("http://127.0.0.1:") && !omnitron.ends_with(":0"));
    assert!(erp.starts_with("http://127.0.0.1:"));
    let login_line = lines
        .iter()
        .find(|l| l.contains("/api/v1/auth/login/"))
        .unwrap();
    let field = |name: &str| {
        login_line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let (user, pass) = (field("username="), field("password="));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let key: serde_json::Value = http
            .post(format!("{omnitron}/api/v1/auth/login/"))
            .json(&serde_json::json!({"username": user, "password": pass}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = key["key"].as_str().unwrap();
        let list: serde_json::Value = http
            .get(format!("{omnitron}/api/v1/orders_integration/?limit=100"))
            .header("Authorization", format!("Token {token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["count"], 30);
        let erp_state = http.get(format!("{erp}/__sim/state")).send().await.unwrap();
        assert_eq!(erp_state.status(), 200);
    });
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not exited on its own");
}

#[test]
fn sim_reports_a_port_it_cannot_bind() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args([
            "sim",
            "--omnitron-listen",
            &busy,
            "--erp-listen",
            "127.0.0.1:0",
            "--orders",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--omnitron-listen") && err.contains(&busy),
        "{err}"
    );
}
