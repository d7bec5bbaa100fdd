//! `default` (Jolt's Defaultr): fills in values that are missing or null. Literal keys apply
//! first, then `a|b`, then `*`; `*` and `a|b` only touch keys that already exist. A key ending
//! in `[]` declares that the output there is an array. Where the input holds a different kind
//! of container than the spec declares, the input wins and nothing is written.

use crate::error::{SpecError, StepError, pointer_child};
use crate::explain_trace::{PathTrace as Ctx, Tracer};
use crate::java;
use crate::limits::Limits;
use crate::map_lookup;
use serde_json::{Map, Value};

#[derive(Debug)]
pub(crate) struct Default {
    map_root: KeyNode,
    /// The spec read as array keys, for a top-level array input; why it cannot be, otherwise.
    array_root: Result<KeyNode, String>,
    spec_paths: Vec<String>,
}

#[derive(Debug, Clone)]
enum Op {
    Literal(String),
    Index(usize),
    Or(Vec<String>),
    OrIndex(Vec<usize>),
    Star,
}

impl Op {
    fn rank(&self) -> u8 {
        match self {
            Op::Literal(_) | Op::Index(_) => 0,
            Op::Or(_) | Op::OrIndex(_) => 1,
            Op::Star => 2,
        }
    }
}

#[derive(Debug)]
struct KeyNode {
    op: Op,
    /// This key addresses list elements (its parent declared `[]`).
    in_array: bool,
    spec_path: String,
    /// The output at this key is an array (`key[]`).
    array_output: bool,
    children: Option<Vec<KeyNode>>,
    value: Value,
    max_index: Option<usize>,
}

impl Default {
    pub(crate) fn compile(spec: &Value, base: &str, limits: &Limits) -> Result<Default, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a default spec must be a JSON object"));
        };
        let map_root = KeyNode::root(map, false, base, limits)?;
        // A top-level array input needs the spec read as array keys; if it cannot be, such
        // input is a transform error (as in Jolt).
        let array_root = KeyNode::root(map, true, base, limits).map_err(|e| e.to_string());
        let mut spec_paths = Vec::new();
        map_root.collect_paths(&mut spec_paths);
        Ok(Default {
            map_root,
            array_root,
            spec_paths,
        })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(
        &self,
        input: Value,
        tracer: Option<&mut Tracer>,
    ) -> Result<Value, StepError> {
        let mut ctx = Ctx {
            tracer,
            path: String::new(),
        };
        let mut input = match input {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        if input.is_array() {
            let root = match &self.array_root {
                Ok(root) => root,
                Err(why) => {
                    return Err(StepError::new(
                        "",
                        format!(
                            "this default spec cannot handle a top-level JSON array (its keys are not array indices): {why}"
                        ),
                    ));
                }
            };
            root.apply_children(&mut input, &mut ctx);
        } else {
            self.map_root.apply_children(&mut input, &mut ctx);
        }
        Ok(input)
    }
}

