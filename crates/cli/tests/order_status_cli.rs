//! `omnibridge trigger`, `run`, `push`, `logs` and `replay` on the example Order Status Flows,
//! driven as a user would, against the simulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use omnibridge_sim::erp::{Pagination, StatusFeed, StatusRow};
use omnibridge_sim::{ErpConfig, FaultAction, FaultRule, OmnitronConfig, OmnitronHandle};
use serde_json::{Value, json};
use support_flow::{FlowFixture, movable, text};

async fn statuses(omnitron: &OmnitronHandle, number: &str) -> Vec<String> {
    omnitron
        .state()
        .await
        .order(number)
        .unwrap()
        .items
        .iter()
        .map(|i| i.status.clone())
        .collect()
}

fn feed_row(number: &str, items: &[u64]) -> StatusRow {
    StatusRow {
        id: 0,
        order: Value::from(number),
        orderitems: items
            .iter()
            .map(|pk| json!({"id": pk, "status": 500, "invoice_number": format!("INV-{number}")}))
            .collect(),
        modified_date: None,
    }
}

fn execution_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_and_run_read_the_erp_and_write_omnitron() {
    let fx = FlowFixture::start_with(
        OmnitronConfig::default().orders(80).seed(4),
        ErpConfig::default().status_feed(StatusFeed {
            pagination: Pagination::None,
            timezone: Some("Europe/Istanbul".to_string()),
            ..StatusFeed::default()
        }),
    )
    .await;
    let orders = movable(&fx.omnitron, 3).await;
    fx.erp
        .add_status_rows(orders.iter().map(|(n, items)| feed_row(n, items)).collect())
        .await;
    let flow = fx.example("order-status-flow");
    let flow = flow.to_str().unwrap();

    // The trigger page: one order (the seeds' URL asks by number when `sku` is given).
    let number = format!("number={}", orders[0].0);
    let out = fx.run(&["trigger", flow, &number, "sku=ABC"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("read 1 rows, updated 1, already applied 0, failed 0"),
        "{stdout}"
    );
    assert!(
        statuses(&fx.omnitron, &orders[0].0)
            .await
            .iter()
            .all(|s| s == "500")
    );
    assert!(
        statuses(&fx.omnitron, &orders[1].0)
            .await
            .iter()
            .all(|s| s != "500")
    );

    // With `number` alone the seeds' URL takes its date branch, whose `replace` gets the
    // missing `modified_date__gt`: NiFi fails such an evaluation, and so do we, instead of
    // asking the ERP for a URL with "null" in it.
    let before = fx.erp.journal(Default::default()).await.len();
    let out = fx.run(&["trigger", flow, &number]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("replace") && stdout.contains("modified_date__gt"),
        "{stdout}"
    );
    let requests = fx.erp.journal(Default::default()).await;
    assert!(
        requests[before..]
            .iter()
            .all(|r| !r.path.contains("service/run")),
        "the ERP was not asked: {:?}",
        &requests[before..]
    );

    // A parameter the flow does not declare is refused, naming it and the known ones.
    let out = fx.run(&["trigger", flow, "colour=red"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"colour\" is not a trigger parameter") && stderr.contains("sku"),
        "{stderr}"
    );

    // A scheduled read takes the rest; the first order's row is recognised and skipped.
    let out = fx.run(&["run", flow, "--once"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout
            .contains("read 3 rows, updated 2, already applied 0, failed 0, in doubt 0, skipped 1"),
        "{stdout}"
    );
    for (number, _) in &orders {
        assert!(
            statuses(&fx.omnitron, number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    let execution = execution_of(&stdout);
    let out = fx.run(&["logs", &execution]);
    let logs = text(&out.stdout);
    assert!(
        logs.contains(&format!("order {}", orders[1].0)) && logs.contains("updated"),
        "{logs}"
    );
    assert!(
        logs.contains("log.items"),
        "the per-row script's log: {logs}"
    );

    // The ERP cannot be read: the run itself failed, and the exit code (1) says so, apart
    // from records that failed (2).
    fx.erp
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 503,
                body: None,
                html: None,
                headers: Default::default(),
            })
            .path("service/run"),
        )
        .await
        .unwrap();
    let out = fx.run(&["run", flow, "--once"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains(": failed"), "{stdout}");
    assert!(stdout.contains("503"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_applies_rows_refuses_bad_payloads_and_replay_finishes_a_failed_row() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(80).seed(6)).await;
    let orders = movable(&fx.omnitron, 3).await;
    let flow = fx.example("order-status-push");
    let flow = flow.to_str().unwrap();
    // Omnitron has an outage for the second order's update.
    fx.omnitron
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 502,
                body: None,
                html: Some("<html>Bad Gateway</html>".to_string()),
                headers: Default::default(),
            })
            .method("PATCH")
            .path("bulk_status_update")
            .object_id(orders[1].0.clone()),
        )
        .await
        .unwrap();
    let mut rows: Vec<Value> = orders
        .iter()
        .map(|(n, items)| {
            json!({"order": n, "orderitem_set": items.iter().map(|pk| json!({"id": pk, "status": 500})).collect::<Vec<_>>()})
        })
        .collect();
    rows.push(json!({"orderitem_set": [{"id": orders[0].1[0], "status": 550}]}));
    let file = fx.dir.path().join("rows.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();

    let out = fx.run(&["push", flow, file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("read 4 rows, updated 2, already applied 0, failed 2"),
        "{stdout}"
    );
    let execution = execution_of(&stdout);
    let out = fx.run(&["logs", &execution, "--status", "failed"]);
    let failed = text(&out.stdout);
    assert!(
        failed.contains("row 4") && failed.contains("no `order`"),
        "{failed}"
    );
    assert!(
        failed.contains(&orders[1].0) && failed.contains("HTTP 502"),
        "{failed}"
    );

    // Payloads that are not a list of row objects are refused whole.
    for (body, needle) in [
        ("{\"order\": \"1\"}", "must be a JSON array of rows"),
        ("[1, 2]", "row 1 is a number"),
        ("not json", "not JSON"),
    ] {
        std::fs::write(&file, body).unwrap();
        let out = fx.run(&["push", flow, file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{body}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("refused, nothing was processed") && stderr.contains(needle),
            "{body}: {stderr}"
        );
    }
    // An outbound flow cannot be run or triggered.
    let out = fx.run(&["run", flow, "--once"]);
    assert!(
        text(&out.stderr).contains("is outbound"),
        "{}",
        text(&out.stderr)
    );

    // Omnitron is back. The ERP does not push again: replay takes the rows from the row logs.
    fx.omnitron.clear_faults().await;
    let out = fx.run(&["replay", &execution, "--flow", flow]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the row without order fails again: {stdout}"
    );
    assert!(
        stdout.contains("read 2 rows, updated 1, already applied 0, failed 1"),
        "{stdout}"
    );
    for (number, _) in &orders {
        assert!(
            statuses(&fx.omnitron, number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    let out = fx.run(&["logs", "--json"]);
    let executions: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(executions[0]["trigger"]["kind"], "replay");
    assert_eq!(executions[1]["trigger"]["kind"], "outbound");
}
