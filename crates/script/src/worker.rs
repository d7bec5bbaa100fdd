//! One worker process: spawning it isolated, one request/reply, and killing it for good.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::config::{Isolation, IsolationConfig, Protections};
use crate::error::ScriptError;
use crate::output::{OutputDrain, RawOutput};
use crate::protocol::{FrameError, Reply, read_frame, write_frame};

/// The worker program, passed as an argument: no file to write, nothing left on disk.
const WORKER_PROGRAM: &str = include_str!("../python/worker.py");

/// Compiles the program under a name that says what its frames are in users' tracebacks.
const BOOTSTRAP: &str = "import sys; exec(compile(sys.argv[1], '<omnibridge nifi shim>', 'exec'))";

/// Everything needed to start a worker; shared by all workers of a pool.
#[derive(Clone, Debug)]
pub(crate) struct WorkerSpec {
    pub python: PathBuf,
    pub memory_limit: Option<u64>,
    pub env: BTreeMap<String, String>,
    pub start_timeout: Duration,
    pub isolation: IsolationConfig,
}

/// The isolation settings as the worker reads them (its argv[3]).
#[derive(Serialize)]
struct WireIsolation<'a> {
    mode: Isolation,
    read_only: Vec<&'a str>,
    read_write: Vec<&'a str>,
    uid: u32,
    gid: u32,
    temp_dir: &'a str,
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("the path {} is not UTF-8", path.display()))
}

impl WorkerSpec {
    fn isolation_arg(&self, temp_dir: &Path) -> Result<String, String> {
        let iso = &self.isolation;
        let wire = WireIsolation {
            mode: iso.mode,
            read_only: iso
                .read_only_paths
                .iter()
                .map(|p| path_str(p))
                .collect::<Result<_, _>>()?,
            read_write: iso
                .read_write_paths
                .iter()
                .map(|p| path_str(p))
                .collect::<Result<_, _>>()?,
            uid: iso.sandbox_uid,
            gid: iso.sandbox_gid,
            temp_dir: path_str(temp_dir)?,
        };
        serde_json::to_string(&wire).map_err(|e| e.to_string())
    }
}

/// A live worker process. Dropping it kills the process (`kill_on_drop`); [`Worker::kill`] and
/// [`Worker::shutdown`] also reap it and its process group.
pub(crate) struct Worker {
    child: Child,
    pid: u32,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Drains fds 1/2 of the worker (and of anything it started) with a bounded capture.
    output: OutputDrain,
    /// What the last request's worker wrote straight to fds 1/2 while it ran.
    pub last_output: RawOutput,
    /// Script hashes this worker has compiled (so their source need not be sent again).
    pub known_scripts: HashSet<String>,
    /// Completed runs, for recycling.
    pub runs: u64,
    /// Set while a request is in flight: a worker dropped in that state is in an unknown state.
    pub busy: bool,
    /// What the worker reported it runs under.
    pub protections: Option<Protections>,
    /// The worker's private temp dir (its `/tmp` inside the sandbox), removed when it is
    /// dropped, after the process.
    _temp: tempfile::TempDir,
}

