//! Loading a flow directory refuses every mistake up front, naming the file, field and problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use omnibridge_sim::ErpConfig;
use support::Harness;

async fn problems(h: &Harness) -> String {
    match h.try_load().await {
        Ok(_) => panic!("the flow loaded"),
        Err(errors) => errors.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_flow_loads_with_its_cards_compiled() {
    let h = Harness::start(1, ErpConfig::default()).await;
    let flow = h.load().await;
    assert_eq!(flow.id, "order-to-erp");
    assert!(flow.query_check.is_some() && flow.script.is_some() && flow.mapping.is_some());
    assert!(
        flow.post_script
            .as_ref()
            .unwrap()
            .properties
            .iter()
            .any(|(k, _)| k == "crm_url")
    );
    assert_eq!(flow.omnitron.username, "integrator");
    assert!(
        flow.secrets().contains(&"erp-pass".to_string()),
        "passwords are redacted from logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_and_bad_values_name_their_field() {
    let h = Harness::start(1, ErpConfig::default()).await;
    h.edit_flow(|t| t.replace("[write]", "[write]\nretries = 3"));
    let text = problems(&h).await;
    assert!(
        text.contains("flow.toml") && text.contains("write") && text.contains("retries"),
        "{text}"
    );

    let h = Harness::start(1, ErpConfig::default()).await;
    h.edit_flow(|t| t.replace("channels = \"1,2,3,4\"", "channels = \"1,web\""));
    let text = problems(&h).await;
    assert!(
        text.contains("read.channels") && text.contains("\"web\""),
        "{text}"
    );

    let h = Harness::start(1, ErpConfig::default()).await;
    h.edit_flow(|t| {
        t.replace("method = \"POST\"", "method = \"SEND\"").replace(
            "failure_status_codes = \"500, 502, 503, 504\"",
            "failure_status_codes = \"500, 5o3\"",
        )
    });
    let text = problems(&h).await;
    assert!(
        text.contains("query_check.failure_status_codes") && text.contains("5o3"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_is_reported_at_once() {
    let h = Harness::start(1, ErpConfig::default()).await;
    h.edit_flow(|t| {
        t.replace("method = \"POST\"", "method = \"SEND\"")
            .replace("[erp]\nlogin = \"main\"", "[erp]\nlogin = \"backup\"")
            .replace(
                "/orders\"\nmethod",
                "/orders?x=${_order.number:substrin(1)}\"\nmethod",
            )
    });
    h.write_file("check_response.py", "def broken(:\n    pass\n");
    let text = problems(&h).await;
    assert!(
        text.contains("write.method") && text.contains("\"SEND\""),
        "{text}"
    );
    assert!(
        text.contains("erp.login") && text.contains("backup"),
        "{text}"
    );
    assert!(
        text.contains("write.url") && text.contains("substring"),
        "{text}"
    );
    assert!(
        text.contains("check_response.py") && text.contains("line 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_the_environment_and_a_missing_one_is_named() {
    let h = Harness::start(1, ErpConfig::default()).await;
    let logins = h.dir.path().join("logins.toml");
    let text = std::fs::read_to_string(&logins)
        .unwrap()
        .replace("${env:ERP_PASSWORD:-erp-pass}", "${env:ERP_PASSWORD}");
    std::fs::write(&logins, text).unwrap();
    let problems = problems(&h).await;
    assert!(
        problems.contains("logins.toml") && problems.contains("erp.main.password"),
        "{problems}"
    );
    assert!(problems.contains("ERP_PASSWORD"), "{problems}");

    let mut h = h;
    h.env
        .insert("ERP_PASSWORD".to_string(), "from-env".to_string());
    let flow = h.load().await;
    assert!(flow.secrets().contains(&"from-env".to_string()));
}
