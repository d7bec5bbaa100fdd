#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Executions: create, count, finish, interrupt, list — on every backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, counts, new_execution, outcomes, start};
use omnibridge_store::{
    Counts, ExecutionQuery, ExecutionState, ExecutionStatus, FinishExecution, NewExecution,
    RetentionPolicy, StoreError, Trigger,
};
use serde_json::json;

on_every_backend!(
    created_execution_is_running_with_zero_counts,
    every_trigger_round_trips,
    concurrent_increments_are_never_lost,
    finish_derives_status_from_counts_and_records_duration,
    finish_with_explicit_status_error_and_redacted_summary,
    finishing_twice_is_refused,
    unknown_execution_is_reported,
    interrupt_marks_a_running_execution,
    orphaned_executions_are_interrupted_when_their_lease_lapses,
    list_is_newest_first_filtered_and_paginated,
    two_processes_on_one_database_lose_no_increment,
    outcome_counters_come_with_every_execution_returned,
    invalid_outcome_labels_are_refused_and_nothing_is_counted,
    pruning_removes_the_outcome_counters_with_their_execution,
);

async fn created_execution_is_running_with_zero_counts(f: Fixture) {
    let store = f.open().await;
    let created = store
        .create_execution(new_execution("orders", "node-a"))
        .await
        .unwrap();
    assert_eq!(created.state, ExecutionState::Running);
    assert_eq!(created.status, ExecutionStatus::InProgress);
    assert_eq!(created.counts, Counts::default());
    assert_eq!(created.started_at, common::start_time());
    assert_eq!(created.finished_at, None);
    assert_eq!(created.flow_name, "orders name");
    let got = store.get_execution(&created.id).await.unwrap().unwrap();
    assert_eq!(got, created);
    assert_eq!(got.state.integrator_code(), 2);
    assert_eq!(got.status.integrator_code(), 1);
}

async fn every_trigger_round_trips(f: Fixture) {
    let store = f.open().await;
    let parent = start(&store, "orders").await;
    let triggers = [
        Trigger::Scheduled,
        Trigger::Manual {
            user: "ayse".into(),
        },
        Trigger::Outbound {
            caller: Some("erp-push".into()),
        },
        Trigger::Outbound { caller: None },
        Trigger::Replay {
            parent: parent.clone(),
            user: Some("mehmet".into()),
        },
    ];
    for trigger in triggers {
        let created = store
            .create_execution(NewExecution {
                trigger: trigger.clone(),
                ..new_execution("orders", "node-a")
            })
            .await
            .unwrap();
        let got = store.get_execution(&created.id).await.unwrap().unwrap();
        assert_eq!(got.trigger, trigger);
        assert_eq!(got.trigger.is_triggered(), trigger != Trigger::Scheduled);
    }
}

