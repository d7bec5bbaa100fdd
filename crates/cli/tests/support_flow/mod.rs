//! The example Order Flow in a temporary directory, pointed at in-process simulators, and the
//! `omnibridge` binary to run it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        let omnitron = OmnitronSim::start(omnitron).await.unwrap();
        let erp = ErpSim::start(ErpConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let flow = dir.path().join("order-flow");
        std::fs::create_dir_all(&flow).unwrap();
        for entry in std::fs::read_dir(examples().join("order-flow")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), flow.join(entry.file_name())).unwrap();
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

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
