//! `shift` (Jolt's Shiftr): walks the input alongside a compiled spec tree and copies matched
//! values to output paths. The input is only borrowed; values are cloned once, when written.

use crate::error::{SpecError, StepError, pointer_child, push_pointer};
use crate::explain_trace::Tracer;
use crate::index_keys::index_key;
use crate::java;
use crate::limits::{Limits, excerpt};
use crate::map_lookup;
use crate::object_templates::ObjectTemplates;
use crate::output::Output as TransformOutput;
use crate::path::{
    ArrayPath, LhsKey, Matched, NULL, PathSeg, Resolved, SegEval, SegKind, StarPattern, Walk,
    parse_dot_path,
};
use crate::shift_output::{
    Out, OutKey, OutMap, OutSeg, descend_fast, set_fast, set_key, set_literal_path, set_path,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// A compiled shift spec.
#[derive(Debug)]
pub(crate) struct Shift {
    root: Composite,
    spec_paths: Vec<String>,
    /// Output object shapes seen so far, to build output objects without hashing.
    templates: ObjectTemplates,
    /// Largest array index a write may use ([`Limits::max_array_index`]).
    max_index: usize,
}

#[derive(Debug)]
struct Node {
    key: LhsKey,
    spec_path: String,
    body: Body,
    /// For leaves: whether any output path reads the walked path, so the leaf's own level
    /// must be pushed on it.
    leaf_reads_walk: bool,
    /// A literal key whose output paths read nothing from the walk (most leaves): matching it
    /// is writing the value, with no walk level or match record built.
    plain_leaf: bool,
}

#[derive(Debug)]
enum Body {
    Leaf(Vec<Writer>),
    Composite(Box<Composite>),
}

/// One output path of a leaf, relative to the output root (Jolt's leading `root` segment is
/// dropped at compile time).
#[derive(Debug)]
struct Writer {
    /// The output path as written in the spec, and where: for error messages.
    rhs: String,
    spec_path: String,
    segs: Vec<PathSeg>,
    /// The keys, when every segment is a plain key: written with no evaluation at all.
    literal: Option<Vec<OutKey>>,
    /// The path as [`OutSeg`]s when it reads nothing from the walk but whole matched keys as
    /// array indices (`lines[&1].qty`, at most [`MAX_REFS`] of them, none of the leaf's own
    /// key): written without evaluating segments one by one, and without the leaf's level.
    fast: Option<Vec<OutSeg>>,
}

/// Most `[&n]` references one fast output path may hold.
const MAX_REFS: usize = 4;

impl Writer {
    /// Whether writing this path needs the leaf's own level on the walked path (`&`, `@`,
    /// `[#n]`, ... evaluated segment by segment).
    fn reads_walk(&self) -> bool {
        self.literal.is_none()
            && self.fast.is_none()
            && self.segs.iter().any(|s| {
                !matches!(
                    s.eval,
                    SegEval::Literal(_)
                        | SegEval::Array(ArrayPath::AutoExpand)
                        | SegEval::Array(ArrayPath::Index(_))
                )
            })
    }
}

/// Consecutive literal entries `start..end`. When `shared`, every one is a plain leaf with one
/// output path, and all their paths go to the same object (`billTo.city`, `billTo.zip`, or
/// `lines[&1].qty`, `lines[&1].unitPrice` under one `*`): the object is found once for the run
/// and each leaf only adds its key.
#[derive(Debug, Clone, Copy)]
struct LiteralRun {
    start: usize,
    end: usize,
    shared: bool,
}

/// The output path of a [`Node::plain_leaf`] with a single output path ending in a plain key,
/// split into the path to its object and that key; `None` for other nodes. Paths with `[]`
/// before the key are left out, since each write appends a new object there.
fn shared_target(node: &Node) -> Option<(&[OutSeg], &OutKey)> {
    if !node.plain_leaf {
        return None;
    }
    let Body::Leaf(writers) = &node.body else {
        return None;
    };
    let [
        Writer {
            fast: Some(segs), ..
        },
    ] = writers.as_slice()
    else {
        return None;
    };
    let (OutSeg::Key(last), prefix) = segs.split_last()? else {
        return None;
    };
    if prefix.iter().any(|s| matches!(s, OutSeg::Append)) {
        return None;
    }
    Some((prefix, last))
}

/// The last key of a [`shared_target`] node's output path.
#[inline]
fn shared_key(node: &Node) -> Option<&OutKey> {
    let Body::Leaf(writers) = &node.body else {
        return None;
    };
    match writers.first()?.fast.as_deref()?.last()? {
        OutSeg::Key(k) => Some(k),
        _ => None,
    }
}

/// Whether two paths to an object are the same path.
fn same_prefix(a: &[OutSeg], b: &[OutSeg]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (OutSeg::Key(x), OutSeg::Key(y)) => x.key == y.key,
            (OutSeg::Ref(x), OutSeg::Ref(y)) | (OutSeg::Index(x), OutSeg::Index(y)) => x == y,
            _ => false,
        })
}

