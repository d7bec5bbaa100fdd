//! What both simulators share at the HTTP level: binding, shutdown, and the request pipeline
//! (journal → faults → auth → routes → error-body normalisation → journal).
//!
//! The pipeline wraps the route table rather than living inside it so that it sees the path the
//! client sent (before `/api/i1/` and trailing-slash normalisation) and can answer for requests
//! the route table would reject (404, 405) in the service's own style.

use crate::clock::SimClock;
use crate::faults::{FaultAction, FaultSet, RequestFacts};
use crate::journal::{Journal, JournalEntry, body_value};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// OS error.
        source: std::io::Error,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// State every simulator has: journal, faults, clock, shutdown signal.
pub(crate) struct Common {
    pub journal: Journal,
    pub faults: FaultSet,
    pub clock: SimClock,
    pub shutdown: watch::Receiver<bool>,
}

impl Common {
    pub fn new(seed: u64, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            journal: Journal::default(),
            faults: FaultSet::new(seed),
            clock: SimClock::default(),
            shutdown,
        }
    }

    /// Resolves when the simulator shuts down; used by `hang` so hung requests end with it.
    pub async fn until_shutdown(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// What differs between the Omnitron and the ERP simulator in the pipeline.
pub(crate) trait Flavor: Send + Sync + 'static {
    /// The shared parts.
    fn common(&self) -> &Common;
    /// The current data seed (fault probabilities are reseeded from it).
    fn seed(&self) -> u64;
    /// Control-plane paths bypass journal, faults and auth.
    fn is_control(&self, path: &str) -> bool {
        path.starts_with("/__sim") || path.starts_with("/__erp")
    }
    /// Rewrite the path the route table sees (e.g. `/api/i1/x/` → `/api/v1/x`).
    fn normalize_path(&self, path: &str) -> String;
    /// Check credentials before routing; `Some` answers instead of the route.
    fn authorize(&self, method: &str, path: &str, headers: &HeaderMap) -> Option<Response>;
    /// Invalidate the credentials this request carries (`invalidate_token` fault).
    fn invalidate_token(&self, headers: &HeaderMap);
    /// The service's body for an error status that has no body of its own (404, 405, faults).
    fn error_body(&self, status: u16, method: &str) -> serde_json::Value;
}

/// Marker extension set on requests hit by an `inconsistent_page` fault.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageShift(pub usize);

/// Original path extension (before normalisation), for building `next` links.
#[derive(Debug, Clone)]
pub(crate) struct OriginalPath(pub String);

struct Pipeline<F> {
    flavor: Arc<F>,
    routes: Router,
}

impl<F> Clone for Pipeline<F> {
    fn clone(&self) -> Self {
        Self {
            flavor: self.flavor.clone(),
            routes: self.routes.clone(),
        }
    }
}

/// A running server: its address and the way to stop it.
pub(crate) struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    pub fn signal_stop(&self) {
        let _ = self.stop.send(true);
    }
    pub async fn stop(&mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Bind `listen` and serve `routes` behind the pipeline until `stop` fires.
pub(crate) async fn serve<F: Flavor>(
    listen: &str,
    flavor: Arc<F>,
    routes: Router,
    stop: watch::Sender<bool>,
) -> Result<Running, SimError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: listen.to_string(),
        source,
    })?;
    // Small answers must not wait for delayed ACKs (Nagle), or latency figures would be the
    // kernel's, not the simulator's.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new()
        .fallback(entry::<F>)
        .with_state(Pipeline { flavor, routes });
    let mut rx = stop.subscribe();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("simulator server stopped with an error: {e}");
        }
    });
    Ok(Running {
        addr,
        stop,
        task: Some(task),
    })
}

