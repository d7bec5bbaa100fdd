//! `remove` (Jolt's Removr): deletes matched keys. Leaves must be `""`. List indices refer to
//! the original list, so removing `0` and `2` from `[a,b,c,d]` gives `[b,d]`.

use crate::error::{SpecError, pointer_child};
use crate::explain_trace::{PathTrace, Tracer};
use crate::java;
use crate::path::StarPattern;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug)]
pub(crate) struct Remove {
    children: Vec<Node>,
    spec_paths: Vec<String>,
}

#[derive(Debug)]
enum Key {
    Literal(String),
    Star(StarPattern),
}

#[derive(Debug)]
struct Node {
    key: Key,
    spec_path: String,
    children: Option<Vec<Node>>,
}

impl Remove {
    pub(crate) fn compile(spec: &Value, base: &str) -> Result<Remove, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a remove spec must be a JSON object"));
        };
        let children = parse(map, base)?;
        let mut spec_paths = Vec::new();
        collect_paths(&children, &mut spec_paths);
        Ok(Remove {
            children,
            spec_paths,
        })
    }

    pub(crate) fn spec_paths(&self) -> &[String] {
        &self.spec_paths
    }

    pub(crate) fn apply(&self, mut input: Value, tracer: Option<&mut Tracer>) -> Value {
        let mut trace = PathTrace::new(tracer);
        process_children(&self.children, &mut input, &mut trace);
        input
    }
}

fn collect_paths(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        out.push(n.spec_path.clone());
        if let Some(c) = &n.children {
            collect_paths(c, out);
        }
    }
}

fn parse(map: &Map<String, Value>, path: &str) -> Result<Vec<Node>, SpecError> {
    let mut out = Vec::new();
    for (raw, rhs) in map {
        let child_path = pointer_child(path, raw);
        for k in raw.split('|') {
            let key = if k.contains('*') {
                Key::Star(StarPattern::new(k))
            } else {
                Key::Literal(k.to_string())
            };
            let children = match rhs {
                Value::Object(m) => Some(parse(m, &child_path)?),
                Value::String(s) if s.trim().is_empty() => None,
                other => {
                    return Err(SpecError::new(
                        &child_path,
                        format!(
                            "a remove spec leaf must be \"\" (or an object to descend into), not {other}"
                        ),
                    ));
                }
            };
            out.push(Node {
                key,
                spec_path: child_path.clone(),
                children,
            });
        }
    }
    Ok(out)
}

fn process_children(children: &[Node], input: &mut Value, trace: &mut PathTrace<'_>) {
    match input {
        Value::Array(list) => {
            let mut remove = BTreeSet::new();
            for child in children {
                child.apply_to_list(list, &mut remove, trace);
            }
            for i in remove.into_iter().rev() {
                if i < list.len() {
                    list.remove(i);
                }
            }
        }
        Value::Object(map) => {
            for child in children {
                child.apply_to_map(map, trace);
            }
        }
        _ => {}
    }
}

impl Node {
    fn apply_to_map(&self, map: &mut Map<String, Value>, trace: &mut PathTrace<'_>) {
        match (&self.children, &self.key) {
            (None, Key::Literal(k)) => {
                if map.shift_remove(k).is_some() {
                    let mark = trace.enter(&self.spec_path, k);
                    trace.leave(mark);
                }
            }
            (None, Key::Star(p)) => map.retain(|k, _| {
                let hit = p.matches(k);
                if hit {
                    let mark = trace.enter(&self.spec_path, k);
                    trace.leave(mark);
                }
                !hit
            }),
            (Some(children), Key::Literal(k)) => {
                if let Some(v) = map.get_mut(k) {
                    let mark = trace.enter(&self.spec_path, k);
                    process_children(children, v, trace);
                    trace.leave(mark);
                }
            }
            (Some(children), Key::Star(p)) => {
                for (k, v) in map.iter_mut() {
                    if p.matches(k) {
                        let mark = trace.enter(&self.spec_path, k);
                        process_children(children, v, trace);
                        trace.leave(mark);
                    }
                }
            }
        }
    }

    fn apply_to_list(
        &self,
        list: &mut [Value],
        remove: &mut BTreeSet<usize>,
        trace: &mut PathTrace<'_>,
    ) {
        let indices: Vec<usize> = match &self.key {
            Key::Literal(k) => match java::parse_int(k) {
                Some(i) if i >= 0 && (i as usize) < list.len() => vec![i as usize],
                _ => Vec::new(),
            },
            Key::Star(p) if p.is_all() => (0..list.len()).collect(),
            Key::Star(_) => Vec::new(),
        };
        for &i in &indices {
            let mark = trace.enter(&self.spec_path, &i.to_string());
            if let Some(children) = &self.children {
                process_children(children, &mut list[i], trace);
            }
            trace.leave(mark);
        }
        if self.children.is_none() {
            remove.extend(indices);
        }
    }
}
