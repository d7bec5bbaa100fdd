//! Cancellation plans: list/detail/statuses, `update_status` with the plan lifecycle,
//! `cancellation_approved_order`, and `orders/{pk}/cancel/` to create plans.

use super::errors::{ApiError, json_body};
use super::filters::date_bounds;
use super::model::{PLAN_STATUSES, status_of};
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use crate::data::generator::create_plan_for_items;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /cancellation_plans/`.
pub(crate) async fn list(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let q = &ctx.q;
    let statuses = q.any_of("status");
    let plan_type = q.any_of("plan_type");
    let channel_type = q.any_of("channel_type");
    let channels = q.u64_list("channel_id__in")?;
    let order = match q.u64("order_id")? {
        Some(o) => Some(o),
        None => q.u64("order")?,
    };
    let order_number = q.get("order_number");
    let pks = match q.u64_list("pk__in")? {
        Some(p) => Some(p),
        None => q.u64_list("pk")?,
    };
    let (gt, lt, gte, lte) = date_bounds(q, "modified_date")?;
    let db = crate::read(&app.db);
    let rows: Vec<_> = db
        .plans
        .values()
        .filter(|p| statuses.as_ref().is_none_or(|s| s.contains(&p.status)))
        .filter(|p| plan_type.as_ref().is_none_or(|t| t.contains(&p.plan_type)))
        .filter(|p| {
            let ch = db.orders.get(&p.order).map(|o| o.channel);
            channels
                .as_ref()
                .is_none_or(|c| ch.is_some_and(|ch| c.contains(&ch)))
                && channel_type.as_ref().is_none_or(|t| {
                    ch.and_then(|ch| db.channels.get(&ch))
                        .is_some_and(|c| t.contains(&c.channel_type))
                })
        })
        .filter(|p| order.is_none_or(|o| p.order == o))
        .filter(|p| {
            order_number.is_none_or(|n| db.orders.get(&p.order).is_some_and(|o| o.number == n))
        })
        .filter(|p| pks.as_ref().is_none_or(|k| k.contains(&p.pk)))
        .filter(|p| super::filters::in_window(p.modified_date, gt, lt, gte, lte))
        .collect();
    ctx.page(
        rows,
        |p, f| SortKey::modified_or_pk(f, p.modified_date, p.pk),
        |p| db.plan_json(p),
    )
    .map(Json)
}

/// `GET /cancellation_plans/cancellation_plan_statuses/`.
pub(crate) async fn statuses() -> Json<Value> {
    Json(Value::Array(
        PLAN_STATUSES
            .iter()
            .map(|(v, l)| json!({"value": v, "label": l}))
            .collect(),
    ))
}

/// `GET /cancellation_plans/{pk}/`.
pub(crate) async fn retrieve(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let p = db.plans.get(&pk(&raw)?).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.plan_json(p)))
}

fn allowed(from: &str, to: &str) -> bool {
    match from {
        "waiting" => matches!(
            to,
            "confirmation_waiting" | "confirmed" | "approved" | "completed" | "rejected"
        ),
        "confirmation_waiting" => matches!(to, "confirmed" | "approved" | "completed" | "rejected"),
        "confirmed" => matches!(to, "approved" | "completed" | "rejected"),
        "approved" => to == "completed",
        _ => false,
    }
}

/// Move plan `plan_pk` to `to`, mirroring onto its items and order.
fn apply_plan_status(app: &OmnitronApp, plan_pk: u64, to: &str) {
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    let Some(plan) = db.plans.get_mut(&plan_pk) else {
        return;
    };
    plan.status = to.to_string();
    plan.modified_date = now;
    let done = matches!(to, "approved" | "completed");
    let terminal_item = if plan.plan_type == "refund" {
        "600"
    } else {
        "100"
    };
    let order_pk = plan.order;
    let previous = plan.order_previous_status.clone();
    let mut item_pks = Vec::new();
    for pi in plan.items.iter_mut() {
        if done {
            pi.status = terminal_item.to_string();
        }
        pi.modified_date = now;
        item_pks.push((pi.order_item, pi.previous_status.clone()));
    }
    let item_cancel = match to {
        "completed" | "approved" => "approved",
        other => other,
    };
    for (ipk, prev) in &item_pks {
        if let Some(i) = db.items.get_mut(ipk) {
            i.cancel_status = Some(item_cancel.to_string());
            if done {
                i.status = terminal_item.to_string();
                i.stock_reserved = false;
            } else if to == "rejected" {
                i.status = prev.clone();
            }
            i.modified_date = now;
        }
    }
    if let Some(o) = db.orders.get_mut(&order_pk) {
        o.cancel_status = Some(item_cancel.to_string());
        o.modified_date = now;
        if to == "rejected" || done {
            // Leave the "cancellation waiting" state; recompute from items below.
            o.status = previous;
        }
    }
    if done {
        db.recompute_order_status(order_pk, now);
    }
}

/// `POST /cancellation_plans/{pk}/update_status/` `{"status": s}`.
pub(crate) async fn update_status(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let plan_pk = pk(&raw)?;
    let fields = json_body(&body)?;
    let from = crate::read(&app.db)
        .plans
        .get(&plan_pk)
        .map(|p| p.status.clone())
        .ok_or_else(ApiError::not_found)?;
    let to = match fields.get("status") {
        None => return Err(ApiError::field("status", "This field is required.")),
        Some(Value::String(s)) if PLAN_STATUSES.iter().any(|(v, _)| v == s) => s.clone(),
        Some(v) => {
            return Err(ApiError::field(
                "status",
                format!(
                    "\"{}\" is not a valid choice.",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                ),
            ));
        }
    };
    if !allowed(&from, &to) {
        return Err(ApiError::non_field(format!(
            "Cancellation plan status can not be changed from {from} to {to}."
        )));
    }
    apply_plan_status(&app, plan_pk, &to);
    let db = crate::read(&app.db);
    let p = db.plans.get(&plan_pk).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.plan_json(p)))
}

/// `POST /orders/{pk}/cancellation_approved_order/` (body optional:
/// `{"cancellation_plan": pk}`): approve the order's open plan.
pub(crate) async fn approve_order(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let order_pk = pk(&raw)?;
    let fields = json_body(&body)?;
    let wanted = fields
        .get("cancellation_plan")
        .or_else(|| fields.get("plan"))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
    let plan_pk = {
        let db = crate::read(&app.db);
        if !db.orders.contains_key(&order_pk) {
            return Err(ApiError::not_found());
        }
        db.plans
            .values()
            .filter(|p| p.order == order_pk)
            .filter(|p| wanted.is_none_or(|w| p.pk == w))
            .find(|p| {
                matches!(
                    p.status.as_str(),
                    "waiting" | "confirmation_waiting" | "confirmed" | "approved"
                )
            })
            .map(|p| p.pk)
            .ok_or_else(|| {
                ApiError::non_field(
                    "There is no cancellation plan waiting for approval for this order.",
                )
            })?
    };
    apply_plan_status(&app, plan_pk, "approved");
    let db = crate::read(&app.db);
    let o = db.orders.get(&order_pk).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.order_flat(o)))
}

/// `POST /orders/{pk}/cancel/` `{"cancel_items": [{"order_item": pk}...]?, "plan_type"?}`:
/// creates a `waiting` plan (all items when `cancel_items` is absent).
pub(crate) async fn cancel_order(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let order_pk = pk(&raw)?;
    let fields = json_body(&body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    if !db.orders.contains_key(&order_pk) {
        return Err(ApiError::not_found());
    }
    if db
        .plans
        .values()
        .any(|p| p.order == order_pk && p.status == "waiting")
    {
        return Err(ApiError::non_field(
            "There is more than one cancellation request waiting for this order.",
        ));
    }
    let plan_type = match fields.get("plan_type").and_then(Value::as_str) {
        None | Some("cancel") => "cancel",
        Some("refund") => "refund",
        Some(other) => {
            return Err(ApiError::field(
                "plan_type",
                format!("\"{other}\" is not a valid choice."),
            ));
        }
    };
    let own: Vec<u64> = db.order_items.get(&order_pk).cloned().unwrap_or_default();
    let items: Vec<u64> = match fields.get("cancel_items") {
        None => own.clone(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for entry in a {
                let id = entry
                    .get("order_item")
                    .and_then(|v| {
                        v.as_u64()
                            .or_else(|| status_of(v).and_then(|s| s.parse().ok()))
                    })
                    .or_else(|| entry.as_u64());
                match id {
                    Some(id) if own.contains(&id) => out.push(id),
                    _ => {
                        return Err(ApiError::bad_request(
                            json!({"cancel_items": [{"order_item": [format!("Invalid pk \"{entry}\" - object does not exist.")]}]}),
                        ));
                    }
                }
            }
            out
        }
        Some(_) => return Err(ApiError::field("cancel_items", "Expected a list of items.")),
    };
    if items.is_empty() {
        return Err(ApiError::field(
            "cancel_items",
            "This list may not be empty.",
        ));
    }
    let plan_pk = create_plan_for_items(&mut db, order_pk, plan_type, "waiting", &items, now)
        .ok_or_else(|| ApiError::non_field("Order items could not be cancelled."))?;
    let p = db.plans.get(&plan_pk).ok_or_else(ApiError::not_found)?;
    Ok((axum::http::StatusCode::CREATED, Json(db.plan_json(p))).into_response())
}
