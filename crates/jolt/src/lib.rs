//! A Rust implementation of [bazaarvoice Jolt](https://github.com/bazaarvoice/jolt) JSON-to-JSON
//! transforms, as used by NiFi's JoltTransformJSON and by every Mapping card in omnibridge.
//!
//! The central type is [`Jolt`]: a spec (usually a chain, a JSON array of
//! `{"operation", "spec"}` steps) compiled once into matcher trees, then applied to any number
//! of inputs on any number of threads. It is `Send + Sync` and cheap to clone (an `Arc`).
//!
//! Key design decisions:
//! - **Jolt's semantics are the contract.** Specs are copied from Integrator flows and the Jolt
//!   demo site, so matching order, output-array building, Java number rules (`toInteger` wraps
//!   at 32 bits, `divide` always gives a double, ...) follow the Java reference
//!   (0.1.9-SNAPSHOT), checked by its full conformance suite. Where Java's order is arbitrary
//!   (Defaultr's key order) spec order is used; key order is only guaranteed after `sort`.
//! - **Compile once.** Every key is parsed into a matcher when the spec is compiled; applying
//!   never re-parses. `shift` borrows its input and clones a value only when writing it.
//! - **Errors point somewhere.** [`SpecError`] carries a JSON Pointer into the spec;
//!   [`TransformError`] names the step and the input path.
//! - **Bounded.** Java's Jolt fills `x[999999999]` with a billion nulls and nests an output as
//!   deep as its path; here array indices (from the spec or the data) and spec/path depth are
//!   capped by [`Limits`] (defaults: index 1,000,000, depth 256; set per engine with
//!   [`CompileOptions::limits`]), and going over is a [`SpecError`] or [`TransformError`]
//!   naming the path and the limit, never an abort.
//! - **Beyond Jolt, opt-in only.** [`Jolt::explain`] reports which spec entry matched which
//!   input and which matched nothing; the `ob:` extension functions (multiply, dates,
//!   conditionals) exist only when enabled with [`CompileOptions::with_extensions`].
//!
//! ```
//! use omnibridge_jolt::Jolt;
//! use serde_json::json;
//!
//! let jolt = Jolt::compile_str(r#"[ // comments are allowed, as in Jolt
//!   {"operation": "shift", "spec": {"name": "customer.fullName"}}
//! ]"#).unwrap();
//! assert_eq!(jolt.apply(&json!({"name": "Ada"})).unwrap(), json!({"customer": {"fullName": "Ada"}}));
//! ```

#![deny(missing_docs)]

mod cardinality;
mod chain;
mod default;
mod error;
mod explain;
mod explain_trace;
pub mod extensions;
mod functions;
mod index_keys;
mod java;
mod json_comments;
mod limits;
mod map_lookup;
mod modify;
mod object_templates;
mod output;
mod path;
mod remove;
mod shift;
mod shift_output;
mod sort;

pub use chain::{CompileOptions, CustomOperation};
pub use error::{SpecError, TransformError};
pub use explain::{Explanation, SpecMatch, StepExplanation};
pub use functions::{FunctionImpl, Functions};
pub use json_comments::{parse_json_with_comments, strip_comments};
pub use limits::Limits;
pub use output::{Output, OutputRef};

use chain::Chain;
use serde_json::Value;
use std::sync::Arc;

/// A compiled Jolt spec (a chain or a single operation). Cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Jolt {
    chain: Arc<Chain>,
}

impl Jolt {
    /// Compiles a chain spec (a JSON array of `{"operation", "spec"}`) with stock Jolt.
    pub fn compile(spec: &Value) -> Result<Jolt, SpecError> {
        Jolt::compile_with(spec, &CompileOptions::new())
    }

    /// Compiles a chain spec with custom functions, operations or extensions.
    pub fn compile_with(spec: &Value, options: &CompileOptions) -> Result<Jolt, SpecError> {
        Ok(Jolt {
            chain: Arc::new(Chain::compile(spec, options)?),
        })
    }

    /// Compiles chain spec text, which may contain `//` comments as Jolt allows.
    pub fn compile_str(text: &str) -> Result<Jolt, SpecError> {
        Jolt::compile_str_with(text, &CompileOptions::new())
    }

