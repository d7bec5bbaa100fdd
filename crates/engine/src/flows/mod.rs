//! The three flows, each a thin driver over the shared cards and execution runtime, and
//! [`load_flow`], which reads any flow directory.

pub mod order;
pub mod order_cancel;
pub mod order_status;

use std::path::Path;

use omnibridge_script::ScriptPool;
use omnibridge_store::{Store, Trigger};

use crate::attributes::Attributes;
use crate::cards::connections::Connections;
use crate::cards::ledger::Ledger;
use crate::config::FlowKind;
use crate::config::error::FlowErrors;
use crate::config::load::{self, LoadOptions};
use crate::execution::{Engine, Progress, RunError, RunSummary};
use order::OrderFlow;
use order_cancel::OrderCancelFlow;
use order_status::OrderStatusFlow;

/// A loaded flow of any kind (boxed: a compiled flow is a few kilobytes).
#[derive(Debug, Clone)]
pub enum Flow {
    /// An Order Flow.
    Order(Box<OrderFlow>),
    /// An Order Status Flow.
    OrderStatus(Box<OrderStatusFlow>),
    /// An Order Cancel Flow.
    OrderCancel(Box<OrderCancelFlow>),
}

impl Flow {
    /// The flow's id in the store.
    pub fn id(&self) -> &str {
        match self {
            Flow::Order(flow) => &flow.id,
            Flow::OrderStatus(flow) => &flow.id,
            Flow::OrderCancel(flow) => &flow.id,
        }
    }

    /// The flow's name.
    pub fn name(&self) -> &str {
        match self {
            Flow::Order(flow) => &flow.config.name,
            Flow::OrderStatus(flow) => &flow.config.name,
            Flow::OrderCancel(flow) => &flow.config.name,
        }
    }

    /// Its schedule settings.
    pub fn schedule(&self) -> &crate::config::ScheduleConfig {
        match self {
            Flow::Order(flow) => &flow.config.schedule,
            Flow::OrderStatus(flow) => &flow.config.schedule,
            Flow::OrderCancel(flow) => &flow.config.schedule,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> FlowKind {
        match self {
            Flow::Order(_) => FlowKind::Order,
            Flow::OrderStatus(_) => FlowKind::OrderStatus,
            Flow::OrderCancel(_) => FlowKind::OrderCancel,
        }
    }
}

/// Loads the flow in `dir`, whatever its kind (its `type`).
pub async fn load_flow(
    dir: &Path,
    options: &LoadOptions,
    scripts: &ScriptPool,
) -> Result<Flow, FlowErrors> {
    match load::flow_kind(dir).map_err(|e| FlowErrors(vec![e]))? {
        FlowKind::Order => order::load_order_flow(dir, options, scripts)
            .await
            .map(|flow| Flow::Order(Box::new(flow))),
        FlowKind::OrderStatus => order_status::load_order_status_flow(dir, options, scripts)
            .await
            .map(|flow| Flow::OrderStatus(Box::new(flow))),
        FlowKind::OrderCancel => order_cancel::load_order_cancel_flow(dir, options, scripts)
            .await
            .map(|flow| Flow::OrderCancel(Box::new(flow))),
    }
}

/// Everything one record of a flow needs, shared by all records of an execution.
pub struct RecordContext<'a, F> {
    /// The flow.
    pub flow: &'a F,
    /// The flow's id in the store.
    pub flow_id: &'a str,
    /// The store.
    pub store: &'a dyn Store,
    /// The script pool.
    pub scripts: &'a ScriptPool,
    /// Omnitron and the ERP, logged in.
    pub connections: &'a Connections,
    /// The execution the record belongs to.
    pub execution_id: &'a str,
    /// `flow.id`, `flow.name`, `execution.id` and any trigger attributes.
    pub base_attributes: &'a Attributes,
}

impl<F> RecordContext<'_, F> {
    /// The flow's ledger, for this execution.
    pub fn ledger(&self) -> Ledger<'_> {
        Ledger {
            store: self.store,
            flow_id: self.flow_id,
            execution_id: self.execution_id,
        }
    }
}

/// One scheduled-style execution of any flow: every unsent order, a read since `last.request`,
/// or the cancel task's list. An outbound Order Status Flow is refused (its rows are pushed).
pub async fn run_scheduled(
    engine: &Engine,
    flow: &Flow,
    trigger: Trigger,
    progress: &dyn Progress,
) -> Result<RunSummary, RunError> {
    match flow {
        Flow::Order(order) => {
            order::run_order_flow(
                engine,
                order,
                order::RunRequest {
                    trigger,
                    selection: order::Selection::Unsent,
                },
                progress,
            )
            .await
        }
        Flow::OrderStatus(status) => {
            order_status::run_order_status_flow(
                engine,
                status,
                order_status::StatusRunRequest {
                    trigger,
                    input: order_status::StatusInput::Read(order_status::ReadMode::Scheduled),
                },
                progress,
            )
            .await
        }
        Flow::OrderCancel(cancel) => {
            order_cancel::run_order_cancel_flow(
                engine,
                cancel,
                trigger,
                order_cancel::CancelSelection::Listed,
                progress,
            )
            .await
        }
    }
}
