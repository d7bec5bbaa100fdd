//! The string attributes every record carries (decisions.md, "Attributes"): what scripts read
//! with `getAttribute`/`get_attribute` and expressions read as `${name}`.

use std::collections::BTreeMap;

use omnibridge_http::Exchange;
use serde_json::Value;

/// Largest response body copied into `invokehttp.response.body`.
pub const RESPONSE_BODY_ATTRIBUTE_CAP: usize = 256 * 1024;

/// A record's attributes. Keys are kept sorted so `allVar` and logs are stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(BTreeMap<String, String>);

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one attribute.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// Removes one attribute.
    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// One attribute's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// All attributes.
    pub fn map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Replaces every attribute with those a script returned.
    pub fn replace_all(&mut self, attributes: BTreeMap<String, String>) {
        self.0 = attributes;
    }

    /// `_order.<field>` for every scalar top-level field of the order, so `${_order.number}`
    /// works in a Query URL.
    pub fn set_order_fields(&mut self, order: &Value) {
        self.set_fields("_order", order, false);
    }

    /// `<prefix>.<field>` for every scalar top-level field of `object`, and with `nested` also
    /// `<prefix>.<field>.<sub>` for the scalars of its object fields (a plan's
    /// `_plan.order.number`).
    pub fn set_fields(&mut self, prefix: &str, object: &Value, nested: bool) {
        let Some(object) = object.as_object() else {
            return;
        };
        for (key, value) in object {
            match (scalar_text(value), value) {
                (Some(text), _) => {
                    self.0.insert(format!("{prefix}.{key}"), text);
                }
                (None, Value::Object(_)) if nested => {
                    self.set_fields(&format!("{prefix}.{key}"), value, false);
                }
                _ => {}
            }
        }
    }

    /// NiFi InvokeHTTP's attributes for an HTTP step's exchange.
    pub fn set_invokehttp(&mut self, exchange: &Exchange) {
        for key in [
            "invokehttp.status.code",
            "invokehttp.status.message",
            "invokehttp.response.body",
            "invokehttp.java.exception.class",
            "invokehttp.java.exception.message",
        ] {
            self.0.remove(key);
        }
        self.set("invokehttp.request.url", exchange.request.url.clone());
        match &exchange.outcome {
            Ok(response) => {
                self.set(
                    "invokehttp.status.code",
                    response.status.as_u16().to_string(),
                );
                self.set(
                    "invokehttp.status.message",
                    response.status.canonical_reason().unwrap_or(""),
                );
                let body = &response.body[..response.body.len().min(RESPONSE_BODY_ATTRIBUTE_CAP)];
                self.set("invokehttp.response.body", String::from_utf8_lossy(body));
            }
            Err(error) => {
                self.set(
                    "invokehttp.java.exception.class",
                    error.java_exception_class(),
                );
                self.set("invokehttp.java.exception.message", error.to_string());
            }
        }
    }

    /// Refreshes `allVar`: a JSON object of every other attribute (the seeds' `get_attribute`
    /// helper reads it first).
    pub fn refresh_all_var(&mut self) {
        self.0.remove("allVar");
        let object: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let text = Value::Object(object).to_string();
        self.0.insert("allVar".to_string(), text);
    }

    /// The `log.*` attributes, for the row log.
    pub fn log_attributes(&self) -> serde_json::Map<String, Value> {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with("log."))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    }

    /// Whether a script declared the order already in the ERP (`order_exists` = `"true"`).
    pub fn order_exists(&self) -> bool {
        self.get("order_exists")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

/// A scalar as an attribute's text; `None` for lists and objects. `null` is kept as an empty
/// string (absent in NiFi, but readable).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibridge_http::{Method, Request, Response, StatusCode, TransportError};
    use serde_json::json;

    #[test]
    fn order_scalars_become_underscore_order_attributes() {
        let mut attributes = Attributes::new();
        attributes.set_order_fields(&json!({
            "pk": 12, "number": "1001", "is_send": false, "amount": "10.50",
            "orderitem_set": [1], "customer": {"pk": 3}, "notes": null
        }));
        assert_eq!(attributes.get("_order.pk"), Some("12"));
        assert_eq!(attributes.get("_order.number"), Some("1001"));
        assert_eq!(attributes.get("_order.is_send"), Some("false"));
        assert_eq!(attributes.get("_order.notes"), Some(""));
        assert_eq!(attributes.get("_order.orderitem_set"), None);
        assert_eq!(attributes.get("_order.customer"), None);
    }

    #[test]
    fn invokehttp_attributes_describe_the_response_or_the_failure() {
        let mut attributes = Attributes::new();
        let ok = Exchange {
            request: Request::new(Method::GET, "http://erp/q"),
            outcome: Ok(Response {
                status: StatusCode::NOT_FOUND,
                headers: vec![],
                body: b"{\"order\":null}".to_vec().into(),
            }),
            attempts: 1,
            elapsed: Default::default(),
        };
        attributes.set_invokehttp(&ok);
        assert_eq!(attributes.get("invokehttp.status.code"), Some("404"));
        assert_eq!(
            attributes.get("invokehttp.status.message"),
            Some("Not Found")
        );
        assert_eq!(
            attributes.get("invokehttp.request.url"),
            Some("http://erp/q")
        );
        assert_eq!(
            attributes.get("invokehttp.response.body"),
            Some("{\"order\":null}")
        );
        let failed = Exchange {
            outcome: Err(TransportError::Timeout {
                url: "http://erp/q".into(),
                seconds: 60,
            }),
            ..ok
        };
        attributes.set_invokehttp(&failed);
        assert_eq!(attributes.get("invokehttp.status.code"), None);
        assert_eq!(
            attributes.get("invokehttp.java.exception.class"),
            Some("java.net.SocketTimeoutException")
        );
    }

    #[test]
    fn all_var_holds_every_other_attribute() {
        let mut attributes = Attributes::new();
        attributes.set("token.erp", "t");
        attributes.set("log.note", "n");
        attributes.refresh_all_var();
        attributes.refresh_all_var();
        let all: Value = serde_json::from_str(attributes.get("allVar").unwrap()).unwrap();
        assert_eq!(all, json!({"log.note": "n", "token.erp": "t"}));
        assert_eq!(attributes.log_attributes().len(), 1);
    }

    #[test]
    fn order_exists_is_the_string_true() {
        let mut attributes = Attributes::new();
        assert!(!attributes.order_exists());
        attributes.set("order_exists", "True");
        assert!(attributes.order_exists());
        attributes.set("order_exists", "yes");
        assert!(!attributes.order_exists());
    }
}
