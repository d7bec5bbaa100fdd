//! One execution of any flow: the flow's lease and its heartbeat, the execution log, the bounded
//! record loop, the row-log writer and progress.
//!
//! The runtime knows no flow. A flow hands it a [`Driver`]: what it reads (records fed into a
//! bounded channel, so memory stays flat however much there is to read) and how it processes
//! one record (into a [`RecordReport`]). The runtime runs `run.concurrency` records at once,
//! writes one row log per record beside them (off the records' slots: the ledger already holds
//! what a crash must not lose) and adds each record to the execution's counts.
//!
//! ```text
//! ExecutionScope::begin   lease (taken over from a dead local engine), heartbeat, execution row
//!   └ run_records(driver) reader ─▶ channel ─▶ N × driver.process ─▶ row-log writer
//! ExecutionScope::finish  execution status and summary, lease released
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use omnibridge_script::ScriptPool;
use omnibridge_store::{
    Clock, Completed, Completion, Counts, Execution, ExecutionStatus, FinishExecution,
    FinishedRecord, LeaseOutcome, NewExecution, NewRowLog, RowLog, RowLogQuery, RowStatus, Step,
    Store, StoreError, SystemClock, Trigger, WriteResult,
};
use serde_json::Value;

use crate::attributes::Attributes;

/// The engine's shared services: what every execution of every flow uses.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Where executions, row logs, the ledger and flow state live.
    pub store: Arc<dyn Store>,
    /// The Python workers.
    pub scripts: ScriptPool,
    /// This process's name in leases (unique per running engine, see [`node_name`]).
    pub node: String,
    /// Where "now" comes from (the read window, `last.request`); tests move it.
    pub clock: Arc<dyn Clock>,
    /// Raised to stop taking records (Ctrl-C, shutdown): running executions let the records
    /// in flight finish and end `interrupted`.
    pub stop: StopSignal,
}

/// A one-way "stop taking records" flag shared by every clone of an [`Engine`].
#[derive(Clone, Debug)]
pub struct StopSignal(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl StopSignal {
    /// Raises the signal; it stays raised.
    pub fn raise(&self) {
        self.0.send_replace(true);
    }

    /// Whether it was raised.
    pub fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the signal is raised (at once if it already is).
    pub async fn raised(&self) {
        let mut watch = self.0.subscribe();
        // The sender lives in `self`, so waiting cannot fail while we hold it.
        let _ = watch.wait_for(|raised| *raised).await;
    }
}

impl Engine {
    /// An engine on this store and script pool, named [`node_name`], on the system clock.
    pub fn new(store: Arc<dyn Store>, scripts: ScriptPool) -> Self {
        Self {
            store,
            scripts,
            node: node_name(),
            clock: Arc::new(SystemClock),
            stop: StopSignal::default(),
        }
    }

    /// The same engine with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Receives progress while an execution runs (a progress bar, a log line per record).
pub trait Progress: Send + Sync {
    /// The execution started.
    fn started(&self, _execution_id: &str) {}
    /// Records were read from the source.
    fn read(&self, _count: usize) {}
    /// A record finished.
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
    /// The request does not fit the flow (e.g. a push to an inbound flow); nothing ran.
    #[error("{0}")]
    Refused(String),
    /// The store failed before the execution could be recorded.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// The ledger entry to mark completed once a record's row log is written, in the same write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCompletion {
    /// The record's ledger key (the order number for the Order Flow).
    pub record_key: String,
    /// How it completes.
    pub how: CompletionKind,
}

/// How a record's ledger entry completes (see `omnibridge_store::Completed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionKind {
    /// Its write (this attempt) was accepted and recorded so.
    Accepted {
        /// The attempt.
        attempt: u32,
    },
    /// An idempotent write the target accepted, recorded only now.
    Idempotent {
        /// The target's answer.
        result: WriteResult,
    },
}

/// What happened to one record: becomes its row log and its share of the counts.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// The record's business key (the order number).
    pub key: String,
    /// The record's id in its source (the order pk, a status row's ledger key).
    pub id: Option<String>,
    /// How it ended.
    pub status: RowStatus,
    /// The flow's own label for how it ended (`sent`, `already_in_erp`, `updated`, ...).
    pub outcome: Option<&'static str>,
    /// The last step reached.
    pub step: Step,
    /// Why it failed, or what a person should know.
    pub error: Option<String>,
    /// The record's attributes at the end (only `log.*` ones are kept in the row log).
    pub attributes: Attributes,
    /// The body written (or the request made), for the row log.
    pub request: Option<String>,
    /// The answer, for the row log.
    pub response: Option<String>,
    /// The payload a replay starts from, kept whole with the row log.
    pub payload: Option<String>,
    /// The ledger entry to mark completed. Marking it is left to the row log writer, off the
    /// record's concurrency slot, in the same commit as the row log.
    pub completion: Option<LedgerCompletion>,
}

