//! Helpers shared by the crate's integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

/// Attributes from `(name, value)` pairs.
pub fn attributes(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}
