//! The service's scheduler loop: fires each flow on its schedule with [`omnibridge_schedule`]'s
//! decisions (no overlap, one catch-up after downtime, `after` chains, pause/resume), runs it,
//! and publishes each flow's next fire time for the API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use omnibridge_engine::execution::{Engine, NoProgress, StopSignal};
use omnibridge_engine::flows::Flow;
use omnibridge_schedule::{Decision, FlowId, Schedule, Scheduler};
use omnibridge_store::{ExecutionQuery, ExecutionStatus, Trigger};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::ToSchema;

use crate::api::{RunKind, spawn_run};
use crate::flows::FlowSet;
use crate::metrics::Metrics;

/// The longest the loop sleeps before looking at the clock again (a clock that jumps).
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// A flow's schedule as the API shows it.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ScheduleView {
    /// When it fires next (none: no timed schedule, or paused).
    pub next_fire: Option<DateTime<Utc>>,
    /// Whether a person paused it.
    pub paused: bool,
    /// Whether the scheduler is running it now.
    pub running: bool,
}

enum Command {
    Pause(String, oneshot::Sender<Result<(), String>>),
    Resume(String, oneshot::Sender<Result<(), String>>),
}

/// Talks to the running scheduler.
#[derive(Clone)]
pub struct SchedulerHandle {
    commands: mpsc::Sender<Command>,
    view: Arc<Mutex<BTreeMap<String, ScheduleView>>>,
}

impl SchedulerHandle {
    /// The schedule of `flow` as last published.
    pub fn view(&self, flow: &str) -> Option<ScheduleView> {
        self.view.lock().ok()?.get(flow).cloned()
    }

    /// Pauses `flow`: it does not fire until resumed.
    pub async fn pause(&self, flow: &str) -> Result<(), String> {
        self.ask(|reply| Command::Pause(flow.to_string(), reply))
            .await
    }

    /// Resumes `flow`: its next fire is computed from now (no burst of missed ticks).
    pub async fn resume(&self, flow: &str) -> Result<(), String> {
        self.ask(|reply| Command::Resume(flow.to_string(), reply))
            .await
    }

    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Command,
    ) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| "the scheduler has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the scheduler has stopped".to_string())?
    }
}

/// Builds the scheduler for `flows` (outbound flows have none: the ERP pushes them) and spawns
/// its loop, which ends when the engine's stop signal is raised. Refused, naming the flows,
/// when an `after` chain is a cycle or names a flow that is not served.
pub async fn spawn_scheduler(
    engine: Engine,
    flows: Arc<FlowSet>,
    metrics: Arc<Metrics>,
    running: Arc<Mutex<BTreeMap<String, StopSignal>>>,
) -> Result<SchedulerHandle, String> {
    let mut entries = Vec::with_capacity(flows.len());
    for flow in flows.iter() {
        let spec = flow.schedule().spec();
        let outbound = matches!(flow.as_ref(), Flow::OrderStatus(s) if s.is_outbound());
        let schedule = if spec.is_empty() || outbound {
            None
        } else {
            Some(Schedule::parse(&spec).map_err(|e| format!("flow {:?}: {e}", flow.id()))?)
        };
        entries.push((FlowId::new(flow.id()), schedule));
    }
    let mut scheduler = Scheduler::new(entries).map_err(|e| e.to_string())?;
    let mut last_fires = Vec::new();
    for flow in flows.iter() {
        if let Some(at) = last_scheduled_start(&engine, flow.id()).await {
            last_fires.push((FlowId::new(flow.id()), at));
        }
    }
    let (commands, mut command_rx) = mpsc::channel(16);
    let view = Arc::new(Mutex::new(BTreeMap::new()));
    let handle = SchedulerHandle {
        commands,
        view: view.clone(),
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(FlowId, bool)>();
    let now = engine.clock.now();
    let first = scheduler.start(now, last_fires);
    tokio::spawn(async move {
        act(
            &engine,
            &flows,
            &metrics,
            &running,
            &mut scheduler,
            first,
            &done_tx,
        );
        loop {
            publish(&scheduler, &view, &metrics);
            let now = engine.clock.now();
            let sleep = scheduler
                .sleep_until()
                .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                () = tokio::time::sleep(sleep) => {
                    let decisions = scheduler.due(engine.clock.now());
                    act(&engine, &flows, &metrics, &running, &mut scheduler, decisions, &done_tx);
                }
                Some((flow, succeeded)) = done_rx.recv() => {
                    match scheduler.finished(&flow, succeeded, engine.clock.now()) {
                        Ok(next) => act(&engine, &flows, &metrics, &running, &mut scheduler, next, &done_tx),
                        Err(error) => tracing::warn!("scheduler: {error}"),
                    }
                }
                Some(command) = command_rx.recv() => {
                    match command {
                        Command::Pause(flow, reply) => {
                            let _ = reply.send(scheduler.pause(&FlowId::new(flow)).map_err(|e| e.to_string()));
                        }
                        Command::Resume(flow, reply) => {
                            let now = engine.clock.now();
                            let _ = reply.send(scheduler.resume(&FlowId::new(flow), now).map_err(|e| e.to_string()));
                        }
                    }
                }
                () = engine.stop.raised() => break,
            }
        }
        tracing::info!("scheduler stopped");
    });
    Ok(handle)
}

