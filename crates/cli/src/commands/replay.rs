//! `omnibridge replay <execution|record> --flow <dir>`: runs failed records again — Order Flow
//! orders by number (still unsent in Omnitron), Order Status Flow rows from the payloads kept
//! with their row logs (so the ERP need not send them again).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::flows::Flow;
use omnibridge_engine::flows::order::{RunRequest, Selection, run_order_flow};
use omnibridge_engine::flows::order_cancel::{
    CancelSelection, run_order_cancel_flow, stored_plans,
};
use omnibridge_engine::flows::order_status::{
    StatusInput, StatusRunRequest, run_order_status_flow, stored_rows,
};
use omnibridge_store::{RowLogQuery, RowStatus, Trigger};

use super::flow_runtime::{
    ConsoleProgress, EngineArgs, exit_code, load_flow, print_summary, start_engine, stop_on_ctrl_c,
};

/// Arguments of `omnibridge replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An execution id (its failed and in-doubt records run again) or an order number.
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
    stop_on_ctrl_c(&engine);
    let flow = load_flow(&engine, &args.flow_dir, args.engine.logins.clone(), None).await?;
    let user = std::env::var("USER").ok();
    let execution = engine.store.get_execution(&args.target).await?;
    if let Some(execution) = &execution
        && execution.flow_id != flow.id()
    {
        bail!(
            "execution {} belongs to flow {:?}, not {:?}",
            execution.id,
            execution.flow_id,
            flow.id()
        );
    }
    let trigger = match &execution {
        Some(execution) => Trigger::Replay {
            parent: execution.id.clone(),
            user,
        },
        None => Trigger::Manual {
            user: user.unwrap_or_else(|| "cli".to_string()),
        },
    };
    let progress = ConsoleProgress::new(args.engine.quiet);
    let summary = match &flow {
        Flow::Order(order) => {
            let numbers = match &execution {
                Some(execution) => {
                    let rows = engine
                        .store
                        .list_row_logs(&RowLogQuery {
                            execution_id: Some(execution.id.clone()),
                            statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
                            limit: 100_000,
                            ..RowLogQuery::default()
                        })
                        .await?;
                    let mut numbers: Vec<String> =
                        rows.items.into_iter().map(|r| r.record_key).collect();
                    numbers.sort();
                    numbers.dedup();
                    numbers
                }
                None => {
                    // An order number replays only an order this flow has handled: a typo or
                    // an execution id of another database must not become an empty run.
                    let handled = engine
                        .store
                        .list_row_logs(&RowLogQuery {
                            flow_id: Some(order.id.clone()),
                            record_key: Some(args.target.clone()),
                            limit: 1,
                            ..RowLogQuery::default()
                        })
                        .await?;
                    if handled.total == 0 {
                        bail!(
                            "{:?} is neither an execution id nor the number of an order that \
                             flow {:?} has handled (`omnibridge logs` lists executions)",
                            args.target,
                            order.id
                        );
                    }
                    vec![args.target.clone()]
                }
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
            run_order_flow(
                &engine,
                order,
                RunRequest {
                    trigger,
                    selection: Selection::Numbers(numbers),
                },
                &progress,
            )
            .await
        }
        Flow::OrderCancel(cancel) => {
            let records = match &execution {
                Some(execution) => {
                    stored_plans(engine.store.as_ref(), cancel, Some(&execution.id), None).await
                }
                None => stored_plans(engine.store.as_ref(), cancel, None, Some(&args.target)).await,
            }
            .map_err(anyhow::Error::msg)?;
            if records.is_empty() {
                match &execution {
                    Some(_) => println!(
                        "execution {} has no failed or in-doubt plans: nothing to replay",
                        args.target
                    ),
                    None => bail!(
                        "{:?} is neither an execution id nor a plan key (plan:<pk>, \
                         transaction:<pk>) with a failed row in flow {:?}",
                        args.target,
                        cancel.id
                    ),
                }
                return Ok(0);
            }
            eprintln!(
                "replaying {} plan(s) from their stored payloads",
                records.len()
            );
            run_order_cancel_flow(
                &engine,
                cancel,
                trigger,
                CancelSelection::Stored(records),
                &progress,
            )
            .await
        }
        Flow::OrderStatus(status) => {
            let rows = match &execution {
                Some(execution) => {
                    stored_rows(engine.store.as_ref(), status, Some(&execution.id), None).await
                }
                None => stored_rows(engine.store.as_ref(), status, None, Some(&args.target)).await,
            }
            .map_err(anyhow::Error::msg)?;
            if rows.is_empty() {
                match &execution {
                    Some(_) => println!(
                        "execution {} has no failed or in-doubt rows: nothing to replay",
                        args.target
                    ),
                    None => bail!(
                        "{:?} is neither an execution id nor an order with a failed row in flow {:?}",
                        args.target,
                        status.id
                    ),
                }
                return Ok(0);
            }
            eprintln!("replaying {} row(s) from their stored payloads", rows.len());
            run_order_status_flow(
                &engine,
                status,
                StatusRunRequest {
                    trigger,
                    input: StatusInput::Stored(rows),
                },
                &progress,
            )
            .await
        }
    };
    progress.finish();
    let summary = summary?;
    print_summary(&summary, flow.kind());
    engine.scripts.shutdown().await;
    Ok(exit_code(&summary.execution))
}
