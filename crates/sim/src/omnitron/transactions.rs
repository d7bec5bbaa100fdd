//! Order transactions (purchase / refund) and their integration mapping.

use super::errors::{ApiError, json_body};
use super::filters::date_bounds;
use super::model::CONTENT_TYPE_ORDER_TRANSACTION;
use super::orders::{mapping_code, mapping_integration_type};
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use crate::server::json_response;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /order_transactions/` (`transaction_type`, `order`, `mapping__isnull`, `modified_date__*`).
pub(crate) async fn list(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let q = &ctx.q;
    let types = q.any_of("transaction_type");
    let order = match q.u64("order")? {
        Some(o) => Some(o),
        None => q.u64("order_id")?,
    };
    let unmapped = q.bool("mapping__isnull")?;
    let plan = q.u64("related_cancellation_plan")?;
    let (gt, lt, gte, lte) = date_bounds(q, "modified_date")?;
    let db = crate::read(&app.db);
    let rows: Vec<_> = db
        .transactions
        .values()
        .filter(|t| {
            types
                .as_ref()
                .is_none_or(|ty| ty.contains(&t.transaction_type))
        })
        .filter(|t| order.is_none_or(|o| t.order == o))
        .filter(|t| unmapped.is_none_or(|u| t.mapping.is_empty() == u))
        .filter(|t| plan.is_none_or(|p| t.related_cancellation_plan == Some(p)))
        .filter(|t| super::filters::in_window(t.modified_date, gt, lt, gte, lte))
        .collect();
    ctx.page(
        rows,
        |t, f| {
            if f == "modified_date" {
                SortKey::Text(crate::clock::iso(t.modified_date))
            } else {
                SortKey::Num(t.pk)
            }
        },
        |t| db.transaction_json(t),
    )
    .map(Json)
}

/// `GET /order_transactions/{pk}/`.
pub(crate) async fn retrieve(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let t = db
        .transactions
        .get(&pk(&raw)?)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(db.transaction_json(t)))
}

/// `POST /order_transactions/{pk}/create_mapping/` `{"code", "integration_type"?}`.
pub(crate) async fn create_mapping(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tpk = pk(&raw)?;
    let fields = json_body(&body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    if !db.transactions.contains_key(&tpk) {
        return Err(ApiError::not_found());
    }
    let code = mapping_code(&fields)?;
    let (status, mapping) = db
        .find_or_add_mapping(
            CONTENT_TYPE_ORDER_TRANSACTION,
            tpk,
            &code,
            &mapping_integration_type(&fields),
            |db, pk| db.transactions.get_mut(&pk).map(|t| &mut t.mapping),
        )
        .ok_or_else(ApiError::not_found)?;
    if status == 201
        && let Some(t) = db.transactions.get_mut(&tpk)
    {
        t.modified_date = now;
    }
    Ok(json_response(status, &json!(mapping)))
}
