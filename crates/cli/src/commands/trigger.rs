//! `omnibridge trigger <flow-dir> number=... [key=value ...]`: a triggered run of an inbound
//! Order Status Flow, as the trigger page does it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::flows::Flow;
use omnibridge_engine::flows::order_status::{
    ReadMode, StatusInput, StatusRunRequest, TriggerParams, run_order_status_flow,
};
use omnibridge_store::Trigger;

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine, stop_on_ctrl_c,
};

/// Arguments of `omnibridge trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The flow directory (an inbound Order Status Flow).
    pub flow_dir: PathBuf,
    /// Trigger parameters as key=value: `number`, `modified_date__gt`, or the flow's custom
    /// ones (trigger.parameters).
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: TriggerArgs) -> Result<i32> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: TriggerArgs) -> Result<i32> {
    let pairs = TriggerParams::split_args(&args.parameters).map_err(anyhow::Error::msg)?;
    let engine = start_engine(&args.engine.database).await?;
    stop_on_ctrl_c(&engine);
    let flow = load_flow(&engine, &args.flow_dir, args.engine.logins.clone(), None).await?;
    let Flow::OrderStatus(flow) = flow else {
        bail!(
            "only Order Status Flows take trigger parameters; run this {} with `omnibridge run`",
            flow.kind().title()
        );
    };
    if flow.is_outbound() {
        bail!(
            "flow {:?} is outbound: the ERP pushes its rows; use `omnibridge push`",
            flow.id
        );
    }
    let params = TriggerParams::parse(&pairs, &flow).map_err(anyhow::Error::msg)?;
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
    let progress = ConsoleProgress::new(args.engine.quiet);
    let summary = run_order_status_flow(
        &engine,
        &flow,
        StatusRunRequest {
            trigger: Trigger::Manual { user },
            input: StatusInput::Read(ReadMode::Triggered(params)),
        },
        &progress,
    )
    .await;
    progress.finish();
    let summary = summary?;
    print_summary(&summary, omnibridge_engine::config::FlowKind::OrderStatus);
    engine.scripts.shutdown().await;
    Ok(exit_code(&summary.execution))
}
