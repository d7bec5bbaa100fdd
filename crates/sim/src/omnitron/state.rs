//! The assertion view of the Omnitron simulator (`GET /__sim/state`, `handle.state()`).

use super::model::{Db, Mapping};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything a test asserts on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OmnitronState {
    /// Every order, by pk.
    pub orders: Vec<OrderState>,
    /// Every cancellation plan.
    pub cancellation_plans: Vec<PlanState>,
    /// Every order transaction.
    pub order_transactions: Vec<TransactionState>,
}

/// One order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrderState {
    /// Order pk.
    pub pk: u64,
    /// Order number.
    pub number: String,
    /// Channel pk.
    pub channel: u64,
    /// Status code (string).
    pub status: String,
    /// Whether the order was marked as sent to the ERP.
    pub is_send: bool,
    /// Cancellation status.
    pub cancel_status: Option<String>,
    /// `external_status` as last written.
    pub external_status: serde_json::Value,
    /// `extra_field` as last written (merged).
    pub extra_field: serde_json::Value,
    /// Last modification (simulated clock).
    pub modified_date: DateTime<Utc>,
    /// Order-level integration mappings.
    pub mappings: Vec<Mapping>,
    /// Items.
    pub items: Vec<ItemState>,
}

/// One order item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemState {
    /// Item pk.
    pub pk: u64,
    /// Status code.
    pub status: String,
    /// Cancellation status.
    pub cancel_status: Option<String>,
    /// False once a mapping with `update_stock` released the reservation.
    pub stock_reserved: bool,
    /// Item integration mappings.
    pub mappings: Vec<Mapping>,
    /// Mutable fields as last written (`extra_field`, `invoice_number`, `tracking_number`, ...).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// One cancellation plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanState {
    /// Plan pk.
    pub pk: u64,
    /// Order pk.
    pub order: u64,
    /// `cancel` or `refund`.
    pub plan_type: String,
    /// Plan status.
    pub status: String,
    /// Item pks in the plan.
    pub items: Vec<u64>,
}

/// One order transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransactionState {
    /// Transaction pk.
    pub pk: u64,
    /// Order pk.
    pub order: u64,
    /// `purchase` or `refund`.
    pub transaction_type: String,
    /// Related plan, for refunds.
    pub related_cancellation_plan: Option<u64>,
    /// Integration mappings.
    pub mappings: Vec<Mapping>,
}

impl OmnitronState {
    /// Orders of `channel` a customer can cancel whole: items that are neither cancelled nor
    /// refunded, and no cancellation plan yet; by pk.
    pub fn cancellable_orders(&self, channel: u64) -> Vec<u64> {
        let planned: std::collections::HashSet<u64> =
            self.cancellation_plans.iter().map(|p| p.order).collect();
        self.orders
            .iter()
            .filter(|o| o.channel == channel && o.cancel_status.is_none())
            .filter(|o| !planned.contains(&o.pk) && !o.items.is_empty())
            .filter(|o| {
                o.items
                    .iter()
                    .all(|i| !["100", "600"].contains(&i.status.as_str()))
            })
            .map(|o| o.pk)
            .collect()
    }

    /// The order with this number.
    pub fn order(&self, number: &str) -> Option<&OrderState> {
        self.orders.iter().find(|o| o.number == number)
    }
    /// The order with this pk.
    pub fn order_by_pk(&self, pk: u64) -> Option<&OrderState> {
        self.orders.iter().find(|o| o.pk == pk)
    }
    /// The plan with this pk.
    pub fn plan(&self, pk: u64) -> Option<&PlanState> {
        self.cancellation_plans.iter().find(|p| p.pk == pk)
    }
}

pub(crate) fn snapshot(db: &Db) -> OmnitronState {
    OmnitronState {
        orders: db
            .orders
            .values()
            .map(|o| OrderState {
                pk: o.pk,
                number: o.number.clone(),
                channel: o.channel,
                status: o.status.clone(),
                is_send: o.is_send,
                cancel_status: o.cancel_status.clone(),
                external_status: o.external_status.clone(),
                extra_field: o.extra_field.clone(),
                modified_date: o.modified_date,
                mappings: o.mapping.clone(),
                items: db
                    .items_of(o.pk)
                    .map(|i| ItemState {
                        pk: i.pk,
                        status: i.status.clone(),
                        cancel_status: i.cancel_status.clone(),
                        stock_reserved: i.stock_reserved,
                        mappings: i.mapping.clone(),
                        fields: i.fields.clone(),
                    })
                    .collect(),
            })
            .collect(),
        cancellation_plans: db
            .plans
            .values()
            .map(|p| PlanState {
                pk: p.pk,
                order: p.order,
                plan_type: p.plan_type.clone(),
                status: p.status.clone(),
                items: p.items.iter().map(|i| i.order_item).collect(),
            })
            .collect(),
        order_transactions: db
            .transactions
            .values()
            .map(|t| TransactionState {
                pk: t.pk,
                order: t.order,
                transaction_type: t.transaction_type.clone(),
                related_cancellation_plan: t.related_cancellation_plan,
                mappings: t.mapping.clone(),
            })
            .collect(),
    }
}
