//! Per-run cost of the warm pool against a cold `python3` process per run.
//!
//! Prints, besides criterion's own report:
//! - the round-trip time of a trivial NiFi script through the pool (median, p99): everything the
//!   pool adds to a script (framing, JSON, session set-up, scheduling), since the script itself
//!   does nearly nothing;
//! - the seeds' template on the 4.2 KB order of `shared/bench/jolt/order-input.json`;
//! - throughput with every worker busy;
//! - a cold `python3` process per run doing the same trivial work, and the ratio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use omnibridge_script::{PoolConfig, Script, ScriptPool};

const TRIVIAL: &str = "ff = session.get()\nsession.transfer(ff, REL_SUCCESS)\n";
const COLD_TRIVIAL: &str = "import sys\nsys.stdout.write(sys.stdin.read())\n";

fn order() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/bench/jolt/order-input.json"
    ))
    .expect("shared/bench beside the repository")
}

fn template() -> String {
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/004_dbcdb5cc9060168b.txt"
    ))
    .expect("shared/seeds beside the repository");
    let after = seed.split("**Example Script:**").nth(1).unwrap();
    let code = after.split("```python\n").nth(1).unwrap();
    code.split("```").next().unwrap().to_string()
}

/// The real interpreter behind `python3` (a pyenv shim would add a bash start-up to every cold
/// run and flatter the pool).
fn real_python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn cold_run(python: &str) {
    let mut child = Command::new(python)
        .args(["-I", "-c", COLD_TRIVIAL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"{}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn latencies(
    rt: &tokio::runtime::Runtime,
    pool: &ScriptPool,
    script: &Script,
    input: &str,
    n: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let result = rt
            .block_on(pool.run(script, input, BTreeMap::new()))
            .unwrap();
        samples.push(start.elapsed());
        assert!(result.succeeded(), "{result:?}");
    }
    samples.sort();
    samples
}

fn summary(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = rt
        .block_on(ScriptPool::start(PoolConfig::default()))
        .unwrap();
    let workers = pool.config().workers;
    let trivial = Script::new(TRIVIAL);
    let template = Script::new(template());
    let order = order();

    latencies(&rt, &pool, &trivial, "{}", 2000); // warm-up
    let trivial_samples = latencies(&rt, &pool, &trivial, "{}", 20_000);
    let template_samples = latencies(&rt, &pool, &template, &order, 5_000);

    // Throughput: 4 runs in flight per worker for 3 s.
    let busy = Duration::from_secs(3);
    let completed = rt.block_on(async {
        let deadline = Instant::now() + busy;
        let tasks: Vec<_> = (0..workers * 4)
            .map(|_| {
                let (pool, script) = (pool.clone(), trivial.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        pool.run(&script, "{}", BTreeMap::new()).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });

    let python = real_python();
    let mut cold: Vec<Duration> = (0..100)
        .map(|_| {
            let start = Instant::now();
            cold_run(&python);
            start.elapsed()
        })
        .collect();
    cold.sort();

    let pool_median = percentile(&trivial_samples, 0.5);
    println!("\n== omnibridge-script pool ({workers} workers)");
    println!(
        "trivial script through the pool: median {:.1} us, p99 {:.1} us ({} runs)",
        micros(pool_median),
        micros(percentile(&trivial_samples, 0.99)),
        trivial_samples.len()
    );
    println!(
        "seed template on the 4.2 KB order: median {:.1} us, p99 {:.1} us ({} runs)",
        micros(percentile(&template_samples, 0.5)),
        micros(percentile(&template_samples, 0.99)),
        template_samples.len()
    );
    println!(
        "throughput, all workers busy: {:.0} runs/s ({} runs in {} s)",
        completed as f64 / busy.as_secs_f64(),
        completed,
        busy.as_secs()
    );
    println!(
        "cold python3 process per run ({python}): median {:.1} us, p99 {:.1} us ({} runs)",
        micros(percentile(&cold, 0.5)),
        micros(percentile(&cold, 0.99)),
        cold.len()
    );
    println!(
        "warm pool vs cold process (median): {:.0}x faster\n",
        percentile(&cold, 0.5).as_secs_f64() / pool_median.as_secs_f64()
    );

    let mut group = c.benchmark_group("script");
    group.bench_function("pool_trivial_run", |b| {
        b.iter(|| {
            rt.block_on(pool.run(&trivial, "{}", BTreeMap::new()))
                .unwrap()
        })
    });
    group.bench_function("pool_seed_template_4k_order", |b| {
        b.iter(|| {
            rt.block_on(pool.run(&template, order.as_str(), BTreeMap::new()))
                .unwrap()
        })
    });
    group.sample_size(20);
    group.bench_function("cold_python3_process", |b| b.iter(|| cold_run(&python)));
    group.finish();
    rt.block_on(pool.shutdown());
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    summary(&mut c);
    c.final_summary();
}