impl RecordReport {
    /// A report that has reached `step` and, until told otherwise, failed.
    pub fn new(key: impl Into<String>, attributes: Attributes, step: Step) -> Self {
        Self {
            key: key.into(),
            id: None,
            status: RowStatus::Failed,
            outcome: None,
            step,
            error: None,
            attributes,
            request: None,
            response: None,
            payload: None,
            completion: None,
        }
    }

    /// Records how the record ended: its status, and the stop's message when it stopped early.
    pub fn conclude(&mut self, result: Result<Done, Stop>) {
        match result {
            Ok(done) => {
                self.status = done.status;
                self.outcome = Some(done.outcome);
            }
            Err(stop) => {
                self.status = stop.status;
                self.error = stop.error;
                if stop.outcome.is_some() {
                    self.outcome = stop.outcome;
                }
            }
        }
    }
}

/// A record that went to the end: its status and the flow's label for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// Success, or skipped.
    pub status: RowStatus,
    /// The flow's outcome label.
    pub outcome: &'static str,
}

impl Done {
    /// A success labelled `outcome`.
    pub fn success(outcome: &'static str) -> Self {
        Self {
            status: RowStatus::Success,
            outcome,
        }
    }
}

/// A record stopped before the end: how, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Failed, in doubt or skipped.
    pub status: RowStatus,
    /// The message for the row log.
    pub error: Option<String>,
    /// The flow's outcome label, when the stop has one.
    pub outcome: Option<&'static str>,
}

impl Stop {
    /// The record failed; the next run or a replay tries again.
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            status: RowStatus::Failed,
            error: Some(error.into()),
            outcome: None,
        }
    }

    /// A write may or may not have landed: held for a check or a person.
    pub fn in_doubt(error: impl Into<String>) -> Self {
        Self {
            status: RowStatus::InDoubt,
            error: Some(error.into()),
            outcome: None,
        }
    }

    /// Not processed, with the reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self {
            status: RowStatus::Skipped,
            error: Some(reason.into()),
            outcome: None,
        }
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::failed(format!("the store failed: {error}"))
    }
}

/// What a flow does inside an execution: read records, process one.
pub trait Driver: Sync {
    /// What the reader hands to the record workers.
    type Record: Send;

    /// Reads every record into `feed` and returns the read's summary (pages read, ...). `Err`
    /// is the execution's error: the read did not complete.
    fn read(
        &self,
        feed: Feed<'_, Self::Record>,
    ) -> impl Future<Output = Result<Value, String>> + Send;

    /// Processes one record to its end.
    fn process(&self, record: Self::Record) -> impl Future<Output = RecordReport> + Send;

    /// Most row logs written in one store write. One (the default) suits records that write
    /// the ledger themselves while they run (an intent before each write): a big batch would
    /// queue ahead of those writes and slow every record down. Records that never wait on a
    /// store write are best served by large batches.
    fn row_log_batch(&self) -> usize {
        1
    }
}

/// Where a driver's reader puts records: a bounded channel to the record workers.
pub struct Feed<'a, R> {
    sender: tokio::sync::mpsc::Sender<R>,
    progress: &'a dyn Progress,
}

impl<R: Send> Feed<'_, R> {
    /// Hands one record to the workers, waiting while they are busy. `false` when they have
    /// stopped (nothing more will be processed).
    pub async fn send(&self, record: R) -> bool {
        self.sender.send(record).await.is_ok()
    }

    /// Tells progress that `count` records were read.
    pub fn read(&self, count: usize) {
        self.progress.read(count);
    }
}

/// How long a flow's lease lasts without a heartbeat.
const LEASE_TTL: Duration = Duration::from_secs(60);
/// Single row logs written at once (the store still shares one commit among them).
const ROW_LOG_WRITERS: usize = 8;
/// Batches of row logs written at once.
const BATCH_WRITERS: usize = 2;
/// Most row logs in one batch, whatever a driver asks.
const MAX_ROW_LOG_BATCH: usize = 256;

