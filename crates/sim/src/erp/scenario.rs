//! What the ERP simulator does, per endpoint and per key (order number / plan id), with a
//! default per endpoint. Settable from Rust and via `POST /__sim/scenario`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Order query (Query Check Order) behaviour for one order number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum QueryMode {
    /// 200 `{"order": {"number", "erp_no", ...}}`.
    Found,
    /// 200 with an empty path value: `{"order": null}` (shape `null`), `{"order": []}`
    /// (`array`) or `{}` (`object`).
    NotFoundPathEmpty {
        /// Which empty answer.
        #[serde(default)]
        shape: EmptyShape,
    },
    /// 200 `{"order": "<value>"}` (the Custom Response Path Value).
    NotFoundPathValue {
        /// Default `NOT_FOUND`.
        #[serde(default = "not_found_value")]
        value: String,
    },
    /// A status from *Order Not Found Codes* (default 404) with an empty body for 204.
    NotFoundCode {
        /// Status.
        #[serde(default = "s404")]
        status: u16,
    },
    /// A status from *Failure Status Codes* (default 500).
    FailureCode {
        /// Status.
        #[serde(default = "s500")]
        status: u16,
    },
    /// A status in neither list (default 418).
    UnlistedCode {
        /// Status.
        #[serde(default = "s418")]
        status: u16,
    },
    /// The normal answer (found when created, else not found) as XML.
    Xml,
    /// Wait, then answer normally.
    Slow {
        /// Milliseconds.
        #[serde(default = "slow_ms")]
        ms: u64,
    },
    /// Never answer.
    Hang,
    /// Break the connection.
    Reset,
    /// 401 once (invalidating the token), then normal.
    AuthExpired,
}

/// Empty shapes for [`QueryMode::NotFoundPathEmpty`].
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum EmptyShape {
    /// `{"order": null}`
    #[default]
    Null,
    /// `{"order": []}`
    Array,
    /// `{}`
    Object,
}

/// Order create (Write Data to ERP) behaviour for one order number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CreateMode {
    /// Store, 201 `{"erp_order_no": "E<n>", "lines": [{"omnitron_item_id", "erp_line_code"}]}`.
    Ok,
    /// 200 `{"success": false, "message": "stock error"}`, nothing stored.
    OkErrorBody,
    /// 400 `{"errors": [...]}`.
    Validation,
    /// 409.
    Duplicate,
    /// 500/502 with an HTML page.
    Server {
        /// Status (default 500).
        #[serde(default = "s500")]
        status: u16,
    },
    /// Store, then answer 500 (or break the connection when `reset`).
    CommitThenFail {
        /// Break the connection instead of answering 500.
        #[serde(default)]
        reset: bool,
    },
    /// Wait, then `ok`.
    Slow {
        /// Milliseconds.
        #[serde(default = "slow_ms")]
        ms: u64,
    },
    /// Never answer.
    Hang,
    /// Break the connection (nothing stored).
    Reset,
    /// Store, answer the `ok` body as XML.
    Xml,
    /// 401 once (invalidating the token), then `ok`.
    AuthExpired,
}

/// Cancellation endpoint behaviour for one plan id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CancelMode {
    /// 200 `{"status": "OK", "erp_ref": "C<id>"}`.
    Ok,
    /// 400 (or `status`) `{"status": "REJECTED", ...}`.
    Reject {
        /// Status (default 400).
        #[serde(default = "s400")]
        status: u16,
    },
    /// 401 (or 403) once, then `ok`.
    Auth {
        /// Status (default 401).
        #[serde(default = "s401")]
        status: u16,
    },
    /// 503 (or `status`) every time.
    RetryLater {
        /// Status (default 503).
        #[serde(default = "s503")]
        status: u16,
    },
    /// 200 `{"status": "REJECTED"}`.
    OkErrorBody,
    /// Wait, then `ok`.
    Slow {
        /// Milliseconds.
        #[serde(default = "slow_ms")]
        ms: u64,
    },
    /// Never answer.
    Hang,
    /// `ok` as XML.
    Xml,
}

fn not_found_value() -> String {
    "NOT_FOUND".into()
}
fn s400() -> u16 {
    400
}
fn s401() -> u16 {
    401
}
fn s404() -> u16 {
    404
}
fn s418() -> u16 {
    418
}
fn s500() -> u16 {
    500
}
fn s503() -> u16 {
    503
}
fn slow_ms() -> u64 {
    2000
}

/// ERP authentication.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// No auth.
    None,
    /// `POST /auth/login` → `{"data": {"access_token", "expires_in"}}`; then `Bearer`.
    #[default]
    Jwt,
    /// `Authorization: Basic`.
    Basic,
    /// A fixed `Authorization` value.
    StaticToken,
    /// A fixed custom header.
    CustomHeader,
    /// `POST /oauth/token` (client credentials) → `{"access_token"}`; then `Bearer`.
    Oauth2Cc,
    /// `/(S(<token>))/...` paths, token from `POST /auth/login`.
    TokenInUrl,
}

