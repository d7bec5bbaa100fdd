//! What one run produced, in the shape the Script Testing panel and `omnibridge script test` show.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::script::ScriptForm;

/// The NiFi relationship a FlowFile was transferred to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    /// `REL_SUCCESS`.
    Success,
    /// `REL_FAILURE` (e.g. the template's `except:` branch that sets `log.script.error`).
    Failure,
}

impl Relationship {
    /// `"success"` or `"failure"`, as NiFi names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Success => "success",
            Relationship::Failure => "failure",
        }
    }
}

/// One message the script logged with `log.info/warn/error/debug/trace`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// `info`, `warn`, `error`, `debug` or `trace`.
    pub level: String,
    /// The message with `{}` placeholders filled in.
    pub message: String,
}

/// A FlowFile the script transferred besides the primary one (scripts that split their input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFlowFile {
    /// The content it was transferred with.
    #[serde(with = "content_text")]
    pub content: Option<Vec<u8>>,
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
    /// Where it was transferred.
    pub relationship: Relationship,
}

/// The result of one run.
///
/// The primary FlowFile is the input one if the script transferred it, else the first one it
/// transferred. When the script raised (and did not catch) an exception, NiFi rolls the session
/// back: nothing is routed, `result_data` is `None`, `attributes` are the input attributes and
/// `error` holds the traceback. When the script catches its exception itself and routes to
/// `REL_FAILURE` (the template's `log.script.error` pattern), the run is a normal run with
/// `relationship == Some(Failure)` and `error == None`: the script reported its failure as it
/// meant to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    /// The primary FlowFile's content after the run (`None` when nothing was transferred).
    /// Serialized as a string (or `{"base64": ...}` when it is not UTF-8).
    #[serde(with = "content_text")]
    pub result_data: Option<Vec<u8>>,
    /// All attributes of the primary FlowFile after the run, including `log.*` ones.
    pub attributes: BTreeMap<String, String>,
    /// Where the primary FlowFile went; `None` means nothing was transferred and `error` says why.
    pub relationship: Option<Relationship>,
    /// Everything the script printed (stdout and stderr), capped at 1 MiB characters, then what
    /// it or a process it started wrote straight to file descriptors 1 and 2 (`os.write(1, ..)`,
    /// C extensions, subprocesses), capped at 1 MiB bytes; each cap adds a truncation marker.
    pub stdout: String,
    /// The traceback of an exception that escaped the script, or why nothing was transferred.
    pub error: Option<String>,
    /// `log.*` calls, in order.
    #[serde(default)]
    pub logs: Vec<LogEntry>,
    /// Further FlowFiles the script transferred (rare).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_outputs: Vec<OutputFlowFile>,
    /// Which form the script was run in.
    pub form: ScriptForm,
}

impl RunResult {
    /// `result_data` as text, when it is valid UTF-8.
    pub fn result_text(&self) -> Option<&str> {
        self.result_data
            .as_deref()
            .and_then(|d| std::str::from_utf8(d).ok())
    }

    /// True when the primary FlowFile went to success and no error was reported.
    pub fn succeeded(&self) -> bool {
        self.relationship == Some(Relationship::Success) && self.error.is_none()
    }
}

/// Per-run options.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the pool's time limit for this run.
    pub timeout: Option<Duration>,
    /// The step's properties: `context.getProperty(name).getValue()`, and each one whose name is
    /// a Python identifier is also bound as a global `PropertyValue`, as ExecuteScript's dynamic
    /// properties are. Expression Language must already be evaluated.
    pub properties: BTreeMap<String, String>,
}

/// Serde for content bytes: a JSON string when UTF-8, else `{"base64": "..."}`.
mod content_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Binary { base64: String },
    }

    pub fn serialize<S: Serializer>(data: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match data {
            None => s.serialize_none(),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => s.serialize_str(text),
                Err(_) => Repr::Binary {
                    base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                }
                .serialize(s),
            },
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<Repr>::deserialize(d)? {
            None => Ok(None),
            Some(Repr::Text(t)) => Ok(Some(t.into_bytes())),
            Some(Repr::Binary { base64 }) => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}
