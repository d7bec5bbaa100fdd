//! Bounds on what a spec, or the data it runs on, can make the engine allocate. Java's Jolt
//! has none: `x[999999999]` in a shift output path (or `x[&]` where the matched key is
//! `999999999`) fills an array with a billion nulls, and a path of thousands of segments builds
//! an output nested that deep. Here such a spec or input fails with an error that names the
//! path, the index or depth, and the limit, instead of exhausting memory or the stack.

use crate::error::{SpecError, pointer_child};
use serde_json::Value;

/// Limits checked when a spec is compiled and while it runs. Set them per engine with
/// [`CompileOptions::limits`](crate::CompileOptions::limits); [`Limits::default`] suits
/// order mappings with room to spare.
///
/// - `max_array_index` (default [`Limits::DEFAULT_MAX_ARRAY_INDEX`], 1,000,000): the largest
///   index an array may be written at, which is also how many nulls a write can add in front
///   of it. Checked at compile time for indices written in the spec (`x[3]` in a shift output
///   path, `"[3]"` keys in `modify-*`, index keys under `key[]` in `default`) and at run time
///   for indices taken from the data (`x[&]`, `x[&1]`, `x[#2]`, `x[@(1,idx)]`).
/// - `max_depth` (default [`Limits::DEFAULT_MAX_DEPTH`], 256): the deepest nesting of a spec
///   (objects within objects, counted from the operation's `spec`) and the most segments one
///   shift output path may have. Every recursive walk of the engine is bounded by these two, so
///   no spec overflows the stack. (JSON text is parsed with a nesting limit of 128 anyway.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest array index an output may be written at.
    pub max_array_index: usize,
    /// Deepest spec nesting, and most segments in one output path.
    pub max_depth: usize,
}

impl Limits {
    /// Default for [`Limits::max_array_index`]: a million elements.
    pub const DEFAULT_MAX_ARRAY_INDEX: usize = 1_000_000;
    /// Default for [`Limits::max_depth`].
    pub const DEFAULT_MAX_DEPTH: usize = 256;

    /// The defaults: [`Limits::DEFAULT_MAX_ARRAY_INDEX`] and [`Limits::DEFAULT_MAX_DEPTH`].
    pub const fn new() -> Limits {
        Limits {
            max_array_index: Limits::DEFAULT_MAX_ARRAY_INDEX,
            max_depth: Limits::DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets [`Limits::max_array_index`].
    pub const fn with_max_array_index(mut self, max: usize) -> Limits {
        self.max_array_index = max;
        self
    }

    /// Sets [`Limits::max_depth`].
    pub const fn with_max_depth(mut self, max: usize) -> Limits {
        self.max_depth = max;
        self
    }

    /// Why index `index` may not be written, or `None` when it may.
    pub(crate) fn index_problem(&self, index: usize) -> Option<String> {
        (index > self.max_array_index).then(|| {
            format!(
                "array index {index} is over the limit of {} (Limits::max_array_index)",
                self.max_array_index
            )
        })
    }

    /// Fails when the spec nests objects or arrays deeper than `max_depth`, naming the first
    /// entry too deep. Iterative, so that even a spec built in memory arbitrarily deep is
    /// checked without recursion.
    pub(crate) fn check_spec_depth(&self, spec: &Value, base: &str) -> Result<(), SpecError> {
        let mut stack: Vec<(&Value, usize, String)> = vec![(spec, 0, base.to_string())];
        while let Some((value, depth, path)) = stack.pop() {
            let too_deep = || {
                SpecError::new(
                    &path,
                    format!(
                        "the spec is nested deeper than the limit of {} levels (Limits::max_depth)",
                        self.max_depth
                    ),
                )
            };
            match value {
                Value::Object(map) if !map.is_empty() => {
                    if depth >= self.max_depth {
                        return Err(too_deep());
                    }
                    for (key, child) in map {
                        stack.push((child, depth + 1, pointer_child(&path, key)));
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    if depth >= self.max_depth {
                        return Err(too_deep());
                    }
                    for (index, child) in items.iter().enumerate() {
                        stack.push((child, depth + 1, pointer_child(&path, &index.to_string())));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new()
    }
}

/// `text` cut to a length fit for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    match text.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_depth_counts_containers_below_the_spec() {
        let limits = Limits::new().with_max_depth(2);
        assert!(
            limits
                .check_spec_depth(&json!({"a": {"b": "x"}}), "")
                .is_ok()
        );
        assert!(limits.check_spec_depth(&json!({"a": ["x"]}), "").is_ok());
        let err = limits
            .check_spec_depth(&json!({"a": {"b": {"c": "x"}}}), "/0/spec")
            .unwrap_err();
        assert_eq!(err.path, "/0/spec/a/b");
        assert!(err.message.contains("limit of 2 levels"), "{err}");
    }

    #[test]
    fn excerpts_are_cut_on_char_boundaries() {
        assert_eq!(excerpt("a.b"), "a.b");
        let long = "ç".repeat(100);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