impl Worker {
    /// Starts a worker and waits for its "ready" message.
    pub async fn spawn(spec: &WorkerSpec) -> Result<Worker, ScriptError> {
        let spawn_error = |detail: String| ScriptError::Spawn {
            python: spec.python.display().to_string(),
            detail,
        };
        let temp = tempfile::Builder::new()
            .prefix("omnibridge-worker-")
            .tempdir()
            .map_err(|e| spawn_error(format!("cannot create its private temp dir: {e}")))?;
        let home = temp.path();
        let isolation = spec.isolation_arg(home).map_err(spawn_error)?;
        let mut cmd = Command::new(&spec.python);
        cmd.arg("-I")
            .arg("-c")
            .arg(BOOTSTRAP)
            .arg(WORKER_PROGRAM)
            .arg(spec.memory_limit.unwrap_or(0).to_string())
            .arg(isolation)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", home)
            .env("TMPDIR", home);
        if let Some(tz) = std::env::var_os("TZ") {
            cmd.env("TZ", tz);
        }
        cmd.envs(&spec.env)
            .current_dir(home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so killing the worker also kills anything a script started.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| spawn_error(e.to_string()))?;
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(spawn_error("the worker's pipes were not created".into()));
        };
        let output = match OutputDrain::start(stderr, pid) {
            Ok(output) => output,
            Err(e) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(spawn_error(format!("cannot read the worker's output: {e}")));
            }
        };
        let mut worker = Worker {
            child,
            pid,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            output,
            last_output: RawOutput::default(),
            known_scripts: HashSet::new(),
            runs: 0,
            busy: false,
            protections: None,
            _temp: temp,
        };
        let hello =
            match tokio::time::timeout(spec.start_timeout, read_frame(&mut worker.stdout)).await {
                Ok(Ok(body)) => body,
                Ok(Err(_)) => {
                    let detail = worker.death_detail().await;
                    return Err(spawn_error(detail));
                }
                Err(_) => {
                    worker.kill().await;
                    return Err(spawn_error(format!(
                        "the worker did not start within {} s",
                        spec.start_timeout.as_secs()
                    )));
                }
            };
        let hello: Reply = match serde_json::from_slice(&hello) {
            Ok(reply) => reply,
            Err(e) => {
                worker.kill().await;
                return Err(spawn_error(format!("unexpected start-up message: {e}")));
            }
        };
        if hello.status != "ready" {
            worker.kill().await;
            return Err(spawn_error(format!(
                "unexpected start-up status {:?}",
                hello.status
            )));
        }
        tracing::debug!(worker = pid, python = ?hello.python, "script worker ready");
        worker.protections = hello.protections;
        Ok(worker)
    }

    /// Sends one request and waits for the reply, within `timeout`. On any failure the worker
    /// is dead (killed if needed) and reaped, and the error says what happened.
    pub async fn call(&mut self, request: &[u8], timeout: Duration) -> Result<Reply, ScriptError> {
        self.call_with(request, None, timeout)
            .await
            .map(|(reply, _)| reply)
    }

    /// [`Worker::call`] with a raw frame after the request (`attachment`), returning the raw
    /// frame that follows a reply whose result says `result_data_frame`.
    pub async fn call_with(
        &mut self,
        request: &[u8],
        attachment: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<(Reply, Option<Vec<u8>>), ScriptError> {
        self.busy = true;
        self.output.begin_run();
        let exchange = async {
            let Some(stdin) = self.stdin.as_mut() else {
                return Err(FrameError::Closed);
            };
            let pipe_error = |e: std::io::Error| match e.kind() {
                std::io::ErrorKind::BrokenPipe => FrameError::Closed,
                _ => FrameError::Io(e),
            };
            write_frame(stdin, request).await.map_err(pipe_error)?;
            if let Some(attachment) = attachment {
                write_frame(stdin, attachment).await.map_err(pipe_error)?;
            }
            let body = read_frame(&mut self.stdout).await?;
            let Ok(reply) = serde_json::from_slice::<Reply>(&body) else {
                // Not a reply: reported with a preview below.
                return Ok((body, None, None));
            };
            let attached = match &reply.result {
                Some(result) if result.result_data_frame => {
                    Some(read_frame(&mut self.stdout).await?)
                }
                _ => None,
            };
            Ok((body, Some(reply), attached))
        };
        let (body, reply, attached) = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(read)) => read,
            Ok(Err(FrameError::TooLarge(len))) => {
                self.kill().await;
                return Err(ScriptError::Protocol {
                    detail: format!("a reply claiming {len} bytes"),
                });
            }
            Ok(Err(FrameError::Closed)) => {
                let detail = self.death_detail().await;
                return Err(ScriptError::WorkerCrashed { detail });
            }
            Ok(Err(FrameError::Io(e))) => {
                let detail = format!("pipe error {e}; {}", self.death_detail().await);
                return Err(ScriptError::WorkerCrashed { detail });
            }
            Err(_) => {
                self.kill().await;
                return Err(ScriptError::TimedOut {
                    seconds: timeout.as_secs_f64(),
                });
            }
        };
        self.last_output = self.output.end_run();
        if let Some(reply) = reply {
            self.busy = false;
            return Ok((reply, attached));
        }
        match serde_json::from_slice::<Reply>(&body) {
            Ok(reply) => {
                self.busy = false;
                Ok((reply, attached))
            }
            Err(e) => {
                self.kill().await;
                let preview: String = String::from_utf8_lossy(&body).chars().take(80).collect();
                Err(ScriptError::Protocol {
                    detail: format!("{e} in {preview:?}"),
                })
            }
        }
    }

    /// The worker's pipe closed: wait for its exit and describe it with its last stderr lines.
    async fn death_detail(&mut self) -> String {
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let what = match status {
            Ok(Ok(status)) => describe_exit(status),
            _ => "it stopped answering".to_string(),
        };
        self.kill().await;
        let tail = self.stderr_tail();
        if tail.trim().is_empty() {
            what
        } else {
            format!("{what}; its last output:\n{}", tail.trim_end())
        }
    }

    fn stderr_tail(&self) -> String {
        self.output.tail()
    }

    /// Kills the worker's whole process group and reaps the worker.
    pub async fn kill(&mut self) {
        self.stdin = None;
        if let Ok(pgid) = i32::try_from(self.pid)
            && pgid > 0
        {
            // The group may already be gone; nothing to do then.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.output.finish().await;
    }

    /// Asks the worker to exit (by closing its stdin), waits briefly, then kills it if needed.
    pub async fn shutdown(mut self) {
        self.stdin = None;
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                worker = self.pid,
                "script worker did not exit on request; killing it"
            );
        }
        self.kill().await;
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("the worker process exited with status {code}");
    }
    match status.signal() {
        Some(sig) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {sig}"));
            let meaning = match name.as_str() {
                "SIGSEGV" => " (segmentation fault)",
                "SIGKILL" => " (killed, e.g. by the kernel's out-of-memory killer)",
                "SIGABRT" => " (aborted)",
                "SIGBUS" => " (bus error)",
                _ => "",
            };
            format!("the worker process was killed by {name}{meaning}")
        }
        None => format!("the worker process ended: {status}"),
    }
}
