//! ERP login profiles (the Integrator's Login Flow): how omnibridge authenticates to an ERP,
//! caches the token, and logs in again when the ERP rejects it.
//!
//! A profile is configuration ([`ErpLoginConfig`]); an [`ErpSession`] is its running form, shared
//! by every record of a flow. Tokens are cached, refreshed ahead of a known expiry, and renewed
//! at most once per request when the ERP answers with one of the flow's re-login statuses
//! (401 by default). The token is exposed to scripts and expressions as `token.erp`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use omnibridge_http::{Exchange, HttpClient, Method, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::json_path::{UserPath, value_text};

/// How to authenticate to the ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ErpLoginConfig {
    /// No authentication.
    #[default]
    None,
    /// Log in with a username and password, read a token from the JSON response.
    Jwt(JwtLogin),
    /// HTTP Basic authentication.
    Basic(BasicLogin),
    /// A fixed token sent in a header.
    PermanentToken(PermanentTokenLogin),
    /// An arbitrary header with a fixed value.
    CustomHeader(CustomHeaderLogin),
    /// OAuth2 client credentials grant.
    Oauth2ClientCredentials(OAuth2ClientCredentials),
}

/// JWT / token login: `POST url` with the credentials, token taken from the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtLogin {
    /// The login endpoint, e.g. `https://erp.example.com/api/v1/auth/login`.
    pub url: String,
    /// Extra headers sent with the login request, e.g. `{"x-csrf-token" = "login"}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra fields merged into the login body.
    #[serde(default)]
    pub extra_body: serde_json::Map<String, Value>,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Body field that carries the user name.
    #[serde(default = "default_username_field")]
    pub username_field: String,
    /// Body field that carries the password.
    #[serde(default = "default_password_field")]
    pub password_field: String,
    /// JSONPath to the token in the login response, e.g. `$.data.access_token`.
    pub token_path: String,
    /// JSONPath to the token lifetime in seconds, if the ERP says it.
    #[serde(default)]
    pub expires_in_path: Option<String>,
    /// Header that carries the token on later requests.
    #[serde(default = "default_auth_header")]
    pub header: String,
    /// Text put before the token, e.g. `Bearer` (a space is added).
    #[serde(default)]
    pub prefix: Option<String>,
}

/// HTTP Basic authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicLogin {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Scheme word before the encoded credentials.
    #[serde(default = "default_basic_prefix")]
    pub prefix: String,
}

/// A token that never changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermanentTokenLogin {
    /// The token.
    pub token: String,
    /// Header that carries it.
    #[serde(default = "default_auth_header")]
    pub header: String,
    /// Text put before the token, e.g. `Token` (a space is added).
    #[serde(default)]
    pub prefix: Option<String>,
}

/// An arbitrary header with a fixed value (API keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomHeaderLogin {
    /// Header name, e.g. `X-Api-Key`.
    pub header: String,
    /// Header value.
    pub value: String,
}

/// OAuth2 client credentials grant (RFC 6749 §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2ClientCredentials {
    /// Token endpoint.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Requested scope, if any.
    #[serde(default)]
    pub scope: Option<String>,
    /// Header that carries the token.
    #[serde(default = "default_auth_header")]
    pub header: String,
    /// Text put before the token.
    #[serde(default = "default_bearer")]
    pub prefix: String,
}

fn default_username_field() -> String {
    "username".to_string()
}
fn default_password_field() -> String {
    "password".to_string()
}
fn default_auth_header() -> String {
    "Authorization".to_string()
}
fn default_basic_prefix() -> String {
    "Basic".to_string()
}
fn default_bearer() -> String {
    "Bearer".to_string()
}

/// A login that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoginError {
    /// The profile itself is wrong.
    #[error("ERP login {field}: {message}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The login endpoint could not be reached.
    #[error("ERP login request to {url} failed: {message}")]
    Transport {
        /// Login URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The ERP refused the credentials.
    #[error("ERP login at {url} answered HTTP {status}: {body}")]
    Rejected {
        /// Login URL.
        url: String,
        /// Status answered.
        status: u16,
        /// The ERP's explanation.
        body: String,
    },
    /// The response did not contain a token where the profile says it is.
    #[error("ERP login at {url}: no token at {path} in the response: {body}")]
    NoToken {
        /// Login URL.
        url: String,
        /// The configured token path.
        path: String,
        /// The response body.
        body: String,
    },
}

