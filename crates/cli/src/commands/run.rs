//! `omnibridge run <flow-dir> --once`: one execution of a flow from the command line (for an
//! Order Status Flow, a scheduled read from `last.request`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::flows::{Flow, run_scheduled};
use omnibridge_store::Trigger;

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine, stop_on_ctrl_c,
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
    if let Flow::OrderStatus(status) = &flow
        && status.is_outbound()
    {
        bail!(
            "flow {:?} is outbound: the ERP pushes its rows; use `omnibridge push {} rows.json`",
            status.id,
            args.flow_dir.display()
        );
    }
    let schedule = match &flow {
        Flow::Order(order) => &order.config.schedule,
        Flow::OrderStatus(status) => &status.config.schedule,
        Flow::OrderCancel(cancel) => &cancel.config.schedule,
    };
    let interval = if args.once {
        None
    } else {
        match (&schedule.every, &schedule.cron) {
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
    stop_on_ctrl_c(&engine);
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
    let mut code;
    loop {
        let progress = ConsoleProgress::new(args.engine.quiet);
        let trigger = if interval.is_some() {
            Trigger::Scheduled
        } else {
            Trigger::Manual { user: user.clone() }
        };
        let summary = run_scheduled(&engine, &flow, trigger, &progress).await;
        progress.finish();
        let summary = summary?;
        print_summary(&summary, flow.kind());
        code = exit_code(&summary.execution);
        let Some(interval) = interval else { break };
        tokio::select! {
            _ = tokio::time::sleep(interval.max(Duration::from_secs(1))) => {}
            // Ctrl-C between runs: stop now, with the last run's code.
            () = engine.stop.raised() => break,
        }
    }
    engine.scripts.shutdown().await;
    Ok(code)
}
