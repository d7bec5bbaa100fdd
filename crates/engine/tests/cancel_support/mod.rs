//! Order Cancel Flows wired to in-process simulators, a temporary SQLite store and a script
//! pool: the example flow, with the settings a test changes.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use omnibridge_engine::config::load::LoadOptions;
use omnibridge_engine::execution::{Engine, NoProgress, RunSummary};
use omnibridge_engine::flows::order_cancel::{
    CancelSelection, OrderCancelFlow, load_order_cancel_flow, run_order_cancel_flow, stored_plans,
};
use omnibridge_sim::omnitron::OmnitronState;
use omnibridge_sim::{ErpConfig, ErpHandle, OmnitronConfig, OmnitronHandle};
use omnibridge_store::{RowLog, RowLogQuery, Store, Trigger};
use tempfile::TempDir;

#[path = "../sim_env/mod.rs"]
mod sim_env;

use sim_env::SimEnv;

/// Channel pk → channel type, as the simulator generates them.
pub const CHANNELS: [(u64, &str); 4] =
    [(1, "web"), (2, "trendyol"), (3, "hepsiburada"), (4, "pos")];

pub fn channel_type(channel: u64) -> &'static str {
    CHANNELS
        .iter()
        .find(|(pk, _)| *pk == channel)
        .map_or("?", |(_, t)| t)
}

pub struct CancelHarness {
    pub omnitron: OmnitronHandle,
    pub erp: ErpHandle,
    pub dir: TempDir,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    pub env: BTreeMap<String, String>,
}

impl CancelHarness {
    /// Simulators with `orders` orders and the example flow in a temporary directory.
    pub async fn start(orders: usize, erp: ErpConfig) -> CancelHarness {
        let SimEnv {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        } = SimEnv::start(
            OmnitronConfig::default().orders(orders).seed(17),
            erp,
            &["order-cancel-flow"],
        )
        .await;
        CancelHarness {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        }
    }

    pub fn flow_dir(&self) -> PathBuf {
        self.dir.path().join("order-cancel-flow")
    }

    /// Sets `[read]` and `[write]` keys of the flow (each `key = value` TOML line replaces the
    /// example's line for that key, or is added to the section).
    pub fn set(&self, section: &str, key: &str, value: &str) {
        let path = self.flow_dir().join("flow.toml");
        let mut doc: toml::Table =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let table = doc
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
        let parsed: toml::Table = toml::from_str(&format!("{key} = {value}")).unwrap();
        for (k, v) in parsed {
            table.insert(k, v);
        }
        std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
    }

    /// Removes a key (or, with `key` empty, a whole section) from the flow.
    pub fn unset(&self, section: &str, key: &str) {
        let path = self.flow_dir().join("flow.toml");
        let mut doc: toml::Table =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if key.is_empty() {
            doc.remove(section);
        } else if let Some(table) = doc.get_mut(section).and_then(|t| t.as_table_mut()) {
            table.remove(key);
        }
        std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
    }

    pub fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.flow_dir().join(name), text).unwrap();
    }

    pub async fn load(&self) -> OrderCancelFlow {
        match self.try_load().await {
            Ok(flow) => flow,
            Err(errors) => panic!("the flow does not load:\n{errors}"),
        }
    }

    pub async fn try_load(
        &self,
    ) -> Result<OrderCancelFlow, omnibridge_engine::config::error::FlowErrors> {
        let env = self.env.clone();
        let options = LoadOptions {
            logins: None,
            env: Box::new(move |key| env.get(key).cloned()),
        };
        load_order_cancel_flow(&self.flow_dir(), &options, &self.engine.scripts).await
    }

    pub async fn run(&self, flow: &OrderCancelFlow) -> RunSummary {
        run_order_cancel_flow(
            &self.engine,
            flow,
            Trigger::Manual {
                user: "tester".to_string(),
            },
            CancelSelection::Listed,
            &NoProgress,
        )
        .await
        .unwrap()
    }

    pub async fn replay(&self, flow: &OrderCancelFlow, execution: &str) -> RunSummary {
        let records = stored_plans(self.store.as_ref(), flow, Some(execution), None)
            .await
            .unwrap();
        run_order_cancel_flow(
            &self.engine,
            flow,
            Trigger::Replay {
                parent: execution.to_string(),
                user: None,
            },
            CancelSelection::Stored(records),
            &NoProgress,
        )
        .await
        .unwrap()
    }

    /// Plans in the simulator matching a status, a plan type (`None`: any) and a channel type,
    /// with their order's channel.
    pub async fn plans(
        &self,
        status: &str,
        plan_type: Option<&str>,
        channel: &str,
    ) -> Vec<(u64, u64)> {
        let state = self.omnitron.state().await;
        plans_in(&state, status, plan_type, channel)
    }

    pub async fn plan_status(&self, pk: u64) -> String {
        self.omnitron.state().await.plan(pk).unwrap().status.clone()
    }

    /// How many requests the ERP received for a plan (0 when none).
    pub async fn erp_count(&self, plan: u64) -> u64 {
        self.erp
            .state()
            .await
            .cancellation(&plan.to_string())
            .map_or(0, |c| c.count)
    }

    pub async fn rows(&self, execution: &str) -> BTreeMap<String, RowLog> {
        self.store
            .list_row_logs(&RowLogQuery {
                execution_id: Some(execution.to_string()),
                limit: 1000,
                ..RowLogQuery::default()
            })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| (r.record_key.clone(), r))
            .collect()
    }

    /// An Omnitron token, as a person using the API would get one.
    async fn token(&self) -> String {
        let login: serde_json::Value = reqwest_client()
            .post(format!("{}/api/v1/auth/login/", self.omnitron.base_url()))
            .json(&serde_json::json!({"username": self.omnitron.username(), "password": self.omnitron.password()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["key"].as_str().unwrap().to_string()
    }

    /// Moves a plan in Omnitron, as a person would.
    pub async fn set_plan_status(&self, plan: u64, status: &str) {
        let token = self.token().await;
        let answer = reqwest_client()
            .post(format!(
                "{}/api/v1/cancellation_plans/{plan}/update_status/",
                self.omnitron.base_url()
            ))
            .header("Authorization", format!("Token {token}"))
            .json(&serde_json::json!({"status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status().as_u16(),
            200,
            "{}",
            answer.text().await.unwrap()
        );
    }

    /// A customer cancels an order with no plan open; returns the waiting plan's pk.
    pub async fn cancel_order(&self, order_pk: u64, plan_type: &str) -> u64 {
        self.omnitron
            .cancel_orders(&[order_pk], plan_type)
            .await
            .unwrap()[0]
    }

    /// Web orders with no plan at all, whose items can be cancelled.
    pub async fn cancellable_web_orders(&self, count: usize) -> Vec<u64> {
        let mut found = self.omnitron.state().await.cancellable_orders(1);
        assert!(
            found.len() >= count,
            "the seed has {count} cancellable web orders"
        );
        found.truncate(count);
        found
    }
}

pub fn plans_in(
    state: &OmnitronState,
    status: &str,
    plan_type: Option<&str>,
    channel: &str,
) -> Vec<(u64, u64)> {
    state
        .cancellation_plans
        .iter()
        .filter(|p| p.status == status)
        .filter(|p| plan_type.is_none_or(|t| p.plan_type == t))
        .filter_map(|p| {
            let order = state.order_by_pk(p.order)?;
            (channel_type(order.channel) == channel).then_some((p.pk, order.channel))
        })
        .collect()
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}
