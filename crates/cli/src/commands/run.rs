//! `omnibridge run <flow-dir> --once`: one execution of a flow from the command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::order_flow::{RunRequest, Selection, run_order_flow};
use omnibridge_store::Trigger;

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine,
};

/// Arguments of `omnibridge run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flow directory (holding flow.toml).
    pub flow_dir: PathBuf,
    /// Run one execution now and exit (otherwise run every `schedule.every` until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: RunArgs) -> Result<i32> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: RunArgs) -> Result<i32> {
    let engine = start_engine(&args.engine.database).await?;
    let flow = load_flow(&engine, &args.flow_dir, args.engine.logins.clone(), None).await?;
    let interval = if args.once {
        None
    } else {
        match (&flow.config.schedule.every, &flow.config.schedule.cron) {
            (Some(every), _) => Some(
                humantime::parse_duration(every)
                    .with_context(|| format!("schedule.every {every:?} is not a duration"))?,
            ),
            (None, Some(_)) => bail!(
                "this flow has a cron schedule; `omnibridge run` without --once only follows \
                 `schedule.every`. Use --once (e.g. from cron), or give the flow an interval"
            ),
            (None, None) => bail!("this flow has no schedule; use --once"),
        }
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
    let mut code;
    loop {
        let progress = ConsoleProgress::new(args.engine.quiet);
        let summary = run_order_flow(
            &engine,
            &flow,
            RunRequest {
                trigger: if interval.is_some() {
                    Trigger::Scheduled
                } else {
                    Trigger::Manual { user: user.clone() }
                },
                selection: Selection::Unsent,
            },
            &progress,
        )
        .await;
        progress.finish();
        let summary = summary?;
        print_summary(&summary);
        code = exit_code(&summary.execution);
        let Some(interval) = interval else { break };
        tokio::select! {
            _ = tokio::time::sleep(interval.max(Duration::from_secs(1))) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    engine.scripts.shutdown().await;
    Ok(code)
}
