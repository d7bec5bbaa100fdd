//! The outbound push driver: the ERP calling the Integrator's Outbound Request URL with arrays of
//! status rows, with valid / missing / invalid auth, batching, concurrency and malformed payloads.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Which credentials the driver sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PushAuth {
    /// No auth header.
    #[default]
    Missing,
    /// `header: value` (e.g. `Authorization: Token <integrator token>`).
    Valid {
        /// Header name.
        #[serde(default = "authorization")]
        header: String,
        /// Header value.
        value: String,
    },
    /// `Authorization: Token invalid-token`.
    Invalid,
}

fn authorization() -> String {
    "Authorization".into()
}

/// How to break the payload.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// A proper JSON array.
    #[default]
    None,
    /// Each batch's first row sent as a bare object.
    ObjectInsteadOfArray,
    /// Rows without `orderitem_set[].id`.
    MissingId,
    /// Not JSON at all.
    NotJson,
}

/// A push run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushConfig {
    /// Outbound Request URL.
    pub url: String,
    /// Rows `{"order", "orderitem_set"}`; `None` = the status feed's rows.
    #[serde(default)]
    pub rows: Option<Vec<Value>>,
    /// Credentials.
    #[serde(default)]
    pub auth: PushAuth,
    /// Rows per request.
    #[serde(default = "batch")]
    pub batch_size: usize,
    /// Requests in flight at once.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// Payload breakage.
    #[serde(default)]
    pub malformed: Malformed,
}

fn batch() -> usize {
    50
}
fn one() -> usize {
    1
}

impl PushConfig {
    /// Push the feed's rows to `url` without auth, in one batch of up to 50.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            rows: None,
            auth: PushAuth::Missing,
            batch_size: 50,
            concurrency: 1,
            malformed: Malformed::None,
        }
    }
}

/// What one request got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushBatchResult {
    /// Batch index, from 0.
    pub batch: usize,
    /// Rows in the batch.
    pub rows: usize,
    /// Status, or `None` on a transport error.
    pub status: Option<u16>,
    /// Response body (JSON or text).
    pub body: Value,
    /// Transport error.
    pub error: Option<String>,
}

/// Convert feed rows to the outbound row shape.
pub(crate) fn outbound_rows(rows: &[super::state::StatusRow]) -> Vec<Value> {
    rows.iter()
        .map(|r| json!({"order": r.order, "orderitem_set": r.orderitems}))
        .collect()
}

/// Run the push. Batches are sent `concurrency` at a time; results come back in batch order.
pub async fn push(cfg: &PushConfig, rows: Vec<Value>) -> Vec<PushBatchResult> {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    let size = cfg.batch_size.max(1);
    let batches: Vec<Vec<Value>> = rows.chunks(size).map(<[Value]>::to_vec).collect();
    let futs = batches.into_iter().enumerate().map(|(i, mut batch)| {
        let client = client.clone();
        let cfg = cfg.clone();
        async move {
            if cfg.malformed == Malformed::MissingId {
                for row in &mut batch {
                    if let Some(items) = row.get_mut("orderitem_set").and_then(Value::as_array_mut)
                    {
                        for it in items {
                            if let Some(m) = it.as_object_mut() {
                                m.remove("id");
                            }
                        }
                    }
                }
            }
            let n = batch.len();
            let body = match cfg.malformed {
                Malformed::ObjectInsteadOfArray => {
                    batch.first().cloned().unwrap_or(json!({})).to_string()
                }
                Malformed::NotJson => "order=1&status=500".to_string(),
                _ => Value::Array(batch).to_string(),
            };
            let mut req = client
                .post(&cfg.url)
                .header("content-type", "application/json")
                .body(body);
            match &cfg.auth {
                PushAuth::Missing => {}
                PushAuth::Valid { header, value } => {
                    req = req.header(header.as_str(), value.as_str())
                }
                PushAuth::Invalid => req = req.header("Authorization", "Token invalid-token"),
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.unwrap_or_default();
                    PushBatchResult {
                        batch: i,
                        rows: n,
                        status: Some(status),
                        body: crate::journal::body_value(&bytes),
                        error: None,
                    }
                }
                Err(e) => PushBatchResult {
                    batch: i,
                    rows: n,
                    status: None,
                    body: Value::Null,
                    error: Some(e.to_string()),
                },
            }
        }
    });
    futures::stream::iter(futs)
        .buffered(cfg.concurrency.max(1))
        .collect()
        .await
}
