//! Omnitron's objects as the simulator stores them.
//!
//! Each object keeps the fields the simulator filters on or changes as typed fields, and
//! everything else (the long tail of the seed-004 shape) in `doc`, so responses keep the real
//! field order and content while state changes stay type-checked.

use crate::clock::iso;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// Content type ids used in integration mappings (66 for order items is documented).
pub const CONTENT_TYPE_ORDER: u64 = 63;
/// Content type of order items in mappings.
pub const CONTENT_TYPE_ORDER_ITEM: u64 = 66;
/// Content type of order transactions in mappings.
pub const CONTENT_TYPE_ORDER_TRANSACTION: u64 = 77;

/// An integration mapping (`{"pk","content_type","object_id","integration_type","code"}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mapping {
    /// Mapping id.
    pub pk: u64,
    /// Content type of the mapped object.
    pub content_type: u64,
    /// Mapped object's pk.
    pub object_id: u64,
    /// `external_company` for ERP mappings.
    pub integration_type: String,
    /// The ERP's code for the object.
    pub code: String,
}

/// A sales channel.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub channel_type: String,
    pub doc: Map<String, Value>,
}

/// An order (the detailed shape minus the sets rendered from other tables).
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub pk: u64,
    pub number: String,
    pub channel: u64,
    pub status: String,
    pub is_send: bool,
    pub cancel_status: Option<String>,
    pub external_status: Value,
    pub extra_field: Value,
    pub created_date: DateTime<Utc>,
    pub modified_date: DateTime<Utc>,
    pub mapping: Vec<Mapping>,
    pub doc: Map<String, Value>,
}

/// An order item.
#[derive(Debug, Clone)]
pub(crate) struct OrderItem {
    pub pk: u64,
    pub order: u64,
    pub status: String,
    pub cancel_status: Option<String>,
    pub stock_reserved: bool,
    /// Typed-in-JSON fields PATCH and bulk update may change (`extra_field`, `attributes`,
    /// `invoice_number`, `tracking_number`, ...), overlaid on `doc` when rendered.
    pub fields: Map<String, Value>,
    pub modified_date: DateTime<Utc>,
    pub mapping: Vec<Mapping>,
    pub doc: Map<String, Value>,
}

/// A discount item.
#[derive(Debug, Clone)]
pub(crate) struct DiscountItem {
    pub pk: u64,
    pub order: u64,
    pub doc: Map<String, Value>,
}

/// One order item inside a cancellation plan.
#[derive(Debug, Clone)]
pub(crate) struct PlanItem {
    pub pk: u64,
    pub order_item: u64,
    pub previous_status: String,
    pub status: String,
    pub modified_date: DateTime<Utc>,
}

/// A cancellation or refund plan.
#[derive(Debug, Clone)]
pub(crate) struct CancellationPlan {
    pub pk: u64,
    pub order: u64,
    pub plan_type: String,
    pub status: String,
    pub order_previous_status: String,
    pub items: Vec<PlanItem>,
    pub refund_amount: String,
    pub created_date: DateTime<Utc>,
    pub modified_date: DateTime<Utc>,
    pub reason: Value,
}

/// A payment transaction of an order (purchase or refund).
#[derive(Debug, Clone)]
pub(crate) struct OrderTransaction {
    pub pk: u64,
    pub order: u64,
    pub transaction_type: String,
    pub amount: String,
    pub related_cancellation_plan: Option<u64>,
    pub modified_date: DateTime<Utc>,
    pub mapping: Vec<Mapping>,
    pub doc: Map<String, Value>,
}

/// Everything the Omnitron simulator holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Db {
    pub channels: BTreeMap<u64, Channel>,
    pub orders: BTreeMap<u64, Order>,
    pub items: BTreeMap<u64, OrderItem>,
    pub discounts: BTreeMap<u64, DiscountItem>,
    pub plans: BTreeMap<u64, CancellationPlan>,
    pub transactions: BTreeMap<u64, OrderTransaction>,
    /// order pk → its item pks, in order.
    pub order_items: HashMap<u64, Vec<u64>>,
    /// order pk → its discount pks.
    pub order_discounts: HashMap<u64, Vec<u64>>,
    pub next_mapping_pk: u64,
    pub next_plan_pk: u64,
    pub next_plan_item_pk: u64,
    pub next_transaction_pk: u64,
}

