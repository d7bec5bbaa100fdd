//! The pool: N warm workers, FIFO admission, replacement of whatever dies.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{Isolation, PoolConfig, Protections};
use crate::error::{CompileDiagnostic, ScriptError};
use crate::output::{MAX_RAW_OUTPUT, RawOutput};
use crate::protocol::{Reply, Request, WireDiagnostic, WireResult};
use crate::py2::{self, Py2Hint};
use crate::result::{OutputFlowFile, RunOptions, RunResult};
use crate::script::{Script, ScriptForm};
use crate::worker::{Worker, WorkerSpec};

/// What [`ScriptPool::check`] learned about a script that compiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The detected form.
    pub form: ScriptForm,
    /// Python 2 idioms that compile on Python 3 but behave differently or fail at run time
    /// (`.iteritems()`, `/` on integers, ...), with the suggested change.
    pub py2_warnings: Vec<Py2Hint>,
}

/// A warm pool of isolated `python3` workers running users' scripts.
///
/// Cheap to clone (an `Arc`); `Send + Sync`. Runs beyond the number of workers wait in FIFO
/// order (tokio's semaphore is fair). A worker that times out, exceeds its memory cap, crashes
/// or misbehaves is killed and replaced in the background; the run reports what happened.
#[derive(Clone)]
pub struct ScriptPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: PoolConfig,
    protections: Protections,
    spec: WorkerSpec,
    permits: Arc<Semaphore>,
    /// One entry per free permit: a warm worker, or `None` when its replacement still has to be
    /// started (it is then started by the next run that takes the slot).
    slots: Mutex<Vec<Option<Worker>>>,
    closed: AtomicBool,
}

/// A permit plus the worker that goes with it. Dropping it returns the slot, also when the run's
/// future is cancelled mid-request (the worker is then in an unknown state and is discarded).
struct Lease {
    inner: Arc<Inner>,
    worker: Option<Worker>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut worker = self.worker.take();
        if let Some(abandoned) = worker.take_if(|w| w.busy) {
            // Kill it with its process group and reap it; without a runtime, kill_on_drop
            // still kills the worker itself.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let mut abandoned = abandoned;
                    abandoned.kill().await;
                });
            }
        }
        if let Ok(mut slots) = self.inner.slots.lock() {
            slots.push(worker);
        }
    }
}

impl std::fmt::Debug for ScriptPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptPool")
            .field("workers", &self.inner.config.workers)
            .field("python", &self.inner.spec.python)
            .finish()
    }
}

