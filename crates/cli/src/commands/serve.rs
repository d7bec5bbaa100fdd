//! `omnibridge serve --flows <dir>`: every flow directory under `<dir>` as a service with a JSON
//! API (triggers, outbound rows, executions and row logs; OpenAPI at `/api/openapi.json`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use omnibridge_server::{bind, load_flow_dir};

use super::flow_runtime::{DEFAULT_DATABASE, start_engine};

/// Arguments of `omnibridge serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory holding one directory per flow (each with its flow.toml).
    #[arg(long = "flows", value_name = "DIR")]
    pub flows_dir: PathBuf,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The store: sqlite://path (created if missing) or postgres://...
    #[arg(long, env = "OMNIBRIDGE_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// A file holding the API token (else OMNIBRIDGE_API_TOKEN). Without either, the service
    /// only listens on loopback.
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
}

/// Runs the service until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

fn api_token(args: &ServeArgs) -> Result<Option<String>> {
    let token = match &args.api_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the API token file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("OMNIBRIDGE_API_TOKEN").ok(),
    };
    match token {
        Some(token) if token.len() < 16 => {
            bail!("the API token must be at least 16 characters long")
        }
        other => Ok(other),
    }
}

async fn run_async(args: ServeArgs) -> Result<()> {
    let token = api_token(&args)?;
    let engine = start_engine(&args.database).await?;
    let flows = match load_flow_dir(&engine, &args.flows_dir).await {
        Ok(flows) => flows,
        Err(problems) => bail!(
            "not starting: {} problem(s) in {}:\n{}",
            problems.len(),
            args.flows_dir.display(),
            problems.join("\n")
        ),
    };
    let count = flows.len();
    let bound = bind(engine.clone(), flows, args.listen, token).await?;
    let address = bound.local_addr().unwrap_or(args.listen);
    println!(
        "omnibridge serving {count} flow(s) on http://{address}/ (API: /api/v1, OpenAPI: /api/openapi.json)"
    );
    bound.serve(shutdown_signal()).await?;
    engine.scripts.shutdown().await;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
