//! The Order Flow end to end against the simulators: every branch of domain.md 8.9.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use omnibridge_sim::ErpConfig;
use omnibridge_store::{ExecutionStatus, RowLogQuery, RowStatus};
use support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_orders_are_sent_once_mapped_and_marked_sent() {
    let h = Harness::start(40, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    assert!(
        eligible.len() > 5,
        "the seed gives work to do: {eligible:?}"
    );

    let summary = h.run().await;
    let execution = &summary.execution;
    assert_eq!(execution.status, ExecutionStatus::Success, "{execution:?}");
    assert_eq!(execution.counts.read as usize, eligible.len());
    assert_eq!(execution.counts.outcome("sent") as usize, eligible.len());

    let omnitron = h.omnitron.state().await;
    let erp = h.erp.state().await;
    for number in &eligible {
        let order = omnitron.order(number).unwrap();
        assert!(order.is_send, "{number} is marked sent");
        assert_eq!(order.mappings.len(), 1, "{number} has its order mapping");
        assert_eq!(order.mappings[0].code, format!("E{number}"));
        for item in &order.items {
            assert_eq!(item.mappings.len(), 1, "item {} is mapped", item.pk);
            assert_eq!(item.mappings[0].code, format!("L{}", item.pk));
            assert!(
                !item.stock_reserved,
                "item {} released its reservation",
                item.pk
            );
        }
        let sent = erp.order(number).unwrap();
        assert_eq!(sent.creates, 1, "{number} was created exactly once");
        assert_eq!(
            sent.last_body["warehouse"], "MAIN",
            "the mapping shaped the body"
        );
        assert_eq!(sent.lines.len(), order.items.len());
    }
    assert_eq!(erp.orders.len(), eligible.len(), "nothing else was sent");
    // The Post Script told the CRM about each order.
    assert_eq!(erp.notifications.len(), eligible.len());

    let rows = h
        .store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(execution.id.clone()),
            limit: 1000,
            ..RowLogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.total as usize, eligible.len());
    assert!(rows.items.iter().all(|r| r.status == RowStatus::Success));
    assert!(
        rows.items
            .iter()
            .all(|r| r.attributes.contains_key("log.order.items"))
    );

    // A second run finds nothing left to do.
    let again = h.run().await;
    assert_eq!(again.execution.counts.read, 0);
    assert_eq!(again.execution.status, ExecutionStatus::Empty);
    assert!(h.erp.state().await.orders.iter().all(|o| o.creates == 1));
}

use omnibridge_sim::erp::{CreateMode, EmptyShape, QueryMode};
use omnibridge_sim::{FaultAction, FaultRule};
use omnibridge_store::{LedgerPhase, RowLog};

/// The row logs of one execution, by order number.
async fn rows(h: &Harness, execution: &str) -> std::collections::BTreeMap<String, RowLog> {
    h.store
        .list_row_logs(&RowLogQuery {
            execution_id: Some(execution.to_string()),
            limit: 10_000,
            ..RowLogQuery::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.record_key.clone(), r))
        .collect()
}

/// Two eligible order numbers to give special behaviour, and the rest.
async fn pick(h: &Harness) -> (String, String, Vec<String>) {
    let mut eligible = h.eligible().await;
    assert!(
        eligible.len() >= 3,
        "need at least 3 eligible orders: {eligible:?}"
    );
    let first = eligible.remove(0);
    let second = eligible.remove(0);
    (first, second, eligible)
}

async fn creates(h: &Harness, number: &str) -> u64 {
    h.erp.state().await.order(number).map_or(0, |o| o.creates)
}

