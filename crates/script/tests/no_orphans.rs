//! 1,000 runs across the pool (some of them crashing) leave no zombie or orphan process behind.
//! One test in its own binary: it inspects every child of this test process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attrs, pool};
use omnibridge_script::{Relationship, Script};

/// Pids of live or zombie processes whose parent is this process, or that belong to the
/// process group of a worker (anything a script left running).
fn descendants_of_this_process() -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ..." - comm may contain spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(me) {
            found.push((pid, stat.trim().to_string()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_runs_and_some_crashes_leave_no_process_behind() {
    let pool = pool(2).await;
    assert_eq!(descendants_of_this_process().len(), 2, "two warm workers");
    let ok = Script::new(
        "ff = session.get()\nsession.putAttribute(ff, 'n', ff.getAttribute('n'))\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    // A script that leaves a child process running and then dies: its process group goes too.
    let crash =
        Script::new("import os, subprocess\nsubprocess.Popen(['sleep', '97'])\nos._exit(1)\n");

    let mut runs = Vec::new();
    for i in 0..1000 {
        let (pool, ok, crash) = (pool.clone(), ok.clone(), crash.clone());
        runs.push(tokio::spawn(async move {
            if i % 250 == 0 {
                pool.run(&crash, "x", attrs(&[]))
                    .await
                    .map(|_| ())
                    .unwrap_err();
                None
            } else {
                let result = pool
                    .run(&ok, "x", attrs(&[("n", &i.to_string())]))
                    .await
                    .unwrap();
                assert_eq!(result.relationship, Some(Relationship::Success));
                Some(result.attributes["n"].clone())
            }
        }));
    }
    let mut completed = 0;
    for (i, run) in runs.into_iter().enumerate() {
        if let Some(n) = run.await.unwrap() {
            assert_eq!(n, i.to_string());
            completed += 1;
        }
    }
    assert_eq!(completed, 996);

    pool.shutdown().await;
    let left = descendants_of_this_process();
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    let sleepers = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("cmdline")).ok())
        .filter(|cmd| cmd == "sleep\x0097\x00")
        .count();
    assert_eq!(sleepers, 0, "a script's child process outlived its worker");
}
