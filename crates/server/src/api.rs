//! The JSON API: flows, triggers, the outbound endpoint and the logs, documented by the
//! OpenAPI document generated from these handlers' types (`/api/openapi.json`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use omnibridge_engine::execution::{Engine, Progress, RunError, RunSummary, StopSignal};
use omnibridge_engine::flows::order_status::{
    ReadMode, StatusInput, StatusRunRequest, TriggerParams, check_pushed_rows,
    run_order_status_flow,
};
use omnibridge_engine::flows::{Flow, run_scheduled};
use omnibridge_store::{
    ExecutionQuery, ExecutionState, ExecutionStatus, RowLogQuery, RowStatus, Trigger,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::flows::FlowSet;
use crate::metrics::Metrics;
use crate::scheduler::{ScheduleView, SchedulerHandle};

/// Largest request body the API reads (an outbound push of many rows fits).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most items one page of a listing returns.
pub const MAX_PAGE: u32 = 1000;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine runs happen on.
    pub engine: Engine,
    /// The flows served.
    pub flows: Arc<FlowSet>,
    /// The token every `/api/v1` call must present; `None` only on loopback.
    pub api_token: Option<Arc<str>>,
    /// The running scheduler (none when the flows are served without one).
    pub scheduler: Option<SchedulerHandle>,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
    /// The stop signal of each execution running in this service, by execution id.
    pub running: Arc<Mutex<BTreeMap<String, StopSignal>>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "omnibridge",
        description = "Flows between Omnitron and an ERP: triggers, outbound rows, execution and row logs."
    ),
    modifiers(&BearerToken),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Declares the bearer token every `/api/v1` operation needs.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole router: `/healthz`, `/readyz`, `/api/openapi.json` and the `/api/v1` operations.
pub fn router(state: AppState) -> axum::Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_flows))
        .routes(routes!(trigger_flow))
        .routes(routes!(push_outbound))
        .routes(routes!(pause_flow))
        .routes(routes!(resume_flow))
        .routes(routes!(cancel_execution))
        .routes(routes!(record_trace))
        .routes(routes!(list_in_doubt))
        .routes(routes!(resolve_record))
        .routes(routes!(list_executions))
        .routes(routes!(get_execution))
        .routes(routes!(list_rows))
        .split_for_parts();
    let openapi = Arc::new(openapi);
    let api = api
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    state.metrics.render(),
                )
            }),
        )
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .merge(api)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
}

/// Refuses `/api/v1` calls without the configured token (compared in constant time).
async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(expected) = &state.api_token {
        let given = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::unauthorized());
        }
    }
    Ok(next.run(request).await)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state
        .engine
        .store
        .list_executions(&ExecutionQuery {
            limit: 1,
            ..ExecutionQuery::default()
        })
        .await?;
    Ok("ready")
}

/// A flow as the API lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowView {
    /// Its id (the name in `flow.toml`).
    pub id: String,
    /// `order`, `order_status` or `order_cancel`.
    pub kind: String,
    /// Whether the ERP pushes its rows (an outbound Order Status Flow).
    pub outbound: bool,
    /// `schedule.every`, if set.
    pub every: Option<String>,
    /// `schedule.cron`, if set.
    pub cron: Option<String>,
    /// `schedule.timezone`, if set.
    pub timezone: Option<String>,
    /// `schedule.after`, if set.
    pub after: Option<String>,
    /// What the scheduler says of it: next fire time, paused, running.
    pub schedule: Option<ScheduleView>,
    /// Its latest execution, if any.
    #[schema(value_type = Option<Object>)]
    pub last_execution: Option<Value>,
}

/// Every flow served, with its schedule and latest execution.
#[utoipa::path(get, path = "/api/v1/flows", security(("api_token" = [])),
    responses((status = 200, body = [FlowView]), (status = 401, body = ErrorBody)))]