async fn entry<F: Flavor>(State(p): State<Pipeline<F>>, req: Request) -> Response {
    let flavor = &p.flavor;
    let common = flavor.common();
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("cannot read body: {e}")).into_response();
        }
    };
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let control = flavor.is_control(&path);

    let normalized = flavor.normalize_path(&path);
    if normalized != path {
        let pq = if query.is_empty() {
            normalized.clone()
        } else {
            format!("{normalized}?{query}")
        };
        if let Ok(uri) = pq.parse() {
            parts.uri = uri;
        }
    }
    parts.extensions.insert(OriginalPath(path.clone()));

    if control {
        let req = Request::from_parts(parts, Body::from(bytes));
        return route(&p, req, &method).await;
    }

    let at = common.clock.now();
    let body_json = body_value(&bytes);
    let headers = header_map(&parts.headers);
    let fault = common.faults.check(&RequestFacts {
        method: &method,
        path: &path,
        query: &query,
        body: &body_json,
    });
    let mut entry = JournalEntry {
        seq: 0,
        at,
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers,
        body: body_json,
        status: None,
        response: serde_json::Value::Null,
        fault: fault.as_ref().map(FaultAction::describe),
    };

    // Faults that answer instead of the service.
    match &fault {
        Some(FaultAction::Status {
            status,
            body,
            html,
            headers,
        }) => {
            let status = *status;
            let mut resp = if let Some(html) = html {
                html_response(status, html.clone())
            } else {
                let body = body
                    .clone()
                    .unwrap_or_else(|| flavor.error_body(status, &method));
                json_response(status, &body)
            };
            for (k, v) in headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::try_from(k.as_str()),
                    HeaderValue::from_str(v),
                ) {
                    resp.headers_mut().insert(name, value);
                }
            }
            return finish(common, entry, resp).await;
        }
        Some(FaultAction::Hang) => {
            common.journal.push(entry);
            common.until_shutdown().await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Some(FaultAction::Reset) => {
            common.journal.push(entry);
            return broken_response(StatusCode::OK, HeaderMap::new(), Bytes::new(), None);
        }
        Some(FaultAction::RateLimit { retry_after }) => {
            let body = serde_json::json!({
                "detail": format!("Request was throttled. Expected available in {retry_after} seconds."),
                "code": "throttled"
            });
            let mut resp = json_response(429, &body);
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return finish(common, entry, resp).await;
        }
        Some(FaultAction::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        Some(FaultAction::InvalidateToken) => flavor.invalidate_token(&parts.headers),
        Some(FaultAction::InconsistentPage { shift }) => {
            parts.extensions.insert(PageShift(*shift));
        }
        _ => {}
    }

    if let Some(resp) = flavor.authorize(&method, parts.uri.path(), &parts.headers) {
        return finish(common, entry, resp).await;
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = route(&p, req, &method).await;
    if resp.extensions().get::<Broken>().is_some() {
        entry
            .fault
            .get_or_insert_with(|| "reset (scenario mode)".into());
        common.journal.push(entry);
        return resp;
    }

    match fault {
        Some(FaultAction::Truncate { keep_bytes }) => {
            let (parts, body) = resp.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            entry.status = Some(parts.status.as_u16());
            entry.response = body_value(&full);
            common.journal.push(entry);
            let keep = keep_bytes.unwrap_or(full.len() / 2).min(full.len());
            broken_response(
                parts.status,
                parts.headers,
                full.slice(..keep),
                Some(full.len()),
            )
        }
        Some(FaultAction::DropAfterCommit { status, reset }) => {
            if reset {
                entry.response = serde_json::Value::Null;
                common.journal.push(entry);
                broken_response(StatusCode::OK, HeaderMap::new(), Bytes::new(), None)
            } else {
                let body = flavor.error_body(status, &method);
                finish(common, entry, json_response(status, &body)).await
            }
        }
        _ => finish(common, entry, resp).await,
    }
}

/// Run the route table, filling empty 404/405 answers with the service's error body.
async fn route<F: Flavor>(p: &Pipeline<F>, req: Request, method: &str) -> Response {
    let resp = match p.routes.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status();
    if (status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED)
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|ct| !ct.as_bytes().starts_with(b"application/json"))
    {
        let (parts, _) = resp.into_parts();
        let mut new = json_response(
            status.as_u16(),
            &p.flavor.error_body(status.as_u16(), method),
        );
        if let Some(allow) = parts.headers.get(header::ALLOW) {
            new.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return new;
    }
    resp
}

/// Buffer the response, journal it, and send it.
async fn finish(common: &Common, mut entry: JournalEntry, resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    entry.status = Some(parts.status.as_u16());
    common.journal.push_raw(entry, bytes.clone());
    Response::from_parts(parts, Body::from(bytes))
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_string())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

/// A JSON response with this status.
pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body.clone())).into_response()
}

/// An HTML response (what a proxy in front of a service sends on 502/504).
pub(crate) fn html_response(status: u16, html: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// A response whose body breaks after `prefix`: the client sees a connection error instead of
/// a complete answer. `declared_len` sets a `Content-Length` the body never reaches.
pub(crate) fn broken_response(
    status: StatusCode,
    mut headers: HeaderMap,
    prefix: Bytes,
    declared_len: Option<usize>,
) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(prefix),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        )),
    ];
    let body = Body::from_stream(futures::stream::iter(chunks));
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    if let Some(len) = declared_len
        && let Ok(v) = HeaderValue::from_str(&len.to_string())
    {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// The HTML page a gateway sends for 5xx errors.
pub(crate) fn gateway_html(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// Marks a handler's answer as a deliberate connection break, so the pipeline passes it through
/// instead of buffering (which would turn the break into an empty 200).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Broken;

/// A response that breaks the connection before any complete answer.
pub(crate) fn reset_response() -> Response {
    let mut r = broken_response(StatusCode::OK, HeaderMap::new(), Bytes::new(), None);
    r.extensions_mut().insert(Broken);
    r
}
