//! The Omnitron simulator: DRF-style REST API under `/api/v1/` and `/api/i1/`, token auth,
//! page and seek pagination, the filters and endpoints the three flows use, and state
//! transitions with Omnitron's error shapes (domain.md §7).

pub(crate) mod auth;
mod cancellation;
mod control;
pub mod customer;
mod discounts;
pub(crate) mod errors;
pub(crate) mod filters;
mod items;
pub(crate) mod model;
mod orders;
pub(crate) mod pagination;
pub mod state;
mod transactions;

pub use auth::{AuthPolicy, LoginOverride};
pub use model::Mapping;
pub use state::OmnitronState;

use crate::clock::{ClockChange, ClockView};
use crate::data::generator::generate;
use crate::faults::{FaultError, FaultRule};
use crate::journal::{JournalEntry, JournalQuery};
use crate::server::{Common, Flavor, OriginalPath, PageShift, Running, SimError, serve};
use auth::TokenStore;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, patch, post};
use errors::ApiError;
use filters::Query;
use model::Db;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// How to start an Omnitron simulator. Builder-style:
/// `OmnitronConfig::default().orders(50).seed(7)`.
#[derive(Debug, Clone)]
pub struct OmnitronConfig {
    /// Address to listen on; port 0 lets the OS choose (tests run in parallel).
    pub listen: String,
    /// Login user name.
    pub username: String,
    /// Login password.
    pub password: String,
    /// Seed for data, tokens and probabilistic faults.
    pub seed: u64,
    /// Number of generated orders.
    pub orders: usize,
    /// Freeze the clock at this instant from the start (data is generated relative to it).
    pub frozen_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `bulk_status_update` applies valid rows even when others fail ([INFERRED] switch;
    /// default all-or-nothing).
    pub bulk_partial: bool,
}

impl Default for OmnitronConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            username: "integrator".into(),
            password: "integrator-pass".into(),
            seed: 7,
            orders: 50,
            frozen_at: None,
            bulk_partial: false,
        }
    }
}

impl OmnitronConfig {
    /// Listen address.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }
    /// Credentials.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }
    /// Data seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Number of generated orders (0 for an empty Omnitron to fill with fixtures).
    pub fn orders(mut self, n: usize) -> Self {
        self.orders = n;
        self
    }
    /// Start with the clock frozen at `at`.
    pub fn frozen_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.frozen_at = Some(at);
        self
    }
    /// Partial (per-row) `bulk_status_update`.
    pub fn bulk_partial(mut self, on: bool) -> Self {
        self.bulk_partial = on;
        self
    }
}

/// Shared state of one Omnitron simulator.
pub(crate) struct OmnitronApp {
    pub common: Common,
    pub config: OmnitronConfig,
    pub db: std::sync::RwLock<Db>,
    /// What `reset` restores.
    pub initial: Mutex<Db>,
    pub tokens: Mutex<TokenStore>,
    pub seed: Mutex<u64>,
    pub bulk_partial: Mutex<bool>,
}

impl Flavor for OmnitronApp {
    fn common(&self) -> &Common {
        &self.common
    }
    fn seed(&self) -> u64 {
        *crate::lock(&self.seed)
    }

    fn normalize_path(&self, path: &str) -> String {
        let p = path
            .strip_prefix("/api/i1/")
            .map_or_else(|| path.to_string(), |rest| format!("/api/v1/{rest}"));
        if p.len() > 1 && p.ends_with('/') {
            p.trim_end_matches('/').to_string()
        } else {
            p
        }
    }

    fn authorize(&self, _method: &str, path: &str, headers: &HeaderMap) -> Option<Response> {
        if path == "/api/v1/auth/login" {
            return None;
        }
        auth::authorize(self, headers)
    }

    fn invalidate_token(&self, headers: &HeaderMap) {
        if let Ok(Some(t)) = auth::token_of(headers) {
            crate::lock(&self.tokens).revoke(&t);
        }
    }

    fn error_body(&self, status: u16, method: &str) -> Value {
        match status {
            400 => json!({"detail": "Bad request.", "code": "invalid"}),
            401 => json!({"detail": "Invalid token.", "code": "authentication_failed"}),
            403 => {
                json!({"detail": "You do not have permission to perform this action.", "code": "permission_denied"})
            }
            404 => json!({"detail": "Not found."}),
            405 => json!({"detail": format!("Method \"{method}\" not allowed.")}),
            429 => json!({"detail": "Request was throttled.", "code": "throttled"}),
            _ => json!({"detail": "A server error occurred."}),
        }
    }
}

