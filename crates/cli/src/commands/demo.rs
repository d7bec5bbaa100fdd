//! `omnibridge demo`: the simulators and every flow built so far, on embedded SQLite.
//!
//! The story it tells: orders go from Omnitron to the ERP exactly once; when the ERP has a bad
//! moment the affected orders fail visibly, and a replay finishes them without sending anything
//! twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::order_flow::{Engine, RunRequest, RunSummary, Selection, run_order_flow};
use omnibridge_sim::erp::{CreateMode, QueryMode};
use omnibridge_sim::{ErpConfig, ErpSim, OmnitronConfig, OmnitronSim};
use omnibridge_store::{RowLogQuery, RowStatus, Trigger};

use super::flow_runtime::{ConsoleProgress, load_flow, print_summary, start_engine};

/// Arguments of `omnibridge demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the Omnitron simulator listens.
    #[arg(long, default_value = "127.0.0.1:8001")]
    pub omnitron_listen: String,
    /// Where the ERP simulator listens.
    #[arg(long, default_value = "127.0.0.1:8002")]
    pub erp_listen: String,
    /// How many orders Omnitron holds.
    #[arg(long, default_value_t = 120)]
    pub orders: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The demo's own store (recreated at every demo).
    #[arg(long, default_value = ".omnibridge/demo.db")]
    pub database_file: PathBuf,
    /// The examples directory (holding logins.toml and order-flow/).
    #[arg(long)]
    pub examples: Option<PathBuf>,
    /// Keep the simulators running afterwards, until Ctrl-C.
    #[arg(long)]
    pub keep_running: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

fn examples_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    let candidates = [
        given,
        Some(PathBuf::from("examples")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("order-flow").join("flow.toml").is_file())
        .context(
            "cannot find the examples directory (examples/order-flow/flow.toml); pass --examples",
        )
}

