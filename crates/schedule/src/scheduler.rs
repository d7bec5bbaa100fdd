//! The scheduler as a state machine: the caller passes the time in and carries out the
//! decisions, so there is no clock, task or lock here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::SchedulerError;
use crate::schedule::Schedule;

/// A flow's name, as flow configs and `schedule.after` spell it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(String);

impl FlowId {
    /// A flow id from its name.
    pub fn new(name: impl Into<String>) -> Self {
        FlowId(name.into())
    }

    /// The flow's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FlowId {
    fn from(name: &str) -> Self {
        FlowId::new(name)
    }
}

impl From<String> for FlowId {
    fn from(name: String) -> Self {
        FlowId(name)
    }
}

/// Why a fire was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The flow's previous run had not finished: runs of one flow never overlap.
    StillRunning,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::StillRunning => f.write_str("still running"),
        }
    }
}

/// What the scheduler wants done about a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start a run of the flow now (and call [`Scheduler::started`] when it starts).
    Fire(FlowId),
    /// The flow was due but is not run; report it so a user sees the tick was not lost silently.
    Skipped(FlowId, SkipReason),
}

impl Decision {
    /// The flow the decision is about.
    pub fn flow(&self) -> &FlowId {
        match self {
            Decision::Fire(flow) | Decision::Skipped(flow, _) => flow,
        }
    }
}

#[derive(Debug, Clone)]
struct FlowState {
    schedule: Option<Schedule>,
    last_fire: Option<DateTime<Utc>>,
    next_fire: Option<DateTime<Utc>>,
    running: bool,
    paused: bool,
}

/// Every flow's scheduling state, driven by the caller's clock.
///
/// The server's loop: build it from the flows, call [`start`](Scheduler::start) with the store's
/// last fire times, then sleep until [`sleep_until`](Scheduler::sleep_until), call
/// [`due`](Scheduler::due), carry out the decisions, and report runs through
/// [`started`](Scheduler::started) and [`finished`](Scheduler::finished).
///
/// When a timed flow fires:
/// - An interval counts from the fire time it was due at, not from when the tick came, so a
///   late tick does not shift later fires: the next is the first of `due + k × every` after
///   now. Ticks that were missed (a slow loop, a skipped run) are not made up one by one.
/// - A cron's next fire is its first match after now.
/// - With no fire on record (a new flow), an interval first fires one interval after
///   `start`, a cron at its first match after `start`.
#[derive(Debug, Clone)]
pub struct Scheduler {
    flows: BTreeMap<FlowId, FlowState>,
    /// For each flow, the flows whose `schedule.after` names it, in id order.
    dependents: BTreeMap<FlowId, Vec<FlowId>>,
}

impl Scheduler {
    /// Builds the scheduler from every flow; a flow without a schedule (`None`) runs only by
    /// hand but can still be named by another flow's `after`. Refuses a flow listed twice, an
    /// `after` naming an unknown flow and flows that wait on each other in a cycle.
    pub fn new(
        flows: impl IntoIterator<Item = (FlowId, Option<Schedule>)>,
    ) -> Result<Scheduler, SchedulerError> {
        let mut states = BTreeMap::new();
        for (id, schedule) in flows {
            if states.contains_key(&id) {
                return Err(SchedulerError::DuplicateFlow(id));
            }
            let state = FlowState {
                schedule,
                last_fire: None,
                next_fire: None,
                running: false,
                paused: false,
            };
            states.insert(id, state);
        }
        let mut upstream: BTreeMap<FlowId, FlowId> = BTreeMap::new();
        for (id, state) in &states {
            if let Some(after) = state.schedule.as_ref().and_then(Schedule::after) {
                let after = FlowId::from(after);
                if !states.contains_key(&after) {
                    return Err(SchedulerError::UnknownAfter {
                        flow: id.clone(),
                        after,
                    });
                }
                upstream.insert(id.clone(), after);
            }
        }
        if let Some(cycle) = find_cycle(&upstream) {
            return Err(SchedulerError::Cycle(cycle));
        }
        let mut dependents: BTreeMap<FlowId, Vec<FlowId>> = BTreeMap::new();
        for (flow, after) in upstream {
            dependents.entry(after).or_default().push(flow);
        }
        Ok(Scheduler {
            flows: states,
            dependents,
        })
    }

