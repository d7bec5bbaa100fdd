//! `omnibridge replay <execution|order> --flow <dir>`: runs failed records again.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::order_flow::{RunRequest, Selection, run_order_flow};
use omnibridge_store::{RowLogQuery, RowStatus, Trigger};

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine,
};

/// Arguments of `omnibridge replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An execution id (its failed and in-doubt orders run again) or an order number.
    pub target: String,
    /// The flow directory.
    #[arg(long = "flow")]
    pub flow_dir: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: ReplayArgs) -> Result<i32> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: ReplayArgs) -> Result<i32> {
    let engine = start_engine(&args.engine.database).await?;
    let flow = load_flow(&engine, &args.flow_dir, args.engine.logins.clone(), None).await?;
    let user = std::env::var("USER").ok();
    let (numbers, parent) = match engine.store.get_execution(&args.target).await? {
        Some(execution) => {
            if execution.flow_id != flow.id {
                bail!(
                    "execution {} belongs to flow {:?}, not {:?}",
                    execution.id,
                    execution.flow_id,
                    flow.id
                );
            }
            let rows = engine
                .store
                .list_row_logs(&RowLogQuery {
                    execution_id: Some(execution.id.clone()),
                    statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
                    limit: 100_000,
                    ..RowLogQuery::default()
                })
                .await?;
            let mut numbers: Vec<String> = rows.items.into_iter().map(|r| r.record_key).collect();
            numbers.sort();
            numbers.dedup();
            (numbers, execution.id)
        }
        None => (vec![args.target.clone()], String::new()),
    };
    if numbers.is_empty() {
        println!(
            "execution {} has no failed or in-doubt orders: nothing to replay",
            args.target
        );
        return Ok(0);
    }
    eprintln!(
        "replaying {} order(s): {}",
        numbers.len(),
        numbers.join(", ")
    );
    let progress = ConsoleProgress::new(args.engine.quiet);
    let trigger = if parent.is_empty() {
        Trigger::Manual {
            user: user.unwrap_or_else(|| "cli".to_string()),
        }
    } else {
        Trigger::Replay { parent, user }
    };
    let summary = run_order_flow(
        &engine,
        &flow,
        RunRequest {
            trigger,
            selection: Selection::Numbers(numbers),
        },
        &progress,
    )
    .await;
    progress.finish();
    let summary = summary?;
    print_summary(&summary);
    engine.scripts.shutdown().await;
    Ok(exit_code(&summary.execution))
}