/// Auth configuration and knobs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ErpAuth {
    /// Mode.
    pub mode: AuthMode,
    /// jwt / basic / token_in_url user.
    pub username: String,
    /// jwt / basic / token_in_url password.
    pub password: String,
    /// oauth2_cc client id.
    pub client_id: String,
    /// oauth2_cc client secret.
    pub client_secret: String,
    /// static_token: the exact `Authorization` value expected.
    pub static_token: String,
    /// custom_header: header name.
    pub header_name: String,
    /// custom_header: header value.
    pub header_value: String,
    /// Tokens expire after this many (simulated) seconds.
    pub token_ttl_seconds: Option<u64>,
    /// Tokens expire after this many uses.
    pub token_max_uses: Option<u64>,
    /// The next n logins fail (401).
    pub login_fail_next: u32,
    /// Logins wait this long.
    pub login_latency_ms: u64,
    /// Answer for an expired/invalid token: 401, 403, or 200 with `expired_body`.
    pub expired_token_status: u16,
    /// Body for expired tokens.
    pub expired_body: Value,
    /// The key holding the token under `data` in the jwt login's answer (default
    /// `access_token`; e.g. `access-token`, which only Jayway-style JSONPath can name).
    pub token_key: String,
}

impl Default for ErpAuth {
    fn default() -> Self {
        Self {
            mode: AuthMode::Jwt,
            username: "erp-user".into(),
            password: "erp-pass".into(),
            client_id: "omnibridge".into(),
            client_secret: "erp-secret".into(),
            static_token: "Token erp-static-token".into(),
            header_name: "X-Api-Key".into(),
            header_value: "erp-api-key".into(),
            token_ttl_seconds: None,
            token_max_uses: None,
            login_fail_next: 0,
            login_latency_ms: 0,
            expired_token_status: 401,
            expired_body: serde_json::json!({"success": false, "error": "token expired"}),
            token_key: "access_token".to_string(),
        }
    }
}

/// Status feed pagination.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Pagination {
    /// `offset` + `limit`; `{"results", "total"}`; the last page is shorter.
    #[default]
    Offset,
    /// `after=<last id>`; `{"results", "last_id"}`; an empty page ends.
    Seek,
    /// `{"results", "next"}`; `next` an absolute URL (or opaque token) or null.
    NextField,
    /// One bare array.
    None,
}

/// A fault on one page of the status feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PageFault {
    /// Page number, from 1.
    pub page: u32,
    /// Status to answer (for `page_status`), ignored otherwise.
    #[serde(default = "s500")]
    pub status: u16,
    /// Delay (for `slow_page`).
    #[serde(default)]
    pub ms: u64,
}

/// Status feed configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StatusFeed {
    /// Pagination mode.
    pub pagination: Pagination,
    /// Rows per page when the client sends no `limit`.
    pub page_size: usize,
    /// Answer XML instead of JSON.
    pub xml: bool,
    /// `next_field`: an opaque token instead of a URL.
    pub next_token: bool,
    /// `offset`: include `total`.
    pub include_total: bool,
    /// Reject `modified_date__gt` ending in `Z`.
    pub reject_z: bool,
    /// IANA timezone naive `modified_date__gt` values are in (default UTC).
    pub timezone: Option<String>,
    /// Fail this page with a status.
    pub page_status: Option<PageFault>,
    /// Slow this page down.
    pub slow_page: Option<PageFault>,
    /// 401 on this page (once).
    pub auth_expired_on_page: Option<u32>,
    /// Repeat the previous page's last row at the start of each page.
    pub duplicate_across_pages: bool,
    /// Answer no rows.
    pub empty: bool,
    /// Answer broken JSON.
    pub malformed_json: bool,
    /// Orders created through `POST /orders` appear in the feed.
    pub feed_created_orders: bool,
    /// Item status given to created orders' feed rows.
    pub created_status: String,
}

impl Default for StatusFeed {
    fn default() -> Self {
        Self {
            pagination: Pagination::Offset,
            page_size: 50,
            xml: false,
            next_token: false,
            include_total: true,
            reject_z: false,
            timezone: None,
            page_status: None,
            slow_page: None,
            auth_expired_on_page: None,
            duplicate_across_pages: false,
            empty: false,
            malformed_json: false,
            feed_created_orders: true,
            created_status: "450".into(),
        }
    }
}

/// Per-endpoint behaviour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Scenario {
    /// Auth.
    pub auth: ErpAuth,
    /// Query path (default `/orders/query`).
    pub query_path: String,
    /// Query parameter carrying the order number (default `number`).
    pub query_param: String,
    /// Query mode for numbers without their own.
    pub query_default: QueryMode,
    /// Query mode per order number (wins over "created → found").
    pub query_by_number: BTreeMap<String, QueryMode>,
    /// Methods accepted by `/orders` (default POST and PUT; others get 405).
    pub create_methods: Vec<String>,
    /// Create mode for numbers without their own.
    pub create_default: CreateMode,
    /// Create mode per order number.
    pub create_by_number: BTreeMap<String, CreateMode>,
    /// `ok` answers 409 when the number already exists (default false: like many ERPs, a second
    /// create makes a duplicate, which `creates` counts).
    pub create_reject_duplicates: bool,
    /// Status feed.
    pub status_feed: StatusFeed,
    /// Method of `/cancellations` (others get 405).
    pub cancellation_method: String,
    /// Cancellation mode for plans without their own.
    pub cancellation_default: CancelMode,
    /// Cancellation mode per plan id.
    pub cancellation_by_plan: BTreeMap<String, CancelMode>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            auth: ErpAuth::default(),
            query_path: "/orders/query".into(),
            query_param: "number".into(),
            query_default: QueryMode::NotFoundPathEmpty {
                shape: EmptyShape::Null,
            },
            query_by_number: BTreeMap::new(),
            create_methods: vec!["POST".into(), "PUT".into()],
            create_default: CreateMode::Ok,
            create_by_number: BTreeMap::new(),
            create_reject_duplicates: false,
            status_feed: StatusFeed::default(),
            cancellation_method: "POST".into(),
            cancellation_default: CancelMode::Ok,
            cancellation_by_plan: BTreeMap::new(),
        }
    }
}
