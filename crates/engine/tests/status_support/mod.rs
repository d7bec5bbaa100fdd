//! Order Status Flows wired to in-process simulators, a temporary SQLite store and a script
//! pool: the example flows, or flows a test writes.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use omnibridge_engine::config::load::LoadOptions;
use omnibridge_engine::execution::{Engine, NoProgress, RunSummary};
use omnibridge_engine::flows::order_status::{
    OrderStatusFlow, ReadMode, StatusInput, StatusRunRequest, TriggerParams,
    load_order_status_flow, run_order_status_flow,
};
use omnibridge_engine::{Clock, ManualClock};
use omnibridge_sim::erp::state::StatusRow;
use omnibridge_sim::{
    ErpConfig, ErpHandle, JournalEntry, JournalQuery, OmnitronConfig, OmnitronHandle,
};
use omnibridge_store::{RowLog, RowLogQuery, Store, Trigger};
use serde_json::{Value, json};
use tempfile::TempDir;

#[path = "../sim_env/mod.rs"]
mod sim_env;

use sim_env::SimEnv;
pub use sim_env::examples;

/// The mapping of the simulator's paged JSON feed (`{"results": [...]}`) to Omnitron's rows.
pub const RESULTS_MAPPING: &str = r#"[{"operation": "shift", "spec": {"results": {"*": {
    "orderitems": "[&1].orderitem_set", "order": "[&1].order"}}}}]"#;

/// The mapping of the simulator's unpaginated feed (a bare array of rows) to Omnitron's rows.
pub const ARRAY_MAPPING: &str = r#"[{"operation": "shift", "spec": {"*": {
    "orderitems": "[&1].orderitem_set", "order": "[&1].order"}}}]"#;

pub struct StatusHarness {
    pub omnitron: OmnitronHandle,
    pub erp: ErpHandle,
    pub dir: TempDir,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    pub env: BTreeMap<String, String>,
}

/// An order the feed can move forward: its number and its items' pks (all at 400 or 450).
#[derive(Debug, Clone)]
pub struct Target {
    pub number: String,
    pub items: Vec<u64>,
}

impl StatusHarness {
    pub async fn start(orders: usize, erp: ErpConfig) -> StatusHarness {
        Self::start_with_clock(orders, erp, None).await
    }

    pub async fn start_with_clock(
        orders: usize,
        erp: ErpConfig,
        clock: Option<Arc<ManualClock>>,
    ) -> StatusHarness {
        let SimEnv {
            omnitron,
            erp,
            dir,
            store,
            mut engine,
            env,
        } = SimEnv::start(
            OmnitronConfig::default().orders(orders).seed(13),
            erp,
            &["order-status-flow", "order-status-push"],
        )
        .await;
        if let Some(clock) = clock {
            engine = engine.with_clock(clock as Arc<dyn Clock>);
        }
        StatusHarness {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        }
    }

