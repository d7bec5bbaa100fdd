//! A user's script, identified by the hash of its source.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A script's source text plus its content hash, computed once here.
///
/// Workers cache compiled code by this hash, so a flow that runs the same script on a thousand
/// records compiles it once per worker. Cloning is cheap (the source is shared).
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    source: Arc<str>,
    hash: Arc<str>,
}

impl Script {
    /// Wraps a script's source and hashes it (SHA-256, hex).
    pub fn new(source: impl Into<String>) -> Self {
        let source: String = source.into();
        let digest = Sha256::digest(source.as_bytes());
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            source: source.into(),
            hash: hash.into(),
        }
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The hex SHA-256 of the source: the worker-side cache key.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("hash", &&self.hash[..12])
            .field("bytes", &self.source.len())
            .finish()
    }
}

/// Which of the two supported shapes a script has; detected automatically when it is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptForm {
    /// A NiFi ExecuteScript script: top-level code using `session`, `REL_SUCCESS`, ...
    Nifi,
    /// The native form: a module defining `transform(data, attributes)` at top level that never
    /// mentions `session`. `data` is the content parsed as JSON (or its text when it is not JSON);
    /// the return value is the new content (JSON-encoded unless it is `str` or `bytes`), and
    /// `attributes` may be changed in place.
    Transform,
}
