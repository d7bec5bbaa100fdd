#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The per-record ledger: every transition, every conflict, every crash point — on every
//! backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, new_execution};
use omnibridge_store::{
    Completed, Completion, Counts, FinishedRecord, LedgerEntry, LedgerPhase, LedgerPhaseName,
    LedgerQuery, NewIntent, NewRowLog, Resolution, RowLogQuery, RowStatus, Step, Store, StoreError,
    WriteResult, request_hash,
};

on_every_backend!(
    a_record_goes_from_intent_to_completed,
    a_rejected_write_may_be_sent_again,
    a_refusal_by_the_check_response_script_allows_a_resend,
    out_of_order_transitions_are_refused,
    exactly_one_of_many_concurrent_intents_wins,
    every_crash_point_is_distinguishable_after_reopening,
    query_check_and_people_resolve_entries,
    listing_filters_by_phase_and_pages_by_record_key,
    the_ledger_response_is_redacted_and_capped,
    finishing_a_record_completes_it_logs_it_and_counts_it_in_one_write,
    an_idempotent_write_left_in_doubt_is_released_to_be_written_again,
    an_idempotent_write_is_recorded_once_done_in_the_row_logs_write,
    many_entries_are_read_at_once,
    a_batch_of_finished_records_is_written_at_once,
);

const FLOW: &str = "orders";

fn intent(execution_id: &str, body: &str) -> NewIntent {
    NewIntent {
        execution_id: execution_id.to_string(),
        record_id: Some("pk-1".to_string()),
        request_hash: request_hash(body.as_bytes()),
    }
}

fn accepted(reference: &str) -> WriteResult {
    WriteResult {
        status_code: 201,
        accepted: true,
        reference: Some(reference.to_string()),
        response: Some(format!(r#"{{"order_no": "{reference}"}}"#)),
        error: None,
    }
}

fn refused(status: u16) -> WriteResult {
    WriteResult {
        status_code: status,
        accepted: false,
        reference: None,
        response: Some("internal error".to_string()),
        error: Some(format!("ERP answered {status}")),
    }
}

async fn running_execution(store: &Arc<dyn Store>) -> String {
    store
        .create_execution(new_execution(FLOW, "node-a"))
        .await
        .unwrap()
        .id
}

fn assert_conflict(err: StoreError, expected_phase: LedgerPhaseName) {
    match err {
        StoreError::LedgerConflict { phase, .. } => assert_eq!(phase, expected_phase),
        other => panic!("expected a ledger conflict, got {other}"),
    }
}

async fn a_record_goes_from_intent_to_completed(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    assert_eq!(store.get_ledger_entry(FLOW, "1001").await.unwrap(), None);

    let e = store
        .record_intent(FLOW, "1001", intent(&exec, "{\"number\":\"1001\"}"))
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Intent);
    assert_eq!(e.attempt, 1);
    assert_eq!(e.execution_id.as_deref(), Some(exec.as_str()));
    assert_eq!(e.record_id.as_deref(), Some("pk-1"));
    assert_eq!(e.request_hash, Some(request_hash(b"{\"number\":\"1001\"}")));
    assert_eq!(e.intent_at, Some(common::start_time()));
    assert_eq!(e.result, None);

    f.advance_secs(1);
    let e = store
        .record_result(FLOW, "1001", 1, accepted("ERP-77"))
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Accepted);
    let result = e.result.clone().unwrap();
    assert_eq!(result.status_code, Some(201));
    assert!(result.accepted);
    assert_eq!(result.reference.as_deref(), Some("ERP-77"));
    assert_eq!(result.response.unwrap().text, r#"{"order_no": "ERP-77"}"#);

    for step in [
        "item_mapping:1",
        "item_mapping:2",
        "item_mapping:1",
        "order_mapping",
        "is_send",
    ] {
        store.record_step(FLOW, "1001", 1, step).await.unwrap();
    }
    let e = store.get_ledger_entry(FLOW, "1001").await.unwrap().unwrap();
    assert_eq!(
        e.steps,
        vec![
            "item_mapping:1",
            "item_mapping:2",
            "order_mapping",
            "is_send"
        ]
    );

    let e = store.mark_completed(FLOW, "1001", 1).await.unwrap();
    assert_eq!(e.phase, LedgerPhase::Completed);
    assert!(e.completed_at.is_some());

    // Completed: never sent again.
    let err = store
        .record_intent(FLOW, "1001", intent(&exec, "{}"))
        .await
        .unwrap_err();
    assert_conflict(err, LedgerPhaseName::Phase(LedgerPhase::Completed));
}

async fn a_rejected_write_may_be_sent_again(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    store
        .record_intent(FLOW, "1002", intent(&exec, "a"))
        .await
        .unwrap();
    let e = store
        .record_result(FLOW, "1002", 1, refused(500))
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Rejected);
    assert!(e.phase.may_send());
    let result = e.result.unwrap();
    assert!(!result.accepted);
    assert_eq!(result.error.as_deref(), Some("ERP answered 500"));

    let next = running_execution(&store).await;
    let e = store
        .record_intent(FLOW, "1002", intent(&next, "b"))
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Intent);
    assert_eq!(e.attempt, 2);
    assert_eq!(e.execution_id.as_deref(), Some(next.as_str()));
    assert_eq!(e.request_hash, Some(request_hash(b"b")));
    assert_eq!(e.result, None, "the previous attempt's result is cleared");
    // The old attempt number no longer matches.
    let err = store
        .record_result(FLOW, "1002", 1, accepted("X"))
        .await
        .unwrap_err();
    assert_conflict(err, LedgerPhaseName::Phase(LedgerPhase::Intent));
    store
        .record_result(FLOW, "1002", 2, accepted("X"))
        .await
        .unwrap();
}