async fn concurrent_increments_are_never_lost(f: Fixture) {
    let store = f.open().await;
    let id = start(&store, "orders").await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = Arc::clone(&store);
            let id = id.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    let delta = if i % 2 == 0 {
                        Counts {
                            outcomes: outcomes(&[("sent", 1)]),
                            ..counts(1, 1, 0)
                        }
                    } else {
                        Counts {
                            read: 1,
                            failed: 1,
                            in_doubt: 2,
                            // A zero adds nothing and makes no counter.
                            outcomes: outcomes(&[("write_refused", 1), ("zero", 0)]),
                            ..Counts::default()
                        }
                    };
                    store.increment_counts(&id, delta).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let got = store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(
        got.counts,
        Counts {
            read: 400,
            succeeded: 200,
            failed: 200,
            in_doubt: 400,
            skipped: 0,
            outcomes: outcomes(&[("sent", 200), ("write_refused", 200)]),
        }
    );
    // The returned totals are the stored ones, outcomes included.
    let after = store
        .increment_counts(
            &id,
            Counts {
                skipped: 3,
                outcomes: outcomes(&[("already_in_erp", 4)]),
                ..Counts::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.skipped, 3);
    assert_eq!(after.outcome("already_in_erp"), 4);
    assert_eq!(after.outcome("sent"), 200);
    assert_eq!(after.outcome("zero"), 0);
    assert_eq!(after.outcome("never"), 0);
    assert_eq!(after.read, 400);
    assert_eq!(
        after,
        store.get_execution(&id).await.unwrap().unwrap().counts
    );
}

async fn finish_derives_status_from_counts_and_records_duration(f: Fixture) {
    let store = f.open().await;
    let cases = [
        (Counts::default(), ExecutionStatus::Empty),
        (counts(3, 3, 0), ExecutionStatus::Success),
        (counts(3, 0, 3), ExecutionStatus::Failed),
        (counts(3, 2, 1), ExecutionStatus::Partial),
        (
            Counts {
                read: 2,
                succeeded: 1,
                in_doubt: 1,
                outcomes: outcomes(&[("already_in_erp", 1)]),
                ..Counts::default()
            },
            ExecutionStatus::Partial,
        ),
        (
            Counts {
                read: 2,
                skipped: 2,
                ..Counts::default()
            },
            ExecutionStatus::Success,
        ),
        (
            Counts {
                read: 1,
                in_doubt: 1,
                ..Counts::default()
            },
            ExecutionStatus::Failed,
        ),
    ];
    for (delta, expected) in cases {
        let id = start(&store, "orders").await;
        store.increment_counts(&id, delta.clone()).await.unwrap();
        f.clock.advance(chrono::Duration::milliseconds(1500));
        let done = store
            .finish_execution(&id, FinishExecution::default())
            .await
            .unwrap();
        assert_eq!(done.state, ExecutionState::Finished, "{delta:?}");
        assert_eq!(done.status, expected, "{delta:?}");
        assert_eq!(done.duration_ms, Some(1500));
        assert_eq!(done.finished_at, Some(f.clock_now()));
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}
impl ClockNow for Fixture {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use omnibridge_store::Clock;
        self.clock.now()
    }
}

async fn finish_with_explicit_status_error_and_redacted_summary(f: Fixture) {
    let store = f.open().await;
    f.secrets.add("tok-123456789");
    let id = start(&store, "orders").await;
    let done = store
        .finish_execution(
            &id,
            FinishExecution {
                status: Some(ExecutionStatus::Failed),
                error: Some("login failed with Authorization: Token tok-123456789".into()),
                summary: Some(
                    json!({"pages": 3, "erp": {"password": "hunter2", "url": "https://erp"}}),
                ),
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(
        done.error.as_deref(),
        Some("login failed with Authorization: ***")
    );
    assert_eq!(
        done.summary,
        Some(json!({"pages": 3, "erp": {"password": "***", "url": "https://erp"}}))
    );
    assert_eq!(store.get_execution(&id).await.unwrap().unwrap(), done);
}

async fn finishing_twice_is_refused(f: Fixture) {
    let store = f.open().await;
    let id = start(&store, "orders").await;
    store
        .finish_execution(&id, FinishExecution::default())
        .await
        .unwrap();
    let err = store
        .finish_execution(&id, FinishExecution::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::ExecutionNotRunning { state, .. } if state == "finished"),
        "{err}"
    );
    let err = store.interrupt_execution(&id, "stop").await.unwrap_err();
    assert!(
        matches!(err, StoreError::ExecutionNotRunning { .. }),
        "{err}"
    );
    // A late record's counts still land.
    let totals = store.increment_counts(&id, counts(1, 1, 0)).await.unwrap();
    assert_eq!(totals.succeeded, 1);
}

async fn unknown_execution_is_reported(f: Fixture) {
    let store = f.open().await;
    assert_eq!(store.get_execution("nope").await.unwrap(), None);
    let err = store
        .increment_counts("nope", counts(1, 0, 0))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::ExecutionNotFound(id) if id == "nope"));
    let err = store
        .finish_execution("nope", FinishExecution::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ExecutionNotFound(_)));
}

async fn interrupt_marks_a_running_execution(f: Fixture) {
    let store = f.open().await;
    let id = start(&store, "orders").await;
    store.increment_counts(&id, counts(2, 1, 0)).await.unwrap();
    f.advance_secs(2);
    let stopped = store
        .interrupt_execution(&id, "shutdown requested")
        .await
        .unwrap();
    assert_eq!(stopped.state, ExecutionState::Interrupted);
    assert_eq!(stopped.state.integrator_code(), 3);
    assert_eq!(stopped.status, ExecutionStatus::Success);
    assert_eq!(stopped.error.as_deref(), Some("shutdown requested"));
    assert_eq!(stopped.duration_ms, Some(2000));
}

async fn orphaned_executions_are_interrupted_when_their_lease_lapses(f: Fixture) {
    let store = f.open().await;
    let ttl = Duration::from_secs(30);
    // node-a runs flow "orders" under its lease; node-b runs "status" under its own.
    store.acquire_lease("orders", "node-a", ttl).await.unwrap();
    store.acquire_lease("status", "node-b", ttl).await.unwrap();
    let a = store
        .create_execution(new_execution("orders", "node-a"))
        .await
        .unwrap();
    let b = store
        .create_execution(new_execution("status", "node-b"))
        .await
        .unwrap();
    // A run with no lease at all (its process never took one, or released it) is orphaned.
    let c = store
        .create_execution(new_execution("cancel", "node-c"))
        .await
        .unwrap();
    assert_eq!(
        store.interrupt_orphaned_executions().await.unwrap(),
        vec![c.id.clone()]
    );

    // node-a dies: its lease lapses; node-b keeps heartbeating.
    f.advance_secs(20);
    store
        .heartbeat_lease("status", "node-b", ttl)
        .await
        .unwrap()
        .unwrap();
    f.advance_secs(20);
    let interrupted = store.interrupt_orphaned_executions().await.unwrap();
    assert_eq!(interrupted, vec![a.id.clone()]);
    let a = store.get_execution(&a.id).await.unwrap().unwrap();
    assert_eq!(a.state, ExecutionState::Interrupted);
    assert!(a.error.unwrap().contains("node-a"));
    assert_eq!(
        store.get_execution(&b.id).await.unwrap().unwrap().state,
        ExecutionState::Running
    );
    // Nothing more to do the second time.
    assert!(
        store
            .interrupt_orphaned_executions()
            .await
            .unwrap()
            .is_empty()
    );
}

