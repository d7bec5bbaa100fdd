//! `omnibridge demo`: the simulators and every flow built so far, on embedded SQLite.
//!
//! The story it tells: orders go from Omnitron to the ERP exactly once; when the ERP has a bad
//! moment the affected orders fail visibly, and a replay finishes them without sending anything
//! twice. Then the ERP invoices and ships them: the inbound Order Status Flow reads the changes
//! (the seeds' dynamic URL) and writes them to Omnitron, one row log per order, with Omnitron's
//! own words for a row it refuses; the ERP pushes more rows to the outbound flow, and a row that
//! met an Omnitron outage is replayed from its stored payload. Last, customers' waiting
//! cancellations go to the ERP: the Custom Response Script's relation approves, rejects or
//! leaves each plan, and a plan left while the ERP was down is taken by the next run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_engine::config::FlowKind;
use omnibridge_engine::execution::{Engine, RunSummary};
use omnibridge_engine::flows::Flow;
use omnibridge_engine::flows::order::{OrderFlow, RunRequest, Selection, run_order_flow};
use omnibridge_engine::flows::order_cancel::{
    CancelSelection, OrderCancelFlow, run_order_cancel_flow,
};
use omnibridge_engine::flows::order_status::{
    OrderStatusFlow, ReadMode, StatusInput, StatusRunRequest, TriggerParams, push,
    run_order_status_flow, stored_rows,
};
use omnibridge_sim::data::generator::CHANNELS;
use omnibridge_sim::erp::scenario::{CancelMode, Pagination, StatusFeed};
use omnibridge_sim::erp::state::StatusRow;
use omnibridge_sim::erp::{CreateMode, QueryMode};
use omnibridge_sim::{ErpConfig, ErpSim, FaultAction, FaultRule, OmnitronConfig, OmnitronSim};
use omnibridge_store::{RowLogQuery, RowStatus, Trigger};
use serde_json::{Value, json};

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
    /// The examples directory (holding logins.toml, order-flow/, order-status-flow/,
    /// order-status-push/ and order-cancel-flow/).
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
    // The ERP's status feed lists only the changes the demo makes (not every order it takes).
    let quiet_feed = StatusFeed {
        feed_created_orders: false,
        ..StatusFeed::default()
    };
    let erp = ErpSim::start(
        ErpConfig::default()
            .listen(args.erp_listen.clone())
            .status_feed(quiet_feed),
    )
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
    let load = |name: &'static str| {
        let env = env.clone();
        let engine = &engine;
        let dir = examples.join(name);
        async move {
            let lookup = Box::new(move |key: &str| {
                env.get(key).cloned().or_else(|| std::env::var(key).ok())
            });
            let flow = load_flow(engine, &dir, None, Some(lookup)).await?;
            println!("flow: {} ({})", flow.name(), dir.display());
            anyhow::Ok(flow)
        }
    };
    let Flow::Order(order_flow) = load("order-flow").await? else {
        bail!("examples/order-flow is not an Order Flow");
    };
    let Flow::OrderStatus(status_flow) = load("order-status-flow").await? else {
        bail!("examples/order-status-flow is not an Order Status Flow");
    };
    let Flow::OrderStatus(push_flow) = load("order-status-push").await? else {
        bail!("examples/order-status-push is not an Order Status Flow");
    };
    let Flow::OrderCancel(cancel_flow) = load("order-cancel-flow").await? else {
        bail!("examples/order-cancel-flow is not an Order Cancel Flow");
    };

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
    if eligible.len() < 12 {
        bail!("the generated data has fewer than 12 orders to send; try more --orders");
    }
    let (unavailable, refused) = (&eligible[0], &eligible[1]);
    erp.set_order_query_mode(unavailable.clone(), QueryMode::FailureCode { status: 503 })
        .await;
    erp.set_order_create_mode(refused.clone(), CreateMode::OkErrorBody)
        .await;

    println!(
        "\n== 1. Order Flow, scheduled run: {} unsent orders wait in Omnitron",
        eligible.len()
    );
    println!("   (the ERP answers 503 when asked about order {unavailable},");
    println!("    and refuses order {refused} with a 200 {{\"success\": false}} body)");
    let first = order_run(&engine, &order_flow, Trigger::Scheduled, Selection::Unsent).await?;
    show_failures(&engine, &first).await?;

    println!(
        "\n== 2. the ERP recovers; replay the failed orders of execution {}",
        first.execution.id
    );
    erp.set_order_query_mode(unavailable.clone(), QueryMode::NotFoundCode { status: 404 })
        .await;
    erp.set_order_create_mode(refused.clone(), CreateMode::Ok)
        .await;
    let failed = failed_keys(&engine, &first.execution.id).await?;
    order_run(
        &engine,
        &order_flow,
        Trigger::Replay {
            parent: first.execution.id.clone(),
            user: Some("demo".to_string()),
        },
        Selection::Numbers(failed),
    )
    .await?;

    println!("\n== 3. the next scheduled run finds nothing left to send");
    order_run(&engine, &order_flow, Trigger::Scheduled, Selection::Unsent).await?;

    let erp_state = erp.state().await;
    let omnitron_state = omnitron.state().await;
    let twice = erp_state.orders.iter().filter(|o| o.creates > 1).count();
    let marked = eligible
        .iter()
        .filter(|n| omnitron_state.order(n).is_some_and(|o| o.is_send))
        .count();
    println!(
        "   the ERP holds {} orders, {} created more than once; Omnitron marks {marked} of {} sent",
        erp_state.orders.len(),
        twice,
        eligible.len()
    );

    // The ERP invoices and ships: its status feed (the seeds' /service/run) lists the changes.
    println!("\n== 4. Order Status Flow (inbound): the ERP invoices and ships orders");
    let shippable: Vec<_> = omnitron_state
        .orders
        .iter()
        .filter(|o| eligible.contains(&o.number))
        .filter(|o| !o.items.is_empty() && o.items.iter().all(|i| i.status.as_str() < "500"))
        .collect();
    if shippable.len() < 8 {
        bail!("the generated data has fewer than 8 orders to ship; try more --orders");
    }
    let mut rows = Vec::new();
    for (i, order) in shippable.iter().take(5).enumerate() {
        rows.push(StatusRow {
            id: 0,
            order: Value::from(order.number.clone()),
            orderitems: order
                .items
                .iter()
                .map(|item| {
                    json!({"id": item.pk, "status": 500, "invoice_number": format!("INV-{}", order.number),
                           "invoice_date": "2024-10-01T12:30:59", "shipping_company": "cargocompany",
                           "tracking_number": format!("TRK{i:04}")})
                })
                .collect(),
            modified_date: None,
        });
    }
    // Omnitron refuses these two: an item cannot go back from 500, and item 999999 is unknown.
    let back = shippable[0];
    rows.push(StatusRow {
        id: 0,
        order: Value::from(back.number.clone()),
        orderitems: vec![json!({"id": back.items[0].pk, "status": 400})],
        modified_date: None,
    });
    rows.push(StatusRow {
        id: 0,
        order: Value::from(shippable[5].number.clone()),
        orderitems: vec![json!({"id": 999_999, "status": 500})],
        modified_date: None,
    });
    erp.set_status_feed(StatusFeed {
        pagination: Pagination::None,
        timezone: Some("Europe/Istanbul".to_string()),
        feed_created_orders: false,
        ..StatusFeed::default()
    })
    .await;
    let single = &shippable[6];
    rows.push(StatusRow {
        id: 0,
        order: Value::from(single.number.clone()),
        orderitems: single
            .items
            .iter()
            .map(|item| json!({"id": item.pk, "status": 450, "invoice_number": format!("INV-{}", single.number)}))
            .collect(),
        modified_date: None,
    });
    erp.add_status_rows(rows).await;
    println!(
        "   the trigger page asks for one order (number={}, sku=demo):",
        single.number
    );
    let params = TriggerParams::parse(
        &[
            ("number".to_string(), single.number.clone()),
            ("sku".to_string(), "demo".to_string()),
        ],
        &status_flow,
    )
    .map_err(anyhow::Error::msg)?;
    status_run(
        &engine,
        &status_flow,
        Trigger::Manual {
            user: "demo".to_string(),
        },
        StatusInput::Read(ReadMode::Triggered(params)),
    )
    .await?;
    println!("   the ERP was asked: {}", last_feed_url(&erp).await);
    println!(
        "   a scheduled read (last.request in Europe/Istanbul) takes every change; the row the \
         trigger applied is recognised and skipped:"
    );
    let read = status_run(
        &engine,
        &status_flow,
        Trigger::Scheduled,
        StatusInput::Read(ReadMode::Scheduled),
    )
    .await?;
    println!("   the ERP was asked: {}", last_feed_url(&erp).await);
    show_failures(&engine, &read).await?;

    // The ERP pushes rows to the outbound flow; Omnitron has a bad moment on the first one.
    println!("\n== 5. Order Status Flow (outbound): the ERP pushes rows");
    omnitron
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 503,
                body: None,
                html: Some("<html>503 Service Unavailable</html>".to_string()),
                headers: BTreeMap::new(),
            })
            .method("PATCH")
            .path("bulk_status_update")
            .nth(1),
        )
        .await
        .context("cannot add the demo's Omnitron fault")?;
    let pushed: Vec<Value> = shippable[1..4]
        .iter()
        .map(|order| {
            json!({"order": order.number, "orderitem_set": order.items.iter()
                .map(|item| json!({"id": item.pk, "status": 510, "tracking_number": "TRK-PUSH"}))
                .collect::<Vec<_>>()})
        })
        .chain([json!({"orderitem_set": [{"id": 1, "status": 500}]})])
        .collect();
    println!(
        "   {} rows, the last without `order`; the first PATCH meets a 503",
        pushed.len()
    );
    let body = serde_json::to_vec(&pushed)?;
    let progress = ConsoleProgress::new(true);
    let outbound = push(
        &engine,
        &push_flow,
        &body,
        Trigger::Outbound {
            caller: Some("demo ERP".to_string()),
        },
        &progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    print_summary(&outbound, FlowKind::OrderStatus);
    show_failures(&engine, &outbound).await?;
    println!("   replay from the stored payloads (the ERP does not push them again):");
    let stored = stored_rows(
        engine.store.as_ref(),
        &push_flow,
        Some(&outbound.execution.id),
        None,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    status_run(
        &engine,
        &push_flow,
        Trigger::Replay {
            parent: outbound.execution.id.clone(),
            user: Some("demo".to_string()),
        },
        StatusInput::Stored(stored),
    )
    .await?;

    let omnitron_state = omnitron.state().await;
    println!("\n== result");
    for order in shippable.iter().take(7) {
        if let Some(now) = omnitron_state.order(&order.number) {
            let statuses: Vec<&str> = now.items.iter().map(|i| i.status.as_str()).collect();
            println!(
                "   order {}: item statuses {}",
                now.number,
                statuses.join(", ")
            );
        }
    }
    println!(
        "   the CRM heard about {} orders (Post Script)",
        erp.state().await.notifications.len()
    );
    cancel_story(&engine, &cancel_flow, &omnitron, &erp).await?;

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

async fn order_run(
    engine: &Engine,
    flow: &OrderFlow,
    trigger: Trigger,
    selection: Selection,
) -> Result<RunSummary> {
    let progress = ConsoleProgress::new(true);
    let summary =
        run_order_flow(engine, flow, RunRequest { trigger, selection }, &progress).await?;
    print_summary(&summary, FlowKind::Order);
    Ok(summary)
}

/// Sections 6 and 7: waiting web plans meet a refusing, an unavailable and a re-login ERP.
async fn cancel_story(
    engine: &Engine,
    flow: &OrderCancelFlow,
    omnitron: &omnibridge_sim::OmnitronHandle,
    erp: &omnibridge_sim::ErpHandle,
) -> Result<()> {
    let web: Vec<u64> = CHANNELS
        .iter()
        .filter(|(_, _, kind)| *kind == "web")
        .map(|(pk, _, _)| *pk)
        .collect();
    // Three customers cancel on the web shop (through Omnitron's API, as the shop does).
    let state = omnitron.state().await;
    let unshipped: Vec<u64> = web
        .iter()
        .flat_map(|channel| state.cancellable_orders(*channel))
        .filter(|pk| {
            state
                .order_by_pk(*pk)
                .is_some_and(|o| o.items.iter().all(|i| i.status.as_str() < "500"))
        })
        .take(3)
        .collect();
    omnitron
        .cancel_orders(&unshipped, "cancel")
        .await
        .map_err(anyhow::Error::msg)
        .context("Omnitron did not open the demo's cancellation plans")?;
    let state = omnitron.state().await;
    let waiting: Vec<(u64, String, String)> = state
        .cancellation_plans
        .iter()
        .filter(|p| p.status == "waiting")
        .filter_map(|p| {
            let order = state.order_by_pk(p.order)?;
            web.contains(&order.channel)
                .then(|| (p.pk, p.plan_type.clone(), order.number.clone()))
        })
        .collect();
    if waiting.len() < 3 {
        bail!("the generated data has fewer than 3 web orders to cancel; try more --orders");
    }
    let (refused, unavailable, relogin) = (waiting[0].0, waiting[1].0, waiting[2].0);
    erp.set_cancellation_mode(refused, CancelMode::Reject { status: 400 })
        .await;
    erp.set_cancellation_mode(unavailable, CancelMode::RetryLater { status: 503 })
        .await;
    erp.set_cancellation_mode(relogin, CancelMode::Auth { status: 401 })
        .await;
    println!(
        "\n== 6. Order Cancel Flow: {} waiting web cancellations and refunds go to the ERP",
        waiting.len()
    );
    println!("   (the ERP refuses plan {refused} with a 400, answers 503 for plan {unavailable},");
    println!("    and refuses the login token once on plan {relogin})");
    let first = cancel_run(engine, flow, Trigger::Scheduled).await?;
    show_failures(engine, &first).await?;

    println!("\n== 7. the ERP recovers; the next scheduled run takes the plan it left");
    erp.set_cancellation_mode(unavailable, CancelMode::Ok).await;
    cancel_run(engine, flow, Trigger::Scheduled).await?;

    let state = omnitron.state().await;
    let erp_state = erp.state().await;
    for (pk, plan_type, number) in &waiting {
        let status = state.plan(*pk).map_or("?", |p| p.status.as_str());
        let (asked, took) = erp_state
            .cancellation(&pk.to_string())
            .map_or((0, 0), |c| (c.count, c.accepted));
        println!(
            "   plan {pk} ({plan_type} of order {number}): {status} in Omnitron; the ERP was asked \
             {asked} time(s) and took it {took} time(s)"
        );
    }
    Ok(())
}

async fn cancel_run(
    engine: &Engine,
    flow: &OrderCancelFlow,
    trigger: Trigger,
) -> Result<RunSummary> {
    let progress = ConsoleProgress::new(true);
    let summary =
        run_order_cancel_flow(engine, flow, trigger, CancelSelection::Listed, &progress).await?;
    print_summary(&summary, FlowKind::OrderCancel);
    Ok(summary)
}

async fn status_run(
    engine: &Engine,
    flow: &OrderStatusFlow,
    trigger: Trigger,
    input: StatusInput,
) -> Result<RunSummary> {
    let progress = ConsoleProgress::new(true);
    let summary =
        run_order_status_flow(engine, flow, StatusRunRequest { trigger, input }, &progress).await?;
    print_summary(&summary, FlowKind::OrderStatus);
    Ok(summary)
}

/// The ERP's last status-feed request, decoded for reading.
async fn last_feed_url(erp: &omnibridge_sim::ErpHandle) -> String {
    erp.journal(Default::default())
        .await
        .iter()
        .rev()
        .find(|e| e.path.contains("service/run"))
        .map(|e| {
            let query: String = url::form_urlencoded::parse(e.query.as_bytes())
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.into_owned()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            format!("{}?{query}", e.path)
        })
        .unwrap_or_default()
}

async fn failed_keys(engine: &Engine, execution: &str) -> Result<Vec<String>> {
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
            "   {} {} at {}: {}",
            row.record_key,
            row.status.as_str(),
            row.step.as_str(),
            row.error.unwrap_or_default()
        );
    }
    Ok(())
}
