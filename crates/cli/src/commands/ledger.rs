//! `omnibridge ledger`: the per-record ledger of a flow, and a person's decision on an order
//! held in doubt.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use omnibridge_store::{LedgerPhase, LedgerQuery, Resolution};

use super::flow_runtime::{DEFAULT_DATABASE, open_store};

/// Arguments of `omnibridge ledger`.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LedgerCommand,
    /// The store.
    #[arg(long, global = true, env = "OMNIBRIDGE_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
}

/// `ledger` subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// List a flow's ledger entries (by default the ones held in doubt).
    List {
        /// The flow's id (its name).
        flow: String,
        /// List every phase, not only `intent` (in doubt).
        #[arg(long)]
        all: bool,
    },
    /// Decide what happens to one record: send it again, finish it without sending, or treat
    /// it as done.
    Resolve {
        /// The flow's id (its name).
        flow: String,
        /// The record's ledger key (an order number, `plan:<pk>`, ...).
        order: String,
        /// The target does not have it: the next run sends it again.
        #[arg(long, group = "decision", required_unless_present_any = ["done", "written"])]
        resend: bool,
        /// The target has it (seen there by hand): the next run finishes the rest (Omnitron)
        /// without sending it again.
        #[arg(long, group = "decision")]
        written: bool,
        /// Nothing more is to be done (e.g. entered everywhere by hand): never sent again.
        #[arg(long, group = "decision")]
        done: bool,
        /// Why, kept with the entry.
        #[arg(long)]
        note: Option<String>,
    },
}

/// Runs the command.
pub fn run(args: LedgerArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LedgerArgs) -> Result<()> {
    let store = open_store(&args.database).await?;
    match args.command {
        LedgerCommand::List { flow, all } => {
            let mut query = LedgerQuery::in_doubt(flow.clone());
            if all {
                query.phases = vec![
                    LedgerPhase::Intent,
                    LedgerPhase::Accepted,
                    LedgerPhase::Rejected,
                    LedgerPhase::Released,
                    LedgerPhase::Completed,
                ];
                query.stale_only = false;
            }
            query.limit = 1000;
            let entries = store.list_ledger(&query).await?;
            for entry in &entries {
                println!(
                    "order {:<16} {:<10} attempt {} {}",
                    entry.record_key,
                    entry.phase.as_str(),
                    entry.attempt,
                    entry
                        .result
                        .as_ref()
                        .and_then(|r| r.status_code)
                        .map(|s| format!("ERP answered {s}"))
                        .unwrap_or_default()
                );
            }
            println!("({} entries of flow {flow})", entries.len());
        }
        LedgerCommand::Resolve {
            flow,
            order,
            resend,
            written,
            done,
            note,
        } => {
            let by = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
            let resolution = match (resend, written, done) {
                (true, false, false) => Resolution::Resend { by, note },
                (false, false, true) => Resolution::MarkDone { by, note },
                // Seen in the target by a person: as if the target had answered 200.
                (false, true, false) => {
                    if note.is_some() {
                        bail!("--note goes with --resend or --done");
                    }
                    Resolution::AlreadyWritten {
                        execution_id: format!("manual:{by}"),
                        status_code: 200,
                        reference: None,
                        response: None,
                    }
                }
                _ => bail!("give exactly one of --resend, --written or --done"),
            };
            if store.get_ledger_entry(&flow, &order).await?.is_none() {
                bail!("flow {flow:?} has no ledger entry for order {order:?}");
            }
            let entry = store.resolve(&flow, &order, resolution).await?;
            println!("{order} of flow {flow} is now {}", entry.phase.as_str());
        }
    }
    Ok(())
}
