#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Row logs: append with redaction and caps, list by execution, record and status — on every
//! backend.

mod common;

use common::{Fixture, start};
use omnibridge_store::{
    MAX_ROW_LOG_PAYLOAD_BYTES, NewRowLog, RowLogQuery, RowStatus, Step, StoreError,
    truncation_marker,
};
use serde_json::json;

const READ: Step = Step::new("read");
const WRITE_ERP: Step = Step::new("write_erp");
const WRITE_OMNITRON: Step = Step::new("write_omnitron");
const DONE: Step = Step::new("done");

on_every_backend!(
    a_row_log_is_stored_with_everything_it_was_given,
    bodies_errors_and_attributes_are_redacted,
    large_bodies_are_cut_with_a_marker_stating_the_original_size,
    row_logs_list_by_execution_record_and_status,
    a_row_log_needs_an_existing_execution,
    failing_writes_do_not_undo_the_writes_committed_with_them,
    the_replay_payload_is_kept_whole_and_read_only_on_its_own,
    payloads_over_the_limit_and_invalid_names_are_refused,
    a_stored_step_that_does_not_parse_is_reported_as_corrupt,
);

fn row(execution_id: &str, key: &str, status: RowStatus, step: Step) -> NewRowLog {
    NewRowLog {
        execution_id: execution_id.to_string(),
        record_key: key.to_string(),
        record_id: Some(format!("pk-{key}")),
        status,
        step,
        outcome: None,
        error: None,
        attributes: serde_json::Map::new(),
        request: None,
        response: None,
        payload: None,
    }
}

