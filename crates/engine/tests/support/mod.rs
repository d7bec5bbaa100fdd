//! An Order Flow wired to in-process simulators, a temporary SQLite store and a script pool.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use omnibridge_engine::config::load::LoadOptions;
use omnibridge_engine::execution::{Engine, NoProgress, RunSummary};
use omnibridge_engine::flows::order::{
    OrderFlow, RunRequest, Selection, load_order_flow, run_order_flow,
};
use omnibridge_sim::omnitron::OmnitronState;
use omnibridge_sim::{ErpConfig, ErpHandle, OmnitronConfig, OmnitronHandle};
use omnibridge_store::{Store, Trigger};
use tempfile::TempDir;

/// The statuses the Order Flow reads.
pub const READ_STATUSES: [&str; 6] = ["400", "450", "500", "510", "540", "550"];

#[path = "../sim_env/mod.rs"]
mod sim_env;

use sim_env::SimEnv;

/// Edits any TOML file as TOML (comments and layout kept).
pub fn sim_env_edit_toml(path: &std::path::Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
    sim_env::edit_toml(path, edit);
}

pub fn example_dir() -> PathBuf {
    sim_env::examples()
}

pub struct Harness {
    pub omnitron: OmnitronHandle,
    pub erp: ErpHandle,
    pub dir: TempDir,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    pub env: BTreeMap<String, String>,
}

impl Harness {
    /// Simulators with `orders` orders and the example flow copied into a temporary directory.
    pub async fn start(orders: usize, erp: ErpConfig) -> Harness {
        Self::start_with(OmnitronConfig::default().orders(orders).seed(11), erp).await
    }

    pub async fn start_with(omnitron: OmnitronConfig, erp: ErpConfig) -> Harness {
        let SimEnv {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        } = SimEnv::start(omnitron, erp, &["order-flow"]).await;
        Harness {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        }
    }

    pub fn flow_dir(&self) -> PathBuf {
        self.dir.path().join("order-flow")
    }

    /// Edits `flow.toml` as TOML (comments and layout kept).
    pub fn edit_config(&self, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
        sim_env::edit_toml(&self.flow_dir().join("flow.toml"), edit);
    }

    /// Rewrites `flow.toml` with `edit` applied to its text.
    pub fn edit_flow(&self, edit: impl FnOnce(String) -> String) {
        let path = self.flow_dir().join("flow.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
    }

    /// Writes a file into the flow directory.
    pub fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.flow_dir().join(name), text).unwrap();
    }

    pub async fn load(&self) -> OrderFlow {
        match self.try_load().await {
            Ok(flow) => flow,
            Err(errors) => panic!("the flow does not load:\n{errors}"),
        }
    }

    pub async fn try_load(
        &self,
    ) -> Result<OrderFlow, omnibridge_engine::config::error::FlowErrors> {
        let env = self.env.clone();
        let options = LoadOptions {
            logins: None,
            env: Box::new(move |name| env.get(name).cloned()),
        };
        load_order_flow(&self.flow_dir(), &options, &self.engine.scripts).await
    }

    pub async fn run(&self) -> RunSummary {
        let flow = self.load().await;
        self.run_flow(&flow).await
    }

    pub async fn run_flow(&self, flow: &OrderFlow) -> RunSummary {
        run_order_flow(
            &self.engine,
            flow,
            RunRequest {
                trigger: Trigger::Manual {
                    user: "tester".to_string(),
                },
                selection: Selection::Unsent,
            },
            &NoProgress,
        )
        .await
        .unwrap()
    }

    /// Numbers of the orders the flow's query selects now (unsent, read statuses, 21 days).
    pub async fn eligible(&self) -> Vec<String> {
        eligible(&self.omnitron.state().await, self.omnitron.now())
    }
}

pub fn eligible(state: &OmnitronState, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let since = now - chrono::Duration::days(21);
    state
        .orders
        .iter()
        .filter(|o| {
            !o.is_send && READ_STATUSES.contains(&o.status.as_str()) && o.modified_date > since
        })
        .filter(|o| (1..=4).contains(&o.channel))
        .map(|o| o.number.clone())
        .collect()
}
