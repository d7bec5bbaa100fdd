//! The ERP simulator: a customer's ERP, scriptable per order number / plan id so every branch
//! of the three flows can be driven deterministically (domain.md §8).
//!
//! Routes are dispatched by hand rather than by a static route table because the query path is
//! configurable and `token_in_url` puts the token in front of every path (`/(S(<token>))/...`).

mod auth;
mod cancellations;
mod control;
mod create;
pub mod push;
mod query;
pub mod scenario;
pub mod state;
mod status_feed;
mod xml;

pub use push::{Malformed, PushAuth, PushBatchResult, PushConfig};
pub use scenario::{
    AuthMode, CancelMode, CreateMode, EmptyShape, ErpAuth, PageFault, Pagination, QueryMode,
    Scenario, StatusFeed,
};
pub use state::{ErpCancellation, ErpOrder, ErpState, StatusRow};

use crate::clock::{ClockChange, ClockView};
use crate::faults::{FaultError, FaultRule};
use crate::journal::{JournalEntry, JournalQuery};
use crate::server::{Common, Flavor, Running, SimError, json_response, reset_response, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// How to start an ERP simulator (builder-style).
#[derive(Debug, Clone)]
pub struct ErpConfig {
    /// Listen address; port 0 lets the OS choose.
    pub listen: String,
    /// Seed for tokens and probabilistic faults.
    pub seed: u64,
    /// Initial behaviour.
    pub scenario: Scenario,
}

impl Default for ErpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            seed: 7,
            scenario: Scenario::default(),
        }
    }
}

impl ErpConfig {
    /// Listen address.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }
    /// Seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Auth mode (other auth settings keep their defaults).
    pub fn auth_mode(mut self, mode: AuthMode) -> Self {
        self.scenario.auth.mode = mode;
        self
    }
    /// Whole auth config.
    pub fn auth(mut self, auth: ErpAuth) -> Self {
        self.scenario.auth = auth;
        self
    }
    /// Default query mode.
    pub fn query_default(mut self, mode: QueryMode) -> Self {
        self.scenario.query_default = mode;
        self
    }
    /// Query mode of one order number.
    pub fn query_mode(mut self, number: impl Into<String>, mode: QueryMode) -> Self {
        self.scenario.query_by_number.insert(number.into(), mode);
        self
    }
    /// Default create mode.
    pub fn create_default(mut self, mode: CreateMode) -> Self {
        self.scenario.create_default = mode;
        self
    }
    /// Create mode of one order number.
    pub fn create_mode(mut self, number: impl Into<String>, mode: CreateMode) -> Self {
        self.scenario.create_by_number.insert(number.into(), mode);
        self
    }
    /// Cancellation mode of one plan.
    pub fn cancellation_mode(mut self, plan_id: impl ToString, mode: CancelMode) -> Self {
        self.scenario
            .cancellation_by_plan
            .insert(plan_id.to_string(), mode);
        self
    }
    /// Status feed settings.
    pub fn status_feed(mut self, feed: StatusFeed) -> Self {
        self.scenario.status_feed = feed;
        self
    }
    /// Whole scenario.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = scenario;
        self
    }
}

pub(crate) struct ErpApp {
    pub common: Common,
    pub config: ErpConfig,
    pub scenario: Mutex<Scenario>,
    pub store: Mutex<state::ErpStore>,
    pub tokens: Mutex<auth::ErpTokens>,
    pub seed: Mutex<u64>,
}