async fn list_flows(State(state): State<AppState>) -> Result<Json<Vec<FlowView>>, ApiError> {
    let mut views = Vec::with_capacity(state.flows.len());
    for flow in state.flows.iter() {
        let last = state
            .engine
            .store
            .list_executions(&ExecutionQuery {
                flow_id: Some(flow.id().to_string()),
                limit: 1,
                ..ExecutionQuery::default()
            })
            .await?;
        let schedule = flow.schedule();
        views.push(FlowView {
            id: flow.id().to_string(),
            kind: flow.kind().as_str().to_string(),
            outbound: matches!(flow.as_ref(), Flow::OrderStatus(s) if s.is_outbound()),
            every: schedule.every.clone(),
            cron: schedule.cron.clone(),
            timezone: schedule.timezone.clone(),
            after: schedule.after.clone(),
            schedule: state.scheduler.as_ref().and_then(|s| s.view(flow.id())),
            last_execution: last.items.first().map(to_json),
        });
    }
    Ok(Json(views))
}

/// Pauses a flow's schedule: it does not fire until resumed (triggers still run it).
#[utoipa::path(post, path = "/api/v1/flows/{flow}/pause", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn pause_flow(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scheduler_of(&state, &flow_id)?
        .pause(&flow_id)
        .await
        .map_err(ApiError::conflict)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The scheduler, once `flow_id` names a served flow.
fn scheduler_of<'s>(state: &'s AppState, flow_id: &str) -> Result<&'s SchedulerHandle, ApiError> {
    flow_named(state, flow_id)?;
    state
        .scheduler
        .as_ref()
        .ok_or_else(|| ApiError::conflict("no scheduler runs in this service"))
}

/// Resumes a paused flow: its next fire is computed from now, without a burst of missed ticks.
#[utoipa::path(post, path = "/api/v1/flows/{flow}/resume", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resume_flow(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scheduler_of(&state, &flow_id)?
        .resume(&flow_id)
        .await
        .map_err(ApiError::conflict)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether to answer at once (202 with the execution id) or when the run is done.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// `true`: answer when the execution is done, with its summary (and, for outbound rows,
    /// each row's result).
    #[serde(default)]
    pub wait: bool,
}

/// The trigger page's request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// Trigger parameters (`number`, `modified_date__gt`, the flow's custom keys). Only
    /// inbound Order Status Flows take any.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The answer to a trigger or a push.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunAnswer {
    /// The execution started.
    pub execution_id: String,
    /// The execution as stored at the end (only with `wait=true`).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<Value>,
    /// Each record's result, in the order they were logged (only with `wait=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowResult>>,
}

