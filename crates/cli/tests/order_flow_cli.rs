//! `omnibridge run`, `logs` and `replay` driven as a user would, against the simulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use omnibridge_sim::OmnitronConfig;
use omnibridge_sim::erp::CreateMode;
use support_flow::{FlowFixture, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_sends_the_orders_and_logs_show_them() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(30).seed(3)).await;
    let eligible = fx.eligible().await;
    let flow = fx.flow_dir();
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "read {}, sent {}, already in ERP 0, failed 0",
            eligible.len(),
            eligible.len()
        )),
        "{stdout}"
    );
    let execution = stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    for number in &eligible {
        assert_eq!(fx.erp.state().await.order(number).unwrap().creates, 1);
    }

    let out = fx.run(&["logs"]);
    let listing = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        listing.contains(&execution) && listing.contains("order-to-erp"),
        "{listing}"
    );

    let out = fx.run(&["logs", &execution]);
    let rows = text(&out.stdout);
    assert!(rows.contains(&format!("order {}", eligible[0])), "{rows}");
    assert!(rows.contains("log.order.items"), "{rows}");

    let out = fx.run(&["logs", "--order", &eligible[0], "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["record_key"], eligible[0].as_str());
    assert_eq!(json[0]["status"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_orders_exit_non_zero_and_replay_finishes_them() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(20).seed(5)).await;
    let eligible = fx.eligible().await;
    let refused = eligible[0].clone();
    fx.erp
        .set_order_create_mode(refused.clone(), CreateMode::Validation)
        .await;
    let flow = fx.flow_dir();
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once", "--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("failed 1"), "{stdout}");
    let execution = stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();

    let out = fx.run(&["logs", &execution, "--status", "failed"]);
    let rows = text(&out.stdout);
    assert!(
        rows.contains(&refused) && rows.contains("write_erp") && rows.contains("400"),
        "{rows}"
    );

    fx.erp
        .set_order_create_mode(refused.clone(), CreateMode::Ok)
        .await;
    let out = fx.run(&["replay", &execution, "--flow", flow.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("read 1, sent 1"), "{stdout}");
    assert!(fx.omnitron.state().await.order(&refused).unwrap().is_send);
    assert_eq!(fx.erp.state().await.order(&refused).unwrap().creates, 1);

    let out = fx.run(&["logs", "--json"]);
    let executions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(executions[0]["trigger"]["kind"], "replay");
    assert_eq!(executions[0]["trigger"]["parent"], execution.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_flow_is_refused_with_every_problem_named() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(5)).await;
    let flow = fx.flow_dir();
    let toml = std::fs::read_to_string(flow.join("flow.toml")).unwrap();
    let toml = toml
        .replace(
            "number=${_order.number:urlEncode()}",
            "number=${_order.number:urlEncod()}",
        )
        .replace("concurrency = 8", "concurrency = 0");
    std::fs::write(flow.join("flow.toml"), toml).unwrap();
    std::fs::write(
        flow.join("mapping.json"),
        r#"[{"operation": "shift", "spec": {"a": 1}}]"#,
    )
    .unwrap();
    std::fs::write(flow.join("script.py"), "print 'hello'\n").unwrap();
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("query_check.url") && stderr.contains("urlEncode"),
        "{stderr}"
    );
    assert!(stderr.contains("run.concurrency"), "{stderr}");
    assert!(stderr.contains("mapping.json"), "{stderr}");
    assert!(
        stderr.contains("script.py") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(fx.erp.state().await.orders.is_empty(), "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_held_in_doubt_is_listed_and_a_person_resolves_it() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(12).seed(9)).await;
    let eligible = fx.eligible().await;
    let lost = eligible[0].clone();
    fx.erp
        .set_order_create_mode(lost.clone(), CreateMode::CommitThenFail { reset: true })
        .await;
    let flow = fx.flow_dir();
    // Without a Query URL nothing can tell whether the ERP has the order.
    support_flow::edit_toml(&flow.join("flow.toml"), |doc| {
        doc.remove("query_check");
    });

    let out = fx.run(&["run", flow.to_str().unwrap(), "--once", "--quiet"]);
    assert!(
        text(&out.stdout).contains("in doubt 1"),
        "{}",
        text(&out.stdout)
    );
    let out = fx.run(&["ledger", "list", "order-to-erp"]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&lost) && listing.contains("intent"),
        "{listing}"
    );

    // The person checked the ERP: the order is there.
    let out = fx.run(&[
        "ledger",
        "resolve",
        "order-to-erp",
        &lost,
        "--done",
        "--note",
        "seen in ERP",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("completed"));
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once", "--quiet"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("in doubt 0") && stdout.contains("skipped 1"),
        "{stdout}"
    );
    assert_eq!(
        fx.erp.state().await.order(&lost).unwrap().creates,
        1,
        "never re-sent"
    );

    let out = fx.run(&[
        "ledger",
        "resolve",
        "order-to-erp",
        "no-such-order",
        "--resend",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no ledger entry"),
        "{}",
        text(&out.stderr)
    );
}

/// `replay` with an id that is neither an execution nor an order the flow handled is an
/// error that says so, not an empty execution that exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_an_unknown_id_is_an_error() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(5).seed(5)).await;
    let flow = fx.flow_dir();
    let out = fx.run(&[
        "replay",
        "no-such-execution",
        "--flow",
        flow.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\"no-such-execution\" is neither an execution id"),
        "{stderr}"
    );
    let out = fx.run(&["logs", "--json"]);
    let executions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        executions,
        serde_json::json!([]),
        "no execution was started"
    );
    assert!(fx.erp.state().await.orders.is_empty());
}

/// Ctrl-C during `run --once`: no new order is taken, those in flight finish (sent and marked,
/// never half-written), the execution is recorded interrupted and the command exits 130; the
/// next run sends the rest, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_run_once_finishes_the_orders_in_flight_and_exits_130() {
    use omnibridge_sim::{FaultAction, FaultRule};
    let fx = FlowFixture::start(OmnitronConfig::default().orders(120).seed(8)).await;
    let eligible = fx.eligible().await;
    assert!(eligible.len() > 40, "{}", eligible.len());
    // Slow creates, so the signal lands while orders are in flight.
    fx.erp
        .add_fault(FaultRule::new(FaultAction::Latency { ms: 150 }).method("POST"))
        .await
        .unwrap();
    let flow = fx.flow_dir();
    let child = fx
        .command(&["run", flow.to_str().unwrap(), "--once", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fx.erp.state().await.orders.len() < 3 {
        assert!(std::time::Instant::now() < deadline, "no order was sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains(": interrupted, "), "{stdout}");
    assert!(
        stderr.contains("finishing the records in flight"),
        "{stderr}"
    );

    let erp = fx.erp.state().await;
    let omnitron = fx.omnitron.state().await;
    assert!(
        erp.orders.len() < eligible.len(),
        "it stopped taking orders: {} of {}",
        erp.orders.len(),
        eligible.len()
    );
    for sent in &erp.orders {
        assert!(
            omnitron.order(&sent.number).unwrap().is_send,
            "{} was created and, being in flight, finished: marked sent",
            sent.number
        );
    }
    let out = fx.run(&["logs", "--json"]);
    let executions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(executions[0]["state"], "interrupted", "{executions}");

    fx.erp.clear_faults().await;
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let erp = fx.erp.state().await;
    for number in &eligible {
        assert_eq!(erp.order(number).unwrap().creates, 1, "{number} sent once");
    }
}

/// Files a flow names stay inside its directory: a `..` path and a symbolic link out of it are
/// refused, naming the field, and nothing of the outside file is read or printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_a_flow_names_must_stay_inside_its_directory() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(5)).await;
    let flow = fx.flow_dir();
    support_flow::edit_toml(&flow.join("flow.toml"), |doc| {
        doc["script"]["file"] = toml_edit::value("../../../../../../../../etc/passwd");
        doc["check_response"]["file"] = toml_edit::value("/etc/passwd");
        doc["mapping"]["file"] = toml_edit::value("linked.json");
    });
    std::os::unix::fs::symlink("/etc/passwd", flow.join("linked.json")).unwrap();
    let out = fx.run(&["run", flow.to_str().unwrap(), "--once"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for field in ["script.file", "check_response.file", "mapping.file"] {
        assert!(stderr.contains(field), "{field}: {stderr}");
    }
    assert!(stderr.contains("inside the flow directory"), "{stderr}");
    assert!(
        !stderr.contains("root:"),
        "the outside file was read: {stderr}"
    );
    assert!(fx.erp.state().await.orders.is_empty(), "nothing ran");
}

/// Two runs started at once on a fresh database: the migrations run under a lock, so neither
/// fails on the schema; one runs the flow and the other runs after it or says it is already
/// running. Every order is sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_on_a_fresh_database_do_not_race_the_migrations() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(30).seed(4)).await;
    let eligible = fx.eligible().await;
    let flow = fx.flow_dir();
    let children: Vec<_> = (0..2)
        .map(|_| {
            fx.command(&["run", flow.to_str().unwrap(), "--once", "--quiet"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut ran = 0;
    for out in &outputs {
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains("already exists") && !stderr.contains("database is locked"),
            "{stderr}"
        );
        match out.status.code() {
            Some(0) => ran += 1,
            _ => assert!(stderr.contains("is already running"), "{stderr}"),
        }
    }
    assert!(ran >= 1, "one of them ran the flow");
    let erp = fx.erp.state().await;
    for number in &eligible {
        assert_eq!(erp.order(number).unwrap().creates, 1, "{number} sent once");
    }
}
