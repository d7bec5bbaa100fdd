//! The service's API over real HTTP, against the simulators and the example flows: listing,
//! triggers, the outbound endpoint, the logs, the OpenAPI document, and bad input of each kind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use omnibridge_engine::config::load::LoadOptions;
use omnibridge_engine::execution::Engine;
use omnibridge_script::{PoolConfig, ScriptPool};
use omnibridge_server::{bind, load_flow_dir_with};
use omnibridge_sim::{ErpConfig, ErpSim, OmnitronConfig, OmnitronHandle, OmnitronSim};
use serde_json::{Value, json};

const TOKEN: &str = "test-token-0123456789";
const FLOWS: [&str; 4] = [
    "order-flow",
    "order-status-flow",
    "order-status-push",
    "order-cancel-flow",
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// An engine on `store` with two script workers.
async fn engine_on(store: std::sync::Arc<dyn omnibridge_store::Store>) -> Engine {
    let scripts = ScriptPool::start(PoolConfig {
        workers: 2,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    Engine::new(store, scripts)
}

struct Service {
    base: String,
    client: reqwest::Client,
    omnitron: OmnitronHandle,
    _erp: omnibridge_sim::ErpHandle,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Service {
    async fn start(token: Option<&str>) -> Service {
        Service::start_with(token, |_| {}).await
    }

    /// Starts with the flow directories edited by `edit` first (given the flows directory).
    async fn start_with(token: Option<&str>, edit: impl FnOnce(&Path)) -> Service {
        let omnitron = OmnitronSim::start(OmnitronConfig::default().orders(20).seed(3))
            .await
            .unwrap();
        let erp = ErpSim::start(ErpConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in FLOWS {
            let to = dir.path().join(name);
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(examples().join(name)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(
            examples().join("logins.toml"),
            dir.path().join("logins.toml"),
        )
        .unwrap();
        edit(dir.path());
        let store = omnibridge_store::open(
            &format!("sqlite://{}", dir.path().join("store.db").display()),
            omnibridge_store::StoreOptions::default(),
        )
        .await
        .unwrap();
        let engine = engine_on(store).await;
        let mut env = BTreeMap::new();
        env.insert(
            "OMNITRON_URL".to_string(),
            format!("{}/", omnitron.base_url()),
        );
        env.insert("ERP_URL".to_string(), erp.base_url());
        let flows = load_flow_dir_with(&engine, dir.path(), || {
            let env = env.clone();
            LoadOptions {
                logins: None,
                env: Box::new(move |name| env.get(name).cloned()),
            }
        })
        .await
        .unwrap();
        let bound = bind(
            engine,
            flows,
            "127.0.0.1:0".parse().unwrap(),
            token.map(str::to_string),
        )
        .await
        .unwrap();
        let base = format!("http://{}", bound.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Service {
            base,
            client: reqwest::Client::new(),
            omnitron,
            _erp: erp,
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
    }
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_are_listed_and_an_order_flow_is_triggered_and_logged() {
    let s = Service::start(Some(TOKEN)).await;
    let (status, flows) = json_of(s.get("/api/v1/flows").send().await.unwrap()).await;
    assert_eq!(status, 200, "{flows}");
    let ids: Vec<&str> = flows
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{flows}");
    let push = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outbound"] == true)
        .unwrap();
    assert_eq!(push["kind"], "order_status");

    let sent_before = s
        .omnitron
        .state()
        .await
        .orders
        .iter()
        .filter(|o| o.is_send)
        .count() as u64;
    // Triggered and answered when done.
    let (status, answer) = json_of(
        s.post("/api/v1/flows/order-to-erp/trigger?wait=true")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["execution"]["status"], "success", "{answer}");
    let sent = answer["execution"]["counts"]["read"].as_u64().unwrap();
    assert!(sent > 0, "{answer}");
    let sent_after = s
        .omnitron
        .state()
        .await
        .orders
        .iter()
        .filter(|o| o.is_send)
        .count() as u64;
    assert_eq!(
        sent_after - sent_before,
        sent,
        "every order read was marked sent"
    );

    let id = answer["execution_id"].as_str().unwrap();
    let (status, execution) = json_of(
        s.get(&format!("/api/v1/executions/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(execution["trigger"]["kind"], "manual", "{execution}");
    let (status, rows) = json_of(
        s.get(&format!(
            "/api/v1/executions/{id}/rows?status=success&limit=2"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["total"].as_u64(), Some(sent));
    assert_eq!(rows["items"].as_array().unwrap().len(), 2);
    let (_, listed) = json_of(
        s.get("/api/v1/executions?flow=order-to-erp&status=success")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["total"], 1, "{listed}");

    // Without waiting: 202 and the id at once; the execution is then found.
    let (status, answer) = json_of(
        s.post("/api/v1/flows/order-to-erp/trigger")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer["execution_id"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_rows_are_applied_and_a_bad_payload_is_refused_whole() {
    let s = Service::start(Some(TOKEN)).await;
    let (status, flows) = json_of(s.get("/api/v1/flows").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let push_id = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outbound"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = s.omnitron.state().await;
    let order = state
        .orders
        .iter()
        .find(|o| o.items.iter().all(|i| i.status == "400"))
        .or_else(|| state.orders.first())
        .unwrap();
    let rows = json!([{"order": order.number, "orderitem_set": [{"id": order.items[0].pk, "status": 500}]}]);
    let (status, answer) = json_of(
        s.post(&format!("/api/v1/flows/{push_id}/outbound?wait=true"))
            .json(&rows)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["execution"]["counts"]["read"], 1, "{answer}");
    assert_eq!(answer["rows"].as_array().unwrap().len(), 1, "{answer}");

    for (body, problem) in [
        ("{not json", "JSON"),
        ("{\"a\": 1}", "array"),
        ("[1, 2]", "object"),
    ] {
        let (status, error) = json_of(
            s.post(&format!("/api/v1/flows/{push_id}/outbound"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["code"], "bad_request");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(problem), "{body}: {message}");
    }
    // An inbound flow has no outbound endpoint.
    let (status, _) = json_of(
        s.post("/api/v1/flows/order-to-erp/outbound")
            .json(&json!([]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_naming_the_problem() {
    let s = Service::start(Some(TOKEN)).await;
    // No token, a wrong token; health needs none.
    let status_of = |path: &str, token: Option<&str>| {
        let mut request = s.client.get(format!("{}{path}", s.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_of("/api/v1/flows", None).await, 401);
    assert_eq!(
        status_of("/api/v1/flows", Some("wrong-token-0123456789")).await,
        401
    );
    assert_eq!(status_of("/healthz", None).await, 200);
    assert_eq!(status_of("/readyz", None).await, 200);

    // Unknown flow, unknown execution.
    let (status, error) = json_of(
        s.post("/api/v1/flows/nope/trigger")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("nope"));
    let (status, _) = json_of(s.get("/api/v1/executions/nope").send().await.unwrap()).await;
    assert_eq!(status, 404);

    // Wrong types, unknown fields, a parameter the flow does not declare.
    let flows = json_of(s.get("/api/v1/flows").send().await.unwrap())
        .await
        .1;
    let inbound = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "order_status" && f["outbound"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (body, needle) in [
        (json!({"params": {"number": 5}}), "params.number"),
        (json!({"parameters": {}}), "parameters"),
        (json!({"params": {"colour": "red"}}), "colour"),
    ] {
        let (status, error) = json_of(
            s.post(&format!("/api/v1/flows/{inbound}/trigger"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
    // Parameters to a flow that takes none.
    let (status, error) = json_of(
        s.post("/api/v1/flows/order-to-erp/trigger")
            .json(&json!({"params": {"number": "1"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "params");
    // Bad query values.
    for query in [
        "limit=0",
        "limit=5000",
        "status=great",
        "state=asleep",
        "colour=red",
    ] {
        let (status, error) = json_of(
            s.get(&format!("/api/v1/executions?{query}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{query}: {error}");
    }
    // An oversized body is refused (413) once the limit is passed, without reading the rest.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = s.base.trim_start_matches("http://").to_string();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    let size = 20_000_000usize;
    let head = format!(
        "POST /api/v1/flows/{inbound}/trigger HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {size}\r\n\r\n"
    );
    tokio::spawn(async move {
        let chunk = vec![b' '; 1 << 20];
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..size / chunk.len() {
            // The server stops reading after the limit and may close: that is the point.
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), reader.read(&mut answer))
        .await
        .expect("an answer to the oversized body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_operation() {
    let s = Service::start(Some(TOKEN)).await;
    let (status, doc) = json_of(
        s.client
            .get(format!("{}/api/openapi.json", s.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/flows",
        "/api/v1/flows/{flow}/trigger",
        "/api/v1/flows/{flow}/outbound",
        "/api/v1/executions",
        "/api/v1/executions/{id}",
        "/api/v1/executions/{id}/rows",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["api_token"].is_object());
}

#[tokio::test]
async fn without_a_token_the_service_listens_on_loopback_only() {
    let store = omnibridge_store::open("sqlite::memory:", Default::default())
        .await
        .unwrap();
    let engine = engine_on(store).await;
    let refused = bind(
        engine.clone(),
        Default::default(),
        "0.0.0.0:0".parse().unwrap(),
        None,
    )
    .await;
    let error = refused.err().unwrap().to_string();
    assert!(error.contains("without an API token"), "{error}");
    assert!(
        bind(
            engine,
            Default::default(),
            "127.0.0.1:0".parse().unwrap(),
            None
        )
        .await
        .is_ok()
    );
}

fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(path).unwrap().parse().unwrap();
    edit(&mut doc);
    std::fs::write(path, doc.to_string()).unwrap();
}

/// Waits (at most 60 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn scheduled_runs(s: &Service, flow: &str) -> usize {
    let (_, page) = json_of(
        s.get(&format!("/api/v1/executions?flow={flow}&limit=1000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["trigger"]["kind"] == "scheduled")
        .count()
}

/// Flows fire on their schedules by themselves: an interval flow runs and sends orders, a
/// flow scheduled `after` it runs when it succeeds, pause stops the firing and resume starts it
/// again; the listing shows the next fire time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_fire_on_their_schedules_chain_pause_and_resume() {
    let s = Service::start_with(Some(TOKEN), |dir| {
        edit_toml(&dir.join("order-flow/flow.toml"), |doc| {
            doc["schedule"]["every"] = toml_edit::value("1s");
        });
        edit_toml(&dir.join("order-status-flow/flow.toml"), |doc| {
            let schedule = doc["schedule"].as_table_mut().unwrap();
            schedule.remove("every");
            schedule.insert("after", toml_edit::value("order-to-erp"));
        });
    })
    .await;
    let (_, flows) = json_of(s.get("/api/v1/flows").send().await.unwrap()).await;
    let status_flow = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["after"] == "order-to-erp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let order_flow = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "order-to-erp")
        .unwrap();
    assert!(
        order_flow["schedule"]["next_fire"].is_string(),
        "{order_flow}"
    );

    eventually("the interval flow ran by itself", || async {
        scheduled_runs(&s, "order-to-erp").await >= 1
    })
    .await;
    eventually("its orders reached the ERP", || async {
        !s._erp.state().await.orders.is_empty()
    })
    .await;
    eventually("the flow scheduled after it ran", || async {
        scheduled_runs(&s, &status_flow).await >= 1
    })
    .await;

    let response = s
        .post("/api/v1/flows/order-to-erp/pause")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    eventually("the paused flow's last run ended", || async {
        let (_, flows) = json_of(s.get("/api/v1/flows").send().await.unwrap()).await;
        let flow = flows
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "order-to-erp")
            .cloned()
            .unwrap();
        flow["schedule"]["running"] == false && flow["schedule"]["paused"] == true
    })
    .await;
    let paused_at = scheduled_runs(&s, "order-to-erp").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        scheduled_runs(&s, "order-to-erp").await,
        paused_at,
        "a paused flow does not fire"
    );
    let response = s
        .post("/api/v1/flows/order-to-erp/resume")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    eventually("the resumed flow fires again", || async {
        scheduled_runs(&s, "order-to-erp").await > paused_at
    })
    .await;
    let response = s.post("/api/v1/flows/nope/pause").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // Prometheus metrics of what ran.
    let metrics = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "omnibridge_executions_total{flow=\"order-to-erp\",status=\"success\"}",
        "omnibridge_records_total{flow=\"order-to-erp\",status=\"succeeded\"}",
        "omnibridge_execution_duration_seconds_count{flow=\"order-to-erp\"}",
        "omnibridge_schedule_next_fire_timestamp_seconds{flow=\"order-to-erp\"}",
        "omnibridge_executions_running{flow=\"order-to-erp\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} in:\n{metrics}");
    }
}

/// A running execution is cancelled over the API (records in flight finish, it ends
/// interrupted); one record's trace across executions; the in-doubt list and its resolve
/// operation refuse what is not theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_cancelled_records_traced_and_doubts_resolved() {
    let s = Service::start(Some(TOKEN)).await;
    s._erp
        .add_fault(
            omnibridge_sim::FaultRule::new(omnibridge_sim::FaultAction::Latency { ms: 300 })
                .method("POST")
                .path("orders"),
        )
        .await
        .unwrap();
    let (status, answer) = json_of(
        s.post("/api/v1/flows/order-to-erp/trigger")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["execution_id"].as_str().unwrap().to_string();
    let response = s
        .post(&format!("/api/v1/executions/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    eventually("the cancelled execution ended interrupted", || async {
        let (_, execution) = json_of(
            s.get(&format!("/api/v1/executions/{id}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        execution["state"] == "interrupted"
    })
    .await;
    let response = s
        .post(&format!("/api/v1/executions/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409, "it is no longer running");
    let response = s
        .post("/api/v1/executions/nope/cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    // Nothing half-written: every order the ERP got is marked sent.
    let erp = s._erp.state().await;
    let omnitron = s.omnitron.state().await;
    for order in &erp.orders {
        assert!(
            omnitron.order(&order.number).unwrap().is_send,
            "{}",
            order.number
        );
    }

    // The rest is sent by a later run; the first order's trace spans both executions.
    s._erp.clear_faults().await;
    let (status, _) = json_of(
        s.post("/api/v1/flows/order-to-erp/trigger?wait=true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let number = s._erp.state().await.orders[0].number.clone();
    let (status, trace) = json_of(
        s.get(&format!("/api/v1/flows/order-to-erp/records/{number}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{trace}");
    assert!(trace["total"].as_u64().unwrap() >= 1, "{trace}");
    assert_eq!(trace["items"][0]["record_key"], number.as_str());

    let (status, doubts) = json_of(
        s.get("/api/v1/flows/order-to-erp/in-doubt")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doubts, json!([]));
    let (status, error) = json_of(
        s.post("/api/v1/flows/order-to-erp/records/no-such-order/resolve")
            .json(&json!({"action": "resend"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "nothing to resolve: {error}");
    let (status, error) = json_of(
        s.post(&format!(
            "/api/v1/flows/order-to-erp/records/{number}/resolve"
        ))
        .json(&json!({"action": "shrug"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "action");
}