/// One record's result.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowResult {
    /// The record's key (the order number, ...).
    pub record_key: String,
    /// `success`, `failed`, `in_doubt` or `skipped`.
    pub status: String,
    /// The flow's word for what happened (`updated`, `sent`, ...).
    pub outcome: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Starts an execution of a flow now, as its schedule would (with the trigger page's
/// parameters for an inbound Order Status Flow).
#[utoipa::path(post, path = "/api/v1/flows/{flow}/trigger", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id"), WaitQuery),
    request_body(content = TriggerBody, content_type = "application/json"),
    responses((status = 202, body = RunAnswer), (status = 200, body = RunAnswer),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn trigger_flow(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    query: Result<Query<WaitQuery>, QueryRejection>,
    body: Result<Json<TriggerBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let flow = flow_named(&state, &flow_id)?;
    let body = match body {
        Ok(Json(body)) => body,
        // An empty body is an empty parameter list.
        Err(JsonRejection::MissingJsonContentType(_)) => TriggerBody::default(),
        Err(other) => return Err(other.into()),
    };
    let trigger = Trigger::Manual {
        user: "api".to_string(),
    };
    let request = match flow.as_ref() {
        Flow::OrderStatus(status) if status.is_outbound() => {
            return Err(ApiError::bad_request(format!(
                "flow {flow_id:?} is outbound: the ERP pushes its rows to /api/v1/flows/{flow_id}/outbound"
            )));
        }
        Flow::OrderStatus(status) if !body.params.is_empty() => {
            let pairs: Vec<(String, String)> = body.params.into_iter().collect();
            let params = TriggerParams::parse(&pairs, status)
                .map_err(|problem| ApiError::bad_field("params", problem))?;
            RunKind::Triggered(params)
        }
        _ if !body.params.is_empty() => {
            return Err(ApiError::bad_field(
                "params",
                format!(
                    "only inbound Order Status Flows take trigger parameters; {flow_id:?} is an {}",
                    flow.kind().title()
                ),
            ));
        }
        _ => RunKind::Scheduled,
    };
    let started = start_run(&state, flow.clone(), trigger, request).await?;
    answer(&state, started, query.wait, false).await
}

/// What a started run does.
pub(crate) enum RunKind {
    /// As its schedule would.
    Scheduled,
    /// An inbound Order Status Flow read with the trigger page's parameters.
    Triggered(TriggerParams),
    /// Rows pushed to an outbound Order Status Flow, and the flow-state key that keeps them
    /// until an execution has finished with them.
    Pushed(Vec<Value>, Option<PendingPush>),
}

/// A pushed payload kept in the store (under `key`) until an execution finished with it.
#[derive(Clone)]
pub(crate) struct PendingPush {
    key: String,
    /// The payload as stored: what deleting the entry compares against.
    body: Bytes,
}

/// Flow-state keys of pushed payloads that no execution has finished yet.
pub(crate) const PENDING_PUSH_PREFIX: &str = "outbound.pending.";

/// The ERP pushes status rows to an outbound Order Status Flow: a JSON array of row objects.
/// A payload that is not one is refused whole (400) and nothing runs.
#[utoipa::path(post, path = "/api/v1/flows/{flow}/outbound", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The outbound flow's id"), WaitQuery),
    request_body(content = Vec<Object>, content_type = "application/json"),
    responses((status = 202, body = RunAnswer), (status = 200, body = RunAnswer),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn push_outbound(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    query: Result<Query<WaitQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let flow = flow_named(&state, &flow_id)?;
    let Flow::OrderStatus(status) = flow.as_ref() else {
        return Err(ApiError::bad_request(format!(
            "flow {flow_id:?} is an {}, not an outbound Order Status Flow",
            flow.kind().title()
        )));
    };
    if !status.is_outbound() {
        return Err(ApiError::bad_request(format!(
            "flow {flow_id:?} is inbound: it reads the ERP itself; trigger it instead"
        )));
    }
    let rows = check_pushed_rows(&body).map_err(ApiError::bad_request)?;
    // Kept in the store before anything is answered: what is accepted is never lost, even if
    // the service dies right after answering (the next start runs it).
    let key = format!("{PENDING_PUSH_PREFIX}{}", uuid::Uuid::new_v4());
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    state
        .engine
        .store
        .set_flow_state(&flow_id, &key, text)
        .await?;
    let pending = PendingPush {
        key,
        body: body.clone(),
    };
    let trigger = Trigger::Outbound {
        caller: Some("api".to_string()),
    };
    let started = start_run(
        &state,
        flow.clone(),
        trigger,
        RunKind::Pushed(rows, Some(pending.clone())),
    )
    .await;
    if started.is_err() {
        // Refused (e.g. already running): the caller is told so and sends it again.
        forget_pending(state.engine.store.as_ref(), &flow_id, &pending).await;
    }
    let started = started?;
    answer(&state, started, query.wait, true).await
}

/// A run started in the background: its execution id, and its end.
struct Started {
    execution_id: String,
    done: tokio::task::JoinHandle<Result<RunSummary, RunError>>,
}

/// Runs `kind` of `flow` in the background. The engine's run futures borrow across their
/// record loop in a way rustc cannot yet prove Send (rust-lang/rust#102211), so each run is
/// driven on a blocking-pool thread of this runtime rather than spawned as a task; its I/O
/// still runs on the runtime.
pub(crate) fn spawn_run<P: Progress + 'static>(
    engine: Engine,
    flow: Arc<Flow>,
    trigger: Trigger,
    kind: RunKind,
    progress: P,
    metrics: Arc<Metrics>,
    running: Arc<Mutex<BTreeMap<String, StopSignal>>>,
) -> tokio::task::JoinHandle<Result<RunSummary, RunError>> {
    let runtime = tokio::runtime::Handle::current();
    // Each run gets its own stop signal (cancel one execution), raised too when the service's
    // is (shutdown).
    let service_stop = engine.stop.clone();
    let own_stop = StopSignal::default();
    let engine = Engine {
        stop: own_stop.clone(),
        ..engine
    };
    let relay = {
        let own_stop = own_stop.clone();
        tokio::spawn(async move {
            service_stop.raised().await;
            own_stop.raise();
        })
    };
    let progress = Registered {
        inner: progress,
        stop: own_stop,
        running: running.clone(),
        id: Mutex::new(None),
    };
    tokio::task::spawn_blocking(move || {
        let _relay = AbortOnDrop(relay);
        let flow_id = flow.id().to_string();
        let pending = match &kind {
            RunKind::Pushed(_, pending) => pending.clone(),
            _ => None,
        };
        let store = engine.store.clone();
        metrics.started(&flow_id);
        let ran = runtime.block_on(run_kind(engine, flow, trigger, kind, &progress));
        progress.unregister();
        metrics.ended(&flow_id, ran.as_ref().ok());
        // A payload is kept until an execution finished with it (every row logged); an
        // interrupted one leaves it for the next start, where the ledger skips rows done.
        if let (Some(pending), Ok(summary)) = (pending, &ran)
            && summary.execution.state == ExecutionState::Finished
        {
            runtime.block_on(forget_pending(store.as_ref(), &flow_id, &pending));
        }
        ran
    })
}

async fn run_kind(
    engine: Engine,
    flow: Arc<Flow>,
    trigger: Trigger,
    kind: RunKind,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    {
        let input = match kind {
            RunKind::Scheduled => {
                return run_scheduled(&engine, &flow, trigger, progress).await;
            }
            RunKind::Triggered(params) => StatusInput::Read(ReadMode::Triggered(params)),
            RunKind::Pushed(rows, _) => StatusInput::Pushed(rows),
        };
        let Flow::OrderStatus(status) = flow.as_ref() else {
            return Err(RunError::Refused(format!(
                "flow {:?} is not an Order Status Flow",
                flow.id()
            )));
        };
        run_order_status_flow(
            &engine,
            status,
            StatusRunRequest { trigger, input },
            progress,
        )
        .await
    }
}

/// Spawns the run and waits until its execution exists (so the caller can answer with its
/// id), or the run ends without one (already running, refused).
async fn start_run(
    state: &AppState,
    flow: Arc<Flow>,
    trigger: Trigger,
    kind: RunKind,
) -> Result<Started, ApiError> {
    let (sender, started) = oneshot::channel();
    let progress = StartedProgress(Mutex::new(Some(sender)));
    let done = spawn_run(
        state.engine.clone(),
        flow,
        trigger,
        kind,
        progress,
        state.metrics.clone(),
        state.running.clone(),
    );
    match started.await {
        Ok(execution_id) => Ok(Started { execution_id, done }),
        // The run ended before it started an execution: say why.
        Err(_) => match done.await {
            Ok(Err(RunError::AlreadyRunning { flow, holder })) => Err(ApiError::conflict(format!(
                "flow {flow:?} is already running (held by {holder})"
            ))),
            Ok(Err(RunError::Refused(problem))) => Err(ApiError::bad_request(problem)),
            Ok(Err(RunError::Store(error))) => Err(error.into()),
            Ok(Ok(_)) => Err(ApiError::internal("the run ended without an execution")),
            Err(join) => Err(ApiError::internal(format!("the run failed: {join}"))),
        },
    }
}

/// Sends the execution id once the execution exists.
struct StartedProgress(Mutex<Option<oneshot::Sender<String>>>);

impl Progress for StartedProgress {
    fn started(&self, execution_id: &str) {
        if let Ok(mut sender) = self.0.lock()
            && let Some(sender) = sender.take()
        {
            let _ = sender.send(execution_id.to_string());
        }
    }
}

async fn answer(
    state: &AppState,
    started: Started,
    wait: bool,
    with_rows: bool,
) -> Result<Response, ApiError> {
    if !wait {
        let body = RunAnswer {
            execution_id: started.execution_id,
            execution: None,
            rows: None,
        };
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    let summary = match started.done.await {
        Ok(Ok(summary)) => summary,
        Ok(Err(error)) => return Err(ApiError::internal(error.to_string())),
        Err(join) => return Err(ApiError::internal(format!("the run failed: {join}"))),
    };
    let rows = if with_rows {
        let page = state
            .engine
            .store
            .list_row_logs(&RowLogQuery {
                execution_id: Some(summary.execution.id.clone()),
                limit: MAX_PAGE,
                ..RowLogQuery::default()
            })
            .await?;
        Some(
            page.items
                .into_iter()
                .rev()
                .map(|row| RowResult {
                    record_key: row.record_key,
                    status: row.status.as_str().to_string(),
                    outcome: row.outcome,
                    error: row.error,
                })
                .collect(),
        )
    } else {
        None
    };
    let body = RunAnswer {
        execution_id: summary.execution.id.clone(),
        execution: Some(to_json(&summary.execution)),
        rows,
    };
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Deletes a pending payload's entry (compared against the payload it holds, which only this
/// service wrote under its unique key).
pub(crate) async fn forget_pending(
    store: &dyn omnibridge_store::Store,
    flow_id: &str,
    pending: &PendingPush,
) {
    let Ok(stored) = std::str::from_utf8(&pending.body) else {
        return;
    };
    let key = &pending.key;
    if let Err(error) = store
        .compare_and_set_flow_state(flow_id, key, Some(stored), None)
        .await
    {
        tracing::warn!(flow = %flow_id, "cannot forget pending push {key}: {error}");
    }
}

/// Runs, one after another, the pushed payloads of `flow` that no execution finished (the
/// service died after accepting them).
pub(crate) async fn recover_pushes(state: AppState, flow: Arc<Flow>) {
    let pending = match state.engine.store.list_flow_state(flow.id()).await {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(flow = %flow.id(), "cannot list pending pushes: {error}");
            return;
        }
    };
    for (key, body) in pending {
        if !key.starts_with(PENDING_PUSH_PREFIX) {
            continue;
        }
        let rows = match check_pushed_rows(body.as_bytes()) {
            Ok(rows) => rows,
            Err(problem) => {
                tracing::warn!(flow = %flow.id(), "a pending push does not parse, dropped: {problem}");
                let pending = PendingPush {
                    key,
                    body: Bytes::from(body),
                };
                forget_pending(state.engine.store.as_ref(), flow.id(), &pending).await;
                continue;
            }
        };
        tracing::info!(flow = %flow.id(), rows = rows.len(), "running a push accepted before a restart");
        let run = spawn_run(
            state.engine.clone(),
            flow.clone(),
            Trigger::Outbound {
                caller: Some("recovered".to_string()),
            },
            RunKind::Pushed(
                rows,
                Some(PendingPush {
                    key,
                    body: Bytes::from(body),
                }),
            ),
            omnibridge_engine::execution::NoProgress,
            state.metrics.clone(),
            state.running.clone(),
        );
        if let Ok(Err(error)) = run.await {
            tracing::warn!(flow = %flow.id(), "a recovered push did not run: {error}");
        }
    }
}

fn flow_named(state: &AppState, id: &str) -> Result<Arc<Flow>, ApiError> {
    state
        .flows
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no flow {id:?}")))
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Filters and page of the executions listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExecutionsQuery {
    /// Only this flow's.
    pub flow: Option<String>,
    /// Only these statuses, comma-separated (`success,failed,partial,empty,in_progress`).
    pub status: Option<String>,
    /// Only this state (`running`, `finished`, `interrupted`).
    pub state: Option<String>,
    /// Page size (1..=1000, default 50).
    pub limit: Option<u32>,
    /// How many to skip.
    pub offset: Option<u64>,
}

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    /// How many match in all.
    pub total: u64,
    /// This page, newest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_field(
            "limit",
            format!("limit {n} is not between 1 and {MAX_PAGE}"),
        )),
    }
}

