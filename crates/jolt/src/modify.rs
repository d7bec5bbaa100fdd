//! `modify-overwrite-beta`, `modify-default-beta`, `modify-define-beta` (Jolt's Modifier):
//! writes computed values into the input in place.
//!
//! The walked path records how to reach each level (key or index) rather than references, so a
//! function argument like `@(2,total)` can read anywhere in the document while the write
//! happens afterwards through a fresh mutable walk; Rust's borrow rules stay simple and the
//! results match Jolt's reference-based walk.

use crate::error::{SpecError, StepError, pointer_child, push_pointer};
use crate::explain_trace::Tracer;
use crate::functions::{FunctionImpl, Functions, InPlaceFn};
use crate::index_keys::index_key;
use crate::java;
use crate::limits::Limits;
use crate::map_lookup;
use crate::path::{
    ArrayPath, LhsKey, Matched, PathSeg, Resolved, StarPattern, Transpose, Walk, parse_dot_path,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// When a modify write goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpMode {
    /// Always (`modify-overwrite-beta`, key prefix `+`).
    Overwrite,
    /// When the key is missing or null (`modify-default-beta`, prefix `~`).
    Default,
    /// When the key is missing (`modify-define-beta`, prefix `_`).
    Define,
}

impl OpMode {
    fn from_prefix(c: char) -> Option<OpMode> {
        match c {
            '+' => Some(OpMode::Overwrite),
            '~' => Some(OpMode::Default),
            '_' => Some(OpMode::Define),
            _ => None,
        }
    }

    fn applies_to_map(self, map: &Map<String, Value>, key: &str) -> bool {
        match self {
            OpMode::Overwrite => true,
            OpMode::Default => map_lookup::get(map, key).is_none_or(Value::is_null),
            OpMode::Define => !map_lookup::contains_key(map, key),
        }
    }

    fn applies_to_list(self, list: &[Value], index: usize, orig_size: usize) -> bool {
        let Some(current) = list.get(index) else {
            return false;
        };
        match self {
            OpMode::Overwrite => true,
            OpMode::Default => current.is_null(),
            OpMode::Define => index >= orig_size && current.is_null(),
        }
    }
}

/// A compiled modify spec.
#[derive(Debug)]
pub(crate) struct Modify {
    root: Composite,
    spec_paths: Vec<String>,
}

#[derive(Debug)]
struct Node {
    key: Key,
    mode: OpMode,
    check_value: bool,
    spec_path: String,
    body: Body,
    /// A leaf whose evaluators read nothing above its parent (`=toUpper`, `=concat(@(1,a),'
    /// ',@(1,b))`): evaluated and written with one walk down to the parent.
    local: bool,
    /// A local leaf whose functions read only its own value (`=toUpper`).
    self_only: bool,
}

#[derive(Debug)]
enum Key {
    Literal(String),
    Index(usize),
    Star(StarPattern),
}

#[derive(Debug)]
enum Body {
    Leaf(Vec<Evaluator>),
    Composite(Box<Composite>),
}

#[derive(Debug, Clone, Copy)]
enum DataType {
    List(Option<usize>),
    Map,
    Runtime,
}

impl DataType {
    fn compatible(self, v: Option<&Value>) -> bool {
        match self {
            DataType::List(_) => matches!(v, None | Some(Value::Null) | Some(Value::Array(_))),
            DataType::Map => matches!(v, None | Some(Value::Null) | Some(Value::Object(_))),
            DataType::Runtime => !matches!(v, None | Some(Value::Null)),
        }
    }

    fn new_value(self) -> Option<Value> {
        match self {
            DataType::List(_) => Some(Value::Array(Vec::new())),
            DataType::Map => Some(Value::Object(Map::new())),
            DataType::Runtime => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Strategy {
    AllLiterals,
    Computed,
    Conflict,
    AllLiteralsWithComputed,
}

#[derive(Debug)]
struct Composite {
    literals: Vec<Node>,
    /// Only literal keys, all of them local leaves ([`Node::batchable`]).
    all_local: bool,
    literal_index: HashMap<String, usize>,
    computed: Vec<Node>,
    data_type: DataType,
    strategy: Strategy,
}

enum Evaluator {
    Arg(FnArg),
    Call {
        name: String,
        function: Option<Arc<FunctionImpl>>,
        args: Vec<FnArg>,
        /// The function's in-place form, for a call with no arguments (it reads the value
        /// it rewrites).
        in_place: Option<InPlaceFn>,
    },
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evaluator::Arg(a) => write!(f, "Arg({a:?})"),
            Evaluator::Call { name, args, .. } => write!(f, "Call({name}, {args:?})"),
        }
    }
}

#[derive(Debug)]
enum FnArg {
    SelfLookup(Transpose),
    Context(Vec<PathSeg>),
    Literal(Value),
}

impl Modify {
    pub(crate) fn compile(
        spec: &Value,
        mode: OpMode,
        functions: &Functions,
        base: &str,
        limits: &Limits,
    ) -> Result<Modify, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a modify spec must be a JSON object"));
        };
        let mut spec_paths = Vec::new();
        let cx = CompileCx {
            mode,
            functions,
            limits,
        };
        let root = compile_composite(map, &cx, base, &mut spec_paths)?;
        Ok(Modify { root, spec_paths })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(
        &self,
        mut doc: Value,
        context: Option<&Value>,
        trace: Option<&mut Tracer>,
    ) -> Result<Value, StepError> {
        let mut run = Run {
            // Deep enough for most specs, and small enough for the allocator's fast path.
            steps: Vec::with_capacity(8),
            context,
            trace,
        };
        run.steps.push(MStep {
            nav: Nav::Same,
            matched: Matched::new(Cow::Borrowed("root")),
            orig_size: None,
        });
        if !self.root.data_type.compatible(Some(&doc)) {
            return Ok(doc);
        }
        let orig_size = expand_list(&mut doc, self.root.data_type);
        run.steps.push(MStep {
            nav: Nav::Same,
            matched: Matched::new(Cow::Borrowed("root")),
            orig_size,
        });
        run.process(&self.root, &mut doc)?;
        Ok(doc)
    }
}

