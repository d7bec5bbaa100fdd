//! One execution of an Order Flow: log in, read unsent orders page by page, run the records
//! concurrently, and leave an execution log and one row log per order in the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use omnibridge_http::{HttpClient, HttpConfig, RetryPolicy};
use omnibridge_omnitron::{OmnitronClient, OmnitronConfig, UnsentOrdersQuery, results_of};
use omnibridge_script::ScriptPool;
use omnibridge_store::{
    Counts, Execution, FinishExecution, LeaseOutcome, NewExecution, NewRowLog, RowStatus, Store,
    Trigger,
};
use serde_json::{Value, json};

use super::definition::OrderFlow;
use super::record::{RecordContext, RecordReport, process_order};
use crate::attributes::Attributes;
use crate::login::ErpSession;

/// The engine's shared services.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Where executions, row logs and the ledger live.
    pub store: Arc<dyn Store>,
    /// The Python workers.
    pub scripts: ScriptPool,
    /// This process's name in leases (unique per running engine).
    pub node: String,
}

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

/// Receives progress while an execution runs (a progress bar, a log line per record).
pub trait Progress: Send + Sync {
    /// The execution started.
    fn started(&self, _execution_id: &str) {}
    /// Orders were read from Omnitron.
    fn read(&self, _count: usize) {}
    /// An order finished.
    fn record(&self, _report: &RecordReport) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The outcome of an execution.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The execution as stored at the end.
    pub execution: Execution,
    /// Wall time.
    pub duration: Duration,
}

/// Why an execution could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run of the flow holds its lease.
    #[error("flow {flow:?} is already running (held by {holder})")]
    AlreadyRunning {
        /// The flow.
        flow: String,
        /// Who holds the lease.
        holder: String,
    },
    /// The store failed before the execution could be recorded.
    #[error("the store failed: {0}")]
    Store(#[from] omnibridge_store::StoreError),
}

const LEASE_TTL: Duration = Duration::from_secs(60);

/// Runs one execution of `flow`.
pub async fn run_order_flow(
    engine: &Engine,
    flow: &OrderFlow,
    request: RunRequest,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let store = engine.store.as_ref();
    let lease_key = format!("flow:{}", flow.id);
    let mut outcome = store
        .acquire_lease(&lease_key, &engine.node, LEASE_TTL)
        .await?;
    if let LeaseOutcome::Held { by } = &outcome
        && local_process_is_gone(&by.owner)
    {
        // The holder was an engine on this machine that died (killed, crashed): its lease
        // would only expire after the TTL, so take it over now.
        tracing::warn!(flow = %flow.id, holder = %by.owner, "taking over the lease of a dead local engine");
        store.release_lease(&lease_key, &by.owner).await?;
        outcome = store
            .acquire_lease(&lease_key, &engine.node, LEASE_TTL)
            .await?;
    }
    if let LeaseOutcome::Held { by } = outcome {
        return Err(RunError::AlreadyRunning {
            flow: flow.id.clone(),
            holder: by.owner,
        });
    }
    // Executions of dead processes (whose leases expired) are marked interrupted.
    store.interrupt_orphaned_executions().await?;
    let heartbeat = spawn_heartbeat(engine.store.clone(), lease_key.clone(), engine.node.clone());
    let result = run_leased(engine, flow, request, progress, started).await;
    heartbeat.abort();
    if let Err(error) = store.release_lease(&lease_key, &engine.node).await {
        tracing::warn!(flow = %flow.id, "releasing the flow's lease failed: {error}");
    }
    result
}

/// This process's name in leases: `<host>:<pid>`, so a restarted engine can tell that a lease's
/// holder on the same machine is gone.
pub fn node_name() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether `owner` names a process of this machine that no longer runs.
fn local_process_is_gone(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn spawn_heartbeat(
    store: Arc<dyn Store>,
    key: String,
    owner: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE_TTL / 3).await;
            if let Err(error) = store.heartbeat_lease(&key, &owner, LEASE_TTL).await {
                tracing::warn!(lease = %key, "lease heartbeat failed: {error}");
            }
        }
    })
}

