//! The Order Cancel Flow: Omnitron cancellation plans → the ERP → the plans' next state.
//!
//! Get Data From Omnitron lists the task's plans (by status, type and channel; the completed
//! task in a moving modified-date window; the order-transaction task through unmapped refund
//! transactions) and each plan goes alone through Script → Mapping → Write Data to ERP (under
//! the ledger) → Custom Response Script (`relation`) → Write Data to Omnitron → Post Script
//! ([`plan`]). Every failed or left plan keeps its payload with its row log, so it can be
//! replayed even when the task will not read it again.

pub mod load;
pub mod plan;
pub mod read;
pub mod run;

pub use load::{OrderCancelFlow, load_order_cancel_flow};
pub use read::CancelRecord;
pub use run::{CancelSelection, run_order_cancel_flow, stored_plans};

/// The product's default Custom Response Script (Python, ExecuteScript style): the template a
/// user starts their own from. A flow that keeps the default gets the same decision from
/// [`plan::Relation::by_default`] without a round trip to a script worker.
pub const DEFAULT_CUSTOM_RESPONSE_SCRIPT: &str = include_str!("default_custom_response.py");

/// The Custom Response Setting of a flow.
#[derive(Debug, Clone)]
pub enum CustomResponse {
    /// Off: a 2xx answer continues, any other is left for a later run.
    Off,
    /// On, with the product's default script ([`DEFAULT_CUSTOM_RESPONSE_SCRIPT`]), decided
    /// natively ([`plan::Relation::by_default`]).
    Default,
    /// On, with the user's script.
    Script(crate::cards::script::ScriptStep),
}

/// The steps a plan reaches, as row logs name them.
pub mod steps {
    use omnibridge_store::Step;

    /// Read the plan from Omnitron.
    pub const READ: Step = Step::new("read");
    /// The user's Script.
    pub const SCRIPT: Step = Step::new("script");
    /// The Jolt Mapping.
    pub const MAPPING: Step = Step::new("mapping");
    /// Write Data to ERP.
    pub const WRITE_ERP: Step = Step::new("write_erp");
    /// The Custom Response Script (or the rule without one).
    pub const CUSTOM_RESPONSE: Step = Step::new("custom_response");
    /// Write Data to Omnitron (the Next State, a rejection, a transaction mapping).
    pub const WRITE_OMNITRON: Step = Step::new("write_omnitron");
    /// Post Script.
    pub const POST_SCRIPT: Step = Step::new("post_script");
    /// Every step done.
    pub const DONE: Step = Step::new("done");
}

/// How a plan can end, as row logs and counts label it.
pub mod outcomes {
    /// Approved in Omnitron (`cancellation_approved_order`).
    pub const APPROVED: &str = "approved";
    /// Moved to confirmation waiting.
    pub const CONFIRMATION_WAITING: &str = "confirmation_waiting";
    /// Moved to confirmed.
    pub const CONFIRMED: &str = "confirmed";
    /// Moved to completed.
    pub const COMPLETED: &str = "completed";
    /// A completed plan delivered to the ERP (nothing to change in Omnitron).
    pub const DELIVERED: &str = "delivered";
    /// An order transaction mapped in Omnitron.
    pub const MAPPED: &str = "mapped";
    /// The ERP refused it and it is rejected in Omnitron.
    pub const REJECTED: &str = "rejected";
    /// The ERP refused it; the task cannot reject it in Omnitron (completed, transactions).
    pub const FAILURE: &str = "failure";
    /// Left for a later run (or a replay).
    pub const DO_NOTHING: &str = "do_nothing";
}
