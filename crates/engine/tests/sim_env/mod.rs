//! What every flow's test harness starts from: both simulators in-process, example flows copied
//! into a temporary directory with `logins.toml`, a SQLite store there, a script pool and an
//! engine, and the environment the examples' `${env:...}` URLs read.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use omnibridge_engine::execution::Engine;
use omnibridge_script::{PoolConfig, ScriptPool};
use omnibridge_sim::{ErpConfig, ErpHandle, ErpSim, OmnitronConfig, OmnitronHandle, OmnitronSim};
use omnibridge_store::{Store, StoreOptions};
use tempfile::TempDir;

/// The repository's `examples/`.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The running pieces.
pub struct SimEnv {
    pub omnitron: OmnitronHandle,
    pub erp: ErpHandle,
    pub dir: TempDir,
    pub store: Arc<dyn Store>,
    pub engine: Engine,
    pub env: BTreeMap<String, String>,
}

impl SimEnv {
    /// Starts the simulators and copies the named example flows into a temporary directory.
    pub async fn start(omnitron: OmnitronConfig, erp: ErpConfig, flows: &[&str]) -> SimEnv {
        let omnitron = OmnitronSim::start(omnitron).await.unwrap();
        let erp = ErpSim::start(erp).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in flows {
            let to = dir.path().join(name);
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(examples().join(name)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(
            examples().join("logins.toml"),
            dir.path().join("logins.toml"),
        )
        .unwrap();
        let store = omnibridge_store::open(
            &format!("sqlite://{}", dir.path().join("omnibridge.db").display()),
            StoreOptions::default(),
        )
        .await
        .unwrap();
        let scripts = ScriptPool::start(PoolConfig {
            workers: 2,
            ..PoolConfig::default()
        })
        .await
        .unwrap();
        let engine = Engine {
            node: "test-node".to_string(),
            ..Engine::new(store.clone(), scripts)
        };
        let mut env = BTreeMap::new();
        env.insert(
            "OMNITRON_URL".to_string(),
            format!("{}/", omnitron.base_url()),
        );
        env.insert("ERP_URL".to_string(), erp.base_url());
        SimEnv {
            omnitron,
            erp,
            dir,
            store,
            engine,
            env,
        }
    }
}

/// Edits a TOML file as TOML (its comments and layout kept), never by searching its text.
pub fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(path).unwrap().parse().unwrap();
    edit(&mut doc);
    std::fs::write(path, doc.to_string()).unwrap();
}