async fn a_refusal_by_the_check_response_script_allows_a_resend(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    store
        .record_intent(FLOW, "1003", intent(&exec, "a"))
        .await
        .unwrap();
    store
        .record_result(FLOW, "1003", 1, accepted("ERP-1"))
        .await
        .unwrap();
    let e = store
        .record_refusal(FLOW, "1003", 1, "is_send is \"0\": ERP body says error")
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Rejected);
    let result = e.result.unwrap();
    assert!(!result.accepted);
    assert_eq!(result.status_code, Some(201));
    assert_eq!(
        result.error.as_deref(),
        Some("is_send is \"0\": ERP body says error")
    );
    let e = store
        .record_intent(FLOW, "1003", intent(&exec, "a"))
        .await
        .unwrap();
    assert_eq!(e.attempt, 2);
}

async fn out_of_order_transitions_are_refused(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    // Nothing recorded yet.
    let err = store
        .record_result(FLOW, "1004", 1, accepted("X"))
        .await
        .unwrap_err();
    assert_conflict(err, LedgerPhaseName::None);
    assert_eq!(store.get_ledger_entry(FLOW, "1004").await.unwrap(), None);

    store
        .record_intent(FLOW, "1004", intent(&exec, "a"))
        .await
        .unwrap();
    // In flight / in doubt: no second intent, no Omnitron step, no completion.
    let intent_phase = LedgerPhaseName::Phase(LedgerPhase::Intent);
    assert_conflict(
        store
            .record_intent(FLOW, "1004", intent(&exec, "a"))
            .await
            .unwrap_err(),
        intent_phase,
    );
    assert_conflict(
        store
            .record_step(FLOW, "1004", 1, "is_send")
            .await
            .unwrap_err(),
        intent_phase,
    );
    assert_conflict(
        store.mark_completed(FLOW, "1004", 1).await.unwrap_err(),
        intent_phase,
    );
    assert_conflict(
        store
            .record_refusal(FLOW, "1004", 1, "no")
            .await
            .unwrap_err(),
        intent_phase,
    );
    // Wrong attempt.
    let err = store
        .record_result(FLOW, "1004", 7, accepted("X"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("attempt 1"), "{err}");

    store
        .record_result(FLOW, "1004", 1, accepted("X"))
        .await
        .unwrap();
    // A second result for the same attempt is refused: the first answer stands.
    assert_conflict(
        store
            .record_result(FLOW, "1004", 1, refused(500))
            .await
            .unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Accepted),
    );
    let e = store.get_ledger_entry(FLOW, "1004").await.unwrap().unwrap();
    assert_eq!(e.phase, LedgerPhase::Accepted);
    assert_eq!(e.result.unwrap().reference.as_deref(), Some("X"));
}

async fn exactly_one_of_many_concurrent_intents_wins(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = Arc::clone(&store);
            let exec = exec.clone();
            tokio::spawn(async move {
                // Everyone races for "shared"; each also records its own record.
                let shared = store
                    .record_intent(FLOW, "shared", intent(&exec, "s"))
                    .await;
                let own = store
                    .record_intent(FLOW, &format!("own-{i}"), intent(&exec, "o"))
                    .await;
                (shared.is_ok(), own.is_ok(), shared.err())
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        let (shared_ok, own_ok, err) = task.await.unwrap();
        assert!(own_ok);
        if shared_ok {
            winners += 1;
        } else {
            assert_conflict(err.unwrap(), LedgerPhaseName::Phase(LedgerPhase::Intent));
        }
    }
    assert_eq!(winners, 1);
    let e = store
        .get_ledger_entry(FLOW, "shared")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.attempt, 1);

    // And once it is sendable again, again exactly one wins.
    store
        .record_result(FLOW, "shared", 1, refused(503))
        .await
        .unwrap();
    let results = futures::future::join_all((0..12).map(|_| {
        let store = Arc::clone(&store);
        let exec = exec.clone();
        async move {
            store
                .record_intent(FLOW, "shared", intent(&exec, "s"))
                .await
                .is_ok()
        }
    }))
    .await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1);
    assert_eq!(
        store
            .get_ledger_entry(FLOW, "shared")
            .await
            .unwrap()
            .unwrap()
            .attempt,
        2
    );
}

