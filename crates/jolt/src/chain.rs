//! Chains (Jolt's Chainr): a JSON array of `{"operation", "spec"}` steps, compiled once.

use crate::cardinality::Cardinality;
use crate::default::Default;
use crate::error::{SpecError, StepError, TransformError, pointer_child};
use crate::explain::{Explanation, SpecMatch, StepExplanation};
use crate::explain_trace::Tracer;
use crate::functions::Functions;
use crate::limits::Limits;
use crate::modify::{Modify, OpMode};
use crate::output::Output;
use crate::remove::Remove;
use crate::shift::Shift;
use crate::sort::sort_value;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A custom chain operation, registered by name (the counterpart of a Java transform class in
/// NiFi / Jolt). It receives the step's input, its `spec` (if any) and the context.
pub type CustomOperation =
    dyn Fn(Value, Option<&Value>, Option<&Value>) -> Result<Value, String> + Send + Sync;

/// Settings for compiling a spec: the modify functions available, any custom operations, and
/// the [`Limits`] the compiled spec enforces.
#[derive(Clone, Default)]
pub struct CompileOptions {
    functions: Functions,
    operations: HashMap<String, Arc<CustomOperation>>,
    limits: Limits,
}

impl fmt::Debug for CompileOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ops: Vec<&String> = self.operations.keys().collect();
        ops.sort();
        f.debug_struct("CompileOptions")
            .field("functions", &self.functions)
            .field("operations", &ops)
            .field("limits", &self.limits)
            .finish()
    }
}

impl CompileOptions {
    /// Stock Jolt: stock functions, no custom operations, no extensions.
    pub fn new() -> CompileOptions {
        CompileOptions::default()
    }

    /// Uses this function registry for modify steps.
    pub fn functions(mut self, functions: Functions) -> CompileOptions {
        self.functions = functions;
        self
    }

    /// Enables the `ob:` extension functions (see the `extensions` module docs).
    pub fn with_extensions(mut self) -> CompileOptions {
        self.functions = self.functions.with_extensions();
        self
    }

    /// Uses these limits (array index, spec and path depth) instead of [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> CompileOptions {
        self.limits = limits;
        self
    }

    /// Registers one custom modify function.
    pub fn function<F>(mut self, name: &str, function: F) -> CompileOptions
    where
        F: Fn(&[&Value]) -> Option<Value> + Send + Sync + 'static,
    {
        self.functions.register(name, function);
        self
    }

    /// Registers a custom chain operation under `name` (e.g. a Java class name a NiFi flow
    /// used, re-implemented in Rust).
    pub fn operation<F>(mut self, name: &str, operation: F) -> CompileOptions
    where
        F: Fn(Value, Option<&Value>, Option<&Value>) -> Result<Value, String>
            + Send
            + Sync
            + 'static,
    {
        self.operations
            .insert(name.to_string(), Arc::new(operation));
        self
    }
}

pub(crate) enum Op {
    Shift(Shift),
    Default(Box<Default>),
    Remove(Remove),
    Sort,
    Cardinality(Cardinality),
    Modify(Modify),
    Custom(Arc<CustomOperation>, Option<Value>),
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Shift(_) => write!(f, "Shift"),
            Op::Default(_) => write!(f, "Default"),
            Op::Remove(_) => write!(f, "Remove"),
            Op::Sort => write!(f, "Sort"),
            Op::Cardinality(_) => write!(f, "Cardinality"),
            Op::Modify(_) => write!(f, "Modify"),
            Op::Custom(..) => write!(f, "Custom"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Step {
    pub name: String,
    pub op: Op,
}

#[derive(Debug)]
pub(crate) struct Chain {
    pub steps: Vec<Step>,
}

/// Jolt's stock operation names, plus the Java class names Chainr also accepts for them.
fn stock_name(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "shift" | "com.bazaarvoice.jolt.Shiftr" => "shift",
        "default" | "com.bazaarvoice.jolt.Defaultr" => "default",
        "remove" | "com.bazaarvoice.jolt.Removr" => "remove",
        "sort" | "com.bazaarvoice.jolt.Sortr" => "sort",
        "cardinality" | "com.bazaarvoice.jolt.CardinalityTransform" => "cardinality",
        "modify-overwrite-beta" | "com.bazaarvoice.jolt.Modifier$Overwritr" => {
            "modify-overwrite-beta"
        }
        "modify-default-beta" | "com.bazaarvoice.jolt.Modifier$Defaultr" => "modify-default-beta",
        "modify-define-beta" | "com.bazaarvoice.jolt.Modifier$Definr" => "modify-define-beta",
        _ => return None,
    })
}

