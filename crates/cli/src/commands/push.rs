//! `omnibridge push <flow-dir> rows.json`: what the ERP does to an outbound Order Status Flow,
//! from the command line (`-` reads the rows from stdin).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::flows::Flow;
use omnibridge_engine::flows::order_status::run::MAX_PUSH_BYTES;
use omnibridge_engine::flows::order_status::{PushError, push};
use omnibridge_store::Trigger;

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine, stop_on_ctrl_c,
};

/// Arguments of `omnibridge push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The flow directory (an outbound Order Status Flow).
    pub flow_dir: PathBuf,
    /// A JSON file holding an array of rows (`-` for stdin).
    pub rows: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: PushArgs) -> Result<i32> {
    let body = read_rows(&args.rows)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args, body))
}

fn read_rows(path: &PathBuf) -> Result<Vec<u8>> {
    let limit = MAX_PUSH_BYTES as u64 + 1;
    let mut body = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut body)
            .context("cannot read the rows from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(limit).read_to_end(&mut body))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    if body.len() > MAX_PUSH_BYTES {
        bail!("{} is larger than {MAX_PUSH_BYTES} bytes", path.display());
    }
    Ok(body)
}

async fn run_async(args: PushArgs, body: Vec<u8>) -> Result<i32> {
    let engine = start_engine(&args.engine.database).await?;
    stop_on_ctrl_c(&engine);
    let flow = load_flow(&engine, &args.flow_dir, args.engine.logins.clone(), None).await?;
    let Flow::OrderStatus(flow) = flow else {
        bail!(
            "only outbound Order Status Flows take pushed rows; this is an {}",
            flow.kind().title()
        );
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
    let progress = ConsoleProgress::new(args.engine.quiet);
    let trigger = Trigger::Outbound {
        caller: Some(format!("cli:{user}")),
    };
    let summary = push(&engine, &flow, &body, trigger, &progress).await;
    progress.finish();
    let summary = match summary {
        Ok(summary) => summary,
        Err(PushError::Refused(problem)) => {
            bail!(
                "{}: refused, nothing was processed: {problem}",
                args.rows.display()
            )
        }
        Err(PushError::Run(error)) => return Err(error.into()),
    };
    print_summary(&summary, omnibridge_engine::config::FlowKind::OrderStatus);
    engine.scripts.shutdown().await;
    Ok(exit_code(&summary.execution))
}
