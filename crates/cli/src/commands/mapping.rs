//! `omnibridge mapping test`: run a Jolt mapping spec on an input file and print the result.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use omnibridge_jolt::{CompileOptions, Jolt, parse_json_with_comments};
use std::path::PathBuf;

/// Work with Jolt mapping specs.
#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Apply a Jolt chain spec to an input document and print the output JSON.
    Test(TestArgs),
}

/// Arguments of `mapping test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The Jolt chain spec (a JSON array of {"operation", "spec"}; `//` comments allowed).
    #[arg(long)]
    spec: PathBuf,
    /// The input JSON document.
    #[arg(long)]
    input: PathBuf,
    /// Optional context JSON, read by modify specs as `^path`.
    #[arg(long)]
    context: Option<PathBuf>,
    /// Also report which spec entry matched which input path, and which matched nothing.
    #[arg(long)]
    explain: bool,
    /// Enable the `ob:` extension functions (multiply, dates, conditionals).
    #[arg(long)]
    extensions: bool,
}

/// Runs the subcommand.
pub fn run(command: MappingCommand) -> anyhow::Result<()> {
    match command {
        MappingCommand::Test(args) => test(args),
    }
}

fn read_json(path: &PathBuf, what: &str) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    parse_json_with_comments(&text)
        .with_context(|| format!("the {what} file {} is not valid JSON", path.display()))
}

fn test(args: TestArgs) -> anyhow::Result<()> {
    let spec_text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("cannot read the spec file {}", args.spec.display()))?;
    let input = read_json(&args.input, "input")?;
    let context = match &args.context {
        Some(p) => Some(read_json(p, "context")?),
        None => None,
    };
    let options = if args.extensions {
        CompileOptions::new().with_extensions()
    } else {
        CompileOptions::new()
    };
    let jolt = Jolt::compile_str_with(&spec_text, &options)
        .with_context(|| format!("spec file {}", args.spec.display()))?;
    if args.explain {
        let explanation = jolt.explain_with_context(&input, context.as_ref());
        print!("{}", explanation.to_text());
        if let Some(err) = explanation.error {
            bail!(err);
        }
        println!("output:");
        println!("{}", serde_json::to_string_pretty(&explanation.output)?);
        return Ok(());
    }
    let output = jolt.apply_with_context(&input, context.as_ref())?;
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}
