//! Get Data From Omnitron: the plans (or unmapped refund transactions) a run takes.
//!
//! The list is read whole first, as pks: processing a plan moves it out of the filtered list
//! (a waiting plan becomes approved), so reading page after page while processing would skip
//! plans as the pages shift. A plan's detail is read when it is processed.

use chrono::{DateTime, SecondsFormat, Utc};
use omnibridge_omnitron::{OmnitronClient, results_of};
use serde_json::Value;

use super::load::OrderCancelFlow;
use crate::config::order_cancel::CancelStatus;

/// One record of an Order Cancel Flow.
#[derive(Debug, Clone)]
pub enum CancelRecord {
    /// A plan of the list; its detail is read when it is processed.
    Plan {
        /// The plan's pk.
        pk: u64,
    },
    /// An unmapped refund transaction and its related plan.
    Transaction {
        /// The transaction's pk.
        pk: u64,
        /// Its related cancellation plan.
        plan: Option<u64>,
    },
    /// A plan kept with its row log (a replay): its payload as it was.
    Stored {
        /// The row log's record key (the ledger key).
        key: String,
        /// The plan object.
        plan: Value,
    },
}

impl CancelRecord {
    /// The record's ledger key (also its row log key): `plan:<pk>` or `transaction:<pk>`.
    pub fn key(&self) -> String {
        match self {
            Self::Plan { pk } => format!("plan:{pk}"),
            Self::Transaction { pk, .. } => format!("transaction:{pk}"),
            Self::Stored { key, .. } => key.clone(),
        }
    }
}

/// What the list gave.
#[derive(Debug, Default)]
pub struct Listing {
    /// The records, in list order.
    pub records: Vec<CancelRecord>,
    /// Pages read.
    pub pages: u32,
    /// False when `max_plans` cut the list short (the rest waits for the next run).
    pub complete: bool,
}

/// Reads the list of the flow's task; `since` is the completed task's window start.
pub async fn list(
    omnitron: &OmnitronClient,
    flow: &OrderCancelFlow,
    since: Option<DateTime<Utc>>,
) -> Result<Listing, String> {
    let read = &flow.config.read;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let path = match read.cancel_status {
        CancelStatus::OrderTransaction => {
            query.append_pair("transaction_type", "refund");
            query.append_pair("mapping__isnull", "true");
            "api/v1/order_transactions/"
        }
        status => {
            if let Some(plan_status) = status.plan_status() {
                query.append_pair("status", plan_status);
            }
            if let Some(plan_type) = read.cancel_type.plan_type() {
                query.append_pair("plan_type", plan_type);
            }
            query.append_pair("channel_type", read.channel_type.trim());
            if !read.channel_ids.0.is_empty() {
                query.append_pair("channel_id__in", &read.channel_ids.0.join(","));
            }
            if let Some(since) = since {
                query.append_pair(
                    "modified_date__gt",
                    &since.to_rfc3339_opts(SecondsFormat::Micros, true),
                );
            }
            "api/v1/cancellation_plans/"
        }
    };
    query.append_pair("sort", "id");
    query.append_pair("limit", &read.page_size.to_string());
    let base = format!("{path}?{}", query.finish());
    let mut listing = Listing::default();
    let mut page = 1u32;
    loop {
        let body = omnitron
            .get(&format!("{base}&page={page}"))
            .await
            .map_err(|e| {
                format!(
                    "Get Data From Omnitron failed on page {page} of {}: {e}",
                    path.trim_end_matches('/')
                )
            })?;
        listing.pages = page;
        let rows = results_of(&body).cloned().unwrap_or_default();
        for row in &rows {
            let Some(pk) = row.get("pk").and_then(as_u64) else {
                tracing::warn!("a listed object without a pk was skipped: {row}");
                continue;
            };
            if listing.records.len() >= read.max_plans {
                return Ok(listing);
            }
            listing.records.push(match read.cancel_status {
                CancelStatus::OrderTransaction => CancelRecord::Transaction {
                    pk,
                    plan: row.get("related_cancellation_plan").and_then(as_u64),
                },
                _ => CancelRecord::Plan { pk },
            });
        }
        let more = body.get("next").is_some_and(|n| !n.is_null()) && !rows.is_empty();
        if !more {
            listing.complete = true;
            return Ok(listing);
        }
        page += 1;
    }
}

/// A pk written as a number or as text.
pub fn as_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