/// Six records, each stopped at a different crash point by a process that then dies
/// (the store is dropped without finishing anything). A new process opens the database again.
async fn every_crash_point_is_distinguishable_after_reopening(f: Fixture) {
    let ttl = Duration::from_secs(30);
    {
        let store = f.open().await;
        store.acquire_lease(FLOW, "node-a", ttl).await.unwrap();
        let exec = running_execution(&store).await;
        // k-intent: crashed after the intent, before the ERP answer was recorded.
        store
            .record_intent(FLOW, "k-intent", intent(&exec, "1"))
            .await
            .unwrap();
        // k-result: crashed after the ERP result, before any Omnitron step.
        store
            .record_intent(FLOW, "k-result", intent(&exec, "2"))
            .await
            .unwrap();
        store
            .record_result(FLOW, "k-result", 1, accepted("E2"))
            .await
            .unwrap();
        // k-partial: crashed part-way through Omnitron.
        store
            .record_intent(FLOW, "k-partial", intent(&exec, "3"))
            .await
            .unwrap();
        store
            .record_result(FLOW, "k-partial", 1, accepted("E3"))
            .await
            .unwrap();
        store
            .record_step(FLOW, "k-partial", 1, "item_mapping:31")
            .await
            .unwrap();
        // k-omnitron: crashed after Omnitron (is_send done), before `completed`.
        store
            .record_intent(FLOW, "k-omnitron", intent(&exec, "4"))
            .await
            .unwrap();
        store
            .record_result(FLOW, "k-omnitron", 1, accepted("E4"))
            .await
            .unwrap();
        for step in ["item_mapping:41", "order_mapping", "is_send"] {
            store
                .record_step(FLOW, "k-omnitron", 1, step)
                .await
                .unwrap();
        }
        // k-done: completed before the crash.
        store
            .record_intent(FLOW, "k-done", intent(&exec, "5"))
            .await
            .unwrap();
        store
            .record_result(FLOW, "k-done", 1, accepted("E5"))
            .await
            .unwrap();
        store.mark_completed(FLOW, "k-done", 1).await.unwrap();
        // k-rejected: the ERP refused it before the crash.
        store
            .record_intent(FLOW, "k-rejected", intent(&exec, "6"))
            .await
            .unwrap();
        store
            .record_result(FLOW, "k-rejected", 1, refused(422))
            .await
            .unwrap();
        // (k-none: crashed before its intent — nothing was written for it.)
        drop(store);
    }

    let store = f.open().await;
    // While the dead run still looks alive (its lease has not lapsed), nothing is in doubt:
    // the write might still be in flight.
    assert!(
        store
            .list_ledger(&LedgerQuery::in_doubt(FLOW))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.acquire_lease(FLOW, "node-b", ttl).await.unwrap(),
        omnibridge_store::LeaseOutcome::Held { .. }
    ));

    f.advance_secs(31);
    let outcome = store.acquire_lease(FLOW, "node-b", ttl).await.unwrap();
    assert!(matches!(
        &outcome,
        omnibridge_store::LeaseOutcome::Acquired { stolen_from: Some(old), .. } if old == "node-a"
    ));
    assert_eq!(
        store.interrupt_orphaned_executions().await.unwrap().len(),
        1
    );

    let phase = |e: Option<LedgerEntry>| e.map(|e| (e.phase, e.steps));
    let get = |key: &'static str| {
        let store = Arc::clone(&store);
        async move { store.get_ledger_entry(FLOW, key).await.unwrap() }
    };
    assert_eq!(phase(get("k-none").await), None);
    assert_eq!(
        phase(get("k-intent").await),
        Some((LedgerPhase::Intent, vec![]))
    );
    assert_eq!(
        phase(get("k-result").await),
        Some((LedgerPhase::Accepted, vec![]))
    );
    assert_eq!(
        phase(get("k-partial").await),
        Some((LedgerPhase::Accepted, vec!["item_mapping:31".to_string()]))
    );
    assert_eq!(
        phase(get("k-omnitron").await),
        Some((
            LedgerPhase::Accepted,
            vec![
                "item_mapping:41".to_string(),
                "order_mapping".to_string(),
                "is_send".to_string()
            ]
        ))
    );
    assert_eq!(
        phase(get("k-done").await),
        Some((LedgerPhase::Completed, vec![]))
    );
    assert_eq!(
        phase(get("k-rejected").await),
        Some((LedgerPhase::Rejected, vec![]))
    );

    let keys = |entries: Vec<LedgerEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.record_key).collect()
    };
    assert_eq!(
        keys(
            store
                .list_ledger(&LedgerQuery::in_doubt(FLOW))
                .await
                .unwrap()
        ),
        vec!["k-intent"]
    );
    assert_eq!(
        keys(
            store
                .list_ledger(&LedgerQuery::accepted_not_completed(FLOW))
                .await
                .unwrap()
        ),
        vec!["k-omnitron", "k-partial", "k-result"]
    );
    // The accepted records finish without a new intent: the ERP is never written again.
    let err = store
        .record_intent(FLOW, "k-result", intent("x", "2"))
        .await
        .unwrap_err();
    assert_conflict(err, LedgerPhaseName::Phase(LedgerPhase::Accepted));
    store.mark_completed(FLOW, "k-omnitron", 1).await.unwrap();
    assert_eq!(
        keys(
            store
                .list_ledger(&LedgerQuery::accepted_not_completed(FLOW))
                .await
                .unwrap()
        ),
        vec!["k-partial", "k-result"]
    );
}

