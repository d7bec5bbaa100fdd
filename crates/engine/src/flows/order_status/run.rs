//! Executions of an Order Status Flow: an inbound read (scheduled or triggered), a push from
//! the ERP (outbound), or a replay of stored rows, all through the same row processing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use omnibridge_store::{LedgerEntry, Store, Trigger};
use serde_json::{Value, json};

use super::load::OrderStatusFlow;
use super::row::{RowContext, Stage, StatusRecord, ledger_key, process_row};
use super::steps;
use super::trigger::{
    DATE_PARAMETER, ReadMode, advance_last_request, format_last_request, last_request,
};
use crate::attributes::Attributes;
use crate::cards::connections::Connections;
use crate::cards::erp_read::PageReader;
use crate::config::cards::json_kind;
use crate::execution::{
    Driver, Engine, ExecutionScope, ExecutionSpec, Feed, Progress, RecordReport, RunError,
    RunSummary, stored_payloads,
};

/// Largest pushed payload, in bytes.
pub const MAX_PUSH_BYTES: usize = 64 * 1024 * 1024;
/// Most rows one push may carry.
pub const MAX_PUSH_ROWS: usize = 100_000;

/// Where an execution's rows come from.
#[derive(Debug, Clone)]
pub enum StatusInput {
    /// Read the ERP (inbound).
    Read(ReadMode),
    /// Rows the ERP pushed (outbound), already checked by [`check_pushed_rows`].
    Pushed(Vec<Value>),
    /// Rows kept with earlier row logs (a replay).
    Stored(Vec<StoredRow>),
}

/// A row kept with its row log, to replay.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// The row log's record key.
    pub key: String,
    /// The row's ledger key, as its row log recorded it.
    pub ledger_key: Option<String>,
    /// Where the row starts: before the per-row script when it failed there.
    pub stage: Stage,
    /// The row.
    pub row: Value,
}

/// What an execution should do and why.
#[derive(Debug, Clone)]
pub struct StatusRunRequest {
    /// Who or what started it.
    pub trigger: Trigger,
    /// Its rows.
    pub input: StatusInput,
}

/// Why a push was refused (before anything ran) or could not run.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The payload is not what an outbound flow takes; nothing was processed.
    #[error("the pushed payload is refused: {0}")]
    Refused(String),
    /// The execution could not run.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Runs one execution of `flow`.
pub async fn run_order_status_flow(
    engine: &Engine,
    flow: &OrderStatusFlow,
    request: StatusRunRequest,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    match (&request.input, flow.is_outbound()) {
        (StatusInput::Read(_), true) => {
            return Err(RunError::Refused(format!(
                "flow {:?} is outbound: the ERP pushes its rows (`omnibridge push`); it cannot be \
                 run or triggered",
                flow.id
            )));
        }
        (StatusInput::Pushed(_), false) => {
            return Err(RunError::Refused(format!(
                "flow {:?} is inbound: it reads the ERP itself and takes no pushed rows",
                flow.id
            )));
        }
        _ => {}
    }
    let spec = ExecutionSpec {
        flow_id: flow.id.clone(),
        flow_name: flow.config.name.clone(),
        trigger: request.trigger.clone(),
        secrets: flow.secrets(),
    };
    let scope = ExecutionScope::begin(engine, spec, progress).await?;
    let outcome = execute(&scope, flow, request.input).await;
    scope.finish(outcome).await
}

/// The outbound entry point (what `omnibridge push` and the service's outbound endpoint call):
/// checks `body` as a whole, then runs it. A malformed payload is refused before anything runs.
pub async fn push(
    engine: &Engine,
    flow: &OrderStatusFlow,
    body: &[u8],
    trigger: Trigger,
    progress: &dyn Progress,
) -> Result<RunSummary, PushError> {
    let rows = check_pushed_rows(body).map_err(PushError::Refused)?;
    let request = StatusRunRequest {
        trigger,
        input: StatusInput::Pushed(rows),
    };
    Ok(run_order_status_flow(engine, flow, request, progress).await?)
}

