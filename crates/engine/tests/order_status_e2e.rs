//! The Order Status Flow end to end against the simulators: every read style, the seeds'
//! dynamic URL, triggers, `last.request`, per-row outcomes, outbound pushes and replays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod status_support;

use std::sync::Arc;

use omnibridge_engine::ManualClock;
use omnibridge_engine::flows::order_status::OrderStatusFlow;
use omnibridge_engine::flows::order_status::{PushError, StatusInput, push, stored_rows};
use omnibridge_sim::erp::AuthMode;
use omnibridge_sim::erp::scenario::{PageFault, Pagination, StatusFeed};
use omnibridge_sim::{ErpConfig, FaultAction, FaultRule};
use omnibridge_store::{ExecutionQuery, ExecutionStatus, RowStatus, Trigger};
use serde_json::{Value, json};
use status_support::{StatusHarness, Target, decoded_query, query_param, row};

fn feed(pagination: Pagination, page_size: usize) -> StatusFeed {
    StatusFeed {
        pagination,
        page_size,
        ..StatusFeed::default()
    }
}

/// Simulators whose ERP feed is `feed`, `count` movable orders with feed rows moving them to
/// 500, and a flow `name` reading the feed with this `[read]` setting.
async fn feed_setup(
    feed: StatusFeed,
    count: usize,
    name: &str,
    read: &str,
) -> (StatusHarness, OrderStatusFlow, Vec<Target>) {
    let h = StatusHarness::start(120, ErpConfig::default().status_feed(feed)).await;
    let targets = h.targets(count).await;
    h.add_rows(&targets, "500").await;
    h.feed_flow(name, read, "");
    let flow = h.load(name).await;
    (h, flow, targets)
}

