//! `omnibridge serve` and `omnibridge schedule` as a user runs them: a service process against
//! the simulators whose flows fire on short schedules, stopped with SIGTERM mid-run and started
//! again with nothing lost or sent twice; schedule previews; bad schedules refused at load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use omnibridge_sim::OmnitronConfig;
use support_flow::{FlowFixture, edit_toml, text};

const TOKEN: &str = "serve-test-token-0123456789";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn serve(fx: &FlowFixture, port: u16) -> Child {
    fx.command(&[
        "serve",
        "--flows",
        fx.dir.path().to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .env("OMNIBRIDGE_API_TOKEN", TOKEN)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && response.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the service never got ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: Child) -> std::process::Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

/// The example flows fire by themselves on short schedules; SIGTERM stops the service mid-run
/// (the records in flight finish) and a restart finishes the rest: every order reaches the ERP
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_flows_on_their_schedules_and_survives_a_sigterm() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(150).seed(12)).await;
    let eligible = fx.eligible().await;
    for flow in ["order-flow", "order-status-flow", "order-cancel-flow"] {
        edit_toml(&fx.example(flow).join("flow.toml"), |doc| {
            doc["schedule"]["every"] = toml_edit::value("1s");
        });
    }
    // Slow creates, so the SIGTERM lands while orders are in flight.
    fx.erp
        .add_fault(
            omnibridge_sim::FaultRule::new(omnibridge_sim::FaultAction::Latency { ms: 100 })
                .method("POST")
                .path("orders"),
        )
        .await
        .unwrap();
    let port = free_port();
    let child = serve(&fx, port);
    wait_ready(port).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while fx.erp.state().await.orders.len() < 3 {
        assert!(Instant::now() < deadline, "no order reached the ERP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = terminate(child);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("serving 4 flow(s)"),
        "{}",
        text(&out.stdout)
    );
    let sent_before_restart = fx.erp.state().await.orders.len();
    assert!(sent_before_restart < eligible.len(), "stopped mid-run");

    fx.erp.clear_faults().await;
    let child = serve(&fx, port);
    wait_ready(port).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let omnitron = fx.omnitron.state().await;
        if eligible.iter().all(|n| omnitron.order(n).unwrap().is_send) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted service never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The other flows ran by themselves too.
    let executions: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{port}/api/v1/executions?limit=1000"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for flow in ["order-to-erp", "order-cancel"] {
        assert!(
            executions["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["flow_id"] == flow && e["trigger"]["kind"] == "scheduled"),
            "{flow} ran on its schedule"
        );
    }
    let out = terminate(child);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let erp = fx.erp.state().await;
    for number in &eligible {
        assert_eq!(erp.order(number).unwrap().creates, 1, "{number} sent once");
    }
}

/// Every invalid flow is listed and the service does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_refuses_to_start_with_every_problem_listed() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(3)).await;
    edit_toml(&fx.example("order-flow").join("flow.toml"), |doc| {
        doc["schedule"]["every"] = toml_edit::value("0s");
    });
    edit_toml(&fx.example("order-cancel-flow").join("flow.toml"), |doc| {
        doc["schedule"]["timezone"] = toml_edit::value("Mars/Olympus");
    });
    edit_toml(&fx.example("order-status-flow").join("flow.toml"), |doc| {
        let schedule = doc["schedule"].as_table_mut().unwrap();
        schedule.remove("every");
        schedule.insert("cron", toml_edit::value("99 * * * * ?"));
    });
    let out = fx
        .command(&[
            "serve",
            "--flows",
            fx.dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not starting: 3 problem(s)"), "{stderr}");
    for needle in [
        "schedule.every",
        "schedule.timezone",
        "Mars/Olympus",
        "schedule.cron",
        "99",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
}

#[test]
fn schedule_preview_prints_the_next_fire_times() {
    let out = Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args([
            "schedule",
            "preview",
            "0 30 9 ? * MON-FRI",
            "--tz",
            "Europe/Istanbul",
            "--count",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in lines {
        assert!(line.contains("T09:30:00+03:00"), "{line}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_omnibridge"))
        .args(["schedule", "preview", "* * * *"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("schedule.cron"),
        "{}",
        text(&out.stderr)
    );
}

/// Rows the service accepted (202) are never lost: killed (SIGKILL) right after answering,
/// the restarted service applies every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_rows_accepted_before_a_kill_are_applied_after_the_restart() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(200).seed(6)).await;
    let orders = support_flow::movable(&fx.omnitron, 30).await;
    // Slow status updates: the kill lands while most rows are still waiting.
    fx.omnitron
        .add_fault(
            omnibridge_sim::FaultRule::new(omnibridge_sim::FaultAction::Latency { ms: 100 })
                .method("PATCH")
                .path("bulk_status_update"),
        )
        .await
        .unwrap();
    let rows: Vec<serde_json::Value> = orders
        .iter()
        .map(|(n, items)| {
            serde_json::json!({"order": n, "orderitem_set": items.iter().map(|pk| serde_json::json!({"id": pk, "status": 500})).collect::<Vec<_>>()})
        })
        .collect();
    let port = free_port();
    let mut child = serve(&fx, port);
    wait_ready(port).await;
    let answer = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/flows/order-status-push/outbound"
        ))
        .bearer_auth(TOKEN)
        .json(&rows)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    child.kill().unwrap();
    let _ = child.wait();
    let applied = |state: &omnibridge_sim::omnitron::OmnitronState| {
        orders
            .iter()
            .filter(|(n, _)| {
                state
                    .order(n)
                    .unwrap()
                    .items
                    .iter()
                    .all(|i| i.status == "500")
            })
            .count()
    };
    let before_restart = applied(&fx.omnitron.state().await);
    assert!(
        before_restart < orders.len(),
        "killed mid-run ({before_restart})"
    );

    fx.omnitron.clear_faults().await;
    let child = serve(&fx, port);
    wait_ready(port).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while applied(&fx.omnitron.state().await) < orders.len() {
        assert!(
            Instant::now() < deadline,
            "rows accepted before the kill were lost"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = terminate(child);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