impl ErpLoginConfig {
    /// Checks the profile without contacting the ERP, naming the field at fault.
    pub fn validate(&self) -> Result<(), LoginError> {
        let url_ok = |field: &'static str, url: &str| -> Result<(), LoginError> {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
                _ => Err(LoginError::Config {
                    field,
                    message: format!("{url:?} is not an http(s) URL"),
                }),
            }
        };
        match self {
            Self::None | Self::Basic(_) => Ok(()),
            Self::Jwt(jwt) => {
                url_ok("url", &jwt.url)?;
                UserPath::parse(&jwt.token_path).map_err(|e| LoginError::Config {
                    field: "token_path",
                    message: e.to_string(),
                })?;
                if let Some(path) = &jwt.expires_in_path {
                    UserPath::parse(path).map_err(|e| LoginError::Config {
                        field: "expires_in_path",
                        message: e.to_string(),
                    })?;
                }
                Ok(())
            }
            Self::PermanentToken(t) if t.token.is_empty() => Err(LoginError::Config {
                field: "token",
                message: "must not be empty".to_string(),
            }),
            Self::PermanentToken(_) => Ok(()),
            Self::CustomHeader(h) if h.header.trim().is_empty() => Err(LoginError::Config {
                field: "header",
                message: "must not be empty".to_string(),
            }),
            Self::CustomHeader(_) => Ok(()),
            Self::Oauth2ClientCredentials(o) => url_ok("token_url", &o.token_url),
        }
    }

    /// Secret values of this profile, for redaction from logs.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::None => vec![],
            Self::Jwt(j) => vec![j.password.clone()],
            Self::Basic(b) => vec![b.password.clone()],
            Self::PermanentToken(t) => vec![t.token.clone()],
            Self::CustomHeader(h) => vec![h.value.clone()],
            Self::Oauth2ClientCredentials(o) => vec![o.client_secret.clone()],
        }
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// Why [`ErpSession::send`] sent nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError<E: std::fmt::Display> {
    /// Logging in failed.
    #[error("{0}")]
    Login(LoginError),
    /// The request could not be built (e.g. its URL expression failed).
    #[error("{0}")]
    Build(E),
}

/// What a login produced: the header to send and the token scripts see as `token.erp`.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// Header name and value to add to ERP requests (none for [`ErpLoginConfig::None`]).
    pub header: Option<(String, String)>,
    /// The token itself (empty for no authentication).
    pub token: String,
    expires_at: Option<Instant>,
}

impl Credential {
    fn fresh(&self) -> bool {
        // Renew a little early so a request does not leave with a token about to expire.
        self.expires_at
            .is_none_or(|at| at > Instant::now() + Duration::from_secs(30))
    }
}

/// A login profile in use: caches the credential and renews it when needed.
#[derive(Debug)]
pub struct ErpSession {
    config: ErpLoginConfig,
    http: HttpClient,
    current: Mutex<Option<Credential>>,
    logins: std::sync::atomic::AtomicU64,
}