impl Flavor for ErpApp {
    fn common(&self) -> &Common {
        &self.common
    }
    fn seed(&self) -> u64 {
        *crate::lock(&self.seed)
    }
    fn normalize_path(&self, path: &str) -> String {
        let p = if path == "/__erp/orders" {
            "/__sim/state".to_string()
        } else if let Some(rest) = path.strip_prefix("/__erp/") {
            format!("/__sim/{rest}")
        } else {
            path.to_string()
        };
        if p.len() > 1 && p.ends_with('/') {
            p.trim_end_matches('/').to_string()
        } else {
            p
        }
    }
    fn authorize(&self, _: &str, _: &str, _: &HeaderMap) -> Option<Response> {
        None
    }
    fn invalidate_token(&self, headers: &HeaderMap) {
        auth::invalidate(self, headers, None);
        // token_in_url tokens are in the path; the fault cannot see it here, so revoke all.
        if crate::lock(&self.scenario).auth.mode == AuthMode::TokenInUrl {
            crate::lock(&self.tokens).tokens.clear();
        }
    }
    fn error_body(&self, status: u16, method: &str) -> Value {
        match status {
            404 => json!({"success": false, "error": "not found"}),
            405 => json!({"success": false, "error": format!("method {method} not allowed")}),
            s => json!({"success": false, "error": format!("error {s}")}),
        }
    }
}

/// Split `/(S(<token>))/rest` into the token and `/rest`.
fn split_token(path: &str) -> (Option<String>, String) {
    if let Some(rest) = path.strip_prefix("/(S(")
        && let Some(end) = rest.find("))")
    {
        let token = rest[..end].to_string();
        let tail = &rest[end + 2..];
        return (
            Some(token),
            if tail.is_empty() {
                "/".into()
            } else {
                tail.to_string()
            },
        );
    }
    (None, path.to_string())
}