/// What every level of a modify spec is compiled with.
struct CompileCx<'c> {
    mode: OpMode,
    functions: &'c Functions,
    limits: &'c Limits,
}

fn compile_composite(
    map: &Map<String, Value>,
    cx: &CompileCx<'_>,
    path: &str,
    spec_paths: &mut Vec<String>,
) -> Result<Composite, SpecError> {
    let mode = cx.mode;
    let mut literals = Vec::new();
    let mut computed = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut max_index: Option<usize> = None;
    let mut map_key: Option<String> = None;
    let mut array_key: Option<String> = None;
    for (raw_key, rhs) in map {
        let child_path = pointer_child(path, raw_key);
        for key_text in raw_key.split('|') {
            let node = compile_node(key_text, rhs, cx, &child_path, spec_paths)?;
            let canonical = match &node.key {
                Key::Literal(s) => s.clone(),
                Key::Index(i) => format!("[{i}]"),
                Key::Star(p) => p.canonical.clone(),
            };
            if seen.insert(canonical.clone(), ()).is_some() {
                return Err(SpecError::new(
                    &child_path,
                    format!("duplicate modify key `{canonical}` at this level"),
                ));
            }
            match &node.key {
                Key::Literal(_) => map_key = Some(canonical.clone()),
                Key::Index(i) => {
                    array_key = Some(canonical.clone());
                    if !node.check_value {
                        max_index = Some(max_index.map_or(*i, |m| m.max(*i)));
                    }
                }
                Key::Star(p) => {
                    if !p.is_all() {
                        map_key = Some(canonical.clone());
                    }
                }
            }
            if let (Some(m), Some(a)) = (&map_key, &array_key) {
                return Err(SpecError::new(
                    &child_path,
                    format!(
                        "a modify spec level cannot mix array indices and map keys: `{m}` conflicts with `{a}`"
                    ),
                ));
            }
            spec_paths.push(child_path.clone());
            match node.key {
                Key::Literal(_) | Key::Index(_) => literals.push(node),
                Key::Star(_) => computed.push(node),
            }
        }
    }
    computed.sort_by(|a, b| {
        let (Key::Star(pa), Key::Star(pb)) = (&a.key, &b.key) else {
            return std::cmp::Ordering::Equal;
        };
        pa.rank().cmp(&pb.rank()).then_with(|| {
            java::utf16_len(&pb.canonical)
                .cmp(&java::utf16_len(&pa.canonical))
                .then_with(|| java::compare_utf16(&pa.canonical, &pb.canonical))
        })
    });
    let literal_index = literals
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let k = match &n.key {
                Key::Literal(s) => s.clone(),
                Key::Index(idx) => idx.to_string(),
                Key::Star(p) => p.canonical.clone(),
            };
            (k, i)
        })
        .collect::<HashMap<_, _>>();
    let data_type = if array_key.is_some() {
        DataType::List(max_index)
    } else if map_key.is_some() {
        DataType::Map
    } else {
        DataType::Runtime
    };
    let strategy = if computed.is_empty() {
        Strategy::AllLiterals
    } else if literals.is_empty() {
        Strategy::Computed
    } else if mode == OpMode::Define && matches!(data_type, DataType::List(_)) {
        Strategy::Conflict
    } else {
        Strategy::AllLiteralsWithComputed
    };
    let all_local = matches!(strategy, Strategy::AllLiterals)
        && !literals.is_empty()
        && literals.iter().all(Node::batchable);
    Ok(Composite {
        literals,
        all_local,
        literal_index,
        computed,
        data_type,
        strategy,
    })
}

