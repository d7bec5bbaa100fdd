//! Everything a worker process writes to its file descriptors 1 and 2.
//!
//! `print` is captured inside the worker (and capped there), but a script can also write straight
//! to the descriptors: `os.write(1, ...)`, a C extension, a subprocess that inherited them. At
//! start-up the worker points fd 1 at fd 2 (its protocol runs on duplicates of the original
//! stdin/stdout), so all of that arrives on one pipe, which this module reads continuously, so
//! the writer never blocks, while keeping only a bounded amount: up to [`MAX_RAW_OUTPUT`] bytes
//! per run, attributed to the run in flight, plus a short tail that explains a crash.

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::unix::pipe::Receiver;
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// What is kept of one run's raw output (bytes written to fds 1/2), like `print`'s 1 MiB cap.
pub(crate) const MAX_RAW_OUTPUT: usize = 1 << 20;

/// How much of the latest output is kept to explain a crash.
const TAIL: usize = 4096;

/// Bytes read per system call.
const CHUNK: usize = 64 << 10;

/// Reads per wake-up before the drain task yields: a script writing without pause must not
/// starve the other tasks of the runtime.
const READS_PER_WAKEUP: usize = 16;

/// How much of one unattributed chunk goes to the debug log.
const LOG_PREVIEW: usize = 1024;

/// A run's raw output: what was kept and how much was thrown away.
#[derive(Debug, Default)]
pub(crate) struct RawOutput {
    /// The first [`MAX_RAW_OUTPUT`] bytes.
    pub kept: Vec<u8>,
    /// Bytes written beyond the cap and discarded.
    pub discarded: u64,
}

#[derive(Default)]
struct State {
    /// Set between the request and the reply of a run: output then belongs to that run.
    capturing: bool,
    run: RawOutput,
    tail: Vec<u8>,
    /// The buffer of synchronous reads, allocated once (not per run: zeroing 64 KiB twice a
    /// run showed in the round-trip time).
    scratch: Vec<u8>,
}

impl State {
    fn push(&mut self, pid: u32, bytes: &[u8]) {
        if self.capturing {
            let room = MAX_RAW_OUTPUT.saturating_sub(self.run.kept.len());
            let keep = room.min(bytes.len());
            self.run.kept.extend_from_slice(&bytes[..keep]);
            self.run.discarded += (bytes.len() - keep) as u64;
        } else {
            let preview = &bytes[..bytes.len().min(LOG_PREVIEW)];
            tracing::debug!(
                worker = pid,
                bytes = bytes.len(),
                "{}",
                String::from_utf8_lossy(preview)
            );
        }
        // The tail: the last TAIL bytes, trimmed in batches to keep this amortised O(1).
        let start = bytes.len().saturating_sub(TAIL);
        self.tail.extend_from_slice(&bytes[start..]);
        if self.tail.len() > 2 * TAIL {
            let cut = self.tail.len() - TAIL;
            self.tail.drain(..cut);
        }
    }
}

/// The reading end of a worker's output pipe and the task draining it.
pub(crate) struct OutputDrain {
    pid: u32,
    pipe: Arc<Receiver>,
    state: Arc<Mutex<State>>,
    task: Option<JoinHandle<()>>,
}

impl OutputDrain {
    /// Starts draining the worker's stderr (which its stdout was pointed at).
    pub fn start(stderr: ChildStderr, pid: u32) -> std::io::Result<OutputDrain> {
        let pipe = Arc::new(Receiver::from_owned_fd(stderr.into_owned_fd()?)?);
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn(drain(Arc::clone(&pipe), Arc::clone(&state), pid));
        Ok(OutputDrain {
            pid,
            pipe,
            state,
            task: Some(task),
        })
    }

    /// A run is about to be sent: what the worker wrote before belongs to no run.
    pub fn begin_run(&self) {
        if let Ok(mut state) = self.state.lock() {
            self.read_available(&mut state);
            state.capturing = true;
            state.run = RawOutput::default();
        }
    }

    /// The reply of a run arrived: everything the worker wrote before sending it is already in
    /// the pipe, so reading what is available now completes the run's output.
    pub fn end_run(&self) -> RawOutput {
        match self.state.lock() {
            Ok(mut state) => {
                self.read_available(&mut state);
                state.capturing = false;
                std::mem::take(&mut state.run)
            }
            Err(_) => RawOutput::default(),
        }
    }

    /// The last few KiB the worker wrote, to explain why it died.
    pub fn tail(&self) -> String {
        match self.state.lock() {
            Ok(mut state) => {
                self.read_available(&mut state);
                let start = state.tail.len().saturating_sub(TAIL);
                String::from_utf8_lossy(&state.tail[start..]).into_owned()
            }
            Err(_) => String::new(),
        }
    }

    /// Waits briefly for the pipe to close (the worker is dead), then stops draining: a process
    /// that escaped the worker and still holds the pipe must not keep the task alive.
    pub async fn finish(&mut self) {
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_millis(500), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    /// Reads whatever is in the pipe right now, without waiting. The read happens on the raw
    /// (non-blocking) descriptor: tokio's own `try_read` gives up without reading when its
    /// reactor has not yet seen the readiness event, and here every byte written before the
    /// reply must be counted.
    fn read_available(&self, state: &mut State) {
        let mut buf = std::mem::take(&mut state.scratch);
        buf.resize(CHUNK, 0);
        loop {
            match nix::unistd::read(self.pipe.as_fd(), &mut buf) {
                Ok(0) => break,
                Ok(n) => state.push(self.pid, &buf[..n]),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break, // EAGAIN: nothing more for now
            }
        }
        state.scratch = buf;
    }
}

impl Drop for OutputDrain {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn drain(pipe: Arc<Receiver>, shared: Arc<Mutex<State>>, pid: u32) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if pipe.readable().await.is_err() || !read_ready(&pipe, &shared, pid, &mut buf) {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Reads what the reactor saw arrive, a bounded number of chunks at a time. `false` once the
/// pipe is closed (every writer is gone) or broken.
fn read_ready(pipe: &Receiver, shared: &Mutex<State>, pid: u32, buf: &mut [u8]) -> bool {
    // The lock is held while reading so that chunks reach the state in pipe order, also when
    // `OutputDrain::read_available` reads concurrently.
    let Ok(mut state) = shared.lock() else {
        return false;
    };
    for _ in 0..READS_PER_WAKEUP {
        match pipe.try_read(buf) {
            Ok(0) => return false,
            Ok(n) => state.push(pid, &buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_at_most_the_cap_and_counts_the_rest() {
        let mut state = State {
            capturing: true,
            ..State::default()
        };
        let chunk = vec![b'x'; CHUNK];
        for _ in 0..40 {
            state.push(1, &chunk);
        }
        assert_eq!(state.run.kept.len(), MAX_RAW_OUTPUT);
        assert_eq!(
            state.run.discarded,
            (40 * CHUNK - MAX_RAW_OUTPUT) as u64,
            "everything beyond the cap is counted"
        );
        assert!(state.tail.len() <= 2 * TAIL);
    }

    #[test]
    fn output_between_runs_only_feeds_the_tail() {
        let mut state = State::default();
        state.push(1, b"Fatal Python error: Segmentation fault\n");
        assert!(state.run.kept.is_empty());
        assert!(state.tail.ends_with(b"Segmentation fault\n"));
    }
}
