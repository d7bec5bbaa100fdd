//! Order item endpoints: list, detail, PATCH, create_mapping (releases the stock reservation)
//! and bulk_status_update (validated transitions, all-or-nothing by default).

use super::errors::{ApiError, drf_bool, json_body, type_name};
use super::filters::date_bounds;
use super::model::{
    CONTENT_TYPE_ORDER_ITEM, Db, status_display, status_of, status_rank, transition_error,
};
use super::orders::mapping_code;
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use crate::server::json_response;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// `GET /order_items/` (`order_id`, `order`, `pk__in`, `status`, `modified_date__*`).
pub(crate) async fn list(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let q = &ctx.q;
    let order = match q.u64("order_id")? {
        Some(o) => Some(o),
        None => q.u64("order")?,
    };
    let pks = q.u64_list("pk__in")?;
    let statuses = q.any_of("status");
    let (gt, lt, gte, lte) = date_bounds(q, "modified_date")?;
    let number = q.get("order__number").or_else(|| q.get("order_number"));
    let db = crate::read(&app.db);
    let rows: Vec<_> = db
        .item_candidates(order)
        .into_iter()
        .filter(|i| order.is_none_or(|o| i.order == o))
        .filter(|i| pks.as_ref().is_none_or(|p| p.contains(&i.pk)))
        .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status)))
        .filter(|i| super::filters::in_window(i.modified_date, gt, lt, gte, lte))
        .filter(|i| number.is_none_or(|n| db.orders.get(&i.order).is_some_and(|o| o.number == n)))
        .collect();
    ctx.page(
        rows,
        |i, f| SortKey::modified_or_pk(f, i.modified_date, i.pk),
        |i| db.item_flat(i),
    )
    .map(Json)
}

/// `GET /order_items/{pk}/`.
pub(crate) async fn retrieve(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let i = db.items.get(&pk(&raw)?).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.item_flat(i)))
}

/// `GET /order_items/{pk}/detailed_integration/`.
pub(crate) async fn retrieve_detailed(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let i = db.items.get(&pk(&raw)?).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.item_detailed(i)))
}

/// Validate a status value (string or int) and its transition from `from`.
fn check_status(v: &Value, from: &str) -> Result<String, (String, String)> {
    let Some(to) = status_of(v) else {
        return Err(("status".into(), format!("\"{v}\" is not a valid choice.")));
    };
    if status_rank(&to).is_none() {
        return Err(("status".into(), format!("\"{to}\" is not a valid choice.")));
    }
    if let Some(msg) = transition_error(from, &to) {
        return Err(("non_field_errors".into(), msg));
    }
    Ok(to)
}

