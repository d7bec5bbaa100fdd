//! `cardinality` (Jolt's CardinalityTransform): `ONE` turns a list into its first element,
//! `MANY` wraps a value in a list. `MANY` re-inserts the key, which moves it to the end of its
//! object, as Jolt does.

use crate::error::{SpecError, StepError, pointer_child};
use crate::explain_trace::{PathTrace, Tracer};
use crate::index_keys::index_key;
use crate::java;
use crate::path::{LhsKey, Matched, Walk};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    One,
    Many,
}

#[derive(Debug)]
pub(crate) struct Cardinality {
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
    Leaf(Rel),
    Composite(Composite),
}

#[derive(Debug)]
struct Composite {
    special: Option<(Rel, String)>,
    literals: HashMap<String, Node>,
    computed: Vec<Node>,
}

impl Cardinality {
    pub(crate) fn compile(spec: &Value, base: &str) -> Result<Cardinality, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(
                base,
                "a cardinality spec must be a JSON object",
            ));
        };
        let mut spec_paths = Vec::new();
        let root = compile_composite(map, base, &mut spec_paths)?;
        Ok(Cardinality { root, spec_paths })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(
        &self,
        input: Value,
        tracer: Option<&mut Tracer>,
    ) -> Result<Value, StepError> {
        let mut trace = PathTrace::new(tracer);
        let mut wrapper = Map::new();
        wrapper.insert("root".into(), input);
        let mut walk = CWalk {
            steps: vec![Matched::new(Cow::Borrowed("root"))],
        };
        let mut parent = Value::Object(wrapper);
        apply_composite(&self.root, &mut parent, "root", &mut walk, &mut trace)?;
        Ok(match parent {
            Value::Object(mut m) => m.shift_remove("root").unwrap_or(Value::Null),
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
            "a cardinality spec entry with an empty {} is not valid",
        ));
    }
    let mut special = None;
    let mut literals = HashMap::new();
    let mut computed = Vec::new();
    for (raw, rhs) in map {
        let child_path = pointer_child(path, raw);
        let key = LhsKey::parse(raw).map_err(|m| SpecError::new(&child_path, m))?;
        let body = match rhs {
            Value::Object(sub) => {
                if matches!(key, LhsKey::At) {
                    return Err(SpecError::new(
                        &child_path,
                        "an `@` cardinality key can not have children",
                    ));
                }
                Body::Composite(compile_composite(sub, &child_path, spec_paths)?)
            }
            Value::String(s) if s == "ONE" => Body::Leaf(Rel::One),
            Value::String(s) if s == "MANY" => Body::Leaf(Rel::Many),
            other => {
                return Err(SpecError::new(
                    &child_path,
                    format!("cardinality must be \"ONE\" or \"MANY\", not {other}"),
                ));
            }
        };
        spec_paths.push(child_path.clone());
        match (&key, body) {
            (LhsKey::At, Body::Leaf(rel)) => special = Some((rel, child_path.clone())),
            (LhsKey::Literal(s), body) => {
                let node = Node {
                    key: key.clone(),
                    spec_path: child_path.clone(),
                    body,
                };
                literals.insert(s.clone(), node);
            }
            (LhsKey::Star(_) | LhsKey::Amp(_), body) => computed.push(Node {
                key,
                spec_path: child_path.clone(),
                body,
            }),
            (other, _) => {
                return Err(SpecError::new(
                    &child_path,
                    format!("`{}` is not a valid cardinality key", other.canonical()),
                ));
            }
        }
    }
    computed.sort_by(|a, b| {
        let rank = |k: &LhsKey| match k {
            LhsKey::Amp(_) => 1,
            _ => 2,
        };
        rank(&a.key).cmp(&rank(&b.key)).then_with(|| {
            let (ca, cb) = (a.key.canonical(), b.key.canonical());
            cb.len()
                .cmp(&ca.len())
                .then_with(|| java::compare_utf16(&ca, &cb))
        })
    });
    Ok(Composite {
        special,
        literals,
        computed,
    })
}

struct CWalk {
    steps: Vec<Matched<'static>>,
}

impl<'v> Walk<'v> for CWalk {
    fn depth(&self) -> usize {
        self.steps.len()
    }
    fn matched_at(&self, index: usize) -> &Matched<'_> {
        &self.steps[index]
    }
    fn tree_at(&self, _index: usize) -> Option<&'v Value> {
        None
    }
}

