//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use omnibridge_script::{PoolConfig, ScriptPool};

/// A pool with `workers` workers and a short time limit, so failure tests stay fast.
pub async fn pool(workers: usize) -> ScriptPool {
    ScriptPool::start(PoolConfig {
        workers,
        run_timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    })
    .await
    .expect("python3 must be on PATH for these tests")
}

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The "Example Script" of the Order Flow seed, verbatim (its 3-space indentation included).
pub fn seed_template() -> String {
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/004_dbcdb5cc9060168b.txt"
    ))
    .expect("the seeds sit beside the repository");
    let after = seed
        .split("**Example Script:**")
        .nth(1)
        .expect("the seed has an Example Script");
    let code = after.split("```python\n").nth(1).expect("a python block");
    code.split("```")
        .next()
        .expect("a closed block")
        .to_string()
}
