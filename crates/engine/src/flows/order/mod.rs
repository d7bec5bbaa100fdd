//! The Order Flow: Omnitron's unsent orders, written to the ERP exactly once.
//!
//! Read Data From Omnitron → Query Check Order → Script → Mapping → **ledger intent** → Write
//! Data to ERP → **ledger result** → Check Response Script → Write Data to Omnitron (item and
//! order mappings, `is_send`) → Post Script. The driver ([`run`]) reads; [`record`] takes one
//! order through the cards.

pub mod check_response;
pub mod load;
pub mod query_check;
pub mod record;
pub mod run;
pub mod write_omnitron;

pub use load::{OrderFlow, load_order_flow};
pub use run::{RunRequest, Selection, run_order_flow};

/// The steps an order reaches, as row logs name them.
pub mod steps {
    use omnibridge_store::Step;

    /// Read from Omnitron (list, detail, items, discounts).
    pub const READ: Step = Step::new("read");
    /// Query Check Order.
    pub const QUERY_CHECK: Step = Step::new("query_check");
    /// The user's Script.
    pub const SCRIPT: Step = Step::new("script");
    /// The Jolt Mapping.
    pub const MAPPING: Step = Step::new("mapping");
    /// Write Data to ERP.
    pub const WRITE_ERP: Step = Step::new("write_erp");
    /// Check Response Script.
    pub const CHECK_RESPONSE: Step = Step::new("check_response");
    /// Write Data to Omnitron (mappings, `is_send`).
    pub const WRITE_OMNITRON: Step = Step::new("write_omnitron");
    /// Post Script.
    pub const POST_SCRIPT: Step = Step::new("post_script");
    /// Every step done.
    pub const DONE: Step = Step::new("done");
}

/// How an order can end well, as row logs and counts label it.
pub mod outcomes {
    /// Written to the ERP and marked sent in Omnitron.
    pub const SENT: &str = "sent";
    /// The ERP already had it (Query Check Order, `order_exists`, or an earlier attempt the
    /// ledger remembers); marked sent in Omnitron without writing again.
    pub const ALREADY_IN_ERP: &str = "already_in_erp";
}
