//! The two kinds of failure: a template that does not compile, and an evaluation that throws.

use std::fmt;

/// A template that does not compile: where, what was found, what was expected, and (for a
/// misspelt function name) the nearest known name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// 1-based line in the template text.
    pub line: usize,
    /// 1-based column (in characters) in that line.
    pub column: usize,
    /// What the compiler found at that position, or a description of the problem.
    pub message: String,
    /// What the compiler expected instead, when that is known.
    pub expected: Option<String>,
    /// The nearest function name when an unknown function was called (`repalce` -> `replace`).
    pub suggestion: Option<String>,
}

impl CompileError {
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        CompileError {
            line,
            column,
            message: message.into(),
            expected: None,
            suggestion: None,
        }
    }

    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub(crate) fn suggest(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }
}

/// Turns a byte offset into a 1-based (line, column) pair, counting columns in characters.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut line = 1;
    let mut column = 1;
    for (index, ch) in text.char_indices() {
        if index >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if let Some(expected) = &self.expected {
            write!(f, "; expected {expected}")?;
        }
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; did you mean `{suggestion}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

/// An evaluation that fails, as NiFi's would throw: bad JSON for `jsonPath`, an unparsable date,
/// a whole-number division by zero, an unknown hash algorithm, `not()` of null, ...
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {message}")]
pub struct EvalError {
    /// The function that failed (or `expression` for the template itself).
    pub function: String,
    /// What went wrong.
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(function: &str, message: impl Into<String>) -> Self {
        EvalError {
            function: function.to_string(),
            message: message.into(),
        }
    }
}
