//! NiFi Expression Language for omnibridge: URL fields, headers and trigger parameters that users
//! paste from Akinon Integrator flows evaluate exactly as NiFi 1.28 evaluates them (plus the
//! NiFi 2.x functions).
//!
//! The central type is [`Template`]: [`Template::compile`] parses a property value (literal text
//! mixed with `${...}` expressions, `$$` escapes, nested expressions) once, checking function
//! names, arity and types the way NiFi's compiler does, and [`Template::evaluate`] renders it
//! many times against any [`Attributes`] implementation.
//!
//! Key design decision: compile once into a typed tree with regexes, date patterns, JSON paths
//! and durations prepared from constant arguments, and evaluate with values that borrow from the
//! template and the attributes (`Cow`), so the common URL template costs a few allocations at
//! most. Where NiFi leaves failures to evaluation time (an unparsable date, a bad JSON document)
//! we do too; where it fails at compile time (unknown function, wrong arity, `BOOLEAN` used as a
//! number, a multi-attribute chain without a reducer) [`Template::compile`] refuses with a
//! line/column, what was expected and, for a misspelt function, the nearest name.
//!
//! Deliberate difference: a missing attribute is null. There is no fallback to environment
//! variables or JVM-like system properties, so templates cannot read the engine's environment.
//! Java regex semantics are emulated over `fancy-regex`; the differences are listed in the
//! `java_regex` module.

#![deny(missing_docs)]

mod ast;
mod attributes;
mod catalog;
mod duration;
mod error;
mod escapes;
mod eval;
mod java_date;
mod java_number;
mod java_regex;
mod java_string;
mod json_path;
mod options;
mod parser;
mod scan;
mod value;

use std::collections::BTreeSet;

pub use attributes::{AttributeMap, Attributes};
pub use error::{CompileError, EvalError};
pub use json_path::{JsonPath, JsonPathError};
pub use options::{DEFAULT_MAX_RESULT_LEN, EvalOptions};

use ast::{Arg, Compiled, Expr, Part, Subject};

/// A compiled NiFi EL template: immutable, `Send + Sync`, evaluated any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    compiled: Compiled,
}

impl Template {
    /// Compiles a property value. Fails (with line, column, what was expected and a suggestion
    /// for misspelt functions) where NiFi's compiler would.
    pub fn compile(source: &str) -> Result<Template, CompileError> {
        let compiled = parser::compile_template(source, source, 0, 0)?;
        Ok(Template {
            source: source.to_string(),
            compiled,
        })
    }

    /// The text the template was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the template has no expressions (its value never depends on attributes).
    pub fn is_literal(&self) -> bool {
        self.compiled
            .parts
            .iter()
            .all(|part| matches!(part, Part::Text(_)))
    }

    /// The attribute names read directly (`${name}`, `${'name'}`, `anyAttribute('name')`), in
    /// sorted order. Names computed at run time (`${${x}}`) are not known and not listed.
    pub fn referenced_attributes(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        collect_compiled(&self.compiled, &mut names);
        names.into_iter().collect()
    }

    /// Evaluates with the default [`EvalOptions`]: the system clock, the process's default
    /// zone (`TZ`, else UTC) and the default result size limit.
    pub fn evaluate<A: Attributes>(&self, attributes: &A) -> Result<String, EvalError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        self.evaluate_into(attributes, &mut out)?;
        Ok(out)
    }

    /// Evaluates with explicit options (default zone, clock for `now()`, size limit).
    pub fn evaluate_with(
        &self,
        attributes: &dyn Attributes,
        options: &EvalOptions,
    ) -> Result<String, EvalError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        self.evaluate_into_with(attributes, options, &mut out)?;
        Ok(out)
    }

    /// Evaluates (default [`EvalOptions`]) by appending to `out`, so a caller that renders often can
    /// reuse one buffer and skip the allocation of a new `String` per evaluation. On error `out`
    /// may hold a partial rendering.
    pub fn evaluate_into<A: Attributes>(
        &self,
        attributes: &A,
        out: &mut String,
    ) -> Result<(), EvalError> {
        let cx = eval::Cx {
            attrs: attributes,
            options: &options::DEFAULT_OPTIONS,
            out_base: out.len(),
        };
        eval::render_top(&self.compiled, attributes, &cx, out).map_err(|error| *error)
    }

    /// [`Template::evaluate_into`] with explicit options (default zone, clock for `now()`, size
    /// limit).
    pub fn evaluate_into_with(
        &self,
        attributes: &dyn Attributes,
        options: &EvalOptions,
        out: &mut String,
    ) -> Result<(), EvalError> {
        let cx = eval::Cx {
            attrs: attributes,
            options,
            out_base: out.len(),
        };
        eval::render_into(&self.compiled, &cx, out).map_err(|error| *error)
    }
}

