//! `sort` (Jolt's Sortr): orders object keys recursively, `~`-prefixed keys first, then by
//! Java's `String.compareTo` (UTF-16 code units). Arrays keep their order.

use crate::java;
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub(crate) fn sort_value(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| compare_keys(a, b));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_value(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_value).collect()),
        other => other,
    }
}

fn compare_keys(a: &str, b: &str) -> Ordering {
    let at = a.starts_with('~');
    let bt = b.starts_with('~');
    match (at, bt) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => java::compare_utf16(a, b),
    }
}
