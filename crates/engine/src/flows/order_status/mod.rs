//! The Order Status Flow: ERP rows → Omnitron item statuses, invoices and shipments.
//!
//! Inbound: Read Data From ERP (page by page) → Script (a page's payload) → Mapping (a list of
//! order objects) → rows. Outbound: the ERP pushes the list itself ([`run::push`]). Each row
//! then goes alone through the per-row script, its check (`order`, `orderitem_set[].id`) and
//! `PATCH /api/i1/order_items/bulk_status_update/`, with one row log per row that keeps the
//! row's payload for replay ([`row`]).

pub mod load;
pub mod row;
pub mod run;
pub mod trigger;

pub use load::{OrderStatusFlow, load_order_status_flow};
pub use run::{
    PushError, StatusInput, StatusRunRequest, StoredRow, check_pushed_rows, push,
    run_order_status_flow, stored_rows,
};
pub use trigger::{ReadMode, TriggerParams};

/// The steps a row reaches, as row logs name them.
pub mod steps {
    use omnibridge_store::Step;

    /// The per-row script.
    pub const ROW_SCRIPT: Step = Step::new("row_script");
    /// The row's check: `order` and every item's `id`.
    pub const CHECK: Step = Step::new("check");
    /// Write Data to Omnitron (the bulk status update).
    pub const WRITE_OMNITRON: Step = Step::new("write_omnitron");
    /// Every step done.
    pub const DONE: Step = Step::new("done");
}

/// How a row can end well, as row logs and counts label it.
pub mod outcomes {
    /// Omnitron applied the row.
    pub const UPDATED: &str = "updated";
    /// Omnitron said the items already have these statuses.
    pub const ALREADY_APPLIED: &str = "already_applied";
}