/// Every target's items are at `status`, and each target has one successful row log.
async fn assert_applied(h: &StatusHarness, execution: &str, targets: &[Target], status: &str) {
    let rows = h.rows(execution).await;
    for target in targets {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == status),
            "order {} is at {status}",
            target.number
        );
        let logs = &rows[&target.number];
        assert_eq!(logs.len(), 1, "one row log for order {}", target.number);
        assert_eq!(logs[0].status, RowStatus::Success, "{:?}", logs[0]);
        assert_eq!(logs[0].outcome.as_deref(), Some("updated"));
        assert!(logs[0].has_payload, "the row's payload is kept");
    }
    let invoice = h.item_field(targets[0].items[0], "invoice_number").await;
    assert_eq!(invoice, Some(json!(format!("INV-{}", targets[0].number))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_paginated_json_feed_is_read_page_by_page_and_applied_once() {
    let (h, flow, targets) = feed_setup(
        feed(Pagination::Offset, 7),
        17,
        "feed",
        "[read.pagination]\ntype = \"offset\"\npage_size = 7",
    )
    .await;
    let summary = h.scheduled(&flow).await;
    let execution = &summary.execution;
    assert_eq!(execution.status, ExecutionStatus::Success, "{execution:?}");
    assert_eq!(execution.counts.read, 17);
    assert_eq!(execution.counts.outcome("updated"), 17);
    assert_eq!(execution.summary.as_ref().unwrap()["pages_read"], 3);
    assert_applied(&h, &execution.id, &targets, "500").await;
    let requests = h.feed_requests().await;
    let offsets: Vec<String> = requests
        .iter()
        .map(|e| query_param(e, "offset").unwrap())
        .collect();
    assert_eq!(
        offsets,
        ["0", "7", "14"],
        "offsets of 7 rows, a short last page"
    );
    assert_eq!(h.patches().await.len(), 17, "one PATCH per row");

    // The same rows read again are recognised and not written twice.
    let again = h
        .trigger(&flow, &[("modified_date__gt", "2020-01-01T00:00:00")])
        .await;
    assert_eq!(again.execution.counts.skipped, 17, "{:?}", again.execution);
    assert_eq!(h.patches().await.len(), 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_feed_is_turned_into_json_the_xmltodict_way() {
    let h = StatusHarness::start(
        120,
        ErpConfig::default().status_feed(StatusFeed {
            xml: true,
            ..feed(Pagination::Offset, 4)
        }),
    )
    .await;
    let targets = h.targets(9).await;
    h.add_rows(&targets, "500").await;
    let mapping = r#"[{"operation": "shift", "spec": {"orders": {"order": {"*": {
        "orderitems": "[&1].orderitem_set", "order": "[&1].order"}}}}}]"#;
    h.feed_flow(
        "xml",
        "response_type = \"xml\"\nxml_force_list = [\"orders.order\", \"orderitems\"]\n\
         [read.pagination]\ntype = \"offset\"\npage_size = 4\nrows_path = \"$.orders.order\"",
        "",
    );
    std::fs::write(h.flow_dir("xml").join("mapping.json"), mapping).unwrap();
    let flow = h.load("xml").await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(
        summary.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        summary.execution
    );
    assert_eq!(summary.execution.counts.outcome("updated"), 9);
    assert_eq!(summary.execution.summary.as_ref().unwrap()["pages_read"], 3);
    assert_applied(&h, &summary.execution.id, &targets, "500").await;
    // XML text is text: the ids and statuses Omnitron received are strings.
    let first = &h.patches().await[0];
    assert!(first["orderitem_set"][0]["id"].is_string(), "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pagination_follows_the_last_rows_marker() {
    let (h, flow, targets) = feed_setup(
        feed(Pagination::Seek, 5),
        12,
        "seek",
        "[read.pagination]\ntype = \"seek\"\npage_size = 5",
    )
    .await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Success);
    assert_eq!(summary.execution.counts.outcome("updated"), 12);
    assert_applied(&h, &summary.execution.id, &targets, "500").await;
    let afters: Vec<Option<String>> = h
        .feed_requests()
        .await
        .iter()
        .map(|e| query_param(e, "after"))
        .collect();
    assert_eq!(
        afters.len(),
        4,
        "three pages and the empty one that ends: {afters:?}"
    );
    assert_eq!(afters[0], None);
    assert!(afters[1..].iter().all(Option::is_some));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_field_pagination_follows_links_and_tokens() {
    for token in [false, true] {
        let (h, flow, targets) = feed_setup(
            StatusFeed {
                next_token: token,
                ..feed(Pagination::NextField, 4)
            },
            10,
            "next",
            "[read.pagination]\ntype = \"next_field\"\npage_size = 4",
        )
        .await;
        let summary = h.scheduled(&flow).await;
        assert_eq!(
            summary.execution.status,
            ExecutionStatus::Success,
            "token {token}: {:?}",
            summary.execution
        );
        assert_eq!(summary.execution.summary.as_ref().unwrap()["pages_read"], 3);
        assert_applied(&h, &summary.execution.id, &targets, "500").await;
        let cursors: Vec<String> = h
            .feed_requests()
            .await
            .iter()
            .filter_map(|e| query_param(e, "cursor"))
            .collect();
        let expected: Vec<&str> = if token {
            vec!["p2", "p3"]
        } else {
            vec!["2", "3"]
        };
        assert_eq!(cursors, expected, "token {token}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_read_sends_extra_params_and_pages_in_the_body_with_the_extra_headers() {
    let (h, flow, targets) = feed_setup(
        StatusFeed {
            auth_expired_on_page: Some(2),
            ..feed(Pagination::Offset, 4)
        },
        9,
        "post",
        "method = \"POST\"\nextra_params = '{\"warehouse\": \"MAIN\", \"channels\": [1, 2]}'\n\
         headers = { \"X-Flow\" = \"${flow.name}\", \"X-Api-Version\" = \"2\" }\n\
         [read.pagination]\ntype = \"offset\"\npage_size = 4",
    )
    .await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(
        summary.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        summary.execution
    );
    assert_applied(&h, &summary.execution.id, &targets, "500").await;
    assert_eq!(
        summary.execution.summary.as_ref().unwrap()["erp_logins"],
        2,
        "the token that expired on page 2 was renewed"
    );
    let requests: Vec<_> = h
        .feed_requests()
        .await
        .into_iter()
        .filter(|e| e.status == Some(200))
        .collect();
    assert_eq!(requests.len(), 3);
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.body["warehouse"], "MAIN");
        assert_eq!(request.body["channels"], json!([1, 2]));
        assert_eq!(request.body["offset"], json!(i * 4));
        assert_eq!(request.body["limit"], 4);
        assert!(
            request.body["modified_date__gt"].is_null(),
            "a plain URL keeps its date in the query"
        );
        assert!(query_param(request, "modified_date__gt").is_some());
        assert_eq!(request.headers["x-flow"], "post");
        assert_eq!(request.headers["x-api-version"], "2");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_pages_than_the_card_allows_stop_the_read_with_an_error() {
    let (h, flow, _) = feed_setup(
        feed(Pagination::Offset, 3),
        10,
        "limited",
        "[read.pagination]\ntype = \"offset\"\npage_size = 3\nmax_pages = 2",
    )
    .await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Failed);
    let error = summary.execution.error.unwrap();
    assert!(
        error.contains("stopped after 2 pages") && error.contains("max_pages"),
        "{error}"
    );
    assert_eq!(h.feed_requests().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaginated_feed_is_one_request() {
    let h = StatusHarness::start(
        120,
        ErpConfig::default().status_feed(feed(Pagination::None, 50)),
    )
    .await;
    let targets = h.targets(6).await;
    h.add_rows(&targets, "450").await;
    h.array_feed_flow("plain", "");
    let flow = h.load("plain").await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Success);
    assert_eq!(h.feed_requests().await.len(), 1);
    let rows = h.rows(&summary.execution.id).await;
    for target in &targets {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "450")
        );
        // An item already at 450 is a no-op in Omnitron: still a success.
        assert_eq!(rows[&target.number][0].status, RowStatus::Success);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_middle_page_fails_the_run_keeps_last_request_and_the_rerun_writes_nothing_twice()
{
    let (h, flow, targets) = feed_setup(
        StatusFeed {
            page_status: Some(PageFault {
                page: 2,
                status: 500,
                ms: 0,
            }),
            ..feed(Pagination::Offset, 5)
        },
        13,
        "paged",
        "[read.pagination]\ntype = \"offset\"\npage_size = 5",
    )
    .await;
    let first = h.scheduled(&flow).await;
    assert_eq!(first.execution.status, ExecutionStatus::Failed);
    let error = first.execution.error.clone().unwrap();
    assert!(error.contains("page 2") && error.contains("500"), "{error}");
    assert_eq!(
        first.execution.counts.outcome("updated"),
        5,
        "page 1 was applied"
    );
    let kept = h
        .store
        .get_flow_state(&flow.id, "last.request")
        .await
        .unwrap();
    assert!(kept.is_some(), "the first run's starting point is kept");
    for target in &targets[5..] {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s != "500")
        );
    }

    h.erp
        .update_scenario(|s| s.status_feed.page_status = None)
        .await;
    let second = h.scheduled(&flow).await;
    assert_eq!(
        second.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        second.execution
    );
    assert_eq!(second.execution.counts.skipped, 5, "page 1 is recognised");
    assert_eq!(second.execution.counts.outcome("updated"), 8);
    for target in &targets {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    let patches = h.patches().await;
    assert_eq!(patches.len(), 13, "no row was written twice");
    let mut orders: Vec<&str> = patches
        .iter()
        .map(|p| p["order"].as_str().unwrap())
        .collect();
    orders.sort();
    orders.dedup();
    assert_eq!(orders.len(), 13);
    // Both runs asked from the same last.request; now it has moved on.
    let queries: Vec<String> = h
        .feed_requests()
        .await
        .iter()
        .filter_map(|e| query_param(e, "modified_date__gt"))
        .collect();
    assert!(
        queries.len() > 3 && queries.windows(2).all(|w| w[0] == w[1]),
        "last.request did not advance after the incomplete read: {queries:?}"
    );
    let advanced = h
        .store
        .get_flow_state(&flow.id, "last.request")
        .await
        .unwrap();
    assert!(advanced > kept, "{advanced:?} after {kept:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_repeats_a_page_stops_the_read_with_an_error() {
    // The ERP calls its offset parameter `offset`; this flow sends `start`, so the ERP answers
    // the first page again and again.
    let (h, flow, _targets) = feed_setup(
        feed(Pagination::Offset, 4),
        10,
        "loop",
        "[read.pagination]\ntype = \"offset\"\npage_size = 4\noffset_param = \"start\"",
    )
    .await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Failed);
    let error = summary.execution.error.unwrap();
    assert!(error.contains("page 2 repeats an earlier page"), "{error}");
    assert!(error.contains("\"start\""), "names the setting: {error}");
    assert_eq!(h.feed_requests().await.len(), 2, "it stops at once");
    assert_eq!(h.patches().await.len(), 4, "only the first page's rows");
    let kept = h
        .store
        .get_flow_state(&flow.id, "last.request")
        .await
        .unwrap();
    h.scheduled(&flow).await;
    assert_eq!(
        h.store
            .get_flow_state(&flow.id, "last.request")
            .await
            .unwrap(),
        kept,
        "a read that never completes never advances last.request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_by_number_by_date_and_with_a_custom_parameter_append_to_a_plain_url() {
    let h = StatusHarness::start(
        120,
        ErpConfig::default().status_feed(feed(Pagination::None, 50)),
    )
    .await;
    let targets = h.targets(4).await;
    h.add_rows(&targets, "500").await;
    h.array_feed_flow("trigger", "");
    let flow = h.load("trigger").await;

    let by_number = h
        .trigger(
            &flow,
            &[("number", &targets[0].number), ("custom_parameter", "x y")],
        )
        .await;
    assert_eq!(
        by_number.execution.counts.read, 1,
        "{:?}",
        by_number.execution
    );
    assert!(
        h.item_statuses(&targets[0].number)
            .await
            .iter()
            .all(|s| s == "500")
    );
    assert!(
        h.item_statuses(&targets[1].number)
            .await
            .iter()
            .all(|s| s != "500")
    );
    let asked = h.feed_requests().await.last().unwrap().query.clone();
    assert_eq!(
        asked,
        format!("number={}&custom_parameter=x+y", targets[0].number)
    );

    let by_date = h
        .trigger(
            &flow,
            &[("modified_date__gt", "2020-01-01T00:00:00.000000Z")],
        )
        .await;
    assert_eq!(by_date.execution.counts.outcome("updated"), 3);
    assert_eq!(
        by_date.execution.counts.skipped, 1,
        "the first row was already applied"
    );
    for target in &targets {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    let asked = h.feed_requests().await.last().unwrap().query.clone();
    assert_eq!(asked, "modified_date__gt=2020-01-01T00%3A00%3A00.000000Z");
    // A triggered run does not move the scheduled window.
    assert_eq!(
        h.store
            .get_flow_state(&flow.id, "last.request")
            .await
            .unwrap(),
        None
    );

    // Parameters the flow does not declare, twice, or a date that is not one, are refused.
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    use omnibridge_engine::flows::order_status::TriggerParams;
    for (params, needle) in [
        (pairs(&[("sku", "1")]), "not a trigger parameter"),
        (pairs(&[("number", "1"), ("number", "2")]), "given twice"),
        (pairs(&[("modified_date__gt", "yesterday")]), "not a date"),
        (pairs(&[("number", "")]), "at least one"),
    ] {
        let err = TriggerParams::parse(&params, &flow).unwrap_err();
        assert!(err.contains(needle), "{params:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_dynamic_url_works_on_each_of_its_branches() {
    let h = StatusHarness::start(
        120,
        ErpConfig::default()
            .auth_mode(AuthMode::TokenInUrl)
            .status_feed(StatusFeed {
                timezone: Some("Europe/Istanbul".to_string()),
                ..feed(Pagination::None, 50)
            }),
    )
    .await;
    let targets = h.targets(3).await;
    h.add_rows(&targets, "500").await;
    let flow = h.load("order-status-flow").await;
    assert!(flow.read.as_ref().unwrap().dynamic_url);

    // Branch 1: triggered with `sku` → one order, by number.
    let one = h
        .trigger(&flow, &[("number", &targets[0].number), ("sku", "SKU-1")])
        .await;
    assert_eq!(
        one.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        one.execution
    );
    assert_eq!(one.execution.counts.read, 1);
    let asked = h.feed_requests().await.last().unwrap().clone();
    assert!(
        asked.path.starts_with("/(S(") && asked.path.ends_with("))/service/run"),
        "{}",
        asked.path
    );
    assert!(
        !asked.path.contains("{TOKEN}"),
        "the ERP token is in the path"
    );
    assert_eq!(
        decoded_query(&asked),
        format!(
            "{{'name': 'Akinon', 'Parameters': [{{'Name': 'Order', 'Value': '{}'}}]}}",
            targets[0].number
        )
    );
    assert!(
        h.item_statuses(&targets[0].number)
            .await
            .iter()
            .all(|s| s == "500")
    );
    assert!(
        h.item_statuses(&targets[1].number)
            .await
            .iter()
            .all(|s| s != "500")
    );

    // Branch 2: triggered without `sku` → by the trigger's date, fraction and Z stripped.
    let by_date = h
        .trigger(&flow, &[("modified_date__gt", "2020-01-01T10:00:00.123Z")])
        .await;
    assert_eq!(by_date.execution.status, ExecutionStatus::Success);
    assert_eq!(
        decoded_query(h.feed_requests().await.last().unwrap()),
        "{'name': 'Akinon', 'Parameters': [{'Name': 'Date', 'Value': '2020-01-01T10:00:00'}]}"
    );
    for target in &targets {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }

    // Branch 3: scheduled → by last.request (Europe/Istanbul, fraction stripped).
    let scheduled = h.scheduled(&flow).await;
    assert_eq!(scheduled.execution.status, ExecutionStatus::Success);
    let since = scheduled.execution.summary.as_ref().unwrap()["last_request"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!since.ends_with('Z') && since.contains('.'), "{since}");
    let stripped = &since[..since.find('.').unwrap()];
    assert_eq!(
        decoded_query(h.feed_requests().await.last().unwrap()),
        format!("{{'name': 'Akinon', 'Parameters': [{{'Name': 'Date', 'Value': '{stripped}'}}]}}")
    );
    assert_eq!(
        scheduled.execution.counts.skipped, 3,
        "already applied rows are skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_asks_with_last_request_in_the_flows_timezone() {
    // A minute ago (so rows the simulator dates "now" are newer), with a fraction of a second.
    let start = chrono::Utc::now() - chrono::Duration::minutes(1);
    let clock = Arc::new(ManualClock::new(start));
    let h = StatusHarness::start_with_clock(
        120,
        ErpConfig::default().status_feed(StatusFeed {
            timezone: Some("America/New_York".to_string()),
            ..feed(Pagination::None, 50)
        }),
        Some(clock.clone()),
    )
    .await;
    h.array_feed_flow(
        "tz",
        "[schedule]\nevery = \"5m\"\ntimezone = \"America/New_York\"",
    );
    let flow = h.load("tz").await;
    let new_york = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::America::New_York)
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string()
    };

    // The first run reads the last day.
    let first = h.scheduled(&flow).await;
    assert_eq!(first.execution.status, ExecutionStatus::Empty);
    assert_eq!(
        date_asked(&h).await,
        new_york(start - chrono::Duration::days(1))
    );

    // The next one reads from the first one's start, in New York time.
    clock.advance(chrono::Duration::minutes(5));
    let targets = h.targets(2).await;
    h.add_rows(&targets, "500").await;
    let second = h.scheduled(&flow).await;
    assert_eq!(date_asked(&h).await, new_york(start));
    assert!(!date_asked(&h).await.ends_with('Z'));
    assert_eq!(
        second.execution.counts.outcome("updated"),
        2,
        "{:?}",
        second.execution
    );
    clock.advance(chrono::Duration::minutes(5));
    h.scheduled(&flow).await;
    assert_eq!(
        date_asked(&h).await,
        new_york(start + chrono::Duration::minutes(5))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_row_succeeds_or_fails_alone_with_omnitrons_own_words() {
    let h = StatusHarness::start(
        160,
        ErpConfig::default().status_feed(feed(Pagination::Offset, 50)),
    )
    .await;
    let targets = h.targets(5).await;
    let state = h.omnitron.state().await;
    let shipped = state
        .orders
        .iter()
        .find(|o| {
            o.cancel_status.is_none()
                && !o.items.is_empty()
                && o.items.iter().all(|i| i.status == "500")
        })
        .unwrap();
    let mut rows = vec![row(&targets[0], "500"), row(&targets[1], "500")];
    // An unknown item.
    let mut unknown = row(&targets[2], "500");
    unknown.orderitems = vec![json!({"id": 99_999_999, "status": "500"})];
    rows.push(unknown);
    // An illegal transition: back from 500 to 450.
    rows.push(omnibridge_sim::erp::state::StatusRow {
        id: 0,
        order: Value::from(shipped.number.clone()),
        orderitems: vec![json!({"id": shipped.items[0].pk, "status": "450"})],
        modified_date: None,
    });
    // No order number; an item without id.
    let mut no_order = row(&targets[3], "500");
    no_order.order = Value::Null;
    rows.push(no_order);
    let mut no_id = row(&targets[4], "500");
    no_id.orderitems = vec![json!({"status": "500"})];
    rows.push(no_id);
    h.erp.add_status_rows(rows).await;
    h.feed_flow("rows", "[read.pagination]\ntype = \"offset\"", "");
    let flow = h.load("rows").await;
    let summary = h.scheduled(&flow).await;
    let execution = &summary.execution;
    assert_eq!(execution.status, ExecutionStatus::Partial);
    assert_eq!((execution.counts.read, execution.counts.failed), (6, 4));
    let logs = h.rows(&execution.id).await;
    for target in &targets[..2] {
        assert_eq!(logs[&target.number][0].status, RowStatus::Success);
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    let error = |key: &str| logs[key][0].error.clone().unwrap_or_default();
    assert!(
        error(&targets[2].number).contains("Invalid pk \\\"99999999\\\" - object does not exist."),
        "{}",
        error(&targets[2].number)
    );
    assert!(
        error(&shipped.number).contains("Order item status can not be changed from 500 to 450."),
        "{}",
        error(&shipped.number)
    );
    assert_eq!(logs[&shipped.number][0].step.as_str(), "write_omnitron");
    assert!(
        error("page 1 row 5").contains("the row has no `order`"),
        "{logs:?}"
    );
    assert_eq!(logs["page 1 row 5"][0].step.as_str(), "check");
    assert!(
        error(&targets[4].number).contains("orderitem_set[0] has no `id`"),
        "{}",
        error(&targets[4].number)
    );
    assert_eq!(h.item_statuses(&shipped.number).await[0], "500");
    assert!(
        h.item_statuses(&targets[3].number)
            .await
            .iter()
            .all(|s| s != "500")
    );
    // The response Omnitron gave is kept with the row log.
    let response = logs[&shipped.number][0].response.as_ref().unwrap();
    assert!(response.text.contains("can not be changed"), "{response:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_that_does_not_give_a_list_fails_the_execution_and_says_what_it_gave() {
    let h = StatusHarness::start(
        60,
        ErpConfig::default().status_feed(feed(Pagination::Offset, 50)),
    )
    .await;
    let targets = h.targets(2).await;
    h.add_rows(&targets, "500").await;
    h.feed_flow("object", "[read.pagination]\ntype = \"offset\"", "");
    std::fs::write(
        h.flow_dir("object").join("mapping.json"),
        r#"[{"operation": "shift", "spec": {"total": "count"}}]"#,
    )
    .unwrap();
    let flow = h.load("object").await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Failed);
    let error = summary.execution.error.unwrap();
    assert!(
        error.contains("page 1")
            && error.contains("must give a list")
            && error.contains("an object"),
        "{error}"
    );
    assert!(h.patches().await.is_empty());
}

/// The `modified_date__gt` of the feed's last request.
async fn date_asked(h: &StatusHarness) -> String {
    let entry = h.feed_requests().await.last().unwrap().clone();
    query_param(&entry, "modified_date__gt").unwrap()
}

async fn push_flow(h: &StatusHarness) -> omnibridge_engine::flows::order_status::OrderStatusFlow {
    h.load("order-status-push").await
}

fn outbound() -> Trigger {
    Trigger::Outbound {
        caller: Some("test ERP".to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_rows_are_applied_and_a_bad_row_fails_alone() {
    let h = StatusHarness::start(120, ErpConfig::default()).await;
    let flow = push_flow(&h).await;
    let targets = h.targets(4).await;
    let mut rows: Vec<Value> = targets[..3]
        .iter()
        .map(|t| {
            json!({"order": t.number, "orderitem_set": t.items.iter()
                .map(|pk| json!({"id": pk, "status": 500, "tracking_number": "T1", "junk": "dropped"}))
                .collect::<Vec<_>>()})
        })
        .collect();
    rows.push(json!({"orderitem_set": [{"id": targets[3].items[0], "status": 500}]}));
    rows.push(json!({"order": targets[3].number, "orderitem_set": [{"status": 500}]}));
    let body = serde_json::to_vec(&rows).unwrap();
    let summary = push(
        &h.engine,
        &flow,
        &body,
        outbound(),
        &omnibridge_engine::execution::NoProgress,
    )
    .await
    .unwrap();
    let execution = &summary.execution;
    assert_eq!(execution.trigger.kind(), "outbound");
    assert_eq!((execution.counts.read, execution.counts.failed), (5, 2));
    assert_eq!(execution.counts.outcome("updated"), 3);
    for target in &targets[..3] {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
        assert_eq!(
            h.item_field(target.items[0], "tracking_number").await,
            Some(json!("T1"))
        );
    }
    assert!(
        h.item_statuses(&targets[3].number)
            .await
            .iter()
            .all(|s| s != "500")
    );
    let logs = h.rows(&execution.id).await;
    assert!(
        logs["row 4"][0]
            .error
            .as_deref()
            .unwrap()
            .contains("no `order`")
    );
    assert!(
        logs[&targets[3].number][0]
            .error
            .as_deref()
            .unwrap()
            .contains("orderitem_set[0] has no `id`")
    );
    // The per-row script kept only Omnitron's fields and logged what it wrote.
    let patched = &h.patches().await[0];
    assert!(
        patched["orderitem_set"][0].get("junk").is_none(),
        "{patched}"
    );
    assert!(
        logs[&targets[0].number][0]
            .attributes
            .contains_key("log.items")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pushes_are_refused_as_a_whole_before_anything_runs() {
    let h = StatusHarness::start(40, ErpConfig::default()).await;
    let flow = push_flow(&h).await;
    for (body, needle) in [
        (&b"{\"order\": 1"[..], "not JSON"),
        (
            &b"{\"order\": \"1\", \"orderitem_set\": []}"[..],
            "must be a JSON array of rows",
        ),
        (
            &b"[{\"order\": \"1\", \"orderitem_set\": [{\"id\": 1}]}, \"x\"]"[..],
            "row 2 is a string",
        ),
    ] {
        let err = push(
            &h.engine,
            &flow,
            body,
            outbound(),
            &omnibridge_engine::execution::NoProgress,
        )
        .await
        .unwrap_err();
        let PushError::Refused(message) = err else {
            panic!("refused, not {err:?}");
        };
        assert!(message.contains(needle), "{message}");
    }
    let executions = h
        .store
        .list_executions(&ExecutionQuery::default())
        .await
        .unwrap();
    assert_eq!(executions.total, 0, "nothing ran");
    assert!(h.patches().await.is_empty());
    // An inbound flow takes no pushes, and an outbound one cannot be run.
    let inbound = h.load("order-status-flow").await;
    let err = push(
        &h.engine,
        &inbound,
        b"[]",
        outbound(),
        &omnibridge_engine::execution::NoProgress,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("is inbound"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_outbound_row_is_replayed_from_its_stored_payload() {
    let h = StatusHarness::start(120, ErpConfig::default()).await;
    let flow = push_flow(&h).await;
    let targets = h.targets(3).await;
    h.omnitron
        .add_fault(
            FaultRule::new(FaultAction::Status {
                status: 503,
                body: None,
                html: Some("<html>Service Unavailable</html>".to_string()),
                headers: Default::default(),
            })
            .method("PATCH")
            .path("bulk_status_update")
            .object_id(targets[1].number.clone()),
        )
        .await
        .unwrap();
    let rows: Vec<Value> = targets
        .iter()
        .map(|t| json!({"order": t.number, "orderitem_set": t.items.iter().map(|pk| json!({"id": pk, "status": 500})).collect::<Vec<_>>()}))
        .collect();
    let first = push(
        &h.engine,
        &flow,
        &serde_json::to_vec(&rows).unwrap(),
        outbound(),
        &omnibridge_engine::execution::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(first.execution.counts.failed, 1);
    let logs = h.rows(&first.execution.id).await;
    assert!(
        logs[&targets[1].number][0]
            .error
            .as_deref()
            .unwrap()
            .contains("HTTP 503")
    );
    assert!(
        h.item_statuses(&targets[1].number)
            .await
            .iter()
            .all(|s| s != "500")
    );

    // Omnitron is back; the ERP does not push again: the row comes from its row log.
    h.omnitron.clear_faults().await;
    let stored = stored_rows(h.store.as_ref(), &flow, Some(&first.execution.id), None)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let replay = h.run(&flow, StatusInput::Stored(stored)).await;
    assert_eq!(
        replay.execution.status,
        ExecutionStatus::Success,
        "{:?}",
        replay.execution
    );
    assert_eq!(replay.execution.counts.outcome("updated"), 1);
    assert!(
        h.item_statuses(&targets[1].number)
            .await
            .iter()
            .all(|s| s == "500")
    );
    assert_eq!(
        h.patches().await.len(),
        4,
        "three rows, and the one replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_script_that_fails_stops_the_read_and_names_the_page() {
    let (h, _, targets) = feed_setup(
        feed(Pagination::Offset, 3),
        7,
        "scripted",
        "[read.pagination]\ntype = \"offset\"\npage_size = 3",
    )
    .await;
    // The Script refuses the second page it is given.
    let script = r#"
import json
from org.apache.commons.io import IOUtils
from java.nio.charset import StandardCharsets
ff = session.get()
page = json.loads(IOUtils.toString(session.read(ff), StandardCharsets.UTF_8))
offset = [r["id"] for r in page["results"]]
if offset and min(offset) > 3:
    ff = session.putAttribute(ff, "log.script.error", "ValueError: the ERP sent a page I cannot read")
    session.transfer(ff, REL_FAILURE)
else:
    session.transfer(ff, REL_SUCCESS)
"#;
    std::fs::write(h.flow_dir("scripted").join("page.py"), script).unwrap();
    let toml_path = h.flow_dir("scripted").join("flow.toml");
    let toml = std::fs::read_to_string(&toml_path).unwrap();
    std::fs::write(
        &toml_path,
        format!("{toml}\n[script]\nfile = \"page.py\"\n"),
    )
    .unwrap();
    let flow = h.load("scripted").await;
    let summary = h.scheduled(&flow).await;
    assert_eq!(summary.execution.status, ExecutionStatus::Failed);
    let error = summary.execution.error.unwrap();
    assert!(
        error.contains("page 2")
            && error.contains("the Script (page.py)")
            && error.contains("the ERP sent a page I cannot read"),
        "{error}"
    );
    assert_eq!(
        summary.execution.counts.outcome("updated"),
        3,
        "page 1 went through"
    );
    for target in &targets[..3] {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s == "500")
        );
    }
    for target in &targets[3..] {
        assert!(
            h.item_statuses(&target.number)
                .await
                .iter()
                .all(|s| s != "500")
        );
    }
}
