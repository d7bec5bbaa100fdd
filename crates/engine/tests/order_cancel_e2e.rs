//! The Order Cancel Flow end to end against the simulators: every cancel status and type, a
//! channel filter, every relation, every next state, and what is read again or replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancel_support;

use cancel_support::{CancelHarness, plans_in};
use omnibridge_sim::erp::CancelMode;
use omnibridge_sim::{ErpConfig, FaultAction, FaultRule, JournalQuery};
use omnibridge_store::{ExecutionStatus, LedgerPhase, RowStatus};

/// The plans the ERP received, by plan id.
async fn erp_plans(h: &CancelHarness) -> Vec<u64> {
    let mut ids: Vec<u64> = h
        .erp
        .state()
        .await
        .cancellations
        .iter()
        .filter_map(|c| c.plan_id.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// A few web orders with waiting plans of each type (besides the generated ones).
async fn web_plans(h: &CancelHarness, cancels: usize, refunds: usize) -> (Vec<u64>, Vec<u64>) {
    let orders = h.cancellable_web_orders(cancels + refunds).await;
    let mut made = (Vec::new(), Vec::new());
    for (i, order) in orders.into_iter().enumerate() {
        if i < cancels {
            made.0.push(h.cancel_order(order, "cancel").await);
        } else {
            made.1.push(h.cancel_order(order, "refund").await);
        }
    }
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_plans_go_to_the_erp_once_and_are_approved_in_omnitron() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let (cancels, refunds) = web_plans(&h, 3, 2).await;
    let expected = h.plans("waiting", None, "web").await;
    let flow = h.load().await;
    let summary = h.run(&flow).await;
    let execution = &summary.execution;
    assert_eq!(execution.status, ExecutionStatus::Success, "{execution:?}");
    assert_eq!(execution.counts.read as usize, expected.len());
    assert_eq!(
        execution.counts.outcome("approved") as usize,
        expected.len()
    );
    let rows = h.rows(&execution.id).await;
    for pk in cancels.iter().chain(&refunds) {
        assert_eq!(h.plan_status(*pk).await, "approved");
        assert_eq!(h.erp_count(*pk).await, 1, "plan {pk} reached the ERP once");
        let row = &rows[&format!("plan:{pk}")];
        assert_eq!(row.status, RowStatus::Success);
        assert_eq!(row.attributes["log.relation"], "continue");
        assert!(row.attributes.contains_key("log.plan.items"));
        let ledger = h
            .store
            .get_ledger_entry(&flow.id, &format!("plan:{pk}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ledger.phase, LedgerPhase::Completed);
    }
    // The mapping shaped the body; the Post Script told the CRM.
    let state = h.erp.state().await;
    let body = &state
        .cancellation(&cancels[0].to_string())
        .unwrap()
        .last_body;
    assert_eq!(body["type"], "cancel");
    assert_eq!(body["reason"], "CUSTOMER_CANCEL");
    assert!(body["lines"][0]["omnitron_item_id"].is_u64(), "{body}");
    assert_eq!(state.notifications.len(), expected.len());
    // Approved plans are no longer waiting: the next run has nothing to do.
    let again = h.run(&flow).await;
    assert_eq!(again.execution.status, ExecutionStatus::Empty);
    assert_eq!(erp_plans(&h).await.len(), expected.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cancel_status_and_type_reads_its_plans_and_the_channel_filter_changes_the_query() {
    let h = CancelHarness::start(240, ErpConfig::default()).await;
    let (cancels, refunds) = web_plans(&h, 4, 4).await;
    h.set_plan_status(cancels[1], "confirmation_waiting").await;
    h.set_plan_status(refunds[1], "confirmation_waiting").await;
    h.set_plan_status(cancels[2], "confirmed").await;
    h.set_plan_status(refunds[2], "confirmed").await;
    h.set_plan_status(cancels[3], "completed").await;
    h.set_plan_status(refunds[3], "completed").await;
    // Every answer leaves the plan as it is, so each read sees the same plans.
    h.erp
        .update_scenario(|s| {
            s.cancellation_default = CancelMode::RetryLater { status: 503 };
        })
        .await;
    h.set("read", "initial_lookback", "\"3650days\"");
    for status in ["waiting", "confirmation_waiting", "confirmed", "completed"] {
        for plan_type in ["cancel", "refund", "all"] {
            h.set("read", "cancel_status", &format!("\"{status}\""));
            h.set("read", "cancel_type", &format!("\"{plan_type}\""));
            let flow = h.load().await;
            // Each completed read starts from the same window (a run moves it on).
            if let Some(window) = h
                .store
                .get_flow_state(&flow.id, "last.query")
                .await
                .unwrap()
            {
                h.store
                    .compare_and_set_flow_state(&flow.id, "last.query", Some(&window), None)
                    .await
                    .unwrap();
            }
            let before: std::collections::BTreeMap<u64, u64> = h
                .erp
                .state()
                .await
                .cancellations
                .iter()
                .filter_map(|c| Some((c.plan_id.parse().ok()?, c.count)))
                .collect();
            h.omnitron.clear_journal().await;
            let summary = h.run(&flow).await;
            let wanted = (plan_type != "all").then_some(plan_type);
            let state = h.omnitron.state().await;
            let mut expected: Vec<u64> = plans_in(&state, status, wanted, "web")
                .into_iter()
                .map(|(pk, _)| pk)
                .collect();
            expected.sort_unstable();
            let after = h.erp.state().await;
            let mut sent: Vec<u64> = after
                .cancellations
                .iter()
                .filter(|c| {
                    c.plan_id
                        .parse::<u64>()
                        .is_ok_and(|pk| before.get(&pk).copied().unwrap_or(0) < c.count)
                })
                .filter_map(|c| c.plan_id.parse().ok())
                .collect();
            sent.sort_unstable();
            assert_eq!(
                sent, expected,
                "{status} × {plan_type}: {:?}",
                summary.execution
            );
            assert!(
                !expected.is_empty(),
                "{status} × {plan_type} has plans to read"
            );
            let query = &h
                .omnitron
                .journal(JournalQuery {
                    path: Some("cancellation_plans".to_string()),
                    ..JournalQuery::default()
                })
                .await[0]
                .query;
            assert!(query.contains(&format!("status={status}")), "{query}");
            assert!(query.contains("channel_type=web"), "{query}");
            assert_eq!(query.contains("plan_type="), plan_type != "all", "{query}");
            assert_eq!(
                query.contains("modified_date__gt="),
                status == "completed",
                "{query}"
            );
        }
    }
    // A channel filter narrows the query, and another channel type changes it.
    h.set("read", "cancel_status", "\"waiting\"");
    h.set("read", "cancel_type", "\"all\"");
    h.set("read", "channel_ids", "\"2\"");
    h.set("read", "channel_type", "\"trendyol\"");
    let flow = h.load().await;
    h.omnitron.clear_journal().await;
    let summary = h.run(&flow).await;
    let query = &h
        .omnitron
        .journal(JournalQuery {
            path: Some("cancellation_plans".to_string()),
            ..JournalQuery::default()
        })
        .await[0]
        .query;
    assert!(
        query.contains("channel_type=trendyol") && query.contains("channel_id__in=2"),
        "{query}"
    );
    let trendyol = h.plans("waiting", None, "trendyol").await;
    assert_eq!(summary.execution.counts.read as usize, trendyol.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_relation_decides_what_happens_to_the_plan() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let (cancels, _) = web_plans(&h, 5, 0).await;
    let [ok, reject, later, auth, body_error] = cancels[..] else {
        panic!("five plans");
    };
    h.erp
        .set_cancellation_mode(reject, CancelMode::Reject { status: 422 })
        .await;
    h.erp
        .set_cancellation_mode(later, CancelMode::RetryLater { status: 503 })
        .await;
    // 403: a 401 is already answered by a new login inside the request itself.
    h.erp
        .set_cancellation_mode(auth, CancelMode::Auth { status: 403 })
        .await;
    h.erp
        .set_cancellation_mode(body_error, CancelMode::OkErrorBody)
        .await;
    // A Custom Response Script that reads the body too: a 200 saying REJECTED is a failure.
    h.write_file(
        "custom_response.py",
        r#"
import json
from org.apache.commons.io import IOUtils
from java.nio.charset import StandardCharsets
ff = session.get()
data = json.loads(IOUtils.toString(session.read(ff), StandardCharsets.UTF_8))
code = int(ff.getAttribute("invokehttp.status.code") or 0)
answer = data.get("response_data") or {}
if 200 <= code < 300 and isinstance(answer, dict) and answer.get("status") == "REJECTED":
    relation = "failure"
elif 200 <= code < 300:
    relation = "continue"
elif code in (401, 403):
    relation = "auth_fail"
elif code == 0 or code >= 500:
    relation = "do_nothing"
else:
    relation = "failure"
ff = session.putAttribute(ff, "relation", relation)
session.transfer(ff, REL_SUCCESS)
"#,
    );
    h.set("custom_response", "file", "\"custom_response.py\"");
    let flow = h.load().await;
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    let row = |pk: u64| rows[&format!("plan:{pk}")].clone();

    // continue → the Next State.
    assert_eq!(h.plan_status(ok).await, "approved");
    assert_eq!(row(ok).outcome.as_deref(), Some("approved"));
    // failure → rejected in Omnitron, never sent again.
    assert_eq!(h.plan_status(reject).await, "rejected");
    assert_eq!(
        (row(reject).status, row(reject).outcome.as_deref()),
        (RowStatus::Failed, Some("rejected"))
    );
    assert!(row(reject).error.unwrap().contains("HTTP 422"));
    assert_eq!(h.plan_status(body_error).await, "rejected");
    // do_nothing → untouched, and the next run takes it again.
    assert_eq!(h.plan_status(later).await, "waiting");
    assert_eq!(row(later).outcome.as_deref(), Some("do_nothing"));
    assert!(
        row(later)
            .error
            .unwrap()
            .contains("the next run takes it again")
    );
    // auth_fail → a new ERP login and one more send, which the ERP took.
    assert_eq!(h.plan_status(auth).await, "approved");
    assert_eq!(h.erp_count(auth).await, 2);
    assert_eq!(
        row(auth)
            .attributes
            .get("log.relation.first")
            .and_then(|v| v.as_str()),
        Some("auth_fail"),
        "{:?}",
        row(auth)
    );
    assert_eq!(summary.execution.summary.as_ref().unwrap()["erp_logins"], 2);

    h.erp.set_cancellation_mode(later, CancelMode::Ok).await;
    let again = h.run(&flow).await;
    assert_eq!(
        again.execution.counts.read, 1,
        "only the plan left for later: {:?}",
        again.execution
    );
    assert_eq!(h.plan_status(later).await, "approved");
    assert_eq!(h.erp_count(later).await, 2);
    assert_eq!(
        h.erp_count(reject).await,
        1,
        "a rejected plan is not sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_auth_fail_leaves_the_plan_and_a_script_without_a_relation_fails_it() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let (cancels, _) = web_plans(&h, 2, 0).await;
    // The ERP refuses the token for the first plan every time.
    h.erp
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 401,
                body: None,
                html: None,
                headers: Default::default(),
            })
            .path("cancellations")
            .object_id(cancels[0].to_string()),
        )
        .await
        .unwrap();
    let flow = h.load().await;
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    let first = &rows[&format!("plan:{}", cancels[0])];
    assert_eq!(first.outcome.as_deref(), Some("do_nothing"));
    assert!(
        first.error.as_deref().unwrap().contains("auth_fail twice"),
        "{first:?}"
    );
    assert_eq!(h.plan_status(cancels[0]).await, "waiting");
    assert_eq!(h.plan_status(cancels[1]).await, "approved");

    // A Custom Response Script that forgets `relation`, or sets an unknown one.
    for (script, needle) in [
        (
            "ff = session.get()\nsession.transfer(ff, REL_SUCCESS)\n",
            "set no `relation`",
        ),
        (
            "ff = session.get()\nff = session.putAttribute(ff, 'relation', 'retry')\nsession.transfer(ff, REL_SUCCESS)\n",
            "relation = \"retry\", which is none of continue, failure, do_nothing, auth_fail",
        ),
    ] {
        h.erp.clear_faults().await;
        h.write_file("custom_response.py", script);
        h.set("custom_response", "file", "\"custom_response.py\"");
        let flow = h.load().await;
        let summary = h.run(&flow).await;
        let rows = h.rows(&summary.execution.id).await;
        let row = &rows[&format!("plan:{}", cancels[0])];
        assert_eq!(row.status, RowStatus::Failed);
        assert!(row.error.as_deref().unwrap().contains(needle), "{row:?}");
        assert_eq!(h.plan_status(cancels[0]).await, "waiting");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_next_state_moves_the_plan_in_omnitron() {
    let h = CancelHarness::start(200, ErpConfig::default()).await;
    for (next, expected) in [
        ("confirmation_waiting", "confirmation_waiting"),
        ("confirmed", "confirmed"),
        ("completed", "completed"),
        ("approved", "approved"),
    ] {
        let (plans, _) = web_plans(&h, 1, 0).await;
        h.set("write", "next_state", &format!("\"{next}\""));
        let flow = h.load().await;
        let summary = h.run(&flow).await;
        assert_eq!(h.plan_status(plans[0]).await, expected, "{next}");
        let rows = h.rows(&summary.execution.id).await;
        assert_eq!(
            rows[&format!("plan:{}", plans[0])].outcome.as_deref(),
            Some(next)
        );
    }
    // A Next State Omnitron never allows after the task's status is refused up front.
    h.set("read", "cancel_status", "\"confirmed\"");
    h.set("write", "next_state", "\"confirmation_waiting\"");
    let errors = h.try_load().await.unwrap_err().to_string();
    assert!(
        errors.contains("write.next_state") && errors.contains("cannot follow"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_tasks_ignore_the_next_state_do_not_read_failures_again_and_replay_them() {
    let h = CancelHarness::start(200, ErpConfig::default()).await;
    let (plans, _) = web_plans(&h, 3, 0).await;
    for pk in &plans {
        h.set_plan_status(*pk, "completed").await;
    }
    h.erp
        .set_cancellation_mode(plans[1], CancelMode::RetryLater { status: 503 })
        .await;
    h.erp
        .set_cancellation_mode(plans[2], CancelMode::Reject { status: 400 })
        .await;
    h.set("read", "cancel_status", "\"completed\"");
    h.set("write", "next_state", "\"confirmed\"");
    let flow = h.load().await;
    let first = h.run(&flow).await;
    let rows = h.rows(&first.execution.id).await;
    assert_eq!(
        rows[&format!("plan:{}", plans[0])].outcome.as_deref(),
        Some("delivered")
    );
    for pk in &plans {
        assert_eq!(
            h.plan_status(*pk).await,
            "completed",
            "the Next State is ignored"
        );
    }
    let left = &rows[&format!("plan:{}", plans[1])];
    assert!(
        left.error.as_deref().unwrap().contains("replay it"),
        "{left:?}"
    );
    assert!(left.has_payload);
    let failed = &rows[&format!("plan:{}", plans[2])];
    assert_eq!(failed.outcome.as_deref(), Some("failure"));

    // The window moved on: the next run does not read them again.
    let second = h.run(&flow).await;
    assert_eq!(
        second.execution.status,
        ExecutionStatus::Empty,
        "{:?}",
        second.execution
    );
    assert_eq!(h.erp_count(plans[1]).await, 1);

    // The ERP is fine again: a replay takes both from their stored payloads.
    h.erp.set_cancellation_mode(plans[1], CancelMode::Ok).await;
    h.erp.set_cancellation_mode(plans[2], CancelMode::Ok).await;
    let replay = h.replay(&flow, &first.execution.id).await;
    assert_eq!(
        replay.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        replay.execution
    );
    assert_eq!(replay.execution.counts.outcome("delivered"), 2);
    assert_eq!(h.erp_count(plans[1]).await, 2);
    assert_eq!(
        h.erp_count(plans[0]).await,
        1,
        "a delivered plan is not replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_transaction_tasks_map_the_transaction_and_read_failures_again() {
    let h = CancelHarness::start(240, ErpConfig::default()).await;
    let state = h.omnitron.state().await;
    // Unmapped refund transactions whose plans are web plans.
    let web: Vec<(u64, u64)> = state
        .order_transactions
        .iter()
        .filter(|t| t.transaction_type == "refund" && t.mappings.is_empty())
        .filter_map(|t| {
            let plan = t.related_cancellation_plan?;
            let order = state.order_by_pk(state.plan(plan)?.order)?;
            (order.channel == 1).then_some((t.pk, plan))
        })
        .collect();
    assert!(!web.is_empty(), "the seed has unmapped web refunds");
    let (failing_txn, failing_plan) = web[0];
    h.erp
        .set_cancellation_mode(failing_plan, CancelMode::RetryLater { status: 503 })
        .await;
    h.set("read", "cancel_status", "\"order_transaction\"");
    h.set("write", "next_state", "\"confirmed\"");
    h.set("write", "reference_path", "\"$.erp_ref\"");
    let flow = h.load().await;
    let first = h.run(&flow).await;
    let rows = h.rows(&first.execution.id).await;
    let state = h.omnitron.state().await;
    for (txn, plan) in &web[1..] {
        let transaction = state
            .order_transactions
            .iter()
            .find(|t| t.pk == *txn)
            .unwrap();
        assert_eq!(transaction.mappings.len(), 1, "transaction {txn} is mapped");
        assert_eq!(transaction.mappings[0].code, format!("C{plan}"));
        assert_eq!(
            rows[&format!("transaction:{txn}")].outcome.as_deref(),
            Some("mapped")
        );
    }
    let failing = state
        .order_transactions
        .iter()
        .find(|t| t.pk == failing_txn)
        .unwrap();
    assert!(failing.mappings.is_empty());
    // The failed one is still unmapped, so the next run reads it again.
    h.erp
        .set_cancellation_mode(failing_plan, CancelMode::Ok)
        .await;
    let second = h.run(&flow).await;
    let rows = h.rows(&second.execution.id).await;
    assert_eq!(
        rows[&format!("transaction:{failing_txn}")]
            .outcome
            .as_deref(),
        Some("mapped"),
        "{rows:?}"
    );
    assert!(second.execution.counts.read >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_response_script_sees_the_rejected_count_and_the_channel_type() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let orders = h.cancellable_web_orders(2).await;
    // Order 0 had a plan rejected before; order 1 none.
    let earlier = h.cancel_order(orders[0], "cancel").await;
    h.set_plan_status(earlier, "rejected").await;
    let again = h.cancel_order(orders[0], "cancel").await;
    let fresh = h.cancel_order(orders[1], "cancel").await;
    h.write_file(
        "custom_response.py",
        r#"
ff = session.get()
rejected = int(ff.getAttribute("rejected_count"))
ff = session.putAttribute(ff, "log.rejected_count", str(rejected))
ff = session.putAttribute(ff, "log.channel_type", ff.getAttribute("channel_type"))
ff = session.putAttribute(ff, "relation", "failure" if rejected > 0 else "continue")
session.transfer(ff, REL_SUCCESS)
"#,
    );
    h.set("custom_response", "file", "\"custom_response.py\"");
    let flow = h.load().await;
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    assert_eq!(
        rows[&format!("plan:{again}")].attributes["log.rejected_count"],
        "1"
    );
    assert_eq!(
        rows[&format!("plan:{fresh}")].attributes["log.rejected_count"],
        "0"
    );
    assert_eq!(
        rows[&format!("plan:{fresh}")].attributes["log.channel_type"],
        "web"
    );
    assert_eq!(h.plan_status(again).await, "rejected");
    assert_eq!(h.plan_status(fresh).await, "approved");
    assert_eq!(
        rejected_count_queries(&h).await as u64,
        summary.execution.counts.read,
        "one count per plan"
    );
}

/// How many times Omnitron was asked for an order's rejected plans.
async fn rejected_count_queries(h: &CancelHarness) -> usize {
    h.omnitron
        .journal(JournalQuery {
            path: Some("cancellation_plans".to_string()),
            ..JournalQuery::default()
        })
        .await
        .iter()
        .filter(|e| e.query.contains("status=rejected"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rejected_count_is_asked_only_when_the_flow_can_read_it() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let orders = h.cancellable_web_orders(2).await;
    let first = h.cancel_order(orders[0], "cancel").await;
    // The example's scripts and the default Custom Response Script never read it (the default
    // only names it in a comment).
    let flow = h.load().await;
    assert!(!flow.reads_rejected_count);
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    assert_eq!(rows[&format!("plan:{first}")].status, RowStatus::Success);
    assert_eq!(rejected_count_queries(&h).await, 0);
    // A header naming it, or a script reading every attribute, needs it.
    h.set(
        "write",
        "headers",
        "{ \"X-Rejected\" = \"${rejected_count}\" }",
    );
    assert!(h.load().await.reads_rejected_count);
    h.set("write", "headers", "{}");
    h.write_file(
        "custom_response.py",
        r#"
ff = session.get()
for name, value in ff.getAttributes().items():
    pass
ff = session.putAttribute(ff, "relation", "continue")
session.transfer(ff, REL_SUCCESS)
"#,
    );
    h.set("custom_response", "file", "\"custom_response.py\"");
    let flow = h.load().await;
    assert!(flow.reads_rejected_count);
    let second = h.cancel_order(orders[1], "cancel").await;
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    assert_eq!(rows[&format!("plan:{second}")].status, RowStatus::Success);
    assert_eq!(summary.execution.counts.read, 1);
    assert_eq!(rejected_count_queries(&h).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omnitron_refusing_the_next_state_is_logged_in_its_words_and_finished_later_without_resending()
 {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let (plans, _) = web_plans(&h, 1, 0).await;
    let plan = plans[0];
    h.erp
        .set_cancellation_mode(plan, CancelMode::Slow { ms: 1500 })
        .await;
    h.set("write", "next_state", "\"confirmation_waiting\"");
    let flow = h.load().await;
    // While the ERP takes its time, a person confirms the plan in Omnitron.
    let run = h.run(&flow);
    let person = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        h.set_plan_status(plan, "confirmed").await;
    };
    let (summary, ()) = tokio::join!(run, person);
    let rows = h.rows(&summary.execution.id).await;
    let row = &rows[&format!("plan:{plan}")];
    assert_eq!(row.status, RowStatus::Failed);
    assert!(
        row.error.as_deref().unwrap().contains(
            "Cancellation plan status can not be changed from confirmed to confirmation_waiting."
        ),
        "{row:?}"
    );
    assert_eq!(h.plan_status(plan).await, "confirmed");
    // The ERP has it: the ledger says so, and nothing is sent again.
    let entry = h
        .store
        .get_ledger_entry(&flow.id, &format!("plan:{plan}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.phase, LedgerPhase::Accepted);
    assert_eq!(h.erp_count(plan).await, 1);
}

/// The default Custom Response Script ships as Python (the template users start from) and is
/// decided natively when a flow keeps it: both must agree on every kind of answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_default_decides_as_the_shipped_default_script() {
    use omnibridge_engine::attributes::Attributes;
    use omnibridge_engine::cards::script::ScriptStep;
    use omnibridge_engine::flows::order_cancel::DEFAULT_CUSTOM_RESPONSE_SCRIPT;
    use omnibridge_engine::flows::order_cancel::plan::Relation;
    use omnibridge_script::{PoolConfig, ScriptPool};

    let pool = ScriptPool::start(PoolConfig {
        workers: 1,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let script = ScriptStep::builtin("the Custom Response Script", DEFAULT_CUSTOM_RESPONSE_SCRIPT);
    let statuses = [
        0, 100, 199, 200, 201, 204, 299, 300, 302, 304, 399, 400, 401, 402, 403, 404, 409, 422,
        429, 499, 500, 502, 503, 504, 599, 600,
    ];
    for status in statuses {
        let mut attributes = Attributes::new();
        attributes.set("invokehttp.status.code", status.to_string());
        script
            .run(
                &pool,
                std::time::Duration::from_secs(10),
                br#"{"request_data": {}, "response_data": null}"#.to_vec(),
                &mut attributes,
            )
            .await
            .unwrap();
        assert_eq!(
            attributes.get("relation"),
            Some(Relation::by_default(status).as_str()),
            "HTTP {status}"
        );
    }
    pool.shutdown().await;
}

/// The Cancellation API URL and headers are NiFi EL over the plan's attributes, sent with the
/// configured method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancellation_url_and_headers_use_the_plans_attributes_and_the_method() {
    let h = CancelHarness::start(160, ErpConfig::default()).await;
    let (cancels, _) = web_plans(&h, 1, 0).await;
    let plan = cancels[0];
    h.erp
        .update_scenario(|s| s.cancellation_method = "PUT".to_string())
        .await;
    h.set(
        "write",
        "url",
        "\"${env:ERP_URL}/cancellations?plan=${_plan.pk}&order=${_plan.order.number:urlEncode()}&type=${_plan.plan_type:toUpper()}\"",
    );
    h.set("write", "method", "\"PUT\"");
    h.set(
        "write",
        "headers",
        "{ \"X-Channel\" = \"${channel_type}\", \"X-Plan\" = \"${_plan.pk}\" }",
    );
    let flow = h.load().await;
    h.erp.clear_journal().await;
    let summary = h.run(&flow).await;
    let rows = h.rows(&summary.execution.id).await;
    assert_eq!(rows[&format!("plan:{plan}")].status, RowStatus::Success);
    assert_eq!(h.plan_status(plan).await, "approved");
    let journal = h
        .erp
        .journal(JournalQuery {
            path: Some("cancellations".to_string()),
            ..JournalQuery::default()
        })
        .await;
    let sent = journal
        .iter()
        .find(|e| e.query.contains(&format!("plan={plan}&")))
        .unwrap_or_else(|| panic!("no request for plan {plan}: {journal:?}"));
    assert_eq!(sent.method, "PUT");
    let number = &sent.body["order_number"];
    assert!(
        sent.query
            .ends_with(&format!("&order={}&type=CANCEL", number.as_str().unwrap())),
        "{}",
        sent.query
    );
    assert_eq!(sent.headers["x-channel"], "web");
    assert_eq!(sent.headers["x-plan"], plan.to_string());
}
