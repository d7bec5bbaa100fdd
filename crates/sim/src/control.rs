//! Helpers shared by both control planes.

use crate::faults::FaultRule;
use axum::response::Response;
use serde_json::{Value, json};

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
