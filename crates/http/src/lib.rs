//! HTTP plumbing shared by the Omnitron client and the ERP steps.
//!
//! Every call an omnibridge flow makes goes through [`HttpClient::execute`], which applies the
//! platform's rules from one place (decisions.md, "Platform"):
//!
//! - connect timeout 10 s and total timeout 60 s by default ([`HttpConfig`]);
//! - idempotent requests (GET, HEAD, OPTIONS) are retried on connect errors, timeouts, 5xx and
//!   429 with exponential backoff and jitter, honouring `Retry-After` ([`RetryPolicy`]);
//! - writes are **never** retried blindly: they may have landed. The one exception is a failure
//!   that proves the request never left (connection refused) or a 429, which says the server did
//!   not process it.
//!
//! The result is an [`Exchange`]: the request that went out and the response (or transport
//! error) that came back, which is what row logs and `invokehttp.*` attributes are made from.
//! Deciding what a status *means* (found, not found, auth failure) belongs to the caller.
#![deny(missing_docs)]

mod redact;
mod retry;

use std::time::{Duration, Instant};

use bytes::Bytes;
pub use redact::redact_url;
pub use reqwest::{Method, StatusCode, header};
pub use retry::RetryPolicy;

/// Timeouts and retry settings for one client (per flow configurable).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt: connect, send, and read the full response.
    pub total_timeout: Duration,
    /// When and how to retry.
    pub retry: RetryPolicy,
    /// Largest response body kept in memory; a larger body is an error, not a silent cut.
    pub max_body_bytes: usize,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            max_body_bytes: 64 * 1024 * 1024,
            user_agent: concat!("omnibridge/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A request to send: built by the caller, sent (and possibly re-sent) by [`HttpClient`].
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query included.
    pub url: String,
    /// Headers in the order given; later duplicates are sent too.
    pub headers: Vec<(String, String)>,
    /// Body bytes, if any.
    pub body: Option<Bytes>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body and the matching `Content-Type`.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.set_header("Content-Type", "application/json");
        self.body = Some(Bytes::from(body.to_string()));
        self
    }

    /// Sets a raw body (the caller sets `Content-Type`).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every header of this name with one value.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }
}

/// A response that came back, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Response headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a request failed before a response came back.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The URL could not be parsed or used.
    #[error("invalid URL {url:?}: {message}")]
    InvalidUrl {
        /// The URL as given, credentials redacted ([`redact_url`]).
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// No connection could be made (refused, DNS, TLS handshake): the request never left.
    #[error("could not connect to {url}: {message}")]
    Connect {
        /// The URL, credentials redacted ([`redact_url`]).
        url: String,
        /// The underlying error.
        message: String,
    },
    /// The attempt ran out of time; the request may or may not have been processed.
    #[error("timed out after {seconds} s calling {url}")]
    Timeout {
        /// The URL, credentials redacted ([`redact_url`]).
        url: String,
        /// The timeout that expired.
        seconds: u64,
    },
    /// The connection broke while sending or receiving; the request may have been processed.
    #[error("connection to {url} failed: {message}")]
    Io {
        /// The URL, credentials redacted ([`redact_url`]).
        url: String,
        /// The underlying error.
        message: String,
    },
    /// The response body was larger than allowed.
    #[error("response from {url} is larger than {limit} bytes")]
    BodyTooLarge {
        /// The URL, credentials redacted ([`redact_url`]).
        url: String,
        /// The limit that was exceeded.
        limit: usize,
    },
}

impl TransportError {
    /// Whether the request certainly never reached the server.
    pub fn never_sent(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::InvalidUrl { .. })
    }

    /// A Java-like exception class name, for NiFi's `invokehttp.java.exception.class`.
    pub fn java_exception_class(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "java.net.MalformedURLException",
            Self::Connect { .. } => "java.net.ConnectException",
            Self::Timeout { .. } => "java.net.SocketTimeoutException",
            Self::Io { .. } | Self::BodyTooLarge { .. } => "java.io.IOException",
        }
    }
}

/// One call: what was sent, what came back, how long it took and how many attempts it used.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request as last sent.
    pub request: Request,
    /// The response, or why there was none.
    pub outcome: Result<Response, TransportError>,
    /// Attempts made (1 when nothing was retried).
    pub attempts: u32,
    /// Wall time across all attempts.
    pub elapsed: Duration,
}

impl Exchange {
    /// The response status, if a response came back.
    pub fn status(&self) -> Option<StatusCode> {
        self.outcome.as_ref().ok().map(|r| r.status)
    }

    /// The response, if one came back.
    pub fn response(&self) -> Option<&Response> {
        self.outcome.as_ref().ok()
    }
}

/// Errors building a client.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct BuildError(String);

/// A pooled HTTP client that applies [`HttpConfig`] to every call. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: HttpConfig,
}

impl HttpClient {
    /// Builds a client with these settings.
    pub fn new(config: HttpConfig) -> Result<Self, BuildError> {
        let inner = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .user_agent(config.user_agent.clone())
            // An ERP's redirect of a POST would silently turn it into a GET: surface it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Self { inner, config })
    }

    /// The settings this client applies.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends `request`, retrying as [`RetryPolicy`] allows, and returns the final exchange.
    pub async fn execute(&self, request: Request) -> Exchange {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(&request).await;
            let delay = self
                .config
                .retry
                .delay_before_retry(&request.method, &outcome, attempt);
            match delay {
                Some(delay) => {
                    tracing::debug!(
                        url = %redact_url(&request.url),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying HTTP request"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    return Exchange {
                        request,
                        outcome,
                        attempts: attempt,
                        elapsed: started.elapsed(),
                    };
                }
            }
        }
    }

    async fn attempt(&self, request: &Request) -> Result<Response, TransportError> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| TransportError::InvalidUrl {
            url: redact_url(&request.url),
            message: e.to_string(),
        })?;
        let mut builder = self.inner.request(request.method.clone(), url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| self.classify(&request.url, e))?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = self.read_body(&request.url, response).await?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    async fn read_body(
        &self,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Bytes, TransportError> {
        let limit = self.config.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|n| n as usize > limit)
        {
            return Err(TransportError::BodyTooLarge {
                url: redact_url(url),
                limit,
            });
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(url, e))? {
            if body.len() + chunk.len() > limit {
                return Err(TransportError::BodyTooLarge {
                    url: redact_url(url),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn classify(&self, url: &str, error: reqwest::Error) -> TransportError {
        // reqwest names the URL in its message: drop it, ours is the redacted one.
        let error = error.without_url();
        let message = error_chain(&error);
        let url = redact_url(url);
        if error.is_timeout() {
            TransportError::Timeout {
                url,
                seconds: self.config.total_timeout.as_secs(),
            }
        } else if error.is_connect() {
            TransportError::Connect { url, message }
        } else if error.is_builder() {
            TransportError::InvalidUrl { url, message }
        } else {
            TransportError::Io { url, message }
        }
    }
}

/// The error and its causes on one line: reqwest's top-level message alone ("error sending
/// request") tells a user nothing.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
