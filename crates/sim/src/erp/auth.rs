//! ERP authentication: the login endpoints (`/auth/login`, `/oauth/token`) and the per-request
//! check for each [`AuthMode`], with token lifetime knobs.

use super::ErpApp;
use super::scenario::AuthMode;
use crate::server::json_response;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct ErpToken {
    issued: DateTime<Utc>,
    uses: u64,
}

/// Issued ERP tokens.
#[derive(Debug, Default)]
pub(crate) struct ErpTokens {
    pub tokens: HashMap<String, ErpToken>,
    pub counter: u64,
    pub logins: u64,
}

impl ErpTokens {
    fn issue(&mut self, seed: u64, now: DateTime<Utc>) -> String {
        self.counter += 1;
        let t = format!(
            "erp-{seed:x}-{:06}-{:08x}",
            self.counter,
            now.timestamp_subsec_nanos()
        );
        self.tokens.insert(
            t.clone(),
            ErpToken {
                issued: now,
                uses: 0,
            },
        );
        t
    }
}

fn unauthorized(msg: &str) -> Response {
    json_response(401, &json!({"success": false, "error": msg}))
}

/// `POST /auth/login` (jwt, token_in_url) and `POST /oauth/token` (oauth2_cc).
pub(crate) async fn login(app: &ErpApp, oauth: bool, headers: &HeaderMap, body: &[u8]) -> Response {
    let auth = crate::lock(&app.scenario).auth.clone();
    if auth.login_latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(auth.login_latency_ms)).await;
    }
    {
        let mut s = crate::lock(&app.scenario);
        if s.auth.login_fail_next > 0 {
            s.auth.login_fail_next -= 1;
            crate::lock(&app.tokens).logins += 1;
            return unauthorized("login failed");
        }
    }
    let ok = if oauth {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let (mut id, mut secret) = (
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        );
        if let Some((u, p)) = basic_credentials(headers) {
            id = Some(u);
            secret = Some(p);
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return json_response(400, &json!({"error": "unsupported_grant_type"}));
        }
        id.as_deref() == Some(auth.client_id.as_str())
            && secret.as_deref() == Some(auth.client_secret.as_str())
    } else {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        v.get("username").and_then(Value::as_str) == Some(auth.username.as_str())
            && v.get("password").and_then(Value::as_str) == Some(auth.password.as_str())
    };
    let mut tokens = crate::lock(&app.tokens);
    tokens.logins += 1;
    if !ok {
        return if oauth {
            json_response(401, &json!({"error": "invalid_client"}))
        } else {
            unauthorized("invalid credentials")
        };
    }
    let ttl = auth.token_ttl_seconds.unwrap_or(3600);
    let token = tokens.issue(*crate::lock(&app.seed), app.common.clock.now());
    if oauth {
        json_response(
            200,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl}),
        )
    } else {
        let mut data = serde_json::Map::new();
        data.insert(auth.token_key.clone(), json!(token));
        data.insert("expires_in".to_string(), json!(ttl));
        json_response(200, &json!({ "data": data }))
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = raw
        .strip_prefix("Basic ")
        .or_else(|| raw.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = raw.split_whitespace();
    let kind = parts.next()?;
    if !kind.eq_ignore_ascii_case("bearer") {
        return None;
    }
    parts.next().map(str::to_string)
}

/// The token this request carries (for invalidation).
pub(crate) fn presented_token(headers: &HeaderMap, in_path: Option<&str>) -> Option<String> {
    in_path.map(str::to_string).or_else(|| bearer(headers))
}

/// Check a request's credentials. `Err` is the answer to send.
pub(crate) fn check(
    app: &ErpApp,
    headers: &HeaderMap,
    in_path: Option<&str>,
) -> Result<(), Box<Response>> {
    let auth = crate::lock(&app.scenario).auth.clone();
    let expired = || {
        let status = auth.expired_token_status;
        let mut resp = json_response(status, &auth.expired_body);
        if status == 401 {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    };
    match auth.mode {
        AuthMode::None => Ok(()),
        AuthMode::Basic => match basic_credentials(headers) {
            Some((u, p)) if u == auth.username && p == auth.password => Ok(()),
            _ => {
                let mut r = unauthorized("invalid basic credentials");
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"erp\""),
                );
                Err(Box::new(r))
            }
        },
        AuthMode::StaticToken => {
            if headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                == Some(auth.static_token.as_str())
            {
                Ok(())
            } else {
                Err(Box::new(unauthorized("invalid token")))
            }
        }
        AuthMode::CustomHeader => {
            if headers
                .get(auth.header_name.as_str())
                .and_then(|v| v.to_str().ok())
                == Some(auth.header_value.as_str())
            {
                Ok(())
            } else {
                Err(Box::new(unauthorized(&format!(
                    "missing or wrong {} header",
                    auth.header_name
                ))))
            }
        }
        AuthMode::Jwt | AuthMode::Oauth2Cc | AuthMode::TokenInUrl => {
            let token = if auth.mode == AuthMode::TokenInUrl {
                in_path.map(str::to_string)
            } else {
                bearer(headers)
            };
            let Some(token) = token else {
                return Err(Box::new(unauthorized("missing token")));
            };
            let now = app.common.clock.now();
            let mut tokens = crate::lock(&app.tokens);
            let Some(info) = tokens.tokens.get_mut(&token) else {
                return Err(Box::new(expired()));
            };
            let too_old = auth
                .token_ttl_seconds
                .is_some_and(|ttl| (now - info.issued).num_seconds() >= ttl as i64);
            let used_up = auth.token_max_uses.is_some_and(|m| info.uses >= m);
            if too_old || used_up {
                tokens.tokens.remove(&token);
                return Err(Box::new(expired()));
            }
            info.uses += 1;
            Ok(())
        }
    }
}

/// Revoke the token the request carries (auth_expired modes, invalidate_token fault).
pub(crate) fn invalidate(app: &ErpApp, headers: &HeaderMap, in_path: Option<&str>) {
    if let Some(t) = presented_token(headers, in_path) {
        crate::lock(&app.tokens).tokens.remove(&t);
    }
}
