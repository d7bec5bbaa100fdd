//! The journal: every API request a simulator received and what it answered.
//!
//! Tests assert on it ("exactly one PATCH of order 5", "the ERP got this mapped body"), so each
//! entry keeps the parsed JSON bodies when they are JSON and the raw text otherwise.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One request/response pair.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JournalEntry {
    /// Position in the journal, from 1, never reused until a reset.
    pub seq: u64,
    /// Simulated time the request arrived.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path as the client sent it (before `/api/i1/` → `/api/v1/` and slash normalisation).
    pub path: String,
    /// Raw query string (without `?`), empty when none.
    pub query: String,
    /// Request headers (lower-case names; repeated headers joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// Request body: parsed JSON, a string for non-JSON, `null` when empty.
    pub body: Value,
    /// Status answered, or `None` when the connection was reset / the request hung.
    pub status: Option<u16>,
    /// Response body (JSON, string, or `null`).
    pub response: Value,
    /// The fault that shaped this answer, if any (e.g. `"reset"`, `"status 503"`).
    pub fault: Option<String>,
}

/// Journal filter for `GET /__sim/journal` and [`Journal::entries`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JournalQuery {
    /// Only entries with `seq > since`.
    #[serde(default)]
    pub since: Option<u64>,
    /// Only this method.
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths containing this substring.
    #[serde(default)]
    pub path: Option<String>,
}

/// Append-only store of [`JournalEntry`].
#[derive(Debug, Default)]
pub struct Journal {
    /// Entries with their raw response bodies: parsing is deferred to reads, so journaling
    /// costs the server almost nothing per request.
    entries: Mutex<Vec<(JournalEntry, bytes::Bytes)>>,
}

impl Journal {
    /// Append an entry, assigning its `seq`.
    pub fn push(&self, entry: JournalEntry) {
        self.push_raw(entry, bytes::Bytes::new());
    }

    /// Append an entry whose `response` is given as raw bytes (parsed when read).
    pub fn push_raw(&self, mut entry: JournalEntry, response: bytes::Bytes) {
        let mut entries = crate::lock(&self.entries);
        entry.seq = entries.last().map_or(1, |(e, _)| e.seq + 1);
        entries.push((entry, response));
    }

    /// Entries matching the query.
    pub fn entries(&self, q: &JournalQuery) -> Vec<JournalEntry> {
        crate::lock(&self.entries)
            .iter()
            .filter(|(e, _)| q.since.is_none_or(|s| e.seq > s))
            .filter(|(e, _)| {
                q.method
                    .as_deref()
                    .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            })
            .filter(|(e, _)| q.path.as_deref().is_none_or(|p| e.path.contains(p)))
            .map(|(e, raw)| {
                let mut e = e.clone();
                if !raw.is_empty() {
                    e.response = body_value(raw);
                }
                e
            })
            .collect()
    }

    /// Forget everything.
    pub fn clear(&self) {
        crate::lock(&self.entries).clear();
    }
}

/// Parse a body for the journal: JSON if it parses, else the (lossy) text, `null` when empty.
pub fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
