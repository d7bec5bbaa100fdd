//! The engine is killed (SIGKILL) at random points of a 500-order run and restarted until it is
//! done; the simulators' counters prove that every order reached the ERP exactly once, every
//! order is marked sent, and nothing is left in doubt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use std::time::Instant;

use omnibridge_sim::OmnitronConfig;
use omnibridge_sim::erp::CreateMode;
use support_flow::{Crashes, FlowFixture, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_engine_at_random_points_never_loses_or_duplicates_an_order() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(1440).seed(21)).await;
    let eligible = fx.eligible().await;
    assert!(eligible.len() >= 500, "a 500-order run: {}", eligible.len());
    let flow = fx.flow_dir();
    let flow = flow.to_str().unwrap();
    let started = Instant::now();
    let Crashes { kills, .. } = fx
        .kill_at_random(
            &["run", flow, "--once", "--quiet"],
            7,
            (300, 2500),
            async |status| {
                assert!(
                    status.success() || status.code() == Some(2),
                    "run exited with {status}"
                );
                let sent = fx.omnitron.state().await;
                eligible.iter().all(|n| sent.order(n).unwrap().is_send)
            },
        )
        .await;
    assert!(
        kills >= 3,
        "the engine was killed {kills} times; the test needs real crashes"
    );

    let omnitron = fx.omnitron.state().await;
    let erp = fx.erp.state().await;
    for number in &eligible {
        let order = omnitron.order(number).unwrap();
        assert!(order.is_send, "{number} is marked sent");
        assert_eq!(order.mappings.len(), 1, "{number}: one order mapping");
        let created = erp
            .order(number)
            .unwrap_or_else(|| panic!("{number} never reached the ERP"));
        assert_eq!(
            created.creates, 1,
            "{number} was created {} times",
            created.creates
        );
    }
    assert_eq!(
        erp.orders.len(),
        eligible.len(),
        "nothing else reached the ERP"
    );
    // The Post Script (at least once): every order sent was told to the CRM, even when the
    // engine died after marking it sent and before its Post Script ran.
    let notified: std::collections::HashSet<String> = erp
        .notifications
        .iter()
        .filter(|n| n["event"] == "order_sent")
        .filter_map(|n| n["order_number"].as_str().map(str::to_string))
        .collect();
    let unnotified: Vec<&String> = eligible.iter().filter(|n| !notified.contains(*n)).collect();
    assert!(
        unnotified.is_empty(),
        "the Post Script never ran for {} order(s): {unnotified:?}",
        unnotified.len()
    );

    // Nothing is left in doubt: a final run has nothing to do.
    let out = fx.run(&["run", flow, "--once", "--quiet"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("read 0, sent 0, already in ERP 0, failed 0, in doubt 0"),
        "{stdout}"
    );
    eprintln!(
        "crash test: {} orders, {kills} kills, {:.1} s",
        eligible.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Without a Query URL nothing can ask the ERP whether it has an order: killed at random points,
/// and with an ERP that saves some orders and then answers 500, no order is created twice, and
/// every order whose write may have landed is held in doubt, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_query_url_crashes_and_save_then_500_never_create_an_order_twice() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(900).seed(23)).await;
    let eligible = fx.eligible().await;
    assert!(
        eligible.len() >= 250,
        "a 250-order run at least: {}",
        eligible.len()
    );
    let saved_then_500: Vec<String> = eligible.iter().step_by(25).cloned().collect();
    for number in &saved_then_500 {
        fx.erp
            .set_order_create_mode(number.clone(), CreateMode::CommitThenFail { reset: false })
            .await;
    }
    let flow = fx.flow_dir();
    support_flow::edit_toml(&flow.join("flow.toml"), |doc| {
        doc.remove("query_check");
    });
    let flow = flow.to_str().unwrap();
    let Crashes { kills, seed } = fx
        .kill_at_random(
            &["run", flow, "--once", "--quiet"],
            11,
            (300, 2500),
            async |status| {
                assert!(
                    status.success() || status.code() == Some(2),
                    "run exited with {status}"
                );
                true
            },
        )
        .await;
    assert!(kills >= 2, "the engine was killed {kills} times");

    let held = held_in_doubt(&fx);
    let omnitron = fx.omnitron.state().await;
    let erp = fx.erp.state().await;
    for order in &erp.orders {
        assert_eq!(
            order.creates, 1,
            "{} was created {} times",
            order.number, order.creates
        );
    }
    for number in &saved_then_500 {
        assert!(
            held.contains(number),
            "{number} (saved, then 500) is held in doubt"
        );
        assert!(!omnitron.order(number).unwrap().is_send);
    }
    for number in &eligible {
        let sent = omnitron.order(number).unwrap().is_send;
        assert!(
            sent || held.contains(number),
            "{number} is neither sent nor held in doubt (OMNIBRIDGE_CRASH_SEED={seed})"
        );
    }
    // Another run sends nothing again: what is held stays held.
    let out = fx.run(&["run", flow, "--once", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(&format!("in doubt {}", held.len())),
        "{}",
        text(&out.stdout)
    );
    let erp = fx.erp.state().await;
    assert!(erp.orders.iter().all(|o| o.creates == 1));
    eprintln!(
        "no query URL: {} orders, {kills} kills, {} held in doubt (OMNIBRIDGE_CRASH_SEED={seed})",
        eligible.len(),
        held.len()
    );
}

/// The order numbers `omnibridge ledger list` shows as held in doubt (an intent, no answer).
fn held_in_doubt(fx: &FlowFixture) -> Vec<String> {
    let out = fx.run(&["ledger", "list", "order-to-erp"]);
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains("intent"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}
