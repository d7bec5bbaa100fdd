//! Scripts that loop, eat memory, crash or misbehave: the run fails with what happened, the
//! worker is replaced and the pool keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{attrs, pool};
use omnibridge_script::{PoolConfig, Relationship, RunOptions, Script, ScriptError, ScriptPool};

const HEALTHY: &str = "ff = session.get()\nsession.putAttribute(ff, 'ok', 'yes')\nsession.transfer(ff, REL_SUCCESS)\n";

/// Every worker of the pool answers a normal run.
async fn assert_healthy(pool: &ScriptPool) {
    let healthy = Script::new(HEALTHY);
    let runs: Vec<_> = (0..pool.config().workers * 2)
        .map(|_| pool.run(&healthy, "x", attrs(&[])))
        .collect();
    for run in runs {
        let result = run.await.unwrap();
        assert_eq!(result.relationship, Some(Relationship::Success));
        assert_eq!(result.attributes["ok"], "yes");
    }
}

#[tokio::test]
async fn an_infinite_loop_times_out_and_the_pool_stays_healthy() {
    let pool = ScriptPool::start(PoolConfig {
        workers: 2,
        run_timeout: Duration::from_secs(1),
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let looping = Script::new("ff = session.get()\nwhile True:\n    pass\n");
    let err = pool.run(&looping, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::TimedOut { .. }), "{err}");
    assert!(err.to_string().contains("timed out after 1 s"), "{err}");

    // A per-run override applies to that run only.
    let quick = RunOptions {
        timeout: Some(Duration::from_millis(300)),
        ..RunOptions::default()
    };
    let err = pool
        .run_with(
            &Script::new("import time\ntime.sleep(30)\n"),
            "x",
            &attrs(&[]),
            &quick,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out after 0.3 s"), "{err}");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn a_memory_bomb_is_capped_with_a_clear_message_and_the_pool_stays_healthy() {
    let pool = ScriptPool::start(PoolConfig {
        workers: 1,
        memory_limit: Some(256 << 20),
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let bomb =
        Script::new("ff = session.get()\nhog = []\nwhile True:\n    hog.append(' ' * (1 << 20))\n");
    let err = pool.run(&bomb, "x", attrs(&[])).await.unwrap_err();
    assert!(
        matches!(err, ScriptError::MemoryExceeded { limit_mib: 256 }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("exceeded the worker's limit of 256 MiB"),
        "{err}"
    );

    let at_once = Script::new("x = 'a' * (10 ** 10)\n");
    let err = pool.run(&at_once, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::MemoryExceeded { .. }), "{err}");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn os_exit_and_segfaults_replace_the_worker() {
    let pool = pool(2).await;
    let exit = Script::new("import os\nos._exit(1)\n");
    let err = pool.run(&exit, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::WorkerCrashed { .. }), "{err}");
    assert!(err.to_string().contains("exited with status 1"), "{err}");

    let segv = Script::new("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
    let err = pool.run(&segv, "x", attrs(&[])).await.unwrap_err();
    assert!(
        err.to_string().contains("SIGSEGV (segmentation fault)"),
        "{err}"
    );

    let null_read = Script::new("import ctypes\nctypes.string_at(0)\n");
    let err = pool.run(&null_read, "x", attrs(&[])).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("SIGSEGV"), "{message}");
    // faulthandler points at the script's line.
    assert!(message.contains("File \"<script>\", line 2"), "{message}");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn garbage_on_the_protocol_pipe_replaces_the_worker() {
    let pool = pool(1).await;
    let garbage = Script::new(
        "import os, time\nfor fd in os.listdir('/proc/self/fd'):\n    try:\n        os.write(int(fd), b'\\xff\\xff\\xff\\xffgarbage')\n    except OSError:\n        pass\ntime.sleep(5)\n",
    );
    let err = pool.run(&garbage, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::Protocol { .. }), "{err}");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_run_discards_its_worker_and_the_pool_stays_healthy() {
    let pool = pool(1).await;
    let slow = Script::new("import time\ntime.sleep(30)\n");
    let cancelled =
        tokio::time::timeout(Duration::from_millis(200), pool.run(&slow, "x", attrs(&[]))).await;
    assert!(cancelled.is_err(), "the run was still going");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn a_script_that_breaks_the_worker_machinery_fails_cleanly() {
    let pool = pool(1).await;
    // json is shared with the worker's own protocol code.
    let sabotage = Script::new(
        "import json\njson.dumps = None\nff = session.get()\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let err = pool.run(&sabotage, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::WorkerCrashed { .. }), "{err}");
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn sys_exit_is_a_script_error_not_a_crash() {
    let pool = pool(1).await;
    let result = pool
        .run(&Script::new("import sys\nsys.exit(3)\n"), "x", attrs(&[]))
        .await
        .unwrap();
    assert_eq!(result.relationship, None);
    assert!(result.error.unwrap().contains("sys.exit(3)"));
    assert_healthy(&pool).await;
    pool.shutdown().await;
}

#[tokio::test]
async fn workers_never_see_the_engines_environment() {
    // cargo sets CARGO_MANIFEST_DIR for this test process: it stands in for the engine's secrets.
    let secret_var = "CARGO_MANIFEST_DIR";
    assert!(std::env::var(secret_var).is_ok());
    let pool = pool(1).await;
    let script = Script::new(format!(
        "import os\nff = session.get()\nsession.putAttribute(ff, 'env', ','.join(sorted(os.environ)))\nsession.putAttribute(ff, 'secret', str(os.environ.get('{secret_var}')))\nsession.transfer(ff, REL_SUCCESS)\n"
    ));
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["secret"], "None");
    assert_eq!(result.attributes["env"], "HOME,LANG,LC_ALL,PATH,TMPDIR");
    pool.shutdown().await;
}

#[tokio::test]
async fn workers_are_recycled_after_n_runs_and_each_run_gets_fresh_globals() {
    let pool = ScriptPool::start(PoolConfig {
        workers: 1,
        recycle_after_runs: 3,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    // Module globals do not survive between runs; the worker changes after 3 runs. (Its pid
    // cannot tell: in its PID namespace every worker is pid 2. Imported modules live as long
    // as the worker process, so one remembers an id drawn by the worker's first run.)
    let script = Script::new(
        "import sys, uuid\nff = session.get()\nsession.putAttribute(ff, 'pid', sys.__dict__.setdefault('_worker_id', str(uuid.uuid4())))\nsession.putAttribute(ff, 'fresh', str('seen' not in globals()))\nseen = True\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let mut pids = Vec::new();
    for _ in 0..6 {
        let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
        assert_eq!(result.attributes["fresh"], "True");
        pids.push(result.attributes["pid"].clone());
    }
    assert!(pids[0] == pids[1] && pids[1] == pids[2], "{pids:?}");
    assert_ne!(pids[2], pids[3], "{pids:?}");
    assert!(pids[3] == pids[4] && pids[4] == pids[5], "{pids:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn runs_beyond_the_worker_count_queue_and_all_complete() {
    let pool = pool(2).await;
    let script = Script::new(
        "import time\nff = session.get()\ntime.sleep(0.05)\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let runs: Vec<_> = (0..10)
        .map(|i| {
            let pool = pool.clone();
            let script = script.clone();
            tokio::spawn(async move { pool.run(&script, format!("{i}"), attrs(&[])).await })
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let result = run.await.unwrap().unwrap();
        assert_eq!(result.result_text(), Some(i.to_string().as_str()));
    }
    pool.shutdown().await;
    let err = pool.run(&script, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::ShutDown));
}

#[tokio::test]
async fn queued_runs_start_in_arrival_order() {
    let pool = pool(1).await;
    // Run 0 holds the only worker until the test says "go" on a socket: no sleep decides
    // whether the other runs have queued up by then.
    let gate = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gate.local_addr().unwrap().port();
    let script = Script::new(format!(
        "import socket\nff = session.get()\nif ff.getAttribute('wait') == 'yes':\n    s = socket.create_connection(('127.0.0.1', {port}))\n    assert s.recv(2) == b'go'\nsession.transfer(ff, REL_SUCCESS)\n"
    ));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (pool, script, done) = (pool.clone(), script.clone(), done_tx.clone());
        let wait = if i == 0 { "yes" } else { "no" };
        let mut run = Box::pin(async move {
            let result = pool
                .run(&script, format!("{i}"), attrs(&[("wait", wait)]))
                .await;
            done.send(result.unwrap().result_text().unwrap().to_string())
                .unwrap();
        });
        // Poll the run once before submitting the next: its first step is the fair
        // semaphore's acquire, so after this poll run 0 holds the worker and runs 1..5 are
        // queued, in this order.
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(run.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "run {i} finished without waiting");
        tasks.push(tokio::spawn(run));
    }
    let (mut go, _) = tokio::task::spawn_blocking(move || gate.accept())
        .await
        .unwrap()
        .unwrap();
    std::io::Write::write_all(&mut go, b"go").unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    drop(done_tx);
    let mut order = Vec::new();
    while let Some(i) = done_rx.recv().await {
        order.push(i);
    }
    assert_eq!(order, ["0", "1", "2", "3", "4", "5"]);
    pool.shutdown().await;
}

#[tokio::test]
async fn an_explicit_interpreter_path_is_used_as_given_so_a_wrapper_can_sandbox_workers() {
    let real = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("sandboxed-python");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nOMNIBRIDGE_WRAPPED=1 exec {real} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let pool = ScriptPool::start(PoolConfig {
        python: wrapper,
        workers: 1,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let script = Script::new(
        "import os\nff = session.get()\nsession.putAttribute(ff, 'wrapped', str(os.environ.get('OMNIBRIDGE_WRAPPED')))\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["wrapped"], "1");
    pool.shutdown().await;
}

#[tokio::test]
async fn scripts_evicted_from_a_workers_cache_are_sent_again_transparently() {
    let pool = pool(1).await;
    let script = |i: usize| {
        Script::new(format!(
            "ff = session.get()\nsession.putAttribute(ff, 'i', '{i}')\nsession.transfer(ff, REL_SUCCESS)\n"
        ))
    };
    // The worker keeps 256 compiled scripts; 300 distinct ones evict the first.
    for i in 0..300 {
        let result = pool.run(&script(i), "x", attrs(&[])).await.unwrap();
        assert_eq!(result.attributes["i"], i.to_string());
    }
    let result = pool.run(&script(0), "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["i"], "0");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_missing_interpreter_is_a_clear_start_error() {
    let err = ScriptPool::start(PoolConfig {
        python: "/nonexistent/python3".into(),
        ..PoolConfig::default()
    })
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("/nonexistent/python3") && message.contains("PATH"),
        "{message}"
    );
}
