//! Scripts are isolated from the engine: they cannot read its environment, memory or files,
//! nor write outside their private temp dir, nor leave processes behind; the network stays.
//! These run on the development machine as root, where every protection is available.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{attrs, pool};
use omnibridge_script::{
    Isolation, IsolationConfig, PoolConfig, Relationship, RunOptions, Script, ScriptError,
    ScriptPool,
};

/// Runs `body` (Python, indented by 4) with `ff` in hand and returns the attributes it set.
fn probe(body: &str) -> Script {
    Script::new(format!(
        "import os\nff = session.get()\ndef out(k, v):\n    global ff\n    ff = session.putAttribute(ff, k, str(v))\ndef attempt(k, f):\n    try:\n        out(k, 'ok: %s' % (f(),))\n    except Exception as e:\n        out(k, 'denied: %s' % (e,))\n{body}\nsession.transfer(ff, REL_SUCCESS)\n"
    ))
}

fn assert_denied(result: &omnibridge_script::RunResult, key: &str) {
    let value = &result.attributes[key];
    assert!(value.starts_with("denied"), "{key}: {value}");
}

/// The env var that stands for the engine's secrets, set only in a child copy of this binary.
const SECRET_VAR: &str = "OMNIBRIDGE_TEST_ERP_PASSWORD";
const SECRET: &str = "s3cr3t-erp-p4ss";

#[tokio::test]
async fn the_engines_environment_and_proc_entry_are_out_of_reach() {
    if std::env::var(SECRET_VAR).is_err() {
        // Setting a variable in this multi-threaded process is unsound: run this test again in
        // a child process whose environment holds the secret from the start.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_engines_environment_and_proc_entry_are_out_of_reach",
                "--nocapture",
            ])
            .env(SECRET_VAR, SECRET)
            .status()
            .unwrap();
        assert!(status.success(), "the engine-side copy failed: {status}");
        return;
    }
    // The engine (this process) really holds the secret where a script would look.
    let engine_pid = std::process::id();
    let environ = std::fs::read(format!("/proc/{engine_pid}/environ")).unwrap();
    assert!(String::from_utf8_lossy(&environ).contains(SECRET));

    let pool = pool(1).await;
    let script = probe(&format!(
        "pid = ff.getAttribute('engine.pid')\n\
         attempt('environ', lambda: open('/proc/%s/environ' % pid, 'rb').read()[:20])\n\
         attempt('mem', lambda: open('/proc/%s/mem' % pid, 'rb').read(1))\n\
         found = []\n\
         for entry in os.listdir('/proc'):\n\
         \x20   for name in ('environ', 'cmdline'):\n\
         \x20       try:\n\
         \x20           if b'{SECRET}' in open('/proc/%s/%s' % (entry, name), 'rb').read():\n\
         \x20               found.append(entry)\n\
         \x20       except Exception:\n\
         \x20           pass\n\
         out('found', found)\n\
         out('env', os.environ.get('{SECRET_VAR}'))\n\
         out('processes', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
    ));
    let result = pool
        .run(
            &script,
            "x",
            attrs(&[("engine.pid", &engine_pid.to_string())]),
        )
        .await
        .unwrap();
    assert_eq!(
        result.relationship,
        Some(Relationship::Success),
        "{result:?}"
    );
    assert_denied(&result, "environ");
    assert_denied(&result, "mem");
    assert_eq!(result.attributes["found"], "[]");
    assert_eq!(result.attributes["env"], "None");
    // Only the sandbox's own init and worker are visible.
    assert_eq!(result.attributes["processes"], "[1, 2]");
    pool.shutdown().await;
}

