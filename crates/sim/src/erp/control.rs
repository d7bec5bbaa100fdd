//! The ERP simulator's control plane (`/__sim/...`, also reachable as `/__erp/...`).

use super::push::{PushBatchResult, PushConfig, outbound_rows, push};
use super::scenario::{CancelMode, CreateMode, QueryMode};
use super::state::{ErpState, StatusRow};
use super::{ErpApp, state};
use crate::control::control_error;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<ErpApp>> {
    crate::control::shared_routes()
        .route("/state", get(state_route))
        .route("/reset", post(reset_route))
        .route("/seed", post(seed))
        .route("/scenario", get(scenario).post(set_scenario))
        .route("/scenario/query/{number}", put(query_mode))
        .route("/scenario/create/{number}", put(create_mode))
        .route("/scenario/cancellations/{plan}", put(cancel_mode))
        .route("/status_rows", post(add_rows).delete(clear_rows))
        .route("/push", post(push_route))
}

pub(crate) fn snapshot(app: &ErpApp) -> ErpState {
    let store = crate::lock(&app.store);
    ErpState {
        orders: store.orders.values().cloned().collect(),
        cancellations: store.cancellations.values().cloned().collect(),
        notifications: store.notifications.clone(),
        status_rows: store.status_rows.clone(),
        logins: crate::lock(&app.tokens).logins,
    }
}

pub(crate) fn reset(app: &ErpApp) {
    *crate::lock(&app.store) = state::ErpStore::default();
    *crate::lock(&app.scenario) = app.config.scenario.clone();
    *crate::lock(&app.tokens) = super::auth::ErpTokens::default();
    app.common.journal.clear();
    app.common.faults.clear(*crate::lock(&app.seed));
    app.common.clock.reset();
}

pub(crate) async fn run_push(app: &ErpApp, cfg: PushConfig) -> Vec<PushBatchResult> {
    let rows = cfg
        .rows
        .clone()
        .unwrap_or_else(|| outbound_rows(&crate::lock(&app.store).status_rows));
    push(&cfg, rows).await
}

async fn state_route(State(app): State<Arc<ErpApp>>) -> Json<Value> {
    Json(json!(snapshot(&app)))
}

async fn reset_route(State(app): State<Arc<ErpApp>>) -> Json<Value> {
    reset(&app);
    Json(json!({"reset": true}))
}

async fn seed(State(app): State<Arc<ErpApp>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seed").and_then(Value::as_u64))
    {
        Some(s) => {
            *crate::lock(&app.seed) = s;
            app.common.faults.clear(s);
            Json(json!({"seed": s})).into_response()
        }
        None => control_error("seed: expected {\"seed\": <integer>}".into()),
    }
}

async fn scenario(State(app): State<Arc<ErpApp>>) -> Json<Value> {
    Json(json!(*crate::lock(&app.scenario)))
}

/// `POST /__sim/scenario`: a partial scenario; the keys given replace the current ones.
async fn set_scenario(State(app): State<Arc<ErpApp>>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(_) => return control_error("scenario: expected a JSON object".into()),
        Err(e) => return control_error(format!("scenario: {e}")),
    };
    let mut current = json!(*crate::lock(&app.scenario));
    if let (Some(cur), Some(p)) = (current.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if !cur.contains_key(k) {
                return control_error(format!("scenario: unknown key `{k}`"));
            }
            cur.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value::<super::Scenario>(current) {
        Ok(s) => {
            *crate::lock(&app.scenario) = s.clone();
            Json(json!(s)).into_response()
        }
        Err(e) => control_error(format!("scenario: {e}")),
    }
}

async fn query_mode(
    State(app): State<Arc<ErpApp>>,
    Path(number): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<QueryMode>(&body) {
        Ok(m) => {
            crate::lock(&app.scenario)
                .query_by_number
                .insert(number.clone(), m.clone());
            Json(json!({"number": number, "query": m})).into_response()
        }
        Err(e) => control_error(format!("query mode: {e}")),
    }
}

async fn create_mode(
    State(app): State<Arc<ErpApp>>,
    Path(number): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<CreateMode>(&body) {
        Ok(m) => {
            crate::lock(&app.scenario)
                .create_by_number
                .insert(number.clone(), m.clone());
            Json(json!({"number": number, "create": m})).into_response()
        }
        Err(e) => control_error(format!("create mode: {e}")),
    }
}

async fn cancel_mode(
    State(app): State<Arc<ErpApp>>,
    Path(plan): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<CancelMode>(&body) {
        Ok(m) => {
            crate::lock(&app.scenario)
                .cancellation_by_plan
                .insert(plan.clone(), m.clone());
            Json(json!({"plan_id": plan, "cancellation": m})).into_response()
        }
        Err(e) => control_error(format!("cancellation mode: {e}")),
    }
}

async fn add_rows(State(app): State<Arc<ErpApp>>, body: Bytes) -> Response {
    let rows: Vec<StatusRow> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => match a
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
        {
            Ok(r) => r,
            Err(e) => return control_error(format!("status rows: {e}")),
        },
        Ok(v @ Value::Object(_)) => match serde_json::from_value(v) {
            Ok(r) => vec![r],
            Err(e) => return control_error(format!("status row: {e}")),
        },
        Ok(_) => return control_error("status rows: expected a row object or an array".into()),
        Err(e) => return control_error(format!("status rows: {e}")),
    };
    let now = app.common.clock.now();
    let mut store = crate::lock(&app.store);
    let ids: Vec<u64> = rows.into_iter().map(|r| store.add_row(r, now)).collect();
    (axum::http::StatusCode::CREATED, Json(json!({"ids": ids}))).into_response()
}

async fn clear_rows(State(app): State<Arc<ErpApp>>) -> Json<Value> {
    crate::lock(&app.store).status_rows.clear();
    Json(json!({"cleared": true}))
}

async fn push_route(State(app): State<Arc<ErpApp>>, body: Bytes) -> Response {
    match serde_json::from_slice::<PushConfig>(&body) {
        Ok(cfg) => Json(json!(run_push(&app, cfg).await)).into_response(),
        Err(e) => control_error(format!("push: {e}")),
    }
}
