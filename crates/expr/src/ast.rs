//! The compiled form of a template: literal text and typed expression trees, with regexes,
//! date patterns, durations and JSON paths prepared once when their argument is a constant.

use std::sync::Arc;

use crate::catalog::{Func, Ty};
use crate::duration::Duration;
use crate::java_date::{DatePattern, Zone};
use crate::java_regex::JavaRegex;
use crate::json_path::JsonPath;

/// A compiled template: the pieces to concatenate.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    Text(String),
    /// `${name}` with no function: the most common URL piece, rendered without the evaluator.
    Attr(String),
    /// `${name:function(...)}` where the function can write into the output (`urlEncode`,
    /// `replace`, ...): rendered with one lookup and one call, no expression walk.
    AttrCall(String, Call),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub subject: Subject,
    pub chain: Vec<Call>,
    pub ty: Ty,
}

#[derive(Debug, Clone)]
pub(crate) enum Subject {
    /// `${name}` or `${'name'}`.
    Attr(String),
    /// `${'prefix${x}'}`: the name is itself a template.
    AttrTemplate(Box<Compiled>),
    /// `${${x}}`: the name is the value of an expression.
    AttrExpr(Box<Expr>),
    /// `${literal('constant')}`, folded at compile time: no call at evaluation.
    Literal(String),
    /// A subjectless function: `${now()}`.
    Function(Call),
    /// A multi-attribute selection: `${anyAttribute('a', 'b'):...}`.
    Multi(Call),
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub func: Func,
    pub args: Vec<Arg>,
    pub prepared: Option<Box<Prepared>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Const(Const),
    Template(Box<Compiled>),
    Expr(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    Null,
    Str(String),
    Bool(bool),
    Whole(i64),
    Decimal(f64),
}

/// Work done once at compile time for constant arguments.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    pub regex: Option<Arc<JavaRegex>>,
    pub regexes: Vec<Arc<JavaRegex>>,
    pub date_pattern: Option<DatePattern>,
    pub zone: Option<Zone>,
    pub duration: Option<Duration>,
    pub json_path: Option<JsonPath>,
    /// A substring searcher for a constant search string (`replace`).
    pub finder: Option<memchr::memmem::Finder<'static>>,
    /// Where a constant `replace` search string occurs in a constant `literal('...')` subject
    /// (set only on the first call of such a chain): evaluation then just splices.
    pub literal_hits: Option<Vec<usize>>,
}