/// Executions, newest first.
#[utoipa::path(get, path = "/api/v1/executions", security(("api_token" = [])),
    params(ExecutionsQuery),
    responses((status = 200, body = PageView), (status = 400, body = ErrorBody)))]
async fn list_executions(
    State(state): State<AppState>,
    query: Result<Query<ExecutionsQuery>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
    let Query(query) = query?;
    let mut statuses = Vec::new();
    for name in query.status.iter().flat_map(|s| s.split(',')) {
        statuses.push(ExecutionStatus::parse(name.trim()).ok_or_else(|| {
            ApiError::bad_field("status", format!("{name:?} is not an execution status"))
        })?);
    }
    let execution_state = match &query.state {
        None => None,
        Some(name) => Some(ExecutionState::parse(name).ok_or_else(|| {
            ApiError::bad_field("state", format!("{name:?} is not an execution state"))
        })?),
    };
    if let Some(flow) = &query.flow
        && state.flows.get(flow).is_none()
    {
        return Err(ApiError::not_found(format!("no flow {flow:?}")));
    }
    let page = state
        .engine
        .store
        .list_executions(&ExecutionQuery {
            flow_id: query.flow,
            statuses,
            state: execution_state,
            limit: page_size(query.limit)?,
            offset: query.offset.unwrap_or(0),
        })
        .await?;
    Ok(Json(PageView {
        total: page.total,
        items: page.items.iter().map(to_json).collect(),
    }))
}

