//! Order transactions (purchase / refund) and their integration mapping.

use super::errors::ApiError;
use super::filters::date_bounds;
use super::model::CONTENT_TYPE_ORDER_TRANSACTION;
use super::orders::create_mapping_on;
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;
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
        |t, f| SortKey::modified_or_pk(f, t.modified_date, t.pk),
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
    create_mapping_on(
        &app,
        &raw,
        &body,
        CONTENT_TYPE_ORDER_TRANSACTION,
        |db, pk| {
            db.transactions
                .get_mut(&pk)
                .map(|t| (&mut t.mapping, &mut t.modified_date))
        },
    )
}
