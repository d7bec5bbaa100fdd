//! `remove` (Jolt's Removr): deletes matched keys. Leaves must be `""`. List indices refer to
//! the original list, so removing `0` and `2` from `[a,b,c,d]` gives `[b,d]`.

use crate::error::{SpecError, pointer_child};
use crate::java;
use crate::path::StarPattern;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug)]
pub(crate) struct Remove {
    children: Vec<Node>,
}

#[derive(Debug)]
enum Key {
    Literal(String),
    Star(StarPattern),
}

#[derive(Debug)]
struct Node {
    key: Key,
    children: Option<Vec<Node>>,
}

impl Remove {
    pub(crate) fn compile(spec: &Value, base: &str) -> Result<Remove, SpecError> {
        let Value::Object(map) = spec else {
            return Err(SpecError::new(base, "a remove spec must be a JSON object"));
        };
        Ok(Remove {
            children: parse(map, base)?,
        })
    }

    pub(crate) fn apply(&self, mut input: Value) -> Value {
        process_children(&self.children, &mut input);
        input
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
            out.push(Node { key, children });
        }
    }
    Ok(out)
}

fn process_children(children: &[Node], input: &mut Value) {
    match input {
        Value::Array(list) => {
            let mut remove = BTreeSet::new();
            for child in children {
                child.apply_to_list(list, &mut remove);
            }
            for i in remove.into_iter().rev() {
                if i < list.len() {
                    list.remove(i);
                }
            }
        }
        Value::Object(map) => {
            for child in children {
                child.apply_to_map(map);
            }
        }
        _ => {}
    }
}

impl Node {
    fn apply_to_map(&self, map: &mut Map<String, Value>) {
        match (&self.children, &self.key) {
            (None, Key::Literal(k)) => {
                map.shift_remove(k);
            }
            (None, Key::Star(p)) => map.retain(|k, _| !p.matches(k)),
            (Some(children), Key::Literal(k)) => {
                if let Some(v) = map.get_mut(k) {
                    process_children(children, v);
                }
            }
            (Some(children), Key::Star(p)) => {
                for (k, v) in map.iter_mut() {
                    if p.matches(k) {
                        process_children(children, v);
                    }
                }
            }
        }
    }

    fn apply_to_list(&self, list: &mut [Value], remove: &mut BTreeSet<usize>) {
        let indices: Vec<usize> = match &self.key {
            Key::Literal(k) => match java::parse_int(k) {
                Some(i) if i >= 0 && (i as usize) < list.len() => vec![i as usize],
                _ => Vec::new(),
            },
            Key::Star(p) if p.is_all() => (0..list.len()).collect(),
            Key::Star(_) => Vec::new(),
        };
        match &self.children {
            None => remove.extend(indices),
            Some(children) => {
                for i in indices {
                    process_children(children, &mut list[i]);
                }
            }
        }
    }
}