fn literal_runs(literals: &[Node]) -> Vec<LiteralRun> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < literals.len() {
        let mut end = start + 1;
        if let Some((prefix, _)) = shared_target(&literals[start]) {
            while end < literals.len()
                && shared_target(&literals[end]).is_some_and(|(p, _)| same_prefix(p, prefix))
            {
                end += 1;
            }
        }
        runs.push(LiteralRun {
            start,
            end,
            shared: end - start > 1,
        });
        start = end;
    }
    runs
}

#[derive(Debug, Clone, Copy)]
enum Strategy {
    Literals,
    Computed,
    Conflict,
    LiteralsThenComputed,
}

#[derive(Debug)]
struct Composite {
    specials: Vec<Node>,
    literals: Vec<Node>,
    /// `literals` cut into consecutive runs; see [`LiteralRun`].
    runs: Vec<LiteralRun>,
    literal_index: HashMap<String, usize>,
    computed: Vec<Node>,
    strategy: Strategy,
}

impl Shift {
    pub(crate) fn compile(spec: &Value, base: &str, limits: &Limits) -> Result<Shift, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a shift spec must be a JSON object"));
        };
        let mut spec_paths = Vec::new();
        let root = compile_composite(map, base, &mut spec_paths, ROOT_DEPTH, limits)?;
        Ok(Shift {
            root,
            spec_paths,
            templates: ObjectTemplates::default(),
            max_index: limits.max_array_index,
        })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(
        &self,
        input: &Value,
        trace: Option<&mut Tracer>,
    ) -> Result<Value, StepError> {
        Ok(match self.build(input, trace)? {
            Some(root) => {
                let mut templates = self.templates.view();
                let value = root.to_value(&mut templates);
                templates.finish();
                value
            }
            None => Value::Null,
        })
    }

    /// Runs the shift and returns its output tree, borrowing from `input` and the spec.
    pub(crate) fn transform<'a>(
        &'a self,
        input: &'a Value,
    ) -> Result<TransformOutput<'a>, StepError> {
        let root = self.build(input, None)?.unwrap_or(Out::Null);
        Ok(TransformOutput::tree(root, &self.templates))
    }

    /// Runs the shift and writes its output as JSON text, without building a `Value`.
    pub(crate) fn apply_to_json(
        &self,
        input: &Value,
        writer: &mut impl std::io::Write,
    ) -> Result<Result<(), serde_json::Error>, StepError> {
        Ok(match self.build(input, None)? {
            Some(root) => serde_json::to_writer(writer, &root),
            None => serde_json::to_writer(writer, &Value::Null),
        })
    }

    /// Walks the input and builds the output tree (still borrowing input and spec); `None` when
    /// nothing was written.
    fn build<'a>(
        &'a self,
        input: &'a Value,
        trace: Option<&mut Tracer>,
    ) -> Result<Option<Out<'a>>, StepError> {
        let mut out = Output {
            root: Out::Null,
            max_index: self.max_index,
            // Only output paths that need evaluating use it; most specs have none.
            scratch: Vec::new(),
            trace,
        };
        let mut walk = ShiftWalk {
            // Deep enough for most specs, and small enough for the allocator's fast path.
            steps: Vec::with_capacity(8),
        };
        // Jolt puts the root on the walked path twice (the transform, then the root spec).
        walk.steps.push(Step {
            tree: input,
            matched: Matched::new(Cow::Borrowed("root")),
            descends: false,
        });
        walk.steps.push(Step {
            tree: input,
            matched: Matched::new(Cow::Borrowed("root")),
            descends: false,
        });
        for special in &self.root.specials {
            special.apply(Cow::Borrowed("root"), input, &mut walk, &mut out)?;
        }
        process(&self.root, input, &mut walk, &mut out)?;
        Ok(match out.root {
            Out::Null => None,
            root => Some(root),
        })
    }
}

