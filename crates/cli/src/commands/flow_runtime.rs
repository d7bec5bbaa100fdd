//! What `run`, `replay`, `logs` and `demo` share: the store, the script pool, loading a flow,
//! and showing an execution's progress and summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use omnibridge_engine::config::FlowKind;
use omnibridge_engine::config::load::{EnvLookup, LoadOptions};
use omnibridge_engine::execution::{Engine, Progress, RecordReport, RunSummary};
use omnibridge_engine::flows::{Flow, load_flow as load_any_flow};
use omnibridge_script::{PoolConfig, ScriptPool};
use omnibridge_store::{Counts, Execution, ExecutionState, RowStatus, Store, StoreOptions};

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
        .with_context(|| {
            format!(
                "cannot open the store at {}",
                omnibridge_http::redact_url(url)
            )
        })
}

/// Starts the engine: the store and a script pool.
pub async fn start_engine(database: &str) -> Result<Engine> {
    let store = open_store(database).await?;
    let scripts = ScriptPool::start(PoolConfig::default())
        .await
        .context("cannot start the Python script workers")?;
    Ok(Engine::new(store, scripts))
}

/// On Ctrl-C (SIGINT) the engine stops taking records: the records in flight finish, the
/// execution ends `interrupted` and the command exits 130. A second Ctrl-C quits at once
/// (the ledger still resumes every record that was started).
pub fn stop_on_ctrl_c(engine: &Engine) {
    let stop = engine.stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("interrupted: finishing the records in flight (Ctrl-C again to quit at once)");
        stop.raise();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
}

/// Exit code of a command whose execution was interrupted (128 + SIGINT, as shells expect).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Loads a flow directory of any kind, printing every problem found.
pub async fn load_flow(
    engine: &Engine,
    dir: &Path,
    logins: Option<PathBuf>,
    env: Option<EnvLookup>,
) -> Result<Flow> {
    let mut options = LoadOptions {
        logins,
        ..LoadOptions::default()
    };
    if let Some(env) = env {
        options.env = env;
    }
    load_any_flow(dir, &options, &engine.scripts)
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
                    "{spinner} {pos}/{len} records [{elapsed_precise}] {wide_msg}",
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
        // Rows that never had an order number are named by their place (`page 2 row 3`),
        // cancellation plans by their key (`plan:12`).
        let name = if report.key.starts_with("page ")
            || report.key.starts_with("row ")
            || report.key.contains(':')
        {
            report.key.clone()
        } else {
            format!("order {}", report.key)
        };
        let how = report.outcome.unwrap_or(report.status.as_str());
        let line = match &report.error {
            Some(error) => format!(
                "{name}: {} at {}: {error}",
                report.status.as_str(),
                report.step.as_str()
            ),
            None => format!("{name}: {how}"),
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

/// The closing summary of an execution of a flow of `kind`.
pub fn print_summary(summary: &RunSummary, kind: FlowKind) {
    let execution = &summary.execution;
    print_execution_summary(execution, Some(kind));
    println!("  duration {:.2} s", summary.duration.as_secs_f64());
}

/// Counts and outcome of an execution, as `run` prints them (in the flow kind's words when it is
/// known).
pub fn print_execution_summary(execution: &Execution, kind: Option<FlowKind>) {
    let interrupted = if execution.state == ExecutionState::Interrupted {
        "interrupted, "
    } else {
        ""
    };
    println!(
        "execution {} of {}: {interrupted}{}",
        execution.id,
        execution.flow_name,
        execution.status.as_str()
    );
    println!("  {}", counts_line(&execution.counts, kind));
    if let Some(error) = &execution.error {
        println!("  error: {error}");
    }
}

/// An execution's counts in one line.
pub fn counts_line(c: &Counts, kind: Option<FlowKind>) -> String {
    match kind {
        Some(FlowKind::Order) => format!(
            "read {}, sent {}, already in ERP {}, failed {}, in doubt {}, skipped {}",
            c.read,
            c.outcome("sent"),
            c.outcome("already_in_erp"),
            c.failed,
            c.in_doubt,
            c.skipped
        ),
        Some(FlowKind::OrderStatus) => format!(
            "read {} rows, updated {}, already applied {}, failed {}, in doubt {}, skipped {}",
            c.read,
            c.outcome("updated"),
            c.outcome("already_applied"),
            c.failed,
            c.in_doubt,
            c.skipped
        ),
        Some(FlowKind::OrderCancel) => format!(
            "read {} plans, succeeded {}, rejected {}, left for later {}, failed {}, in doubt {}, skipped {}",
            c.read,
            c.succeeded,
            c.outcome("rejected"),
            c.outcome("do_nothing"),
            c.failed,
            c.in_doubt,
            c.skipped
        ),
        None => {
            let outcomes: Vec<String> = c
                .outcomes
                .iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            format!(
                "read {}, succeeded {}{}, failed {}, in doubt {}, skipped {}",
                c.read,
                c.succeeded,
                if outcomes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", outcomes.join(", "))
                },
                c.failed,
                c.in_doubt,
                c.skipped
            )
        }
    }
}

/// The process exit code for an execution: 0 when nothing failed; 1 when the run itself
/// failed (login, read, a store that refused a write); 2 when records failed or are in doubt
/// (so schedulers and scripts notice); 130 when it was interrupted (Ctrl-C).
pub fn exit_code(execution: &Execution) -> i32 {
    if execution.state == ExecutionState::Interrupted {
        EXIT_INTERRUPTED
    } else if execution.error.is_some() {
        1
    } else if execution.counts.failed > 0 || execution.counts.in_doubt > 0 {
        2
    } else {
        0
    }
}