async fn run_leased(
    engine: &Engine,
    flow: &OrderFlow,
    request: RunRequest,
    progress: &dyn Progress,
    started: Instant,
) -> Result<RunSummary, RunError> {
    let store = engine.store.as_ref();
    let execution = store
        .create_execution(NewExecution {
            flow_id: flow.id.clone(),
            flow_name: flow.config.name.clone(),
            trigger: request.trigger.clone(),
            owner: engine.node.clone(),
        })
        .await?;
    progress.started(&execution.id);
    for secret in flow.secrets() {
        store.redactor().secrets().add(secret);
    }

    let outcome = execute(engine, flow, &request, &execution.id, progress).await;
    let finish = match outcome {
        Ok(summary) => FinishExecution {
            status: None,
            error: None,
            summary: Some(summary),
        },
        Err(error) => FinishExecution {
            status: None,
            error: Some(error),
            summary: None,
        },
    };
    let mut finish = finish;
    if finish.error.is_some() {
        // A run that could not read everything failed, whatever its records did.
        finish.status = Some(omnibridge_store::ExecutionStatus::Failed);
    }
    let execution = store.finish_execution(&execution.id, finish).await?;
    Ok(RunSummary {
        execution,
        duration: started.elapsed(),
    })
}

/// Builds the clients, reads, and processes; `Err` is the execution's error message.
async fn execute(
    engine: &Engine,
    flow: &OrderFlow,
    request: &RunRequest,
    execution_id: &str,
    progress: &dyn Progress,
) -> Result<Value, String> {
    let store = engine.store.as_ref();
    let run = &flow.config.run;
    let http = HttpConfig {
        connect_timeout: run.connect_timeout,
        total_timeout: run.http_timeout,
        ..HttpConfig::default()
    };
    let mut omnitron_config = OmnitronConfig::new(
        flow.omnitron.url.clone(),
        flow.omnitron.username.clone(),
        flow.omnitron.password.clone(),
    );
    omnitron_config.login_path = flow.omnitron.login_path.clone();
    omnitron_config.http = http.clone();
    let omnitron = OmnitronClient::new(omnitron_config).map_err(|e| e.to_string())?;
    let erp_http = HttpClient::new(HttpConfig {
        // ERP writes are protected by the policy itself; reads (queries) get its retries.
        retry: RetryPolicy::default(),
        ..http
    })
    .map_err(|e| e.to_string())?;
    let erp = ErpSession::new(flow.erp.clone(), erp_http);

    // Login step: both sides (at once), before anything is read.
    let (omnitron_token, erp_credential) = tokio::join!(omnitron.token(), erp.credential());
    let omnitron_token = omnitron_token.map_err(|e| format!("Login: Omnitron: {e}"))?;
    store.redactor().secrets().add(omnitron_token);
    let erp_credential = erp_credential.map_err(|e| format!("Login: ERP: {e}"))?;
    if !erp_credential.token.is_empty() {
        store.redactor().secrets().add(erp_credential.token);
    }

    let mut base = Attributes::new();
    base.set("flow.id", flow.id.clone());
    base.set("flow.name", flow.config.name.clone());
    base.set("execution.id", execution_id);
    base.set("http.query.string", "");
    let cx = RecordContext {
        flow,
        store,
        scripts: &engine.scripts,
        omnitron: &omnitron,
        erp: &erp,
        execution_id,
        base_attributes: &base,
    };

    let concurrency = run.concurrency.max(1);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Listed>(concurrency * 2);
    // Row logs and counts are written beside the records, not in their concurrency slots: the
    // ledger already holds what a crash must not lose, so a record's slot frees up as soon as
    // its ledger entry is final.
    let (log_sender, log_receiver) =
        tokio::sync::mpsc::channel::<(NewRowLog, Counts, Option<u32>)>(concurrency * 4);
    let reader = read_orders(&omnitron, flow, &request.selection, sender, progress);
    let records = async move {
        let log_sender = log_sender;
        futures::stream::unfold(receiver, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .for_each_concurrent(concurrency, |listed| {
            let cx = &cx;
            let log_sender = &log_sender;
            async move {
                let report = process_order(cx, listed.pk, &listed.number, Some(&listed.row)).await;
                progress.record(&report);
                if log_sender
                    .send(row_log(execution_id, report))
                    .await
                    .is_err()
                {
                    tracing::error!("the row log writer stopped");
                }
            }
        })
        .await;
    };
    let writer = futures::stream::unfold(log_receiver, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .for_each_concurrent(ROW_LOG_WRITERS, |(log, delta, completed)| async move {
        let key = log.record_key.clone();
        let completed = completed.map(|attempt| (flow.id.as_str(), attempt));
        match store.finish_record(log, delta, completed).await {
            Ok(None) => {}
            Ok(Some(error)) => {
                tracing::error!(order = %key, "marking the ledger entry completed failed: {error}");
            }
            Err(error) => {
                tracing::error!(order = %key, "writing the row log and counts failed: {error}");
            }
        }
    });
    let (read_result, (), ()) = tokio::join!(reader, records, writer);
    let pages = read_result?;
    Ok(json!({"pages_read": pages, "erp_logins": erp.login_count()}))
}

/// An order as the unsent-orders list gave it.
struct Listed {
    pk: i64,
    number: String,
    row: Value,
}

/// Feeds listed orders to the workers; returns how many pages were read.
async fn read_orders(
    omnitron: &OmnitronClient,
    flow: &OrderFlow,
    selection: &Selection,
    sender: tokio::sync::mpsc::Sender<Listed>,
    progress: &dyn Progress,
) -> Result<u32, String> {
    match selection {
        Selection::Unsent => {
            let read = &flow.config.read;
            let mut query = UnsentOrdersQuery::new(read.channels.0.clone(), chrono::Utc::now());
            query.statuses = read.statuses.clone();
            query.page_size = read.page_size;
            query.modified_after =
                chrono::Utc::now() - chrono::Duration::days(i64::from(read.window_days));
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
                progress.read(rows.len());
                for row in rows {
                    let Some((pk, number)) = pk_and_number(&row) else {
                        tracing::warn!("an order without pk or number was skipped: {row}");
                        continue;
                    };
                    if sender.send(Listed { pk, number, row }).await.is_err() {
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
                progress.read(rows.len());
                for row in rows {
                    if let Some((pk, number)) = pk_and_number(&row)
                        && sender.send(Listed { pk, number, row }).await.is_err()
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

/// Row logs written at once (the store batches them into shared commits).
const ROW_LOG_WRITERS: usize = 8;

/// The row log of a finished record, what it adds to the execution's counts, and the ledger
/// attempt to mark completed.
fn row_log(execution_id: &str, report: RecordReport) -> (NewRowLog, Counts, Option<u32>) {
    let mut delta = Counts {
        read: 1,
        ..Counts::default()
    };
    match report.status {
        RowStatus::Success => delta.sent = 1,
        RowStatus::AlreadyInErp => delta.already_in_erp = 1,
        RowStatus::Failed => delta.failed = 1,
        RowStatus::InDoubt => delta.in_doubt = 1,
        RowStatus::Skipped => delta.skipped = 1,
    }
    let log = NewRowLog {
        execution_id: execution_id.to_string(),
        record_key: report.key,
        record_id: report.id,
        status: report.status,
        step: report.step,
        error: report.error,
        attributes: report.attributes.log_attributes(),
        request: report.request,
        response: report.response,
    };
    (log, delta, report.completed_attempt)
}
