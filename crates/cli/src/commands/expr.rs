//! `omnibridge expr eval`: evaluate a NiFi Expression Language template against attributes.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indexmap::IndexMap;
use omnibridge_expr::{EvalOptions, Template};

/// NiFi Expression Language tools.
#[derive(Debug, Subcommand)]
pub enum ExprCommand {
    /// Evaluate a template (`${...}` expressions in text) and print the result.
    Eval(EvalArgs),
}

/// Arguments of `omnibridge expr eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The template, e.g. 'https://x/${id:urlEncode()}'. Quote it for the shell.
    pub template: String,
    /// Attributes as key=value (the value may contain '='); these override --attrs-file.
    pub attributes: Vec<String>,
    /// A JSON object of attributes (string values; numbers and booleans are used as text,
    /// null means present without a value).
    #[arg(long, value_name = "FILE")]
    pub attrs_file: Option<PathBuf>,
    /// Default time zone for dates (Java zone id); without it, the process's `TZ` (as NiFi
    /// uses the JVM's zone), or UTC when `TZ` is unset.
    #[arg(long)]
    pub time_zone: Option<String>,
    /// Fix `now()` to this instant (epoch milliseconds), for reproducible output.
    #[arg(long, value_name = "EPOCH_MILLIS")]
    pub now: Option<i64>,
}

/// Runs an `expr` subcommand.
pub fn run(command: ExprCommand) -> anyhow::Result<()> {
    match command {
        ExprCommand::Eval(args) => eval(args),
    }
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let mut attributes: IndexMap<String, Option<String>> = IndexMap::new();
    if let Some(path) = &args.attrs_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read attributes file {}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("attributes file {} is not valid JSON", path.display()))?;
        let Some(object) = json.as_object() else {
            bail!(
                "attributes file {} must hold a JSON object of name -> value",
                path.display()
            );
        };
        for (name, value) in object {
            let value = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                    Some(value.to_string())
                }
                _ => bail!(
                    "attribute '{name}' in {} must be a string, number, boolean or null",
                    path.display()
                ),
            };
            attributes.insert(name.clone(), value);
        }
    }
    for pair in &args.attributes {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("attribute argument '{pair}' must be key=value");
        };
        attributes.insert(name.to_string(), Some(value.to_string()));
    }
    let template = Template::compile(&args.template)
        .map_err(|error| anyhow::anyhow!("template does not compile: {error}"))?;
    let mut options = EvalOptions::new();
    if let Some(zone) = &args.time_zone {
        options = options
            .with_time_zone(zone)
            .map_err(|error| anyhow::anyhow!("--time-zone: {error}"))?;
    }
    if let Some(now) = args.now {
        options = options.with_fixed_now(now);
    }
    let result = template
        .evaluate_with(&attributes, &options)
        .map_err(|error| anyhow::anyhow!("evaluation failed: {error}"))?;
    println!("{result}");
    Ok(())
}