async fn is_send(h: &Harness, number: &str) -> bool {
    h.omnitron.state().await.order(number).unwrap().is_send
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_found_by_query_skips_the_write_and_is_mapped_from_the_query() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (found, _, _) = pick(&h).await;
    h.erp.set_order_query_mode(&found, QueryMode::Found).await;

    let summary = h.run().await;
    assert_eq!(summary.execution.counts.outcome("already_in_erp"), 1);
    let row = &rows(&h, &summary.execution.id).await[&found];
    assert_eq!(
        (row.status, row.outcome.as_deref()),
        (RowStatus::Success, Some("already_in_erp")),
        "{row:?}"
    );
    assert_eq!(
        creates(&h, &found).await,
        0,
        "nothing was written to the ERP"
    );
    let order = h.omnitron.state().await.order(&found).unwrap().clone();
    assert!(order.is_send);
    assert_eq!(
        order.mappings[0].code,
        format!("E{found}"),
        "mapped from the query's erp_no"
    );
    let entry = h
        .store
        .get_ledger_entry("order-to-erp", &found)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.phase, LedgerPhase::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_not_found_answer_leads_to_a_write() {
    let h = Harness::start(30, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    let modes = [
        QueryMode::NotFoundCode { status: 404 },
        QueryMode::NotFoundPathEmpty {
            shape: EmptyShape::Null,
        },
        QueryMode::NotFoundPathEmpty {
            shape: EmptyShape::Array,
        },
        QueryMode::NotFoundPathEmpty {
            shape: EmptyShape::Object,
        },
        QueryMode::NotFoundPathValue {
            value: "NOT_FOUND".to_string(),
        },
    ];
    assert!(eligible.len() >= modes.len());
    for (number, mode) in eligible.iter().zip(modes.iter()) {
        h.erp.set_order_query_mode(number, mode.clone()).await;
    }
    let summary = h.run().await;
    assert_eq!(summary.execution.status, ExecutionStatus::Success);
    for number in eligible.iter().take(modes.len()) {
        assert_eq!(creates(&h, number).await, 1, "{number} was written once");
        assert!(is_send(&h, number).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_and_unlisted_query_codes_fail_the_order_without_writing_and_it_is_retried() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (failing, unlisted, rest) = pick(&h).await;
    h.erp
        .set_order_query_mode(&failing, QueryMode::FailureCode { status: 503 })
        .await;
    h.erp
        .set_order_query_mode(&unlisted, QueryMode::UnlistedCode { status: 418 })
        .await;

    let summary = h.run().await;
    assert_eq!(summary.execution.status, ExecutionStatus::Partial);
    assert_eq!(summary.execution.counts.failed, 2);
    assert_eq!(
        summary.execution.counts.outcome("sent") as usize,
        rest.len()
    );
    let logs = rows(&h, &summary.execution.id).await;
    for (number, code) in [(&failing, "503"), (&unlisted, "418")] {
        let row = &logs[number];
        assert_eq!(row.status, RowStatus::Failed);
        assert_eq!(
            row.step,
            omnibridge_engine::flows::order::steps::QUERY_CHECK
        );
        assert!(row.error.as_deref().unwrap().contains(code), "{row:?}");
        assert_eq!(creates(&h, number).await, 0, "{number} was not written");
        assert!(!is_send(&h, number).await);
    }

    // The ERP answers again: the next run sends both, and nothing twice.
    h.erp
        .set_order_query_mode(&failing, QueryMode::NotFoundCode { status: 404 })
        .await;
    h.erp
        .set_order_query_mode(&unlisted, QueryMode::NotFoundCode { status: 404 })
        .await;
    let again = h.run().await;
    assert_eq!(again.execution.counts.outcome("sent"), 2);
    assert_eq!(creates(&h, &failing).await, 1);
    assert_eq!(creates(&h, &unlisted).await, 1);
    assert!(h.erp.state().await.orders.iter().all(|o| o.creates == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_sets_order_exists_skips_the_write() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (exists, _, _) = pick(&h).await;
    let script = std::fs::read_to_string(h.flow_dir().join("script.py")).unwrap().replace(
        "        flowFile = session.putAttribute(flowFile, \"log.order.items\", str(callback.item_count))",
        &format!(
            "        flowFile = session.putAttribute(flowFile, \"log.order.items\", str(callback.item_count))\n        if get_attribute(flowFile, \"_order.number\") == \"{exists}\":\n            flowFile = session.putAttribute(flowFile, \"order_exists\", \"true\")"
        ),
    );
    h.write_file("script.py", &script);
    let summary = h.run().await;
    let row = &rows(&h, &summary.execution.id).await[&exists];
    assert_eq!(
        (row.status, row.outcome.as_deref()),
        (RowStatus::Success, Some("already_in_erp")),
        "{row:?}"
    );
    assert_eq!(creates(&h, &exists).await, 0);
    assert!(is_send(&h, &exists).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_fails_and_runs_the_post_script_only_with_run_on_failed_order() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (refused, _, rest) = pick(&h).await;
    h.erp
        .set_order_create_mode(&refused, CreateMode::Validation)
        .await;

    let summary = h.run().await;
    let row = &rows(&h, &summary.execution.id).await[&refused];
    assert_eq!(row.status, RowStatus::Failed);
    assert_eq!(row.step, omnibridge_engine::flows::order::steps::WRITE_ERP);
    assert!(row.error.as_deref().unwrap().contains("400"), "{row:?}");
    assert!(!is_send(&h, &refused).await);
    let notifications = h.erp.state().await.notifications;
    assert_eq!(
        notifications.len(),
        rest.len() + 2,
        "every order, the refused one too"
    );
    assert!(
        notifications
            .iter()
            .any(|n| n["event"] == "order_failed" && n["order_number"] == refused.as_str())
    );

    // Without Run On Failed Order the Post Script stays quiet about failures.
    h.edit_flow(|t| t.replace("run_on_failed_order = true", "run_on_failed_order = false"));
    let before = h.erp.state().await.notifications.len();
    h.run().await;
    assert_eq!(h.erp.state().await.notifications.len(), before);
    assert!(!is_send(&h, &refused).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_error_body_is_refused_by_the_check_response_script_and_sent_again_later() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (refused, _, _) = pick(&h).await;
    h.erp
        .set_order_create_mode(&refused, CreateMode::OkErrorBody)
        .await;

    let summary = h.run().await;
    let row = &rows(&h, &summary.execution.id).await[&refused];
    assert_eq!(row.status, RowStatus::Failed);
    assert_eq!(
        row.step,
        omnibridge_engine::flows::order::steps::CHECK_RESPONSE
    );
    assert_eq!(row.attributes["log.erp.refusal"], "stock error");
    assert!(!is_send(&h, &refused).await);
    let entry = h
        .store
        .get_ledger_entry("order-to-erp", &refused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.phase, LedgerPhase::Rejected);

    h.erp.set_order_create_mode(&refused, CreateMode::Ok).await;
    let again = h.run().await;
    assert_eq!(again.execution.counts.outcome("sent"), 1);
    assert_eq!(creates(&h, &refused).await, 1);
    assert!(is_send(&h, &refused).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_committed_then_failed_is_found_next_run_not_sent_twice() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (answered_500, reset, _) = pick(&h).await;
    h.erp
        .set_order_create_mode(&answered_500, CreateMode::CommitThenFail { reset: false })
        .await;
    h.erp
        .set_order_create_mode(&reset, CreateMode::CommitThenFail { reset: true })
        .await;

    let summary = h.run().await;
    let logs = rows(&h, &summary.execution.id).await;
    assert_eq!(logs[&answered_500].status, RowStatus::Failed);
    assert_eq!(
        logs[&reset].status,
        RowStatus::InDoubt,
        "{:?}",
        logs[&reset]
    );
    let entry = h
        .store
        .get_ledger_entry("order-to-erp", &reset)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.phase, LedgerPhase::Intent);

    let again = h.run().await;
    assert_eq!(
        again.execution.counts.outcome("already_in_erp"),
        2,
        "{:?}",
        again.execution
    );
    for number in [&answered_500, &reset] {
        assert_eq!(
            creates(&h, number).await,
            1,
            "{number} exists once in the ERP"
        );
        assert!(is_send(&h, number).await);
    }
    assert_eq!(again.execution.counts.in_doubt, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_query_url_an_unanswered_write_is_held_in_doubt_and_never_resent() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (lost, _, _) = pick(&h).await;
    h.erp
        .set_order_create_mode(&lost, CreateMode::CommitThenFail { reset: true })
        .await;
    h.edit_config(|doc| {
        doc.remove("query_check");
    });
    let first = h.run().await;
    assert_eq!(first.execution.counts.in_doubt, 1);
    h.erp.set_order_create_mode(&lost, CreateMode::Ok).await;
    let second = h.run().await;
    assert_eq!(second.execution.counts.in_doubt, 1, "still in doubt");
    let row = &rows(&h, &second.execution.id).await[&lost];
    assert!(
        row.error.as_deref().unwrap().contains("no Query URL"),
        "{row:?}"
    );
    assert_eq!(creates(&h, &lost).await, 1, "never re-sent blindly");
    assert!(!is_send(&h, &lost).await);
}

/// An ERP answer that does not prove the order was refused (a 5xx, a 408) may come after the
/// ERP saved it: with no Query URL it is held in doubt, like a reset; only a refusal that proves
/// nothing was saved (another 4xx, or a 5xx from an ERP declared transactional) is a plain
/// failure sent again next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_query_url_only_a_proven_refusal_is_sent_again() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (saved_then_500, refused, rest) = pick(&h).await;
    let timed_out = rest[0].clone();
    h.erp
        .set_order_create_mode(&saved_then_500, CreateMode::CommitThenFail { reset: false })
        .await;
    h.erp
        .set_order_create_mode(&refused, CreateMode::Validation)
        .await;
    h.erp
        .set_order_create_mode(&timed_out, CreateMode::Server { status: 408 })
        .await;
    h.edit_config(|doc| {
        doc.remove("query_check");
    });
    let first = h.run().await;
    let logs = rows(&h, &first.execution.id).await;
    for number in [&saved_then_500, &timed_out] {
        let row = &logs[number];
        assert_eq!(row.status, RowStatus::InDoubt, "{row:?}");
        assert!(
            row.error.as_deref().unwrap().contains("does not prove"),
            "{row:?}"
        );
        let entry = h
            .store
            .get_ledger_entry("order-to-erp", number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.phase, LedgerPhase::Intent);
    }
    assert_eq!(logs[&refused].status, RowStatus::Failed);

    // The ERP is fine again: the refused order goes, the two ambiguous ones stay held.
    for number in [&saved_then_500, &refused, &timed_out] {
        h.erp.set_order_create_mode(number, CreateMode::Ok).await;
    }
    let second = h.run().await;
    assert_eq!(
        second.execution.counts.in_doubt, 2,
        "{:?}",
        second.execution
    );
    assert_eq!(creates(&h, &saved_then_500).await, 1, "never created twice");
    assert_eq!(creates(&h, &refused).await, 1);
    assert!(is_send(&h, &refused).await);
    assert!(!is_send(&h, &saved_then_500).await);
}

/// A team that knows its ERP's 5xx answers save nothing declares it: a 5xx is then a plain
/// failure, sent again next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_declared_transactional_has_its_5xx_sent_again() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (failed, _, _) = pick(&h).await;
    h.erp
        .set_order_create_mode(&failed, CreateMode::Server { status: 503 })
        .await;
    h.edit_config(|doc| {
        doc.remove("query_check");
        doc["write"]["transactional_5xx"] = toml_edit::value(true);
    });
    let first = h.run().await;
    assert_eq!(
        rows(&h, &first.execution.id).await[&failed].status,
        RowStatus::Failed
    );
    h.erp.set_order_create_mode(&failed, CreateMode::Ok).await;
    let second = h.run().await;
    assert_eq!(second.execution.counts.in_doubt, 0);
    assert_eq!(creates(&h, &failed).await, 1);
    assert!(is_send(&h, &failed).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omnitron_failures_after_the_erp_write_are_finished_next_run_without_resending() {
    let h = Harness::start(20, ErpConfig::default()).await;
    let (sent_fails, mapping_fails, _) = pick(&h).await;
    let state = h.omnitron.state().await;
    let sent_pk = state.order(&sent_fails).unwrap().pk;
    let item_pk = state.order(&mapping_fails).unwrap().items[0].pk;
    h.omnitron
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 500,
                body: None,
                html: Some("<h1>Server Error</h1>".into()),
                headers: Default::default(),
            })
            .method("PATCH")
            .path(&format!(r"orders/{sent_pk}/?$"))
            .times(1),
        )
        .await
        .unwrap();
    h.omnitron
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 502,
                body: None,
                html: None,
                headers: Default::default(),
            })
            .method("POST")
            .path(&format!(r"order_items/{item_pk}/create_mapping"))
            .times(1),
        )
        .await
        .unwrap();

    let first = h.run().await;
    let logs = rows(&h, &first.execution.id).await;
    for number in [&sent_fails, &mapping_fails] {
        assert_eq!(logs[number].status, RowStatus::Failed);
        assert_eq!(
            logs[number].step,
            omnibridge_engine::flows::order::steps::WRITE_OMNITRON
        );
        assert!(!is_send(&h, number).await);
    }
    let second = h.run().await;
    assert_eq!(second.execution.counts.outcome("already_in_erp"), 2);
    for number in [&sent_fails, &mapping_fails] {
        assert!(is_send(&h, number).await);
        assert_eq!(creates(&h, number).await, 1, "{number} was not sent again");
    }
    let order = h.omnitron.state().await.order(&sent_fails).unwrap().clone();
    assert_eq!(
        order.mappings.len(),
        1,
        "the order mapping was not duplicated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pages_are_read_with_seek_pagination_and_the_window_is_three_weeks() {
    let h = Harness::start(150, ErpConfig::default()).await;
    let state = h.omnitron.state().await;
    let eligible = support::eligible(&state, h.omnitron.now());
    assert!(
        eligible.len() > 50,
        "more than two pages: {}",
        eligible.len()
    );
    let too_old: Vec<&str> = state
        .orders
        .iter()
        .filter(|o| {
            !o.is_send
                && support::READ_STATUSES.contains(&o.status.as_str())
                && o.modified_date < h.omnitron.now() - chrono::Duration::days(21)
        })
        .map(|o| o.number.as_str())
        .collect();
    assert!(
        !too_old.is_empty(),
        "the data has unsent orders older than three weeks"
    );

    let summary = h.run().await;
    assert_eq!(
        summary.execution.counts.outcome("sent") as usize,
        eligible.len()
    );
    let pages = summary.execution.summary.as_ref().unwrap()["pages_read"]
        .as_u64()
        .unwrap();
    assert!(
        pages as usize >= eligible.len().div_ceil(25),
        "{pages} pages"
    );
    let erp = h.erp.state().await;
    for number in too_old {
        assert!(
            erp.order(number).is_none(),
            "{number} is outside the window"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_mid_run_on_both_sides_are_renewed() {
    let erp = ErpConfig::default().auth(omnibridge_sim::erp::ErpAuth {
        token_max_uses: Some(7),
        ..Default::default()
    });
    let h = Harness::start(40, erp).await;
    h.omnitron
        .set_auth_policy(omnibridge_sim::omnitron::AuthPolicy {
            max_uses: Some(40),
            ..Default::default()
        })
        .await;
    runs_and_sends_every_eligible_order(&h).await;
    assert!(h.erp.state().await.logins > 2, "the ERP token was renewed");
    assert!(
        h.omnitron.login_count().await > 2,
        "the Omnitron token was renewed"
    );
    assert!(h.erp.state().await.orders.iter().all(|o| o.creates == 1));
}

/// Runs the flow and checks it succeeded, sending every order that was eligible; returns
/// their numbers.
async fn runs_and_sends_every_eligible_order(h: &Harness) -> Vec<String> {
    let eligible = h.eligible().await;
    let summary = h.run().await;
    if summary.execution.status != ExecutionStatus::Success {
        let failed: Vec<(String, Option<String>, String)> = rows(h, &summary.execution.id)
            .await
            .into_values()
            .filter(|r| r.status != RowStatus::Success)
            .map(|r| (r.record_key, r.error, r.step.to_string()))
            .collect();
        panic!("{:?}\nnot sent: {failed:?}", summary.execution);
    }
    assert_eq!(
        summary.execution.counts.outcome("sent") as usize,
        eligible.len()
    );
    eligible
}

/// The ERP's order queries, per order number, in the order they arrived.
async fn queries(h: &Harness) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::<String, Vec<String>>::new();
    for entry in h
        .erp
        .journal(omnibridge_sim::JournalQuery {
            path: Some("/orders/query".to_string()),
            ..Default::default()
        })
        .await
    {
        let number = url::form_urlencoded::parse(entry.query.as_bytes())
            .find(|(k, _)| k == "number")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        out.entry(number).or_default().push(entry.query);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_check_is_asked_once_per_order_while_its_detail_is_read() {
    let h = Harness::start(30, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    // `_order.pk` reads the same in the list row and in the detail: the query sent while the
    // detail was read is the record's Query Check, and nothing is asked twice.
    h.edit_flow(|t| {
        t.replace(
            "?number=${_order.number:urlEncode()}",
            "?number=${_order.number:urlEncode()}&pk=${_order.pk}",
        )
    });
    let summary = h.run().await;
    assert_eq!(
        summary.execution.counts.outcome("sent") as usize,
        eligible.len()
    );
    let asked = queries(&h).await;
    assert_eq!(asked.len(), eligible.len());
    for number in &eligible {
        assert_eq!(asked[number].len(), 1, "{number}: {:?}", asked[number]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_url_that_needs_the_detail_is_asked_with_the_detail() {
    let h = Harness::start(30, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    // `channel` is an id in the list row but an object in the detail (so no `_order.channel`
    // attribute): the early query does not match and the record asks with the detail's view.
    h.edit_flow(|t| {
        t.replace(
            "?number=${_order.number:urlEncode()}",
            "?number=${_order.number:urlEncode()}&channel=${_order.channel}",
        )
    });
    let summary = h.run().await;
    assert_eq!(
        summary.execution.counts.outcome("sent") as usize,
        eligible.len()
    );
    let asked = queries(&h).await;
    for number in &eligible {
        let last = asked[number].last().unwrap();
        assert!(last.ends_with("&channel="), "{number}: {last}");
        assert_eq!(creates(&h, number).await, 1);
    }
}

/// A store that refuses writes (here a page cap standing for a full disk) fails the execution:
/// its status and message say so and it stops taking orders. Nothing it did is lost: the next
/// run, on a store with room, finishes every order exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_fails_the_run_and_the_next_run_finishes_every_order_once() {
    let h = Harness::start(200, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    let full = omnibridge_store::open(
        &format!("sqlite://{}", h.dir.path().join("omnibridge.db").display()),
        omnibridge_store::StoreOptions {
            sqlite_max_pages: Some(34),
            ..omnibridge_store::StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let full_engine = omnibridge_engine::execution::Engine {
        node: "test-node".to_string(),
        ..omnibridge_engine::execution::Engine::new(full, h.engine.scripts.clone())
    };
    let flow = h.load().await;
    let outcome = omnibridge_engine::flows::order::run_order_flow(
        &full_engine,
        &flow,
        omnibridge_engine::flows::order::RunRequest {
            trigger: omnibridge_store::Trigger::Manual {
                user: "tester".to_string(),
            },
            selection: omnibridge_engine::flows::order::Selection::Unsent,
        },
        &omnibridge_engine::execution::NoProgress,
    )
    .await;
    // Either the execution is recorded failed with the cause, or (when even that write is
    // refused) the run itself fails: never a success.
    match outcome {
        Ok(summary) => {
            assert_eq!(
                summary.execution.status,
                ExecutionStatus::Failed,
                "{:?}",
                summary.execution
            );
            let error = summary.execution.error.unwrap_or_default();
            assert!(error.contains("store refused a write"), "{error}");
        }
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("full"), "{text}");
        }
    }
    let sent_while_full = h.erp.state().await.orders.len();
    assert!(
        sent_while_full < eligible.len(),
        "the run stopped taking orders ({sent_while_full} of {} sent)",
        eligible.len()
    );

    let next = h.run().await;
    assert_ne!(
        next.execution.status,
        ExecutionStatus::Failed,
        "{:?}",
        next.execution
    );
    assert_eq!(next.execution.counts.in_doubt, 0, "{:?}", next.execution);
    for number in &eligible {
        assert_eq!(
            creates(&h, number).await,
            1,
            "{number} created exactly once"
        );
        assert!(is_send(&h, number).await, "{number} is marked sent");
    }
}

/// Integrator users name tokens with Jayway JSONPath, which reads keys RFC 9535 refuses
/// (`$.data.access-token`): the login profile's `token_path` is read in that dialect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jayway_token_path_with_a_hyphenated_key_logs_in() {
    let erp = ErpConfig::default().auth(omnibridge_sim::erp::ErpAuth {
        token_key: "access-token".to_string(),
        ..Default::default()
    });
    let h = Harness::start(10, erp).await;
    support::sim_env_edit_toml(&h.dir.path().join("logins.toml"), |doc| {
        doc["erp"]["main"]["token_path"] = toml_edit::value("$.data.access-token");
    });
    runs_and_sends_every_eligible_order(&h).await;
}

/// Without a `[check_response]` card the shipped default Check Response Script runs: the order
/// (Omnitron's shape, no Script or Mapping) is sent, each item mapped to its own pk and the
/// order to its number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_check_response_script_maps_items_and_the_order() {
    let h = Harness::start(12, ErpConfig::default()).await;
    h.edit_config(|doc| {
        doc.remove("script");
        doc.remove("mapping");
        doc.remove("check_response");
    });
    let eligible = runs_and_sends_every_eligible_order(&h).await;
    let omnitron = h.omnitron.state().await;
    for number in &eligible {
        let order = omnitron.order(number).unwrap();
        assert!(order.is_send);
        assert_eq!(order.mappings.len(), 1);
        assert_eq!(
            &order.mappings[0].code, number,
            "order mapped to its number"
        );
        for item in &order.items {
            assert_eq!(item.mappings[0].code, item.pk.to_string());
            assert!(!item.stock_reserved, "update_stock true");
        }
        assert_eq!(creates(&h, number).await, 1);
    }
}

/// The Check Response output's order-level `external_status` and `extra_field` are written to
/// Omnitron (decisions.md, Write Data to Omnitron), beside the items' own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_level_external_status_and_extra_field_are_written_to_omnitron() {
    let h = Harness::start(12, ErpConfig::default()).await;
    let script = std::fs::read_to_string(h.flow_dir().join("check_response.py")).unwrap();
    let order_level = "                \"extra_field\": {},\n            }";
    assert!(
        script.contains(order_level),
        "the example's order-level output"
    );
    let script = script.replacen(
        "\"external_status\": None,\n                \"orderitems\"",
        "\"external_status\": \"sent_to_erp\",\n                \"orderitems\"",
        1,
    );
    let script = script.replacen(
        order_level,
        "                \"extra_field\": {\"erp_no\": erp_number},\n            }",
        1,
    );
    h.write_file("check_response.py", &script);
    let eligible = runs_and_sends_every_eligible_order(&h).await;
    let omnitron = h.omnitron.state().await;
    let erp = h.erp.state().await;
    for number in &eligible {
        let order = omnitron.order(number).unwrap();
        assert_eq!(
            order.external_status,
            serde_json::json!("sent_to_erp"),
            "{number}"
        );
        let erp_no = erp.order(number).unwrap().erp_order_no.clone();
        assert_eq!(
            order.extra_field,
            serde_json::json!({"erp_no": erp_no}),
            "{number}"
        );
        assert!(order.is_send);
    }
}

/// An ERP behind an OAuth2 client-credentials token endpoint: the login profile's grant is
/// made, the token sent as a Bearer token, and renewed when it wears out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth2_client_credentials_login_sends_every_order() {
    let erp = ErpConfig::default().auth(omnibridge_sim::erp::ErpAuth {
        mode: omnibridge_sim::erp::AuthMode::Oauth2Cc,
        // Enough uses that a retry after a re-login is never starved by the requests running
        // beside it (concurrency 8), few enough that the token is renewed during the run.
        token_max_uses: Some(12),
        ..Default::default()
    });
    let h = Harness::start(20, erp).await;
    let erp_url = h.env["ERP_URL"].clone();
    support::sim_env_edit_toml(&h.dir.path().join("logins.toml"), |doc| {
        let mut profile = toml_edit::Table::new();
        profile["type"] = toml_edit::value("oauth2_client_credentials");
        profile["token_url"] = toml_edit::value(format!("{erp_url}/oauth/token"));
        profile["client_id"] = toml_edit::value("omnibridge");
        profile["client_secret"] = toml_edit::value("erp-secret");
        doc["erp"]["main"] = toml_edit::Item::Table(profile);
    });
    runs_and_sends_every_eligible_order(&h).await;
    assert!(h.erp.state().await.logins > 1, "the token was renewed");
}

/// The engine dies after orders were sent and marked sent but before their Post Script
/// finished (here the run is dropped while the CRM hangs): Omnitron no longer lists them as
/// unsent, yet the next run finishes them from the ledger and their Post Script runs, without
/// sending anything to the ERP again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_script_cut_short_by_a_crash_runs_when_the_next_run_resumes() {
    let h = Harness::start(12, ErpConfig::default()).await;
    let eligible = h.eligible().await;
    h.erp
        .add_fault(FaultRule::new(FaultAction::Hang).path("crm/notify"))
        .await
        .unwrap();
    let flow = h.load().await;
    let all_marked = async {
        loop {
            let state = h.omnitron.state().await;
            if eligible.iter().all(|n| state.order(n).unwrap().is_send) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    // The "crash": the run is dropped once every order is marked sent, its Post Scripts hung.
    tokio::select! {
        summary = h.run_flow(&flow) => panic!("the run ended before the crash: {:?}", summary.execution),
        () = all_marked => {}
    }
    // What the next process finds after the dead one's lease expired.
    let running = h
        .store
        .list_executions(&omnibridge_store::ExecutionQuery::default())
        .await
        .unwrap();
    for execution in running.items {
        let _ = h.store.interrupt_execution(&execution.id, "killed").await;
    }
    h.store
        .release_lease("flow:order-to-erp", "test-node")
        .await
        .unwrap();
    h.erp.clear_faults().await;
    assert!(h.erp.state().await.notifications.is_empty());

    let next = h.run().await;
    assert_eq!(
        next.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        next.execution
    );
    let erp = h.erp.state().await;
    for number in &eligible {
        assert_eq!(creates(&h, number).await, 1, "{number} was not sent again");
        assert!(
            erp.notifications
                .iter()
                .any(|n| n["event"] == "order_sent" && n["order_number"] == number.as_str()),
            "{number}: the CRM heard about it"
        );
    }
}
