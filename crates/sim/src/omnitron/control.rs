//! The Omnitron simulator's control plane (`/__sim/...`): seed, reset, state, journal, faults,
//! clock, auth policy, fixtures. Not journaled, not faulted, no auth.

use super::OmnitronApp;
use super::auth::AuthPolicy;
use crate::clock::ClockChange;
use crate::control::control_error;
use crate::data::generator::generate;
use crate::data::ingest::ingest_order;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<OmnitronApp>> {
    crate::control::shared_routes()
        .route("/seed", post(seed))
        .route("/reset", post(reset_route))
        .route("/state", get(state))
        .route("/auth", get(auth).post(set_auth))
        .route("/auth/revoke", post(revoke))
        .route("/orders", post(add_orders))
        .route("/orders/{pk}", get(order))
        .route("/config", post(config))
}

#[derive(Deserialize)]
struct SeedBody {
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    orders: Option<usize>,
}

pub(crate) fn reseed(app: &OmnitronApp, seed: u64, orders: usize) {
    let db = generate(seed, orders, app.common.clock.now());
    *crate::lock(&app.initial) = db.clone();
    *crate::write(&app.db) = db;
    *crate::lock(&app.seed) = seed;
}

pub(crate) fn reset(app: &OmnitronApp) {
    let initial = crate::lock(&app.initial).clone();
    *crate::write(&app.db) = initial;
    app.common.journal.clear();
    app.common.faults.clear(*crate::lock(&app.seed));
    app.common.clock.reset();
    if let Some(at) = app.config.frozen_at {
        app.common.clock.apply(&ClockChange {
            freeze_at: Some(at),
            ..Default::default()
        });
    }
    let mut tokens = crate::lock(&app.tokens);
    tokens.revoke_all();
    tokens.policy = AuthPolicy::default();
}

pub(crate) fn insert_orders(app: &OmnitronApp, orders: Vec<Value>) -> Result<Vec<u64>, String> {
    let now = app.common.clock.now();
    let mut db = crate::write(&app.db);
    let mut staged = db.clone();
    let mut pks = Vec::new();
    for (i, o) in orders.into_iter().enumerate() {
        pks.push(ingest_order(&mut staged, o, now).map_err(|e| format!("orders[{i}]: {e}"))?);
    }
    *db = staged;
    Ok(pks)
}

/// `POST /__sim/seed` `{"seed": 7, "orders": 200}`: regenerate the data.
async fn seed(State(app): State<Arc<OmnitronApp>>, body: Bytes) -> Response {
    let b: SeedBody = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
        Ok(b) => b,
        Err(e) => return control_error(format!("seed body: {e}")),
    };
    let seed = b.seed.unwrap_or(*crate::lock(&app.seed));
    let orders = b.orders.unwrap_or(app.config.orders);
    reseed(&app, seed, orders);
    Json(json!({"seed": seed, "orders": orders})).into_response()
}

async fn reset_route(State(app): State<Arc<OmnitronApp>>) -> Json<Value> {
    reset(&app);
    Json(json!({"reset": true}))
}

async fn state(State(app): State<Arc<OmnitronApp>>) -> Json<Value> {
    Json(json!(super::state::snapshot(&crate::read(&app.db))))
}

async fn auth(State(app): State<Arc<OmnitronApp>>) -> Json<Value> {
    let t = crate::lock(&app.tokens);
    Json(
        json!({"policy": t.policy, "logins": t.logins, "username": app.config.username, "password": app.config.password}),
    )
}

async fn set_auth(State(app): State<Arc<OmnitronApp>>, body: Bytes) -> Response {
    match serde_json::from_slice::<AuthPolicy>(&body) {
        Ok(p) => {
            crate::lock(&app.tokens).policy = p.clone();
            Json(json!({"policy": p})).into_response()
        }
        Err(e) => control_error(format!("auth policy: {e}")),
    }
}

/// `POST /__sim/auth/revoke` `{"token": "..."}`, or `{}` to revoke every token.
async fn revoke(State(app): State<Arc<OmnitronApp>>, body: Bytes) -> Json<Value> {
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_string));
    let mut t = crate::lock(&app.tokens);
    let revoked = match token {
        Some(tok) => usize::from(t.revoke(&tok)),
        None => t.revoke_all(),
    };
    Json(json!({"revoked": revoked}))
}

/// `POST /__sim/orders`: one detailed order or an array of them (seed-004 shape).
async fn add_orders(State(app): State<Arc<OmnitronApp>>, body: Bytes) -> Response {
    let orders = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => a,
        Ok(v @ Value::Object(_)) => vec![v],
        Ok(_) => {
            return control_error("orders: expected an order object or an array of them".into());
        }
        Err(e) => return control_error(format!("orders: {e}")),
    };
    match insert_orders(&app, orders) {
        Ok(pks) => (axum::http::StatusCode::CREATED, Json(json!({"pks": pks}))).into_response(),
        Err(e) => control_error(e),
    }
}

async fn order(State(app): State<Arc<OmnitronApp>>, Path(pk): Path<u64>) -> Response {
    let db = crate::read(&app.db);
    match db.orders.get(&pk) {
        Some(o) => Json(db.order_detailed(o)).into_response(),
        None => crate::server::json_response(404, &json!({"error": format!("no order {pk}")})),
    }
}

#[derive(Deserialize)]
struct ConfigBody {
    #[serde(default)]
    bulk_partial: Option<bool>,
}

async fn config(State(app): State<Arc<OmnitronApp>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ConfigBody>(&body) {
        Ok(c) => {
            if let Some(b) = c.bulk_partial {
                *crate::lock(&app.bulk_partial) = b;
            }
            Json(json!({"bulk_partial": *crate::lock(&app.bulk_partial)})).into_response()
        }
        Err(e) => control_error(format!("config: {e}")),
    }
}
