//! Discount item endpoints.

use super::errors::ApiError;
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use std::sync::Arc;

/// `GET /discount_items/` (`order_id` / `order`).
pub(crate) async fn list(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let order = match ctx.q.u64("order_id")? {
        Some(o) => Some(o),
        None => ctx.q.u64("order")?,
    };
    let pks = ctx.q.u64_list("pk__in")?;
    let db = crate::read(&app.db);
    let rows: Vec<_> = db
        .discount_candidates(order)
        .into_iter()
        .filter(|d| order.is_none_or(|o| d.order == o))
        .filter(|d| pks.as_ref().is_none_or(|p| p.contains(&d.pk)))
        .collect();
    ctx.page(rows, |d, _| SortKey::Num(d.pk), |d| db.discount_flat(d))
        .map(Json)
}

/// `GET /discount_items/{pk}/`.
pub(crate) async fn retrieve(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let d = db
        .discounts
        .get(&pk(&raw)?)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(db.discount_flat(d)))
}

/// `GET /discount_items/{pk}/detailed_integration/`: with promotion and applicant sets.
pub(crate) async fn retrieve_detailed(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let d = db
        .discounts
        .get(&pk(&raw)?)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(Value::Object(d.doc.clone())))
}