async fn query_check_and_people_resolve_entries(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;

    // In doubt, the query says "not in the ERP": released, and the next attempt may send.
    store
        .record_intent(FLOW, "r1", intent(&exec, "a"))
        .await
        .unwrap();
    let e = store
        .resolve(
            FLOW,
            "r1",
            Resolution::NotWritten {
                execution_id: exec.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Released);
    assert_eq!(e.resolution.unwrap().kind, "not_written");
    assert_eq!(
        store
            .record_intent(FLOW, "r1", intent(&exec, "a"))
            .await
            .unwrap()
            .attempt,
        2
    );

    // In doubt, the query finds it: accepted with the query's answer; finish Omnitron.
    store
        .record_intent(FLOW, "r2", intent(&exec, "a"))
        .await
        .unwrap();
    let e = store
        .resolve(
            FLOW,
            "r2",
            Resolution::AlreadyWritten {
                execution_id: exec.clone(),
                status_code: 200,
                reference: Some("ERP-R2".into()),
                response: Some(r#"{"orders":[{"no":"ERP-R2"}]}"#.into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Accepted);
    assert_eq!(e.attempt, 1);
    assert_eq!(e.resolution.unwrap().kind, "already_written");
    let result = e.result.unwrap();
    assert_eq!(result.reference.as_deref(), Some("ERP-R2"));
    assert_eq!(result.status_code, Some(200));
    store.record_step(FLOW, "r2", 1, "is_send").await.unwrap();
    store.mark_completed(FLOW, "r2", 1).await.unwrap();

    // Already in the ERP on first sight (never attempted): accepted at attempt 0.
    let e = store
        .resolve(
            FLOW,
            "r3",
            Resolution::AlreadyWritten {
                execution_id: exec.clone(),
                status_code: 200,
                reference: None,
                response: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((e.phase, e.attempt), (LedgerPhase::Accepted, 0));
    store.record_step(FLOW, "r3", 0, "is_send").await.unwrap();
    assert_eq!(
        store.mark_completed(FLOW, "r3", 0).await.unwrap().phase,
        LedgerPhase::Completed
    );

    // A person decides: resend an in-doubt record...
    store
        .record_intent(FLOW, "r4", intent(&exec, "a"))
        .await
        .unwrap();
    let e = store
        .resolve(
            FLOW,
            "r4",
            Resolution::Resend {
                by: "ayse".into(),
                note: Some("checked the ERP by hand".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Released);
    let resolution = e.resolution.unwrap();
    assert_eq!(resolution.kind, "resend");
    assert_eq!(resolution.by.as_deref(), Some("ayse"));
    assert_eq!(resolution.note.as_deref(), Some("checked the ERP by hand"));

    // ...or mark one done, after which it is never sent.
    store
        .record_intent(FLOW, "r5", intent(&exec, "a"))
        .await
        .unwrap();
    let e = store
        .resolve(
            FLOW,
            "r5",
            Resolution::MarkDone {
                by: "mehmet".into(),
                note: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Completed);
    assert!(e.completed_at.is_some());
    assert_conflict(
        store
            .record_intent(FLOW, "r5", intent(&exec, "a"))
            .await
            .unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Completed),
    );

    // Not allowed: "not in the ERP" for an accepted record, resend of an unknown record,
    // "found" for a completed one.
    assert_conflict(
        store
            .resolve(
                FLOW,
                "r2",
                Resolution::NotWritten {
                    execution_id: exec.clone(),
                },
            )
            .await
            .unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Completed),
    );
    assert_conflict(
        store
            .resolve(
                FLOW,
                "unknown",
                Resolution::Resend {
                    by: "ayse".into(),
                    note: None,
                },
            )
            .await
            .unwrap_err(),
        LedgerPhaseName::None,
    );
    assert_conflict(
        store
            .resolve(
                FLOW,
                "r5",
                Resolution::AlreadyWritten {
                    execution_id: exec.clone(),
                    status_code: 200,
                    reference: None,
                    response: None,
                },
            )
            .await
            .unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Completed),
    );
}

async fn listing_filters_by_phase_and_pages_by_record_key(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    for key in ["a", "b", "c", "d", "e"] {
        store
            .record_intent(FLOW, key, intent(&exec, key))
            .await
            .unwrap();
    }
    store
        .record_intent("other-flow", "a", intent(&exec, "a"))
        .await
        .unwrap();
    store
        .record_result(FLOW, "b", 1, accepted("B"))
        .await
        .unwrap();
    store
        .record_result(FLOW, "d", 1, refused(500))
        .await
        .unwrap();

    let keys = |entries: Vec<LedgerEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.record_key).collect()
    };
    let mut query = LedgerQuery {
        flow_id: FLOW.into(),
        phases: vec![],
        stale_only: false,
        after_record_key: None,
        limit: 2,
    };
    assert_eq!(
        keys(store.list_ledger(&query).await.unwrap()),
        vec!["a", "b"]
    );
    query.after_record_key = Some("b".into());
    assert_eq!(
        keys(store.list_ledger(&query).await.unwrap()),
        vec!["c", "d"]
    );
    query.after_record_key = Some("d".into());
    assert_eq!(keys(store.list_ledger(&query).await.unwrap()), vec!["e"]);

    query.after_record_key = None;
    query.limit = 100;
    query.phases = vec![LedgerPhase::Intent];
    assert_eq!(
        keys(store.list_ledger(&query).await.unwrap()),
        vec!["a", "c", "e"]
    );
    query.phases = vec![LedgerPhase::Accepted, LedgerPhase::Rejected];
    assert_eq!(
        keys(store.list_ledger(&query).await.unwrap()),
        vec!["b", "d"]
    );
    // The execution is still running: nothing is stale yet.
    query.stale_only = true;
    assert!(store.list_ledger(&query).await.unwrap().is_empty());
    store
        .finish_execution(&exec, Default::default())
        .await
        .unwrap();
    assert_eq!(
        keys(store.list_ledger(&query).await.unwrap()),
        vec!["b", "d"]
    );
    assert_eq!(
        keys(
            store
                .list_ledger(&LedgerQuery::in_doubt(FLOW))
                .await
                .unwrap()
        ),
        vec!["a", "c", "e"]
    );
}

async fn the_ledger_response_is_redacted_and_capped(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    f.secrets.add("erp-session-abcdef");
    store
        .record_intent(FLOW, "big", intent(&exec, "a"))
        .await
        .unwrap();
    let filler = "x".repeat(10_000);
    let response = format!(
        r#"{{"session": "erp-session-abcdef", "access_token": "t0k3n", "filler": "{filler}"}}"#
    );
    let e = store
        .record_result(
            FLOW,
            "big",
            1,
            WriteResult {
                response: Some(response.clone()),
                ..accepted("B")
            },
        )
        .await
        .unwrap();
    let body = e.result.unwrap().response.unwrap();
    assert!(body.truncated);
    assert_eq!(body.original_bytes, response.len() as u64);
    assert!(!body.text.contains("erp-session-abcdef"));
    assert!(!body.text.contains("t0k3n"));
    assert!(
        body.text
            .starts_with(r#"{"session":"***","access_token":"***""#),
        "{}",
        &body.text[..80]
    );
    assert!(body.text.ends_with(&omnibridge_store::truncation_marker(
        response.len() as u64,
        f.ledger_body_cap
    )));
}

async fn finishing_a_record_completes_it_logs_it_and_counts_it_in_one_write(f: Fixture) {
    let store = f.open().await;
    let exec = running_execution(&store).await;
    store
        .record_intent(FLOW, "1001", intent(&exec, "{}"))
        .await
        .unwrap();
    store
        .record_result(FLOW, "1001", 1, accepted("ERP-1"))
        .await
        .unwrap();
    let row = |key: &str, status| NewRowLog {
        execution_id: exec.clone(),
        record_key: key.to_string(),
        record_id: None,
        status,
        step: Step::new("done"),
        outcome: Some("sent".to_string()),
        error: None,
        attributes: serde_json::Map::new(),
        request: None,
        response: None,
        payload: Some(format!(r#"{{"number":"{key}"}}"#)),
    };
    let sent = Counts {
        read: 1,
        succeeded: 1,
        outcomes: [("sent".to_string(), 1)].into(),
        ..Default::default()
    };
    let refused = store
        .finish_record(
            row("1001", RowStatus::Success),
            sent.clone(),
            Some(Completion {
                flow_id: FLOW,
                record_key: "1001",
                how: Completed::Accepted { attempt: 1 },
            }),
        )
        .await
        .unwrap();
    assert!(refused.is_none(), "{refused:?}");
    let entry = store.get_ledger_entry(FLOW, "1001").await.unwrap().unwrap();
    assert_eq!(entry.phase, LedgerPhase::Completed);

    // A completion the ledger refuses (no accepted attempt) is reported, and the row log and
    // the counts are written all the same.
    let refused = store
        .finish_record(
            row("1002", RowStatus::Success),
            sent.clone(),
            Some(Completion {
                flow_id: FLOW,
                record_key: "1002",
                how: Completed::Accepted { attempt: 1 },
            }),
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, Some(StoreError::LedgerConflict { .. })),
        "{refused:?}"
    );
    let execution = store.get_execution(&exec).await.unwrap().unwrap();
    assert_eq!(
        (
            execution.counts.read,
            execution.counts.succeeded,
            execution.counts.outcome("sent")
        ),
        (2, 2, 2)
    );
    let logs = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(exec.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.total, 2);
    for log in &logs.items {
        assert_eq!(log.outcome.as_deref(), Some("sent"));
        assert!(log.has_payload);
        assert_eq!(
            store.row_log_payload(log.id).await.unwrap(),
            Some(format!(r#"{{"number":"{}"}}"#, log.record_key))
        );
    }

    // An unknown execution writes nothing.
    let mut lost = row("1003", RowStatus::Failed);
    lost.execution_id = "missing".to_string();
    let err = store
        .finish_record(lost, sent.clone(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ExecutionNotFound(_)), "{err}");
}

/// The Order Status Flow: setting an item to a status it already has is a no-op, so an intent
/// left by a dead run is released and written again instead of held in doubt. Its ledger key
/// (one item) differs from its row log's record key (the order).
async fn an_idempotent_write_left_in_doubt_is_released_to_be_written_again(f: Fixture) {
    let store = f.open().await;
    let flow = "order-status";
    let dead = store
        .create_execution(new_execution(flow, "node-a"))
        .await
        .unwrap()
        .id;
    store
        .record_intent(flow, "1001/item-7", intent(&dead, "shipped"))
        .await
        .unwrap();
    store.interrupt_execution(&dead, "node died").await.unwrap();

    let next = store
        .create_execution(new_execution(flow, "node-b"))
        .await
        .unwrap()
        .id;
    let e = store
        .resolve(
            flow,
            "1001/item-7",
            Resolution::RetryIdempotent {
                execution_id: next.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Released);
    assert_eq!(e.attempt, 1);
    assert_eq!(e.execution_id.as_deref(), Some(next.as_str()));
    let resolution = e.resolution.unwrap();
    assert_eq!(resolution.kind, "retry_idempotent");
    assert_eq!(resolution.by, None);

    let e = store
        .record_intent(flow, "1001/item-7", intent(&next, "shipped"))
        .await
        .unwrap();
    assert_eq!((e.phase, e.attempt), (LedgerPhase::Intent, 2));
    // Allowed from an intent whatever its execution (the caller holds the flow's lease).
    let e = store
        .resolve(
            flow,
            "1001/item-7",
            Resolution::RetryIdempotent {
                execution_id: next.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.phase, LedgerPhase::Released);
    store
        .record_intent(flow, "1001/item-7", intent(&next, "shipped"))
        .await
        .unwrap();
    store
        .record_result(
            flow,
            "1001/item-7",
            3,
            WriteResult {
                status_code: 200,
                accepted: true,
                reference: None,
                response: None,
                error: None,
            },
        )
        .await
        .unwrap();
    let refused = store
        .finish_record(
            NewRowLog {
                execution_id: next.clone(),
                record_key: "1001".into(),
                record_id: None,
                status: RowStatus::Success,
                step: Step::new("write_status"),
                outcome: Some("updated".into()),
                error: None,
                attributes: serde_json::Map::new(),
                request: None,
                response: None,
                payload: None,
            },
            Counts {
                read: 1,
                succeeded: 1,
                outcomes: [("updated".to_string(), 1)].into(),
                ..Counts::default()
            },
            Some(Completion {
                flow_id: flow,
                record_key: "1001/item-7",
                how: Completed::Accepted { attempt: 3 },
            }),
        )
        .await
        .unwrap();
    assert!(refused.is_none(), "{refused:?}");
    assert_eq!(
        store
            .get_ledger_entry(flow, "1001/item-7")
            .await
            .unwrap()
            .unwrap()
            .phase,
        LedgerPhase::Completed
    );
    assert_eq!(store.get_ledger_entry(flow, "1001").await.unwrap(), None);

    // Nowhere else: not without an entry, not once accepted, rejected, released or done.
    let retry = || Resolution::RetryIdempotent {
        execution_id: next.clone(),
    };
    assert_conflict(
        store.resolve(flow, "never", retry()).await.unwrap_err(),
        LedgerPhaseName::None,
    );
    assert_conflict(
        store
            .resolve(flow, "1001/item-7", retry())
            .await
            .unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Completed),
    );
    store
        .record_intent(flow, "item-8", intent(&next, "x"))
        .await
        .unwrap();
    store
        .record_result(flow, "item-8", 1, accepted("R"))
        .await
        .unwrap();
    assert_conflict(
        store.resolve(flow, "item-8", retry()).await.unwrap_err(),
        LedgerPhaseName::Phase(LedgerPhase::Accepted),
    );
    store.record_refusal(flow, "item-8", 1, "no").await.unwrap();
    let err = store.resolve(flow, "item-8", retry()).await.unwrap_err();
    assert!(err.to_string().contains("idempotent retry"), "{err}");
    assert_conflict(err, LedgerPhaseName::Phase(LedgerPhase::Rejected));
}

fn status_row_log(execution_id: &str) -> NewRowLog {
    NewRowLog {
        execution_id: execution_id.to_string(),
        record_key: "1001".into(),
        record_id: Some("1001#abc".into()),
        status: RowStatus::Success,
        step: Step::new("done"),
        outcome: Some("updated".into()),
        error: None,
        attributes: serde_json::Map::new(),
        request: Some("{\"order\": \"1001\"}".into()),
        response: None,
        payload: Some("{\"order\": \"1001\"}".into()),
    }
}

/// An idempotent write (a status update) needs no intent: its completion, with the target's
/// answer, is recorded in the row log's write. It creates the entry, completes an open one, and
/// is refused (harmlessly) for a record already done.
async fn an_idempotent_write_is_recorded_once_done_in_the_row_logs_write(f: Fixture) {
    let store = f.open().await;
    let flow = "order-status";
    let run = store
        .create_execution(new_execution(flow, "node-a"))
        .await
        .unwrap()
        .id;
    let mut answer = accepted("ignored-ref");
    answer.status_code = 200;
    answer.response = Some("[{\"id\": 7, \"status\": \"500\"}]".into());
    let completion = |key, result| Completion {
        flow_id: flow,
        record_key: key,
        how: Completed::Idempotent { result },
    };
    let delta = || Counts {
        read: 1,
        succeeded: 1,
        ..Counts::default()
    };
    // No entry yet: it is created completed, attempt 1, with the answer and the row's id.
    let refused = store
        .finish_record(
            status_row_log(&run),
            delta(),
            Some(completion("1001#abc", &answer)),
        )
        .await
        .unwrap();
    assert!(refused.is_none(), "{refused:?}");
    let done = store
        .get_ledger_entry(flow, "1001#abc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.phase, done.attempt), (LedgerPhase::Completed, 1));
    assert_eq!(done.record_id.as_deref(), Some("1001#abc"));
    assert_eq!(done.execution_id.as_deref(), Some(run.as_str()));
    let result = done.result.clone().unwrap();
    assert_eq!((result.status_code, result.accepted), (Some(200), true));
    assert!(result.response.unwrap().text.contains("\"status\""));
    assert!(done.completed_at.is_some());

    // Done already: refused, nothing changes; the row log and counts are written anyway.
    let refused = store
        .finish_record(
            status_row_log(&run),
            delta(),
            Some(completion("1001#abc", &answer)),
        )
        .await
        .unwrap();
    assert!(refused.is_some());
    assert_eq!(
        store
            .get_ledger_entry(flow, "1001#abc")
            .await
            .unwrap()
            .unwrap(),
        done
    );
    let counts = store.get_execution(&run).await.unwrap().unwrap().counts;
    assert_eq!((counts.read, counts.succeeded), (2, 2));

    // An intent left open (by a run that died) is completed at its own attempt; a rejected
    // entry at the next one.
    store
        .record_intent(flow, "1002#def", intent(&run, "row"))
        .await
        .unwrap();
    store
        .finish_record(
            status_row_log(&run),
            delta(),
            Some(completion("1002#def", &answer)),
        )
        .await
        .unwrap();
    let e = store
        .get_ledger_entry(flow, "1002#def")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.phase, e.attempt), (LedgerPhase::Completed, 1));
    assert!(e.intent_at.is_some());
    store
        .record_intent(flow, "1003#ghi", intent(&run, "row"))
        .await
        .unwrap();
    let mut refusal = answer.clone();
    refusal.accepted = false;
    store
        .record_result(flow, "1003#ghi", 1, refusal.clone())
        .await
        .unwrap();
    store
        .finish_record(
            status_row_log(&run),
            delta(),
            Some(completion("1003#ghi", &answer)),
        )
        .await
        .unwrap();
    let e = store
        .get_ledger_entry(flow, "1003#ghi")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.phase, e.attempt), (LedgerPhase::Completed, 2));

    // A refusal never completes a record.
    let err = store
        .finish_record(
            status_row_log(&run),
            delta(),
            Some(completion("1004#jkl", &refusal)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidValue { .. }), "{err}");
    assert_eq!(
        store.get_ledger_entry(flow, "1004#jkl").await.unwrap(),
        None
    );
}

/// A page of records is checked against the ledger in one read, whatever its size (keys go in
/// chunks); missing keys are simply absent, and each entry comes with its attempt's steps.
async fn many_entries_are_read_at_once(f: Fixture) {
    let store = f.open().await;
    let run = store
        .create_execution(new_execution(FLOW, "node-a"))
        .await
        .unwrap()
        .id;
    let keys: Vec<String> = (0..620).map(|i| format!("k{i:04}")).collect();
    let writes = keys.iter().map(|key| {
        let store = store.clone();
        let run = run.clone();
        async move {
            store
                .record_intent(FLOW, key, intent(&run, key))
                .await
                .unwrap()
        }
    });
    futures::future::join_all(writes).await;
    store
        .record_result(FLOW, "k0007", 1, accepted("E7"))
        .await
        .unwrap();
    store
        .record_step(FLOW, "k0007", 1, "order_mapping")
        .await
        .unwrap();
    let mut asked = keys.clone();
    asked.extend((0..90).map(|i| format!("missing-{i}")));
    let entries = store.get_ledger_entries(FLOW, &asked).await.unwrap();
    assert_eq!(entries.len(), 620);
    let seven = entries.iter().find(|e| e.record_key == "k0007").unwrap();
    assert_eq!(seven.phase, LedgerPhase::Accepted);
    assert_eq!(seven.steps, ["order_mapping"]);
    assert!(
        entries
            .iter()
            .filter(|e| e.record_key != "k0007")
            .all(|e| e.phase == LedgerPhase::Intent && e.steps.is_empty())
    );
    assert!(
        store
            .get_ledger_entries(FLOW, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .get_ledger_entries("other-flow", &keys)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The row-log writer hands the store what it has ready as one batch: every row log, every
/// completion (a refused one reported in its place), the counts summed per execution.
async fn a_batch_of_finished_records_is_written_at_once(f: Fixture) {
    let store = f.open().await;
    let flow = "order-status";
    let run = store
        .create_execution(new_execution(flow, "node-a"))
        .await
        .unwrap()
        .id;
    let other = store
        .create_execution(new_execution("another-flow", "node-a"))
        .await
        .unwrap()
        .id;
    let mut answer = accepted("ref");
    answer.status_code = 200;
    store
        .finish_record(
            status_row_log(&run),
            Counts::default(),
            Some(Completion {
                flow_id: flow,
                record_key: "done-already",
                how: Completed::Idempotent { result: &answer },
            }),
        )
        .await
        .unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("{i}#k")).collect();
    let mut records: Vec<FinishedRecord<'_>> = keys
        .iter()
        .map(|key| FinishedRecord {
            log: status_row_log(&run),
            delta: Counts {
                read: 1,
                succeeded: 1,
                outcomes: [("updated".to_string(), 1)].into(),
                ..Counts::default()
            },
            completed: Some(Completion {
                flow_id: flow,
                record_key: key,
                how: Completed::Idempotent { result: &answer },
            }),
        })
        .collect();
    records.push(FinishedRecord {
        log: status_row_log(&run),
        delta: Counts {
            read: 1,
            skipped: 1,
            ..Counts::default()
        },
        completed: Some(Completion {
            flow_id: flow,
            record_key: "done-already",
            how: Completed::Idempotent { result: &answer },
        }),
    });
    let mut elsewhere = status_row_log(&other);
    elsewhere.status = RowStatus::Failed;
    records.push(FinishedRecord {
        log: elsewhere,
        delta: Counts {
            read: 1,
            failed: 1,
            ..Counts::default()
        },
        completed: None,
    });
    let refusals = store.finish_records(records).await.unwrap();
    assert_eq!(refusals.len(), 42);
    assert!(refusals[..40].iter().all(Option::is_none));
    assert!(
        refusals[40].is_some(),
        "a record done already is reported in its place"
    );
    assert!(refusals[41].is_none());
    let entries = store.get_ledger_entries(flow, &keys).await.unwrap();
    assert_eq!(entries.len(), 40);
    assert!(entries.iter().all(|e| e.phase == LedgerPhase::Completed));
    let counts = store.get_execution(&run).await.unwrap().unwrap().counts;
    assert_eq!(
        (
            counts.read,
            counts.succeeded,
            counts.skipped,
            counts.outcome("updated")
        ),
        (41, 40, 1, 40)
    );
    let counts = store.get_execution(&other).await.unwrap().unwrap().counts;
    assert_eq!((counts.read, counts.failed), (1, 1));
    let logs = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(run.clone()),
            limit: 100,
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.total, 42, "the first row log and the batch's 41");

    // A batch with an unknown execution is refused whole.
    let lost = FinishedRecord {
        log: status_row_log("no-such-execution"),
        delta: Counts::default(),
        completed: None,
    };
    let err = store
        .finish_records(vec![
            FinishedRecord {
                log: status_row_log(&run),
                delta: Counts::default(),
                completed: None,
            },
            lost,
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ExecutionNotFound(_)), "{err}");
    let logs = store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(run.clone()),
            limit: 100,
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.total, 42, "nothing of the refused batch was written");
}
