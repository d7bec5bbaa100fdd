//! One execution of an Order Flow: log in, read unsent orders page by page, and run each order
//! through [`process_order`] on the shared execution runtime.

use omnibridge_omnitron::{UnsentOrdersQuery, results_of};
use omnibridge_store::Trigger;
use serde_json::{Value, json};

use super::load::OrderFlow;
use super::record::{RecordContext, process_order};
use crate::cards::connections::Connections;
use crate::execution::{
    Driver, Engine, ExecutionScope, ExecutionSpec, Feed, Progress, RecordReport, RunError,
    RunSummary,
};

/// Which orders an execution processes.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every unsent order of the flow's query (a scheduled or manual run).
    Unsent,
    /// Only these order numbers (a replay), each still only if Omnitron lists it as unsent.
    Numbers(Vec<String>),
}

/// What an execution should do and why.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Who or what started it.
    pub trigger: Trigger,
    /// Which orders.
    pub selection: Selection,
}

/// Runs one execution of `flow`.
pub async fn run_order_flow(
    engine: &Engine,
    flow: &OrderFlow,
    request: RunRequest,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    let spec = ExecutionSpec {
        flow_id: flow.id.clone(),
        flow_name: flow.config.name.clone(),
        trigger: request.trigger.clone(),
        secrets: flow.secrets(),
    };
    let scope = ExecutionScope::begin(engine, spec, progress).await?;
    let outcome = execute(&scope, flow, &request.selection).await;
    scope.finish(outcome).await
}

/// The Login step, then the records; `Err` is the execution's error message.
async fn execute(
    scope: &ExecutionScope<'_>,
    flow: &OrderFlow,
    selection: &Selection,
) -> Result<Value, String> {
    let engine = scope.engine();
    let connections = Connections::new(&flow.omnitron, &flow.erp, &flow.config.run)?;
    connections.login(engine.store.as_ref()).await?;
    let mut base = scope.base_attributes();
    base.set("http.query.string", "");
    let driver = OrderDriver {
        records: RecordContext {
            flow,
            flow_id: &flow.id,
            store: engine.store.as_ref(),
            scripts: &engine.scripts,
            connections: &connections,
            execution_id: scope.id(),
            base_attributes: &base,
        },
        selection,
        now: engine.clock.now(),
    };
    let pages = scope
        .run_records(&driver, flow.config.run.concurrency)
        .await?;
    Ok(json!({"pages_read": pages, "erp_logins": connections.erp.login_count()}))
}

/// The Order Flow as the runtime sees it: unsent orders in, one [`process_order`] each.
struct OrderDriver<'a> {
    records: RecordContext<'a>,
    selection: &'a Selection,
    now: chrono::DateTime<chrono::Utc>,
}

/// An order as the unsent-orders list gave it.
struct Listed {
    pk: i64,
    number: String,
    row: Value,
}

impl Driver for OrderDriver<'_> {
    type Record = Listed;

    async fn read(&self, feed: Feed<'_, Listed>) -> Result<Value, String> {
        read_orders(self, &feed).await.map(Value::from)
    }

    async fn process(&self, listed: Listed) -> RecordReport {
        process_order(&self.records, listed.pk, &listed.number, Some(&listed.row)).await
    }
}

/// Feeds listed orders to the workers; returns how many pages were read.
async fn read_orders(driver: &OrderDriver<'_>, feed: &Feed<'_, Listed>) -> Result<u32, String> {
    let flow = driver.records.flow;
    let omnitron = &driver.records.connections.omnitron;
    match driver.selection {
        Selection::Unsent => {
            let read = &flow.config.read;
            let mut query = UnsentOrdersQuery::new(read.channels.0.clone(), driver.now);
            query.statuses = read.statuses.clone();
            query.page_size = read.page_size;
            query.modified_after = driver.now - chrono::Duration::days(i64::from(read.window_days));
            let mut pager = omnitron.unsent_orders(&query, None);
            loop {
                let page = pager.next_page().await.map_err(|e| {
                    format!(
                        "Read Data From Omnitron failed after {} page(s): {e}",
                        pager.pages_read()
                    )
                })?;
                let Some(rows) = page else {
                    return Ok(pager.pages_read());
                };
                feed.read(rows.len());
                for row in rows {
                    let Some((pk, number)) = pk_and_number(&row) else {
                        tracing::warn!("an order without pk or number was skipped: {row}");
                        continue;
                    };
                    if !feed.send(Listed { pk, number, row }).await {
                        return Ok(pager.pages_read());
                    }
                }
            }
        }
        Selection::Numbers(numbers) => {
            let mut pages = 0;
            for number in numbers {
                let path = format!(
                    "api/v1/orders_integration/?number={}&is_send=false&limit=1",
                    url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
                );
                let body = omnitron
                    .get(&path)
                    .await
                    .map_err(|e| format!("reading order {number} from Omnitron failed: {e}"))?;
                pages += 1;
                let rows = results_of(&body).cloned().unwrap_or_default();
                feed.read(rows.len());
                for row in rows {
                    if let Some((pk, number)) = pk_and_number(&row)
                        && !feed.send(Listed { pk, number, row }).await
                    {
                        return Ok(pages);
                    }
                }
            }
            Ok(pages)
        }
    }
}

fn pk_and_number(row: &Value) -> Option<(i64, String)> {
    let pk = row.get("pk").or_else(|| row.get("id"))?;
    let pk = pk.as_i64().or_else(|| pk.as_str()?.parse().ok())?;
    let number = match row.get("number")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((pk, number))
}
