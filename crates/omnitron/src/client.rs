//! Login, token reuse and the one call path every endpoint goes through.

use std::sync::Arc;

use omnibridge_http::{Exchange, HttpClient, HttpConfig, Method, Request, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use crate::OmnitronError;
use crate::orders::OrderEndpoints;

/// Where Omnitron is and how to log in.
#[derive(Debug, Clone)]
pub struct OmnitronConfig {
    /// Omnitron's domain URL, e.g. `https://demo.omnitron.akinon.net/`.
    pub base_url: String,
    /// Integration user name.
    pub username: String,
    /// Integration user password.
    pub password: String,
    /// Login path relative to the base URL.
    pub login_path: String,
    /// Timeouts and retries.
    pub http: HttpConfig,
    /// Paths of the endpoints whose exact form varies between Omnitron versions.
    pub endpoints: OrderEndpoints,
}

impl OmnitronConfig {
    /// A configuration with the defaults of Akinon's SDK.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            login_path: "api/v1/auth/login/".to_string(),
            http: HttpConfig::default(),
            endpoints: OrderEndpoints::default(),
        }
    }
}

/// An Omnitron API client. Cheap to clone; clones share the connection pool and the token.
#[derive(Debug, Clone)]
pub struct OmnitronClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    base: Url,
    config: OmnitronConfig,
    /// The current token. The lock also makes concurrent re-logins collapse into one.
    token: Mutex<Option<String>>,
}

impl OmnitronClient {
    /// Checks the configuration and builds a client. Does not log in yet.
    pub fn new(config: OmnitronConfig) -> Result<Self, OmnitronError> {
        let mut base = Url::parse(&config.base_url).map_err(|e| OmnitronError::Config {
            field: "base_url",
            message: format!("{:?} is not a URL: {e}", config.base_url),
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(OmnitronError::Config {
                field: "base_url",
                message: format!("{:?} must start with http:// or https://", config.base_url),
            });
        }
        // Relative joins drop the last segment of a base without a trailing slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        if config.username.is_empty() {
            return Err(OmnitronError::Config {
                field: "username",
                message: "must not be empty".to_string(),
            });
        }
        let http = HttpClient::new(config.http.clone()).map_err(|e| OmnitronError::Config {
            field: "http",
            message: e.to_string(),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                config,
                token: Mutex::new(None),
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &OmnitronConfig {
        &self.inner.config
    }

    /// The base URL, always ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The current token, logging in first if there is none. Exposed to scripts and
    /// expressions as `token.omnitron`.
    pub async fn token(&self) -> Result<String, OmnitronError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(token) = guard.as_ref() {
            return Ok(token.clone());
        }
        let token = self.login().await?;
        *guard = Some(token.clone());
        Ok(token)
    }

    /// Replaces `stale` with a fresh token, unless another caller already did.
    async fn refresh(&self, stale: &str) -> Result<String, OmnitronError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(current) = guard.as_ref()
            && current != stale
        {
            return Ok(current.clone());
        }
        let token = self.login().await?;
        *guard = Some(token.clone());
        Ok(token)
    }

    async fn login(&self) -> Result<String, OmnitronError> {
        let config = &self.inner.config;
        let url = self.url(&config.login_path)?;
        let body = json!({"username": config.username, "password": config.password});
        let exchange = self
            .inner
            .http
            .execute(Request::new(Method::POST, url.as_str()).json(&body))
            .await;
        let path = config.login_path.clone();
        let response = exchange
            .outcome
            .map_err(|source| OmnitronError::Transport {
                method: "POST".to_string(),
                path: path.clone(),
                source,
            })?;
        if !response.is_success() {
            return Err(OmnitronError::Login {
                username: config.username.clone(),
                status: response.status.as_u16(),
                body: response.text(),
            });
        }
        let value: Value =
            serde_json::from_slice(&response.body).map_err(|e| OmnitronError::Decode {
                method: "POST".to_string(),
                path: path.clone(),
                message: format!("login response is not JSON: {e}"),
            })?;
        match value.get("key").and_then(Value::as_str) {
            Some(key) if !key.is_empty() => {
                tracing::debug!(user = %config.username, "logged in to Omnitron");
                Ok(key.to_string())
            }
            _ => Err(OmnitronError::Decode {
                method: "POST".to_string(),
                path,
                message: format!("login response has no \"key\": {value}"),
            }),
        }
    }

    fn url(&self, path_and_query: &str) -> Result<Url, OmnitronError> {
        self.inner
            .base
            .join(path_and_query.trim_start_matches('/'))
            .map_err(|e| OmnitronError::Config {
                field: "base_url",
                message: format!("cannot call {path_and_query:?}: {e}"),
            })
    }

    /// Sends one authenticated call and returns the raw exchange of the last attempt. A 401 is
    /// answered by one re-login and one repeat of the call.
    pub async fn exchange(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Exchange, OmnitronError> {
        let url = self.url(path_and_query)?;
        let mut token = self.token().await?;
        let mut relogged = false;
        loop {
            let mut request = Request::new(method.clone(), url.as_str())
                .header("Authorization", format!("Token {token}"))
                .header("Accept", "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let exchange = self.inner.http.execute(request).await;
            if exchange.status() == Some(StatusCode::UNAUTHORIZED) && !relogged {
                tracing::info!(
                    path = path_and_query,
                    "Omnitron token rejected; logging in again"
                );
                token = self.refresh(&token).await?;
                relogged = true;
                continue;
            }
            return Ok(exchange);
        }
    }

    /// Sends one authenticated call and returns its JSON body (`null` for an empty body).
    /// A non-2xx answer is an [`OmnitronError::Status`].
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, OmnitronError> {
        let exchange = self.exchange(method.clone(), path_and_query, body).await?;
        let response = exchange
            .outcome
            .map_err(|source| OmnitronError::Transport {
                method: method.to_string(),
                path: path_and_query.to_string(),
                source,
            })?;
        if !response.is_success() {
            return Err(OmnitronError::Status {
                method: method.to_string(),
                path: path_and_query.to_string(),
                status: response.status.as_u16(),
                body: response.text(),
            });
        }
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|e| OmnitronError::Decode {
            method: method.to_string(),
            path: path_and_query.to_string(),
            message: format!("body is not JSON: {e}"),
        })
    }

    /// `GET` a path and return its JSON.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, OmnitronError> {
        self.call(Method::GET, path_and_query, None).await
    }
}