/// Checks a pushed payload: JSON, an array, at most [`MAX_PUSH_ROWS`] rows, each an object.
/// A row's own problems (no `order`, an item without `id`) are not checked here: that row fails
/// alone and the others go through.
pub fn check_pushed_rows(body: &[u8]) -> Result<Vec<Value>, String> {
    if body.len() > MAX_PUSH_BYTES {
        return Err(format!(
            "it is {} bytes; at most {MAX_PUSH_BYTES}",
            body.len()
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("it is not JSON: {e}"))?;
    let Value::Array(rows) = value else {
        return Err(format!(
            "it must be a JSON array of rows ({{\"order\": ..., \"orderitem_set\": [...]}}), not {}",
            json_kind(&value)
        ));
    };
    if rows.len() > MAX_PUSH_ROWS {
        return Err(format!(
            "it has {} rows; at most {MAX_PUSH_ROWS} per push",
            rows.len()
        ));
    }
    if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| !r.is_object()) {
        return Err(format!(
            "row {} is {}, not an object",
            i + 1,
            json_kind(row)
        ));
    }
    Ok(rows)
}

/// The rows of earlier row logs to replay: failed and in-doubt rows of `execution_id` (or every
/// failed row of `record_key` in the flow), from the payloads kept with them.
pub async fn stored_rows(
    store: &dyn Store,
    flow: &OrderStatusFlow,
    execution_id: Option<&str>,
    record_key: Option<&str>,
) -> Result<Vec<StoredRow>, String> {
    let stored = stored_payloads(store, &flow.id, execution_id, record_key).await?;
    let mut rows = Vec::new();
    // For one record key across executions, an identical row is replayed once.
    let mut seen = std::collections::HashSet::new();
    for (log, text) in stored {
        let row: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the stored row of {} is not JSON: {e}", log.record_key))?;
        let stage = if log.step == steps::ROW_SCRIPT {
            Stage::Mapped
        } else {
            Stage::Final
        };
        let identity = (log.record_key.clone(), text);
        if execution_id.is_none() && !seen.insert(identity) {
            continue;
        }
        rows.push(StoredRow {
            key: log.record_key,
            ledger_key: log.record_id,
            stage,
            row,
        });
    }
    Ok(rows)
}

/// The Login step, then the rows; `Err` is the execution's error message.
async fn execute(
    scope: &ExecutionScope<'_>,
    flow: &OrderStatusFlow,
    input: StatusInput,
) -> Result<Value, String> {
    let engine = scope.engine();
    let store = engine.store.as_ref();
    let started = engine.clock.now();
    let connections = Connections::new(&flow.omnitron, &flow.erp, &flow.config.run)?;
    connections.login(store).await?;
    let mut attributes = scope.base_attributes();
    connections
        .set_tokens(&mut attributes)
        .await
        .map_err(|stop| stop.error.unwrap_or_default())?;
    let mut run_params = Vec::new();
    let scheduled = matches!(input, StatusInput::Read(ReadMode::Scheduled));
    let mut summary = serde_json::Map::new();
    if let StatusInput::Read(mode) = &input {
        let since = last_request(store, flow, started, scheduled).await?;
        let since_text = format_last_request(since, flow.timezone);
        attributes.set("last.request", since_text.clone());
        match mode {
            ReadMode::Scheduled => {
                attributes.set("http.query.string", "");
                run_params.push((DATE_PARAMETER.to_string(), since_text.clone()));
                summary.insert("last_request".into(), Value::from(since_text));
            }
            ReadMode::Triggered(params) => {
                params.set_attributes(&mut attributes);
                run_params = params.given();
                summary.insert("trigger".into(), Value::from(params.query_string()));
            }
        }
    } else {
        attributes.set("http.query.string", "");
    }
    let base = scope.base_attributes();
    let driver = StatusDriver {
        rows: RowContext {
            flow,
            flow_id: &flow.id,
            store,
            scripts: &engine.scripts,
            connections: &connections,
            execution_id: scope.id(),
            base_attributes: &base,
        },
        input,
        attributes,
        run_params,
    };
    let read = scope
        .run_records(&driver, flow.config.run.concurrency)
        .await?;
    if let Value::Object(read) = read {
        summary.extend(read);
    }
    if scheduled {
        // Every page was read and every row read has its row log (a failed one with its payload,
        // to replay): the window can move on.
        advance_last_request(store, flow, started).await?;
        summary.insert(
            "next_last_request".into(),
            Value::from(format_last_request(started, flow.timezone)),
        );
    }
    summary.insert(
        "erp_logins".into(),
        Value::from(connections.erp.login_count()),
    );
    Ok(Value::Object(summary))
}

/// The Order Status Flow as the runtime sees it.
struct StatusDriver<'a> {
    rows: RowContext<'a>,
    input: StatusInput,
    /// The run's attributes (tokens, `http.query.*`, `last.request`).
    attributes: Attributes,
    /// Appended to a plain ERP URL.
    run_params: Vec<(String, String)>,
}