fn looks_like_java_class(name: &str) -> bool {
    name.contains('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '$' | '_'))
}

impl Chain {
    pub(crate) fn compile(spec: &Value, options: &CompileOptions) -> Result<Chain, SpecError> {
        let Value::Array(entries) = spec else {
            return Err(SpecError::new(
                "",
                "a Jolt chain spec must be a JSON array of {\"operation\", \"spec\"} objects",
            ));
        };
        if entries.is_empty() {
            return Err(SpecError::new(
                "",
                "a Jolt chain spec must have at least one step",
            ));
        }
        let mut steps = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let path = format!("/{i}");
            let Value::Object(obj) = entry else {
                return Err(SpecError::new(
                    path,
                    "each chain step must be an object with \"operation\" and \"spec\"",
                ));
            };
            let op_path = pointer_child(&path, "operation");
            let operation = match obj.get("operation") {
                Some(Value::String(s)) => s.as_str(),
                Some(other) => {
                    return Err(SpecError::new(
                        op_path,
                        format!("\"operation\" must be a string, not {other}"),
                    ));
                }
                None => return Err(SpecError::new(op_path, "the step has no \"operation\"")),
            };
            let spec_path = pointer_child(&path, "spec");
            steps.push(compile_step(
                operation,
                obj.get("spec"),
                &spec_path,
                &op_path,
                options,
            )?);
        }
        Ok(Chain { steps })
    }

    pub(crate) fn single(
        operation: &str,
        spec: Option<&Value>,
        options: &CompileOptions,
    ) -> Result<Chain, SpecError> {
        Ok(Chain {
            steps: vec![compile_step(operation, spec, "", "", options)?],
        })
    }

    /// Runs steps `[from, to)`.
    pub(crate) fn run(
        &self,
        input: &Value,
        context: Option<&Value>,
        from: usize,
        to: usize,
        mut explain: Option<&mut Vec<StepExplanation>>,
    ) -> Result<Value, TransformError> {
        let mut current: Option<Value> = None;
        for (index, step) in self.steps.iter().enumerate().take(to).skip(from) {
            let mut tracer = explain.as_ref().map(|_| Tracer::default());
            let result = match (&step.op, current.take()) {
                // Shift only reads its input, so the caller's value is borrowed, not copied.
                (Op::Shift(s), None) => s.apply(input, tracer.as_mut()),
                (Op::Shift(s), Some(v)) => s.apply(&v, tracer.as_mut()),
                (op, value) => {
                    let owned = value.unwrap_or_else(|| input.clone());
                    apply_owned(op, owned, context, tracer.as_mut())
                }
            };
            let value = result.map_err(|e| TransformError {
                operation_index: index,
                operation: step.name.clone(),
                input_path: e.input_path,
                message: e.message,
            })?;
            if let (Some(list), Some(t)) = (explain.as_deref_mut(), tracer) {
                list.push(step_explanation(index, step, t, &value));
            }
            current = Some(value);
        }
        Ok(current.unwrap_or_else(|| input.clone()))
    }

    /// Runs the whole chain and returns its output as JSON text. When the last step is a
    /// shift, its output is serialized straight from the tree it builds, with no `Value` made.
    pub(crate) fn run_to_json(
        &self,
        input: &Value,
        context: Option<&Value>,
    ) -> Result<Vec<u8>, TransformError> {
        let n = self.steps.len();
        let mut buffer = Vec::with_capacity(1024);
        let last = n
            .checked_sub(1)
            .and_then(|i| self.steps.get(i).map(|s| (i, s)));
        let Some((
            index,
            Step {
                op: Op::Shift(shift),
                name,
            },
        )) = last
        else {
            let value = self.run(input, context, 0, n, None)?;
            serde_json::to_writer(&mut buffer, &value).map_err(|e| json_error(n, "chain", e))?;
            return Ok(buffer);
        };
        let before = if index > 0 {
            Some(self.run(input, context, 0, index, None)?)
        } else {
            None
        };
        shift
            .apply_to_json(before.as_ref().unwrap_or(input), &mut buffer)
            .map_err(|e| TransformError {
                operation_index: index,
                operation: name.clone(),
                input_path: e.input_path,
                message: e.message,
            })?
            .map_err(|e| json_error(index, name, e))?;
        Ok(buffer)
    }

    /// Runs the whole chain, keeping a single shift's output borrowed (see [`Output`]).
    pub(crate) fn transform<'a>(
        &'a self,
        input: &'a Value,
        context: Option<&Value>,
    ) -> Result<Output<'a>, TransformError> {
        if let [
            Step {
                op: Op::Shift(shift),
                name,
            },
        ] = self.steps.as_slice()
        {
            return shift.transform(input).map_err(|e| TransformError {
                operation_index: 0,
                operation: name.clone(),
                input_path: e.input_path,
                message: e.message,
            });
        }
        self.run(input, context, 0, self.steps.len(), None)
            .map(Output::value)
    }

    pub(crate) fn explain(&self, input: &Value, context: Option<&Value>) -> Explanation {
        let mut steps = Vec::new();
        let result = self.run(input, context, 0, self.steps.len(), Some(&mut steps));
        match result {
            Ok(v) => Explanation {
                output: Some(v),
                error: None,
                steps,
            },
            Err(e) => Explanation {
                output: None,
                error: Some(e.to_string()),
                steps,
            },
        }
    }
}