/// One execution.
#[utoipa::path(get, path = "/api/v1/executions/{id}", security(("api_token" = [])),
    params(("id" = String, Path, description = "The execution id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let execution = state
        .engine
        .store
        .get_execution(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no execution {id:?}")))?;
    Ok(Json(to_json(&execution)))
}

/// Filters and page of an execution's row logs.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowsQuery {
    /// Only these statuses, comma-separated (`success,failed,in_doubt,skipped`).
    pub status: Option<String>,
    /// Only this record (an order number, `plan:<pk>`...).
    pub record_key: Option<String>,
    /// Page size (1..=1000, default 50).
    pub limit: Option<u32>,
    /// How many to skip.
    pub offset: Option<u64>,
}

/// The row logs of one execution, newest first.
#[utoipa::path(get, path = "/api/v1/executions/{id}/rows", security(("api_token" = [])),
    params(("id" = String, Path, description = "The execution id"), RowsQuery),
    responses((status = 200, body = PageView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn list_rows(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<RowsQuery>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
    let Query(query) = query?;
    let mut statuses = Vec::new();
    for name in query.status.iter().flat_map(|s| s.split(',')) {
        statuses.push(RowStatus::parse(name.trim()).ok_or_else(|| {
            ApiError::bad_field("status", format!("{name:?} is not a row status"))
        })?);
    }
    if state.engine.store.get_execution(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no execution {id:?}")));
    }
    rows_page(
        &state,
        RowLogQuery {
            execution_id: Some(id),
            record_key: query.record_key,
            statuses,
            limit: page_size(query.limit)?,
            offset: query.offset.unwrap_or(0),
            ..RowLogQuery::default()
        },
    )
    .await
}

/// One page of row logs.
async fn rows_page(state: &AppState, query: RowLogQuery) -> Result<Json<PageView>, ApiError> {
    let page = state.engine.store.list_row_logs(&query).await?;
    Ok(Json(PageView {
        total: page.total,
        items: page.items.iter().map(to_json).collect(),
    }))
}

/// Cancels a running execution: it takes no new record, the records in flight finish (never
/// half-written) and it ends `interrupted`; what it did not take is left for the next run.
#[utoipa::path(post, path = "/api/v1/executions/{id}/cancel", security(("api_token" = [])),
    params(("id" = String, Path, description = "The execution id")),
    responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let stop = state
        .running
        .lock()
        .ok()
        .and_then(|running| running.get(&id).cloned());
    match stop {
        Some(stop) => {
            stop.raise();
            Ok(StatusCode::ACCEPTED)
        }
        None => match state.engine.store.get_execution(&id).await? {
            None => Err(ApiError::not_found(format!("no execution {id:?}"))),
            Some(execution) => Err(ApiError::conflict(format!(
                "execution {id:?} is {} here, not running",
                execution.state.as_str()
            ))),
        },
    }
}

/// One record's row logs across the flow's executions, newest first (its trace).
#[utoipa::path(get, path = "/api/v1/flows/{flow}/records/{key}", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id"),
        ("key" = String, Path, description = "The record key (order number, plan:<pk>...)"),
        RowsQuery),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody)))]
