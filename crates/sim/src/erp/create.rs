//! `POST|PUT /orders`: Write Data to ERP.

use super::ErpApp;
use super::scenario::CreateMode;
use super::state::ErpOrder;
use super::xml::xml_response;
use crate::server::{gateway_html, html_response, json_response};
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// The order number of a create body: `number`, `order_number`, `order_no`, `orderNumber`,
/// or `order.number`.
pub(crate) fn number_of(body: &Value) -> Option<String> {
    let pick = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    ["number", "order_number", "order_no", "orderNumber"]
        .iter()
        .find_map(|k| body.get(k).and_then(pick))
        .or_else(|| {
            body.get("order")
                .and_then(|o| o.get("number"))
                .and_then(pick)
        })
}

/// Lines derived from the request: one per `orderitem_set` / `lines` / `items` entry, with
/// `erp_line_code = "L<item id>"`.
fn lines_of(body: &Value) -> Vec<Value> {
    let list = ["orderitem_set", "lines", "items", "order_items"]
        .iter()
        .find_map(|k| body.get(k).and_then(Value::as_array))
        .cloned()
        .unwrap_or_default();
    list.iter()
        .enumerate()
        .map(|(i, line)| {
            let id = [
                "pk",
                "id",
                "order_item_id",
                "omnitron_item_id",
                "order_item",
            ]
            .iter()
            .find_map(|k| line.get(k).filter(|v| !v.is_null()).cloned())
            .unwrap_or_else(|| json!(i + 1));
            let code = match &id {
                Value::String(s) => format!("L{s}"),
                other => format!("L{other}"),
            };
            json!({"omnitron_item_id": id, "erp_line_code": code})
        })
        .collect()
}

fn store(app: &ErpApp, number: &str, body: &Value) -> Value {
    let now = app.common.clock.now();
    let lines = lines_of(body);
    let feed = crate::lock(&app.scenario).status_feed.clone();
    let mut store = crate::lock(&app.store);
    let entry = store
        .orders
        .entry(number.to_string())
        .or_insert_with(|| ErpOrder {
            number: number.to_string(),
            creates: 0,
            erp_order_no: format!("E{number}"),
            lines: lines.clone(),
            last_body: Value::Null,
            created_at: now,
        });
    entry.creates += 1;
    entry.lines = lines.clone();
    entry.last_body = body.clone();
    let first = entry.creates == 1;
    let answer = json!({"erp_order_no": entry.erp_order_no, "lines": lines});
    if first && feed.feed_created_orders {
        let items = lines
            .iter()
            .map(|l| {
                json!({"id": l["omnitron_item_id"], "status": feed.created_status,
                    "invoice_number": format!("INV-{number}"), "invoice_date": crate::clock::iso(now),
                    "e_archive_url": format!("https://erp.example/e-archive/{number}"),
                    "shipping_company": "yurtici", "shipping_date": null,
                    "tracking_number": format!("TRK{number}")})
            })
            .collect();
        store.add_row(
            super::state::StatusRow {
                id: 0,
                order: json!(number),
                orderitems: items,
                modified_date: None,
            },
            now,
        );
    }
    answer
}

/// Answer a create request. `Err(())` = break the connection.
pub(crate) async fn handle(
    app: &ErpApp,
    body: &Value,
    number: &str,
    mode: CreateMode,
) -> Result<Response, ()> {
    Ok(match mode {
        CreateMode::Ok | CreateMode::AuthExpired => {
            if crate::lock(&app.scenario).create_reject_duplicates
                && crate::lock(&app.store).orders.contains_key(number)
            {
                return Ok(json_response(
                    409,
                    &json!({"errors": [format!("order {number} already exists")]}),
                ));
            }
            json_response(201, &store(app, number, body))
        }
        CreateMode::OkErrorBody => {
            json_response(200, &json!({"success": false, "message": "stock error"}))
        }
        CreateMode::Validation => json_response(
            400,
            &json!({"errors": [{"field": "orderitem_set", "message": "invalid line"}, {"field": "number", "message": format!("order {number} rejected")}]}),
        ),
        CreateMode::Duplicate => json_response(
            409,
            &json!({"errors": [format!("order {number} already exists")]}),
        ),
        CreateMode::Server { status } => html_response(status, gateway_html(status)),
        CreateMode::CommitThenFail { reset } => {
            store(app, number, body);
            if reset {
                return Err(());
            }
            html_response(500, gateway_html(500))
        }
        CreateMode::Slow { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            json_response(201, &store(app, number, body))
        }
        CreateMode::Hang => {
            app.common.until_shutdown().await;
            json_response(503, &Value::Null)
        }
        CreateMode::Reset => return Err(()),
        CreateMode::Xml => xml_response(201, "response", &store(app, number, body)),
    })
}