    /// Sets every timed flow's next fire at start-up and returns the catch-up runs: a flow
    /// whose next fire after its last recorded one (`last_fires`, from the store) is at or
    /// before `now` was missed while the service was down and fires once now, however many
    /// ticks were missed. Paused flows and `after` flows are not caught up.
    pub fn start(
        &mut self,
        now: DateTime<Utc>,
        last_fires: impl IntoIterator<Item = (FlowId, DateTime<Utc>)>,
    ) -> Vec<Decision> {
        for (id, at) in last_fires {
            if let Some(state) = self.flows.get_mut(&id) {
                state.last_fire = Some(at);
            }
        }
        let mut decisions = Vec::new();
        for (id, state) in &mut self.flows {
            let Some(schedule) = state.schedule.as_ref().filter(|s| s.is_timed()) else {
                continue;
            };
            if state.paused {
                state.next_fire = None;
                continue;
            }
            let missed = state.last_fire.and_then(|last| schedule.next_after(last));
            match missed {
                Some(due) if due <= now => {
                    state.next_fire = advance(schedule, due, now);
                    decisions.push(fire(id, state, now));
                }
                // Not yet due: keep its time, so an interval keeps its cadence over a restart.
                Some(due) => state.next_fire = Some(due),
                None => state.next_fire = schedule.next_after(now),
            }
        }
        decisions
    }

    /// The decisions for every timed flow whose next fire is at or before `now`, earliest
    /// first: fire it, or skip it when its previous run is still going. Either way its next
    /// fire moves past `now`, so a tick is decided once.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Decision> {
        let mut ready: Vec<(DateTime<Utc>, FlowId)> = self
            .flows
            .iter()
            .filter(|(_, s)| !s.paused)
            .filter_map(|(id, s)| s.next_fire.filter(|t| *t <= now).map(|t| (t, id.clone())))
            .collect();
        ready.sort();
        let mut decisions = Vec::with_capacity(ready.len());
        for (due, id) in ready {
            let Some(state) = self.flows.get_mut(&id) else {
                continue;
            };
            state.next_fire = state
                .schedule
                .as_ref()
                .and_then(|schedule| advance(schedule, due, now));
            decisions.push(fire(&id, state, now));
        }
        decisions
    }

    /// Records that a run of `flow` started, whoever started it (a fire or a user), so the
    /// scheduler will not start another until it finishes.
    pub fn started(&mut self, flow: &FlowId) -> Result<(), SchedulerError> {
        self.state_mut(flow)?.running = true;
        Ok(())
    }

    /// Records that a run of `flow` ended and, when it succeeded, returns the decisions for the
    /// flows that run after it (paused ones left out), in id order.
    pub fn finished(
        &mut self,
        flow: &FlowId,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, SchedulerError> {
        self.state_mut(flow)?.running = false;
        if !succeeded {
            return Ok(Vec::new());
        }
        let dependents = self.dependents.get(flow).cloned().unwrap_or_default();
        let mut decisions = Vec::with_capacity(dependents.len());
        for id in dependents {
            if let Some(state) = self.flows.get_mut(&id).filter(|s| !s.paused) {
                decisions.push(fire(&id, state, now));
            }
        }
        Ok(decisions)
    }

    /// Stops `flow` from firing, on its schedule or after another flow, until resumed. A run
    /// in progress is not touched.
    pub fn pause(&mut self, flow: &FlowId) -> Result<(), SchedulerError> {
        let state = self.state_mut(flow)?;
        state.paused = true;
        state.next_fire = None;
        Ok(())
    }

    /// Lets a paused `flow` fire again. Its next fire counts from `now` (an interval one
    /// interval after `now`, a cron its next match), so ticks missed while paused are dropped,
    /// not fired in a burst. Resuming a flow that is not paused changes nothing.
    pub fn resume(&mut self, flow: &FlowId, now: DateTime<Utc>) -> Result<(), SchedulerError> {
        let state = self.state_mut(flow)?;
        if state.paused {
            state.paused = false;
            state.next_fire = state.schedule.as_ref().and_then(|s| s.next_after(now));
        }
        Ok(())
    }

    /// When `flow` fires next; `None` for a paused flow, an `after` or unscheduled flow, an
    /// ended cron, or before [`start`](Scheduler::start).
    pub fn next_fire(&self, flow: &FlowId) -> Option<DateTime<Utc>> {
        self.flows.get(flow).and_then(|s| s.next_fire)
    }

    /// When `flow` last fired, as the store reported at start or as decided since.
    pub fn last_fire(&self, flow: &FlowId) -> Option<DateTime<Utc>> {
        self.flows.get(flow).and_then(|s| s.last_fire)
    }

    /// Whether a run of `flow` is in progress.
    pub fn is_running(&self, flow: &FlowId) -> bool {
        self.flows.get(flow).is_some_and(|s| s.running)
    }

    /// Whether `flow` is paused.
    pub fn is_paused(&self, flow: &FlowId) -> bool {
        self.flows.get(flow).is_some_and(|s| s.paused)
    }

    /// `flow`'s schedule, if it has one.
    pub fn schedule(&self, flow: &FlowId) -> Option<&Schedule> {
        self.flows.get(flow).and_then(|s| s.schedule.as_ref())
    }

    /// The flows, in id order.
    pub fn flows(&self) -> impl Iterator<Item = &FlowId> {
        self.flows.keys()
    }

    /// The earliest next fire of any flow, for the server's loop to sleep until; `None` when
    /// nothing is timed (it then waits for runs to finish or for a resume).
    pub fn sleep_until(&self) -> Option<DateTime<Utc>> {
        self.flows
            .values()
            .filter(|s| !s.paused)
            .filter_map(|s| s.next_fire)
            .min()
    }

    fn state_mut(&mut self, flow: &FlowId) -> Result<&mut FlowState, SchedulerError> {
        self.flows
            .get_mut(flow)
            .ok_or_else(|| SchedulerError::UnknownFlow(flow.clone()))
    }
}