async fn record_trace(
    State(state): State<AppState>,
    Path((flow_id, key)): Path<(String, String)>,
    query: Result<Query<RowsQuery>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
    let Query(query) = query?;
    flow_named(&state, &flow_id)?;
    rows_page(
        &state,
        RowLogQuery {
            flow_id: Some(flow_id),
            record_key: Some(key),
            limit: page_size(query.limit)?,
            offset: query.offset.unwrap_or(0),
            ..RowLogQuery::default()
        },
    )
    .await
}

/// The flow's records held in doubt: their write may or may not have reached the ERP and no
/// Query URL could tell; a person decides with the resolve operation.
#[utoipa::path(get, path = "/api/v1/flows/{flow}/in-doubt", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody)))]
async fn list_in_doubt(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    flow_named(&state, &flow_id)?;
    let mut query = omnibridge_store::LedgerQuery::in_doubt(flow_id);
    query.limit = MAX_PAGE;
    let entries = state.engine.store.list_ledger(&query).await?;
    Ok(Json(entries.iter().map(to_json).collect()))
}

/// How a person settles a record held in doubt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `resend` (it did not reach the ERP: send it again), `written` (the ERP has it: finish
    /// the Omnitron side without sending) or `done` (leave it, never send it again).
    pub action: String,
    /// Who decided and why, kept with the entry.
    #[serde(default)]
    pub note: Option<String>,
}