/// Who an execution is for and why it runs.
#[derive(Debug, Clone)]
pub struct ExecutionSpec {
    /// The flow's id in the store.
    pub flow_id: String,
    /// The flow's name when it ran.
    pub flow_name: String,
    /// Who or what started it.
    pub trigger: Trigger,
    /// Secret values of the flow (passwords, fixed tokens), redacted from everything stored.
    pub secrets: Vec<String>,
}

/// A running execution: holds the flow's lease (with a heartbeat) and its execution log.
/// End it with [`ExecutionScope::finish`]; dropping it stops the heartbeat and leaves the lease
/// to expire.
pub struct ExecutionScope<'e> {
    engine: &'e Engine,
    progress: &'e dyn Progress,
    spec: ExecutionSpec,
    execution_id: String,
    lease_key: String,
    heartbeat: AbortOnDrop,
    started: Instant,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<'e> ExecutionScope<'e> {
    /// Takes the flow's lease (or reports who holds it), marks executions of dead processes
    /// interrupted, and starts the execution log.
    pub async fn begin(
        engine: &'e Engine,
        spec: ExecutionSpec,
        progress: &'e dyn Progress,
    ) -> Result<Self, RunError> {
        let started = Instant::now();
        let store = engine.store.as_ref();
        let lease_key = format!("flow:{}", spec.flow_id);
        let mut outcome = store
            .acquire_lease(&lease_key, &engine.node, LEASE_TTL)
            .await?;
        if let LeaseOutcome::Held { by } = &outcome
            && local_process_is_gone(&by.owner)
        {
            // The holder was an engine on this machine that died (killed, crashed): its lease
            // would only expire after the TTL, so take it over now.
            tracing::warn!(flow = %spec.flow_id, holder = %by.owner, "taking over the lease of a dead local engine");
            store.release_lease(&lease_key, &by.owner).await?;
            outcome = store
                .acquire_lease(&lease_key, &engine.node, LEASE_TTL)
                .await?;
        }
        if let LeaseOutcome::Held { by } = outcome {
            return Err(RunError::AlreadyRunning {
                flow: spec.flow_id.clone(),
                holder: by.owner,
            });
        }
        let heartbeat = AbortOnDrop(spawn_heartbeat(
            engine.store.clone(),
            lease_key.clone(),
            engine.node.clone(),
        ));
        let created = async {
            // Executions of dead processes (whose leases expired) are marked interrupted.
            store.interrupt_orphaned_executions().await?;
            store
                .create_execution(NewExecution {
                    flow_id: spec.flow_id.clone(),
                    flow_name: spec.flow_name.clone(),
                    trigger: spec.trigger.clone(),
                    owner: engine.node.clone(),
                })
                .await
        }
        .await;
        let execution = match created {
            Ok(execution) => execution,
            Err(error) => {
                release(engine, &lease_key, &spec.flow_id).await;
                return Err(error.into());
            }
        };
        for secret in &spec.secrets {
            store.redactor().secrets().add(secret.clone());
        }
        progress.started(&execution.id);
        Ok(Self {
            engine,
            progress,
            spec,
            execution_id: execution.id,
            lease_key,
            heartbeat,
            started,
        })
    }

    /// The execution's id.
    pub fn id(&self) -> &str {
        &self.execution_id
    }

    /// The engine.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// The flow's id.
    pub fn flow_id(&self) -> &str {
        &self.spec.flow_id
    }

    /// Progress.
    pub fn progress(&self) -> &'e dyn Progress {
        self.progress
    }

    /// The execution's base attributes: `flow.id`, `flow.name`, `execution.id`.
    pub fn base_attributes(&self) -> Attributes {
        let mut base = Attributes::new();
        base.set("flow.id", self.spec.flow_id.clone());
        base.set("flow.name", self.spec.flow_name.clone());
        base.set("execution.id", self.execution_id.clone());
        base
    }

    /// Runs `driver`: its reader feeds a channel of `concurrency * 2` records, `concurrency`
    /// records are processed at once, and each finished record's row log and counts are
    /// written beside them. Returns the reader's summary, or its error once every record it
    /// read has been processed and logged.
    pub async fn run_records<D: Driver>(
        &self,
        driver: &D,
        concurrency: usize,
    ) -> Result<Value, String> {
        let concurrency = concurrency.max(1);
        let store = self.engine.store.as_ref();
        let execution_id = self.execution_id.as_str();
        let flow_id = self.spec.flow_id.as_str();
        let progress = self.progress;
        let (sender, receiver) = tokio::sync::mpsc::channel::<D::Record>(concurrency * 2);
        let (log_sender, log_receiver) = tokio::sync::mpsc::channel::<RowLogJob>(concurrency * 4);
        let stop = &self.engine.stop;
        let reader = async move {
            tokio::select! {
                read = driver.read(Feed { sender, progress }) => read,
                // Reading stops with the signal; records already taken finish.
                () = stop.raised() => Ok(Value::Null),
            }
        };
        let store_failure = &StoreFailure::default();
        let records = async move {
            let log_sender = log_sender;
            futures::stream::unfold(receiver, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            // A store that refused a row log write will refuse the next records' ledger
            // writes too: stop taking records (the reader's channel closes and it stops).
            .take_while(|_| std::future::ready(!store_failure.happened()))
            .take_until(stop.raised())
            .for_each_concurrent(concurrency, |record| {
                let log_sender = &log_sender;
                async move {
                    let report = driver.process(record).await;
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
        // What is ready goes to the store in batches of up to `batch` (one write, counts summed):
        // many small writes at once, or a few large ones.
        let batch = driver.row_log_batch().clamp(1, MAX_ROW_LOG_BATCH);
        let writers = if batch == 1 {
            ROW_LOG_WRITERS
        } else {
            BATCH_WRITERS
        };
        let writer = futures::stream::unfold(log_receiver, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .ready_chunks(batch)
        .for_each_concurrent(writers, |jobs| async move {
            let mut logs = Vec::with_capacity(jobs.len());
            let mut completions = Vec::with_capacity(jobs.len());
            for job in jobs {
                logs.push((job.log, job.delta));
                completions.push(job.completion);
            }
            let keys: Vec<String> = logs.iter().map(|(log, _)| log.record_key.clone()).collect();
            let records = logs
                .into_iter()
                .zip(&completions)
                .map(|((log, delta), completion)| FinishedRecord {
                    log,
                    delta,
                    completed: completion.as_ref().map(|c| Completion {
                        flow_id,
                        record_key: &c.record_key,
                        how: match &c.how {
                            CompletionKind::Accepted { attempt } => {
                                Completed::Accepted { attempt: *attempt }
                            }
                            CompletionKind::Idempotent { result } => {
                                Completed::Idempotent { result }
                            }
                        },
                    }),
                })
                .collect();
            match store.finish_records(records).await {
                Ok(refusals) => {
                    for (key, refused) in keys.iter().zip(refusals) {
                        if let Some(error) = refused {
                            tracing::error!(record = %key, "marking the ledger entry completed failed: {error}");
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(records = keys.len(), "writing row logs and counts failed: {error}");
                    store_failure.record(&error.to_string(), keys.len());
                }
            }
        });
        let (read, (), ()) = tokio::join!(reader, records, writer);
        match store_failure.take() {
            // The run did not record what it did: it failed, whatever the reader says.
            Some((cause, unlogged)) => Err(format!(
                "the store refused a write ({cause}): {unlogged} processed record(s) have no \
                 row log and the run stopped taking records; free the space or fix the store \
                 and run again: the ledger resumes every record that was started"
            )),
            None => read,
        }
    }

    /// Ends the execution: `Ok(summary)` derives its status from the counts; `Err(message)`
    /// marks it failed with that message (the run could not do everything it should).
    ///
    /// When the engine's [`StopSignal`] was raised, the execution ends `interrupted` instead
    /// (its status derived from what was counted): the records it did not take are left for
    /// the next run.
    pub async fn finish(self, outcome: Result<Value, String>) -> Result<RunSummary, RunError> {
        let store = self.engine.store.as_ref();
        let ended = if self.engine.stop.is_raised() {
            let reason = match &outcome {
                Ok(_) => "interrupted: stopped taking records on a signal; the records in \
                          flight finished, the rest are left for the next run"
                    .to_string(),
                Err(error) => format!("interrupted on a signal; {error}"),
            };
            store.interrupt_execution(&self.execution_id, &reason).await
        } else {
            let finish = match outcome {
                Ok(summary) => FinishExecution {
                    status: None,
                    error: None,
                    summary: Some(summary),
                },
                Err(error) => FinishExecution {
                    status: Some(ExecutionStatus::Failed),
                    error: Some(error),
                    summary: None,
                },
            };
            store.finish_execution(&self.execution_id, finish).await
        };
        drop(self.heartbeat);
        release(self.engine, &self.lease_key, &self.spec.flow_id).await;
        Ok(RunSummary {
            execution: ended?,
            duration: self.started.elapsed(),
        })
    }
}

/// The first store write a run's row-log writer saw fail, and how many row logs went
/// unwritten in all.
#[derive(Default)]
struct StoreFailure {
    happened: std::sync::atomic::AtomicBool,
    first: std::sync::Mutex<Option<(String, usize)>>,
}

impl StoreFailure {
    fn happened(&self) -> bool {
        self.happened.load(std::sync::atomic::Ordering::Acquire)
    }

    fn record(&self, cause: &str, unlogged: usize) {
        if let Ok(mut first) = self.first.lock() {
            match first.as_mut() {
                Some((_, count)) => *count += unlogged,
                None => *first = Some((cause.to_string(), unlogged)),
            }
        }
        self.happened
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn take(&self) -> Option<(String, usize)> {
        if !self.happened() {
            return None;
        }
        match self.first.lock() {
            Ok(mut first) => first.take(),
            Err(_) => Some(("unknown".to_string(), 0)),
        }
    }
}

/// Most row logs one replay takes.
pub const MAX_REPLAYED_RECORDS: u32 = 1000;

/// What a replay starts from: the failed and in-doubt row logs of `execution_id` (or of
/// `record_key` across the flow's executions), oldest first, each with the payload kept with it.
/// A row log without a payload cannot be replayed; it is left out with a warning.
pub async fn stored_payloads(
    store: &dyn Store,
    flow_id: &str,
    execution_id: Option<&str>,
    record_key: Option<&str>,
) -> Result<Vec<(RowLog, String)>, String> {
    let page = store
        .list_row_logs(&RowLogQuery {
            execution_id: execution_id.map(str::to_string),
            flow_id: Some(flow_id.to_string()),
            record_key: record_key.map(str::to_string),
            statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
            limit: MAX_REPLAYED_RECORDS,
            offset: 0,
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut stored = Vec::with_capacity(page.items.len());
    // The store lists newest first.
    for log in page.items.into_iter().rev() {
        if !log.has_payload {
            tracing::warn!(record = %log.record_key, "a failed record has no stored payload; it cannot be replayed");
            continue;
        }
        if let Some(text) = store
            .row_log_payload(log.id)
            .await
            .map_err(|e| e.to_string())?
        {
            stored.push((log, text));
        }
    }
    Ok(stored)
}

async fn release(engine: &Engine, lease_key: &str, flow_id: &str) {
    if let Err(error) = engine.store.release_lease(lease_key, &engine.node).await {
        tracing::warn!(flow = %flow_id, "releasing the flow's lease failed: {error}");
    }
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

/// A finished record on its way to the store.
struct RowLogJob {
    log: NewRowLog,
    delta: Counts,
    completion: Option<LedgerCompletion>,
}

/// The row log of a finished record and what it adds to the execution's counts.
fn row_log(execution_id: &str, report: RecordReport) -> RowLogJob {
    let mut delta = Counts {
        read: 1,
        ..Counts::default()
    };
    match report.status {
        RowStatus::Success => delta.succeeded = 1,
        RowStatus::Failed => delta.failed = 1,
        RowStatus::InDoubt => delta.in_doubt = 1,
        RowStatus::Skipped => delta.skipped = 1,
    }
    if let Some(outcome) = report.outcome {
        delta.outcomes.insert(outcome.to_string(), 1);
    }
    let log = NewRowLog {
        execution_id: execution_id.to_string(),
        record_key: report.key,
        record_id: report.id,
        status: report.status,
        outcome: report.outcome.map(str::to_string),
        step: report.step,
        error: report.error,
        attributes: report.attributes.log_attributes(),
        request: report.request,
        response: report.response,
        payload: report.payload,
    };
    RowLogJob {
        log,
        delta,
        completion: report.completion,
    }
}