/// Levels on the walked path when the root spec's entries are matched (Jolt puts the root on
/// it twice); every matched spec entry adds one.
const ROOT_DEPTH: usize = 2;

/// `depth` is the walked path's length while this composite's entries are matched.
fn compile_composite(
    map: &Map<String, Value>,
    path: &str,
    spec_paths: &mut Vec<String>,
    depth: usize,
    limits: &Limits,
) -> Result<Composite, SpecError> {
    if map.is_empty() {
        return Err(SpecError::new(
            path,
            "a shift spec entry with an empty {} as value is not valid",
        ));
    }
    let mut specials = Vec::new();
    let mut literals = Vec::new();
    let mut computed = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for (raw_key, rhs) in map {
        let child_path = pointer_child(path, raw_key);
        for key_text in raw_key.split('|') {
            let key = LhsKey::parse(key_text).map_err(|m| SpecError::new(&child_path, m))?;
            let body = match rhs {
                Value::Object(sub) => {
                    if matches!(key, LhsKey::At) {
                        return Err(SpecError::new(
                            &child_path,
                            "an `@` shift key can not have children",
                        ));
                    }
                    if matches!(key, LhsKey::Dollar(_)) {
                        return Err(SpecError::new(
                            &child_path,
                            "a `$` shift key can not have children",
                        ));
                    }
                    Body::Composite(Box::new(compile_composite(
                        sub,
                        &child_path,
                        spec_paths,
                        depth + 1,
                        limits,
                    )?))
                }
                Value::String(s) => {
                    Body::Leaf(vec![compile_output(s, &child_path, depth + 1, limits)?])
                }
                Value::Array(items) => {
                    let mut writers = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let item_path = pointer_child(&child_path, &i.to_string());
                        let Value::String(s) = item else {
                            return Err(SpecError::new(
                                item_path,
                                "an output path list must hold only strings",
                            ));
                        };
                        writers.push(compile_output(s, &item_path, depth + 1, limits)?);
                    }
                    Body::Leaf(writers)
                }
                Value::Null => Body::Leaf(Vec::new()),
                other => {
                    return Err(SpecError::new(
                        &child_path,
                        format!(
                            "a shift right-hand side must be an object, a string or a list of strings, not {other}"
                        ),
                    ));
                }
            };
            let canonical = key.canonical();
            if seen.insert(canonical.clone(), ()).is_some() {
                return Err(SpecError::new(
                    &child_path,
                    format!("duplicate shift key `{canonical}` at this level"),
                ));
            }
            spec_paths.push(child_path.clone());
            let leaf_reads_walk = match &body {
                Body::Leaf(writers) => writers.iter().any(Writer::reads_walk),
                Body::Composite(_) => false,
            };
            let plain_leaf = matches!(key, LhsKey::Literal(_))
                && matches!(body, Body::Leaf(_))
                && !leaf_reads_walk;
            let node = Node {
                key,
                spec_path: child_path.clone(),
                body,
                leaf_reads_walk,
                plain_leaf,
            };
            match node.key {
                LhsKey::Literal(_) => literals.push(node),
                LhsKey::At | LhsKey::Dollar(_) | LhsKey::Hash(_) | LhsKey::Transpose(_) => {
                    specials.push(node)
                }
                LhsKey::Star(_) | LhsKey::Amp(_) | LhsKey::Array(_) => computed.push(node),
            }
        }
    }
    computed.sort_by(|a, b| {
        let ra = computed_rank(&a.key);
        let rb = computed_rank(&b.key);
        ra.cmp(&rb).then_with(|| {
            let ca = a.key.canonical();
            let cb = b.key.canonical();
            java::utf16_len(&cb)
                .cmp(&java::utf16_len(&ca))
                .then_with(|| java::compare_utf16(&ca, &cb))
        })
    });
    let literal_index: HashMap<String, usize> = literals
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match &n.key {
            LhsKey::Literal(s) => Some((s.clone(), i)),
            _ => None,
        })
        .collect();
    let strategy = if computed.is_empty() {
        Strategy::Literals
    } else if literals.is_empty() {
        Strategy::Computed
    } else {
        let conflict = computed.iter().any(|c| match &c.key {
            LhsKey::Star(p) => literal_index.keys().any(|l| p.matches(l)),
            _ => true,
        });
        if conflict {
            Strategy::Conflict
        } else {
            Strategy::LiteralsThenComputed
        }
    };
    let runs = literal_runs(&literals);
    Ok(Composite {
        specials,
        literals,
        runs,
        literal_index,
        computed,
        strategy,
    })
}

