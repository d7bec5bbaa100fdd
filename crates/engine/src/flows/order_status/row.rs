//! One row through Write Data to Omnitron: the per-row script, the row's check, then the bulk
//! status update, guarded by the ledger.
//!
//! A row's ledger key is its order number and a hash of the row as it was read (or pushed), so
//! the same row read again (a rerun after a failed page, a resumed run) is recognised: once
//! applied it is skipped, before its per-row script even runs, and never written twice. The
//! reader looks a page's keys up in one read ([`ledger_key`], `Store::get_ledger_entries`).
//! Setting an item to a status it already has is a no-op in Omnitron, so a row whose write may
//! have landed before a crash is simply sent again on resume, and an answer saying the item
//! already has that status counts as done.

use std::sync::Arc;

use omnibridge_http::Exchange;
use omnibridge_store::{LedgerEntry, LedgerPhase, WriteResult, request_hash};
use serde_json::Value;

use super::load::OrderStatusFlow;
use super::{outcomes, steps};
use crate::attributes::Attributes;
use crate::config::cards::json_kind;
use crate::execution::{CompletionKind, Done, LedgerCompletion, RecordReport, Stop};
use crate::text::truncate;

/// Most items one row may carry.
pub const MAX_ITEMS_PER_ROW: usize = 10_000;

/// Where a row starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// As the Mapping gave it: the per-row script runs first.
    Mapped,
    /// Final (after the per-row script): straight to the check and the write.
    Final,
}

/// A row on its way to Omnitron.
#[derive(Debug)]
pub struct StatusRecord {
    /// How messages name it until its order number is known (`page 2 row 3`, `row 3`).
    pub label: String,
    /// The row.
    pub row: Value,
    /// Where it starts.
    pub stage: Stage,
    /// The attributes it inherits (its page's, after the Script).
    pub attributes: Arc<Attributes>,
    /// Its ledger key ([`ledger_key`] of the row as read).
    pub ledger_key: String,
    /// Its ledger entry when the row was read, if it had one.
    pub entry: Option<LedgerEntry>,
    /// The same row came earlier in this execution: it is not written again.
    pub repeated: bool,
}

/// A row's ledger key: its `order` and a hash of the row as read.
pub fn ledger_key(row: &Value) -> String {
    let text = row.to_string();
    format!(
        "{}#{}",
        order_number(row).unwrap_or_else(|| "row".to_string()),
        &request_hash(text.as_bytes())[..16]
    )
}

/// Everything a row needs, shared by all rows of an execution.
pub type RowContext<'a> = crate::flows::RecordContext<'a, OrderStatusFlow>;

/// Runs one row to its end.
pub async fn process_row(cx: &RowContext<'_>, record: StatusRecord) -> RecordReport {
    let step = match record.stage {
        Stage::Mapped if cx.flow.row_script.is_some() => steps::ROW_SCRIPT,
        _ => steps::CHECK,
    };
    let mut report = RecordReport::new(record.label.clone(), (*record.attributes).clone(), step);
    let result = run(cx, record, &mut report).await;
    report.conclude(result);
    report
}

async fn run(
    cx: &RowContext<'_>,
    record: StatusRecord,
    report: &mut RecordReport,
) -> Result<Done, Stop> {
    let StatusRecord {
        row,
        stage,
        ledger_key,
        entry,
        repeated,
        ..
    } = record;
    // Kept from the start, so even a row whose per-row script fails can be replayed.
    report.payload = Some(row.to_string());
    report.id = Some(ledger_key.clone());
    if let Some(order) = order_number(&row) {
        report.key = order;
    }
    if repeated {
        return Err(Stop::skipped(
            "the same row came earlier in this read; it is written once",
        ));
    }
    if let Some(entry) = entry {
        match entry.phase {
            LedgerPhase::Completed => {
                return Err(Stop::skipped(format!(
                    "this row was already applied{}; it is not sent again",
                    entry
                        .execution_id
                        .as_deref()
                        .map(|e| format!(" by execution {e}"))
                        .unwrap_or_default()
                )));
            }
            LedgerPhase::Accepted => {
                // Omnitron took it; only the completion and the row log were missing.
                report.completion = Some(LedgerCompletion {
                    record_key: ledger_key,
                    how: CompletionKind::Accepted {
                        attempt: entry.attempt,
                    },
                });
                report.step = steps::DONE;
                return Ok(Done::success(outcomes::UPDATED));
            }
            // Open (a run that died mid-write left an intent) or closed: written (again).
            LedgerPhase::Intent | LedgerPhase::Rejected | LedgerPhase::Released => {}
        }
    }
    cx.connections.set_tokens(&mut report.attributes).await?;
    let row = match (&cx.flow.row_script, stage) {
        (Some(script), Stage::Mapped) => {
            report.step = steps::ROW_SCRIPT;
            let output = script
                .run_json(
                    cx.scripts,
                    cx.flow.config.run.script_timeout,
                    &row,
                    &mut report.attributes,
                )
                .await?;
            if !output.is_object() {
                return Err(Stop::failed(format!(
                    "{}: {} must output one order object, not {}",
                    report.key,
                    script.name(),
                    json_kind(&output)
                )));
            }
            output
        }
        _ => row,
    };

    report.step = steps::CHECK;
    let body = serde_json::to_string(&row).map_err(|e| Stop::failed(e.to_string()))?;
    report.payload = Some(body.clone());
    let order = check_row(&row, &report.key)?;
    report.key = order.clone();

    report.step = steps::WRITE_OMNITRON;
    report.request = Some(body.clone());
    write(cx, row, ledger_key, report).await
}

