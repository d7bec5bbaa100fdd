//! Explain mode: which spec entry matched which input path, which entries matched nothing
//! (the usual cause of "my mapping returns null"), and which modify functions gave no value.

use serde::Serialize;
use serde_json::Value;

/// The result of `Jolt::explain`: the output (or error) plus a trace per step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    /// The transform's output, when it succeeded.
    pub output: Option<Value>,
    /// The error message, when it failed.
    pub error: Option<String>,
    /// One entry per step that ran.
    pub steps: Vec<StepExplanation>,
}

/// What one chain step did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepExplanation {
    /// Index of the step in the chain.
    pub index: usize,
    /// Operation name.
    pub operation: String,
    /// Whether this operation records matches (all but `sort` and custom operations do).
    pub traced: bool,
    /// Spec entries that matched, with the input path they matched, in processing order.
    pub matched: Vec<SpecMatch>,
    /// Spec entries (JSON Pointers into the spec) that matched no input at all.
    pub unmatched_spec_paths: Vec<String>,
    /// Modify entries whose function gave no value, so the key was not written.
    pub no_value: Vec<SpecMatch>,
    /// The step's output.
    pub output: Value,
}

/// A spec entry and the input path it applied to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SpecMatch {
    /// JSON Pointer into the spec document.
    pub spec_path: String,
    /// JSON Pointer into the step's input.
    pub input_path: String,
}

impl Explanation {
    /// A readable multi-line report.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for step in &self.steps {
            let _ = writeln!(out, "step {} ({}):", step.index, step.operation);
            if !step.traced {
                let _ = writeln!(out, "  (this operation is not traced)");
                continue;
            }
            for m in &step.matched {
                let input = if m.input_path.is_empty() {
                    "/"
                } else {
                    &m.input_path
                };
                let _ = writeln!(out, "  matched   {}  <-  input {}", m.spec_path, input);
            }
            for m in &step.no_value {
                let input = if m.input_path.is_empty() {
                    "/"
                } else {
                    &m.input_path
                };
                let _ = writeln!(
                    out,
                    "  no value  {}  at input {} (function gave nothing; key not written)",
                    m.spec_path, input
                );
            }
            for p in &step.unmatched_spec_paths {
                let _ = writeln!(out, "  UNMATCHED {p}  (no input reached this spec entry)");
            }
        }
        if let Some(e) = &self.error {
            let _ = writeln!(out, "error: {e}");
        }
        out
    }
}