async fn a_row_log_is_stored_with_everything_it_was_given(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    let mut attributes = serde_json::Map::new();
    attributes.insert("log.erp_order".into(), json!("E-1"));
    attributes.insert("log.lines".into(), json!(3));
    let stored = store
        .append_row_log(NewRowLog {
            outcome: Some("erp_refused".into()),
            error: Some("ERP answered 422: missing field".into()),
            attributes: attributes.clone(),
            request: Some(r#"{"number": "1001"}"#.into()),
            response: Some("unprocessable".into()),
            payload: Some(r#"{"order": 1001}"#.into()),
            ..row(&exec, "1001", RowStatus::Failed, WRITE_ERP)
        })
        .await
        .unwrap();
    assert_eq!(stored.execution_id, exec);
    assert_eq!(stored.flow_id, "orders");
    assert_eq!(stored.record_key, "1001");
    assert_eq!(stored.record_id.as_deref(), Some("pk-1001"));
    assert_eq!(stored.status, RowStatus::Failed);
    assert_eq!(stored.step, WRITE_ERP);
    assert_eq!(stored.outcome.as_deref(), Some("erp_refused"));
    assert!(stored.has_payload);
    assert_eq!(
        stored.error.as_deref(),
        Some("ERP answered 422: missing field")
    );
    assert_eq!(stored.attributes, attributes);
    let request = stored.request.clone().unwrap();
    assert_eq!(
        request.text, r#"{"number": "1001"}"#,
        "untouched JSON keeps its formatting"
    );
    assert_eq!(request.original_bytes, 18);
    assert!(!request.truncated);
    assert_eq!(stored.response.clone().unwrap().text, "unprocessable");
    assert_eq!(stored.created_at, common::start_time());

    let listed = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(exec),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items, vec![stored.clone()]);
    assert_eq!(
        store.row_log_payload(stored.id).await.unwrap().as_deref(),
        Some(r#"{"order": 1001}"#)
    );
}

async fn bodies_errors_and_attributes_are_redacted(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    // The login layer registers the live tokens as it obtains them.
    f.secrets.add("omni-7f3a9c2e11");
    f.secrets.add("erp-jwt.eyJhbGciOi");
    let mut attributes = serde_json::Map::new();
    attributes.insert("log.token_used".into(), json!("omni-7f3a9c2e11"));
    attributes.insert(
        "log.note".into(),
        json!("called https://erp/api?api_key=k-998877&id=4"),
    );
    attributes.insert(
        "log.erp".into(),
        json!({"client_secret": "cs-1", "user": "u"}),
    );
    let stored = store
        .append_row_log(NewRowLog {
            error: Some(
                "401 from ERP with header Authorization: Bearer erp-jwt.eyJhbGciOi".into(),
            ),
            outcome: Some("refused_for_omni-7f3a9c2e11".into()),
            attributes,
            request: Some(
                json!({
                    "number": "1001",
                    "auth": {"username": "brand", "Password": "hunter2"},
                    "lines": [{"sku": "A", "api_key": "k-1"}],
                    "comment": "token omni-7f3a9c2e11 inside text"
                })
                .to_string(),
            ),
            response: Some(
                "HTTP/1.1 200 OK\nContent-Type: text/plain\nSet-Cookie: session=abc123\nX-Api-Key: zzz\n\nok password=letmein&user=u"
                    .into(),
            ),
            ..row(&exec, "1001", RowStatus::Failed, WRITE_ERP)
        })
        .await
        .unwrap();

    let request: serde_json::Value =
        serde_json::from_str(&stored.request.as_ref().unwrap().text).unwrap();
    assert_eq!(
        request,
        json!({
            "number": "1001",
            "auth": "***",
            "lines": [{"sku": "A", "api_key": "***"}],
            "comment": "token *** inside text"
        })
    );
    assert_eq!(
        stored.response.as_ref().unwrap().text,
        "HTTP/1.1 200 OK\nContent-Type: text/plain\nSet-Cookie: ***\nX-Api-Key: ***\n\nok password=***&user=u"
    );
    assert_eq!(
        stored.error.as_deref(),
        Some("401 from ERP with header Authorization: ***")
    );
    assert_eq!(stored.outcome.as_deref(), Some("refused_for_***"));
    assert_eq!(stored.attributes["log.token_used"], json!("***"));
    assert_eq!(
        stored.attributes["log.note"],
        json!("called https://erp/api?api_key=***&id=4")
    );
    assert_eq!(
        stored.attributes["log.erp"],
        json!({"client_secret": "***", "user": "u"})
    );

    // An outcome counter with the same label reads the same as the row log's outcome.
    let totals = store
        .increment_counts(
            &exec,
            omnibridge_store::Counts {
                outcomes: common::outcomes(&[("refused_for_omni-7f3a9c2e11", 1)]),
                ..omnibridge_store::Counts::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(totals.outcomes, common::outcomes(&[("refused_for_***", 1)]));

    // What was listed back is what was stored: the secrets never reached the database.
    let page = store.list_row_logs(&RowLogQuery::default()).await.unwrap();
    let everything = serde_json::to_string(&page.items).unwrap();
    for secret in [
        "omni-7f3a9c2e11",
        "erp-jwt.eyJhbGciOi",
        "hunter2",
        "k-998877",
        "cs-1",
        "abc123",
        "letmein",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
}

async fn large_bodies_are_cut_with_a_marker_stating_the_original_size(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    // Multi-byte characters straddle the cap: the cut must land on a character boundary.
    let big = "ğ".repeat(3000);
    let stored = store
        .append_row_log(NewRowLog {
            request: Some(big.clone()),
            response: Some("small".into()),
            ..row(&exec, "1001", RowStatus::Success, DONE)
        })
        .await
        .unwrap();
    let request = stored.request.unwrap();
    assert!(request.truncated);
    assert_eq!(request.original_bytes, 6000);
    let kept = f.row_log_body_cap; // 1024 bytes = 512 two-byte characters
    assert_eq!(
        request.text,
        format!("{}{}", "ğ".repeat(512), truncation_marker(6000, kept))
    );
    assert!(request.text.contains("original 6000 bytes"));
    let response = stored.response.unwrap();
    assert!(!response.truncated);
    assert_eq!(response.text, "small");
}

async fn row_logs_list_by_execution_record_and_status(f: Fixture) {
    let store = f.open().await;
    let first = start(&store, "orders").await;
    let second = start(&store, "orders").await;
    let other_flow = start(&store, "status").await;
    store
        .append_row_log(row(&first, "1001", RowStatus::Failed, WRITE_ERP))
        .await
        .unwrap();
    store
        .append_row_log(row(&first, "1002", RowStatus::Success, DONE))
        .await
        .unwrap();
    store
        .append_row_log(row(&first, "1003", RowStatus::InDoubt, WRITE_ERP))
        .await
        .unwrap();
    store
        .append_row_log(row(&second, "1001", RowStatus::Success, DONE))
        .await
        .unwrap();
    store
        .append_row_log(NewRowLog {
            outcome: Some("already_in_erp".into()),
            ..row(&second, "1004", RowStatus::Success, WRITE_OMNITRON)
        })
        .await
        .unwrap();
    store
        .append_row_log(row(&other_flow, "1001", RowStatus::Skipped, READ))
        .await
        .unwrap();

    let keys = |page: omnibridge_store::Page<omnibridge_store::RowLog>| {
        page.items
            .into_iter()
            .map(|r| (r.execution_id, r.record_key, r.status))
            .collect::<Vec<_>>()
    };
    // By execution, newest first.
    let by_exec = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(first.clone()),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_exec.total, 3);
    assert_eq!(
        keys(by_exec),
        vec![
            (first.clone(), "1003".into(), RowStatus::InDoubt),
            (first.clone(), "1002".into(), RowStatus::Success),
            (first.clone(), "1001".into(), RowStatus::Failed),
        ]
    );
    // One record's history across executions of one flow, newest first.
    let history = store
        .list_row_logs(&RowLogQuery {
            flow_id: Some("orders".into()),
            record_key: Some("1001".into()),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        keys(history),
        vec![
            (second.clone(), "1001".into(), RowStatus::Success),
            (first.clone(), "1001".into(), RowStatus::Failed),
        ]
    );
    // By status (failed records to replay), and paginated.
    let bad = store
        .list_row_logs(&RowLogQuery {
            flow_id: Some("orders".into()),
            statuses: vec![RowStatus::Failed, RowStatus::InDoubt],
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(bad.total, 2);
    let page = store
        .list_row_logs(&RowLogQuery {
            limit: 2,
            offset: 2,
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(
        keys(page),
        vec![
            (second.clone(), "1001".into(), RowStatus::Success),
            (first.clone(), "1003".into(), RowStatus::InDoubt),
        ]
    );
}

async fn a_row_log_needs_an_existing_execution(f: Fixture) {
    let store = f.open().await;
    let err = store
        .append_row_log(row("missing", "1", RowStatus::Success, DONE))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::ExecutionNotFound(id) if id == "missing"),
        "{err}"
    );
}

/// On SQLite, concurrent writes share one transaction (group commit); each runs in its own
/// savepoint, so the ones that fail must leave the others intact.
async fn failing_writes_do_not_undo_the_writes_committed_with_them(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            let exec = exec.clone();
            tokio::spawn(async move {
                match i % 3 {
                    0 => store
                        .append_row_log(row(&exec, &format!("ok-{i}"), RowStatus::Success, DONE))
                        .await
                        .is_ok(),
                    1 => store
                        .append_row_log(row("missing", "x", RowStatus::Success, DONE))
                        .await
                        .is_ok(),
                    _ => store
                        .record_step("orders", &format!("none-{i}"), 1, "is_send")
                        .await
                        .is_ok(),
                }
            })
        })
        .collect();
    let mut oks = 0;
    for task in tasks {
        if task.await.unwrap() {
            oks += 1;
        }
    }
    assert_eq!(oks, 20);
    let page = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(exec),
            limit: 100,
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 20);
    assert!(page.items.iter().all(|r| r.record_key.starts_with("ok-")));
}

/// The payload is what a replay writes again: kept byte for byte (no redaction, no cap), never
/// part of a listing, read back one row log at a time.
async fn the_replay_payload_is_kept_whole_and_read_only_on_its_own(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "status").await;
    f.secrets.add("omni-7f3a9c2e11");
    // Larger than the body cap, with a registered secret and a sensitive key in it.
    let payload = json!({
        "items": (0..200).map(|i| json!({"pk": i, "status": "shipped"})).collect::<Vec<_>>(),
        "password": "hunter2",
        "note": "token omni-7f3a9c2e11",
    })
    .to_string();
    assert!(payload.len() > f.row_log_body_cap);
    let with = store
        .append_row_log(NewRowLog {
            outcome: Some("updated".into()),
            request: Some(payload.clone()),
            payload: Some(payload.clone()),
            ..row(&exec, "1001", RowStatus::Success, Step::new("write_status"))
        })
        .await
        .unwrap();
    let without = store
        .append_row_log(row(&exec, "1002", RowStatus::Failed, READ))
        .await
        .unwrap();
    assert!(with.has_payload);
    assert!(!without.has_payload);
    // The request body beside it is redacted and capped as always.
    assert!(with.request.as_ref().unwrap().truncated);

    assert_eq!(
        store.row_log_payload(with.id).await.unwrap(),
        Some(payload.clone())
    );
    assert_eq!(store.row_log_payload(without.id).await.unwrap(), None);
    assert_eq!(
        store.row_log_payload(without.id + 1000).await.unwrap(),
        None
    );

    let page = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(exec),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items, vec![without, with]);
    let listed = serde_json::to_string(&page.items).unwrap();
    for secret in ["hunter2", "omni-7f3a9c2e11"] {
        assert!(!listed.contains(secret), "{secret} listed: {listed}");
    }
}

async fn payloads_over_the_limit_and_invalid_names_are_refused(f: Fixture) {
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    let with_payload = |size: usize| NewRowLog {
        payload: Some("p".repeat(size)),
        ..row(&exec, "big", RowStatus::Failed, WRITE_ERP)
    };
    let err = store
        .append_row_log(with_payload(MAX_ROW_LOG_PAYLOAD_BYTES + 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooLarge {
                field: "row_logs.payload",
                bytes,
                limit,
            } if bytes == MAX_ROW_LOG_PAYLOAD_BYTES as u64 + 1
                && limit == MAX_ROW_LOG_PAYLOAD_BYTES as u64
        ),
        "{err}"
    );
    assert!(err.to_string().contains("16777216"), "{err}");
    // finish_record refuses it too, before writing anything (counts included).
    let err = store
        .finish_record(
            with_payload(MAX_ROW_LOG_PAYLOAD_BYTES + 1),
            common::counts(1, 0, 1),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");

    // Exactly at the limit is kept, whole.
    let stored = store
        .append_row_log(with_payload(MAX_ROW_LOG_PAYLOAD_BYTES))
        .await
        .unwrap();
    assert_eq!(
        store
            .row_log_payload(stored.id)
            .await
            .unwrap()
            .map(|p| p.len()),
        Some(MAX_ROW_LOG_PAYLOAD_BYTES)
    );

    // Names the store could not read back or count.
    let long = "o".repeat(65);
    for outcome in ["", long.as_str()] {
        let err = store
            .append_row_log(NewRowLog {
                outcome: Some(outcome.to_string()),
                ..row(&exec, "x", RowStatus::Success, DONE)
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::InvalidValue {
                    field: "row_logs.outcome",
                    ..
                }
            ),
            "{err}"
        );
    }
    // A step that bypassed `Step::parse` (deserialized from elsewhere).
    let bad_step: Step = serde_json::from_str(r#""Write ERP""#).unwrap();
    let err = store
        .append_row_log(row(&exec, "x", RowStatus::Success, bad_step))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidValue {
                field: "row_logs.step",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("[a-z0-9_.]"), "{err}");

    let page = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(exec.clone()),
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1, "only the payload at the limit was written");
    let execution = store.get_execution(&exec).await.unwrap().unwrap();
    assert_eq!(execution.counts, omnibridge_store::Counts::default());
}

async fn a_stored_step_that_does_not_parse_is_reported_as_corrupt(f: Fixture) {
    if !f.reopens() {
        return; // an in-memory database cannot be reached beside the store
    }
    let store = f.open().await;
    let exec = start(&store, "orders").await;
    let stored = store
        .append_row_log(row(&exec, "1001", RowStatus::Success, DONE))
        .await
        .unwrap();
    let mut raw = common::RawConn::connect(&f.url).await;
    raw.execute(&format!(
        "UPDATE row_logs SET step = 'Not A Step' WHERE id = {}",
        stored.id
    ))
    .await;
    let err = store
        .list_row_logs(&RowLogQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                table: "row_logs",
                column: "step",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn step_names_are_checked_for_shape() {
    for good in [
        "read",
        "write_erp",
        "row_script",
        "item.7",
        "a",
        &"z".repeat(64),
    ] {
        let step = Step::parse(good).unwrap();
        assert_eq!(step.as_str(), good);
        assert_eq!(step.to_string(), good);
    }
    for bad in ["", "Write", "write-erp", "write erp", "ğ", &"z".repeat(65)] {
        assert_eq!(Step::parse(bad), None, "{bad:?}");
    }
    // Borrowed or owned, one step is one name.
    assert_eq!(Step::parse("done").unwrap(), DONE);
    assert_eq!(serde_json::to_string(&DONE).unwrap(), r#""done""#);
    assert_eq!(
        serde_json::from_str::<Step>(r#""write_erp""#).unwrap(),
        WRITE_ERP
    );
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "a step name")]
fn an_invalid_step_literal_panics_in_debug_builds() {
    let name: &'static str = "Write ERP";
    let _ = std::hint::black_box(Step::new(std::hint::black_box(name)));
}