fn computed_rank(key: &LhsKey) -> u8 {
    match key {
        LhsKey::Amp(_) => 1,
        LhsKey::Star(p) => p.rank(),
        _ => 6,
    }
}

/// `depth`: the walked path's length while the leaf writes, its own level included.
fn compile_output(
    rhs: &str,
    path: &str,
    depth: usize,
    limits: &Limits,
) -> Result<Writer, SpecError> {
    let full = if rhs.trim().is_empty() {
        "root".to_string()
    } else {
        format!("root.{rhs}")
    };
    let mut segs = parse_dot_path(&full).map_err(|m| SpecError::new(path, m))?;
    // Writes start at the output root itself, so the leading `root` key is not walked.
    match segs.first() {
        Some(PathSeg {
            kind: SegKind::Map,
            eval: SegEval::Literal(k),
        }) if k == "root" => {
            segs.remove(0);
        }
        _ => {
            return Err(SpecError::new(
                path,
                format!("output path `{rhs}` could not be parsed"),
            ));
        }
    }
    // The output is nested as deep as the path is long, and the output tree is built, copied
    // and dropped recursively: bounded.
    if segs.len() > limits.max_depth {
        return Err(SpecError::new(
            path,
            format!(
                "output path `{}` has {} segments, over the limit of {} (Limits::max_depth)",
                excerpt(rhs),
                segs.len(),
                limits.max_depth
            ),
        ));
    }
    for seg in &segs {
        if let SegEval::Array(ArrayPath::Index(i)) = seg.eval
            && let Some(problem) = limits.index_problem(i)
        {
            return Err(SpecError::new(
                path,
                format!("output path `{}`: {problem}", excerpt(rhs)),
            ));
        }
    }
    let literal = segs
        .iter()
        .map(|s| match (&s.kind, &s.eval) {
            (SegKind::Map, SegEval::Literal(k)) => Some(OutKey::new(k.clone())),
            _ => None,
        })
        .collect::<Option<Vec<OutKey>>>();
    let fast = fast_segments(&segs, depth);
    Ok(Writer {
        rhs: rhs.to_string(),
        spec_path: path.to_string(),
        segs,
        literal,
        fast,
    })
}

/// The [`OutSeg`] form of an output path, when it has one (see [`Writer::fast`]).
fn fast_segments(segs: &[PathSeg], depth: usize) -> Option<Vec<OutSeg>> {
    let mut refs = 0;
    let fast = segs
        .iter()
        .map(|s| match &s.eval {
            SegEval::Literal(k) => Some(OutSeg::Key(OutKey::new(k.clone()))),
            SegEval::Array(ArrayPath::AutoExpand) => Some(OutSeg::Append),
            SegEval::Array(ArrayPath::Index(i)) => Some(OutSeg::Index(*i)),
            // The leaf's own key (level 0) and references past the root (an error the
            // evaluating path reports) take the general path.
            SegEval::Array(ArrayPath::Ref(r))
                if r.group == 0 && r.level >= 1 && r.level < depth =>
            {
                refs += 1;
                Some(OutSeg::Ref(r.level))
            }
            _ => None,
        })
        .collect::<Option<Vec<OutSeg>>>()?;
    (refs <= MAX_REFS).then_some(fast)
}