/// Request context for list handlers: query, absolute base for links, fault window shift.
pub(crate) struct ListCtx {
    pub q: Query,
    pub base: String,
    pub path: String,
    pub shift: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for ListCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(ListCtx {
            q: Query::parse(parts.uri.query()),
            base: format!("http://{host}"),
            path: parts
                .extensions
                .get::<OriginalPath>()
                .map_or_else(|| parts.uri.path().to_string(), |p| p.0.clone()),
            shift: parts.extensions.get::<PageShift>().map_or(0, |s| s.0),
        })
    }
}

impl ListCtx {
    /// Sort, cut the page, render only the page's rows.
    pub fn page<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T, &str) -> pagination::SortKey,
        render: impl Fn(&T) -> Value,
    ) -> Result<Value, ApiError> {
        pagination::sort_rows(&mut rows, &self.q, key);
        pagination::paginate(rows, &self.q, &self.base, &self.path, self.shift, render)
    }
}

/// A path pk: non-numeric ids do not match Omnitron's URL patterns → 404.
pub(crate) fn pk(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

fn routes(app: Arc<OmnitronApp>) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/orders_integration", get(orders::list_integration))
        .route("/orders_integration/detailed", get(orders::list_detailed))
        .route("/orders_integration/{pk}", get(orders::retrieve))
        .route(
            "/orders_integration/{pk}/detailed_integration",
            get(orders::detailed_integration),
        )
        .route("/orders", get(orders::list))
        .route("/orders/{pk}", get(orders::retrieve).patch(orders::update))
        .route("/orders/{pk}/create_mapping", post(orders::create_mapping))
        .route("/orders/{pk}/cancel", post(cancellation::cancel_order))
        .route(
            "/orders/{pk}/cancellation_approved_order",
            post(cancellation::approve_order),
        )
        .route("/order_items", get(items::list))
        .route(
            "/order_items/bulk_status_update",
            patch(items::bulk_status_update),
        )
        .route(
            "/order_items/{pk}",
            get(items::retrieve).patch(items::update),
        )
        .route(
            "/order_items/{pk}/detailed_integration",
            get(items::retrieve_detailed),
        )
        .route(
            "/order_items/{pk}/create_mapping",
            post(items::create_mapping),
        )
        .route("/discount_items", get(discounts::list))
        .route("/discount_items/{pk}", get(discounts::retrieve))
        .route(
            "/discount_items/{pk}/detailed_integration",
            get(discounts::retrieve_detailed),
        )
        .route("/cancellation_plans", get(cancellation::list))
        .route(
            "/cancellation_plans/cancellation_plan_statuses",
            get(cancellation::statuses),
        )
        .route("/cancellation_plans/{pk}", get(cancellation::retrieve))
        .route(
            "/cancellation_plans/{pk}/update_status",
            post(cancellation::update_status),
        )
        .route("/order_transactions", get(transactions::list))
        .route("/order_transactions/{pk}", get(transactions::retrieve))
        .route(
            "/order_transactions/{pk}/create_mapping",
            post(transactions::create_mapping),
        )
        .route("/content_types", get(content_types));
    Router::new()
        .nest("/api/v1", api)
        .nest("/__sim", control::routes())
        .with_state(app)
}

/// `GET /content_types/`: the content type ids used in integration mappings.
async fn content_types(ctx: ListCtx) -> Result<axum::Json<Value>, ApiError> {
    let rows = vec![
        (model::CONTENT_TYPE_ORDER, "orders", "order"),
        (model::CONTENT_TYPE_ORDER_ITEM, "orders", "orderitem"),
        (
            model::CONTENT_TYPE_ORDER_TRANSACTION,
            "orders",
            "ordertransaction",
        ),
    ];
    ctx.page(
        rows,
        |r, _| pagination::SortKey::Num(r.0),
        |r| json!({"id": r.0, "app_label": r.1, "model": r.2}),
    )
    .map(axum::Json)
}

/// Entry point: `OmnitronSim::start(config).await`.
pub struct OmnitronSim;

impl OmnitronSim {
    /// Generate the data, bind, and serve in the background.
    pub async fn start(config: OmnitronConfig) -> Result<OmnitronHandle, SimError> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let common = Common::new(config.seed, stop_rx);
        if let Some(at) = config.frozen_at {
            common.clock.apply(&ClockChange {
                freeze_at: Some(at),
                ..Default::default()
            });
        }
        let db = generate(config.seed, config.orders, common.clock.now());
        let app = Arc::new(OmnitronApp {
            tokens: Mutex::new(TokenStore::new(config.seed)),
            seed: Mutex::new(config.seed),
            bulk_partial: Mutex::new(config.bulk_partial),
            initial: Mutex::new(db.clone()),
            db: std::sync::RwLock::new(db),
            config: config.clone(),
            common,
        });
        let running = serve(&config.listen, app.clone(), routes(app.clone()), stop).await?;
        Ok(OmnitronHandle { app, running })
    }
}

