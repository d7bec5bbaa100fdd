//! The flows the service runs: every flow directory under one directory, loaded and checked
//! before the service starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use omnibridge_engine::config::load::{FLOW_FILE, LoadOptions};
use omnibridge_engine::execution::Engine;
use omnibridge_engine::flows::{Flow, load_flow};

/// Most flow directories one service loads.
pub const MAX_FLOWS: usize = 1000;

/// The loaded flows, by id.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    flows: BTreeMap<String, Arc<Flow>>,
}

impl FlowSet {
    /// A set of already loaded flows (tests, embedding).
    pub fn new(flows: impl IntoIterator<Item = Flow>) -> FlowSet {
        FlowSet {
            flows: flows
                .into_iter()
                .map(|flow| (flow.id().to_string(), Arc::new(flow)))
                .collect(),
        }
    }

    /// The flow with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<Flow>> {
        self.flows.get(id)
    }

    /// Every flow, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Flow>> {
        self.flows.values()
    }

    /// How many flows there are.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}

/// Loads every flow directory (a directory holding `flow.toml`) directly under `dir`. Every
/// problem of every flow is collected, so a refused start lists them all; two flows with one
/// id are a problem too.
pub async fn load_flow_dir(engine: &Engine, dir: &Path) -> Result<FlowSet, Vec<String>> {
    load_flow_dir_with(engine, dir, LoadOptions::default).await
}

/// [`load_flow_dir`] with the load options `options` makes for each flow (where `${env:...}`
/// values come from, a shared `logins.toml`).
pub async fn load_flow_dir_with(
    engine: &Engine,
    dir: &Path,
    options: impl Fn() -> LoadOptions,
) -> Result<FlowSet, Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![format!(
            "cannot read the flows directory {}: {e}",
            dir.display()
        )]
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join(FLOW_FILE).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(vec![format!(
            "no flow directory (a directory holding {FLOW_FILE}) under {}",
            dir.display()
        )]);
    }
    if dirs.len() > MAX_FLOWS {
        return Err(vec![format!(
            "{} holds {} flow directories, over the limit of {MAX_FLOWS}",
            dir.display(),
            dirs.len()
        )]);
    }
    let mut problems = Vec::new();
    let mut flows: BTreeMap<String, (PathBuf, Arc<Flow>)> = BTreeMap::new();
    for flow_dir in dirs {
        match load_flow(&flow_dir, &options(), &engine.scripts).await {
            Ok(flow) => {
                let id = flow.id().to_string();
                if let Some((other, _)) = flows.get(&id) {
                    problems.push(format!(
                        "{} and {} are both named {id:?}: flow names must be unique",
                        other.display(),
                        flow_dir.display()
                    ));
                } else {
                    flows.insert(id, (flow_dir, Arc::new(flow)));
                }
            }
            Err(errors) => problems.push(format!("{}:\n{errors}", flow_dir.display())),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(FlowSet {
        flows: flows
            .into_iter()
            .map(|(id, (_, flow))| (id, flow))
            .collect(),
    })
}