struct Step<'a> {
    tree: &'a Value,
    matched: Matched<'a>,
    /// Whether this level descended by an input key (its matched key); levels that do not
    /// descend (`@`, `$`) are left out of input paths.
    descends: bool,
}

struct ShiftWalk<'a> {
    steps: Vec<Step<'a>>,
}

impl<'a> Walk<'a> for ShiftWalk<'a> {
    fn depth(&self) -> usize {
        self.steps.len()
    }
    fn matched_at(&self, index: usize) -> &Matched<'_> {
        &self.steps[index].matched
    }
    fn tree_at(&self, index: usize) -> Option<&'a Value> {
        Some(self.steps[index].tree)
    }
}

impl ShiftWalk<'_> {
    fn input_pointer(&self) -> String {
        let mut p = String::new();
        for s in self.steps.iter().skip(2) {
            if s.descends {
                push_pointer(&mut p, &s.matched.key);
            }
        }
        p
    }

    /// `[&up]` as an array index: the key matched `up` levels above the leaf, when it is a
    /// non-negative int. `pushed`: whether the leaf's own level is on the path.
    #[inline]
    fn ref_index(&self, up: usize, pushed: bool) -> Option<usize> {
        let depth = self.steps.len() + usize::from(!pushed);
        let level = depth.checked_sub(up + 1)?;
        let key = &self.steps.get(level)?.matched.key;
        match java::parse_int(key) {
            Some(i) if i >= 0 => Some(i as usize),
            _ => None,
        }
    }

    fn bump_last_hash(&mut self) {
        if let Some(last) = self.steps.last_mut() {
            last.matched.hash_count += 1;
        }
    }
}

struct Output<'a, 't> {
    /// The output root (Jolt's `root` entry of its holder map); `Null` until written.
    root: Out<'a>,
    /// [`Shift::max_index`].
    max_index: usize,
    /// Reused buffer for evaluated output paths.
    scratch: Vec<(SegKind, Resolved<'a>)>,
    trace: Option<&'t mut Tracer>,
}

impl Node {
    /// Writes `value` for a matched [`Node::plain_leaf`]; `false` when this node is not one
    /// (or explain is on), and [`Node::apply`] must run instead.
    #[inline]
    fn write_plain_leaf<'a>(
        &'a self,
        value: &'a Value,
        walk: &mut ShiftWalk<'a>,
        out: &mut Output<'a, '_>,
    ) -> Result<bool, StepError> {
        if !self.plain_leaf || out.trace.is_some() {
            return Ok(false);
        }
        if let Body::Leaf(writers) = &self.body {
            write_all(writers, Out::Borrowed(value), walk, false, out)?;
        }
        walk.bump_last_hash();
        Ok(true)
    }