impl Driver for StatusDriver<'_> {
    type Record = StatusRecord;

    async fn read(&self, feed: Feed<'_, StatusRecord>) -> Result<Value, String> {
        match &self.input {
            StatusInput::Read(_) => self.read_erp(&feed).await,
            StatusInput::Pushed(rows) => {
                let mut seen = Seen::default();
                let mut attributes = self.attributes.clone();
                let rows = self
                    .page_rows(
                        Value::Array(rows.clone()),
                        &mut attributes,
                        "the pushed rows",
                    )
                    .await?;
                let count = rows.len();
                let rows = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| Fed::new(format!("row {}", i + 1), row))
                    .collect();
                self.feed(&feed, rows, attributes, &mut seen).await?;
                Ok(json!({"rows": count}))
            }
            StatusInput::Stored(rows) => {
                let mut seen = Seen::default();
                let rows: Vec<Fed> = rows
                    .iter()
                    .map(|stored| Fed {
                        label: stored.key.clone(),
                        row: stored.row.clone(),
                        stage: stored.stage,
                        ledger_key: stored.ledger_key.clone(),
                    })
                    .collect();
                let count = rows.len();
                self.feed(&feed, rows, self.attributes.clone(), &mut seen)
                    .await?;
                Ok(json!({"rows": count}))
            }
        }
    }

    async fn process(&self, record: StatusRecord) -> RecordReport {
        process_row(&self.rows, record).await
    }

    /// A row waits on no store write while it runs (its completion is in its row log's
    /// write), so row logs go in large batches.
    fn row_log_batch(&self) -> usize {
        64
    }
}