/// The bulk status update of one row, and what its answer means. Setting statuses is
/// idempotent, so no intent is recorded before it: if a crash hides whether it landed, the row
/// is sent again on resume (a no-op if it had). What the ledger keeps is that it is done, in
/// the row log's own write, so a row read again is never written twice.
async fn write(
    cx: &RowContext<'_>,
    row: Value,
    ledger_key: String,
    report: &mut RecordReport,
) -> Result<Done, Stop> {
    let write = &cx.flow.write;
    let exchange = cx
        .connections
        .omnitron
        .exchange(write.method.clone(), &write.path, Some(&row))
        .await
        .map_err(|e| Stop::failed(format!("Write Data to Omnitron failed: {e}")));
    let exchange = exchange?;
    // Nothing runs after the write, so no invokehttp.* attributes are set; Omnitron's answer is
    // kept with the row log when it refused the row (its exact words), not when it took it.
    let status = exchange.status().map_or(0, |s| s.as_u16());
    match verdict(&exchange) {
        answer @ (Verdict::Applied | Verdict::AlreadyApplied) => {
            let outcome = if answer == Verdict::Applied {
                outcomes::UPDATED
            } else {
                outcomes::ALREADY_APPLIED
            };
            report.completion = Some(LedgerCompletion {
                record_key: ledger_key,
                how: CompletionKind::Idempotent {
                    result: WriteResult {
                        status_code: status,
                        accepted: true,
                        reference: None,
                        response: None,
                        error: None,
                    },
                },
            });
            report.step = steps::DONE;
            Ok(Done::success(outcome))
        }
        Verdict::Refused(message) => {
            report.response = exchange.response().map(|r| r.text());
            Err(Stop::failed(message))
        }
        Verdict::NoAnswer(message) => {
            // Whether or not it landed, sending it again is safe.
            Err(Stop::failed(format!(
                "{message}; it may or may not have been applied, and sending it again is safe \
                 (the next run or a replay does)"
            )))
        }
    }
}

/// The row's `order` as text, when it has a usable one.
fn order_number(row: &Value) -> Option<String> {
    match row.get("order")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks what Write Data to Omnitron needs: `order` (the Omnitron order number) and
/// `orderitem_set`, a list of objects each with an `id`. Returns the order number.
pub fn check_row(row: &Value, label: &str) -> Result<String, Stop> {
    let Some(object) = row.as_object() else {
        return Err(Stop::failed(format!(
            "{label}: a row must be an order object, not {}",
            json_kind(row)
        )));
    };
    let order = match object.get("order") {
        None | Some(Value::Null) => {
            return Err(Stop::failed(format!(
                "{label}: the row has no `order` (the Omnitron order number)"
            )));
        }
        Some(value) => order_number(row).ok_or_else(|| {
            Stop::failed(format!(
                "{label}: `order` must be the Omnitron order number (text or a number), not {}",
                describe(value)
            ))
        })?,
    };
    let items = match object.get("orderitem_set") {
        None => {
            return Err(Stop::failed(format!(
                "order {order}: the row has no `orderitem_set` (the items to update)"
            )));
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(Stop::failed(format!(
                "order {order}: `orderitem_set` must be a list, not {}",
                json_kind(other)
            )));
        }
    };
    if items.is_empty() {
        return Err(Stop::failed(format!(
            "order {order}: `orderitem_set` is empty: nothing to update"
        )));
    }
    if items.len() > MAX_ITEMS_PER_ROW {
        return Err(Stop::failed(format!(
            "order {order}: `orderitem_set` has {} items; at most {MAX_ITEMS_PER_ROW}",
            items.len()
        )));
    }
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            return Err(Stop::failed(format!(
                "order {order}: orderitem_set[{i}] must be an object, not {}",
                json_kind(item)
            )));
        };
        let id_ok = match item.get("id") {
            Some(Value::Number(n)) => n.as_u64().is_some(),
            Some(Value::String(s)) => s.trim().parse::<u64>().is_ok(),
            _ => false,
        };
        if !id_ok {
            return Err(Stop::failed(format!(
                "order {order}: orderitem_set[{i}] has no `id` (the Omnitron order item id){}",
                item.get("id")
                    .map(|v| format!("; it has {}", describe(v)))
                    .unwrap_or_default()
            )));
        }
    }
    Ok(order)
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        other => {
            let text = other.to_string();
            if text.len() > 60 {
                format!("{} {}…", json_kind(other), crate::text::cut(&text, 60))
            } else {
                format!("{} {text}", json_kind(other))
            }
        }
    }
}

