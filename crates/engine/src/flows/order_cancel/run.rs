//! One execution of an Order Cancel Flow: log in, read the task's list (a moving window for the
//! completed task), and run each plan through [`process_plan`] on the shared runtime.

use omnibridge_store::{Store, Trigger};
use serde_json::{Value, json};

use super::load::OrderCancelFlow;
use super::plan::{PlanContext, process_plan};
use super::read::{CancelRecord, list};
use crate::cards::connections::Connections;
use crate::config::order_cancel::CancelStatus;
use crate::execution::{
    Driver, Engine, ExecutionScope, ExecutionSpec, Feed, Progress, RecordReport, RunError,
    RunSummary, stored_payloads,
};

/// The flow state key of the completed task's window start (its last complete read).
pub const LAST_QUERY_STATE: &str = "last.query";

/// Which plans an execution takes.
#[derive(Debug, Clone)]
pub enum CancelSelection {
    /// The task's list (a scheduled or manual run).
    Listed,
    /// Plans kept with earlier row logs (a replay).
    Stored(Vec<CancelRecord>),
}

/// Runs one execution of `flow`.
pub async fn run_order_cancel_flow(
    engine: &Engine,
    flow: &OrderCancelFlow,
    trigger: Trigger,
    selection: CancelSelection,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    let spec = ExecutionSpec {
        flow_id: flow.id.clone(),
        flow_name: flow.config.name.clone(),
        trigger,
        secrets: flow.secrets(),
    };
    let scope = ExecutionScope::begin(engine, spec, progress).await?;
    let outcome = execute(&scope, flow, selection).await;
    scope.finish(outcome).await
}

/// The failed and in-doubt plans of an execution (or of one plan key in the flow), from the
/// payloads kept with their row logs.
pub async fn stored_plans(
    store: &dyn Store,
    flow: &OrderCancelFlow,
    execution_id: Option<&str>,
    record_key: Option<&str>,
) -> Result<Vec<CancelRecord>, String> {
    let stored = stored_payloads(store, &flow.id, execution_id, record_key).await?;
    let mut records = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Newest first: one record per plan, its latest failure.
    for (log, text) in stored.into_iter().rev() {
        if !seen.insert(log.record_key.clone()) {
            continue;
        }
        let plan: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the stored plan of {} is not JSON: {e}", log.record_key))?;
        records.push(CancelRecord::Stored {
            key: log.record_key,
            plan,
        });
    }
    Ok(records)
}

/// The Login step, the list, then the plans; `Err` is the execution's error message.
async fn execute(
    scope: &ExecutionScope<'_>,
    flow: &OrderCancelFlow,
    selection: CancelSelection,
) -> Result<Value, String> {
    let engine = scope.engine();
    let store = engine.store.as_ref();
    let started = engine.clock.now();
    let connections = Connections::new(&flow.omnitron, &flow.erp, &flow.config.run)?;
    connections.login(store).await?;
    let windowed = matches!(selection, CancelSelection::Listed)
        && flow.cancel_status() == CancelStatus::Completed;
    let since = if windowed {
        Some(window_start(store, flow, started).await?)
    } else {
        None
    };
    let mut summary = serde_json::Map::new();
    let (records, complete) = match selection {
        CancelSelection::Listed => {
            let listing = list(&connections.omnitron, flow, since).await?;
            summary.insert("list_pages".into(), Value::from(listing.pages));
            if !listing.complete {
                summary.insert(
                    "note".into(),
                    Value::from(format!(
                        "read.max_plans ({}) was reached; the rest waits for the next run",
                        flow.config.read.max_plans
                    )),
                );
            }
            (listing.records, listing.complete)
        }
        CancelSelection::Stored(records) => (records, true),
    };
    let base = scope.base_attributes();
    let driver = CancelDriver {
        plans: PlanContext {
            flow,
            flow_id: &flow.id,
            store,
            scripts: &engine.scripts,
            connections: &connections,
            execution_id: scope.id(),
            base_attributes: &base,
        },
        records,
    };
    let read = scope
        .run_records(&driver, flow.config.run.concurrency)
        .await?;
    if let Value::Object(read) = read {
        summary.extend(read);
    }
    if windowed && complete {
        // Every plan of the window was read and logged (a failed one with its payload, to
        // replay): the window moves on.
        let text = started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        store
            .set_flow_state(&flow.id, LAST_QUERY_STATE, &text)
            .await
            .map_err(|e| format!("advancing the completed task's window failed: {e}"))?;
        summary.insert("next_window_start".into(), Value::from(text));
    }
    if let Some(since) = since {
        summary.insert(
            "window_start".into(),
            Value::from(since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
    }
    summary.insert(
        "erp_logins".into(),
        Value::from(connections.erp.login_count()),
    );
    Ok(Value::Object(summary))
}

/// Where the completed task's window starts: the last complete read, or now minus the initial
/// lookback (stored, so a failed first read is retried from the same point).
async fn window_start(
    store: &dyn Store,
    flow: &OrderCancelFlow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let stored = store
        .get_flow_state(&flow.id, LAST_QUERY_STATE)
        .await
        .map_err(|e| format!("reading the completed task's window failed: {e}"))?;
    if let Some(text) = stored {
        return chrono::DateTime::parse_from_rfc3339(&text)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|e| format!("the stored window start {text:?} is not a time: {e}"));
    }
    let lookback = chrono::Duration::from_std(flow.config.read.initial_lookback)
        .unwrap_or_else(|_| chrono::Duration::days(1));
    let start = now - lookback;
    let text = start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    store
        .compare_and_set_flow_state(&flow.id, LAST_QUERY_STATE, None, Some(&text))
        .await
        .map_err(|e| format!("storing the completed task's window failed: {e}"))?;
    Ok(start)
}

/// The Order Cancel Flow as the runtime sees it.
struct CancelDriver<'a> {
    plans: PlanContext<'a>,
    records: Vec<CancelRecord>,
}

impl Driver for CancelDriver<'_> {
    type Record = CancelRecord;

    async fn read(&self, feed: Feed<'_, CancelRecord>) -> Result<Value, String> {
        feed.read(self.records.len());
        for record in &self.records {
            if !feed.send(record.clone()).await {
                break;
            }
        }
        Ok(json!({"plans": self.records.len()}))
    }

    async fn process(&self, record: CancelRecord) -> RecordReport {
        process_plan(&self.plans, record).await
    }
}