/// Settles a record held in doubt.
#[utoipa::path(post, path = "/api/v1/flows/{flow}/records/{key}/resolve", security(("api_token" = [])),
    params(("flow" = String, Path, description = "The flow's id"),
        ("key" = String, Path, description = "The record key")),
    request_body(content = ResolveBody, content_type = "application/json"),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resolve_record(
    State(state): State<AppState>,
    Path((flow_id, key)): Path<(String, String)>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    flow_named(&state, &flow_id)?;
    let by = "api".to_string();
    let resolution = match body.action.as_str() {
        "resend" => omnibridge_store::Resolution::Resend {
            by,
            note: body.note,
        },
        "done" => omnibridge_store::Resolution::MarkDone {
            by,
            note: body.note,
        },
        "written" => omnibridge_store::Resolution::AlreadyWritten {
            execution_id: format!("manual:{by}"),
            status_code: 200,
            reference: None,
            response: None,
        },
        other => {
            return Err(ApiError::bad_field(
                "action",
                format!("{other:?} is not one of resend, written, done"),
            ));
        }
    };
    match state.engine.store.resolve(&flow_id, &key, resolution).await {
        Ok(entry) => Ok(Json(to_json(&entry))),
        Err(conflict @ omnibridge_store::StoreError::LedgerConflict { .. }) => Err(
            ApiError::conflict(format!("{key:?} in flow {flow_id:?}: {conflict}")),
        ),
        Err(other) => Err(other.into()),
    }
}

/// Registers the run's stop signal under its execution id while it runs.
struct Registered<P> {
    inner: P,
    stop: StopSignal,
    running: Arc<Mutex<BTreeMap<String, StopSignal>>>,
    id: Mutex<Option<String>>,
}

impl<P: Progress> Progress for Registered<P> {
    fn started(&self, execution_id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(execution_id.to_string(), self.stop.clone());
        }
        if let Ok(mut id) = self.id.lock() {
            *id = Some(execution_id.to_string());
        }
        self.inner.started(execution_id);
    }

    fn read(&self, count: usize) {
        self.inner.read(count);
    }

    fn record(&self, report: &omnibridge_engine::execution::RecordReport) {
        self.inner.record(report);
    }
}

impl<P> Registered<P> {
    /// Forgets the run's stop signal once it ended.
    fn unregister(&self) {
        let id = self.id.lock().ok().and_then(|mut id| id.take());
        if let (Some(id), Ok(mut running)) = (id, self.running.lock()) {
            running.remove(&id);
        }
    }
}

/// Aborts a helper task when the run it serves ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
