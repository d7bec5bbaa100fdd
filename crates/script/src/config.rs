//! How a pool is sized and what each worker is allowed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Configuration of a [`crate::ScriptPool`]. Every field has a named default.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// The Python 3 interpreter. Default `python3`. A bare name is looked up on the engine's
    /// `PATH` once at start and resolved to the real executable (so pyenv-style shims work
    /// although workers get no environment); a path is used as given (e.g. a sandbox wrapper
    /// that ends by exec-ing python3 with the arguments it received).
    pub python: PathBuf,
    /// Number of worker processes, i.e. how many scripts run at once. Default: one per core.
    pub workers: usize,
    /// Time limit of one run. Default 300 s (Integrator's limit).
    pub run_timeout: Duration,
    /// Address-space cap of each worker in bytes (`RLIMIT_AS`), `None` for no cap.
    /// Default 512 MiB.
    pub memory_limit: Option<u64>,
    /// A worker is replaced by a fresh one after this many runs. Default 10,000.
    pub recycle_after_runs: u64,
    /// Environment variables passed to workers. Workers never inherit the engine's environment
    /// (it holds secrets); they get only `PATH=/usr/local/bin:/usr/bin:/bin`, `LANG=C.UTF-8`,
    /// `HOME=<temp dir>` plus these.
    pub env: BTreeMap<String, String>,
    /// How long a starting worker may take to say it is ready. Default 30 s.
    pub start_timeout: Duration,
}

/// One worker per available core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Integrator's 300 s per script run.
pub fn default_run_timeout() -> Duration {
    Duration::from_secs(300)
}

/// 512 MiB of address space per worker.
pub fn default_memory_limit() -> Option<u64> {
    Some(512 << 20)
}

/// 10,000 runs, then a fresh worker (bounds leaks in long-lived interpreters).
pub fn default_recycle_after_runs() -> u64 {
    10_000
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            python: PathBuf::from("python3"),
            workers: default_workers(),
            run_timeout: default_run_timeout(),
            memory_limit: default_memory_limit(),
            recycle_after_runs: default_recycle_after_runs(),
            env: BTreeMap::new(),
            start_timeout: Duration::from_secs(30),
        }
    }
}
