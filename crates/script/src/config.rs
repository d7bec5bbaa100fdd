//! How a pool is sized and what each worker is allowed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// (it holds secrets); they get only `PATH=/usr/local/bin:/usr/bin:/bin`,
    /// `LANG=LC_ALL=C.UTF-8`, `HOME=TMPDIR=<their private temp dir>`, the engine's `TZ` if set,
    /// plus these.
    pub env: BTreeMap<String, String>,
    /// How long a starting worker may take to say it is ready. Default 30 s.
    pub start_timeout: Duration,
    /// What scripts may see and touch. Default: [`Isolation::Enforce`], no extra paths.
    pub isolation: IsolationConfig,
}

/// How strictly workers are sandboxed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Every protection the machine must offer is required: a worker that cannot set up its
    /// PID namespace, private mount namespace, unprivileged user or `no_new_privs` does not
    /// start, and the pool reports why. Landlock is added where the kernel has it.
    #[default]
    Enforce,
    /// Whatever the machine offers is applied; each protection that could not be is named in
    /// [`Protections::not_enforced`] and logged with `tracing::warn!` when the pool starts.
    BestEffort,
    /// No sandbox (debugging only): scripts can read whatever the engine's user can. The
    /// environment is still scrubbed and the temp directory still private.
    Off,
}

/// Isolation settings of a pool's workers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsolationConfig {
    /// How strictly. Default [`Isolation::Enforce`].
    pub mode: Isolation,
    /// Further paths scripts may read (shown at the same path, read-only), besides the
    /// interpreter, its standard library and site-packages, `/usr`, `/lib*`, `/bin`, `/sbin` and
    /// the few `/etc` files name resolution, TLS and time zones need. Default none.
    pub read_only_paths: Vec<PathBuf>,
    /// Further paths scripts may write (shown at the same path). Default none. When the engine
    /// runs as root, scripts run as [`IsolationConfig::sandbox_uid`], which must be allowed to
    /// write them.
    pub read_write_paths: Vec<PathBuf>,
    /// The host user scripts run as when the engine runs as root. Default 65534 (`nobody`).
    pub sandbox_uid: u32,
    /// The host group scripts run as when the engine runs as root. Default 65534 (`nogroup`).
    pub sandbox_gid: u32,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        Self {
            mode: Isolation::Enforce,
            read_only_paths: Vec::new(),
            read_write_paths: Vec::new(),
            sandbox_uid: 65534,
            sandbox_gid: 65534,
        }
    }
}

/// Which protections a pool's workers actually run under, for a start-up log line
/// ([`crate::ScriptPool::protections`]; its `Display` is that line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protections {
    /// The mode asked for.
    pub mode: Isolation,
    /// Workers run in their own PID namespace: the engine's `/proc/<pid>` is not visible, and
    /// every process a script starts (also after `setsid()`) dies with its worker.
    pub pid_namespace: bool,
    /// Workers run in a private root holding only the interpreter, system libraries, a few
    /// `/etc` files, the configured extra paths, a private `/tmp` and a fresh `/proc`: the
    /// store, key files, flow directories and `/etc/shadow` are not there.
    pub mount_namespace: bool,
    /// The namespaces were made without root, inside a user namespace mapping only the engine's
    /// own uid (all capabilities dropped afterwards).
    pub user_namespace: bool,
    /// The host uid scripts run as.
    pub uid: u32,
    /// `PR_SET_NO_NEW_PRIVS`: no set-uid binary or file capability gives privileges back.
    pub no_new_privs: bool,
    /// The Landlock ABI applied (writes only to the private temp dir and configured paths;
    /// without the private root, reads only of the allowed paths), `None` when not applied.
    pub landlock_abi: Option<u32>,
    /// Each protection that is not in force, with why (empty when everything is).
    pub not_enforced: Vec<String>,
}

impl std::fmt::Display for Protections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Isolation::Enforce => "enforce",
            Isolation::BestEffort => "best effort",
            Isolation::Off => "off",
        };
        let mut active = vec![
            "scrubbed environment".to_string(),
            "private temp dir".into(),
        ];
        if self.pid_namespace {
            active.push("PID namespace".into());
        }
        if self.mount_namespace {
            active.push("private mount namespace".into());
        }
        if self.user_namespace {
            active.push("user namespace".into());
        }
        active.push(format!("uid {}", self.uid));
        if self.no_new_privs {
            active.push("no_new_privs".into());
        }
        if let Some(abi) = self.landlock_abi {
            active.push(format!("Landlock ABI {abi}"));
        }
        write!(f, "script isolation ({mode}): {}", active.join(", "))?;
        if !self.not_enforced.is_empty() {
            write!(f, "; NOT enforced: {}", self.not_enforced.join("; "))?;
        }
        Ok(())
    }
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
            isolation: IsolationConfig::default(),
        }
    }
}