/// What Omnitron's answer to a row means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Applied,
    /// Refused only because the items already have the statuses asked for: done.
    AlreadyApplied,
    /// Refused; the message carries Omnitron's answer.
    Refused(String),
    /// No answer.
    NoAnswer(String),
}

/// Reads Omnitron's answer to a bulk status update.
pub fn verdict(exchange: &Exchange) -> Verdict {
    let response = match &exchange.outcome {
        Ok(response) => response,
        Err(error) => return Verdict::NoAnswer(format!("Omnitron did not answer: {error}")),
    };
    if response.is_success() {
        return Verdict::Applied;
    }
    let status = response.status.as_u16();
    if status == 400
        && let Ok(body) = serde_json::from_slice::<Value>(&response.body)
    {
        let mut messages = Vec::new();
        collect_messages(&body, &mut messages);
        if !messages.is_empty() && messages.iter().all(|m| same_status_message(m)) {
            return Verdict::AlreadyApplied;
        }
    }
    Verdict::Refused(format!(
        "Omnitron answered HTTP {status}: {}",
        truncate(&response.text(), 2000)
    ))
}

/// Every string in a DRF error body (`{"orderitem_set": [{}, {"non_field_errors": ["..."]}]}`).
fn collect_messages(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_messages(v, out)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| k.as_str() != "code")
            .for_each(|(_, v)| collect_messages(v, out)),
        _ => {}
    }
}

/// "Order item status can not be changed from 500 to 500." — the item already has it.
fn same_status_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    if lower.contains("already") && lower.contains("status") {
        return true;
    }
    let Some(at) = lower.find(" from ") else {
        return false;
    };
    let rest = &lower[at + 6..];
    let Some((from, to)) = rest.split_once(" to ") else {
        return false;
    };
    let clean = |s: &str| {
        s.trim()
            .trim_end_matches('.')
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string()
    };
    let (from, to) = (clean(from), clean(to));
    !from.is_empty() && from == to
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibridge_http::{Method, Request, Response, StatusCode};
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange {
            request: Request::new(Method::PATCH, "http://omnitron/bulk"),
            outcome: Ok(Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: vec![],
                body: body.as_bytes().to_vec().into(),
            }),
            attempts: 1,
            elapsed: Default::default(),
        }
    }

    #[test]
    fn rows_need_an_order_and_item_ids() {
        let ok = json!({"order": "1001", "orderitem_set": [{"id": 1}, {"id": "2"}]});
        assert_eq!(check_row(&ok, "row 1").unwrap(), "1001");
        assert_eq!(
            check_row(
                &json!({"order": 1001, "orderitem_set": [{"id": 1}]}),
                "row 1"
            )
            .unwrap(),
            "1001"
        );
        for (row, needle) in [
            (
                json!([1]),
                "row 4: a row must be an order object, not a list",
            ),
            (
                json!({"orderitem_set": [{"id": 1}]}),
                "row 4: the row has no `order`",
            ),
            (
                json!({"order": "", "orderitem_set": []}),
                "`order` must be the Omnitron order number",
            ),
            (
                json!({"order": "9"}),
                "order 9: the row has no `orderitem_set`",
            ),
            (
                json!({"order": "9", "orderitem_set": {}}),
                "must be a list, not an object",
            ),
            (json!({"order": "9", "orderitem_set": []}), "is empty"),
            (
                json!({"order": "9", "orderitem_set": [{"id": 1}, {"status": 500}]}),
                "orderitem_set[1] has no `id`",
            ),
            (
                json!({"order": "9", "orderitem_set": [{"id": "x"}]}),
                "it has a string \"x\"",
            ),
        ] {
            let stop = check_row(&row, "row 4").unwrap_err();
            let message = stop.error.unwrap();
            assert!(message.contains(needle), "{row}: {message}");
        }
    }

    #[test]
    fn answers_are_read() {
        assert_eq!(verdict(&answer(200, "[]")), Verdict::Applied);
        let same = r#"{"orderitem_set": [{}, {"non_field_errors": ["Order item status can not be changed from 500 to 500."]}]}"#;
        assert_eq!(verdict(&answer(400, same)), Verdict::AlreadyApplied);
        let illegal = r#"{"orderitem_set": [{"non_field_errors": ["Order item status can not be changed from 500 to 450."]}]}"#;
        let Verdict::Refused(message) = verdict(&answer(400, illegal)) else {
            panic!("an illegal transition is refused");
        };
        assert!(message.contains("from 500 to 450"), "{message}");
        let mixed = r#"{"orderitem_set": [{"non_field_errors": ["Order item status can not be changed from 500 to 500."]}, {"id": ["Invalid pk \"9\" - object does not exist."]}]}"#;
        assert!(matches!(verdict(&answer(400, mixed)), Verdict::Refused(_)));
        assert!(matches!(
            verdict(&answer(500, "<html>")),
            Verdict::Refused(_)
        ));
    }
}
