//! `shift` (Jolt's Shiftr): walks the input alongside a compiled spec tree and copies matched
//! values to output paths. The input is only borrowed; values are cloned once, when written.

use crate::error::{SpecError, StepError, pointer_child, push_pointer};
use crate::explain_trace::Tracer;
use crate::index_keys::index_key;
use crate::java;
use crate::path::{
    LhsKey, Matched, NULL, PathSeg, Resolved, SegKind, StarPattern, Walk, parse_dot_path,
};
use crate::shift_output::{Out, set_path};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// A compiled shift spec.
#[derive(Debug)]
pub(crate) struct Shift {
    root: Composite,
    spec_paths: Vec<String>,
}

#[derive(Debug)]
struct Node {
    key: LhsKey,
    spec_path: String,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Leaf(Vec<Vec<PathSeg>>),
    Composite(Box<Composite>),
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
    literal_index: HashMap<String, usize>,
    computed: Vec<Node>,
    strategy: Strategy,
}

impl Shift {
    pub(crate) fn compile(spec: &Value, base: &str) -> Result<Shift, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a shift spec must be a JSON object"));
        };
        let mut spec_paths = Vec::new();
        let root = compile_composite(map, base, &mut spec_paths)?;
        Ok(Shift { root, spec_paths })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(
        &self,
        input: &Value,
        trace: Option<&mut Tracer>,
    ) -> Result<Value, StepError> {
        let mut out = Output {
            holder: Out::new_object(),
            scratch: Vec::with_capacity(8),
            trace,
        };
        let mut walk = ShiftWalk {
            steps: Vec::with_capacity(16),
        };
        // Jolt puts the root on the walked path twice (the transform, then the root spec).
        walk.steps.push(Step {
            tree: input,
            matched: Matched::new(Cow::Borrowed("root")),
            input_key: None,
        });
        walk.steps.push(Step {
            tree: input,
            matched: Matched::new(Cow::Borrowed("root")),
            input_key: None,
        });
        for special in &self.root.specials {
            special.apply(Cow::Borrowed("root"), input, &mut walk, &mut out)?;
        }
        process(&self.root, input, &mut walk, &mut out)?;
        Ok(match out.holder {
            Out::Object(m) => m.remove_root().map_or(Value::Null, Out::into_value),
            _ => Value::Null,
        })
    }
}

fn compile_composite(
    map: &Map<String, Value>,
    path: &str,
    spec_paths: &mut Vec<String>,
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
                    Body::Composite(Box::new(compile_composite(sub, &child_path, spec_paths)?))
                }
                Value::String(s) => Body::Leaf(vec![compile_output(s, &child_path)?]),
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
                        writers.push(compile_output(s, &item_path)?);
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
            let node = Node {
                key,
                spec_path: child_path.clone(),
                body,
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
    Ok(Composite {
        specials,
        literals,
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

fn compile_output(rhs: &str, path: &str) -> Result<Vec<PathSeg>, SpecError> {
    let full = if rhs.trim().is_empty() {
        "root".to_string()
    } else {
        format!("root.{rhs}")
    };
    parse_dot_path(&full).map_err(|m| SpecError::new(path, m))
}

struct Step<'a> {
    tree: &'a Value,
    matched: Matched<'a>,
    /// The input key this level descended by; `None` for levels that do not descend (`@`, `$`).
    input_key: Option<Cow<'a, str>>,
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
            if let Some(k) = &s.input_key {
                push_pointer(&mut p, k);
            }
        }
        p
    }

    fn bump_last_hash(&mut self) {
        if let Some(last) = self.steps.last_mut() {
            last.matched.hash_count += 1;
        }
    }
}

struct Output<'a, 't> {
    holder: Out<'a>,
    /// Reused buffer for evaluated output paths.
    scratch: Vec<(SegKind, Resolved<'a>)>,
    trace: Option<&'t mut Tracer>,
}

impl Node {
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
                if key != s.as_str() {
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
        let input_key = if descends { Some(key.clone()) } else { None };
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
                    input_key,
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
                    LhsKey::Dollar(_) | LhsKey::Hash(_) => {
                        (Out::Owned(Value::String(matched.key.to_string())), false)
                    }
                    LhsKey::At => (Out::Borrowed(input), false),
                    LhsKey::Transpose(t) => match t.read(walk).map_err(|m| err(walk, m))? {
                        Some(v) => (Out::Borrowed(v), false),
                        None => return Ok(false),
                    },
                    _ => (Out::Borrowed(input), true),
                };
                walk.steps.push(Step {
                    tree: input,
                    matched,
                    input_key,
                });
                if let Some(t) = out.trace.as_deref_mut() {
                    t.matched(&self.spec_path, walk.input_pointer());
                }
                let result = write_all(writers, data, walk, out);
                walk.steps.pop();
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

fn write_all<'a>(
    writers: &'a [Vec<PathSeg>],
    data: Out<'a>,
    walk: &ShiftWalk<'a>,
    out: &mut Output<'a, '_>,
) -> Result<(), StepError> {
    let last = writers.len().saturating_sub(1);
    let mut data = Some(data);
    for (i, segs) in writers.iter().enumerate() {
        let mut resolved = std::mem::take(&mut out.scratch);
        resolved.clear();
        let mut aborted = false;
        for seg in segs {
            match seg
                .evaluate(walk)
                .map_err(|m| StepError::new(walk.input_pointer(), m))?
            {
                Some(r) => resolved.push((seg.kind, r)),
                None => {
                    aborted = true;
                    break;
                }
            }
        }
        if !aborted {
            let value = if i == last {
                data.take()
            } else {
                data.as_ref().map(|d| match d {
                    Out::Borrowed(v) => Out::Borrowed(v),
                    Out::Owned(v) => Out::Owned(v.clone()),
                    _ => Out::Null,
                })
            };
            if let Some(value) = value {
                set_path(&mut out.holder, &resolved, value);
            }
        }
        out.scratch = resolved;
    }
    Ok(())
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
                for lit in &comp.literals {
                    let k = literal_key(lit);
                    if let Some(v) = map.get(k) {
                        lit.apply(Cow::Borrowed(k), v, walk, out)?;
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
