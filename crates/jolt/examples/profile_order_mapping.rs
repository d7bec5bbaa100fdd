//! Runs the benchmark's order mapping in a plain loop, for instruction-count profiling
//! (`valgrind --tool=callgrind`, `perf stat`), which criterion's harness would blur:
//! `cargo run --release -p omnibridge-jolt --example profile_order_mapping -- chain 1000`
//! (`chain`, `shift`, `chain-json`, `shift-json` (`apply_to_json`), `chain-transform`,
//! `shift-transform` (the borrowed output of `transform`), `parse`, `copy-chain` or
//! `copy-shift`, then the iteration count). Prints the CPU time per run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_jolt::Jolt;
use serde_json::Value;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read(name: &str) -> String {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bench/jolt/").to_string() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> Value {
    omnibridge_jolt::parse_json_with_comments(&read(name)).unwrap()
}

fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = text
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "chain".into());
    let runs: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let input = load("order-input.json");
    let input_text = read("order-input.json");
    let jolt = match which.as_str() {
        "shift" | "shift-json" | "shift-transform" => {
            Jolt::compile(&load("order-spec-shift-only.json")).unwrap()
        }
        _ => Jolt::compile(&load("order-spec.json")).unwrap(),
    };
    // `copy-shift`/`copy-chain`: the floor of any engine returning a fresh `Value`, copying the
    // expected output document (and dropping it).
    let expected = match which.as_str() {
        "copy-shift" => load("order-shift-only-output-java.json"),
        _ => load("order-output-java.json"),
    };
    let start = cpu_seconds();
    for _ in 0..runs {
        if which.starts_with("copy") {
            black_box(black_box(&expected).clone());
        } else if which.ends_with("-transform") {
            black_box(jolt.transform(black_box(&input)).unwrap());
        } else if which.ends_with("-json") {
            black_box(jolt.apply_to_json(black_box(&input)).unwrap());
        } else if which == "parse" {
            black_box(serde_json::from_str::<Value>(black_box(&input_text)).unwrap());
        } else {
            black_box(jolt.apply(black_box(&input)).unwrap());
        }
    }
    let spent = cpu_seconds() - start;
    println!(
        "{which}: {runs} runs, {:.2} µs CPU per run",
        spent * 1e6 / f64::from(runs)
    );
}
