//! One execution of an Order Flow: log in, read unsent orders page by page, and run each order
//! through [`process_order`] on the shared execution runtime.

use omnibridge_omnitron::{UnsentOrdersQuery, results_of};
use omnibridge_store::{LedgerQuery, Trigger};
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
            // First the orders an earlier run left accepted but unfinished: once marked sent
            // they are no longer listed as unsent, and their Post Script would be lost.
            let resumed = resume_accepted(driver, feed).await?;
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
                    if resumed.contains(&number) {
                        continue;
                    }
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

/// Most unfinished orders one run resumes; any beyond wait for the next run.
const MAX_RESUMED_PER_RUN: usize = 10_000;

/// Feeds the orders whose ERP write an earlier, no longer running execution saw accepted but
/// did not finish (Write Data to Omnitron, the Post Script, the row log): each is finished
/// without being sent again. Returns their numbers, so the unsent list does not feed them twice.
async fn resume_accepted(
    driver: &OrderDriver<'_>,
    feed: &Feed<'_, Listed>,
) -> Result<std::collections::HashSet<String>, String> {
    let flow = driver.records.flow;
    let store = driver.records.store;
    let omnitron = &driver.records.connections.omnitron;
    let mut resumed = std::collections::HashSet::new();
    let mut query = LedgerQuery::accepted_not_completed(flow.id.clone());
    query.limit = 500;
    'pages: loop {
        let entries = store
            .list_ledger(&query)
            .await
            .map_err(|e| format!("reading the ledger's unfinished orders failed: {e}"))?;
        let Some(last) = entries.last() else {
            break;
        };
        query.after_record_key = Some(last.record_key.clone());
        let full_page = entries.len() >= query.limit as usize;
        for entry in entries {
            if resumed.len() >= MAX_RESUMED_PER_RUN {
                break 'pages;
            }
            let number = entry.record_key;
            let path = format!(
                "api/v1/orders_integration/?number={}&limit=1",
                url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
            );
            let body = omnitron.get(&path).await.map_err(|e| {
                format!("reading unfinished order {number} from Omnitron failed: {e}")
            })?;
            let row = results_of(&body).and_then(|rows| rows.first()).cloned();
            let Some((pk, listed_number, row)) = row
                .and_then(|row| pk_and_number(&row).map(|(pk, n)| (pk, n, row)))
                .filter(|(_, n, _)| *n == number)
            else {
                tracing::warn!(order = %number, "an order the ERP accepted is no longer in Omnitron; it cannot be finished");
                continue;
            };
            feed.read(1);
            resumed.insert(listed_number.clone());
            if !feed
                .send(Listed {
                    pk,
                    number: listed_number,
                    row,
                })
                .await
            {
                break 'pages;
            }
        }
        if !full_page {
            break;
        }
    }
    if !resumed.is_empty() {
        tracing::info!(flow = %flow.id, orders = resumed.len(), "finishing orders an earlier run left accepted");
    }
    Ok(resumed)
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