async fn list_is_newest_first_filtered_and_paginated(f: Fixture) {
    let store = f.open().await;
    let mut orders = Vec::new();
    for i in 0..7 {
        let id = start(&store, "orders").await;
        let delta = if i % 2 == 0 {
            counts(1, 1, 0)
        } else {
            counts(1, 0, 1)
        };
        store.increment_counts(&id, delta).await.unwrap();
        if i < 6 {
            store
                .finish_execution(&id, FinishExecution::default())
                .await
                .unwrap();
        }
        orders.push(id);
        f.advance_secs(1);
    }
    // Same start time: insertion order breaks the tie.
    let other = start(&store, "status").await;
    let tie = start(&store, "status").await;

    let page = store
        .list_executions(&ExecutionQuery {
            flow_id: Some("orders".into()),
            limit: 3,
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 7);
    let ids: Vec<_> = page.items.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        ids,
        vec![orders[6].clone(), orders[5].clone(), orders[4].clone()]
    );

    let page2 = store
        .list_executions(&ExecutionQuery {
            flow_id: Some("orders".into()),
            limit: 3,
            offset: 6,
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 1);
    assert_eq!(page2.items[0].id, orders[0]);

    let failed = store
        .list_executions(&ExecutionQuery {
            flow_id: Some("orders".into()),
            statuses: vec![ExecutionStatus::Failed],
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.total, 3);
    assert!(
        failed
            .items
            .iter()
            .all(|e| e.status == ExecutionStatus::Failed)
    );

    let running = store
        .list_executions(&ExecutionQuery {
            state: Some(ExecutionState::Running),
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = running.items.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, vec![tie, other, orders[6].clone()]);

    let all = store
        .list_executions(&ExecutionQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 9);
}

/// `omnibridge run --once` beside a running `omnibridge serve`: two stores (two writers) on one
/// database. SQLite serializes them through its file lock and busy timeout; PostgreSQL through
/// row locks.
async fn two_processes_on_one_database_lose_no_increment(f: Fixture) {
    let first = f.open().await;
    let second = f.open().await; // the same instance in memory, a second pool otherwise
    let id = start(&first, "orders").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = if i % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            let id = id.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    let delta = Counts {
                        outcomes: outcomes(&[("updated", 1)]),
                        ..counts(1, 1, 0)
                    };
                    store.increment_counts(&id, delta).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for store in [&first, &second] {
        let got = store.get_execution(&id).await.unwrap().unwrap();
        assert_eq!(
            got.counts,
            Counts {
                outcomes: outcomes(&[("updated", 100)]),
                ..counts(100, 100, 0)
            }
        );
    }
}

/// Create, get, list, finish and interrupt all return the outcome counters (list reads them
/// for the whole page at once).
async fn outcome_counters_come_with_every_execution_returned(f: Fixture) {
    let store = f.open().await;
    let created = store
        .create_execution(new_execution("status", "node-a"))
        .await
        .unwrap();
    assert!(created.counts.outcomes.is_empty());

    let updated = Counts {
        outcomes: outcomes(&[("updated", 2), ("already_applied", 1)]),
        ..counts(3, 3, 0)
    };
    store
        .increment_counts(&created.id, updated.clone())
        .await
        .unwrap();
    let got = store.get_execution(&created.id).await.unwrap().unwrap();
    assert_eq!(got.counts, updated);
    assert_eq!(got.counts.outcome("updated"), 2);

    // A second run with other outcomes and a third with none, on the same page.
    f.advance_secs(1);
    let second = start(&store, "status").await;
    store
        .increment_counts(
            &second,
            Counts {
                outcomes: outcomes(&[("updated", 5)]),
                ..counts(5, 5, 0)
            },
        )
        .await
        .unwrap();
    f.advance_secs(1);
    let third = start(&store, "status").await;
    let page = store
        .list_executions(&ExecutionQuery::default())
        .await
        .unwrap();
    let listed: Vec<_> = page
        .items
        .iter()
        .map(|e| (e.id.clone(), e.counts.outcomes.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (third.clone(), outcomes(&[])),
            (second.clone(), outcomes(&[("updated", 5)])),
            (created.id.clone(), updated.outcomes.clone()),
        ]
    );

    let finished = store
        .finish_execution(&created.id, FinishExecution::default())
        .await
        .unwrap();
    assert_eq!(finished.counts, updated);
    assert_eq!(finished.status, ExecutionStatus::Success);
    let interrupted = store.interrupt_execution(&second, "stop").await.unwrap();
    assert_eq!(interrupted.counts.outcome("updated"), 5);
    let interrupted = store.interrupt_execution(&third, "stop").await.unwrap();
    assert_eq!(interrupted.counts, Counts::default());
    assert_eq!(interrupted.status, ExecutionStatus::Empty);
}

async fn invalid_outcome_labels_are_refused_and_nothing_is_counted(f: Fixture) {
    let store = f.open().await;
    let id = start(&store, "orders").await;
    let long = "x".repeat(65);
    for label in ["", long.as_str()] {
        let delta = Counts {
            outcomes: outcomes(&[("sent", 1), (label, 1)]),
            ..counts(1, 1, 0)
        };
        let err = store.increment_counts(&id, delta).await.unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::InvalidValue {
                    field: "counts.outcomes",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("1 to 64 characters"), "{err}");
    }
    // 64 characters is the longest label allowed.
    let longest = "y".repeat(64);
    let totals = store
        .increment_counts(
            &id,
            Counts {
                outcomes: outcomes(&[(longest.as_str(), 1)]),
                ..Counts::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(totals.read, 0, "the refused deltas added nothing");
    assert_eq!(totals.outcomes, outcomes(&[(longest.as_str(), 1)]));
    // Out of range like any count.
    let err = store
        .increment_counts(
            &id,
            Counts {
                outcomes: outcomes(&[("sent", u64::MAX)]),
                ..Counts::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfRange { .. }), "{err}");
}

async fn pruning_removes_the_outcome_counters_with_their_execution(f: Fixture) {
    let store = f.open().await;
    let old = start(&store, "orders").await;
    store
        .increment_counts(
            &old,
            Counts {
                outcomes: outcomes(&[("sent", 2), ("already_in_erp", 1)]),
                ..counts(3, 3, 0)
            },
        )
        .await
        .unwrap();
    store
        .finish_execution(&old, FinishExecution::default())
        .await
        .unwrap();
    f.advance_secs(3600);
    let kept = start(&store, "orders").await;
    store
        .increment_counts(
            &kept,
            Counts {
                outcomes: outcomes(&[("sent", 1)]),
                ..counts(1, 1, 0)
            },
        )
        .await
        .unwrap();
    let report = store
        .prune(&RetentionPolicy {
            max_age: Some(chrono::Duration::minutes(30)),
            max_executions_per_flow: None,
        })
        .await
        .unwrap();
    assert_eq!(report.executions, vec![old.clone()]);
    assert_eq!(
        store
            .get_execution(&kept)
            .await
            .unwrap()
            .unwrap()
            .counts
            .outcome("sent"),
        1
    );
    if f.reopens() {
        let mut raw = common::RawConn::connect(&f.url).await;
        let left = raw
            .scalar(&format!(
                "SELECT COUNT(*) FROM execution_outcomes WHERE execution_id = '{old}'"
            ))
            .await;
        assert_eq!(left, 0);
        let all = raw.scalar("SELECT COUNT(*) FROM execution_outcomes").await;
        assert_eq!(all, 1);
    }
}

#[test]
fn derived_status_and_outcome_lookup() {
    assert_eq!(Counts::default().derived_status(), ExecutionStatus::Empty);
    assert_eq!(counts(0, 0, 0).outcome("sent"), 0);
    let c = Counts {
        outcomes: outcomes(&[("sent", 3)]),
        ..counts(3, 3, 0)
    };
    assert_eq!(c.outcome("sent"), 3);
    assert_eq!(c.derived_status(), ExecutionStatus::Success);
    // Outcomes are a breakdown: on their own they count nothing.
    let only_outcomes = Counts {
        outcomes: outcomes(&[("sent", 3)]),
        ..Counts::default()
    };
    assert_eq!(only_outcomes.derived_status(), ExecutionStatus::Empty);
    assert_eq!(counts(2, 1, 1).derived_status(), ExecutionStatus::Partial);
    assert_eq!(counts(2, 0, 2).derived_status(), ExecutionStatus::Failed);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["outcomes"], json!({"sent": 3}));
    assert_eq!(serde_json::from_value::<Counts>(json).unwrap(), c);
}