/// Order / item status codes and their display names.
pub(crate) const STATUSES: &[(&str, &str)] = &[
    ("50", "cancellation_waiting"),
    ("100", "cancelled"),
    ("200", "waiting"),
    ("300", "payment_waiting"),
    ("350", "confirmation_waiting"),
    ("400", "approved"),
    ("450", "preparing"),
    ("500", "shipped"),
    ("510", "shipped_and_informed"),
    ("520", "ready_for_pickup"),
    ("540", "attempted_delivery"),
    ("544", "review_started"),
    ("545", "review_waiting"),
    ("546", "waiting_for_payment"),
    ("547", "paid"),
    ("550", "delivered"),
    ("600", "refunded"),
];

/// Cancellation plan statuses.
pub(crate) const PLAN_STATUSES: &[(&str, &str)] = &[
    ("waiting", "Waiting"),
    ("confirmation_waiting", "Confirmation Waiting"),
    ("confirmed", "Confirmed"),
    ("approved", "Approved"),
    ("completed", "Completed"),
    ("rejected", "Rejected"),
];

pub(crate) fn status_display(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("unknown", |(_, n)| n)
}

/// Position of a status in the forward chain; `None` for unknown codes.
/// 100 (cancelled) and 600 (refunded) are terminal.
pub(crate) fn status_rank(code: &str) -> Option<u32> {
    Some(match code {
        "50" => 0,
        "200" => 1,
        "300" => 2,
        "350" => 3,
        "400" => 4,
        "450" => 5,
        "500" => 6,
        "510" => 7,
        "520" | "540" | "544" | "545" | "546" | "547" => 8,
        "550" => 9,
        "600" => 10,
        "100" => 11,
        _ => return None,
    })
}

/// Why an item status change is refused (`None` = allowed). Forward moves (skipping allowed),
/// same-status no-ops and cancellation (100) from a live status are allowed.
pub(crate) fn transition_error(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    let refuse = || {
        Some(format!(
            "Order item status can not be changed from {from} to {to}."
        ))
    };
    if from == "100" || from == "600" {
        return refuse();
    }
    if to == "100" {
        return None;
    }
    match (status_rank(from), status_rank(to)) {
        (Some(a), Some(b)) if b > a => None,
        _ => refuse(),
    }
}

/// A string status from a JSON value that may be a string or an integer.
pub(crate) fn status_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// An object that can carry mappings, looked up by pk: its mappings and its modified date.
pub type MappedObject = fn(&mut Db, u64) -> Option<(&mut Vec<Mapping>, &mut DateTime<Utc>)>;

