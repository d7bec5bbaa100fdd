//! Cards several flows share: scripts, the Mapping, and dictionaries written as the designer
//! writes them.

use std::collections::BTreeMap;

use omnibridge_jolt::Jolt;
use omnibridge_script::{Script, ScriptError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cards::BuildContext;
use crate::cards::mapping::MappingStep;
use crate::cards::script::ScriptStep;
use crate::config::load::SourceFile;

/// A script card: the Python file to run (NiFi ExecuteScript style, unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptCard {
    /// Path of the `.py` file, relative to the flow directory.
    pub file: String,
    /// Properties the script reads with `context.getProperty(name).getValue()` (NiFi
    /// ExecuteScript's dynamic properties); values may use expressions.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl ScriptCard {
    /// Reads and compiles the script (a syntax error, with its line and a Python 2 hint, is
    /// reported now) and its property expressions. `card` is the section's name in `flow.toml`,
    /// `label` how messages name the card.
    pub async fn build(
        &self,
        cx: &mut BuildContext<'_>,
        card: &str,
        label: &'static str,
    ) -> Option<ScriptStep> {
        build_script(cx, card, label, &self.file, &self.properties).await
    }
}

/// Builds a script step from a file and properties (any card that runs a script).
pub async fn build_script(
    cx: &mut BuildContext<'_>,
    card: &str,
    label: &'static str,
    file: &str,
    properties: &BTreeMap<String, String>,
) -> Option<ScriptStep> {
    let mut compiled = Vec::new();
    let mut ok = true;
    for (name, value) in properties {
        match cx.template(&format!("{card}.properties.{name}"), value) {
            Some(template) => compiled.push((name.clone(), template)),
            None => ok = false,
        }
    }
    let SourceFile { path, text } = cx.source(&format!("{card}.file"), file)?;
    let script = Script::new(text);
    match cx.scripts.check(&script).await {
        Ok(_) => ok.then_some(ScriptStep {
            label,
            path: Some(path),
            script,
            properties: compiled,
        }),
        Err(ScriptError::Compile(diagnostic)) => {
            cx.file_error(&path, format!("does not compile: {diagnostic}"));
            None
        }
        Err(other) => {
            cx.file_error(&path, format!("cannot be checked: {other}"));
            None
        }
    }
}

/// The Mapping card: the Jolt spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingCard {
    /// Path of the `.json` Jolt spec, relative to the flow directory.
    pub file: String,
}

impl MappingCard {
    /// Reads and compiles the spec; `card` is the section's name in `flow.toml`.
    pub fn build(&self, cx: &mut BuildContext<'_>, card: &str) -> Option<MappingStep> {
        let source = cx.source(&format!("{card}.file"), &self.file)?;
        match Jolt::compile_str(&source.text) {
            Ok(jolt) => Some(MappingStep {
                path: source.path,
                jolt,
            }),
            Err(e) => {
                cx.file_error(&source.path, format!("not a valid Jolt spec: {e}"));
                None
            }
        }
    }
}

/// A dictionary as the designer takes it: a TOML table, or the text of a JSON object
/// (`'{"x-api-version": "2"}'`, pasted from the Integrator's "Dict Format" fields).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Dict(pub Map<String, Value>);

impl<'de> Deserialize<'de> for Dict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Table(Map<String, Value>),
            Text(String),
        }
        match Form::deserialize(deserializer)? {
            Form::Table(map) => Ok(Dict(map)),
            Form::Text(text) if text.trim().is_empty() => Ok(Dict::default()),
            Form::Text(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(Dict(map)),
                Ok(other) => Err(serde::de::Error::custom(format!(
                    "must be a JSON object (a dict), not {}",
                    json_kind(&other)
                ))),
                Err(e) => Err(serde::de::Error::custom(format!(
                    "must be a table or the text of a JSON object: {e}"
                ))),
            },
        }
    }
}

impl Dict {
    /// The values as text (headers): strings as they are, anything else as JSON.
    pub fn to_text_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), scalar_text(v)))
            .collect()
    }
}

/// A JSON value as a query parameter or header value: a string as it is, anything else as its
/// JSON text.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// "an object", "a list", ...: what a JSON value is, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
