//! Order endpoints: lists (integration, detailed, plain), detail, `is_send` PATCH and the
//! order-level mapping.

use super::errors::{ApiError, drf_bool, json_body, type_name};
use super::filters::{date_bounds, in_window};
use super::model::{CONTENT_TYPE_ORDER, Db, MappedObject, Order};
use super::pagination::SortKey;
use super::{ListCtx, OmnitronApp, pk};
use crate::server::json_response;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// Orders matching the order filters of domain.md §7.3.
fn filter<'a>(db: &'a Db, ctx: &ListCtx) -> Result<Vec<&'a Order>, ApiError> {
    let q = &ctx.q;
    let is_send = q.bool("is_send")?;
    let statuses = q.any_of("status");
    let (gt, lt, gte, lte) = date_bounds(q, "modified_date")?;
    let (cgt, clt, cgte, clte) = date_bounds(q, "created_date")?;
    let channels = match q.u64_list("channel__in")? {
        Some(c) => Some(c),
        None => q.u64_list("channel")?.or(q.u64_list("channel_id__in")?),
    };
    let id_gt = q.u64("id__gt")?;
    let id_lt = q.u64("id__lt")?;
    let pks = match q.u64_list("pk__in")? {
        Some(p) => Some(p),
        None => match q.u64_list("id__in")? {
            Some(p) => Some(p),
            None => q.u64_list("pk")?,
        },
    };
    let numbers = q.any_of("number");
    let cancel_status = q.any_of("cancel_status");
    let channel_type = q.get("channel_type");
    Ok(db
        .orders
        .values()
        .filter(|o| is_send.is_none_or(|s| o.is_send == s))
        .filter(|o| statuses.as_ref().is_none_or(|s| s.contains(&o.status)))
        .filter(|o| in_window(o.modified_date, gt, lt, gte, lte))
        .filter(|o| in_window(o.created_date, cgt, clt, cgte, clte))
        .filter(|o| channels.as_ref().is_none_or(|c| c.contains(&o.channel)))
        .filter(|o| {
            channel_type.is_none_or(|t| {
                db.channels
                    .get(&o.channel)
                    .is_some_and(|c| c.channel_type == t)
            })
        })
        .filter(|o| id_gt.is_none_or(|g| o.pk > g))
        .filter(|o| id_lt.is_none_or(|l| o.pk < l))
        .filter(|o| pks.as_ref().is_none_or(|p| p.contains(&o.pk)))
        .filter(|o| numbers.as_ref().is_none_or(|n| n.contains(&o.number)))
        .filter(|o| {
            cancel_status
                .as_ref()
                .is_none_or(|c| o.cancel_status.as_ref().is_some_and(|s| c.contains(s)))
        })
        .collect())
}

fn order_key(o: &&Order, field: &str) -> SortKey {
    match field {
        "modified_date" => SortKey::Text(crate::clock::iso(o.modified_date)),
        "created_date" | "date_placed" => SortKey::Text(crate::clock::iso(o.created_date)),
        "number" => SortKey::Text(o.number.clone()),
        "status" => SortKey::Text(o.status.clone()),
        _ => SortKey::Num(o.pk),
    }
}

/// `GET /orders_integration/`: the list serializer (flat orders).
pub(crate) async fn list_integration(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let rows = filter(&db, &ctx)?;
    ctx.page(rows, order_key, |o| db.order_flat(o)).map(Json)
}

/// `GET /orders/`: same filters, flat shape.
pub(crate) async fn list(
    state: State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    list_integration(state, ctx).await
}

/// `GET /orders_integration/detailed/`: detailed orders, paginated.
pub(crate) async fn list_detailed(
    State(app): State<Arc<OmnitronApp>>,
    ctx: ListCtx,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let rows = filter(&db, &ctx)?;
    ctx.page(rows, order_key, |o| db.order_detailed(o))
        .map(Json)
}

/// `GET /orders/{pk}/`.
pub(crate) async fn retrieve(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let o = db.orders.get(&pk(&raw)?).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.order_flat(o)))
}