impl StatusDriver<'_> {
    /// Reads page after page; each page goes through the Script and the Mapping and its rows to
    /// the workers before the next page is asked for.
    async fn read_erp(&self, feed: &Feed<'_, StatusRecord>) -> Result<Value, String> {
        let flow = self.rows.flow;
        let Some(reader) = &flow.read else {
            return Err("this flow has no Read Data From ERP card".to_string());
        };
        let mut pages = PageReader::new(
            reader,
            self.rows.connections,
            &self.attributes,
            self.run_params.clone(),
        );
        let mut total = 0;
        let mut seen = Seen::default();
        let mut next = pages.next_page().await?;
        while let Some(page) = next {
            let mut attributes = self.attributes.clone();
            attributes.set_invokehttp(&page.exchange);
            let what = format!("page {}", page.number);
            let rows = self.page_rows(page.payload, &mut attributes, &what).await?;
            if page.rows_missing && !rows.is_empty() {
                return Err(format!(
                    "Read Data From ERP: {what} made {} rows, but the pagination found no rows \
                     where read.pagination.rows_path points, so it cannot tell whether more \
                     pages follow; set rows_path to the list of rows in the ERP's answer",
                    rows.len()
                ));
            }
            // Each row is its own content now; the page's body would only be copied into every
            // row's attributes.
            attributes.remove("invokehttp.response.body");
            total += rows.len();
            let number = page.number;
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| Fed::new(format!("page {number} row {}", i + 1), row))
                .collect();
            seen.next_page();
            // The next page is asked for while this one's rows are handed out, so the workers
            // never wait for a page: two pages at most are in memory.
            let (fetched, fed) = tokio::join!(
                pages.next_page(),
                self.feed(feed, rows, attributes, &mut seen)
            );
            if !fed? {
                break;
            }
            next = fetched?;
        }
        Ok(json!({"pages_read": pages.pages_read(), "rows": total}))
    }

    /// A page's payload through the Script and the Mapping, into rows. The result must be a
    /// list (a Mapping that matched nothing, `null`, is no rows); anything else fails the read.
    async fn page_rows(
        &self,
        payload: Value,
        attributes: &mut Attributes,
        what: &str,
    ) -> Result<Vec<Value>, String> {
        let flow = self.rows.flow;
        let mut content = payload;
        if let Some(script) = &flow.script {
            content = script
                .run_json(
                    self.rows.scripts,
                    flow.config.run.script_timeout,
                    &content,
                    attributes,
                )
                .await
                .map_err(|stop| format!("{what}: {}", stop.error.unwrap_or_default()))?;
        }
        if let Some(mapping) = &flow.mapping {
            content = mapping
                .apply(&content)
                .map_err(|stop| format!("{what}: {}", stop.error.unwrap_or_default()))?;
        }
        match content {
            Value::Array(rows) => Ok(rows),
            Value::Null => Ok(Vec::new()),
            other => {
                let source = match (&flow.script, &flow.mapping) {
                    (_, Some(mapping)) => mapping.name(),
                    (Some(script), None) => script.name(),
                    (None, None) => "the ERP's answer (with no Script or Mapping)".to_string(),
                };
                let text = other.to_string();
                let preview = crate::text::cut(&text, 200);
                Err(format!(
                    "{what}: {source} must give a list of order objects, one per row; it gave {}: {preview}",
                    json_kind(&other)
                ))
            }
        }
    }

    /// Hands rows to the workers, each with its ledger key and the entry the ledger has for
    /// it (one read for all of them); `false` when the workers stopped.
    async fn feed(
        &self,
        feed: &Feed<'_, StatusRecord>,
        rows: Vec<Fed>,
        attributes: Attributes,
        seen: &mut Seen,
    ) -> Result<bool, String> {
        feed.read(rows.len());
        let keys: Vec<String> = rows
            .iter()
            .map(|fed| {
                fed.ledger_key
                    .clone()
                    .unwrap_or_else(|| ledger_key(&fed.row))
            })
            .collect();
        let mut entries: HashMap<String, LedgerEntry> = self
            .rows
            .store
            .get_ledger_entries(&self.rows.flow.id, &keys)
            .await
            .map_err(|e| format!("reading the ledger failed: {e}"))?
            .into_iter()
            .map(|entry| (entry.record_key.clone(), entry))
            .collect();
        let attributes = Arc::new(attributes);
        for (fed, key) in rows.into_iter().zip(keys) {
            let repeated = !seen.insert(&key);
            let record = StatusRecord {
                label: fed.label,
                row: fed.row,
                stage: fed.stage,
                attributes: attributes.clone(),
                entry: entries.remove(&key),
                ledger_key: key,
                repeated,
            };
            if !feed.send(record).await {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// A row about to be handed to the workers.
struct Fed {
    label: String,
    row: Value,
    stage: Stage,
    /// Its ledger key when known (a stored row's); else computed from the row.
    ledger_key: Option<String>,
}

impl Fed {
    fn new(label: String, row: Value) -> Self {
        Self {
            label,
            row,
            stage: Stage::Mapped,
            ledger_key: None,
        }
    }
}

/// The ledger keys of this page and the one before: a row an ERP repeats at a page boundary is
/// written once. Two pages, so memory stays flat however long the read.
#[derive(Default)]
struct Seen {
    current: HashSet<String>,
    previous: HashSet<String>,
}

impl Seen {
    fn next_page(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }

    /// Whether `key` is new here.
    fn insert(&mut self, key: &str) -> bool {
        !self.previous.contains(key) && self.current.insert(key.to_string())
    }
}