#[tokio::test]
async fn the_store_flow_dirs_and_etc_shadow_are_unreadable() {
    let store = tempfile::tempdir().unwrap();
    std::fs::set_permissions(store.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let secret = store.path().join("omnibridge.sqlite");
    std::fs::write(&secret, "erp.password=hunter2").unwrap();
    std::fs::set_permissions(&secret, PermissionsExt::from_mode(0o644)).unwrap();
    // The engine can read both: only the sandbox stands in the way.
    assert!(std::fs::read(&secret).is_ok());
    assert!(std::fs::read("/etc/shadow").is_ok());

    let pool = pool(1).await;
    let script = probe(&format!(
        "attempt('store', lambda: open({:?}).read())\n\
         attempt('store_dir', lambda: os.listdir({:?}))\n\
         attempt('shadow', lambda: open('/etc/shadow').read())\n",
        secret.display(),
        store.path().display()
    ));
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    for key in ["store", "store_dir", "shadow"] {
        assert_denied(&result, key);
    }
    pool.shutdown().await;
}

#[tokio::test]
async fn scripts_write_only_in_their_private_temp_dir() {
    let shared = tempfile::tempdir().unwrap();
    // World-writable: only the sandbox stands in the way.
    std::fs::set_permissions(shared.path(), PermissionsExt::from_mode(0o777)).unwrap();
    let escape = shared.path().join("escaped");
    let unique = std::process::id();
    let host_tmp = std::env::temp_dir().join(format!("omnibridge-escape-{unique}"));
    let usr = std::path::PathBuf::from(format!("/usr/omnibridge-escape-{unique}"));
    let root = std::path::PathBuf::from(format!("/omnibridge-escape-{unique}"));

    let pool = pool(1).await;
    let script = probe(&format!(
        "import tempfile\n\
         attempt('shared', lambda: open({:?}, 'w').write('x'))\n\
         attempt('usr', lambda: open({:?}, 'w').write('x'))\n\
         attempt('root', lambda: open({:?}, 'w').write('x'))\n\
         open({:?}, 'w').write('stays in the sandbox')\n\
         tmp = tempfile.gettempdir()\n\
         with open(os.path.join(tmp, 'scratch.txt'), 'w') as f:\n\
         \x20   f.write('scratch')\n\
         out('tmp', tmp)\n\
         out('home', os.path.expanduser('~'))\n\
         out('readback', open(os.path.join(tmp, 'scratch.txt')).read())\n",
        escape.display(),
        usr.display(),
        root.display(),
        host_tmp.display()
    ));
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(
        result.relationship,
        Some(Relationship::Success),
        "{result:?}"
    );
    // Whatever got out is removed before asserting, so a failure leaves nothing behind.
    let leaked: Vec<_> = [&escape, &host_tmp, &usr, &root]
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    for path in &leaked {
        let _ = std::fs::remove_file(path);
    }
    assert!(leaked.is_empty(), "written outside the sandbox: {leaked:?}");
    for key in ["shared", "usr", "root"] {
        assert_denied(&result, key);
    }
    assert_eq!(result.attributes["tmp"], "/tmp");
    assert_eq!(result.attributes["home"], "/tmp");
    assert_eq!(result.attributes["readback"], "scratch");
    pool.shutdown().await;
}

#[tokio::test]
async fn the_network_stays_available() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        got
    });
    let pool = pool(1).await;
    let script = probe(&format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n\
         s.sendall(b'hello from the sandbox')\n\
         s.close()\n\
         out('sent', 'yes')\n"
    ));
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["sent"], "yes", "{result:?}");
    assert_eq!(server.join().unwrap(), "hello from the sandbox");
    pool.shutdown().await;
}

