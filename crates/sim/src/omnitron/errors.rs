//! DRF-style error answers: one type, so handlers read as the happy path.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer with a status and a DRF body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub body: Value,
}

impl ApiError {
    pub fn not_found() -> Self {
        Self {
            status: 404,
            body: json!({"detail": "Not found."}),
        }
    }
    pub fn invalid_page() -> Self {
        Self {
            status: 404,
            body: json!({"detail": "Invalid page."}),
        }
    }
    /// 400 `{"<field>": ["msg"]}`.
    pub fn field(field: &str, msg: impl Into<String>) -> Self {
        let mut m = serde_json::Map::new();
        m.insert(field.to_string(), json!([msg.into()]));
        Self {
            status: 400,
            body: Value::Object(m),
        }
    }
    /// 400 `{"non_field_errors": ["msg"]}`.
    pub fn non_field(msg: impl Into<String>) -> Self {
        Self {
            status: 400,
            body: json!({"non_field_errors": [msg.into()], "code": "invalid"}),
        }
    }
    /// 400 with a ready body.
    pub fn bad_request(body: Value) -> Self {
        Self { status: 400, body }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::server::json_response(self.status, &self.body)
    }
}

/// Parse a JSON object body the way DRF does: empty → `{}`, broken → 400 parse error.
pub(crate) fn json_body(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::field(
            "non_field_errors",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(&other)
            ),
        )),
        Err(e) => Err(ApiError::bad_request(
            json!({"detail": format!("JSON parse error - {e}"), "code": "parse_error"}),
        )),
    }
}

/// Python-ish type names for DRF messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// DRF BooleanField parsing.
pub(crate) fn drf_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "true" | "True" | "TRUE" | "1" | "yes" | "on" | "y" => Some(true),
            "false" | "False" | "FALSE" | "0" | "no" | "off" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
