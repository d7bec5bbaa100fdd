//! `omnibridge serve`: the flows of a directory as a long-running service with a JSON API.
//!
//! - [`flows::load_flow_dir`] loads every flow directory under one directory, refusing to start
//!   with every problem listed when one is invalid.
//! - [`api::router`] serves the API: flows, triggers (`POST /api/v1/flows/{flow}/trigger`), the
//!   outbound endpoint (`POST /api/v1/flows/{flow}/outbound`), executions and row logs,
//!   `/healthz`, `/readyz` and the OpenAPI document at `/api/openapi.json`, generated from the
//!   handlers' types. Every `/api/v1` call needs the API token when one is set; without one the
//!   service listens on loopback only ([`serve`]).
//! - [`serve`] runs it until its shutdown future completes, then stops taking records: running
//!   executions let their records in flight finish and end `interrupted`, resumable.

pub mod api;
pub mod error;
pub mod flows;
pub mod metrics;
pub mod scheduler;

use std::net::SocketAddr;
use std::sync::Arc;

use omnibridge_engine::execution::Engine;

pub use api::{AppState, router};
pub use error::ApiError;
pub use flows::{FlowSet, load_flow_dir, load_flow_dir_with};

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No API token and an address other people can reach.
    #[error(
        "refusing to listen on {0} without an API token: set OMNIBRIDGE_API_TOKEN (or \
         --api-token-file), or listen on 127.0.0.1"
    )]
    NoTokenOffLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The flows' schedules do not fit together (an `after` cycle, an unknown flow).
    #[error("the schedules cannot run: {0}")]
    Schedule(String),
    /// The server failed while running.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A bound, not yet running service: [`Bound::local_addr`] tells where it listens (port 0 picks
/// a free one).
pub struct Bound {
    listener: tokio::net::TcpListener,
    state: AppState,
}

/// Binds the API for `flows` on `address` and starts their scheduler. Without `api_token`,
/// only a loopback address is allowed.
pub async fn bind(
    engine: Engine,
    flows: FlowSet,
    address: SocketAddr,
    api_token: Option<String>,
) -> Result<Bound, ServeError> {
    if api_token.is_none() && !address.ip().is_loopback() {
        return Err(ServeError::NoTokenOffLoopback(address));
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    let flows = Arc::new(flows);
    let metrics = Arc::new(metrics::Metrics::default());
    let running = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let scheduler = scheduler::spawn_scheduler(
        engine.clone(),
        flows.clone(),
        metrics.clone(),
        running.clone(),
    )
    .await
    .map_err(ServeError::Schedule)?;
    let state = AppState {
        engine,
        flows,
        api_token: api_token.map(Arc::from),
        scheduler: Some(scheduler),
        metrics,
        running,
    };
    for flow in state.flows.iter() {
        if matches!(flow.as_ref(), omnibridge_engine::flows::Flow::OrderStatus(s) if s.is_outbound())
        {
            tokio::spawn(api::recover_pushes(state.clone(), flow.clone()));
        }
    }
    Ok(Bound { listener, state })
}

impl Bound {
    /// The address it listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` completes; then raises the engine's stop signal, so running
    /// executions stop taking records, finish those in flight and end `interrupted`, and waits
    /// for open requests (a `wait=true` run included) to be answered.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let stop = self.state.engine.stop.clone();
        let app = router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down: no new records are taken");
                stop.raise();
            })
            .await
            .map_err(ServeError::Serve)
    }
}
