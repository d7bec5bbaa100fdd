//! The Mapping card's runnable form: a Jolt spec compiled once when the flow loads.

use std::path::PathBuf;

use omnibridge_jolt::Jolt;
use serde_json::Value;

use crate::execution::Stop;

/// A compiled Mapping card.
#[derive(Debug, Clone)]
pub struct MappingStep {
    /// The spec file.
    pub path: PathBuf,
    /// The compiled spec.
    pub jolt: Jolt,
}

impl MappingStep {
    /// Applies the spec; an error names the file.
    pub fn apply(&self, input: &Value) -> Result<Value, Stop> {
        self.jolt
            .apply(input)
            .map_err(|e| Stop::failed(format!("{} failed: {e}", self.name())))
    }

    /// How messages name it.
    pub fn name(&self) -> String {
        format!(
            "the Mapping ({})",
            self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        )
    }
}
