//! The example Order Flow in a temporary directory, pointed at in-process simulators, and the
//! `omnibridge` binary to run it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use omnibridge_sim::{ErpConfig, ErpHandle, ErpSim, OmnitronConfig, OmnitronHandle, OmnitronSim};
use tempfile::TempDir;

pub struct FlowFixture {
    pub omnitron: OmnitronHandle,
    pub erp: ErpHandle,
    pub dir: TempDir,
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

impl FlowFixture {
    pub async fn start(omnitron: OmnitronConfig) -> FlowFixture {
        Self::start_with(omnitron, ErpConfig::default()).await
    }

    /// Simulators with these settings, and every example flow in a temporary directory.
    pub async fn start_with(omnitron: OmnitronConfig, erp: ErpConfig) -> FlowFixture {
        let omnitron = OmnitronSim::start(omnitron).await.unwrap();
        let erp = ErpSim::start(erp).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "order-flow",
            "order-status-flow",
            "order-status-push",
            "order-cancel-flow",
        ] {
            let flow = dir.path().join(name);
            std::fs::create_dir_all(&flow).unwrap();
            for entry in std::fs::read_dir(examples().join(name)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), flow.join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(
            examples().join("logins.toml"),
            dir.path().join("logins.toml"),
        )
        .unwrap();
        FlowFixture { omnitron, erp, dir }
    }

    pub fn flow_dir(&self) -> PathBuf {
        self.dir.path().join("order-flow")
    }

    /// The directory of the example flow `name` (`order-status-flow`, ...).
    pub fn example(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn database(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("store.db").display())
    }

    /// `omnibridge <args>` with the simulators' URLs in the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_omnibridge"));
        command
            .args(args)
            .env("OMNITRON_URL", format!("{}/", self.omnitron.base_url()))
            .env("ERP_URL", self.erp.base_url())
            .env("OMNIBRIDGE_DATABASE", self.database())
            .current_dir(self.dir.path());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub async fn eligible(&self) -> Vec<String> {
        let state = self.omnitron.state().await;
        let since = self.omnitron.now() - chrono::Duration::days(21);
        state
            .orders
            .iter()
            .filter(|o| !o.is_send && o.modified_date > since)
            .filter(|o| ["400", "450", "500", "510", "540", "550"].contains(&o.status.as_str()))
            .map(|o| o.number.clone())
            .collect()
    }
}

/// Edits a TOML file as TOML (its comments and layout kept), never by searching its text.
pub fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(path).unwrap().parse().unwrap();
    edit(&mut doc);
    std::fs::write(path, doc.to_string()).unwrap();
}

/// How a run of killed engines went.
pub struct Crashes {
    /// How many engines were killed.
    pub kills: usize,
    /// The seed of the kill times (`OMNIBRIDGE_CRASH_SEED` replays it).
    pub seed: u64,
}

impl FlowFixture {
    /// Runs `omnibridge <args>` again and again, killing each engine (SIGKILL) after a random
    /// time in `window_ms`, until one exits by itself and `done` (given its exit status) says the
    /// work is over; a last run goes to the end if 40 were not enough.
    pub async fn kill_at_random(
        &self,
        args: &[&str],
        default_seed: u64,
        window_ms: (u64, u64),
        mut done: impl AsyncFnMut(ExitStatus) -> bool,
    ) -> Crashes {
        let seed = std::env::var("OMNIBRIDGE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default_seed);
        let mut rng = Lcg(seed);
        let mut kills = 0;
        for _ in 0..40 {
            let mut child = self.command(args).spawn().unwrap();
            let deadline =
                Instant::now() + Duration::from_millis(rng.next_in(window_ms.0, window_ms.1));
            let mut exited = None;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            match exited {
                Some(status) => {
                    child.wait().unwrap(); // reaped already; returns at once
                    if done(status).await {
                        return Crashes { kills, seed };
                    }
                }
                None => {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                }
            }
        }
        // Forty kills came before any run could finish (a slow machine): one last run, unkilled.
        let out = self.run(args);
        assert!(
            done(out.status).await,
            "the last, unkilled run did not finish the work:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        Crashes { kills, seed }
    }
}

/// A small deterministic generator, so a failure can be replayed with the same kill times.
struct Lcg(u64);
impl Lcg {
    fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// Orders whose items are all at 400 or 450 (so a status row may move them to 500), with their
/// items' pks.
pub async fn movable(omnitron: &OmnitronHandle, count: usize) -> Vec<(String, Vec<u64>)> {
    let state = omnitron.state().await;
    let found: Vec<(String, Vec<u64>)> = state
        .orders
        .iter()
        .filter(|o| o.cancel_status.is_none() && !o.items.is_empty())
        .filter(|o| {
            o.items
                .iter()
                .all(|i| ["400", "450"].contains(&i.status.as_str()) && i.cancel_status.is_none())
        })
        .take(count)
        .map(|o| (o.number.clone(), o.items.iter().map(|i| i.pk).collect()))
        .collect();
    assert_eq!(found.len(), count, "the seed has {count} movable orders");
    found
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