    pub fn flow_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a flow directory `name` with this `flow.toml` and files.
    pub fn write_flow(&self, name: &str, toml: &str, files: &[(&str, &str)]) {
        let dir = self.flow_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("flow.toml"), toml).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
    }

    /// A flow reading the simulator's `/orders/status` feed through a plain URL, mapped with
    /// [`RESULTS_MAPPING`] unless `mapping` says otherwise; `extra` is appended to `flow.toml`.
    pub fn feed_flow(&self, name: &str, read_extra: &str, extra: &str) {
        let toml = format!(
            r#"
name = "{name}"
type = "order_status"
[omnitron]
login = "main"
[erp]
login = "main"
[trigger]
parameters = ["custom_parameter"]
[read]
url = "${{env:ERP_URL}}/orders/status"
{read_extra}
[mapping]
file = "mapping.json"
{extra}
"#
        );
        self.write_flow(name, &toml, &[("mapping.json", RESULTS_MAPPING)]);
        std::fs::copy(
            examples().join("logins.toml"),
            self.dir.path().join("logins.toml"),
        )
        .unwrap();
    }

    /// [`StatusHarness::feed_flow`] for the unpaginated feed ([`ARRAY_MAPPING`]).
    pub fn array_feed_flow(&self, name: &str, extra: &str) {
        self.feed_flow(name, "", extra);
        std::fs::write(self.flow_dir(name).join("mapping.json"), ARRAY_MAPPING).unwrap();
    }

    pub async fn load(&self, name: &str) -> OrderStatusFlow {
        match self.try_load(name).await {
            Ok(flow) => flow,
            Err(errors) => panic!("the flow does not load:\n{errors}"),
        }
    }

    pub async fn try_load(
        &self,
        name: &str,
    ) -> Result<OrderStatusFlow, omnibridge_engine::config::error::FlowErrors> {
        let env = self.env.clone();
        let options = LoadOptions {
            logins: None,
            env: Box::new(move |key| env.get(key).cloned()),
        };
        load_order_status_flow(&self.flow_dir(name), &options, &self.engine.scripts).await
    }

    pub async fn run(&self, flow: &OrderStatusFlow, input: StatusInput) -> RunSummary {
        run_order_status_flow(
            &self.engine,
            flow,
            StatusRunRequest {
                trigger: Trigger::Manual {
                    user: "tester".to_string(),
                },
                input,
            },
            &NoProgress,
        )
        .await
        .unwrap()
    }

    pub async fn scheduled(&self, flow: &OrderStatusFlow) -> RunSummary {
        self.run(flow, StatusInput::Read(ReadMode::Scheduled)).await
    }

    pub async fn trigger(&self, flow: &OrderStatusFlow, params: &[(&str, &str)]) -> RunSummary {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let params = TriggerParams::parse(&pairs, flow).unwrap();
        self.run(flow, StatusInput::Read(ReadMode::Triggered(params)))
            .await
    }

    /// Orders whose items can all move forward to 500 (all at 400 or 450, none cancelled).
    pub async fn targets(&self, count: usize) -> Vec<Target> {
        let state = self.omnitron.state().await;
        let targets: Vec<Target> = state
            .orders
            .iter()
            .filter(|o| o.cancel_status.is_none() && !o.items.is_empty())
            .filter(|o| {
                o.items.iter().all(|i| {
                    ["400", "450"].contains(&i.status.as_str()) && i.cancel_status.is_none()
                })
            })
            .take(count)
            .map(|o| Target {
                number: o.number.clone(),
                items: o.items.iter().map(|i| i.pk).collect(),
            })
            .collect();
        assert_eq!(targets.len(), count, "the seed has {count} movable orders");
        targets
    }

    /// Feed rows moving each target's items to `status`, with an invoice number.
    pub async fn add_rows(&self, targets: &[Target], status: &str) {
        let rows = targets.iter().map(|t| row(t, status)).collect();
        self.erp.add_status_rows(rows).await;
    }

    pub async fn item_statuses(&self, number: &str) -> Vec<String> {
        self.omnitron
            .state()
            .await
            .order(number)
            .unwrap()
            .items
            .iter()
            .map(|i| i.status.clone())
            .collect()
    }

    pub async fn item_field(&self, item: u64, field: &str) -> Option<Value> {
        let state = self.omnitron.state().await;
        state
            .orders
            .iter()
            .flat_map(|o| &o.items)
            .find(|i| i.pk == item)
            .and_then(|i| i.fields.get(field).cloned())
    }

    /// Row logs of one execution, by record key (several per key kept in order).
    pub async fn rows(&self, execution: &str) -> BTreeMap<String, Vec<RowLog>> {
        let mut by_key: BTreeMap<String, Vec<RowLog>> = BTreeMap::new();
        let logs = self
            .store
            .list_row_logs(&RowLogQuery {
                execution_id: Some(execution.to_string()),
                limit: 1000,
                ..RowLogQuery::default()
            })
            .await
            .unwrap();
        for log in logs.items.into_iter().rev() {
            by_key.entry(log.record_key.clone()).or_default().push(log);
        }
        by_key
    }

    /// PATCHes of `bulk_status_update` Omnitron received, as their bodies.
    pub async fn patches(&self) -> Vec<Value> {
        self.omnitron
            .journal(JournalQuery {
                method: Some("PATCH".to_string()),
                path: Some("bulk_status_update".to_string()),
                ..JournalQuery::default()
            })
            .await
            .into_iter()
            .map(|e| e.body)
            .collect()
    }

    /// Requests the ERP's status feed received.
    pub async fn feed_requests(&self) -> Vec<JournalEntry> {
        self.erp
            .journal(JournalQuery::default())
            .await
            .into_iter()
            .filter(|e| e.path.contains("orders/status") || e.path.contains("service/run"))
            .collect()
    }
}

/// A feed row moving `target`'s items to `status`.
pub fn row(target: &Target, status: &str) -> StatusRow {
    StatusRow {
        id: 0,
        order: Value::from(target.number.clone()),
        orderitems: target
            .items
            .iter()
            .map(|pk| {
                json!({"id": pk, "status": status, "invoice_number": format!("INV-{}", target.number),
                       "invoice_date": "2024-10-01T12:30:59", "e_archive_url": "https://example.com/e"})
            })
            .collect(),
        modified_date: None,
    }
}

/// One parameter of a journal entry's query.
pub fn query_param(entry: &JournalEntry, name: &str) -> Option<String> {
    url::form_urlencoded::parse(entry.query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The query string of a journal entry, percent-decoded.
pub fn decoded_query(entry: &JournalEntry) -> String {
    url::form_urlencoded::parse(entry.query.as_bytes())
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}
