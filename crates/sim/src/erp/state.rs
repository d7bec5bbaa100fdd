//! What the ERP simulator holds and the assertion view of it (`GET /__sim/state`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An order the ERP accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErpOrder {
    /// Omnitron order number.
    pub number: String,
    /// How many create requests were accepted (stored) for this number: 1 = exactly once.
    pub creates: u64,
    /// The ERP's order number (`E<number>`).
    pub erp_order_no: String,
    /// Lines: `{"omnitron_item_id", "erp_line_code"}`.
    pub lines: Vec<Value>,
    /// Last accepted request body.
    pub last_body: Value,
    /// When it was first created (simulated clock).
    pub created_at: DateTime<Utc>,
}

/// Requests received for one cancellation plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErpCancellation {
    /// Plan id as sent.
    pub plan_id: String,
    /// Requests received for this plan (every attempt, whatever the answer).
    pub count: u64,
    /// Requests answered with success (`ok`, `slow`, `xml`, `ok_error_body`).
    pub accepted: u64,
    /// Last body received.
    pub last_body: Value,
}

/// One row of the status feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusRow {
    /// Feed id (seek marker), assigned in insertion order.
    #[serde(default)]
    pub id: u64,
    /// Omnitron order number.
    pub order: Value,
    /// `[{id, status, invoice_number, invoice_date, e_archive_url, shipping_company,
    /// shipping_date, tracking_number}]`.
    #[serde(default)]
    pub orderitems: Vec<Value>,
    /// Change time (defaults to now).
    #[serde(default)]
    pub modified_date: Option<DateTime<Utc>>,
}

/// The ERP simulator's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ErpState {
    /// Orders it holds.
    pub orders: Vec<ErpOrder>,
    /// Cancellations it received.
    pub cancellations: Vec<ErpCancellation>,
    /// Bodies posted to `/crm/notify`.
    pub notifications: Vec<Value>,
    /// The status feed's rows.
    pub status_rows: Vec<StatusRow>,
    /// Logins (successful or not).
    pub logins: u64,
}

impl ErpState {
    /// The order with this number.
    pub fn order(&self, number: &str) -> Option<&ErpOrder> {
        self.orders.iter().find(|o| o.number == number)
    }
    /// The cancellation record of this plan.
    pub fn cancellation(&self, plan_id: &str) -> Option<&ErpCancellation> {
        self.cancellations.iter().find(|c| c.plan_id == plan_id)
    }
}

/// Mutable store behind the state view.
#[derive(Debug, Default, Clone)]
pub(crate) struct ErpStore {
    pub orders: BTreeMap<String, ErpOrder>,
    pub cancellations: BTreeMap<String, ErpCancellation>,
    pub notifications: Vec<Value>,
    pub status_rows: Vec<StatusRow>,
    pub next_row_id: u64,
    /// Keys whose one-shot 401 was already served (`query:<n>`, `create:<n>`, `cancel:<id>`,
    /// `feed:<page>`).
    pub once: std::collections::HashSet<String>,
}

impl ErpStore {
    pub fn add_row(&mut self, mut row: StatusRow, now: DateTime<Utc>) -> u64 {
        self.next_row_id += 1;
        row.id = self.next_row_id;
        if row.modified_date.is_none() {
            row.modified_date = Some(now);
        }
        self.status_rows.push(row);
        self.next_row_id
    }
}
