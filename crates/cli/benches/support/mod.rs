//! What the end-to-end benchmarks share: the simulators in their own process, small blocking
//! HTTP helpers, and one `omnibridge run --once` measured (its summary and peak memory).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_omnibridge");

/// `omnibridge sim` running in its own process.
pub struct Sims {
    child: Child,
    pub omnitron: String,
    pub erp: String,
}

impl Drop for Sims {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts both simulators with `orders` orders (seed 42) on free ports.
pub fn start_sims(orders: usize) -> Sims {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--omnitron-listen",
            "127.0.0.1:0",
            "--erp-listen",
            "127.0.0.1:0",
        ])
        .args(["--orders", &orders.to_string(), "--seed", "42"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut omnitron, mut erp) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Omnitron simulator: ") {
            omnitron = rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(rest) = line.strip_prefix("ERP simulator: ") {
            erp = rest.split_whitespace().next().unwrap().to_string();
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    // Keep draining stdout so the simulator never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Sims {
        child,
        omnitron,
        erp,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `GET url` as JSON.
pub fn get(url: &str) -> Value {
    runtime().block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

/// `method url` with a JSON body; the answer must be a success.
pub fn send(method: reqwest::Method, url: &str, body: Option<&Value>) {
    runtime().block_on(async {
        let mut request = reqwest::Client::new().request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.status().is_success(), "{url}: {}", answer.status());
    })
}

/// `POST url` with a JSON body.
pub fn post(url: &str, body: &Value) {
    send(reqwest::Method::POST, url, Some(body));
}

/// What one run did and cost.
pub struct Outcome {
    /// The count printed after `, <label> ` in the summary line (`sent`, `updated`).
    pub count: u64,
    /// The run's own duration.
    pub seconds: f64,
    /// The engine's peak resident memory (VmHWM).
    pub peak_kib: u64,
}

/// Runs `omnibridge run <flow> --once` on a fresh store and reads its summary and peak memory.
pub fn run_flow(sims: &Sims, work: &Path, flow: &Path, label: &str) -> Outcome {
    let db = work.join(format!("store-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let mut child = Command::new(BIN)
        .args([
            "run",
            flow.to_str().unwrap(),
            "--once",
            "--quiet",
            "--database",
            &format!("sqlite://{}", db.display()),
        ])
        .env("OMNITRON_URL", format!("{}/", sims.omnitron))
        .env("ERP_URL", &sims.erp)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            peak_kib = peak_kib.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let count = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("read "))
        .and_then(|l| l.split(&format!(", {label} ")).nth(1))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in: {stdout}"));
    let seconds = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("duration "))
        .and_then(|l| l.trim_end_matches(" s").parse().ok())
        .unwrap();
    Outcome {
        count,
        seconds,
        peak_kib,
    }
}