fn method_not_allowed(method: &Method, allow: &str) -> Response {
    let mut r = json_response(
        405,
        &json!({"success": false, "error": format!("method {method} not allowed")}),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

async fn dispatch(
    State(app): State<Arc<ErpApp>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (token, path) = split_token(uri.path());
    let path = if path.len() > 1 {
        path.trim_end_matches('/').to_string()
    } else {
        path
    };
    let raw_query = uri.query().unwrap_or("").to_string();
    let body_json = crate::journal::body_value(&body);
    let tok = token.as_deref();
    let query_path = crate::lock(&app.scenario).query_path.clone();
    match path.as_str() {
        "/auth/login" => {
            if method != Method::POST {
                return method_not_allowed(&method, "POST");
            }
            auth::login(&app, false, &headers, &body).await
        }
        "/oauth/token" => {
            if method != Method::POST {
                return method_not_allowed(&method, "POST");
            }
            auth::login(&app, true, &headers, &body).await
        }
        "/crm/notify" => {
            if method != Method::POST {
                return method_not_allowed(&method, "POST");
            }
            crate::lock(&app.store).notifications.push(body_json);
            json_response(200, &json!({"ok": true}))
        }
        p if p == query_path => {
            if method != Method::GET {
                return method_not_allowed(&method, "GET");
            }
            if let Err(r) = auth::check(&app, &headers, tok) {
                return *r;
            }
            let param = crate::lock(&app.scenario).query_param.clone();
            let number = url::form_urlencoded::parse(raw_query.as_bytes())
                .find(|(k, v)| *k == param && !v.is_empty())
                .map(|(_, v)| v.into_owned());
            let mode = query::mode_for(&app, number.as_deref());
            if mode == QueryMode::AuthExpired
                && let Some(n) = &number
                && crate::lock(&app.store).once.insert(format!("query:{n}"))
            {
                auth::invalidate(&app, &headers, tok);
                return json_response(401, &json!({"success": false, "error": "token expired"}));
            }
            query::handle(&app, number, mode)
                .await
                .unwrap_or_else(|()| reset_response())
        }
        "/orders" => {
            let allowed = crate::lock(&app.scenario).create_methods.clone();
            if !allowed
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method.as_str()))
            {
                return method_not_allowed(&method, &allowed.join(", "));
            }
            if let Err(r) = auth::check(&app, &headers, tok) {
                return *r;
            }
            if !body_json.is_object() {
                return json_response(
                    400,
                    &json!({"errors": [{"field": "body", "message": "expected a JSON object"}]}),
                );
            }
            let Some(number) = create::number_of(&body_json) else {
                return json_response(
                    400,
                    &json!({"errors": [{"field": "number", "message": "order number is required"}]}),
                );
            };
            let mode = {
                let s = crate::lock(&app.scenario);
                s.create_by_number
                    .get(&number)
                    .cloned()
                    .unwrap_or_else(|| s.create_default.clone())
            };
            if mode == CreateMode::AuthExpired
                && crate::lock(&app.store)
                    .once
                    .insert(format!("create:{number}"))
            {
                auth::invalidate(&app, &headers, tok);
                return json_response(401, &json!({"success": false, "error": "token expired"}));
            }
            create::handle(&app, &body_json, &number, mode)
                .await
                .unwrap_or_else(|()| reset_response())
        }
        "/orders/status" | "/service/run" => {
            if method != Method::GET && method != Method::POST {
                return method_not_allowed(&method, "GET, POST");
            }
            if let Err(r) = auth::check(&app, &headers, tok) {
                return *r;
            }
            let mut params = serde_json::Map::new();
            if path == "/service/run" {
                params = status_feed::service_run_params(&raw_query);
            } else {
                for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
                    params.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
            if method == Method::POST {
                match &body_json {
                    Value::Object(m) => params.extend(m.clone()),
                    Value::Null => {}
                    _ => {
                        return json_response(
                            400,
                            &json!({"success": false, "error": "body must be a JSON object of parameters"}),
                        );
                    }
                }
            }
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let p = status_feed::FeedParams {
                params,
                base: format!("http://{host}"),
                path: uri.path().to_string(),
                raw_query,
            };
            status_feed::handle(&app, p, tok, &headers).await
        }
        "/cancellations" => {
            let m = crate::lock(&app.scenario).cancellation_method.clone();
            if !m.eq_ignore_ascii_case(method.as_str()) {
                return method_not_allowed(&method, &m);
            }
            if let Err(r) = auth::check(&app, &headers, tok) {
                return *r;
            }
            let Some(plan) = cancellations::plan_id_of(&body_json, &raw_query) else {
                return json_response(
                    400,
                    &json!({"status": "ERROR", "message": "cancellation plan id is required (plan_id, cancellation_plan, pk or id)"}),
                );
            };
            let mode = {
                let s = crate::lock(&app.scenario);
                s.cancellation_by_plan
                    .get(&plan)
                    .cloned()
                    .unwrap_or_else(|| s.cancellation_default.clone())
            };
            cancellations::handle(&app, &plan, &body_json, mode).await
        }
        _ => json_response(
            404,
            &json!({"success": false, "error": format!("no route {path}")}),
        ),
    }
}

/// Entry point: `ErpSim::start(config).await`.
pub struct ErpSim;

impl ErpSim {
    /// Bind and serve in the background.
    pub async fn start(config: ErpConfig) -> Result<ErpHandle, SimError> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let app = Arc::new(ErpApp {
            common: Common::new(config.seed, stop_rx),
            scenario: Mutex::new(config.scenario.clone()),
            store: Mutex::new(state::ErpStore::default()),
            tokens: Mutex::new(auth::ErpTokens::default()),
            seed: Mutex::new(config.seed),
            config: config.clone(),
        });
        let routes = Router::new()
            .nest("/__sim", control::routes())
            .fallback(dispatch)
            .with_state(app.clone());
        let running = serve(&config.listen, app.clone(), routes, stop).await?;
        Ok(ErpHandle { app, running })
    }
}

/// A running ERP simulator. Stops when dropped or on [`ErpHandle::shutdown`].
pub struct ErpHandle {
    app: Arc<ErpApp>,
    running: Running,
}

