//! `omnibridge script`: test a script as the flow designer's Script Testing panel does, check it,
//! and migrate Python 2 (Jython) scripts to Python 3.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use omnibridge_script::{PoolConfig, RunOptions, Script, ScriptPool, migrate};

/// `omnibridge script ...`
#[derive(Debug, Args)]
pub struct ScriptArgs {
    #[command(subcommand)]
    command: ScriptCommand,
}

#[derive(Debug, Subcommand)]
enum ScriptCommand {
    /// Run a script on one input and print {"result_data", "attributes", "relationship",
    /// "stdout", "error", "logs"} as JSON. Exits 0 when the FlowFile went to success, 1 otherwise.
    Test(TestArgs),
    /// Compile a script as the engine does when a flow is loaded; exits 1 if it does not compile.
    Check(CheckArgs),
    /// Rewrite Python 2 idioms (print statements, `except E, e`, `.iteritems()`, ...) as Python 3.
    /// Prints the result, or rewrites the file with --write; the changes are listed on stderr.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
struct RuntimeArgs {
    /// The Python 3 interpreter.
    #[arg(long, default_value = "python3", env = "OMNIBRIDGE_PYTHON")]
    python: PathBuf,
    /// Time limit of the run, in seconds.
    #[arg(long, default_value_t = 300.0)]
    timeout: f64,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The script file.
    #[arg(long)]
    script: PathBuf,
    /// The input content (e.g. the ERP response or the order JSON); `-` reads stdin. Default: empty.
    #[arg(long)]
    input: Option<PathBuf>,
    /// An input attribute, `key=value` (repeatable), as "+ Add Attributes" in the designer.
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    attrs: Vec<String>,
    /// A step property for `context.getProperty(...)`, `key=value` (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The script file.
    file: PathBuf,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// The script file.
    file: PathBuf,
    /// Rewrite the file in place instead of printing the result.
    #[arg(long)]
    write: bool,
}

/// Runs `omnibridge script ...`; returns the process exit code.
pub fn run(args: ScriptArgs) -> anyhow::Result<i32> {
    match args.command {
        ScriptCommand::Test(test) => runtime()?.block_on(test_script(test)),
        ScriptCommand::Check(check) => runtime()?.block_on(check_script(check)),
        ScriptCommand::Migrate(m) => migrate_script(m),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn key_values(pairs: &[String], flag: &str) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("{flag} {pair:?}: expected key=value"),
        })
        .collect()
}

fn read_script(path: &PathBuf) -> anyhow::Result<Script> {
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("reading the script {}", path.display()))?;
    Ok(Script::new(source))
}

async fn start_pool(runtime: &RuntimeArgs) -> anyhow::Result<ScriptPool> {
    if !(runtime.timeout.is_finite() && runtime.timeout > 0.0) {
        bail!(
            "--timeout {}: expected a positive number of seconds",
            runtime.timeout
        );
    }
    Ok(ScriptPool::start(PoolConfig {
        python: runtime.python.clone(),
        workers: 1,
        run_timeout: Duration::from_secs_f64(runtime.timeout),
        ..PoolConfig::default()
    })
    .await?)
}

async fn test_script(args: TestArgs) -> anyhow::Result<i32> {
    let script = read_script(&args.script)?;
    let content = match &args.input {
        None => Vec::new(),
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
            buf
        }
        Some(p) => {
            std::fs::read(p).with_context(|| format!("reading the input {}", p.display()))?
        }
    };
    let attributes = key_values(&args.attrs, "--attr")?;
    let options = RunOptions {
        properties: key_values(&args.properties, "--property")?,
        ..RunOptions::default()
    };
    let pool = start_pool(&args.runtime).await?;
    let outcome = pool.run_with(&script, content, &attributes, &options).await;
    pool.shutdown().await;
    let (json, ok) = match outcome {
        Ok(result) => (serde_json::to_value(&result)?, result.succeeded()),
        Err(e) => (
            serde_json::json!({
                "result_data": null,
                "attributes": attributes,
                "relationship": null,
                "stdout": "",
                "error": e.to_string(),
                "logs": [],
            }),
            false,
        ),
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(if ok { 0 } else { 1 })
}

async fn check_script(args: CheckArgs) -> anyhow::Result<i32> {
    let script = read_script(&args.file)?;
    let pool = start_pool(&args.runtime).await?;
    let outcome = pool.check(&script).await;
    pool.shutdown().await;
    match outcome {
        Ok(report) => {
            let form = serde_json::to_value(report.form)?;
            println!(
                "{}: compiles ({} form)",
                args.file.display(),
                form.as_str().unwrap_or("?")
            );
            for hint in report.py2_warnings {
                println!(
                    "{}:{}: warning: {}",
                    args.file.display(),
                    hint.line,
                    hint.advice
                );
            }
            Ok(0)
        }
        Err(e) => {
            println!("{}: {e}", args.file.display());
            Ok(1)
        }
    }
}

fn migrate_script(args: MigrateArgs) -> anyhow::Result<i32> {
    let path = &args.file;
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("reading the script {}", path.display()))?;
    let migration = migrate(&source);
    for change in &migration.changes {
        eprintln!(
            "{}:{}: fixed: {}",
            path.display(),
            change.line,
            change.advice
        );
    }
    for review in &migration.to_review {
        eprintln!(
            "{}:{}: review: {}",
            path.display(),
            review.line,
            review.advice
        );
    }
    if migration.changes.is_empty() {
        eprintln!("{}: no Python 2 idioms to fix", path.display());
    }
    if args.write {
        if migration.source != source {
            std::fs::write(path, &migration.source)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    } else {
        print!("{}", migration.source);
    }
    Ok(0)
}
