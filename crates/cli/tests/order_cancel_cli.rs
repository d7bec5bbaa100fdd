//! The Order Cancel Flow from the command line: SIGKILL at random points of a 300-plan run,
//! in-doubt plans settled with `omnibridge ledger`, and every plan written to the ERP once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use omnibridge_sim::OmnitronConfig;
use support_flow::{Crashes, FlowFixture, text};

const PLANS: usize = 300;

/// Customers cancel `count` web orders that have no plan; returns the waiting plans.
async fn waiting_plans(fx: &FlowFixture, count: usize) -> Vec<u64> {
    let mut orders = fx.omnitron.state().await.cancellable_orders(1);
    assert!(
        orders.len() >= count,
        "the seed has {count} cancellable web orders"
    );
    orders.truncate(count);
    fx.omnitron.cancel_orders(&orders, "cancel").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_engine_during_a_cancel_run_writes_every_plan_to_the_erp_once() {
    let fx = FlowFixture::start(OmnitronConfig::default().orders(1500).seed(9)).await;
    let mut plans = waiting_plans(&fx, PLANS).await;
    let state = fx.omnitron.state().await;
    // The generated waiting web plans go too.
    for plan in &state.cancellation_plans {
        let order = state.order_by_pk(plan.order).unwrap();
        if plan.status == "waiting" && order.channel == 1 && !plans.contains(&plan.pk) {
            plans.push(plan.pk);
        }
    }
    let flow = fx.example("order-cancel-flow");
    let flow = flow.to_str().unwrap();
    let Crashes { kills, seed } = fx
        .kill_at_random(
            &["run", flow, "--once", "--quiet"],
            5,
            (200, 1500),
            async |status| {
                assert!(
                    status.success() || status.code() == Some(2),
                    "run exited with {status}"
                );
                true
            },
        )
        .await;
    assert!(kills >= 2, "the engine was killed mid-run ({kills} kills)");

    // A person settles what a kill left in doubt: the ERP has it, or it does not.
    let out = fx.run(&["ledger", "list", "order-cancel"]);
    let listing = text(&out.stdout);
    let erp = fx.erp.state().await;
    let mut settled = 0;
    for line in listing.lines().filter(|l| l.contains("intent")) {
        let key = line.split_whitespace().nth(1).unwrap();
        let plan = key.trim_start_matches("plan:");
        let decision = if erp.cancellation(plan).is_some() {
            "--written"
        } else {
            "--resend"
        };
        let out = fx.run(&["ledger", "resolve", "order-cancel", key, decision]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        settled += 1;
    }
    let out = fx.run(&["run", flow, "--once", "--quiet"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let state = fx.omnitron.state().await;
    let erp = fx.erp.state().await;
    for plan in &plans {
        assert_eq!(state.plan(*plan).unwrap().status, "approved", "plan {plan}");
        let sent = erp
            .cancellation(&plan.to_string())
            .unwrap_or_else(|| panic!("plan {plan} never reached the ERP"));
        assert_eq!(
            sent.count, 1,
            "plan {plan} reached the ERP {} times",
            sent.count
        );
    }
    eprintln!(
        "{} plans, {kills} kills, {settled} settled by hand (OMNIBRIDGE_CRASH_SEED={seed})",
        plans.len()
    );
}
