//! The engine is killed (SIGKILL) at random points of a 500-order run and restarted until it is
//! done; the simulators' counters prove that every order reached the ERP exactly once, every
//! order is marked sent, and nothing is left in doubt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_flow;

use std::time::Instant;

use omnibridge_sim::OmnitronConfig;
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
