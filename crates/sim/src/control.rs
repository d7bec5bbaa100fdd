//! Helpers shared by both control planes.

use crate::clock::ClockChange;
use crate::faults::FaultRule;
use crate::journal::JournalQuery;
use crate::server::Flavor;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

/// The control routes both simulators share: journal, faults and clock.
pub(crate) fn shared_routes<A: Flavor>() -> Router<Arc<A>> {
    Router::new()
        .route("/journal", get(journal::<A>).delete(clear_journal::<A>))
        .route(
            "/faults",
            get(list_faults::<A>)
                .post(add_faults::<A>)
                .delete(clear_faults::<A>),
        )
        .route("/faults/{id}", delete(remove_fault::<A>))
        .route("/clock", get(clock::<A>).post(set_clock::<A>))
}

async fn journal<A: Flavor>(
    State(app): State<Arc<A>>,
    Query(q): Query<JournalQuery>,
) -> Json<Value> {
    Json(json!(app.common().journal.entries(&q)))
}

async fn clear_journal<A: Flavor>(State(app): State<Arc<A>>) -> Json<Value> {
    app.common().journal.clear();
    Json(json!({"cleared": true}))
}

async fn list_faults<A: Flavor>(State(app): State<Arc<A>>) -> Json<Value> {
    Json(json!(app.common().faults.list()))
}

async fn add_faults<A: Flavor>(State(app): State<Arc<A>>, body: Bytes) -> Response {
    match parse_rules(&body).and_then(|rules| {
        rules
            .into_iter()
            .map(|r| app.common().faults.add(r).map_err(|e| e.to_string()))
            .collect::<Result<Vec<u64>, String>>()
    }) {
        Ok(ids) => (axum::http::StatusCode::CREATED, Json(json!({"ids": ids}))).into_response(),
        Err(e) => control_error(e),
    }
}

async fn clear_faults<A: Flavor>(State(app): State<Arc<A>>) -> Json<Value> {
    app.common().faults.clear(app.seed());
    Json(json!({"cleared": true}))
}

async fn remove_fault<A: Flavor>(State(app): State<Arc<A>>, Path(id): Path<u64>) -> Response {
    if app.common().faults.remove(id) {
        Json(json!({"removed": id})).into_response()
    } else {
        crate::server::json_response(
            404,
            &json!({"error": format!("no fault rule with id {id}")}),
        )
    }
}

async fn clock<A: Flavor>(State(app): State<Arc<A>>) -> Json<Value> {
    Json(json!(app.common().clock.view()))
}

async fn set_clock<A: Flavor>(State(app): State<Arc<A>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ClockChange>(&body) {
        Ok(c) => Json(json!(app.common().clock.apply(&c))).into_response(),
        Err(e) => control_error(format!("clock body: {e}")),
    }
}

/// A 400 from the control plane naming the problem.
pub(crate) fn control_error(msg: String) -> Response {
    crate::server::json_response(400, &json!({"error": msg}))
}

/// One rule or an array of rules.
pub(crate) fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("fault rules: {e}"))?;
    let list = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, r)| serde_json::from_value(r).map_err(|e| format!("fault rule [{i}]: {e}")))
        .collect()
}
