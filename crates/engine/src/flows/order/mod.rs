//! The Order Flow: Omnitron's unsent orders, written to the ERP exactly once.

pub mod check_response;
pub mod definition;
pub mod query_check;
pub mod record;
pub mod run;
pub mod write_omnitron;

pub use definition::{LoadOptions, OrderFlow, load_order_flow};
pub use run::{
    Engine, NoProgress, Progress, RunError, RunRequest, RunSummary, Selection, node_name,
    run_order_flow,
};