impl ScriptPool {
    /// Resolves the interpreter, starts every worker and waits until all are ready.
    pub async fn start(config: PoolConfig) -> Result<ScriptPool, ScriptError> {
        let workers = config.workers.max(1);
        let spec = WorkerSpec {
            python: resolve_python(&config).await?,
            memory_limit: config.memory_limit,
            env: config.env.clone(),
            start_timeout: config.start_timeout,
            isolation: config.isolation.clone(),
        };
        let started = futures_join_all(workers, &spec).await;
        let mut slots = Vec::with_capacity(workers);
        for worker in started {
            match worker {
                Ok(w) => slots.push(Some(w)),
                Err(e) => {
                    for w in slots.into_iter().flatten() {
                        w.shutdown().await;
                    }
                    return Err(e);
                }
            }
        }
        let protections = slots
            .iter()
            .flatten()
            .find_map(|w| w.protections.clone())
            .unwrap_or_else(|| unknown_protections(config.isolation.mode));
        if protections.not_enforced.is_empty() {
            tracing::info!("{protections}");
        } else {
            tracing::warn!("{protections}");
        }
        Ok(ScriptPool {
            inner: Arc::new(Inner {
                protections,
                config: PoolConfig { workers, ..config },
                spec,
                permits: Arc::new(Semaphore::new(workers)),
                slots: Mutex::new(slots),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The configuration the pool runs with.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// The protections the workers run under (as the first worker reported them); its
    /// `Display` is the line the pool logs at start, with a `warn` level when something is
    /// not enforced.
    pub fn protections(&self) -> &Protections {
        &self.inner.protections
    }

    /// Runs `script` on one FlowFile with this content and these attributes.
    pub async fn run(
        &self,
        script: &Script,
        content: impl Into<Vec<u8>>,
        attributes: BTreeMap<String, String>,
    ) -> Result<RunResult, ScriptError> {
        self.run_with(script, content, &attributes, &RunOptions::default())
            .await
    }

    /// [`ScriptPool::run`] with per-run options (time limit, step properties).
    pub async fn run_with(
        &self,
        script: &Script,
        content: impl Into<Vec<u8>>,
        attributes: &BTreeMap<String, String>,
        options: &RunOptions,
    ) -> Result<RunResult, ScriptError> {
        let content = content.into();
        let timeout = options.timeout.unwrap_or(self.inner.config.run_timeout);
        let mut lease = self.lease().await?;
        let Some(worker) = lease.worker.as_mut() else {
            return Err(ScriptError::ShutDown);
        };
        let mut send_source = !worker.known_scripts.contains(script.hash());
        let reply = loop {
            let request = Request {
                op: "run",
                hash: script.hash(),
                source: send_source.then(|| script.source()),
                content: None,
                content_b64: None,
                content_frame: true,
                attributes: Some(attributes),
                properties: Some(&options.properties),
            };
            let body = serde_json::to_vec(&request).map_err(|e| ScriptError::Protocol {
                detail: e.to_string(),
            })?;
            let (reply, attached) = match worker.call_with(&body, Some(&content), timeout).await {
                Ok(answer) => answer,
                Err(e) => {
                    self.replace(lease);
                    return Err(e);
                }
            };
            if reply.status == "need_source" && !send_source {
                send_source = true;
                continue;
            }
            break (reply, attached);
        };
        let (reply, attached) = reply;
        let raw_output = std::mem::take(&mut worker.last_output);
        worker.known_scripts.insert(script.hash().to_string());
        worker.runs += 1;
        let worn_out = reply.retire || worker.runs >= self.inner.config.recycle_after_runs;
        let outcome = self.interpret_run(script, reply, attached, raw_output);
        if worn_out {
            self.replace(lease);
        }
        outcome
    }

    /// Compiles `script` in a worker without running it: what the engine calls when a flow is
    /// loaded. A syntax error comes back as [`ScriptError::Compile`] with its line and, for
    /// Python 2 code, what to change.
    pub async fn check(&self, script: &Script) -> Result<CheckReport, ScriptError> {
        let mut lease = self.lease().await?;
        let Some(worker) = lease.worker.as_mut() else {
            return Err(ScriptError::ShutDown);
        };
        let request = Request {
            op: "check",
            hash: script.hash(),
            source: Some(script.source()),
            content: None,
            content_b64: None,
            content_frame: false,
            attributes: None,
            properties: None,
        };
        let body = serde_json::to_vec(&request).map_err(|e| ScriptError::Protocol {
            detail: e.to_string(),
        })?;
        let reply = match worker.call(&body, self.inner.config.run_timeout).await {
            Ok(reply) => reply,
            Err(e) => {
                self.replace(lease);
                return Err(e);
            }
        };
        match (reply.status.as_str(), reply.form, reply.diagnostic) {
            ("checked", Some(form), _) => Ok(CheckReport {
                form,
                py2_warnings: py2::scan(script.source()).hints,
            }),
            ("compile_error", _, Some(diag)) => Err(compile_error(script, diag)),
            (status, _, _) => Err(ScriptError::Protocol {
                detail: format!("unexpected reply {status:?} to a check"),
            }),
        }
    }

    /// Stops accepting runs, waits for the runs in flight, then stops every worker and reaps it
    /// (and anything its scripts started). Idempotent.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let all = u32::try_from(self.inner.config.workers).unwrap_or(u32::MAX);
        // Waits for runs in flight and background replacements: each holds a permit.
        let permits = Arc::clone(&self.inner.permits)
            .acquire_many_owned(all)
            .await;
        let workers: Vec<Worker> = match self.inner.slots.lock() {
            Ok(mut slots) => slots.drain(..).flatten().collect(),
            Err(_) => Vec::new(),
        };
        for worker in workers {
            worker.shutdown().await;
        }
        self.inner.permits.close();
        drop(permits);
    }

    async fn lease(&self) -> Result<Lease, ScriptError> {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| ScriptError::ShutDown)?;
        let slot = self.inner.slots.lock().ok().and_then(|mut s| s.pop());
        let mut lease = Lease {
            inner: Arc::clone(&self.inner),
            worker: slot.flatten(),
            _permit: permit,
        };
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(ScriptError::ShutDown);
        }
        if lease.worker.is_none() {
            lease.worker = Some(Worker::spawn(&self.inner.spec).await?);
        }
        Ok(lease)
    }

    /// Retires the lease's worker (dead or worn out) and starts its successor in the background,
    /// so the caller gets its answer without waiting for a Python start-up.
    fn replace(&self, mut lease: Lease) {
        let old = lease.worker.take();
        let spec = self.inner.spec.clone();
        let closed = self.inner.closed.load(Ordering::SeqCst);
        tokio::spawn(async move {
            if let Some(mut old) = old {
                if old.busy {
                    old.kill().await;
                } else {
                    old.shutdown().await;
                }
            }
            if !closed {
                match Worker::spawn(&spec).await {
                    Ok(w) => lease.worker = Some(w),
                    Err(e) => tracing::warn!("could not replace a script worker: {e}"),
                }
            }
            drop(lease);
        });
    }

    fn interpret_run(
        &self,
        script: &Script,
        reply: Reply,
        attached: Option<Vec<u8>>,
        raw_output: RawOutput,
    ) -> Result<RunResult, ScriptError> {
        match (reply.status.as_str(), reply.result, reply.diagnostic) {
            ("ok", Some(result), _) => {
                if result.memory_exceeded
                    && let Some(limit) = self.inner.config.memory_limit
                {
                    return Err(ScriptError::MemoryExceeded {
                        limit_mib: limit >> 20,
                    });
                }
                // Without a cap, a MemoryError is the machine running out: the result's error
                // says so and the worker is replaced all the same.
                into_run_result(result, attached, raw_output)
            }
            ("compile_error", _, Some(diag)) => Err(compile_error(script, diag)),
            ("error", _, _) => Err(ScriptError::WorkerCrashed {
                detail: format!(
                    "its own machinery failed: {}",
                    reply.message.unwrap_or_default().trim_end()
                ),
            }),
            (status, _, _) => Err(ScriptError::Protocol {
                detail: format!(
                    "unexpected reply {status:?} to a run{}",
                    reply.message.map(|m| format!(": {m}")).unwrap_or_default()
                ),
            }),
        }
    }
}

/// A worker that did not report its protections (a wrapper replacing the worker program):
/// nothing is known to be enforced.
fn unknown_protections(mode: Isolation) -> Protections {
    Protections {
        mode,
        pid_namespace: false,
        mount_namespace: false,
        user_namespace: false,
        uid: nix::unistd::geteuid().as_raw(),
        no_new_privs: false,
        landlock_abi: None,
        not_enforced: vec!["everything: the worker did not report its isolation".into()],
    }
}

fn compile_error(script: &Script, diag: WireDiagnostic) -> ScriptError {
    ScriptError::Compile(CompileDiagnostic {
        line: diag.line,
        column: diag.column,
        message: diag.message,
        text: diag.text,
        py2_hints: py2::scan(script.source()).hints,
    })
}

fn decode_content(
    text: Option<String>,
    b64: Option<String>,
) -> Result<Option<Vec<u8>>, ScriptError> {
    match (text, b64) {
        (_, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(Some)
            .map_err(|e| ScriptError::Protocol {
                detail: format!("bad base64 content: {e}"),
            }),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, None) => Ok(None),
    }
}

/// What the script printed, followed by what it (or a process it started) wrote straight to
/// fds 1/2, which is capped separately at [`MAX_RAW_OUTPUT`] bytes with a marker.
fn merge_output(printed: String, raw: RawOutput) -> String {
    if raw.kept.is_empty() {
        return printed;
    }
    let mut out = printed;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&String::from_utf8_lossy(&raw.kept));
    if raw.discarded > 0 {
        out.push_str(&format!(
            "\n[output written straight to file descriptors 1 and 2 truncated at {MAX_RAW_OUTPUT} bytes; {} more bytes discarded]",
            raw.discarded
        ));
    }
    out
}

fn into_run_result(
    wire: WireResult,
    attached: Option<Vec<u8>>,
    raw_output: RawOutput,
) -> Result<RunResult, ScriptError> {
    let mut extra_outputs = Vec::with_capacity(wire.extra_outputs.len());
    for out in wire.extra_outputs {
        extra_outputs.push(OutputFlowFile {
            content: decode_content(out.content, out.content_b64)?,
            attributes: out.attributes,
            relationship: out.relationship,
        });
    }
    Ok(RunResult {
        result_data: match attached {
            Some(data) => Some(data),
            None => decode_content(wire.result_data, wire.result_data_b64)?,
        },
        attributes: wire.attributes,
        relationship: wire.relationship,
        stdout: merge_output(wire.stdout, raw_output),
        error: wire.error,
        logs: wire.logs,
        extra_outputs,
        form: wire.form,
    })
}

/// Starts `n` workers concurrently (Python start-up dominates pool start).
async fn futures_join_all(n: usize, spec: &WorkerSpec) -> Vec<Result<Worker, ScriptError>> {
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move { Worker::spawn(&spec).await }));
    }
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap_or_else(|e| {
            Err(ScriptError::Spawn {
                python: spec.python.display().to_string(),
                detail: e.to_string(),
            })
        }));
    }
    out
}

