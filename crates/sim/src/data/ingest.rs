//! Turning a detailed order document (the seed-004 shape) into the simulator's tables.
//!
//! The generator builds documents and ingests them through here, and `POST /__sim/orders`
//! accepts the same documents, so hand-written fixtures and generated data follow one path.

use crate::omnitron::model::{
    Channel, Db, DiscountItem, Mapping, Order, OrderItem, OrderTransaction, status_of,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Item fields that PATCH / bulk update may change; kept apart from the immutable rest.
pub(crate) const ITEM_MUTABLE_FIELDS: &[&str] = &[
    "extra_field",
    "attributes",
    "attributes_kwargs",
    "external_status",
    "invoice_number",
    "invoice_date",
    "e_archive_url",
    "tracking_number",
    "shipping_company",
    "shipping_date",
];

fn u64_field(m: &Map<String, Value>, key: &str, what: &str) -> Result<u64, String> {
    m.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{what}: field `{key}` must be a positive integer"))
}

fn date_field(m: &Map<String, Value>, key: &str, default: DateTime<Utc>) -> DateTime<Utc> {
    m.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(default, |d| d.with_timezone(&Utc))
}

fn mappings(v: Option<&Value>) -> Vec<Mapping> {
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Add one detailed order (with its `orderitem_set`, `discountitem_set` and
/// `ordertransaction_set`) to `db`. Returns the order pk.
pub(crate) fn ingest_order(db: &mut Db, doc: Value, now: DateTime<Utc>) -> Result<u64, String> {
    let Value::Object(mut m) = doc else {
        return Err("order: expected a JSON object".into());
    };
    let pk = u64_field(&m, "pk", "order")?;
    let number = match m.get("number") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(format!(
                "order {pk}: field `number` must be a non-empty string"
            ));
        }
    };
    if db.orders.contains_key(&pk) {
        return Err(format!("order {pk}: an order with this pk already exists"));
    }
    if db.order_by_number(&number).is_some() {
        return Err(format!("order {pk}: number {number} already exists"));
    }
    let channel = match m.get("channel") {
        Some(Value::Object(c)) => {
            let cpk = u64_field(c, "pk", "order.channel")?;
            db.channels.entry(cpk).or_insert_with(|| Channel {
                channel_type: c
                    .get("channel_type")
                    .and_then(Value::as_str)
                    .unwrap_or("web")
                    .to_string(),
                doc: c.clone(),
            });
            cpk
        }
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1),
        _ => 1,
    };
    let items = match m.remove("orderitem_set") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let discounts = match m.remove("discountitem_set") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let transactions = match m.remove("ordertransaction_set") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    m.insert("ordertransaction_set".into(), Value::Array(vec![]));
    m.insert("orderitem_set".into(), Value::Array(vec![]));
    m.insert("discountitem_set".into(), Value::Array(vec![]));
    let modified = date_field(&m, "modified_date", now);
    let order = Order {
        pk,
        number,
        channel,
        status: m
            .get("status")
            .and_then(status_of)
            .unwrap_or_else(|| "400".into()),
        is_send: m.get("is_send").and_then(Value::as_bool).unwrap_or(false),
        cancel_status: m
            .get("cancel_status")
            .and_then(Value::as_str)
            .map(str::to_string),
        external_status: m.get("external_status").cloned().unwrap_or(Value::Null),
        extra_field: m
            .get("extra_field")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
        created_date: date_field(&m, "created_date", modified),
        modified_date: modified,
        mapping: mappings(m.get("mapping")),
        doc: m,
    };
    let mut item_pks = Vec::new();
    for item in items {
        let Value::Object(mut im) = item else {
            return Err(format!("order {pk}: orderitem_set entries must be objects"));
        };
        let ipk = u64_field(&im, "pk", "order item")?;
        if db.items.contains_key(&ipk) {
            return Err(format!(
                "order item {ipk}: an item with this pk already exists"
            ));
        }
        let mut fields = Map::new();
        for key in ITEM_MUTABLE_FIELDS {
            if let Some(v) = im.get(*key) {
                fields.insert((*key).to_string(), v.clone());
            } else if *key == "shipping_date" {
                fields.insert((*key).to_string(), Value::Null);
            }
        }
        let mapping = mappings(im.get("mapping"));
        im.insert("order".into(), Value::from(pk));
        db.items.insert(
            ipk,
            OrderItem {
                pk: ipk,
                order: pk,
                status: im
                    .get("status")
                    .and_then(status_of)
                    .unwrap_or_else(|| order.status.clone()),
                cancel_status: im
                    .get("cancel_status")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                stock_reserved: im
                    .get("stock_reserved")
                    .and_then(Value::as_bool)
                    .unwrap_or(mapping.is_empty()),
                fields,
                modified_date: date_field(&im, "modified_date", modified),
                mapping,
                doc: im,
            },
        );
        item_pks.push(ipk);
    }
    let mut discount_pks = Vec::new();
    for d in discounts {
        let Value::Object(dm) = d else {
            return Err(format!(
                "order {pk}: discountitem_set entries must be objects"
            ));
        };
        let dpk = u64_field(&dm, "pk", "discount item")?;
        db.discounts.insert(
            dpk,
            DiscountItem {
                pk: dpk,
                order: pk,
                doc: dm,
            },
        );
        discount_pks.push(dpk);
    }
    for t in transactions {
        let Value::Object(tm) = t else {
            return Err(format!(
                "order {pk}: ordertransaction_set entries must be objects"
            ));
        };
        let tpk = u64_field(&tm, "pk", "order transaction")?;
        db.next_transaction_pk = db.next_transaction_pk.max(tpk);
        db.transactions.insert(
            tpk,
            OrderTransaction {
                pk: tpk,
                order: pk,
                transaction_type: tm
                    .get("transaction_type")
                    .and_then(Value::as_str)
                    .unwrap_or("purchase")
                    .to_string(),
                amount: tm
                    .get("amount")
                    .and_then(Value::as_str)
                    .unwrap_or("0.00")
                    .to_string(),
                related_cancellation_plan: tm
                    .get("related_cancellation_plan")
                    .and_then(Value::as_u64),
                modified_date: date_field(&tm, "modified_date", modified),
                mapping: mappings(tm.get("mapping")),
                doc: tm,
            },
        );
    }
    for mp in order
        .mapping
        .iter()
        .chain(db.items.values().flat_map(|i| i.mapping.iter()))
    {
        db.next_mapping_pk = db.next_mapping_pk.max(mp.pk);
    }
    db.order_items.insert(pk, item_pks);
    db.order_discounts.insert(pk, discount_pks);
    db.orders.insert(pk, order);
    Ok(pk)
}
