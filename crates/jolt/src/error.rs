//! The two error kinds of the engine: a spec that cannot be compiled, and a run that failed.

use thiserror::Error;

/// A spec could not be compiled. `path` is a JSON Pointer (RFC 6901) into the spec document,
/// e.g. `/0/spec/orderitem_set/*/pk`, so a person can find the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid Jolt spec at {}: {message}", if path.is_empty() { "the root" } else { path.as_str() })]
pub struct SpecError {
    /// JSON Pointer into the spec document ("" is the whole spec).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Running a compiled spec failed. Names the chain step (operation index and name) and the
/// input path (JSON Pointer) being processed when it failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Jolt transform failed in operation {operation_index} ({operation}) at input {}: {message}", if input_path.is_empty() { "/" } else { input_path.as_str() })]
pub struct TransformError {
    /// Index of the chain step that failed (0 for a single operation).
    pub operation_index: usize,
    /// The operation name of that step (`shift`, `modify-overwrite-beta`, ...).
    pub operation: String,
    /// JSON Pointer into that step's input.
    pub input_path: String,
    /// What went wrong.
    pub message: String,
}

/// An error raised inside one operation, before the chain adds the step index and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepError {
    pub input_path: String,
    pub message: String,
}

impl StepError {
    pub(crate) fn new(input_path: impl Into<String>, message: impl Into<String>) -> Self {
        StepError {
            input_path: input_path.into(),
            message: message.into(),
        }
    }
}

/// Appends one JSON Pointer token, escaping `~` and `/` as RFC 6901 requires.
pub(crate) fn push_pointer(path: &mut String, token: &str) {
    path.push('/');
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            _ => path.push(c),
        }
    }
}

/// `base` plus one JSON Pointer token.
pub(crate) fn pointer_child(base: &str, token: &str) -> String {
    let mut p = String::with_capacity(base.len() + token.len() + 1);
    p.push_str(base);
    push_pointer(&mut p, token);
    p
}
