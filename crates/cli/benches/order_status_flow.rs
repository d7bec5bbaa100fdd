//! End-to-end Order Status Flow benchmark: the `omnibridge` binary against `omnibridge sim`,
//! each in its own process, as in production.
//!
//! An inbound flow reads the ERP's offset-paginated status feed (100 rows a page), maps each
//! page with Jolt, runs the per-row script on every row and writes each row to Omnitron's bulk
//! status update, with the ledger and a row log per row. Prints:
//! - rows/s for 10,000 rows with no simulator latency (target: at least 1,500);
//! - the engine's peak memory (VmHWM) at 1,000 and at 10,000 rows (target: within 20%).
//!
//! Run: `cargo bench -p omnibridge --bench order_status_flow` (`-- quick` for 2,000 rows).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use support::{BIN, Sims, get, post, run_flow, send, start_sims};

const CONCURRENCY: usize = 16;

/// Fills the ERP's feed with `rows` rows over Omnitron's orders: each keeps its items' statuses
/// (a valid update whatever they are) and sets a new invoice and tracking number.
fn seed_rows(sims: &Sims, rows: usize) {
    send(
        reqwest::Method::DELETE,
        &format!("{}/__sim/status_rows", sims.erp),
        None,
    );
    let state = get(&format!("{}/__sim/state", sims.omnitron));
    let orders: Vec<&Value> = state["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !o["items"].as_array().unwrap().is_empty())
        .collect();
    let mut batch = Vec::new();
    for n in 0..rows {
        let order = orders[n % orders.len()];
        let items: Vec<Value> = order["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                json!({"id": i["pk"], "status": i["status"], "invoice_number": format!("INV-{n}"),
                       "tracking_number": format!("TRK-{n}"), "shipping_company": "cargocompany"})
            })
            .collect();
        batch.push(json!({"order": order["number"], "orderitems": items}));
        if batch.len() == 1000 {
            post(
                &format!("{}/__sim/status_rows", sims.erp),
                &Value::Array(std::mem::take(&mut batch)),
            );
        }
    }
    if !batch.is_empty() {
        post(
            &format!("{}/__sim/status_rows", sims.erp),
            &Value::Array(batch),
        );
    }
}

fn flow_dir(work: &Path) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let flow = work.join("status-bench");
    std::fs::create_dir_all(&flow).unwrap();
    std::fs::copy(
        examples.join("order-status-flow").join("row_script.py"),
        flow.join("row_script.py"),
    )
    .unwrap();
    std::fs::copy(examples.join("logins.toml"), work.join("logins.toml")).unwrap();
    std::fs::write(
        flow.join("mapping.json"),
        r#"[{"operation": "shift", "spec": {"results": {"*": {
            "orderitems": "[&1].orderitem_set", "order": "[&1].order"}}}}]"#,
    )
    .unwrap();
    std::fs::write(
        flow.join("flow.toml"),
        format!(
            r#"
name = "status-bench"
type = "order_status"
[run]
concurrency = {CONCURRENCY}
[omnitron]
login = "main"
[erp]
login = "main"
[read]
url = "${{env:ERP_URL}}/orders/status"
[read.pagination]
type = "offset"
page_size = 100
max_pages = 10000
[mapping]
file = "mapping.json"
[write.row_script]
file = "row_script.py"
"#
        ),
    )
    .unwrap();
    flow
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let work = tempfile::tempdir().unwrap();
    let flow = flow_dir(work.path());
    println!("order status flow benchmark (release binary {BIN})");
    let sims = start_sims(2_000);
    post(
        &format!("{}/__sim/scenario", sims.erp),
        &json!({"status_feed": {"pagination": "offset", "page_size": 100}}),
    );

    let mut results = Vec::new();
    for rows in if quick {
        vec![1_000, 2_000]
    } else {
        vec![1_000, 10_000]
    } {
        seed_rows(&sims, rows);
        let started = Instant::now();
        let outcome = run_flow(&sims, work.path(), &flow, "updated");
        assert_eq!(outcome.count as usize, rows, "every row was applied");
        println!(
            "{rows} rows, no latency, concurrency {CONCURRENCY}: {:.2} s = {:.0} rows/s \
             (process wall {:.2} s, peak {:.1} MiB)",
            outcome.seconds,
            outcome.count as f64 / outcome.seconds,
            started.elapsed().as_secs_f64(),
            outcome.peak_kib as f64 / 1024.0
        );
        results.push((rows, outcome));
    }
    let (small, large) = (&results[0], &results[1]);
    println!(
        "peak memory: {:.1} MiB at {} rows, {:.1} MiB at {} rows ({:+.0}%)",
        small.1.peak_kib as f64 / 1024.0,
        small.0,
        large.1.peak_kib as f64 / 1024.0,
        large.0,
        100.0 * (large.1.peak_kib as f64 / small.1.peak_kib as f64 - 1.0)
    );
    println!(
        "throughput at {} rows: {:.0} rows/s (target >= 1500)",
        large.0,
        large.1.count as f64 / large.1.seconds
    );
}