/// A running Omnitron simulator. Stops when dropped or on [`OmnitronHandle::shutdown`].
pub struct OmnitronHandle {
    app: Arc<OmnitronApp>,
    running: Running,
}

impl OmnitronHandle {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr)
    }
    /// `http://127.0.0.1:<port>/api/v1/`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1/", self.base_url())
    }
    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr
    }
    /// Login user name.
    pub fn username(&self) -> &str {
        &self.app.config.username
    }
    /// Login password.
    pub fn password(&self) -> &str {
        &self.app.config.password
    }
    /// Everything tests assert on: orders, items, mappings, plans, transactions.
    pub async fn state(&self) -> OmnitronState {
        state::snapshot(&crate::read(&self.app.db))
    }
    /// A customer cancels each of `orders` whole through the public API (see
    /// [`customer::cancel_orders`]); returns the new waiting plans' pks.
    pub async fn cancel_orders(&self, orders: &[u64], plan_type: &str) -> Result<Vec<u64>, String> {
        customer::cancel_orders(
            &self.base_url(),
            self.username(),
            self.password(),
            orders,
            plan_type,
        )
        .await
    }
    /// The detailed (seed-004 shape) JSON of an order, as the API would return it.
    pub async fn order_json(&self, pk: u64) -> Option<Value> {
        let db = crate::read(&self.app.db);
        db.orders.get(&pk).map(|o| db.order_detailed(o))
    }
    /// Journal entries matching `q` (use `JournalQuery::default()` for all).
    pub async fn journal(&self, q: JournalQuery) -> Vec<JournalEntry> {
        self.app.common.journal.entries(&q)
    }
    /// Forget the journal.
    pub async fn clear_journal(&self) {
        self.app.common.journal.clear();
    }
    /// Add a fault rule; returns its id.
    pub async fn add_fault(&self, rule: FaultRule) -> Result<u64, FaultError> {
        self.app.common.faults.add(rule)
    }
    /// Rules with their counters.
    pub async fn faults(&self) -> Vec<FaultRule> {
        self.app.common.faults.list()
    }
    /// Remove one rule.
    pub async fn remove_fault(&self, id: u64) -> bool {
        self.app.common.faults.remove(id)
    }
    /// Remove all rules.
    pub async fn clear_faults(&self) {
        self.app.common.faults.clear(*crate::lock(&self.app.seed));
    }
    /// Change the clock (freeze / advance).
    pub async fn clock(&self, change: ClockChange) -> ClockView {
        self.app.common.clock.apply(&change)
    }
    /// Simulated now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.common.clock.now()
    }
    /// Replace the token policy.
    pub async fn set_auth_policy(&self, policy: AuthPolicy) {
        crate::lock(&self.app.tokens).policy = policy;
    }
    /// Make the next `n` logins fail with bad credentials.
    pub async fn login_fail_next(&self, n: u32) {
        crate::lock(&self.app.tokens).policy.login_fail_next = n;
    }
    /// Revoke one token.
    pub async fn revoke_token(&self, token: &str) -> bool {
        crate::lock(&self.app.tokens).revoke(token)
    }
    /// Revoke every token (the next call of each client gets 401).
    pub async fn revoke_all_tokens(&self) -> usize {
        crate::lock(&self.app.tokens).revoke_all()
    }
    /// Successful and failed logins so far.
    pub async fn login_count(&self) -> u64 {
        crate::lock(&self.app.tokens).logins
    }
    /// Add fixture orders in the detailed (seed-004) shape; returns their pks.
    pub async fn insert_orders(&self, orders: Vec<Value>) -> Result<Vec<u64>, String> {
        control::insert_orders(&self.app, orders)
    }
    /// Regenerate data for `seed` with `orders` orders (journal, faults and tokens kept).
    pub async fn reseed(&self, seed: u64, orders: usize) {
        control::reseed(&self.app, seed, orders);
    }
    /// Back to the data as generated at start (or last reseed); clears journal and faults,
    /// revokes tokens, resets the clock and auth policy.
    pub async fn reset(&self) {
        control::reset(&self.app);
    }
    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(mut self) {
        self.running.stop().await;
    }
}
