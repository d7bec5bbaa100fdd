//! The engine is killed (SIGKILL) at random points of a 1,000-row Order Status Flow run and
//! restarted until a run completes: every row is applied, each has exactly one successful row
//! log, and only rows a kill caught written but not yet logged are ever sent again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use std::collections::BTreeMap;
use std::time::Instant;

use omnibridge_sim::erp::{Pagination, StatusFeed, StatusRow};
use omnibridge_sim::{ErpConfig, JournalQuery, OmnitronConfig};
use omnibridge_store::{RowLogQuery, RowStatus, StoreOptions};
use serde_json::{Value, json};
use support_flow::{Crashes, FlowFixture, movable};

const ROWS: usize = 1000;
const CONCURRENCY: usize = 8;
/// Rows a kill can catch written but not yet logged: those in flight (the concurrency), those
/// queued for the row-log writer (four per slot) and two batches being written (64 each).
const UNLOGGED_AT_A_KILL: usize = CONCURRENCY + 4 * CONCURRENCY + 2 * 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_engine_during_a_status_run_applies_every_row_once() {
    let fx = FlowFixture::start_with(
        OmnitronConfig::default().orders(2600).seed(31),
        ErpConfig::default().status_feed(StatusFeed {
            pagination: Pagination::Offset,
            page_size: 50,
            ..StatusFeed::default()
        }),
    )
    .await;
    let targets = movable(&fx.omnitron, ROWS).await;
    fx.erp
        .add_status_rows(
            targets
                .iter()
                .map(|(number, items)| StatusRow {
                    id: 0,
                    order: Value::from(number.clone()),
                    orderitems: items
                        .iter()
                        .map(|pk| json!({"id": pk, "status": 500, "tracking_number": format!("T-{number}")}))
                        .collect(),
                    modified_date: None,
                })
                .collect(),
        )
        .await;
    // The ERP's offset-paginated feed through a plain URL, the example's per-row script.
    let flow = fx.dir.path().join("status-crash");
    std::fs::create_dir_all(&flow).unwrap();
    std::fs::copy(
        fx.example("order-status-flow").join("row_script.py"),
        flow.join("row_script.py"),
    )
    .unwrap();
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
name = "status-crash"
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
page_size = 50
[mapping]
file = "mapping.json"
[write.row_script]
file = "row_script.py"
"#
        ),
    )
    .unwrap();
    let flow = flow.to_str().unwrap();

    let started = Instant::now();
    let Crashes { kills, seed } = fx
        .kill_at_random(
            &["run", flow, "--once", "--quiet"],
            11,
            (200, 1800),
            async |status| {
                assert!(status.success(), "run exited with {status}");
                true
            },
        )
        .await;
    assert!(kills >= 2, "the engine was killed mid-run ({kills} kills)");
    eprintln!(
        "{kills} kills, {:.1} s in all (OMNIBRIDGE_CRASH_SEED={seed})",
        started.elapsed().as_secs_f64()
    );

    // Every row is applied in Omnitron.
    let state = fx.omnitron.state().await;
    for (number, _) in &targets {
        let order = state.order(number).unwrap();
        assert!(
            order.items.iter().all(|i| i.status == "500"
                && i.fields.get("tracking_number") == Some(&json!(format!("T-{number}")))),
            "order {number} was applied"
        );
    }
    // Only rows a kill caught written but not yet logged were sent again (a no-op in Omnitron).
    let mut patches: BTreeMap<String, usize> = BTreeMap::new();
    for entry in fx
        .omnitron
        .journal(JournalQuery {
            method: Some("PATCH".to_string()),
            path: Some("bulk_status_update".to_string()),
            ..JournalQuery::default()
        })
        .await
    {
        *patches
            .entry(entry.body["order"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(patches.len(), ROWS);
    let resent: usize = patches.values().map(|n| n - 1).sum();
    assert!(
        resent <= kills * UNLOGGED_AT_A_KILL && patches.values().all(|n| *n <= kills + 1),
        "{resent} rows sent again after {kills} kills"
    );
    // Exactly one successful row log per row, across every execution.
    let store = omnibridge_store::open(&fx.database(), StoreOptions::default())
        .await
        .unwrap();
    let mut successes: BTreeMap<String, usize> = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = store
            .list_row_logs(&RowLogQuery {
                flow_id: Some("status-crash".to_string()),
                statuses: vec![RowStatus::Success],
                limit: 1000,
                offset,
                ..RowLogQuery::default()
            })
            .await
            .unwrap();
        if page.items.is_empty() {
            break;
        }
        offset += page.items.len() as u64;
        for log in page.items {
            *successes.entry(log.record_key).or_default() += 1;
        }
    }
    assert_eq!(successes.len(), ROWS);
    assert!(
        successes.values().all(|n| *n == 1),
        "one success per row: {:?}",
        successes
            .iter()
            .filter(|(_, n)| **n != 1)
            .collect::<Vec<_>>()
    );
    // And the window moved on once a run completed.
    assert!(
        store
            .get_flow_state("status-crash", "last.request")
            .await
            .unwrap()
            .is_some()
    );
}
