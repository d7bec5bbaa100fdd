//! Get Data From Omnitron: the plans (or unmapped refund transactions) a run takes.
//!
//! The list is read whole first, as pks: processing a plan moves it out of the filtered list
//! (a waiting plan becomes approved), so reading page after page while processing would skip
//! plans as the pages shift. A plan's detail is read when it is processed.

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
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
    // The serializer is not Send: it is dropped before anything awaits, so a service can run
    // this flow on any thread.
    let (path, base) = {
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
        (path, base)
    };
    let what = path.trim_end_matches('/');
    let fetch = |page: u32| {
        let url = format!("{base}&page={page}");
        async move {
            omnitron
                .get(&url)
                .await
                .map_err(|e| format!("Get Data From Omnitron failed on page {page} of {what}: {e}"))
        }
    };
    let mut listing = Listing::default();
    let first = fetch(1).await?;
    if !take_page(&mut listing, flow, 1, &first) {
        return Ok(listing);
    }
    let mut page = 2u32;
    // With the total known, the other pages are read a few at a time: nothing moves a plan out
    // of the list before the whole list is read, so the pages cannot shift under the reads.
    if let Some(count) = first.get("count").and_then(as_u64) {
        let wanted = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(read.max_plans) as u64;
        let page_size = read.page_size.max(1) as u64;
        let last = u32::try_from(wanted.div_ceil(page_size)).unwrap_or(u32::MAX);
        let mut pages = futures::stream::iter(2..=last)
            .map(fetch)
            .buffered(LIST_READS_AT_ONCE);
        while let Some(body) = pages.next().await {
            let body = body?;
            if !take_page(&mut listing, flow, page, &body) {
                return Ok(listing);
            }
            page += 1;
        }
    }
    // Pages the count did not announce (plans added meanwhile, or no count at all).
    loop {
        let body = fetch(page).await?;
        if !take_page(&mut listing, flow, page, &body) {
            return Ok(listing);
        }
        page += 1;
    }
}

/// List pages read at once once the list's total is known.
const LIST_READS_AT_ONCE: usize = 4;

/// Adds one page's records; false when the list ends here (`complete` says whether it ended or
/// `max_plans` cut it).
fn take_page(listing: &mut Listing, flow: &OrderCancelFlow, page: u32, body: &Value) -> bool {
    let read = &flow.config.read;
    listing.pages = page;
    let rows = results_of(body).map(Vec::as_slice).unwrap_or_default();
    for row in rows {
        let Some(pk) = row.get("pk").and_then(as_u64) else {
            tracing::warn!("a listed object without a pk was skipped: {row}");
            continue;
        };
        if listing.records.len() >= read.max_plans {
            return false;
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
    }
    more
}

/// A pk written as a number or as text.
pub fn as_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