fn child_mut<'v>(parent: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    match parent {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => java::parse_int(key).and_then(|i| a.get_mut(usize::try_from(i).ok()?)),
        _ => None,
    }
}

fn adjust(rel: Rel, parent: &mut Value, key: &str) -> Option<()> {
    match parent {
        Value::Object(map) => {
            let current = map.get(key)?;
            match (rel, current) {
                (Rel::Many, Value::Array(_)) => {}
                (Rel::Many, Value::Null) => {
                    map.insert(key.to_string(), Value::Array(Vec::new()));
                }
                (Rel::Many, _) => {
                    // Jolt removes and re-puts the key, so it moves to the end.
                    let v = map.shift_remove(key)?;
                    map.insert(key.to_string(), Value::Array(vec![v]));
                }
                (Rel::One, Value::Array(items)) => {
                    let first = items.first().cloned().unwrap_or(Value::Null);
                    map.insert(key.to_string(), first);
                }
                (Rel::One, _) => {}
            }
            Some(())
        }
        Value::Array(_) => {
            let slot = child_mut(parent, key)?;
            match (rel, &*slot) {
                (Rel::Many, Value::Array(_)) => {}
                (Rel::Many, Value::Null) => *slot = Value::Array(Vec::new()),
                (Rel::Many, _) => {
                    let v = std::mem::take(slot);
                    *slot = Value::Array(vec![v]);
                }
                (Rel::One, Value::Array(items)) => {
                    *slot = items.first().cloned().unwrap_or(Value::Null);
                }
                (Rel::One, _) => {}
            }
            Some(())
        }
        _ => None,
    }
}

fn node_matches(
    node: &Node,
    key: &str,
    walk: &CWalk,
) -> Result<Option<Matched<'static>>, StepError> {
    Ok(match &node.key {
        LhsKey::Literal(s) => (s == key).then(|| Matched::new(Cow::Owned(key.to_string()))),
        LhsKey::Star(p) => p.captures(key).map(|groups| Matched {
            key: Cow::Owned(key.to_string()),
            groups,
            hash_count: 0,
        }),
        LhsKey::Amp(t) => {
            let evaluated = t.evaluate(walk).map_err(|m| StepError::new("", m))?;
            (evaluated.as_ref() == key).then(|| Matched::new(Cow::Owned(key.to_string())))
        }
        _ => None,
    })
}

fn apply_node(
    node: &Node,
    parent: &mut Value,
    key: &str,
    walk: &mut CWalk,
    trace: &mut PathTrace<'_>,
) -> Result<bool, StepError> {
    let Some(matched) = node_matches(node, key, walk)? else {
        return Ok(false);
    };
    let mark = trace.enter(&node.spec_path, key);
    let result = match &node.body {
        Body::Leaf(rel) => {
            adjust(*rel, parent, key);
            Ok(())
        }
        Body::Composite(comp) => {
            walk.steps.push(matched);
            let r = apply_composite(comp, parent, key, walk, trace);
            walk.steps.pop();
            r
        }
    };
    trace.leave(mark);
    result.map(|()| true)
}

fn apply_composite(
    comp: &Composite,
    parent: &mut Value,
    key: &str,
    walk: &mut CWalk,
    trace: &mut PathTrace<'_>,
) -> Result<(), StepError> {
    if let Some((rel, spec_path)) = &comp.special {
        if let Some(t) = trace.tracer.as_deref_mut() {
            t.matched(spec_path, trace.path.clone());
        }
        adjust(*rel, parent, key);
        // Jolt continues with the adjusted value; a value that became null stops here.
        if child_mut(parent, key).is_none_or(|v| v.is_null()) {
            return Ok(());
        }
    }
    let Some(input) = child_mut(parent, key) else {
        return Ok(());
    };
    let keys: Vec<Cow<'static, str>> = match input {
        Value::Object(m) => m.keys().cloned().map(Cow::Owned).collect(),
        Value::Array(a) => (0..a.len()).map(index_key).collect(),
        _ => return Ok(()),
    };
    for k in keys {
        if let Some(lit) = comp.literals.get(k.as_ref()) {
            apply_node(lit, input, &k, walk, trace)?;
            continue;
        }
        for child in &comp.computed {
            if apply_node(child, input, &k, walk, trace)? {
                break;
            }
        }
    }
    Ok(())
}
