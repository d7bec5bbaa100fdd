//! Why a run (or a compile check) did not produce a script result.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::py2::Py2Hint;

/// A script that does not compile, with the position and, for Python 2 code, what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileDiagnostic {
    /// 1-based line of the error, when Python reported one.
    pub line: Option<u32>,
    /// 1-based column, when Python reported one.
    pub column: Option<u32>,
    /// Python's message, e.g. `Missing parentheses in call to 'print'`.
    pub message: String,
    /// The offending source line.
    pub text: Option<String>,
    /// Python 2 idioms found anywhere in the script, each with its line and the fix.
    pub py2_hints: Vec<Py2Hint>,
}

impl fmt::Display for CompileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the script does not compile: ")?;
        match (self.line, self.column) {
            (Some(line), Some(col)) => write!(f, "line {line}, column {col}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        write!(f, "{}", self.message)?;
        if let Some(text) = &self.text {
            write!(f, "\n    {}", text.trim())?;
        }
        if !self.py2_hints.is_empty() {
            write!(
                f,
                "\nThis looks like Python 2 code (Jython); omnibridge runs Python 3. Change:"
            )?;
            for hint in &self.py2_hints {
                write!(f, "\n  line {}: {}", hint.line, hint.advice)?;
            }
            write!(
                f,
                "\nor run `omnibridge script migrate <file> --write` to fix these automatically."
            )?;
        }
        Ok(())
    }
}

/// Everything that can stop a run from producing a [`crate::RunResult`].
///
/// Exceptions raised by the script itself are *not* errors here: they come back in
/// `RunResult::error` with the traceback, like in the Script Testing panel.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The script has a syntax error.
    #[error("{0}")]
    Compile(CompileDiagnostic),
    /// The run exceeded its time limit; the worker was killed and replaced.
    #[error("the script timed out after {seconds} s (the worker was killed and replaced)")]
    TimedOut {
        /// The limit that was exceeded, in seconds.
        seconds: f64,
    },
    /// The run exceeded the worker's memory cap; the worker was replaced.
    #[error(
        "the script ran out of memory: it exceeded the worker's limit of {limit_mib} MiB (the worker was replaced)"
    )]
    MemoryExceeded {
        /// The cap, in MiB.
        limit_mib: u64,
    },
    /// The worker process died during the run (segfault, `os._exit`, killed); it was replaced.
    #[error("the Python worker died while running the script: {detail} (the worker was replaced)")]
    WorkerCrashed {
        /// Exit status or signal, plus the last lines the worker wrote to stderr.
        detail: String,
    },
    /// The worker wrote something that is not a protocol reply; it was killed and replaced.
    #[error(
        "the Python worker wrote garbage on its protocol pipe: {detail} (the worker was replaced)"
    )]
    Protocol {
        /// What was wrong with it.
        detail: String,
    },
    /// A worker could not be started (python3 missing, too old, ...).
    #[error("could not start a Python worker with `{python}`: {detail}")]
    Spawn {
        /// The interpreter that was tried.
        python: String,
        /// Why it failed.
        detail: String,
    },
    /// The pool was shut down.
    #[error("the script pool is shut down")]
    ShutDown,
}