#[tokio::test]
async fn operators_can_allow_extra_read_only_and_read_write_paths() {
    let shared = tempfile::tempdir().unwrap();
    let ro = shared.path().join("lookup");
    let rw = shared.path().join("exports");
    std::fs::create_dir(&ro).unwrap();
    std::fs::create_dir(&rw).unwrap();
    std::fs::write(ro.join("table.csv"), "a,b").unwrap();
    for dir in [shared.path(), ro.as_path(), rw.as_path()] {
        std::fs::set_permissions(dir, PermissionsExt::from_mode(0o777)).unwrap();
    }
    let pool = ScriptPool::start(PoolConfig {
        workers: 1,
        isolation: IsolationConfig {
            read_only_paths: vec![ro.clone()],
            read_write_paths: vec![rw.clone()],
            ..IsolationConfig::default()
        },
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let script = probe(&format!(
        "attempt('read', lambda: open({:?}).read())\n\
         attempt('write_ro', lambda: open({:?}, 'w').write('x'))\n\
         attempt('write_rw', lambda: open({:?}, 'w').write('exported'))\n",
        ro.join("table.csv").display(),
        ro.join("new.csv").display(),
        rw.join("out.csv").display(),
    ));
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["read"], "ok: a,b");
    assert_denied(&result, "write_ro");
    assert_eq!(result.attributes["write_rw"], "ok: 8");
    assert_eq!(
        std::fs::read_to_string(rw.join("out.csv")).unwrap(),
        "exported"
    );
    assert!(!ro.join("new.csv").exists());
    pool.shutdown().await;
}

/// A script that leaves a grandchild behind in a new session (`setsid`), running `sleep marker`.
fn setsid_grandchild(marker: u32, then: &str) -> Script {
    Script::new(format!(
        "import os\nff = session.get()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\nos.wait()\n{then}\nsession.transfer(ff, REL_SUCCESS)\n"
    ))
}

/// Host pids of processes running `sleep <marker>`.
fn sleepers(marker: u32) -> Vec<u32> {
    let wanted = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmd = std::fs::read_to_string(e.path().join("cmdline")).ok()?;
            (cmd == wanted).then_some(pid)
        })
        .collect()
}

