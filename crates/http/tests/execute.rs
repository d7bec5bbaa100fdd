//! `HttpClient::execute` against a real local server: retries that follow the rules, writes
//! that are never retried blindly, and URLs whose credentials never reach an error or a log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode as AxumStatus;
use axum::routing::any;
use omnibridge_http::{HttpClient, HttpConfig, Method, Request, RetryPolicy};

/// A server whose `/flaky` answers 503 `failures` times, then 200; counts the calls.
async fn flaky_server(failures: u32) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/flaky",
        any(move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                if n <= failures {
                    (AxumStatus::SERVICE_UNAVAILABLE, "busy".to_string())
                } else {
                    (AxumStatus::OK, format!("{{\"call\": {n}}}"))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), calls)
}

fn client() -> HttpClient {
    HttpClient::new(HttpConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..HttpConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_read_is_retried_on_5xx_until_it_succeeds() {
    let (base, calls) = flaky_server(2).await;
    let exchange = client()
        .execute(Request::new(Method::GET, format!("{base}/flaky")))
        .await;
    let response = exchange.outcome.as_ref().unwrap();
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.text(), "{\"call\": 3}");
    assert_eq!(exchange.attempts, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_write_answered_5xx_is_not_sent_again() {
    let (base, calls) = flaky_server(5).await;
    let exchange = client()
        .execute(
            Request::new(Method::POST, format!("{base}/flaky"))
                .json(&serde_json::json!({"order": 1})),
        )
        .await;
    assert_eq!(exchange.outcome.as_ref().unwrap().status.as_u16(), 503);
    assert_eq!(exchange.attempts, 1, "it may have landed");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Captures what the client logs, at debug level, for this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_in_a_url_never_reach_an_error_or_a_log() {
    // A port nothing listens on: the connection is refused, a GET is retried (and logged).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://erp-user:PaSsWoRd@127.0.0.1:{port}/orders?api_key=K3Y-SECRET&page=2");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let exchange = client().execute(Request::new(Method::GET, url)).await;
    let error = exchange.outcome.unwrap_err();
    let text = format!("{error} {error:?}");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying HTTP request"), "{logs}");
    for secret in ["PaSsWoRd", "K3Y-SECRET"] {
        assert!(!text.contains(secret), "{secret} in the error: {text}");
        assert!(!logs.contains(secret), "{secret} in the log: {logs}");
    }
    assert!(
        text.contains("page=2") && text.contains("api_key=***"),
        "{text}"
    );
}
