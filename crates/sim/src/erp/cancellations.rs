//! `/cancellations`: the Order Cancel Flow's ERP target. Every request is counted per plan so
//! tests can prove at-most-once (completed tasks) and retry (do_nothing, order transactions).

use super::ErpApp;
use super::scenario::CancelMode;
use super::state::ErpCancellation;
use super::xml::xml_response;
use crate::server::json_response;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// The plan id of a cancellation request: body `plan_id` / `cancellation_plan` /
/// `cancellation_plan_id` / `pk` / `id`, or the same query parameters.
pub(crate) fn plan_id_of(body: &Value, query: &str) -> Option<String> {
    let keys = [
        "plan_id",
        "cancellation_plan",
        "cancellation_plan_id",
        "pk",
        "id",
    ];
    let pick = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    keys.iter()
        .find_map(|k| body.get(k).and_then(pick))
        .or_else(|| {
            let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            keys.iter()
                .find_map(|k| q.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.clone()))
        })
}

fn record(app: &ErpApp, plan: &str, body: &Value, accepted: bool) {
    let mut store = crate::lock(&app.store);
    let entry = store
        .cancellations
        .entry(plan.to_string())
        .or_insert_with(|| ErpCancellation {
            plan_id: plan.to_string(),
            count: 0,
            accepted: 0,
            last_body: Value::Null,
        });
    entry.count += 1;
    if accepted {
        entry.accepted += 1;
    }
    entry.last_body = body.clone();
}

fn ok_body(plan: &str) -> Value {
    json!({"status": "OK", "plan_id": plan, "erp_ref": format!("C{plan}")})
}

pub(crate) async fn handle(app: &ErpApp, plan: &str, body: &Value, mode: CancelMode) -> Response {
    match mode {
        CancelMode::Ok => {
            record(app, plan, body, true);
            json_response(200, &ok_body(plan))
        }
        CancelMode::Reject { status } => {
            record(app, plan, body, false);
            json_response(
                status,
                &json!({"status": "REJECTED", "plan_id": plan, "message": "cancellation not allowed"}),
            )
        }
        CancelMode::Auth { status } => {
            let first = crate::lock(&app.store)
                .once
                .insert(format!("cancel:{plan}"));
            record(app, plan, body, !first);
            if first {
                json_response(status, &json!({"success": false, "error": "token expired"}))
            } else {
                json_response(200, &ok_body(plan))
            }
        }
        CancelMode::RetryLater { status } => {
            record(app, plan, body, false);
            json_response(
                status,
                &json!({"status": "BUSY", "message": "try again later"}),
            )
        }
        CancelMode::OkErrorBody => {
            record(app, plan, body, true);
            json_response(200, &json!({"status": "REJECTED", "plan_id": plan}))
        }
        CancelMode::Slow { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            record(app, plan, body, true);
            json_response(200, &ok_body(plan))
        }
        CancelMode::Hang => {
            record(app, plan, body, false);
            app.common.until_shutdown().await;
            json_response(503, &Value::Null)
        }
        CancelMode::Xml => {
            record(app, plan, body, true);
            xml_response(200, "response", &ok_body(plan))
        }
    }
}
