//! The Check Response Script's output: the documented structure, checked field by field.
//!
//! ```json
//! {"is_send": "1", "data": {...}, "order_mapping_value": "<ERP order number>",
//!  "external_status": null, "extra_field": {},
//!  "orderitems": [{"order_item_id": 1, "item_mapping_code": "L1", "update_stock": true,
//!                  "external_status": null, "extra_field": {}}]}
//! ```

use serde_json::Value;

use crate::config::cards::json_kind as kind;

/// The product's default Check Response Script (Python, ExecuteScript style).
pub const DEFAULT_CHECK_RESPONSE_SCRIPT: &str = include_str!("default_check_response.py");

/// What Write Data to Omnitron needs, read from a Check Response Script's output.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResponseOutput {
    /// Whether the ERP accepted the order (`"1"` or `true`).
    pub is_send: bool,
    /// The order's ERP reference, for the order mapping.
    pub order_mapping_value: String,
    /// The order's `external_status`, if given.
    pub external_status: Option<Value>,
    /// The order's `extra_field`, if given.
    pub extra_field: Option<Value>,
    /// Per item mappings.
    pub items: Vec<ItemMapping>,
}

/// One `orderitems` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMapping {
    /// Omnitron order item id.
    pub order_item_id: i64,
    /// The item's ERP line code.
    pub item_mapping_code: String,
    /// Whether creating the mapping releases the stock reservation.
    pub update_stock: bool,
    /// `external_status` to PATCH onto the item, if any.
    pub external_status: Option<Value>,
    /// `extra_field` to PATCH onto the item, if any.
    pub extra_field: Option<Value>,
}

impl ItemMapping {
    /// The PATCH body for the item, when it has `external_status` or `extra_field`.
    pub fn patch_body(&self) -> Option<Value> {
        patch_body(self.external_status.as_ref(), self.extra_field.as_ref())
    }
}

impl CheckResponseOutput {
    /// The PATCH body for the order, when it has `external_status` or `extra_field`.
    pub fn order_patch_body(&self) -> Option<Value> {
        patch_body(self.external_status.as_ref(), self.extra_field.as_ref())
    }
}

/// `{"external_status", "extra_field"}` with what is set: a null status and an empty or
/// missing `extra_field` are left out; `None` when nothing is left.
fn patch_body(external_status: Option<&Value>, extra_field: Option<&Value>) -> Option<Value> {
    let mut body = serde_json::Map::new();
    if let Some(status) = external_status.filter(|v| !v.is_null()) {
        body.insert("external_status".into(), status.clone());
    }
    if let Some(extra) = extra_field.filter(|v| v.as_object().is_some_and(|o| !o.is_empty())) {
        body.insert("extra_field".into(), extra.clone());
    }
    (!body.is_empty()).then_some(Value::Object(body))
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `is_send` says yes. Anything but the documented forms is an error, so that a typo
/// never marks an order sent.
fn read_is_send(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "1" || s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s == "0" || s.eq_ignore_ascii_case("false") || s.is_empty() => {
            Ok(false)
        }
        Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        Value::Null => Ok(false),
        other => Err(format!(
            "`is_send` must be \"1\" or true (or \"0\"/false), not {other}"
        )),
    }
}