impl Db {
    pub fn order_by_number(&self, number: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.number == number)
    }

    pub fn items_of(&self, order: u64) -> impl Iterator<Item = &OrderItem> {
        self.order_items
            .get(&order)
            .into_iter()
            .flatten()
            .filter_map(|pk| self.items.get(pk))
    }

    /// The items a list filtered by `order` can return, in pk order: the order's own through
    /// the index (a scan of every item per request made the simulator the bottleneck of
    /// benchmarks with thousands of orders), or all of them.
    pub fn item_candidates(&self, order: Option<u64>) -> Vec<&OrderItem> {
        match order {
            Some(order) => {
                let mut items: Vec<_> = self.items_of(order).collect();
                items.sort_by_key(|i| i.pk);
                items
            }
            None => self.items.values().collect(),
        }
    }

    /// Like [`Db::item_candidates`], for discount items.
    pub fn discount_candidates(&self, order: Option<u64>) -> Vec<&DiscountItem> {
        match order {
            Some(order) => {
                let mut discounts: Vec<_> = self
                    .order_discounts
                    .get(&order)
                    .into_iter()
                    .flatten()
                    .filter_map(|pk| self.discounts.get(pk))
                    .collect();
                discounts.sort_by_key(|d| d.pk);
                discounts
            }
            None => self.discounts.values().collect(),
        }
    }

    pub fn new_mapping(
        &mut self,
        content_type: u64,
        object_id: u64,
        code: &str,
        it: &str,
    ) -> Mapping {
        self.next_mapping_pk += 1;
        Mapping {
            pk: self.next_mapping_pk,
            content_type,
            object_id,
            integration_type: it.to_string(),
            code: code.to_string(),
        }
    }

    /// The mapping with this code and integration type among the object's mappings, or a new
    /// one appended there (the object's `modified_date` moves to `now`): `(200, existing)` or
    /// `(201, new)`, as DRF answers a repeated `create_mapping`. `object(self, object_id)` gives
    /// the object's mappings and modified date; `None` when the object does not exist.
    pub fn find_or_add_mapping(
        &mut self,
        content_type: u64,
        object_id: u64,
        code: &str,
        integration_type: &str,
        now: DateTime<Utc>,
        object: MappedObject,
    ) -> Option<(u16, Mapping)> {
        let existing = object(self, object_id)?
            .0
            .iter()
            .find(|m| m.code == code && m.integration_type == integration_type)
            .cloned();
        if let Some(existing) = existing {
            return Some((200, existing));
        }
        let mapping = self.new_mapping(content_type, object_id, code, integration_type);
        let (mappings, modified_date) = object(self, object_id)?;
        mappings.push(mapping.clone());
        *modified_date = now;
        Some((201, mapping))
    }

    /// Order status = lowest status of its non-cancelled items (100 when all are cancelled).
    pub fn recompute_order_status(&mut self, order: u64, now: DateTime<Utc>) {
        let statuses: Vec<String> = self.items_of(order).map(|i| i.status.clone()).collect();
        if statuses.is_empty() {
            return;
        }
        let live: Vec<&String> = statuses.iter().filter(|s| s.as_str() != "100").collect();
        let new = if live.is_empty() {
            "100".to_string()
        } else {
            live.iter()
                .min_by_key(|s| status_rank(s).unwrap_or(u32::MAX))
                .map(|s| (*s).clone())
                .unwrap_or_default()
        };
        if let Some(o) = self.orders.get_mut(&order)
            && o.status != "50"
        {
            o.status = new;
            o.modified_date = now;
        }
    }

    pub fn touch_order(&mut self, order: u64, now: DateTime<Utc>) {
        if let Some(o) = self.orders.get_mut(&order) {
            o.modified_date = now;
        }
    }

    // ---- rendering ----

    pub fn render_channel(&self, pk: u64) -> Value {
        self.channels
            .get(&pk)
            .map_or(Value::from(pk), |c| Value::Object(c.doc.clone()))
    }

    /// The detailed shape (seed 004), with current items, discounts and transactions.
    pub fn order_detailed(&self, o: &Order) -> Value {
        let mut doc = o.doc.clone();
        doc.insert("pk".into(), json!(o.pk));
        doc.insert("number".into(), json!(o.number));
        doc.insert("channel".into(), self.render_channel(o.channel));
        doc.insert("status".into(), json!(o.status));
        doc.insert("status_display".into(), json!(status_display(&o.status)));
        doc.insert("is_send".into(), json!(o.is_send));
        doc.insert("cancel_status".into(), json!(o.cancel_status));
        doc.insert("external_status".into(), o.external_status.clone());
        doc.insert("extra_field".into(), o.extra_field.clone());
        doc.insert("mapping".into(), json!(o.mapping));
        doc.insert(
            "ordertransaction_set".into(),
            Value::Array(
                self.transactions
                    .values()
                    .filter(|t| t.order == o.pk)
                    .map(|t| self.transaction_json(t))
                    .collect(),
            ),
        );
        doc.insert(
            "cancellationplan_set".into(),
            Value::Array(
                self.plans
                    .values()
                    .filter(|p| p.order == o.pk)
                    .map(|p| json!(p.pk))
                    .collect(),
            ),
        );
        doc.insert(
            "orderitem_set".into(),
            Value::Array(self.items_of(o.pk).map(|i| self.item_detailed(i)).collect()),
        );
        doc.insert(
            "discountitem_set".into(),
            Value::Array(
                self.order_discounts
                    .get(&o.pk)
                    .into_iter()
                    .flatten()
                    .filter_map(|pk| self.discounts.get(pk))
                    .map(|d| Value::Object(d.doc.clone()))
                    .collect(),
            ),
        );
        doc.insert("created_date".into(), json!(iso(o.created_date)));
        doc.insert("modified_date".into(), json!(iso(o.modified_date)));
        Value::Object(doc)
    }

    /// The list shape: related objects as pks, no nested sets.
    pub fn order_flat(&self, o: &Order) -> Value {
        let mut out = Map::new();
        for (k, v) in &o.doc {
            if k.ends_with("_set") {
                continue;
            }
            let v = match (k.as_str(), v) {
                (
                    "customer" | "shipping_address" | "billing_address" | "payment_option"
                    | "installment" | "cargo_company",
                    Value::Object(m),
                ) => m.get("pk").cloned().unwrap_or(Value::Null),
                _ => v.clone(),
            };
            out.insert(k.clone(), v);
        }
        out.insert("pk".into(), json!(o.pk));
        out.insert("number".into(), json!(o.number));
        out.insert("channel".into(), json!(o.channel));
        out.insert("status".into(), json!(o.status));
        out.insert("status_display".into(), json!(status_display(&o.status)));
        out.insert("is_send".into(), json!(o.is_send));
        out.insert("cancel_status".into(), json!(o.cancel_status));
        out.insert("external_status".into(), o.external_status.clone());
        out.insert("extra_field".into(), o.extra_field.clone());
        out.insert("mapping".into(), json!(o.mapping));
        out.insert("created_date".into(), json!(iso(o.created_date)));
        out.insert("modified_date".into(), json!(iso(o.modified_date)));
        Value::Object(out)
    }

    pub fn item_detailed(&self, i: &OrderItem) -> Value {
        let mut doc = i.doc.clone();
        doc.insert("pk".into(), json!(i.pk));
        doc.insert("order".into(), json!(i.order));
        doc.insert("status".into(), json!(i.status));
        doc.insert("status_display".into(), json!(status_display(&i.status)));
        doc.insert("cancel_status".into(), json!(i.cancel_status));
        for (k, v) in &i.fields {
            doc.insert(k.clone(), v.clone());
        }
        doc.insert("stock_reserved".into(), json!(i.stock_reserved));
        doc.insert("mapping".into(), json!(i.mapping));
        doc.insert("modified_date".into(), json!(iso(i.modified_date)));
        Value::Object(doc)
    }

    pub fn item_flat(&self, i: &OrderItem) -> Value {
        let mut v = self.item_detailed(i);
        if let Some(m) = v.as_object_mut() {
            let product_pk = m
                .get("product")
                .and_then(|p| p.get("pk"))
                .cloned()
                .unwrap_or(Value::Null);
            m.insert("product".into(), product_pk);
        }
        v
    }

    pub fn discount_flat(&self, d: &DiscountItem) -> Value {
        let mut doc = d.doc.clone();
        let promo = doc
            .get("promotion")
            .and_then(|p| p.get("id"))
            .cloned()
            .unwrap_or(Value::Null);
        doc.insert("promotion".into(), promo);
        Value::Object(doc)
    }

    pub fn plan_json(&self, p: &CancellationPlan) -> Value {
        let order = self.orders.get(&p.order);
        let channel = order.map_or(0, |o| o.channel);
        json!({
            "pk": p.pk,
            "invoice_number": order.and_then(|o| o.doc.get("invoice_number").cloned()),
            "order_previous_status": p.order_previous_status,
            "shipping_refund_amount": "0.00",
            "refund_amount": p.refund_amount,
            "discount_refund_amount": "0.00",
            "status": p.status,
            "plan_type": p.plan_type,
            "channel": channel,
            "channel_type": self.channels.get(&channel).map(|c| c.channel_type.clone()),
            "cancellationplanorderitem_set": p.items.iter().map(|pi| json!({
                "pk": pi.pk,
                "order_item": self.items.get(&pi.order_item).map_or(Value::Null, |i| self.item_flat(i)),
                "order_item_previous_status": pi.previous_status,
                "status": pi.status,
                "modified_date": iso(pi.modified_date),
            })).collect::<Vec<_>>(),
            "created_date": iso(p.created_date),
            "modified_date": iso(p.modified_date),
            "retail_store_remote_id": null,
            "staff_remote_id": null,
            "created_by": {"pk": 12, "username": "mp_test_user"},
            "last_updated_by": {"pk": 12, "username": "mp_test_user"},
            "payment_plan": {},
            "modified_by_id": 12,
            "order": order.map_or(Value::Null, |o| self.order_flat(o)),
            "reason": p.reason,
        })
    }

    pub fn transaction_json(&self, t: &OrderTransaction) -> Value {
        let mut doc = t.doc.clone();
        doc.insert("pk".into(), json!(t.pk));
        doc.insert("amount".into(), json!(t.amount));
        doc.insert("transaction_type".into(), json!(t.transaction_type));
        doc.insert("order".into(), json!(t.order));
        doc.insert(
            "related_cancellation_plan".into(),
            json!(t.related_cancellation_plan),
        );
        doc.insert("modified_date".into(), json!(iso(t.modified_date)));
        doc.insert("mapping".into(), json!(t.mapping));
        Value::Object(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_moves_are_allowed_and_backward_or_terminal_are_not() {
        assert!(transition_error("400", "500").is_none());
        assert!(transition_error("400", "400").is_none());
        assert!(transition_error("450", "100").is_none());
        assert!(transition_error("500", "400").is_some());
        assert!(transition_error("100", "400").is_some());
        assert!(transition_error("600", "550").is_some());
        assert!(transition_error("400", "999").is_some());
    }
}