    /// Jolt's `ShiftrSpec.apply`: returns whether this node "handled" the key, which stops the
    /// remaining computed siblings from trying it.
    fn apply<'a>(
        &'a self,
        key: Cow<'a, str>,
        input: &'a Value,
        walk: &mut ShiftWalk<'a>,
        out: &mut Output<'a, '_>,
    ) -> Result<bool, StepError> {
        let err = |walk: &ShiftWalk<'a>, m: String| StepError::new(walk.input_pointer(), m);
        let (matched, descends) = match &self.key {
            LhsKey::Literal(s) => {
                if !map_lookup::key_eq(&key, s) {
                    return Ok(false);
                }
                (Matched::new(key.clone()), true)
            }
            LhsKey::Star(p) => match star_match(p, &key) {
                Some(m) => (m, true),
                None => return Ok(false),
            },
            LhsKey::Amp(t) => {
                let evaluated = t.evaluate(walk).map_err(|m| err(walk, m))?;
                if evaluated.as_ref() != key.as_ref() {
                    return Ok(false);
                }
                (Matched::new(key.clone()), true)
            }
            // An `[n]` key never matches in shift: arrays are matched with plain index keys.
            LhsKey::Array(_) => return Ok(false),
            LhsKey::At | LhsKey::Transpose(_) => (parent_matched(walk), false),
            LhsKey::Dollar(r) => {
                let text = walk.group_of(r, '$').map_err(|m| err(walk, m))?;
                (Matched::new(Cow::Owned(text.into_owned())), false)
            }
            LhsKey::Hash(text) => (Matched::new(Cow::Borrowed(text.as_str())), false),
        };
        match &self.body {
            Body::Composite(comp) => {
                let mut data = input;
                if let LhsKey::Transpose(t) = &self.key {
                    match t.read(walk).map_err(|m| err(walk, m))? {
                        Some(v) => data = v,
                        None => return Ok(false),
                    }
                }
                walk.steps.push(Step {
                    tree: data,
                    matched,
                    descends,
                });
                if let Some(t) = out.trace.as_deref_mut() {
                    t.matched(&self.spec_path, walk.input_pointer());
                }
                for special in &comp.specials {
                    special.apply(key.clone(), data, walk, out)?;
                }
                process(comp, data, walk, out)?;
                walk.steps.pop();
                walk.bump_last_hash();
                Ok(true)
            }
            Body::Leaf(writers) => {
                let (data, real): (Out<'a>, bool) = match &self.key {
                    LhsKey::Dollar(_) | LhsKey::Hash(_) => (Out::Str(matched.key.clone()), false),
                    LhsKey::At => (Out::Borrowed(input), false),
                    LhsKey::Transpose(t) => match t.read(walk).map_err(|m| err(walk, m))? {
                        Some(v) => (Out::Borrowed(v), false),
                        None => return Ok(false),
                    },
                    _ => (Out::Borrowed(input), true),
                };
                // The leaf's level is only needed by paths that read the walk (and by explain).
                let push = self.leaf_reads_walk || out.trace.is_some();
                if push {
                    walk.steps.push(Step {
                        tree: input,
                        matched,
                        descends,
                    });
                }
                if let Some(t) = out.trace.as_deref_mut() {
                    t.matched(&self.spec_path, walk.input_pointer());
                }
                let result = write_all(writers, data, walk, push, out);
                if push {
                    walk.steps.pop();
                }
                result?;
                if real {
                    walk.bump_last_hash();
                }
                Ok(real)
            }
        }
    }
}

fn parent_matched<'a>(walk: &ShiftWalk<'a>) -> Matched<'a> {
    match walk.steps.last() {
        Some(s) => s.matched.clone(),
        None => Matched::new(Cow::Borrowed("root")),
    }
}

fn star_match<'a>(p: &StarPattern, key: &Cow<'a, str>) -> Option<Matched<'a>> {
    let groups = p.captures(key)?;
    Some(Matched {
        key: key.clone(),
        groups,
        hash_count: 0,
    })
}

/// `pushed`: whether the leaf's own level is on the walked path.
fn write_all<'a>(
    writers: &'a [Writer],
    data: Out<'a>,
    walk: &ShiftWalk<'a>,
    pushed: bool,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    // The common case: one output path.
    if let [writer] = writers {
        return write_one(writer, data, walk, pushed, out);
    }
    let last = writers.len().saturating_sub(1);
    let mut data = Some(data);
    for (i, writer) in writers.iter().enumerate() {
        let value = if i == last { data.take() } else { data.clone() };
        let Some(value) = value else { continue };
        write_one(writer, value, walk, pushed, out)?;
    }
    Ok(())
}

/// Writes `value` at one output path.
fn write_one<'a>(
    writer: &'a Writer,
    value: Out<'a>,
    walk: &ShiftWalk<'a>,
    pushed: bool,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    if let Some(keys) = &writer.literal {
        set_literal_path(&mut out.root, keys, value);
        return Ok(());
    }
    if let Some(fast) = &writer.fast {
        // As the evaluating path: a key that is not a non-negative int drops the write.
        let resolved = resolve_refs(fast, walk, pushed, out.max_index)
            .map_err(|index| index_error(writer, index, out.max_index, walk))?;
        if let Some((refs, n)) = resolved {
            set_fast(&mut out.root, fast, &refs[..n], value);
        }
        return Ok(());
    }
    let mut resolved = std::mem::take(&mut out.scratch);
    resolved.clear();
    let mut aborted = false;
    for seg in &writer.segs {
        // Most segments are plain keys: no evaluation needed.
        if let SegEval::Literal(key) = &seg.eval {
            resolved.push((seg.kind, Resolved::Key(Cow::Borrowed(key))));
            continue;
        }
        match seg
            .evaluate(walk)
            .map_err(|m| StepError::new(walk.input_pointer(), m))?
        {
            // An index read from the data (`[&]`, `[#2]`, `[@(1,i)]`) pads the array up to it.
            Some(Resolved::Index(index)) if index > out.max_index => {
                out.scratch = resolved;
                return Err(index_error(writer, index, out.max_index, walk));
            }
            Some(r) => resolved.push((seg.kind, r)),
            None => {
                aborted = true;
                break;
            }
        }
    }
    if !aborted {
        set_path(&mut out.root, &resolved, value);
    }
    out.scratch = resolved;
    Ok(())
}