impl CheckResponseOutput {
    /// Reads and checks the output; the error names the field at fault.
    pub fn parse(output: &Value) -> Result<Self, String> {
        let Some(object) = output.as_object() else {
            return Err(format!(
                "the Check Response Script must output a JSON object with is_send, \
                 order_mapping_value and orderitems, not {}",
                kind(output)
            ));
        };
        let is_send = read_is_send(
            object
                .get("is_send")
                .ok_or("the Check Response Script output has no `is_send`")?,
        )?;
        let optional = |key: &str| object.get(key).filter(|v| !v.is_null()).cloned();
        if !is_send {
            return Ok(Self {
                is_send,
                order_mapping_value: object
                    .get("order_mapping_value")
                    .and_then(text_of)
                    .unwrap_or_default(),
                external_status: optional("external_status"),
                extra_field: optional("extra_field"),
                items: Vec::new(),
            });
        }
        let order_mapping_value = object
            .get("order_mapping_value")
            .and_then(text_of)
            .ok_or("the Check Response Script output has no `order_mapping_value` (the ERP's order number, a non-empty string)")?;
        let raw_items = match object.get("orderitems") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(format!("`orderitems` must be a list, not {}", kind(other)));
            }
            None => {
                return Err("the Check Response Script output has no `orderitems` list".to_string());
            }
        };
        let items = raw_items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_item(i, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            is_send,
            order_mapping_value,
            external_status: optional("external_status"),
            extra_field: optional("extra_field"),
            items,
        })
    }
}

fn parse_item(index: usize, item: &Value) -> Result<ItemMapping, String> {
    let field = |name: &str| format!("orderitems[{index}].{name}");
    let object = item
        .as_object()
        .ok_or_else(|| format!("orderitems[{index}] must be an object, not {}", kind(item)))?;
    let order_item_id = match object.get("order_item_id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "`{}` must be an Omnitron order item id",
            field("order_item_id")
        )
    })?;
    let item_mapping_code = object
        .get("item_mapping_code")
        .and_then(text_of)
        .ok_or_else(|| format!("`{}` is missing or empty", field("item_mapping_code")))?;
    let update_stock = match object.get("update_stock") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "`{}` must be true or false, not {other}",
                field("update_stock")
            ));
        }
    };
    Ok(ItemMapping {
        order_item_id,
        item_mapping_code,
        update_stock,
        external_status: object
            .get("external_status")
            .filter(|v| !v.is_null())
            .cloned(),
        extra_field: object.get("extra_field").filter(|v| !v.is_null()).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_shape_is_read() {
        let output = CheckResponseOutput::parse(&json!({
            "is_send": "1", "data": {}, "order_mapping_value": "E100", "external_status": null,
            "orderitems": [
                {"order_item_id": "7", "item_mapping_code": "L1", "update_stock": false,
                 "external_status": "shipped", "extra_field": {}},
                {"order_item_id": 8, "item_mapping_code": 8}
            ],
            "extra_field": {}
        }))
        .unwrap();
        assert!(output.is_send);
        assert_eq!(output.order_mapping_value, "E100");
        assert_eq!(output.items[0].order_item_id, 7);
        assert!(!output.items[0].update_stock);
        assert_eq!(
            output.items[0].patch_body(),
            Some(json!({"external_status": "shipped"}))
        );
        assert_eq!(output.items[1].item_mapping_code, "8");
        assert!(output.items[1].update_stock);
        assert_eq!(output.items[1].patch_body(), None);
    }

    #[test]
    fn refusal_needs_no_mappings() {
        let output = CheckResponseOutput::parse(&json!({"is_send": "0"})).unwrap();
        assert!(!output.is_send);
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [
            (json!([]), "JSON object"),
            (json!({}), "is_send"),
            (json!({"is_send": "yes"}), "is_send"),
            (
                json!({"is_send": true, "orderitems": []}),
                "order_mapping_value",
            ),
            (
                json!({"is_send": true, "order_mapping_value": "E1"}),
                "orderitems",
            ),
            (
                json!({"is_send": true, "order_mapping_value": "E1", "orderitems": [{"item_mapping_code": "L"}]}),
                "orderitems[0].order_item_id",
            ),
            (
                json!({"is_send": true, "order_mapping_value": "E1", "orderitems": [{"order_item_id": 1, "item_mapping_code": ""}]}),
                "orderitems[0].item_mapping_code",
            ),
        ];
        for (output, needle) in cases {
            let err = CheckResponseOutput::parse(&output).unwrap_err();
            assert!(err.contains(needle), "{output}: {err}");
        }
    }
}
