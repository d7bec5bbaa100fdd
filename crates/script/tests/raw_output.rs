//! A script writing straight to file descriptors 1 and 2 (not `print`) cannot grow the engine's
//! memory nor corrupt the protocol: the output is drained continuously and only 1 MiB is kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attrs, pool};
use omnibridge_script::{Relationship, Script};

/// This process's peak resident set size in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_writes_to_fds_1_and_2_are_drained_capped_and_do_not_grow_the_engine() {
    let pool = pool(1).await;
    let before = peak_rss();
    // 600 MB straight to the descriptors, without a newline, plus a subprocess writing to
    // the inherited stdout.
    let flood = Script::new(
        "import os, subprocess\n\
         ff = session.get()\n\
         chunk = b'x' * 10**8\n\
         for i in range(3):\n\
         \x20   os.write(1, chunk)\n\
         \x20   os.write(2, chunk)\n\
         subprocess.run(['head', '-c', '50000000', '/dev/zero'], check=True)\n\
         print('printed normally')\n\
         ff = session.putAttribute(ff, 'done', 'yes')\n\
         session.transfer(ff, REL_SUCCESS)\n",
    );
    let result = pool.run(&flood, "x", attrs(&[])).await.unwrap();
    let growth = peak_rss().saturating_sub(before);
    assert!(
        growth < 64 << 20,
        "the engine's peak memory grew by {} MiB",
        growth >> 20
    );
    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(result.attributes["done"], "yes");
    assert!(result.stdout.starts_with("printed normally\n"));
    assert!(
        result.stdout.contains("xxxxxxxx"),
        "the raw output is reported with the run"
    );
    assert!(
        result.stdout.len() < (1 << 20) + 4096,
        "captured output is capped: {} bytes",
        result.stdout.len()
    );
    assert!(
        result
            .stdout
            .contains("truncated at 1048576 bytes; 648951424 more bytes discarded"),
        "{}",
        &result.stdout[result.stdout.len() - 200..]
    );

    // The worker is still usable, and the next run's output starts clean.
    let next = Script::new(
        "import os\nff = session.get()\nos.write(2, b'next run\\n')\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let result = pool.run(&next, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(result.stdout, "next run\n");
    pool.shutdown().await;
}
