//! DRF token authentication with the knobs tests need: token lifetime, use limits, revocation,
//! failing the next logins, slow logins, and a forced login status.

use super::OmnitronApp;
use super::errors::{ApiError, json_body};
use crate::rng::SimRng;
use crate::server::{html_response, json_response};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A forced answer for every login (e.g. a 500 HTML page or a 429).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoginOverride {
    /// Status to answer.
    pub status: u16,
    /// JSON body (default: a DRF `detail`).
    #[serde(default)]
    pub body: Option<Value>,
    /// HTML body (wins over `body`).
    #[serde(default)]
    pub html: Option<String>,
}

/// Token policy (`POST /__sim/auth`, [`super::OmnitronHandle::set_auth_policy`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuthPolicy {
    /// Tokens expire this many (simulated) seconds after login; `None` = never (DRF default).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Tokens stop working after this many authenticated requests.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// The next n logins fail as bad credentials.
    #[serde(default)]
    pub login_fail_next: u32,
    /// Every login waits this long.
    #[serde(default)]
    pub login_latency_ms: u64,
    /// Every login answers this instead.
    #[serde(default)]
    pub login_status_override: Option<LoginOverride>,
}

#[derive(Debug, Clone)]
struct TokenInfo {
    issued: DateTime<Utc>,
    uses: u64,
}

/// Issued tokens and the policy.
#[derive(Debug)]
pub(crate) struct TokenStore {
    tokens: HashMap<String, TokenInfo>,
    pub policy: AuthPolicy,
    rng: SimRng,
    pub logins: u64,
}

impl TokenStore {
    pub fn new(seed: u64) -> Self {
        Self {
            tokens: HashMap::new(),
            policy: AuthPolicy::default(),
            rng: SimRng::new(seed ^ 0xA11CE),
            logins: 0,
        }
    }

    fn issue(&mut self, now: DateTime<Utc>) -> String {
        let key = format!(
            "{:016x}{:016x}{:08x}",
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64() as u32
        );
        self.tokens.insert(
            key.clone(),
            TokenInfo {
                issued: now,
                uses: 0,
            },
        );
        key
    }

    pub fn revoke(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    pub fn revoke_all(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        n
    }

    /// Count a use of `token`; false when unknown, expired or used up.
    fn use_token(&mut self, token: &str, now: DateTime<Utc>) -> bool {
        let policy = self.policy.clone();
        let Some(info) = self.tokens.get_mut(token) else {
            return false;
        };
        if policy
            .ttl_seconds
            .is_some_and(|ttl| (now - info.issued).num_seconds() >= ttl as i64)
        {
            self.tokens.remove(token);
            return false;
        }
        if policy.max_uses.is_some_and(|max| info.uses >= max) {
            self.tokens.remove(token);
            return false;
        }
        info.uses += 1;
        true
    }
}

fn unauthorized(detail: &str, code: &str) -> Response {
    let mut resp = json_response(401, &json!({"detail": detail, "code": code}));
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    resp
}

/// The token from `Authorization: Token <key>` (keyword case-insensitive, as DRF).
pub(crate) fn token_of(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(raw) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| "Invalid token header. Token string should not contain invalid characters.")?;
    let mut parts = raw.split_whitespace();
    match parts.next() {
        Some(k) if k.eq_ignore_ascii_case("token") => {}
        _ => return Ok(None),
    }
    let Some(key) = parts.next() else {
        return Err("Invalid token header. No credentials provided.");
    };
    if parts.next().is_some() {
        return Err("Invalid token header. Token string should not contain spaces.");
    }
    Ok(Some(key.to_string()))
}

/// Check the request's token; `Some` is the 401 to answer.
pub(crate) fn authorize(app: &OmnitronApp, headers: &HeaderMap) -> Option<Response> {
    match token_of(headers) {
        Err(msg) => Some(unauthorized(msg, "authentication_failed")),
        Ok(None) => Some(unauthorized(
            "Authentication credentials were not provided.",
            "not_authenticated",
        )),
        Ok(Some(key)) => {
            let now = app.common.clock.now();
            if crate::lock(&app.tokens).use_token(&key, now) {
                None
            } else {
                Some(unauthorized("Invalid token.", "authentication_failed"))
            }
        }
    }
}

/// `POST /api/{v1,i1}/auth/login/`.
pub(crate) async fn login(
    State(app): State<Arc<OmnitronApp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let policy = crate::lock(&app.tokens).policy.clone();
    if policy.login_latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(policy.login_latency_ms)).await;
    }
    if let Some(o) = policy.login_status_override {
        return match o.html {
            Some(html) => html_response(o.status, html),
            None => json_response(
                o.status,
                &o.body
                    .unwrap_or_else(|| json!({"detail": "Login is unavailable."})),
            ),
        };
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let fields = if form {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    } else {
        match json_body(&body) {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        }
    };
    let mut missing = serde_json::Map::new();
    for f in ["username", "password"] {
        match fields.get(f) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => {
                missing.insert(f.into(), json!(["This field may not be blank."]));
            }
            _ => {
                missing.insert(f.into(), json!(["This field is required."]));
            }
        }
    }
    if !missing.is_empty() {
        return ApiError::bad_request(Value::Object(missing)).into_response();
    }
    let bad = || {
        ApiError::bad_request(json!({
            "non_field_errors": ["Unable to log in with provided credentials."],
            "code": "authorization"
        }))
        .into_response()
    };
    let mut tokens = crate::lock(&app.tokens);
    tokens.logins += 1;
    if tokens.policy.login_fail_next > 0 {
        tokens.policy.login_fail_next -= 1;
        return bad();
    }
    let ok = fields.get("username").and_then(Value::as_str) == Some(app.config.username.as_str())
        && fields.get("password").and_then(Value::as_str) == Some(app.config.password.as_str());
    if !ok {
        return bad();
    }
    let key = tokens.issue(app.common.clock.now());
    json_response(200, &json!({"key": key}))
}