async fn wait_until_running(marker: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleepers(marker).len() != 1 {
        assert!(Instant::now() < deadline, "the grandchild never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_until_gone(marker: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sleepers(marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a setsid() grandchild outlived its worker: {:?}",
            sleepers(marker)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn setsid_grandchildren_die_with_their_worker() {
    let marker = 7_300_000 + std::process::id() % 100_000;

    // Pool shut down.
    let first = pool(1).await;
    let result = first
        .run(&setsid_grandchild(marker, ""), "x", attrs(&[]))
        .await
        .unwrap();
    assert_eq!(
        result.relationship,
        Some(Relationship::Success),
        "{result:?}"
    );
    // It outlives the run (and would outlive the engine without the PID namespace).
    wait_until_running(marker).await;
    first.shutdown().await;
    wait_until_gone(marker).await;

    // Worker killed for exceeding its time limit.
    let second = pool(1).await;
    let quick = RunOptions {
        timeout: Some(Duration::from_millis(1500)),
        ..RunOptions::default()
    };
    let err = second
        .run_with(
            &setsid_grandchild(marker + 1, "import time\ntime.sleep(60)"),
            "x",
            &attrs(&[]),
            &quick,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ScriptError::TimedOut { .. }), "{err}");
    wait_until_gone(marker + 1).await;

    // Worker recycled after its runs.
    let recycled = ScriptPool::start(PoolConfig {
        workers: 1,
        recycle_after_runs: 1,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    recycled
        .run(&setsid_grandchild(marker + 2, ""), "x", attrs(&[]))
        .await
        .unwrap();
    wait_until_gone(marker + 2).await;
    recycled.shutdown().await;

    // Pool dropped without a shutdown (the engine going away).
    second
        .run(&setsid_grandchild(marker + 3, ""), "x", attrs(&[]))
        .await
        .unwrap();
    wait_until_running(marker + 3).await;
    drop(second);
    wait_until_gone(marker + 3).await;
}

#[tokio::test]
async fn the_pool_reports_which_protections_are_active() {
    let pool = pool(1).await;
    let protections = pool.protections().clone();
    assert_eq!(protections.mode, Isolation::Enforce);
    assert!(protections.pid_namespace && protections.mount_namespace);
    assert!(protections.no_new_privs);
    assert!(protections.landlock_abi.is_some(), "{protections}");
    assert_eq!(protections.uid, 65534, "root drops to nobody");
    assert!(protections.not_enforced.is_empty(), "{protections}");
    let line = protections.to_string();
    assert!(
        line.starts_with("script isolation (enforce): scrubbed environment")
            && line.contains("PID namespace")
            && line.contains("uid 65534")
            && line.contains("Landlock ABI"),
        "{line}"
    );
    pool.shutdown().await;

    // Off (debugging): says loudly that nothing is enforced, and really is off.
    let off = ScriptPool::start(PoolConfig {
        workers: 1,
        isolation: IsolationConfig {
            mode: Isolation::Off,
            ..IsolationConfig::default()
        },
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    assert!(!off.protections().pid_namespace);
    assert!(
        off.protections()
            .to_string()
            .contains("NOT enforced: everything: isolation is off"),
        "{}",
        off.protections()
    );
    let result = off
        .run(
            &probe("attempt('shadow', lambda: len(open('/etc/shadow').read()) > 0)\n"),
            "x",
            attrs(&[]),
        )
        .await
        .unwrap();
    assert_eq!(result.attributes["shadow"], "ok: True");
    off.shutdown().await;
}

#[tokio::test]
async fn scripts_still_run_subprocesses_tls_and_time_zones_in_the_sandbox() {
    let pool = pool(1).await;
    let script = probe(
        "import subprocess, ssl, datetime, zoneinfo\n\
         attempt('ls', lambda: subprocess.run(['ls', '/usr'], capture_output=True, check=True).returncode)\n\
         attempt('tls', lambda: ssl.create_default_context().cert_store_stats()['x509_ca'] > 0)\n\
         attempt('tz', lambda: datetime.datetime(2024, 7, 1, tzinfo=zoneinfo.ZoneInfo('Europe/Istanbul')).utcoffset())\n\
         attempt('dns', lambda: __import__('socket').getaddrinfo('localhost', 80)[0][4][0])\n",
    );
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.attributes["ls"], "ok: 0", "{result:?}");
    assert_eq!(result.attributes["tls"], "ok: True", "{result:?}");
    assert_eq!(result.attributes["tz"], "ok: 3:00:00", "{result:?}");
    assert!(result.attributes["dns"].starts_with("ok: "), "{result:?}");
    pool.shutdown().await;
}

/// The real interpreter behind `python3` (pyenv shims need an environment workers lack).
fn real_python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// An interpreter path that runs `python` after `prelude` (a shell snippet).
fn wrapper(dir: &Path, prelude: &str, python: &str) -> std::path::PathBuf {
    let path = dir.join("python-wrapper");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n{prelude}\nexec {python} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// What a script can reach, for the fallback tests.
/// Runs [`escapes`] and checks each is denied while the private temp dir works; returns the
/// result for further checks.
async fn assert_escapes_closed(
    pool: &ScriptPool,
    store_file: &Path,
    shared_dir: &Path,
) -> omnibridge_script::RunResult {
    let engine_pid = std::process::id().to_string();
    let result = pool
        .run(
            &escapes(store_file, shared_dir),
            "x",
            attrs(&[("engine.pid", &engine_pid)]),
        )
        .await
        .unwrap();
    for key in ["environ", "store", "shadow", "shared"] {
        assert_denied(&result, key);
    }
    assert_eq!(result.attributes["temp"], "ok: 1");
    result
}

fn escapes(store_file: &Path, shared_dir: &Path) -> Script {
    probe(&format!(
        "import tempfile\n\
         attempt('environ', lambda: open('/proc/%s/environ' % ff.getAttribute('engine.pid'), 'rb').read(1))\n\
         attempt('store', lambda: open({:?}).read())\n\
         attempt('shadow', lambda: open('/etc/shadow').read())\n\
         attempt('shared', lambda: open({:?}, 'w').write('x'))\n\
         attempt('temp', lambda: open(os.path.join(tempfile.gettempdir(), 'x'), 'w').write('x'))\n\
         attempt('uid', os.getuid)\n",
        store_file.display(),
        shared_dir.join("escaped").display()
    ))
}

#[tokio::test]
async fn without_root_the_sandbox_is_built_in_a_user_namespace() {
    // The engine's user is not root: the worker starts as uid 65534 (with the system python,
    // which that user can read), owning its temp dir as an engine's user would.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let python = wrapper(
        dir.path(),
        "chown 65534:65534 \"$TMPDIR\"",
        "setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3",
    );
    let store = dir.path().join("store.db");
    std::fs::write(&store, "secret").unwrap();
    std::fs::set_permissions(&store, PermissionsExt::from_mode(0o644)).unwrap();
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), PermissionsExt::from_mode(0o777)).unwrap();

    let pool = ScriptPool::start(PoolConfig {
        python,
        workers: 1,
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let p = pool.protections();
    assert!(
        p.user_namespace && p.pid_namespace && p.mount_namespace,
        "{p}"
    );
    assert!(p.no_new_privs && p.landlock_abi.is_some(), "{p}");
    assert!(p.not_enforced.is_empty(), "{p}");
    let result = assert_escapes_closed(&pool, &store, shared.path()).await;
    assert_eq!(result.attributes["uid"], "ok: 65534");
    pool.shutdown().await;
}

/// Inside this prelude no namespace of any kind can be created (the per-user-namespace limits
/// are 0), as on a machine that forbids them.
const NO_NAMESPACES: &str = "exec unshare --user --map-root-user sh -c 'for ns in user pid mnt; do echo 0 > /proc/sys/user/max_${ns}_namespaces; done; exec \"$0\" \"$@\"' PYTHON \"$@\"";

#[tokio::test]
async fn without_namespaces_enforce_refuses_and_best_effort_falls_back_to_landlock() {
    let dir = tempfile::tempdir().unwrap();
    let python = wrapper(
        dir.path(),
        &NO_NAMESPACES.replace("PYTHON", &real_python()),
        "false",
    );
    let err = ScriptPool::start(PoolConfig {
        python: python.clone(),
        workers: 1,
        ..PoolConfig::default()
    })
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("script isolation: cannot enforce the pid namespace")
            && message.contains("No space left on device"),
        "{message}"
    );

    let store = dir.path().join("store.db");
    std::fs::write(&store, "secret").unwrap();
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), PermissionsExt::from_mode(0o777)).unwrap();
    let pool = ScriptPool::start(PoolConfig {
        python,
        workers: 1,
        isolation: IsolationConfig {
            mode: Isolation::BestEffort,
            ..IsolationConfig::default()
        },
        ..PoolConfig::default()
    })
    .await
    .unwrap();
    let p = pool.protections().clone();
    assert!(!p.pid_namespace && !p.mount_namespace, "{p}");
    assert!(p.no_new_privs && p.landlock_abi.is_some(), "{p}");
    let line = p.to_string();
    for what in [
        "NOT enforced: pid namespace:",
        "mount namespace:",
        "unprivileged user:",
    ] {
        assert!(line.contains(what), "{line}");
    }
    // Landlock alone still keeps the engine's /proc entry, the store and /etc/shadow out of
    // reach (this worker is root of a user namespace that maps the host's root), and writes
    // inside the private temp dir.
    assert_escapes_closed(&pool, &store, shared.path()).await;
    pool.shutdown().await;
}

const ENGINE_ROLE: &str = "OMNIBRIDGE_TEST_ENGINE_TO_KILL";

#[tokio::test]
async fn setsid_grandchildren_die_when_the_engine_is_killed() {
    let marker = 7_400_000 + std::process::id() % 100_000;
    if let Ok(marker) = std::env::var(ENGINE_ROLE) {
        // The engine: leaves 20 setsid() grandchildren running, says so, and waits to be killed.
        let marker: u32 = marker.parse().unwrap();
        let pool = pool(1).await;
        let script = Script::new(format!(
            "import os\nff = session.get()\nfor i in range(20):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            os.execv('/bin/sleep', ['sleep', '{marker}'])\n        os._exit(0)\n    os.wait()\nsession.transfer(ff, REL_SUCCESS)\n"
        ));
        pool.run(&script, "x", attrs(&[])).await.unwrap();
        println!("ready");
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    let mut engine = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "setsid_grandchildren_die_when_the_engine_is_killed",
            "--nocapture",
        ])
        .env(ENGINE_ROLE, marker.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(engine.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
            "the engine copy ended early"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleepers(marker).len() < 20 {
        assert!(Instant::now() < deadline, "{:?}", sleepers(marker));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.kill().unwrap(); // SIGKILL: no destructor, no shutdown
    engine.wait().unwrap();
    wait_until_gone(marker).await;
}
