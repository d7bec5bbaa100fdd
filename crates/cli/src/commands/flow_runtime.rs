//! What `run`, `replay`, `logs` and `demo` share: the store, the script pool, loading a flow,
//! and showing an execution's progress and summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use omnibridge_engine::order_flow::record::RecordReport;
use omnibridge_engine::order_flow::{
    Engine, LoadOptions, OrderFlow, Progress, RunSummary, load_order_flow,
};
use omnibridge_script::{PoolConfig, ScriptPool};
use omnibridge_store::{Execution, RowStatus, Store, StoreOptions};

/// Where the store lives unless `--database` says otherwise.
pub const DEFAULT_DATABASE: &str = "sqlite://.omnibridge/omnibridge.db";

/// Options of every command that runs a flow.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// The store: sqlite://path (created if missing) or postgres://...
    #[arg(long, env = "OMNIBRIDGE_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// logins.toml to use (default: the flow directory's, else its parent's).
    #[arg(long)]
    pub logins: Option<PathBuf>,
    /// Print only the summary, not a line per order.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Opens the store at `url`, creating the directory of an SQLite file.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!("cannot create the database directory {}", parent.display())
        })?;
    }
    omnibridge_store::open(url, StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the store at {url}"))
}

/// Starts the engine: the store and a script pool.
pub async fn start_engine(database: &str) -> Result<Engine> {
    let store = open_store(database).await?;
    let scripts = ScriptPool::start(PoolConfig::default())
        .await
        .context("cannot start the Python script workers")?;
    Ok(Engine {
        store,
        scripts,
        node: omnibridge_engine::order_flow::node_name(),
    })
}

/// Loads an Order Flow directory, printing every problem found.
pub async fn load_flow(
    engine: &Engine,
    dir: &Path,
    logins: Option<PathBuf>,
    env: Option<omnibridge_engine::order_flow::definition::EnvLookup>,
) -> Result<OrderFlow> {
    let mut options = LoadOptions {
        logins,
        ..LoadOptions::default()
    };
    if let Some(env) = env {
        options.env = env;
    }
    load_order_flow(dir, &options, &engine.scripts)
        .await
        .map_err(|errors| anyhow::anyhow!("the flow in {} cannot run:\n{errors}", dir.display()))
}

/// Shows progress: a bar on a terminal, one line per order otherwise.
pub struct ConsoleProgress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl ConsoleProgress {
    /// Progress for stderr; `quiet` prints nothing per order.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos}/{len} orders [{elapsed_precise}] {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Self { bar, quiet }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ConsoleProgress {
    fn started(&self, execution_id: &str) {
        if !self.quiet && self.bar.is_none() {
            eprintln!("execution {execution_id} started");
        }
    }

    fn read(&self, count: usize) {
        if let Some(bar) = &self.bar {
            bar.inc_length(count as u64);
        }
    }

    fn record(&self, report: &RecordReport) {
        let line = match &report.error {
            Some(error) => format!(
                "order {}: {} at {}: {error}",
                report.key,
                report.status.as_str(),
                report.step.as_str()
            ),
            None => format!("order {}: {}", report.key, report.status.as_str()),
        };
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if report.status == RowStatus::Failed || report.status == RowStatus::InDoubt {
                    bar.println(line);
                } else {
                    bar.set_message(line);
                }
            }
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }
}

/// The closing summary of an execution.
pub fn print_summary(summary: &RunSummary) {
    let execution = &summary.execution;
    print_execution_summary(execution);
    println!("  duration {:.2} s", summary.duration.as_secs_f64());
}

/// Counts and outcome of an execution, as `run` prints them.
pub fn print_execution_summary(execution: &Execution) {
    let c = &execution.counts;
    println!(
        "execution {} of {}: {}",
        execution.id,
        execution.flow_name,
        execution.status.as_str()
    );
    println!(
        "  read {}, sent {}, already in ERP {}, failed {}, in doubt {}, skipped {}",
        c.read, c.sent, c.already_in_erp, c.failed, c.in_doubt, c.skipped
    );
    if let Some(error) = &execution.error {
        println!("  error: {error}");
    }
}

/// The process exit code for an execution: 0 when nothing failed, 2 when records failed or are
/// in doubt (so schedulers and scripts notice).
pub fn exit_code(execution: &Execution) -> i32 {
    if execution.error.is_some() || execution.counts.failed > 0 || execution.counts.in_doubt > 0 {
        2
    } else {
        0
    }
}
