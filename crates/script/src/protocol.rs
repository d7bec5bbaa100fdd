//! The wire between the engine and a worker: 4-byte big-endian length, then one JSON object.
//!
//! Length-prefixed JSON keeps both ends trivial (Python's `json` is C-accelerated) and makes a
//! confused worker easy to detect: a frame that is too long or not JSON is garbage.
//!
//! A run's content and its primary result travel as raw bytes in a second frame right after the
//! JSON one (`content_frame` / `result_data_frame`): an order of tens of kilobytes would
//! otherwise be escaped into a JSON string and unescaped again on each side, twice per run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Protections;
use crate::result::{LogEntry, Relationship};
use crate::script::ScriptForm;

/// Largest reply accepted (content plus attributes); anything larger is treated as garbage.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// Why a frame could not be read.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The pipe closed (the worker exited).
    Closed,
    /// The length prefix is impossible.
    TooLarge(usize),
    /// Reading failed.
    Io(std::io::Error),
}

pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    body: &[u8],
) -> std::io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "request too large"))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    w.write_all(&frame).await?;
    w.flush().await
}

pub(crate) async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; 4];
    if let Err(e) = r.read_exact(&mut header).await {
        return Err(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => FrameError::Closed,
            _ => FrameError::Io(e),
        });
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => FrameError::Closed,
        _ => FrameError::Io(e),
    })?;
    Ok(body)
}

/// `run` and `check` requests. `source` is sent only when the worker may not have the script.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    pub op: &'static str,
    pub hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_b64: Option<String>,
    /// The content follows as a raw frame.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub content_frame: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<&'a BTreeMap<String, String>>,
}

/// Every reply a worker sends.
#[derive(Debug, Deserialize)]
pub(crate) struct Reply {
    pub status: String,
    #[serde(default)]
    pub result: Option<WireResult>,
    #[serde(default)]
    pub retire: bool,
    #[serde(default)]
    pub diagnostic: Option<WireDiagnostic>,
    #[serde(default)]
    pub form: Option<ScriptForm>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// In the start-up message: what the worker runs under.
    #[serde(default)]
    pub protections: Option<Protections>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireDiagnostic {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireResult {
    #[serde(default)]
    pub result_data: Option<String>,
    #[serde(default)]
    pub result_data_b64: Option<String>,
    /// The result data follows the reply as a raw frame.
    #[serde(default)]
    pub result_data_frame: bool,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub relationship: Option<Relationship>,
    #[serde(default)]
    pub stdout: String,
    pub error: Option<String>,
    #[serde(default)]
    pub logs: Vec<LogEntry>,
    #[serde(default)]
    pub extra_outputs: Vec<WireOutput>,
    pub form: ScriptForm,
    #[serde(default)]
    pub memory_exceeded: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireOutput {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub content_b64: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub relationship: Relationship,
}