/// Escapes literal text so that a template renders it unchanged, alone or next to expressions.
///
/// NiFi's un-escaping touches `$$` anywhere before the first `{` of a literal piece, trailing
/// `$` runs before an attribute reference, and `$` runs that `{`, `}` or `\` follow. So every
/// `$` run is written as `${literal('$...')}` (which nothing around it can change) except a
/// single `$` followed by any other character, which no rule touches (`price: $5` stays).
pub fn escape_literal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8);
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'$' {
            let next = text[index..]
                .find('$')
                .map_or(text.len(), |offset| index + offset);
            out.push_str(&text[index..next]);
            index = next;
            continue;
        }
        let start = index;
        while index < bytes.len() && bytes[index] == b'$' {
            index += 1;
        }
        let run = &text[start..index];
        let safe = run.len() == 1 && !matches!(bytes.get(index), None | Some(b'{' | b'}' | b'\\'));
        if safe {
            out.push_str(run);
        } else {
            out.push_str("${literal('");
            out.push_str(run);
            out.push_str("')}");
        }
    }
    out
}

fn collect_compiled(compiled: &Compiled, names: &mut BTreeSet<String>) {
    for part in &compiled.parts {
        match part {
            Part::Expr(expr) => collect_expr(expr, names),
            Part::Attr(name) => {
                names.insert(name.clone());
            }
            Part::AttrCall(name, call) => {
                names.insert(name.clone());
                collect_args(&call.args, names);
            }
            Part::Text(_) => {}
        }
    }
}

fn collect_expr(expr: &Expr, names: &mut BTreeSet<String>) {
    match &expr.subject {
        Subject::Attr(name) => {
            names.insert(name.clone());
        }
        Subject::AttrTemplate(template) => collect_compiled(template, names),
        Subject::AttrExpr(inner) => collect_expr(inner, names),
        Subject::Literal(_) => {}
        Subject::Function(call) => collect_args(&call.args, names),
        Subject::Multi(call) => {
            if matches!(
                call.func,
                catalog::Func::AnyAttribute | catalog::Func::AllAttributes
            ) {
                for arg in &call.args {
                    if let Arg::Const(ast::Const::Str(name)) = arg {
                        names.insert(name.clone());
                    }
                }
            }
            collect_args(&call.args, names);
        }
    }
    for call in &expr.chain {
        collect_args(&call.args, names);
    }
}

fn collect_args(args: &[Arg], names: &mut BTreeSet<String>) {
    for arg in args {
        match arg {
            Arg::Const(_) => {}
            Arg::Template(template) => collect_compiled(template, names),
            Arg::Expr(expr) => collect_expr(expr, names),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn templates_are_send_and_sync() {
        assert_send_sync::<Template>();
    }

    #[test]
    fn referenced_attributes_are_listed() {
        let template = Template::compile("x=${a:append(${b})}&y=${'c d'}").unwrap();
        assert_eq!(template.referenced_attributes(), vec!["a", "b", "c d"]);
        assert!(!template.is_literal());
        assert!(Template::compile("plain $$ text").unwrap().is_literal());
    }

    #[test]
    fn missing_attributes_never_fall_back_to_the_environment() {
        let template = Template::compile("${PATH}${HOME}").unwrap();
        assert_eq!(
            template
                .evaluate(&HashMap::<String, String>::new())
                .unwrap(),
            ""
        );
    }

    #[test]
    fn evaluate_into_appends_what_evaluate_returns() {
        let attributes: HashMap<String, String> = [
            ("empty", ""),
            ("token", "a b&c"),
            ("date", "2024-12-31T13:30:59.000001Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cases = [
            ("${literal('aaa'):replace('aa', 'b')}", "ba"),
            (
                "${literal('{T}-{T}'):replace('{T}', ${token})}",
                "a b&c-a b&c",
            ),
            ("${literal('none'):replace('{T}', 'x')}", "none"),
            (
                "q=${token:urlEncode()}&m=${missing:urlEncode()}",
                "q=a+b%26c&m=",
            ),
            (
                "${date:replaceAll('(\\.\\d*)?Z?$', '')}",
                "2024-12-31T13:30:59",
            ),
            (
                "${date:replaceAll('Z?$', '!')}",
                "2024-12-31T13:30:59.000001!!",
            ),
            (
                "${empty:isEmpty():not():ifElse('yes', ${token:replace(' ', '_')})}",
                "a_b&c",
            ),
            ("[${missing:replace('a', 'b')}]", "[]"),
            ("[${missing:toUpper():replace('a', ${token})}]", "[]"),
            (
                "${literal('{A}'):replace('{A}', '{B}{B}'):replace('{B}', 'x')}",
                "xx",
            ),
            ("${literal('aaaa'):toUpper():replace('AA', 'A')}", "AA"),
            ("${token:replace(' ', ''):replace('&', 'and')}", "abandc"),
        ];
        for (source, expected) in cases {
            let template = Template::compile(source).unwrap();
            assert_eq!(
                template.evaluate(&attributes).unwrap(),
                expected,
                "{source}"
            );
            let mut out = String::from("kept:");
            template.evaluate_into(&attributes, &mut out).unwrap();
            assert_eq!(out, format!("kept:{expected}"), "{source}");
        }
    }

    #[test]
    fn now_is_injectable() {
        let template = Template::compile("${now():format('yyyy-MM-dd HH:mm')}").unwrap();
        let options = EvalOptions::new()
            .with_fixed_now(1_735_689_600_000)
            .with_time_zone("UTC")
            .unwrap();
        assert_eq!(
            template.evaluate_with(&(), &options).unwrap(),
            "2025-01-01 00:00"
        );
    }
}
