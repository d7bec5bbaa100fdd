//! Loading an Order Cancel Flow refuses every mistake up front, naming the field and the
//! problem, all at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancel_support;

use cancel_support::CancelHarness;
use omnibridge_engine::config::order_cancel::CancelStatus;
use omnibridge_engine::flows::order_cancel::CustomResponse;
use omnibridge_sim::ErpConfig;

async fn problems(h: &CancelHarness) -> String {
    match h.try_load().await {
        Ok(_) => panic!("the flow loaded"),
        Err(errors) => errors.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_flow_loads_with_the_default_custom_response() {
    let h = CancelHarness::start(1, ErpConfig::default()).await;
    let flow = h.load().await;
    assert_eq!(flow.cancel_status(), CancelStatus::Waiting);
    assert!(matches!(flow.custom_response, CustomResponse::Default));
    assert!(flow.script.is_some() && flow.mapping.is_some() && flow.post_script.is_some());
    h.set("custom_response", "enabled", "false");
    assert!(matches!(
        h.load().await.custom_response,
        CustomResponse::Off
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_of_a_cancel_flow_is_named_at_once() {
    let h = CancelHarness::start(1, ErpConfig::default()).await;
    h.write_file("bad_mapping.json", r#"[{"operation": "shift", "spec": 7}]"#);
    h.write_file(
        "flow.toml",
        r#"
name = "bad"
type = "order_cancel"
[omnitron]
login = "main"
[erp]
login = "main"
[read]
channel_type = "web shop"
cancel_status = "confirmed"
page_size = 0
max_plans = 0
initial_lookback = "0s"
[script]
file = "missing.py"
[mapping]
file = "bad_mapping.json"
[write]
url = "ftp://erp/cancellations"
method = "DELETE"
next_state = "confirmation_waiting"
reference_path = "$.a["
[custom_response]
enabled = false
file = "custom.py"
"#,
    );
    let errors = problems(&h).await;
    for (field, words) in [
        ("read.channel_type", "is not a channel type"),
        ("read.page_size", "between 1 and 1000"),
        ("read.max_plans", "between 1 and 1000000"),
        ("read.initial_lookback", "more than 0"),
        ("script", "missing.py"),
        ("mapping", "bad_mapping.json"),
        ("write.url", "ftp"),
        ("write.method", "DELETE"),
        ("write.next_state", "cannot follow"),
        ("write.reference_path", ""),
        ("custom_response.file", "has no effect"),
    ] {
        assert!(
            errors
                .lines()
                .any(|l| l.contains(field) && l.contains(words)),
            "{field} ({words}) is not named in:\n{errors}"
        );
    }

    // A required setting left empty, one left out, and a value none of the choices.
    h.write_file(
        "flow.toml",
        r#"
name = "bad"
type = "order_cancel"
[omnitron]
login = "main"
[erp]
login = "main"
[read]
channel_type = ""
cancel_status = "waiting"
[write]
url = "http://erp/cancellations"
next_state = "approved"
"#,
    );
    let errors = problems(&h).await;
    assert!(
        errors.contains("read.channel_type") && errors.contains("is required"),
        "{errors}"
    );
    h.unset("read", "cancel_status");
    let errors = problems(&h).await;
    assert!(
        errors.contains("read") && errors.contains("missing field `cancel_status`"),
        "{errors}"
    );
    h.set("read", "cancel_status", "\"cancelled\"");
    let errors = problems(&h).await;
    assert!(
        errors.contains("cancel_status") && errors.contains("cancelled"),
        "{errors}"
    );
}