/// `GET /orders_integration/{pk}/detailed_integration/`.
pub(crate) async fn detailed_integration(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let db = crate::read(&app.db);
    let o = db.orders.get(&pk(&raw)?).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.order_detailed(o)))
}

/// `PATCH /orders/{pk}/` `{"is_send": bool, "external_status", "extra_field": {...}}`
/// (`extra_field` merged into the stored one, as Omnitron's JSON fields are); other keys are
/// ignored.
pub(crate) async fn update(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let pk = pk(&raw)?;
    let fields = json_body(&body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    if !db.orders.contains_key(&pk) {
        return Err(ApiError::not_found());
    }
    let is_send = match fields.get("is_send") {
        None => None,
        Some(v) => Some(
            drf_bool(v).ok_or_else(|| ApiError::field("is_send", "Must be a valid boolean."))?,
        ),
    };
    let extra_field = match fields.get("extra_field") {
        None => None,
        Some(Value::Object(new)) => Some(new.clone()),
        Some(other) => {
            return Err(ApiError::field(
                "extra_field",
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    type_name(other)
                ),
            ));
        }
    };
    let o = db.orders.get_mut(&pk).ok_or_else(ApiError::not_found)?;
    if let Some(s) = is_send {
        o.is_send = s;
        o.modified_date = now;
    }
    if let Some(status) = fields.get("external_status") {
        o.external_status = status.clone();
        o.modified_date = now;
    }
    if let Some(new) = extra_field {
        let mut merged = match &o.extra_field {
            Value::Object(old) => old.clone(),
            _ => serde_json::Map::new(),
        };
        for (k, v) in new {
            merged.insert(k, v);
        }
        o.extra_field = Value::Object(merged);
        o.modified_date = now;
    }
    let o = db.orders.get(&pk).ok_or_else(ApiError::not_found)?;
    Ok(Json(db.order_flat(o)))
}

/// `POST /orders/{pk}/create_mapping/` `{"code": str}`: 201 new, 200 when the code exists.
pub(crate) async fn create_mapping(
    State(app): State<Arc<OmnitronApp>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create_mapping_on(&app, &raw, &body, CONTENT_TYPE_ORDER, |db, pk| {
        db.orders
            .get_mut(&pk)
            .map(|o| (&mut o.mapping, &mut o.modified_date))
    })
}

/// A `create_mapping` route on any object with mappings: 404 for an unknown pk, 400 for a
/// missing code, then [`Db::find_or_add_mapping`]'s answer.
pub(crate) fn create_mapping_on(
    app: &OmnitronApp,
    raw: &str,
    body: &Bytes,
    content_type: u64,
    object: MappedObject,
) -> Result<Response, ApiError> {
    let pk = pk(raw)?;
    let fields = json_body(body)?;
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    if object(&mut db, pk).is_none() {
        return Err(ApiError::not_found());
    }
    let code = mapping_code(&fields)?;
    let (status, mapping) = db
        .find_or_add_mapping(
            content_type,
            pk,
            &code,
            &mapping_integration_type(&fields),
            now,
            object,
        )
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(status, &json!(mapping)))
}

/// The `integration_type` of a create_mapping body (`external_company`, the ERP, by default).
pub(crate) fn mapping_integration_type(fields: &serde_json::Map<String, Value>) -> String {
    fields
        .get("integration_type")
        .and_then(Value::as_str)
        .unwrap_or("external_company")
        .to_string()
}

/// The `code` field of a create_mapping body, validated as DRF would.
pub(crate) fn mapping_code(fields: &serde_json::Map<String, Value>) -> Result<String, ApiError> {
    match fields.get("code") {
        None | Some(Value::Null) => Err(ApiError::field("code", "This field is required.")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ApiError::field("code", "This field may not be blank."))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(ApiError::field(
            "code",
            format!("Not a valid string (got {}).", type_name(other)),
        )),
    }
}