/// Fire unless a run is in progress; a fire is recorded as the flow's last.
fn fire(id: &FlowId, state: &mut FlowState, now: DateTime<Utc>) -> Decision {
    if state.running {
        Decision::Skipped(id.clone(), SkipReason::StillRunning)
    } else {
        state.last_fire = Some(now);
        Decision::Fire(id.clone())
    }
}

/// The next fire after a flow that was due at `due` was decided at `now` (`due <= now`).
fn advance(schedule: &Schedule, due: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match schedule.every() {
        // On the interval's grid from `due`: the first `due + k × every` after `now`.
        Some(every) => {
            let elapsed = nanos(now - due)?;
            let step = nanos(every)?;
            if step <= 0 {
                return None;
            }
            let k = elapsed.div_euclid(step) + 1;
            due.checked_add_signed(from_nanos(k.checked_mul(step)?)?)
        }
        None => schedule.next_after(now),
    }
}

fn nanos(d: TimeDelta) -> Option<i128> {
    i128::from(d.num_seconds())
        .checked_mul(1_000_000_000)?
        .checked_add(i128::from(d.subsec_nanos()))
}

fn from_nanos(n: i128) -> Option<TimeDelta> {
    let secs = i64::try_from(n.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(n.rem_euclid(1_000_000_000)).ok()?;
    TimeDelta::new(secs, sub)
}

/// The first cycle in the `after` graph (each flow waits on at most one), as the flows in
/// order with the first repeated last, starting from the smallest id so the message is stable.
fn find_cycle(upstream: &BTreeMap<FlowId, FlowId>) -> Option<Vec<FlowId>> {
    let mut cleared: BTreeSet<&FlowId> = BTreeSet::new();
    for start in upstream.keys() {
        let mut path: Vec<&FlowId> = Vec::new();
        let mut at = start;
        loop {
            if cleared.contains(at) {
                break;
            }
            if let Some(pos) = path.iter().position(|p| *p == at) {
                let ring = &path[pos..];
                let min = ring
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, id)| **id)
                    .map_or(0, |(i, _)| i);
                let mut cycle: Vec<FlowId> = ring[min..]
                    .iter()
                    .chain(&ring[..min])
                    .map(|id| (*id).clone())
                    .collect();
                cycle.push(ring[min].clone());
                return Some(cycle);
            }
            path.push(at);
            match upstream.get(at) {
                Some(next) => at = next,
                None => break,
            }
        }
        cleared.extend(path);
    }
    None
}