/// When the flow's latest scheduled execution started, if any (among its latest 100).
async fn last_scheduled_start(engine: &Engine, flow_id: &str) -> Option<DateTime<Utc>> {
    let page = engine
        .store
        .list_executions(&ExecutionQuery {
            flow_id: Some(flow_id.to_string()),
            limit: 100,
            ..ExecutionQuery::default()
        })
        .await
        .ok()?;
    page.items
        .into_iter()
        .find(|e| matches!(e.trigger, Trigger::Scheduled))
        .map(|e| e.started_at)
}

fn act(
    engine: &Engine,
    flows: &Arc<FlowSet>,
    metrics: &Arc<Metrics>,
    running: &Arc<Mutex<BTreeMap<String, StopSignal>>>,
    scheduler: &mut Scheduler,
    decisions: Vec<Decision>,
    done: &mpsc::UnboundedSender<(FlowId, bool)>,
) {
    for decision in decisions {
        match decision {
            Decision::Skipped(flow, reason) => {
                tracing::info!(flow = %flow, "scheduled run skipped: {reason}");
                metrics.skipped(flow.as_str());
            }
            Decision::Fire(flow) => {
                let Some(loaded) = flows.get(flow.as_str()).cloned() else {
                    continue;
                };
                if let Err(error) = scheduler.started(&flow) {
                    tracing::warn!("scheduler: {error}");
                    continue;
                }
                tracing::info!(flow = %flow, "scheduled run starts");
                let run = spawn_run(
                    engine.clone(),
                    loaded,
                    Trigger::Scheduled,
                    RunKind::Scheduled,
                    NoProgress,
                    metrics.clone(),
                    running.clone(),
                );
                let done = done.clone();
                tokio::spawn(async move {
                    let succeeded = match run.await {
                        Ok(Ok(summary)) => matches!(
                            summary.execution.status,
                            ExecutionStatus::Success | ExecutionStatus::Empty
                        ),
                        Ok(Err(error)) => {
                            tracing::info!(flow = %flow, "scheduled run did not start: {error}");
                            false
                        }
                        Err(join) => {
                            tracing::warn!(flow = %flow, "scheduled run failed: {join}");
                            false
                        }
                    };
                    let _ = done.send((flow, succeeded));
                });
            }
        }
    }
}

fn publish(scheduler: &Scheduler, view: &Mutex<BTreeMap<String, ScheduleView>>, metrics: &Metrics) {
    let Ok(mut view) = view.lock() else {
        return;
    };
    for flow in scheduler.flows() {
        metrics.next_fire(
            flow.as_str(),
            scheduler.next_fire(flow).map_or(0, |at| at.timestamp()),
        );
        view.insert(
            flow.as_str().to_string(),
            ScheduleView {
                next_fire: scheduler.next_fire(flow),
                paused: scheduler.is_paused(flow),
                running: scheduler.is_running(flow),
            },
        );
    }
}