fn compile_node(
    raw: &str,
    rhs: &Value,
    cx: &CompileCx<'_>,
    path: &str,
    spec_paths: &mut Vec<String>,
) -> Result<Node, SpecError> {
    let (mode, functions) = (cx.mode, cx.functions);
    let first = raw
        .chars()
        .next()
        .ok_or_else(|| SpecError::new(path, "a modify key cannot be empty"))?;
    let ends_with_check = raw.chars().count() > 1 && raw.ends_with('?');
    let (node_mode, mut key_text) = match OpMode::from_prefix(first) {
        Some(m) => (m, &raw[first.len_utf8()..]),
        None => (mode, raw),
    };
    let check_value = ends_with_check && !key_text.ends_with("\\?");
    if check_value {
        key_text = &key_text[..key_text.len() - 1];
    }
    let key = match LhsKey::parse(key_text).map_err(|m| SpecError::new(path, m))? {
        LhsKey::Literal(s) => Key::Literal(s),
        LhsKey::Star(p) => Key::Star(p),
        // A list is padded with nulls up to the largest index key: bounded.
        LhsKey::Array(ArrayPath::Index(i)) => match cx.limits.index_problem(i) {
            Some(problem) => {
                return Err(SpecError::new(
                    path,
                    format!("modify key `{key_text}`: {problem}"),
                ));
            }
            None => Key::Index(i),
        },
        LhsKey::Array(_) => {
            return Err(SpecError::new(
                path,
                "modify supports only explicit array indices like [0] as keys",
            ));
        }
        other => {
            return Err(SpecError::new(
                path,
                format!(
                    "modify keys may be literals, `*` patterns or [n]; `{}` is not allowed",
                    other.canonical()
                ),
            ));
        }
    };
    let body = match rhs {
        Value::Object(sub) if !sub.is_empty() => {
            Body::Composite(Box::new(compile_composite(sub, cx, path, spec_paths)?))
        }
        Value::String(s) => Body::Leaf(vec![compile_evaluator(s, functions, path)?]),
        Value::Array(items) if !items.is_empty() => {
            let mut evals = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_path = pointer_child(path, &i.to_string());
                evals.push(match item {
                    Value::String(s) => compile_evaluator(s, functions, &item_path)?,
                    other => Evaluator::Arg(FnArg::Literal(other.clone())),
                });
            }
            Body::Leaf(evals)
        }
        other => Body::Leaf(vec![Evaluator::Arg(FnArg::Literal(other.clone()))]),
    };
    let all_args = |ok: fn(&FnArg) -> bool| match &body {
        Body::Leaf(evals) => evals.iter().all(|e| match e {
            Evaluator::Arg(a) => ok(a),
            Evaluator::Call { args, .. } => args.iter().all(ok),
        }),
        Body::Composite(_) => false,
    };
    let local = all_args(FnArg::is_local);
    let self_only = all_args(|a| matches!(a, FnArg::Literal(_)));
    Ok(Node {
        key,
        mode: node_mode,
        check_value,
        spec_path: path.to_string(),
        body,
        local,
        self_only,
    })
}

impl Node {
    /// A local leaf with a literal key and no `?`, which [`Run::apply_local_run`] can apply.
    fn batchable(&self) -> bool {
        self.local && !self.check_value && !matches!(self.key, Key::Star(_))
    }
}

impl FnArg {
    /// Whether the argument reads at most the leaf's parent (see [`Node::local`]).
    fn is_local(&self) -> bool {
        match self {
            FnArg::Literal(_) => true,
            FnArg::SelfLookup(t) => t.up <= 1,
            FnArg::Context(_) => false,
        }
    }
}

fn compile_evaluator(rhs: &str, functions: &Functions, path: &str) -> Result<Evaluator, SpecError> {
    let Some(fn_text) = rhs.strip_prefix('=') else {
        return Ok(Evaluator::Arg(compile_arg(rhs, false, path)?));
    };
    if !fn_text.contains('(') && !fn_text.ends_with(')') {
        let function = functions.get(fn_text);
        return Ok(Evaluator::Call {
            name: fn_text.to_string(),
            in_place: function.as_ref().and(functions.in_place(fn_text)),
            function,
            args: Vec::new(),
        });
    }
    let (name, arg_texts) = parse_function_args(fn_text)
        .ok_or_else(|| SpecError::new(path, format!("cannot parse function call `{rhs}`")))?;
    let mut args = Vec::with_capacity(arg_texts.len());
    for a in &arg_texts {
        args.push(compile_arg(a, true, path)?);
    }
    Ok(Evaluator::Call {
        function: functions.get(&name),
        in_place: None,
        name,
        args,
    })
}

/// Jolt's `SpecStringParser.parseFunctionArgs`: `name(a, @(1,b), 'c,d')` -> name and args,
/// split on commas outside parentheses and quotes, each trimmed.
fn parse_function_args(text: &str) -> Option<(String, Vec<String>)> {
    let open = text.find('(')?;
    let name = text[..open].to_string();
    let inner = text.get(open + 1..text.len().checked_sub(1)?)?;
    let mut args = Vec::new();
    let mut sb = String::new();
    let mut in_brackets = false;
    let mut in_quotes = false;
    for c in inner.chars() {
        match c {
            '(' => {
                if !in_quotes {
                    in_brackets = true;
                }
                sb.push(c);
            }
            ')' => {
                if !in_quotes {
                    in_brackets = false;
                }
                sb.push(c);
            }
            '\'' => {
                in_quotes = !in_quotes;
                sb.push(c);
            }
            ',' if !in_brackets && !in_quotes => {
                args.push(sb.trim().to_string());
                sb.clear();
            }
            _ => sb.push(c),
        }
    }
    args.push(sb.trim().to_string());
    Some((name, args))
}

fn compile_arg(text: &str, for_function: bool, path: &str) -> Result<FnArg, SpecError> {
    if let Some(ctx) = text.strip_prefix('^') {
        let segs = if ctx.trim().is_empty() {
            Vec::new()
        } else {
            parse_dot_path(ctx).map_err(|m| SpecError::new(path, m))?
        };
        return Ok(FnArg::Context(segs));
    }
    if text.starts_with('@') {
        let full = format!("root.{text}");
        let segs = parse_dot_path(&full).map_err(|m| SpecError::new(path, m))?;
        return match segs.into_iter().last().map(|s| s.eval) {
            Some(crate::path::SegEval::Transpose(t)) => Ok(FnArg::SelfLookup(*t)),
            _ => Err(SpecError::new(
                path,
                format!("expected an @ reference such as @(1,name), got `{text}`"),
            )),
        };
    }
    if !for_function {
        return Ok(FnArg::Literal(Value::String(text.to_string())));
    }
    Ok(FnArg::Literal(parse_literal_arg(text)))
}