    /// [`Jolt::compile_str`] with options.
    pub fn compile_str_with(text: &str, options: &CompileOptions) -> Result<Jolt, SpecError> {
        let spec = parse_json_with_comments(text).map_err(|e| {
            SpecError::new(
                "",
                format!(
                    "the spec is not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Jolt::compile_with(&spec, options)
    }

    /// Compiles one operation (`shift`, `default`, `remove`, `sort`, `cardinality`,
    /// `modify-overwrite-beta`, `modify-default-beta`, `modify-define-beta`) with its spec.
    /// Error paths are JSON Pointers into `spec`.
    pub fn compile_operation(
        operation: &str,
        spec: Option<&Value>,
        options: &CompileOptions,
    ) -> Result<Jolt, SpecError> {
        Ok(Jolt {
            chain: Arc::new(Chain::single(operation, spec, options)?),
        })
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.chain.steps.len()
    }

    /// Whether there are no steps (never true for a compiled spec).
    pub fn is_empty(&self) -> bool {
        self.chain.steps.is_empty()
    }

    /// Runs the whole chain on `input` (which is not modified).
    pub fn apply(&self, input: &Value) -> Result<Value, TransformError> {
        self.apply_with_context(input, None)
    }

    /// Runs the whole chain and returns the output as JSON text (what an HTTP body needs),
    /// byte for byte what `serde_json::to_vec(&jolt.apply(input)?)` gives. When the last step
    /// is a shift, its output is written straight from the tree it builds, without making a
    /// `Value` first.
    pub fn apply_to_json(&self, input: &Value) -> Result<Vec<u8>, TransformError> {
        self.chain.run_to_json(input, None)
    }

    /// Runs the whole chain and returns an [`Output`] that borrows from `input` and from this
    /// compiled spec instead of copying them (the Java reference's output also shares the
    /// input's objects). Read it in place, serialize it, or convert it once with
    /// [`Output::into_value`]; it always equals what [`Jolt::apply`] returns.
    ///
    /// ```
    /// use omnibridge_jolt::Jolt;
    /// use serde_json::json;
    ///
    /// let jolt = Jolt::compile(&json!([
    ///   {"operation": "shift", "spec": {"name": "customer.fullName"}}
    /// ])).unwrap();
    /// let input = json!({"name": "Ada"});
    /// let output = jolt.transform(&input).unwrap();
    /// assert_eq!(output.root().pointer("/customer/fullName").unwrap().as_str(), Some("Ada"));
    /// assert_eq!(output.into_value(), json!({"customer": {"fullName": "Ada"}}));
    /// ```
    pub fn transform<'a>(&'a self, input: &'a Value) -> Result<Output<'a>, TransformError> {
        self.chain.transform(input, None)
    }

    /// [`Jolt::transform`] with a context object, read by modify specs as `^path`.
    pub fn transform_with_context<'a>(
        &'a self,
        input: &'a Value,
        context: Option<&Value>,
    ) -> Result<Output<'a>, TransformError> {
        self.chain.transform(input, context)
    }

    /// Runs the whole chain with a context object, read by modify specs as `^path`.
    pub fn apply_with_context(
        &self,
        input: &Value,
        context: Option<&Value>,
    ) -> Result<Value, TransformError> {
        self.chain
            .run(input, context, 0, self.chain.steps.len(), None)
    }

    /// Runs only steps `[from, to)`, as Jolt's `Chainr.transform(from, to, ...)`. Requires
    /// `0 <= from < to <= len()`.
    pub fn apply_range(
        &self,
        input: &Value,
        context: Option<&Value>,
        from: i64,
        to: i64,
    ) -> Result<Value, TransformError> {
        let n = self.chain.steps.len() as i64;
        if from < 0 || to <= from || to > n {
            return Err(TransformError {
                operation_index: 0,
                operation: "chain".into(),
                input_path: String::new(),
                message: format!("invalid step range [{from}, {to}): need 0 <= from < to <= {n}"),
            });
        }
        self.chain
            .run(input, context, from as usize, to as usize, None)
    }

    /// Runs the chain and reports what matched what (see [`Explanation`]).
    pub fn explain(&self, input: &Value) -> Explanation {
        self.chain.explain(input, None)
    }

    /// [`Jolt::explain`] with a context object.
    pub fn explain_with_context(&self, input: &Value, context: Option<&Value>) -> Explanation {
        self.chain.explain(input, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_spec_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Jolt>();
    }
}