/// The array index of each [`OutSeg::Ref`] in `segs` (and how many there are); `None` when
/// one of the keys read is not a non-negative int, which drops the write; `Err` with the
/// index when one is over `max_index`.
#[inline]
fn resolve_refs(
    segs: &[OutSeg],
    walk: &ShiftWalk<'_>,
    pushed: bool,
    max_index: usize,
) -> Result<Option<([usize; MAX_REFS], usize)>, usize> {
    let mut refs = [0usize; MAX_REFS];
    let mut n = 0;
    for seg in segs {
        if let OutSeg::Ref(up) = seg {
            let Some(index) = walk.ref_index(*up, pushed) else {
                return Ok(None);
            };
            if index > max_index {
                return Err(index);
            }
            let Some(slot) = refs.get_mut(n) else {
                return Ok(None);
            };
            *slot = index;
            n += 1;
        }
    }
    Ok(Some((refs, n)))
}

/// The error for an array index read from the data that is over the limit.
#[cold]
fn index_error(writer: &Writer, index: usize, max_index: usize, walk: &ShiftWalk<'_>) -> StepError {
    StepError::new(
        walk.input_pointer(),
        format!(
            "output path `{}` (spec {}) gave array index {index}, over the limit of {max_index} (Limits::max_array_index)",
            excerpt(&writer.rhs),
            writer.spec_path
        ),
    )
}

/// Writes a shared [`LiteralRun`] of an input object: the output object is walked to (and
/// created) at the first key present, and each present key is then added to it, as writing
/// each path in full would.
fn write_shared_run<'a>(
    lits: &'a [Node],
    input: &mut map_lookup::Cursor<'a>,
    walk: &mut ShiftWalk<'a>,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    let Some((prefix, _)) = lits.first().and_then(shared_target) else {
        return Ok(());
    };
    let max_index = out.max_index;
    // The root until the first write; then the object, or `None` when the writes are dropped.
    let mut root = Some(&mut out.root);
    let mut target: Option<&mut OutMap<'a>> = None;
    for lit in lits {
        let Some(key) = shared_key(lit) else {
            continue;
        };
        let Some(v) = input.get(literal_key(lit)) else {
            continue;
        };
        if let Some(root) = root.take() {
            target = find_object(root, prefix, walk, max_index).map_err(|index| {
                match &lit.body {
                    Body::Leaf(writers) if !writers.is_empty() => {
                        index_error(&writers[0], index, max_index, walk)
                    }
                    _ => StepError::new(
                        walk.input_pointer(),
                        format!(
                            "array index {index} is over the limit of {max_index} (Limits::max_array_index)"
                        ),
                    ),
                }
            })?;
        }
        if let Some(object) = target.as_deref_mut() {
            set_key(object, key, Out::Borrowed(v));
        }
        walk.bump_last_hash();
    }
    Ok(())
}

/// The object at `prefix` (see [`write_shared_run`]), created if missing.
fn find_object<'a, 'o>(
    root: &'o mut Out<'a>,
    prefix: &'a [OutSeg],
    walk: &ShiftWalk<'a>,
    max_index: usize,
) -> Result<Option<&'o mut OutMap<'a>>, usize> {
    let Some((refs, n)) = resolve_refs(prefix, walk, false, max_index)? else {
        return Ok(None);
    };
    let mut refs = refs[..n].iter();
    Ok(match descend_fast(root, prefix, SegKind::Map, &mut refs) {
        Some(Out::Object(m)) => Some(m),
        _ => None,
    })
}