/// Apply the mutable fields of a PATCH / bulk row to item `pk` (already validated).
fn apply_fields(
    db: &mut Db,
    pk: u64,
    row: &Map<String, Value>,
    status: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let Some(item) = db.items.get_mut(&pk) else {
        return;
    };
    if let Some(s) = status {
        item.status = s;
    }
    for (k, v) in row {
        match k.as_str() {
            "extra_field" => {
                let merged = match (item.fields.get("extra_field"), v) {
                    (Some(Value::Object(old)), Value::Object(new)) => {
                        let mut m = old.clone();
                        for (k, v) in new {
                            m.insert(k.clone(), v.clone());
                        }
                        Value::Object(m)
                    }
                    _ => v.clone(),
                };
                item.fields.insert("extra_field".into(), merged);
            }
            "cancel_status" => item.cancel_status = v.as_str().map(str::to_string),
            "attributes" | "attributes_kwargs" | "external_status" | "invoice_number"
            | "invoice_date" | "e_archive_url" | "tracking_number" | "shipping_company"
            | "shipping_date" => {
                item.fields.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    item.modified_date = now;
}

/// Validate the non-status fields of a PATCH body.
fn check_fields(row: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(v) = row.get("extra_field")
        && !v.is_object()
    {
        return Err(ApiError::field(
            "extra_field",
            format!(
                "Expected a dictionary of items but got type \"{}\".",
                type_name(v)
            ),
        ));
    }
    if let Some(v) = row.get("attributes") {
        let Value::Object(m) = v else {
            return Err(ApiError::field(
                "attributes",
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    type_name(v)
                ),
            ));
        };
        if let Some((k, _)) = m.iter().find(|(_, v)| !(v.is_string() || v.is_boolean())) {
            return Err(ApiError::field(
                "attributes",
                format!("Value of \"{k}\" must be a string or a boolean."),
            ));
        }
    }
    if let Some(v) = row.get("attributes_kwargs")
        && !v.is_object()
    {
        return Err(ApiError::field(
            "attributes_kwargs",
            format!(
                "Expected a dictionary of items but got type \"{}\".",
                type_name(v)
            ),
        ));
    }
    Ok(())
}

/// `PATCH /order_items/{pk}/`.
pub(crate) async fn update(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let pk = pk(&raw)?;
    let row = json_body(&body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    let item = db.items.get(&pk).ok_or_else(ApiError::not_found)?;
    let order = item.order;
    let status = match row.get("status") {
        None => None,
        Some(v) => Some(check_status(v, &item.status).map_err(|(f, m)| ApiError::field(&f, m))?),
    };
    check_fields(&row)?;
    let changed_status = status.is_some();
    apply_fields(&mut db, pk, &row, status, now);
    if changed_status {
        db.recompute_order_status(order, now);
    }
    db.touch_order(order, now);
    let i = db.items.get(&pk).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.item_flat(i)))
}

/// `POST /order_items/{pk}/create_mapping/` `{"code", "update_stock"=true}`.
pub(crate) async fn create_mapping(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pk = pk(&raw)?;
    let fields = json_body(&body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    if !db.items.contains_key(&pk) {
        return Err(ApiError::not_found());
    }
    let code = mapping_code(&fields)?;
    let update_stock = match fields.get("update_stock") {
        None => true,
        Some(v) => drf_bool(v)
            .ok_or_else(|| ApiError::field("update_stock", "Must be a valid boolean."))?,
    };
    let existing = db
        .items
        .get(&pk)
        .and_then(|i| i.mapping.iter().find(|m| m.code == code).cloned());
    let (status, mapping) = match existing {
        Some(m) => (200, m),
        None => {
            let m = db.new_mapping(CONTENT_TYPE_ORDER_ITEM, pk, &code, "external_company");
            if let Some(i) = db.items.get_mut(&pk) {
                i.mapping.push(m.clone());
            }
            (201, m)
        }
    };
    let order = match db.items.get_mut(&pk) {
        Some(i) => {
            if update_stock {
                i.stock_reserved = false;
            }
            i.modified_date = now;
            i.order
        }
        None => return Err(ApiError::not_found()),
    };
    db.touch_order(order, now);
    Ok(json_response(status, &json!(mapping)))
}

/// `PATCH /order_items/bulk_status_update/` `{"orderitem_set": [...], "order"?}`.
pub(crate) async fn bulk_status_update(
    State(app): State<Arc<OmnitronApp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = json_body(&body)?;
    let rows = match fields.get("orderitem_set") {
        None => return Err(ApiError::field("orderitem_set", "This field is required.")),
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(ApiError::field(
                "orderitem_set",
                "This list may not be empty.",
            ));
        }
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(ApiError::field(
                "orderitem_set",
                format!(
                    "Expected a list of items but got type \"{}\".",
                    type_name(other)
                ),
            ));
        }
    };
    let partial = *crate::lock(&app.bulk_partial);
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    let order_number = fields.get("order").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let order_pk = match &order_number {
        Some(n) => Some(
            db.order_by_number(n)
                .map(|o| o.pk)
                .or_else(|| {
                    n.parse::<u64>()
                        .ok()
                        .filter(|pk| db.orders.contains_key(pk))
                })
                .ok_or_else(|| {
                    ApiError::field("order", format!("Order \"{n}\" does not exist."))
                })?,
        ),
        None => None,
    };
    let mut errors: Vec<Value> = Vec::new();
    let mut valid: Vec<(u64, Map<String, Value>, Option<String>)> = Vec::new();
    for row in &rows {
        let Value::Object(row) = row else {
            errors.push(
                json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
            );
            continue;
        };
        let id = match row.get("id").or_else(|| row.get("pk")) {
            None => {
                errors.push(json!({"id": ["This field is required."]}));
                continue;
            }
            Some(v) => v,
        };
        let Some(id) = id
            .as_u64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        else {
            errors.push(json!({"id": [format!("Incorrect type. Expected pk value, received {}.", type_name(id))]}));
            continue;
        };
        let Some(item) = db.items.get(&id) else {
            errors.push(json!({"id": [format!("Invalid pk \"{id}\" - object does not exist.")]}));
            continue;
        };
        if order_pk.is_some_and(|o| o != item.order) {
            errors.push(json!({"non_field_errors": [format!("Order item {id} does not belong to order {}.", order_number.clone().unwrap_or_default())]}));
            continue;
        }
        let status = match row.get("status") {
            None => None,
            Some(v) => match check_status(v, &item.status) {
                Ok(s) => Some(s),
                Err((f, m)) => {
                    errors.push(json!({f: [m]}));
                    continue;
                }
            },
        };
        errors.push(json!({}));
        valid.push((id, row.clone(), status));
    }
    let failed = errors
        .iter()
        .any(|e| e.as_object().is_some_and(|m| !m.is_empty()));
    if failed && !partial {
        return Err(ApiError::bad_request(json!({"orderitem_set": errors})));
    }
    let mut orders = Vec::new();
    let mut updated = Vec::new();
    for (id, row, status) in valid {
        apply_fields(&mut db, id, &row, status, now);
        if let Some(i) = db.items.get(&id) {
            orders.push(i.order);
            updated.push(id);
        }
    }
    orders.sort_unstable();
    orders.dedup();
    for o in orders {
        db.recompute_order_status(o, now);
    }
    if failed {
        return Ok(json_response(400, &json!({"orderitem_set": errors})));
    }
    let out: Vec<Value> = updated
        .iter()
        .filter_map(|pk| db.items.get(pk))
        .map(|i| {
            let mut v = db.item_flat(i);
            if let Some(m) = v.as_object_mut() {
                m.insert("status_display".into(), json!(status_display(&i.status)));
            }
            v
        })
        .collect();
    Ok((axum::http::StatusCode::OK, Json(Value::Array(out))).into_response())
}