/// Jolt's `FunctionArg.forLiteral(.., true)`: '' quoted text, true/false, numbers, "" as null;
/// anything else stays text (including `null`).
fn parse_literal_arg(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
        return Value::String(text[1..text.len() - 1].to_string());
    }
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    match java::to_number(&Value::String(text.to_string())).and_then(java::JNum::to_value) {
        Some(n) => n,
        None => Value::String(text.to_string()),
    }
}

/// How to reach a level from its parent: the same value (the root), the step's matched key in
/// an object, or an index in a list.
#[derive(Debug, Clone, Copy)]
enum Nav {
    Same,
    Key,
    Index(usize),
}

#[derive(Debug)]
struct MStep<'s> {
    nav: Nav,
    matched: Matched<'s>,
    /// Size of the list at this level before the spec padded it (Jolt's ArrayMatchedElement).
    orig_size: Option<usize>,
}

fn navigate<'v>(doc: &'v Value, steps: &[MStep<'_>]) -> Option<&'v Value> {
    let mut cur = doc;
    for s in steps {
        cur = match s.nav {
            Nav::Same => cur,
            Nav::Key => map_lookup::get(cur.as_object()?, s.matched.key.as_ref())?,
            Nav::Index(i) => cur.as_array()?.get(i)?,
        };
    }
    Some(cur)
}

fn navigate_mut<'v>(doc: &'v mut Value, steps: &[MStep<'_>]) -> Option<&'v mut Value> {
    let mut cur = doc;
    for s in steps {
        cur = match s.nav {
            Nav::Same => cur,
            Nav::Key => map_lookup::get_mut(cur.as_object_mut()?, s.matched.key.as_ref())?,
            Nav::Index(i) => cur.as_array_mut()?.get_mut(i)?,
        };
    }
    Some(cur)
}

/// Pads a list to the spec's largest explicit index; returns the size before padding.
fn expand_list(v: &mut Value, data_type: DataType) -> Option<usize> {
    let Value::Array(items) = v else {
        return None;
    };
    let orig = items.len();
    if let DataType::List(Some(max)) = data_type
        && max >= items.len()
    {
        items.resize(max + 1, Value::Null);
    }
    Some(orig)
}

/// A read-only view of the walked path for reference evaluation. Only the leaf's own value is
/// looked up up front; the rarer `@(n,...)` references walk to their level when asked, so most
/// leaves need no per-level storage.
struct View<'v, 's> {
    doc: &'v Value,
    steps: &'v [MStep<'s>],
    /// The value at the deepest level (the leaf itself); `None` when absent.
    here: Option<&'v Value>,
}

impl<'v, 's> View<'v, 's> {
    fn new(doc: &'v Value, steps: &'v [MStep<'s>]) -> Self {
        let mut view = View {
            doc,
            steps,
            here: None,
        };
        view.here = view.value_at(steps.len().wrapping_sub(1));
        view
    }

    /// The value at level `index` (0 is the root).
    fn value_at(&self, index: usize) -> Option<&'v Value> {
        let mut cur = Some(self.doc);
        for s in self.steps.get(..=index)? {
            cur = cur.and_then(|c| match s.nav {
                Nav::Same => Some(c),
                Nav::Key => map_lookup::get(c.as_object()?, s.matched.key.as_ref()),
                Nav::Index(i) => c.as_array()?.get(i),
            });
        }
        cur
    }
}

impl<'v> Walk<'v> for View<'v, '_> {
    fn depth(&self) -> usize {
        self.steps.len()
    }
    fn matched_at(&self, index: usize) -> &Matched<'_> {
        &self.steps[index].matched
    }
    fn tree_at(&self, index: usize) -> Option<&'v Value> {
        if index + 1 == self.steps.len() {
            return self.here;
        }
        self.value_at(index)
    }
}

/// The walked path as a [`Node::local`] leaf sees it: only its parent and its own value are
/// ever read.
struct LocalView<'v, 's> {
    steps: &'v [MStep<'s>],
    /// `None` for a [`Node::self_only`] leaf, which never reads it.
    parent: Option<&'v Value>,
    here: Option<&'v Value>,
}

impl<'v> Walk<'v> for LocalView<'v, '_> {
    fn depth(&self) -> usize {
        self.steps.len()
    }
    fn matched_at(&self, index: usize) -> &Matched<'_> {
        &self.steps[index].matched
    }
    fn tree_at(&self, index: usize) -> Option<&'v Value> {
        let depth = self.steps.len();
        if index + 1 == depth {
            self.here
        } else if index + 2 == depth {
            self.parent
        } else {
            // Never asked: a local leaf's references go at most one level up.
            None
        }
    }
}

/// Function arguments up to this many are passed from the stack.
const STACK_ARGS: usize = 8;

/// Writes into an object as the mode allows, with one lookup.
fn write_map(mode: OpMode, map: &mut Map<String, Value>, key: Cow<'_, str>, value: Value) {
    match map_lookup::get_mut(map, key.as_ref()) {
        Some(slot) => {
            let allowed = match mode {
                OpMode::Overwrite => true,
                OpMode::Default => slot.is_null(),
                OpMode::Define => false,
            };
            if allowed {
                *slot = value;
            }
        }
        None => {
            map.insert(key.into_owned(), value);
        }
    }
}

