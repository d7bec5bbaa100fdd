//! Loading an Order Status Flow refuses every mistake up front, naming the field and the
//! problem, all at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod status_support;

use omnibridge_sim::ErpConfig;
use status_support::StatusHarness;

async fn problems(h: &StatusHarness, name: &str) -> String {
    match h.try_load(name).await {
        Ok(_) => panic!("the flow loaded"),
        Err(errors) => errors.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_flows_load() {
    let h = StatusHarness::start(1, ErpConfig::default()).await;
    let inbound = h.load("order-status-flow").await;
    assert!(!inbound.is_outbound());
    assert_eq!(inbound.timezone, chrono_tz::Europe::Istanbul);
    assert_eq!(
        inbound.trigger_parameters,
        ["number", "modified_date__gt", "sku", "custom_parameter"]
    );
    assert!(inbound.read.as_ref().unwrap().dynamic_url);
    assert!(inbound.row_script.is_some() && inbound.mapping.is_some());
    let outbound = h.load("order-status-push").await;
    assert!(outbound.is_outbound() && outbound.read.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_of_a_status_flow_is_named_at_once() {
    let h = StatusHarness::start(1, ErpConfig::default()).await;
    h.write_flow(
        "bad",
        r#"
name = "bad"
type = "order_status"
[schedule]
timezone = "Mars/Olympus"
[omnitron]
login = "main"
[trigger]
parameters = ["number", "bad name"]
initial_lookback = "0s"
[read]
url = "ftp://erp/orders"
method = "DELETE"
headers = { "Bad Header" = "x" }
xml_force_list = ["order"]
[read.pagination]
type = "offset"
page_size = 0
max_pages = 0
marker_path = "$.a["
[write]
path = "https://omnitron/api"
method = "GET"
"#,
        &[],
    );
    std::fs::copy(
        status_support::examples().join("logins.toml"),
        h.dir.path().join("logins.toml"),
    )
    .unwrap();
    let errors = problems(&h, "bad").await;
    for needle in [
        "schedule.timezone: \"Mars/Olympus\" is not an IANA timezone",
        "trigger.parameters[0]: \"number\" is listed twice",
        "trigger.parameters[1]: \"bad name\" is not a parameter name",
        "trigger.initial_lookback: must be more than 0",
        "read.url: \"ftp://erp/orders\" must be an http:// or https:// URL",
        "read.method: \"DELETE\" is not one of GET, POST",
        "read.headers.Bad Header: \"Bad Header\" is not a valid header name",
        "read.xml_force_list: applies only with response_type = \"xml\"",
        "read.pagination.page_size: must be between 1 and 10000",
        "read.pagination.max_pages: must be between 1 and 100000",
        "read.pagination.marker_path",
        "write.path: \"https://omnitron/api\" must be a path relative to the Omnitron URL",
        "write.method: \"GET\" is not one of PATCH, PUT, POST",
    ] {
        assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
    }

    // Inbound without a read, outbound with one (and a schedule), unknown keys.
    h.write_flow(
        "shape",
        "name = \"shape\"\ntype = \"order_status\"\n[omnitron]\nlogin = \"main\"\n",
        &[],
    );
    let errors = problems(&h, "shape").await;
    assert!(
        errors.contains("read: an inbound flow needs a [read] card"),
        "{errors}"
    );
    h.write_flow(
        "shape",
        "name = \"shape\"\ntype = \"order_status\"\nintegration = \"outbound\"\n\
         [schedule]\nevery = \"5m\"\n[omnitron]\nlogin = \"main\"\n[read]\nurl = \"http://erp/x\"\n",
        &[],
    );
    let errors = problems(&h, "shape").await;
    assert!(
        errors.contains("read: an outbound flow does not read the ERP"),
        "{errors}"
    );
    assert!(
        errors.contains("schedule: an outbound flow runs when the ERP pushes rows"),
        "{errors}"
    );
    h.write_flow(
        "shape",
        "name = \"shape\"\ntype = \"order_status\"\n[omnitron]\nlogin = \"main\"\n\
         [read]\nurl = \"http://erp/x\"\n[read.pagination]\ntype = \"pages\"\n",
        &[],
    );
    let errors = problems(&h, "shape").await;
    assert!(
        errors.contains("read.pagination.type") && errors.contains("pages"),
        "{errors}"
    );

    // An Order Flow directory is not an Order Status Flow.
    h.write_flow(
        "order",
        "name = \"order\"\ntype = \"order\"\n[omnitron]\nlogin = \"main\"\n",
        &[],
    );
    let errors = problems(&h, "order").await;
    assert!(
        errors.contains("type") || errors.contains("unknown field"),
        "{errors}"
    );
}
