//! One runner for every script of every flow: Script, Check Response Script, Post Script,
//! per-row script, Custom Response Script.
//!
//! A run gives the script the record's content and attributes (with `allVar` refreshed), its
//! card's properties (expressions evaluated against the attributes), and the flow's time limit.
//! The attributes the script leaves become the record's attributes, so `log.*` attributes reach
//! the row log and later steps see what the script set.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use omnibridge_expr::Template;
use omnibridge_script::{Relationship, RunOptions, Script, ScriptError, ScriptPool};
use serde_json::Value;

use super::request::evaluate;
use crate::attributes::Attributes;
use crate::execution::Stop;

/// A compiled script card.
#[derive(Debug, Clone)]
pub struct ScriptStep {
    /// The card's name as users know it ("the Script", "the Check Response Script", ...).
    pub label: &'static str,
    /// The file it was read from (`None` for a script the product ships).
    pub path: Option<PathBuf>,
    /// The script.
    pub script: Script,
    /// Its properties (`context.getProperty`), as expressions.
    pub properties: Vec<(String, Template)>,
}

/// What a script run ended with.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    /// The content the script wrote (`None`: it wrote nothing, the content is unchanged).
    pub content: Option<Vec<u8>>,
    /// Where the script transferred the FlowFile.
    pub relationship: Relationship,
}

impl ScriptStep {
    /// A script the product ships (a default Check Response or Custom Response Script).
    pub fn builtin(label: &'static str, source: &'static str) -> Self {
        Self {
            label,
            path: None,
            script: Script::new(source),
            properties: Vec::new(),
        }
    }

    /// How messages name it: the card, and its file or "(default)".
    pub fn name(&self) -> String {
        match &self.path {
            Some(path) => format!(
                "{} ({})",
                self.label,
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
            None => format!("{} (default)", self.label),
        }
    }

    /// Runs the script on `content`; the script's attributes replace `attributes`. A script
    /// that raised, transferred nothing or could not run is an error; a transfer to failure is
    /// an answer (see [`ScriptStep::run_to_success`] for steps where it is an error).
    pub async fn run(
        &self,
        scripts: &ScriptPool,
        timeout: Duration,
        content: Vec<u8>,
        attributes: &mut Attributes,
    ) -> Result<ScriptOutput, Stop> {
        attributes.refresh_all_var();
        let name = self.name();
        let mut properties = BTreeMap::new();
        for (property, template) in &self.properties {
            let value = evaluate(template, attributes.map(), property)
                .map_err(|e| Stop::failed(format!("{name}: property {property}: {e}")))?;
            properties.insert(property.clone(), value);
        }
        let options = RunOptions {
            timeout: Some(timeout),
            properties,
        };
        let result = scripts
            .run_with(&self.script, content, attributes.map(), &options)
            .await
            .map_err(|e| match e {
                ScriptError::Compile(d) => Stop::failed(format!("{name} does not compile: {d}")),
                other => Stop::failed(format!("{name} failed: {other}")),
            })?;
        attributes.replace_all(result.attributes);
        match (result.relationship, &result.error) {
            (Some(Relationship::Success), None) => Ok(ScriptOutput {
                content: result.result_data,
                relationship: Relationship::Success,
            }),
            (Some(Relationship::Failure), _) => Ok(ScriptOutput {
                content: result.result_data,
                relationship: Relationship::Failure,
            }),
            (_, Some(error)) => Err(Stop::failed(format!("{name} failed: {}", last_line(error)))),
            (None, None) => Err(Stop::failed(format!(
                "{name} did not transfer the FlowFile"
            ))),
        }
    }

    /// Runs the script on JSON `content` where only a success is acceptable; returns the
    /// content it produced (the input when it wrote nothing). A transfer to failure is an error
    /// carrying the script's `log.script.error`.
    pub async fn run_to_success(
        &self,
        scripts: &ScriptPool,
        timeout: Duration,
        content: &Value,
        attributes: &mut Attributes,
    ) -> Result<Vec<u8>, Stop> {
        let input = serde_json::to_vec(content).map_err(|e| Stop::failed(e.to_string()))?;
        let output = self.run(scripts, timeout, input, attributes).await?;
        match output.relationship {
            Relationship::Success => match output.content {
                Some(data) => Ok(data),
                None => serde_json::to_vec(content).map_err(|e| Stop::failed(e.to_string())),
            },
            Relationship::Failure => {
                let detail = attributes
                    .get("log.script.error")
                    .map(|t| last_line(t).to_string())
                    .unwrap_or_else(|| "no log.script.error was set".to_string());
                Err(Stop::failed(format!(
                    "{} transferred the FlowFile to failure: {detail}",
                    self.name()
                )))
            }
        }
    }

    /// [`ScriptStep::run_to_success`], with the output read as JSON.
    pub async fn run_json(
        &self,
        scripts: &ScriptPool,
        timeout: Duration,
        content: &Value,
        attributes: &mut Attributes,
    ) -> Result<Value, Stop> {
        let output = self
            .run_to_success(scripts, timeout, content, attributes)
            .await?;
        serde_json::from_slice(&output).map_err(|e| {
            Stop::failed(format!(
                "{}'s output is not JSON: {e}: {}",
                self.name(),
                preview(&output)
            ))
        })
    }
}

/// The last line of a traceback: the exception and its message.
pub fn last_line(text: &str) -> &str {
    text.trim_end().lines().last().unwrap_or("").trim()
}

/// The start of some output, for an error message.
fn preview(bytes: &[u8]) -> String {
    crate::text::truncate(&String::from_utf8_lossy(bytes), 120)
}