impl ErpHandle {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr)
    }
    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr
    }
    /// The auth settings (user, password, client id/secret, static token, header).
    pub fn auth(&self) -> ErpAuth {
        crate::lock(&self.app.scenario).auth.clone()
    }
    /// Orders, cancellations, notifications, feed rows.
    pub async fn state(&self) -> ErpState {
        control::snapshot(&self.app)
    }
    /// Journal entries.
    pub async fn journal(&self, q: JournalQuery) -> Vec<JournalEntry> {
        self.app.common.journal.entries(&q)
    }
    /// Forget the journal.
    pub async fn clear_journal(&self) {
        self.app.common.journal.clear();
    }
    /// The current scenario.
    pub async fn scenario(&self) -> Scenario {
        crate::lock(&self.app.scenario).clone()
    }
    /// Replace the scenario.
    pub async fn set_scenario(&self, scenario: Scenario) {
        *crate::lock(&self.app.scenario) = scenario;
    }
    /// Change the scenario in place.
    pub async fn update_scenario(&self, f: impl FnOnce(&mut Scenario)) {
        f(&mut crate::lock(&self.app.scenario));
    }
    /// Query mode of one order number.
    pub async fn set_order_query_mode(&self, number: impl Into<String>, mode: QueryMode) {
        crate::lock(&self.app.scenario)
            .query_by_number
            .insert(number.into(), mode);
    }
    /// Default query mode.
    pub async fn set_default_query_mode(&self, mode: QueryMode) {
        crate::lock(&self.app.scenario).query_default = mode;
    }
    /// Create mode of one order number.
    pub async fn set_order_create_mode(&self, number: impl Into<String>, mode: CreateMode) {
        crate::lock(&self.app.scenario)
            .create_by_number
            .insert(number.into(), mode);
    }
    /// Default create mode.
    pub async fn set_default_create_mode(&self, mode: CreateMode) {
        crate::lock(&self.app.scenario).create_default = mode;
    }
    /// Cancellation mode of one plan.
    pub async fn set_cancellation_mode(&self, plan_id: impl ToString, mode: CancelMode) {
        crate::lock(&self.app.scenario)
            .cancellation_by_plan
            .insert(plan_id.to_string(), mode);
    }
    /// Auth settings.
    pub async fn set_auth(&self, auth: ErpAuth) {
        crate::lock(&self.app.scenario).auth = auth;
    }
    /// Status feed settings.
    pub async fn set_status_feed(&self, feed: StatusFeed) {
        crate::lock(&self.app.scenario).status_feed = feed;
    }
    /// Append rows to the status feed; returns their ids.
    pub async fn add_status_rows(&self, rows: Vec<StatusRow>) -> Vec<u64> {
        let now = self.app.common.clock.now();
        let mut store = crate::lock(&self.app.store);
        rows.into_iter().map(|r| store.add_row(r, now)).collect()
    }
    /// Revoke every ERP token.
    pub async fn revoke_all_tokens(&self) {
        crate::lock(&self.app.tokens).tokens.clear();
    }
    /// Add a fault rule.
    pub async fn add_fault(&self, rule: FaultRule) -> Result<u64, FaultError> {
        self.app.common.faults.add(rule)
    }
    /// Rules with counters.
    pub async fn faults(&self) -> Vec<FaultRule> {
        self.app.common.faults.list()
    }
    /// Remove all rules.
    pub async fn clear_faults(&self) {
        self.app.common.faults.clear(*crate::lock(&self.app.seed));
    }
    /// Change the clock.
    pub async fn clock(&self, change: ClockChange) -> ClockView {
        self.app.common.clock.apply(&change)
    }
    /// Run the outbound push driver (`rows: None` pushes the feed's rows).
    pub async fn push(&self, cfg: PushConfig) -> Vec<PushBatchResult> {
        control::run_push(&self.app, cfg).await
    }
    /// Empty the ERP, restore the start scenario, clear journal, faults, tokens and clock.
    pub async fn reset(&self) {
        control::reset(&self.app);
    }
    /// Stop serving and wait for the server task.
    pub async fn shutdown(mut self) {
        self.running.stop().await;
    }
}
