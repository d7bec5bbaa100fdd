//! `omnibridge logs`: executions and row logs from the store.

use anyhow::{Context, Result};
use clap::Args;
use omnibridge_store::{ExecutionQuery, ExecutionStatus, RowLogQuery, RowStatus};

use super::flow_runtime::{DEFAULT_DATABASE, counts_line, open_store, print_execution_summary};

/// Arguments of `omnibridge logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// An execution id: show its row logs (without it, list executions).
    pub execution: Option<String>,
    /// Only this flow's executions.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only executions (or, with an execution id, rows) with this status.
    #[arg(long)]
    pub status: Option<String>,
    /// Show every row log of this order number across executions.
    #[arg(long, conflicts_with = "execution")]
    pub order: Option<String>,
    /// How many to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The store.
    #[arg(long, env = "OMNIBRIDGE_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
}

/// Runs the command.
pub fn run(args: LogsArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LogsArgs) -> Result<()> {
    let store = open_store(&args.database).await?;
    if args.execution.is_some() || args.order.is_some() {
        let statuses = match &args.status {
            Some(s) => vec![RowStatus::parse(s).with_context(|| {
                format!("--status {s:?}: one of success, failed, in_doubt, skipped")
            })?],
            None => vec![],
        };
        if let Some(id) = &args.execution {
            let execution = store.get_execution(id).await?.with_context(|| {
                format!(
                    "no execution {id} in {}",
                    omnibridge_http::redact_url(&args.database)
                )
            })?;
            if !args.json {
                print_execution_summary(&execution, None);
            }
        }
        let rows = store
            .list_row_logs(&RowLogQuery {
                execution_id: args.execution.clone(),
                flow_id: args.flow.clone(),
                record_key: args.order.clone(),
                statuses,
                limit: args.limit,
                offset: 0,
            })
            .await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&rows.items)?);
            return Ok(());
        }
        for row in &rows.items {
            println!(
                "{}  order {:<16} {:<15} step {:<15} {}",
                row.created_at.format("%Y-%m-%d %H:%M:%S"),
                row.record_key,
                row.outcome.as_deref().unwrap_or(row.status.as_str()),
                row.step.as_str(),
                row.error.as_deref().unwrap_or("")
            );
            for (key, value) in &row.attributes {
                println!(
                    "      {key} = {}",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string)
                );
            }
        }
        println!("({} of {} rows)", rows.items.len(), rows.total);
        return Ok(());
    }
    let statuses = match &args.status {
        Some(s) => vec![ExecutionStatus::parse(s).with_context(|| {
            format!("--status {s:?}: one of in_progress, success, failed, empty, partial")
        })?],
        None => vec![],
    };
    let page = store
        .list_executions(&ExecutionQuery {
            flow_id: args.flow.clone(),
            statuses,
            limit: args.limit,
            ..ExecutionQuery::default()
        })
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page.items)?);
        return Ok(());
    }
    for e in &page.items {
        println!(
            "{}  {}  {:<20} {:<11} {:<12} {}{}",
            e.started_at.format("%Y-%m-%d %H:%M:%S"),
            e.id,
            e.flow_name,
            e.status.as_str(),
            e.trigger.kind(),
            counts_line(&e.counts, None),
            e.error
                .as_deref()
                .map(|m| format!("  error: {m}"))
                .unwrap_or_default()
        );
    }
    println!("({} of {} executions)", page.items.len(), page.total);
    Ok(())
}