async fn run_async(args: DemoArgs) -> Result<()> {
    let examples = examples_dir(args.examples.clone())?;
    println!("== omnibridge demo");
    let omnitron = OmnitronSim::start(
        OmnitronConfig::default()
            .listen(args.omnitron_listen.clone())
            .orders(args.orders)
            .seed(args.seed),
    )
    .await
    .with_context(|| {
        format!(
            "cannot start the Omnitron simulator on {}",
            args.omnitron_listen
        )
    })?;
    let erp = ErpSim::start(ErpConfig::default().listen(args.erp_listen.clone()))
        .await
        .with_context(|| format!("cannot start the ERP simulator on {}", args.erp_listen))?;
    println!(
        "Omnitron simulator: {}  (user {} / {})",
        omnitron.base_url(),
        omnitron.username(),
        omnitron.password()
    );
    println!(
        "ERP simulator:      {}  (JWT login erp-user / erp-pass)",
        erp.base_url()
    );

    if args.database_file.exists() {
        std::fs::remove_file(&args.database_file).with_context(|| {
            format!(
                "cannot remove the previous demo store {}",
                args.database_file.display()
            )
        })?;
    }
    let database = format!("sqlite://{}", args.database_file.display());
    let engine = start_engine(&database).await?;
    let mut env = BTreeMap::new();
    env.insert(
        "OMNITRON_URL".to_string(),
        format!("{}/", omnitron.base_url()),
    );
    env.insert("ERP_URL".to_string(), erp.base_url());
    let env = Arc::new(env);
    let lookup = {
        let env = env.clone();
        Box::new(move |name: &str| env.get(name).cloned().or_else(|| std::env::var(name).ok()))
    };
    let flow_dir = examples.join("order-flow");
    let flow = load_flow(&engine, &flow_dir, None, Some(lookup)).await?;
    println!("flow: {} ({})", flow.config.name, flow_dir.display());

    // Two orders meet a bad moment at the ERP.
    let state = omnitron.state().await;
    let since = omnitron.now() - chrono::Duration::days(21);
    let eligible: Vec<String> = state
        .orders
        .iter()
        .filter(|o| !o.is_send && o.modified_date > since)
        .filter(|o| ["400", "450", "500", "510", "540", "550"].contains(&o.status.as_str()))
        .map(|o| o.number.clone())
        .collect();
    if eligible.len() < 2 {
        bail!("the generated data has fewer than 2 orders to send; try more --orders");
    }
    let (unavailable, refused) = (&eligible[0], &eligible[1]);
    erp.set_order_query_mode(unavailable.clone(), QueryMode::FailureCode { status: 503 })
        .await;
    erp.set_order_create_mode(refused.clone(), CreateMode::OkErrorBody)
        .await;

    println!(
        "\n== 1. scheduled run: {} unsent orders wait in Omnitron",
        eligible.len()
    );
    println!("   (the ERP answers 503 when asked about order {unavailable},");
    println!("    and refuses order {refused} with a 200 {{\"success\": false}} body)");
    let first = execution(&engine, &flow, Trigger::Scheduled, Selection::Unsent).await?;
    show_failures(&engine, &first).await?;

    println!(
        "\n== 2. the ERP recovers; replay the failed orders of execution {}",
        first.execution.id
    );
    erp.set_order_query_mode(unavailable.clone(), QueryMode::NotFoundCode { status: 404 })
        .await;
    erp.set_order_create_mode(refused.clone(), CreateMode::Ok)
        .await;
    let failed = failed_numbers(&engine, &first.execution.id).await?;
    execution(
        &engine,
        &flow,
        Trigger::Replay {
            parent: first.execution.id.clone(),
            user: Some("demo".to_string()),
        },
        Selection::Numbers(failed),
    )
    .await?;

    println!("\n== 3. the next scheduled run finds nothing left to send");
    execution(&engine, &flow, Trigger::Scheduled, Selection::Unsent).await?;

    let erp_state = erp.state().await;
    let omnitron_state = omnitron.state().await;
    let twice = erp_state.orders.iter().filter(|o| o.creates > 1).count();
    let marked = eligible
        .iter()
        .filter(|n| omnitron_state.order(n).is_some_and(|o| o.is_send))
        .count();
    println!("\n== result");
    println!(
        "   the ERP holds {} orders, {} created more than once; Omnitron marks {marked} of {} sent",
        erp_state.orders.len(),
        twice,
        eligible.len()
    );
    println!(
        "   the CRM heard about {} orders (Post Script)",
        erp_state.notifications.len()
    );
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "omnibridge".to_string());
    println!("\nlogs: {me} logs --database {database}");
    println!("      {me} logs <execution id> --database {database}");

    if args.keep_running {
        println!("\nsimulators keep running; Ctrl-C to stop");
        tokio::signal::ctrl_c().await.ok();
    }
    engine.scripts.shutdown().await;
    omnitron.shutdown().await;
    erp.shutdown().await;
    Ok(())
}

async fn execution(
    engine: &Engine,
    flow: &omnibridge_engine::order_flow::OrderFlow,
    trigger: Trigger,
    selection: Selection,
) -> Result<RunSummary> {
    let progress = ConsoleProgress::new(true);
    let summary =
        run_order_flow(engine, flow, RunRequest { trigger, selection }, &progress).await?;
    print_summary(&summary);
    Ok(summary)
}

async fn failed_numbers(engine: &Engine, execution: &str) -> Result<Vec<String>> {
    let rows = engine
        .store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(execution.to_string()),
            statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
            limit: 10_000,
            ..RowLogQuery::default()
        })
        .await?;
    Ok(rows.items.into_iter().map(|r| r.record_key).collect())
}

async fn show_failures(engine: &Engine, summary: &RunSummary) -> Result<()> {
    let rows = engine
        .store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(summary.execution.id.clone()),
            statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
            limit: 100,
            ..RowLogQuery::default()
        })
        .await?;
    for row in rows.items {
        println!(
            "   order {} {} at {}: {}",
            row.record_key,
            row.status.as_str(),
            row.step.as_str(),
            row.error.unwrap_or_default()
        );
    }
    Ok(())
}