/// Finds the real interpreter behind a bare `config.python` name (pyenv and similar shims need
/// the engine's environment, which workers never get), and checks it is Python 3.8 or newer.
async fn resolve_python(config: &PoolConfig) -> Result<std::path::PathBuf, ScriptError> {
    let python = config.python.display().to_string();
    let output = tokio::process::Command::new(&config.python)
        .arg("-I")
        .arg("-c")
        .arg("import sys; print(sys.executable); print(sys.version_info[0] * 100 + sys.version_info[1])")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| ScriptError::Spawn {
            python: python.clone(),
            detail: format!("{e} (is Python 3 installed and on PATH? set PoolConfig::python)"),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(exe), Some(version)) = (lines.next(), lines.next()) else {
        return Err(ScriptError::Spawn {
            python,
            detail: format!(
                "it did not run as Python: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    };
    if version
        .trim()
        .parse::<u32>()
        .map(|v| v < 308)
        .unwrap_or(true)
    {
        return Err(ScriptError::Spawn {
            python,
            detail: format!("Python 3.8 or newer is needed (found version code {version})"),
        });
    }
    // A bare name is resolved to the interpreter behind it; an explicit path (a wrapper, a
    // sandbox launcher) is used as given.
    let bare_name = config.python.components().count() == 1;
    Ok(if bare_name && !exe.is_empty() {
        exe.into()
    } else {
        config.python.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_can_be_shared_across_tasks_and_threads() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<ScriptPool>();
    }
}