fn apply_computed<'a>(
    comp: &'a Composite,
    key: Cow<'a, str>,
    value: &'a Value,
    walk: &mut ShiftWalk<'a>,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    for child in &comp.computed {
        if child.apply(key.clone(), value, walk, out)? {
            break;
        }
    }
    Ok(())
}

fn apply_literal_or_computed<'a>(
    comp: &'a Composite,
    key: Cow<'a, str>,
    value: &'a Value,
    walk: &mut ShiftWalk<'a>,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    match comp.literal_index.get(key.as_ref()) {
        Some(&i) => {
            comp.literals[i].apply(key, value, walk, out)?;
            Ok(())
        }
        None => apply_computed(comp, key, value, walk, out),
    }
}

fn literal_key(node: &Node) -> &str {
    match &node.key {
        LhsKey::Literal(s) => s,
        _ => "",
    }
}

/// Jolt's `ExecutionStrategy.process` for shift.
fn process<'a>(
    comp: &'a Composite,
    input: &'a Value,
    walk: &mut ShiftWalk<'a>,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    match input {
        Value::Object(map) => {
            if matches!(
                comp.strategy,
                Strategy::Literals | Strategy::LiteralsThenComputed
            ) {
                let mut input = map_lookup::Cursor::new(map);
                for run in &comp.runs {
                    let lits = &comp.literals[run.start..run.end];
                    if run.shared && out.trace.is_none() {
                        write_shared_run(lits, &mut input, walk, out)?;
                        continue;
                    }
                    for lit in lits {
                        let k = literal_key(lit);
                        if let Some(v) = input.get(k)
                            && !lit.write_plain_leaf(v, walk, out)?
                        {
                            lit.apply(Cow::Borrowed(k), v, walk, out)?;
                        }
                    }
                }
            }
            match comp.strategy {
                Strategy::Computed | Strategy::LiteralsThenComputed => {
                    for (k, v) in map {
                        apply_computed(comp, Cow::Borrowed(k.as_str()), v, walk, out)?;
                    }
                }
                Strategy::Conflict => {
                    for (k, v) in map {
                        apply_literal_or_computed(comp, Cow::Borrowed(k.as_str()), v, walk, out)?;
                    }
                }
                Strategy::Literals => {}
            }
        }
        Value::Array(items) => {
            if matches!(
                comp.strategy,
                Strategy::Literals | Strategy::LiteralsThenComputed
            ) {
                for lit in &comp.literals {
                    let k = literal_key(lit);
                    if let Some(idx) = java::parse_int(k)
                        && idx >= 0
                        && let Some(v) = items.get(idx as usize)
                    {
                        lit.apply(Cow::Borrowed(k), v, walk, out)?;
                    }
                }
            }
            match comp.strategy {
                Strategy::Computed | Strategy::LiteralsThenComputed => {
                    for (i, v) in items.iter().enumerate() {
                        apply_computed(comp, index_key(i), v, walk, out)?;
                    }
                }
                Strategy::Conflict => {
                    for (i, v) in items.iter().enumerate() {
                        apply_literal_or_computed(comp, index_key(i), v, walk, out)?;
                    }
                }
                Strategy::Literals => {}
            }
        }
        Value::Null => {}
        scalar => {
            // A scalar is matched as a key: `"status": {"550": ...}`.
            let text: Cow<'a, str> = match scalar {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(java::to_java_string(other)),
            };
            if matches!(
                comp.strategy,
                Strategy::Literals | Strategy::LiteralsThenComputed
            ) && let Some(&i) = comp.literal_index.get(text.as_ref())
            {
                comp.literals[i].apply(text.clone(), &NULL, walk, out)?;
            }
            match comp.strategy {
                Strategy::Computed | Strategy::LiteralsThenComputed => {
                    apply_computed(comp, text, &NULL, walk, out)?;
                }
                Strategy::Conflict => apply_literal_or_computed(comp, text, &NULL, walk, out)?,
                Strategy::Literals => {}
            }
        }
    }
    Ok(())
}
