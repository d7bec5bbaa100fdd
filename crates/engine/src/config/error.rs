//! Errors loading a flow: each names the file, the field and the problem.

use std::fmt;
use std::path::PathBuf;

/// Something wrong with a flow definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowError {
    /// The file at fault (`flow.toml`, `logins.toml`, a script or a spec).
    pub file: PathBuf,
    /// The dotted field path inside `flow.toml` (empty when the whole file is at fault).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FlowError {
    /// An error about `field` of `file`.
    pub fn new(
        file: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

impl std::error::Error for FlowError {}

/// All the problems found in one flow, so a user fixes them in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowErrors(pub Vec<FlowError>);

impl fmt::Display for FlowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FlowErrors {}