impl ErpSession {
    /// A session for this profile; nothing is sent until a credential is needed.
    pub fn new(config: ErpLoginConfig, http: HttpClient) -> Self {
        Self {
            config,
            http,
            current: Mutex::new(None),
            logins: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The profile.
    pub fn config(&self) -> &ErpLoginConfig {
        &self.config
    }

    /// How many times this session logged in.
    pub fn login_count(&self) -> u64 {
        self.logins.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current credential, logging in if there is none or it is about to expire.
    pub async fn credential(&self) -> Result<Credential, LoginError> {
        let mut guard = self.current.lock().await;
        if let Some(credential) = guard.as_ref().filter(|c| c.fresh()) {
            return Ok(credential.clone());
        }
        let credential = self.login().await?;
        *guard = Some(credential.clone());
        Ok(credential)
    }

    /// Replaces the credential whose token is `stale`, unless another caller already did.
    pub async fn renew(&self, stale: &str) -> Result<Credential, LoginError> {
        let mut guard = self.current.lock().await;
        if let Some(current) = guard.as_ref().filter(|c| c.token != stale && c.fresh()) {
            return Ok(current.clone());
        }
        let credential = self.login().await?;
        *guard = Some(credential.clone());
        Ok(credential)
    }

    /// Sends a request built from the current credential's token (URLs may embed it), with the
    /// credential's header added. When the answer's status is one of `relogin_statuses`, logs in
    /// again once and sends the rebuilt request once more.
    pub async fn send<E: std::fmt::Display>(
        &self,
        relogin_statuses: &[u16],
        build: impl Fn(&str) -> Result<Request, E>,
    ) -> Result<Exchange, SendError<E>> {
        let mut credential = self.credential().await.map_err(SendError::Login)?;
        let mut renewed = false;
        loop {
            let mut request = build(&credential.token).map_err(SendError::Build)?;
            if let Some((name, value)) = &credential.header {
                request.set_header(name, value.clone());
            }
            let exchange = self.http.execute(request).await;
            let rejected = exchange
                .status()
                .is_some_and(|s| relogin_statuses.contains(&s.as_u16()));
            let can_renew = !matches!(self.config, ErpLoginConfig::None);
            if rejected && !renewed && can_renew {
                tracing::info!(status = ?exchange.status(), "ERP rejected the token; logging in again");
                credential = self
                    .renew(&credential.token)
                    .await
                    .map_err(SendError::Login)?;
                renewed = true;
                continue;
            }
            return Ok(exchange);
        }
    }

    async fn login(&self) -> Result<Credential, LoginError> {
        self.logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &self.config {
            ErpLoginConfig::None => Ok(Credential {
                header: None,
                token: String::new(),
                expires_at: None,
            }),
            ErpLoginConfig::Basic(b) => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", b.username, b.password));
                Ok(Credential {
                    header: Some((
                        "Authorization".to_string(),
                        with_prefix(Some(&b.prefix), &token),
                    )),
                    token,
                    expires_at: None,
                })
            }
            ErpLoginConfig::PermanentToken(t) => Ok(Credential {
                header: Some((t.header.clone(), with_prefix(t.prefix.as_deref(), &t.token))),
                token: t.token.clone(),
                expires_at: None,
            }),
            ErpLoginConfig::CustomHeader(h) => Ok(Credential {
                header: Some((h.header.clone(), h.value.clone())),
                token: h.value.clone(),
                expires_at: None,
            }),
            ErpLoginConfig::Jwt(jwt) => self.jwt_login(jwt).await,
            ErpLoginConfig::Oauth2ClientCredentials(o) => self.oauth2_login(o).await,
        }
    }

    async fn jwt_login(&self, jwt: &JwtLogin) -> Result<Credential, LoginError> {
        let mut body = jwt.extra_body.clone();
        body.insert(
            jwt.username_field.clone(),
            Value::String(jwt.username.clone()),
        );
        body.insert(
            jwt.password_field.clone(),
            Value::String(jwt.password.clone()),
        );
        let mut request = Request::new(Method::POST, jwt.url.as_str()).json(&Value::Object(body));
        for (name, value) in &jwt.headers {
            request.set_header(name, value.clone());
        }
        let response = self.login_response(&jwt.url, request).await?;
        let token_path = UserPath::parse(&jwt.token_path).map_err(|e| LoginError::Config {
            field: "token_path",
            message: e.to_string(),
        })?;
        let token = token_path
            .first(&response)
            .filter(|v| !v.is_null())
            .map(value_text)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| LoginError::NoToken {
                url: jwt.url.clone(),
                path: jwt.token_path.clone(),
                body: response.to_string(),
            })?;
        let expires_at = jwt
            .expires_in_path
            .as_deref()
            .and_then(|p| UserPath::parse(p).ok())
            .and_then(|p| p.first(&response).and_then(seconds_of))
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        Ok(Credential {
            header: Some((
                jwt.header.clone(),
                with_prefix(jwt.prefix.as_deref(), &token),
            )),
            token,
            expires_at,
        })
    }

    async fn oauth2_login(&self, o: &OAuth2ClientCredentials) -> Result<Credential, LoginError> {
        // The serializer is not Send: finish it before anything awaits.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            form.append_pair("client_id", &o.client_id);
            form.append_pair("client_secret", &o.client_secret);
            if let Some(scope) = &o.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let request = Request::new(Method::POST, o.token_url.as_str())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(form);
        let response = self.login_response(&o.token_url, request).await?;
        let token = response
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| LoginError::NoToken {
                url: o.token_url.clone(),
                path: "$.access_token".to_string(),
                body: response.to_string(),
            })?
            .to_string();
        let expires_at = response
            .get("expires_in")
            .and_then(seconds_of)
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        Ok(Credential {
            header: Some((o.header.clone(), format!("{} {token}", o.prefix))),
            token,
            expires_at,
        })
    }