/// What `process` does at a value: walk an object or a list, match a scalar as a key, or
/// nothing for null.
fn level_of(v: &Value) -> Option<Level> {
    match v {
        Value::Object(_) => Some(Level::Map),
        Value::Array(_) => Some(Level::List),
        Value::Null => None,
        other => Some(Level::Scalar(java::to_java_string(other))),
    }
}

struct Run<'s, 'c, 't> {
    steps: Vec<MStep<'s>>,
    context: Option<&'c Value>,
    trace: Option<&'t mut Tracer>,
}

enum Level {
    Map,
    List,
    Scalar(String),
}

impl<'s> Run<'s, '_, '_> {
    fn input_pointer(&self) -> String {
        let mut p = String::new();
        for s in &self.steps {
            if !matches!(s.nav, Nav::Same) {
                push_pointer(&mut p, &s.matched.key);
            }
        }
        p
    }

    fn level(&self, doc: &Value) -> Option<Level> {
        level_of(navigate(doc, &self.steps)?)
    }

    fn process(&mut self, comp: &'s Composite, doc: &mut Value) -> Result<(), StepError> {
        match self.level(doc) {
            Some(level) => self.process_level(comp, level, doc),
            None => Ok(()),
        }
    }

    /// [`Run::process`] with the current level's kind already known.
    fn process_level(
        &mut self,
        comp: &'s Composite,
        level: Level,
        doc: &mut Value,
    ) -> Result<(), StepError> {
        match level {
            Level::Map | Level::List => {
                let is_list = matches!(level, Level::List);
                if matches!(
                    comp.strategy,
                    Strategy::AllLiterals | Strategy::AllLiteralsWithComputed
                ) {
                    let batch = self.trace.is_none();
                    let mut rest: &'s [Node] = &comp.literals;
                    while let Some(lit) = rest.first() {
                        if batch && lit.batchable() {
                            let n = rest.iter().take_while(|n| n.batchable()).count();
                            let (run, after) = rest.split_at(n);
                            if self.apply_local_run(run, is_list, doc) {
                                rest = after;
                                continue;
                            }
                        }
                        rest = &rest[1..];
                        let key: Cow<'s, str> = match &lit.key {
                            Key::Literal(s) => Cow::Borrowed(s.as_str()),
                            Key::Index(i) => index_key(*i),
                            Key::Star(p) => Cow::Borrowed(p.canonical.as_str()),
                        };
                        // Presence matters only for `key?` entries; leaves work it out themselves.
                        let present = lit.check_value && self.child_present(doc, &key, is_list);
                        self.apply_node(lit, key, present, is_list, doc)?;
                    }
                }
                if matches!(
                    comp.strategy,
                    Strategy::Computed | Strategy::AllLiteralsWithComputed | Strategy::Conflict
                ) {
                    // The keys as they are now, after the literal pass may have added some.
                    let keys: Vec<Cow<'s, str>> = match navigate(doc, &self.steps) {
                        Some(Value::Object(m)) => m.keys().map(|k| Cow::Owned(k.clone())).collect(),
                        Some(Value::Array(a)) => (0..a.len()).map(index_key).collect(),
                        _ => Vec::new(),
                    };
                    let conflict = matches!(comp.strategy, Strategy::Conflict);
                    for key in keys {
                        if conflict && let Some(&i) = comp.literal_index.get(key.as_ref()) {
                            self.apply_node(&comp.literals[i], key, true, is_list, doc)?;
                            continue;
                        }
                        for child in &comp.computed {
                            if self.apply_node(child, key.clone(), true, is_list, doc)? {
                                break;
                            }
                        }
                    }
                }
            }
            Level::Scalar(text) => {
                if matches!(
                    comp.strategy,
                    Strategy::AllLiterals | Strategy::AllLiteralsWithComputed | Strategy::Conflict
                ) && let Some(&i) = comp.literal_index.get(text.as_str())
                {
                    self.apply_node(
                        &comp.literals[i],
                        Cow::Owned(text.clone()),
                        true,
                        false,
                        doc,
                    )?;
                    if matches!(comp.strategy, Strategy::Conflict) {
                        return Ok(());
                    }
                }
                if !matches!(comp.strategy, Strategy::AllLiterals) {
                    for child in &comp.computed {
                        if self.apply_node(child, Cow::Owned(text.clone()), true, false, doc)? {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn child_present(&self, doc: &Value, key: &str, is_list: bool) -> bool {
        match navigate(doc, &self.steps) {
            Some(Value::Object(m)) => map_lookup::contains_key(m, key),
            Some(Value::Array(a)) if is_list => {
                // Present means "in the input list", before the spec padded it.
                let size = self
                    .steps
                    .last()
                    .and_then(|s| s.orig_size)
                    .unwrap_or(a.len());
                java::parse_int(key).is_some_and(|i| i >= 0 && (i as usize) < size)
            }
            _ => false,
        }
    }

    /// Returns whether the node matched the key (which stops further computed siblings).
    fn apply_node(
        &mut self,
        node: &'s Node,
        key: Cow<'s, str>,
        present: bool,
        parent_is_list: bool,
        doc: &mut Value,
    ) -> Result<bool, StepError> {
        let matched = match &node.key {
            Key::Literal(s) => {
                if !map_lookup::key_eq(s, &key) {
                    return Ok(false);
                }
                Matched::new(key)
            }
            Key::Index(i) => {
                if !parent_is_list || java::parse_int(&key) != i32::try_from(*i).ok() {
                    return Ok(false);
                }
                Matched::new(key)
            }
            Key::Star(p) => match p.captures(&key) {
                Some(groups) => Matched {
                    key,
                    groups,
                    hash_count: 0,
                },
                None => return Ok(false),
            },
        };
        if node.check_value && !present {
            return Ok(true);
        }
        let nav = if parent_is_list {
            match java::parse_int(&matched.key) {
                Some(i) if i >= 0 => Nav::Index(i as usize),
                _ => return Ok(true),
            }
        } else {
            Nav::Key
        };
        match &node.body {
            Body::Composite(comp) => self.apply_composite(node, comp, nav, matched, doc),
            Body::Leaf(evals) => self.apply_leaf(node, evals, nav, matched, doc),
        }
        .map(|()| true)
    }

    fn apply_composite(
        &mut self,
        node: &'s Node,
        comp: &'s Composite,
        nav: Nav,
        matched: Matched<'s>,
        doc: &mut Value,
    ) -> Result<(), StepError> {
        let parent_orig = self.steps.last().and_then(|s| s.orig_size);
        self.steps.push(MStep {
            nav,
            matched,
            orig_size: None,
        });
        // The usual case, a container already there, takes one walk down to it.
        let found = match navigate_mut(doc, &self.steps) {
            Some(v) if !v.is_null() => {
                if !comp.data_type.compatible(Some(v)) {
                    self.steps.pop();
                    return Ok(());
                }
                let orig = expand_list(v, comp.data_type);
                if let Some(last) = self.steps.last_mut() {
                    last.orig_size = orig;
                }
                // Only local leaves here (an address, an order line): apply them right in
                // the container just found.
                if comp.all_local
                    && self.trace.is_none()
                    && matches!(v, Value::Object(_) | Value::Array(_))
                {
                    let is_list = v.is_array();
                    self.write_local_leaves(&comp.literals, is_list, orig, v);
                    self.steps.pop();
                    return Ok(());
                }
                Some((orig, level_of(v)))
            }
            _ => None,
        };
        let (orig, level) = match found {
            Some(found) => found,
            None => {
                if !comp.data_type.compatible(None) {
                    self.steps.pop();
                    return Ok(());
                }
                // Jolt creates the missing container when the mode allows writing there.
                let Some(step) = self.steps.pop() else {
                    return Ok(());
                };
                if !self.create_container(node, comp, &step.matched.key, parent_orig, doc) {
                    return Ok(());
                }
                self.steps.push(step);
                match navigate_mut(doc, &self.steps) {
                    Some(v) => (expand_list(v, comp.data_type), level_of(v)),
                    None => (None, None),
                }
            }
        };
        if let Some(last) = self.steps.last_mut() {
            last.orig_size = orig;
        }
        if let Some(t) = self.trace.as_deref_mut() {
            let mut p = String::new();
            for s in &self.steps {
                if !matches!(s.nav, Nav::Same) {
                    push_pointer(&mut p, &s.matched.key);
                }
            }
            t.matched(&node.spec_path, p);
        }
        let result = match level {
            Some(level) => self.process_level(comp, level, doc),
            None => Ok(()),
        };
        self.steps.pop();
        result
    }

    fn create_container(
        &self,
        node: &Node,
        comp: &Composite,
        key: &str,
        parent_orig: Option<usize>,
        doc: &mut Value,
    ) -> bool {
        let Some(new_value) = comp.data_type.new_value() else {
            return false;
        };
        match navigate_mut(doc, &self.steps) {
            Some(Value::Object(map)) if node.mode.applies_to_map(map, key) => {
                map.insert(key.to_string(), new_value);
                true
            }
            Some(Value::Object(_)) => false,
            Some(Value::Array(list)) => {
                let (Some(i), Some(orig)) = (java::parse_int(key), parent_orig) else {
                    return false;
                };
                let Ok(i) = usize::try_from(i) else {
                    return false;
                };
                if node.mode.applies_to_list(list, i, orig) {
                    list[i] = new_value;
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    /// Evaluates and writes a [`Node::local`] leaf whose step is on top of the walked path
    /// (and is popped) into `parent`, an object or a list.
    fn write_local(
        &mut self,
        node: &'s Node,
        evals: &'s [Evaluator],
        nav: Nav,
        parent_orig: Option<usize>,
        parent: &mut Value,
    ) {
        if node.self_only
            && let (Value::Object(map), Nav::Key) = (&mut *parent, nav)
        {
            if let Some(step) = self.steps.pop() {
                self.write_self_only(node, evals, &step.matched.key, map);
            }
            return;
        }
        // `absent_key`: the key was looked up in an object and is not there, so the write
        // need not search for it again.
        let (value, absent_key) = {
            let parent_ref: &Value = parent;
            let here = match (parent_ref, nav, self.steps.last()) {
                (Value::Object(m), Nav::Key, Some(step)) => map_lookup::get(m, &step.matched.key),
                (Value::Array(a), Nav::Index(i), _) => a.get(i),
                _ => None,
            };
            let present = match (here, nav) {
                (None, _) => false,
                (Some(_), Nav::Index(i)) => parent_orig.is_none_or(|orig| i < orig),
                (Some(_), _) => true,
            };
            let input = if present { here } else { None };
            let absent_key =
                here.is_none() && matches!((parent_ref, nav), (Value::Object(_), Nav::Key));
            let view = LocalView {
                steps: &self.steps,
                parent: Some(parent_ref),
                here,
            };
            (
                evaluate_first(evals, input, &view, self.context),
                absent_key,
            )
        };
        let Some(step) = self.steps.pop() else {
            return;
        };
        let Some(value) = value else {
            return;
        };
        match parent {
            Value::Object(map) if absent_key => {
                // As `write_map` for a key that is not there: every mode adds it.
                map.insert(step.matched.key.into_owned(), value);
            }
            Value::Object(map) => write_map(node.mode, map, step.matched.key, value),
            Value::Array(list) => {
                let idx = java::parse_int(&step.matched.key).and_then(|i| usize::try_from(i).ok());
                if let (Some(i), Some(orig)) = (idx, parent_orig)
                    && node.mode.applies_to_list(list, i, orig)
                {
                    list[i] = value;
                }
            }
            _ => {}
        }
    }

    /// [`Run::write_local`] into an object for a leaf whose functions read only its own value
    /// ([`Node::self_only`]): the key is looked up once, for reading and writing. Such
    /// functions read nothing from the walked path, so the leaf's level need not be on it.
    fn write_self_only(
        &self,
        node: &'s Node,
        evals: &'s [Evaluator],
        key: &str,
        map: &mut Map<String, Value>,
    ) {
        match map_lookup::get_mut(map, key) {
            Some(slot) => {
                // Overwriting with a stock string function of the value itself: done in place.
                if let (
                    OpMode::Overwrite,
                    [
                        Evaluator::Call {
                            in_place: Some(rewrite),
                            ..
                        },
                    ],
                ) = (node.mode, evals)
                {
                    rewrite(slot);
                    return;
                }
                // Any other function of the value itself (`=toDouble`): called directly, as
                // `evaluate` would for a call with no arguments.
                if let (
                    OpMode::Overwrite,
                    [
                        Evaluator::Call {
                            function: Some(function),
                            args,
                            ..
                        },
                    ],
                ) = (node.mode, evals)
                    && args.is_empty()
                {
                    if let Some(value) = function(&[&*slot]) {
                        *slot = value;
                    }
                    return;
                }
                let value = {
                    let view = LocalView {
                        steps: &self.steps,
                        parent: None,
                        here: Some(&*slot),
                    };
                    evaluate_first(evals, Some(&*slot), &view, self.context)
                };
                // As `write_map` for a key that is there.
                let allowed = match node.mode {
                    OpMode::Overwrite => true,
                    OpMode::Default => slot.is_null(),
                    OpMode::Define => false,
                };
                if let Some(value) = value
                    && allowed
                {
                    *slot = value;
                }
            }
            None => {
                let view = LocalView {
                    steps: &self.steps,
                    parent: None,
                    here: None,
                };
                if let Some(value) = evaluate_first(evals, None, &view, self.context) {
                    map.insert(key.to_string(), value);
                }
            }
        }
    }

    /// Applies the [`Node::local`] leaves `lits` (literal keys, no `?`) to the container at
    /// the current level, walking down to it once; `false` when it is not there as an object
    /// or list (the caller then applies them one by one).
    fn apply_local_run(&mut self, lits: &'s [Node], is_list: bool, doc: &mut Value) -> bool {
        let parent_orig = self.steps.last().and_then(|s| s.orig_size);
        let Some(parent) = navigate_mut(doc, &self.steps) else {
            return false;
        };
        if !matches!(parent, Value::Object(_) | Value::Array(_)) {
            return false;
        }
        self.write_local_leaves(lits, is_list, parent_orig, parent);
        true
    }

    /// The loop of [`Run::apply_local_run`], into `parent` (an object or a list, whose
    /// walked level is on top of the path and whose size before padding is `parent_orig`).
    fn write_local_leaves(
        &mut self,
        lits: &'s [Node],
        is_list: bool,
        parent_orig: Option<usize>,
        parent: &mut Value,
    ) {
        for lit in lits {
            let Body::Leaf(evals) = &lit.body else {
                continue;
            };
            // As `apply_node` matches a literal against its own key.
            let (key, nav): (Cow<'s, str>, Nav) = match &lit.key {
                Key::Literal(s) if is_list => match java::parse_int(s) {
                    Some(i) if i >= 0 => (Cow::Borrowed(s.as_str()), Nav::Index(i as usize)),
                    _ => continue,
                },
                Key::Literal(s) => (Cow::Borrowed(s.as_str()), Nav::Key),
                Key::Index(i) if is_list => (index_key(*i), Nav::Index(*i)),
                Key::Index(_) | Key::Star(_) => continue,
            };
            if lit.self_only
                && let (Value::Object(map), Nav::Key) = (&mut *parent, nav)
            {
                self.write_self_only(lit, evals, &key, map);
                continue;
            }
            self.steps.push(MStep {
                nav,
                matched: Matched::new(key),
                orig_size: None,
            });
            self.write_local(lit, evals, nav, parent_orig, parent);
        }
    }

    fn apply_leaf(
        &mut self,
        node: &'s Node,
        evals: &'s [Evaluator],
        nav: Nav,
        matched: Matched<'s>,
        doc: &mut Value,
    ) -> Result<(), StepError> {
        self.steps.push(MStep {
            nav,
            matched,
            orig_size: None,
        });
        let parent_orig = self
            .steps
            .get(self.steps.len().wrapping_sub(2))
            .and_then(|s| s.orig_size);
        if node.local && self.trace.is_none() {
            let depth = self.steps.len();
            if let Some(parent) = navigate_mut(doc, &self.steps[..depth - 1])
                && matches!(parent, Value::Object(_) | Value::Array(_))
            {
                self.write_local(node, evals, nav, parent_orig, parent);
                return Ok(());
            }
        }
        let value = {
            let view = View::new(&*doc, &self.steps);
            let here = view.here;
            let present = match (here, self.steps.last().map(|s| s.nav)) {
                (None, _) => false,
                // In a list, "present" means inside the input list, before the spec padded it.
                (Some(_), Some(Nav::Index(i))) => parent_orig.is_none_or(|orig| i < orig),
                (Some(_), _) => true,
            };
            let input = if present { here } else { None };
            evaluate_first(evals, input, &view, self.context)
        };
        let tracing = self.trace.is_some();
        let pointer = if tracing {
            self.input_pointer()
        } else {
            String::new()
        };
        let Some(step) = self.steps.pop() else {
            return Ok(());
        };
        if let Some(t) = self.trace.as_deref_mut() {
            match &value {
                Some(_) => t.matched(&node.spec_path, pointer),
                None => t.no_value(&node.spec_path, pointer),
            }
        }
        let Some(value) = value else {
            return Ok(());
        };
        let key = step.matched.key;
        let parent_orig = self.steps.last().and_then(|s| s.orig_size);
        match navigate_mut(doc, &self.steps) {
            Some(Value::Object(map)) => {
                write_map(node.mode, map, key, value);
                Ok(())
            }
            Some(Value::Array(list)) => {
                let idx = java::parse_int(&key).and_then(|i| usize::try_from(i).ok());
                if let (Some(i), Some(orig)) = (idx, parent_orig)
                    && node.mode.applies_to_list(list, i, orig)
                {
                    list[i] = value;
                }
                Ok(())
            }
            _ => Err(StepError::new(
                self.input_pointer(),
                format!("cannot write key `{key}` into a value that is not an object or array"),
            )),
        }
    }
}

fn evaluate_first<'a>(
    evals: &'a [Evaluator],
    input: Option<&'a Value>,
    view: &impl Walk<'a>,
    context: Option<&'a Value>,
) -> Option<Value> {
    evals.iter().find_map(|e| evaluate(e, input, view, context))
}

fn evaluate<'a>(
    eval: &'a Evaluator,
    input: Option<&'a Value>,
    view: &impl Walk<'a>,
    context: Option<&'a Value>,
) -> Option<Value> {
    match eval {
        Evaluator::Arg(a) => eval_arg(a, view, context).cloned(),
        Evaluator::Call {
            function: None,
            args,
            ..
        } => args
            .first()
            .and_then(|a| eval_arg(a, view, context))
            .cloned(),
        Evaluator::Call {
            function: Some(f),
            args,
            ..
        } => match args.as_slice() {
            [] => match input {
                Some(v) => f(&[v]),
                None => f(&[]),
            },
            [one] => match eval_arg(one, view, context) {
                Some(v) => f(&[v]),
                None => f(&[]),
            },
            many => {
                // Arguments are borrowed from the document: `=size(@(2,lines))` does not copy
                // the list. A few of them fit on the stack.
                let arg = |a| eval_arg(a, view, context).unwrap_or(&crate::path::NULL);
                if many.len() <= STACK_ARGS {
                    let mut refs: [&Value; STACK_ARGS] = [&crate::path::NULL; STACK_ARGS];
                    for (slot, a) in refs.iter_mut().zip(many) {
                        *slot = arg(a);
                    }
                    f(&refs[..many.len()])
                } else {
                    let refs: Vec<&Value> = many.iter().map(arg).collect();
                    f(&refs)
                }
            }
        },
    }
}

fn eval_arg<'a>(
    arg: &'a FnArg,
    view: &impl Walk<'a>,
    context: Option<&'a Value>,
) -> Option<&'a Value> {
    match arg {
        FnArg::Literal(v) => Some(v),
        FnArg::SelfLookup(t) => t.read(view).ok().flatten(),
        FnArg::Context(segs) => {
            let mut cur = context?;
            for seg in segs {
                let step = seg.evaluate(view).ok().flatten()?;
                cur = match (&step, cur) {
                    (Resolved::Key(k), Value::Object(m)) => map_lookup::get(m, k.as_ref())?,
                    (Resolved::Index(i), Value::Array(a)) => a.get(*i)?,
                    _ => return None,
                };
            }
            Some(cur)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_args_split_outside_parens_and_quotes() {
        let (name, args) = parse_function_args("concat(@(1,a),'x, y', 3)").unwrap();
        assert_eq!(name, "concat");
        assert_eq!(args, vec!["@(1,a)", "'x, y'", "3"]);
    }

    #[test]
    fn literal_args_follow_jolt() {
        assert_eq!(parse_literal_arg(""), Value::Null);
        assert_eq!(parse_literal_arg("null"), Value::from("null"));
        assert_eq!(parse_literal_arg("TRUE"), Value::Bool(true));
        assert_eq!(parse_literal_arg("2.5"), Value::from(2.5));
    }
}