fn json_error(index: usize, operation: &str, e: serde_json::Error) -> TransformError {
    TransformError {
        operation_index: index,
        operation: operation.to_string(),
        input_path: String::new(),
        message: format!("the output could not be written as JSON: {e}"),
    }
}

fn apply_owned(
    op: &Op,
    value: Value,
    context: Option<&Value>,
    tracer: Option<&mut Tracer>,
) -> Result<Value, StepError> {
    match op {
        Op::Shift(s) => s.apply(&value, tracer),
        Op::Default(d) => d.apply(value, tracer),
        Op::Remove(r) => Ok(r.apply(value, tracer)),
        Op::Sort => Ok(sort_value(value)),
        Op::Cardinality(c) => c.apply(value, tracer),
        Op::Modify(m) => m.apply(value, context, tracer),
        Op::Custom(f, spec) => f(value, spec.as_ref(), context).map_err(|m| StepError::new("", m)),
    }
}

fn step_explanation(index: usize, step: &Step, t: Tracer, output: &Value) -> StepExplanation {
    let (traced, all_paths): (bool, &[String]) = match &step.op {
        Op::Shift(s) => (true, s.spec_paths()),
        Op::Modify(m) => (true, m.spec_paths()),
        Op::Default(d) => (true, d.spec_paths()),
        Op::Remove(r) => (true, r.spec_paths()),
        Op::Cardinality(c) => (true, c.spec_paths()),
        _ => (false, &[]),
    };
    let matched_set: std::collections::HashSet<&str> =
        t.matches.iter().map(|(s, _)| s.as_str()).collect();
    let unmatched = all_paths
        .iter()
        .filter(|p| !matched_set.contains(p.as_str()))
        .cloned()
        .collect();
    StepExplanation {
        index,
        operation: step.name.clone(),
        traced,
        matched: t
            .matches
            .into_iter()
            .map(|(spec_path, input_path)| SpecMatch {
                spec_path,
                input_path,
            })
            .collect(),
        unmatched_spec_paths: unmatched,
        no_value: t
            .no_value
            .into_iter()
            .map(|(spec_path, input_path)| SpecMatch {
                spec_path,
                input_path,
            })
            .collect(),
        output: output.clone(),
    }
}

fn compile_step(
    operation: &str,
    spec: Option<&Value>,
    spec_path: &str,
    op_path: &str,
    options: &CompileOptions,
) -> Result<Step, SpecError> {
    if let Some(custom) = options.operations.get(operation) {
        return Ok(Step {
            name: operation.to_string(),
            op: Op::Custom(custom.clone(), spec.cloned()),
        });
    }
    let Some(name) = stock_name(operation) else {
        if looks_like_java_class(operation) {
            return Err(SpecError::new(
                op_path,
                format!(
                    "operation `{operation}` names a Java class; custom Java transforms are not supported (register a custom operation under that name instead)"
                ),
            ));
        }
        return Err(SpecError::new(
            op_path,
            format!(
                "unknown operation `{operation}` (expected shift, default, remove, sort, cardinality, modify-overwrite-beta, modify-default-beta or modify-define-beta)"
            ),
        ));
    };
    if name == "sort" {
        return Ok(Step {
            name: name.to_string(),
            op: Op::Sort,
        });
    }
    let spec = match spec {
        Some(Value::Null) | None => {
            return Err(SpecError::new(
                spec_path,
                format!("operation `{name}` requires a \"spec\""),
            ));
        }
        Some(s) => s,
    };
    // Before compiling: every compiler and every walk recurses as deep as the spec nests.
    options.limits.check_spec_depth(spec, spec_path)?;
    let limits = &options.limits;
    let op = match name {
        "shift" => Op::Shift(Shift::compile(spec, spec_path, limits)?),
        "default" => Op::Default(Box::new(Default::compile(spec, spec_path, limits)?)),
        "remove" => Op::Remove(Remove::compile(spec, spec_path)?),
        "cardinality" => Op::Cardinality(Cardinality::compile(spec, spec_path)?),
        "modify-overwrite-beta" => Op::Modify(Modify::compile(
            spec,
            OpMode::Overwrite,
            &options.functions,
            spec_path,
            limits,
        )?),
        "modify-default-beta" => Op::Modify(Modify::compile(
            spec,
            OpMode::Default,
            &options.functions,
            spec_path,
            limits,
        )?),
        _ => Op::Modify(Modify::compile(
            spec,
            OpMode::Define,
            &options.functions,
            spec_path,
            limits,
        )?),
    };
    Ok(Step {
        name: name.to_string(),
        op,
    })
}