    async fn login_response(&self, url: &str, request: Request) -> Result<Value, LoginError> {
        let exchange = self.http.execute(request).await;
        let response = exchange.outcome.map_err(|e| LoginError::Transport {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        if !response.is_success() {
            return Err(LoginError::Rejected {
                url: url.to_string(),
                status: response.status.as_u16(),
                body: response.text(),
            });
        }
        serde_json::from_slice(&response.body).map_err(|_| LoginError::NoToken {
            url: url.to_string(),
            path: "(response is not JSON)".to_string(),
            body: response.text(),
        })
    }
}

/// The header value of a token: `<prefix> <token>`, or the token alone.
fn with_prefix(prefix: Option<&str>, token: &str) -> String {
    match prefix {
        Some(p) if !p.is_empty() => format!("{p} {token}"),
        _ => token.to_string(),
    }
}

fn seconds_of(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().map(|f| f.max(0.0) as u64))
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_read_from_toml_with_defaults() {
        let config: ErpLoginConfig = toml_like(
            r#"{"type": "jwt", "url": "http://erp/auth/login", "username": "u", "password": "p",
                "token_path": "$.data.access_token", "prefix": "Bearer"}"#,
        );
        let ErpLoginConfig::Jwt(jwt) = &config else {
            panic!("expected jwt: {config:?}");
        };
        assert_eq!(jwt.header, "Authorization");
        assert_eq!(jwt.username_field, "username");
        config.validate().unwrap();
        assert_eq!(config.secrets(), ["p"]);
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let err = serde_json::from_str::<ErpLoginConfig>(
            r#"{"type": "basic", "username": "u", "password": "p", "pasword": "x"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("pasword"), "{err}");
        let err = serde_json::from_str::<ErpLoginConfig>(r#"{"type": "kerberos"}"#).unwrap_err();
        assert!(err.to_string().contains("kerberos"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let config: ErpLoginConfig = toml_like(
            r#"{"type": "jwt", "url": "not a url", "username": "u", "password": "p",
                "token_path": "$.t"}"#,
        );
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("url"), "{err}");
        let config: ErpLoginConfig = toml_like(
            r#"{"type": "jwt", "url": "http://erp/login", "username": "u", "password": "p",
                "token_path": "$.t["}"#,
        );
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("token_path")
        );
    }

    #[tokio::test]
    async fn static_profiles_produce_their_headers_without_a_request() {
        let http = HttpClient::new(Default::default()).unwrap();
        let basic = ErpSession::new(
            ErpLoginConfig::Basic(BasicLogin {
                username: "a".into(),
                password: "b".into(),
                prefix: "Basic".into(),
            }),
            http.clone(),
        );
        let credential = basic.credential().await.unwrap();
        assert_eq!(
            credential.header,
            Some(("Authorization".into(), "Basic YTpi".into()))
        );
        let permanent = ErpSession::new(
            ErpLoginConfig::PermanentToken(PermanentTokenLogin {
                token: "t0k".into(),
                header: "Authorization".into(),
                prefix: Some("Token".into()),
            }),
            http,
        );
        let credential = permanent.credential().await.unwrap();
        assert_eq!(credential.token, "t0k");
        assert_eq!(
            credential.header,
            Some(("Authorization".into(), "Token t0k".into()))
        );
    }

    fn toml_like(json: &str) -> ErpLoginConfig {
        serde_json::from_str(json).unwrap()
    }
}