fn parse_children(
    map: &Map<String, Value>,
    parent_is_array: bool,
    path: &str,
    limits: &Limits,
) -> Result<Vec<KeyNode>, SpecError> {
    let mut children = Vec::with_capacity(map.len());
    for (raw, rhs) in map {
        let child_path = pointer_child(path, raw);
        let (key, array_output) = match raw.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (raw.as_str(), false),
        };
        let index_of = |k: &str| -> Result<usize, SpecError> {
            match java::parse_int(k) {
                // The array is padded with nulls up to the largest index: bounded.
                Some(i) if i >= 0 => match limits.index_problem(i as usize) {
                    Some(problem) => Err(SpecError::new(
                        &child_path,
                        format!("default key `{k}`: {problem}"),
                    )),
                    None => Ok(i as usize),
                },
                _ => Err(SpecError::new(
                    &child_path,
                    format!(
                        "`{k}` must be an array index, because the parent key declares an array with []"
                    ),
                )),
            }
        };
        let op = if key.contains('*') {
            if key != "*" {
                return Err(SpecError::new(
                    &child_path,
                    format!("default keys may use `*` only on its own, not `{key}`"),
                ));
            }
            Op::Star
        } else if key.contains('|') {
            let alts: Vec<&str> = key.split('|').collect();
            if parent_is_array {
                Op::OrIndex(alts.iter().map(|a| index_of(a)).collect::<Result<_, _>>()?)
            } else {
                Op::Or(alts.iter().map(|a| a.to_string()).collect())
            }
        } else if parent_is_array {
            Op::Index(index_of(key)?)
        } else {
            Op::Literal(key.to_string())
        };
        let (sub, value) = match rhs {
            Value::Object(m) => (
                Some(parse_children(m, array_output, &child_path, limits)?),
                Value::Null,
            ),
            other => (None, other.clone()),
        };
        let max_index = sub.as_deref().and_then(max_literal_index);
        children.push(KeyNode {
            op,
            in_array: parent_is_array,
            spec_path: child_path.clone(),
            array_output,
            children: sub,
            value,
            max_index,
        });
    }
    // Literals first, then `a|b` (fewer alternatives first, then by key text), then `*`; the
    // first default written wins, since later ones only fill what is still null.
    children.sort_by(|a, b| {
        a.op.rank()
            .cmp(&b.op.rank())
            .then_with(|| match (&a.op, &b.op) {
                (Op::Or(x), Op::Or(y)) => x
                    .len()
                    .cmp(&y.len())
                    .then_with(|| java::compare_utf16(&x.join("|"), &y.join("|"))),
                (Op::OrIndex(x), Op::OrIndex(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                _ => std::cmp::Ordering::Equal,
            })
    });
    Ok(children)
}

fn max_literal_index(children: &[KeyNode]) -> Option<usize> {
    children
        .iter()
        .filter_map(|c| match c.op {
            Op::Index(i) => Some(i),
            _ => None,
        })
        .max()
}

impl KeyNode {
    fn root(
        map: &Map<String, Value>,
        array: bool,
        base: &str,
        limits: &Limits,
    ) -> Result<KeyNode, SpecError> {
        let children = parse_children(map, array, base, limits)?;
        let max_index = max_literal_index(&children);
        Ok(KeyNode {
            op: Op::Literal("root".into()),
            in_array: false,
            spec_path: base.to_string(),
            array_output: array,
            children: Some(children),
            value: Value::Null,
            max_index,
        })
    }

    fn collect_paths(&self, out: &mut Vec<String>) {
        for c in self.children.iter().flatten() {
            out.push(c.spec_path.clone());
            c.collect_paths(out);
        }
    }

    fn apply_children(&self, defaultee: &mut Value, ctx: &mut Ctx<'_>) {
        let Some(children) = &self.children else {
            return;
        };
        if self.array_output
            && let Value::Array(list) = defaultee
            && let Some(max) = self.max_index
            && list.len() <= max
        {
            list.resize(max + 1, Value::Null);
        }
        for child in children {
            child.apply_to_container(defaultee, ctx);
        }
    }

    fn apply_to_container(&self, container: &mut Value, ctx: &mut Ctx<'_>) {
        match container {
            Value::Object(map) if !self.in_array => {
                if let Op::Literal(k) = &self.op {
                    let mark = ctx.enter(&self.spec_path, k);
                    match map_lookup::get_mut(map, k) {
                        Some(slot) => self.apply_to_slot(slot, ctx),
                        None => {
                            let mut slot = Value::Null;
                            self.apply_to_slot(&mut slot, ctx);
                            map.insert(k.clone(), slot);
                        }
                    }
                    ctx.leave(mark);
                    return;
                }
                match &self.op {
                    // Every key there: the walk changes values, never the key set.
                    Op::Star => {
                        for (k, slot) in map.iter_mut() {
                            let mark = ctx.enter(&self.spec_path, k);
                            self.apply_to_slot(slot, ctx);
                            ctx.leave(mark);
                        }
                    }
                    Op::Or(alts) => {
                        for k in alts {
                            if let Some(slot) = map_lookup::get_mut(map, k) {
                                let mark = ctx.enter(&self.spec_path, k);
                                self.apply_to_slot(slot, ctx);
                                ctx.leave(mark);
                            }
                        }
                    }
                    Op::Literal(_) | Op::Index(_) | Op::OrIndex(_) => {}
                }
            }
            Value::Array(list) if self.in_array => {
                let mut visit = |i: usize, slot: &mut Value| {
                    // The index text is only made when explain records the path.
                    let mark = if ctx.tracer.is_some() {
                        ctx.enter(&self.spec_path, &i.to_string())
                    } else {
                        None
                    };
                    self.apply_to_slot(slot, ctx);
                    ctx.leave(mark);
                };
                match &self.op {
                    Op::Index(i) => {
                        if let Some(slot) = list.get_mut(*i) {
                            visit(*i, slot);
                        }
                    }
                    Op::Star => {
                        for (i, slot) in list.iter_mut().enumerate() {
                            visit(i, slot);
                        }
                    }
                    Op::OrIndex(alts) => {
                        for &i in alts {
                            if let Some(slot) = list.get_mut(i) {
                                visit(i, slot);
                            }
                        }
                    }
                    Op::Literal(_) | Op::Or(_) => {}
                }
            }
            _ => {}
        }
    }

    fn apply_to_slot(&self, slot: &mut Value, ctx: &mut Ctx<'_>) {
        match &self.children {
            None => {
                if slot.is_null() {
                    // A fresh copy per use: defaults are never shared between runs.
                    *slot = self.value.clone();
                }
            }
            Some(_) => {
                if slot.is_null() {
                    *slot = if self.array_output {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
                self.apply_children(slot, ctx);
            }
        }
    }
}
