//! End-to-end Order Cancel Flow benchmark: the `omnibridge` binary against `omnibridge sim`,
//! each in its own process, as in production.
//!
//! Customers cancel web orders (through Omnitron's API), leaving waiting plans; one run reads
//! them, fetches each plan, runs the example's script and Jolt mapping, writes it to the ERP,
//! judges the answer with the default Custom Response Script and approves the plan in Omnitron,
//! with the ledger and a row log per plan. Prints plans/s at zero simulator latency (target: at
//! least 400) and the engine's peak memory.
//!
//! Run: `cargo bench -p omnibridge --bench order_cancel_flow` (`-- quick` for 300 plans).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use omnibridge_sim::OmnitronState;
use omnibridge_sim::omnitron::customer;
use support::{BIN, Sims, get, run_flow, start_sims};

const CONCURRENCY: usize = 16;

/// Customers cancel `count` web orders that have no plan (through Omnitron's API); returns how
/// many.
fn cancel_orders(sims: &Sims, count: usize) -> usize {
    let state: OmnitronState =
        serde_json::from_value(get(&format!("{}/__sim/state", sims.omnitron))).unwrap();
    let mut orders = state.cancellable_orders(1);
    assert!(
        orders.len() >= count,
        "the simulator has {count} web orders to cancel"
    );
    orders.truncate(count);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let plans = runtime
        .block_on(customer::cancel_orders(
            &sims.omnitron,
            "integrator",
            "integrator-pass",
            &orders,
            "cancel",
        ))
        .unwrap();
    plans.len()
}

/// The example flow without its Post Script: script, mapping, default Custom Response Script.
fn flow_dir(work: &Path) -> PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let flow = work.join("cancel-bench");
    std::fs::create_dir_all(&flow).unwrap();
    for file in ["script.py", "mapping.json"] {
        std::fs::copy(
            examples.join("order-cancel-flow").join(file),
            flow.join(file),
        )
        .unwrap();
    }
    std::fs::copy(examples.join("logins.toml"), work.join("logins.toml")).unwrap();
    std::fs::write(
        flow.join("flow.toml"),
        format!(
            r#"
name = "cancel-bench"
type = "order_cancel"
[run]
concurrency = {CONCURRENCY}
[omnitron]
login = "main"
[erp]
login = "main"
[read]
channel_type = "web"
cancel_type = "all"
cancel_status = "waiting"
max_plans = 100000
[script]
file = "script.py"
[mapping]
file = "mapping.json"
[write]
url = "${{env:ERP_URL}}/cancellations"
next_state = "approved"
[custom_response]
enabled = true
"#
        ),
    )
    .unwrap();
    flow
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let plans = if quick { 300 } else { 1_000 };
    let work = tempfile::tempdir().unwrap();
    let flow = flow_dir(work.path());
    println!("order cancel flow benchmark (release binary {BIN})");
    let sims = start_sims(plans * 6);
    // Waiting web plans the generator made count too.
    let created = cancel_orders(&sims, plans);
    let started = Instant::now();
    let outcome = run_flow(&sims, work.path(), &flow, "succeeded");
    assert!(
        outcome.count as usize >= created,
        "every plan was approved ({} of at least {created})",
        outcome.count
    );
    let approved = get(&format!("{}/__sim/state", sims.omnitron))["cancellation_plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "approved")
        .count();
    assert!(approved >= created, "Omnitron approved {approved}");
    println!(
        "{} plans, no latency, concurrency {CONCURRENCY}: {:.2} s = {:.0} plans/s \
         (target 400; process wall {:.2} s, peak {:.1} MiB)",
        outcome.count,
        outcome.seconds,
        outcome.count as f64 / outcome.seconds,
        started.elapsed().as_secs_f64(),
        outcome.peak_kib as f64 / 1024.0
    );
}
