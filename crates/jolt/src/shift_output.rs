//! The output tree that `shift` builds. Values stay borrowed from the input and keys borrowed
//! from the spec or the input until the very end, when the tree becomes a `serde_json::Value`
//! in one pass; this keeps a write to `a.b[2].c` free of allocation and of SipHash lookups.
//!
//! Writes follow Jolt's `ShiftrTraversr`: missing containers are created, data of the wrong
//! type is never overwritten (the write is dropped), and a second write to one place turns it
//! into an array.

use crate::path::{Resolved, SegKind};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Objects with more keys than this get a hash index next to their entry list.
const INDEX_THRESHOLD: usize = 24;

#[derive(Debug)]
pub(crate) enum Out<'a> {
    Null,
    Borrowed(&'a Value),
    Owned(Value),
    Object(OutMap<'a>),
    Array(Vec<Out<'a>>),
}

#[derive(Debug, Default)]
pub(crate) struct OutMap<'a> {
    entries: Vec<(Cow<'a, str>, Out<'a>)>,
    index: Option<HashMap<String, usize>>,
}

impl<'a> OutMap<'a> {
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k.as_ref() == key),
        }
    }

    fn push(&mut self, key: Cow<'a, str>, value: Out<'a>) -> usize {
        let pos = self.entries.len();
        if let Some(ix) = &mut self.index {
            ix.insert(key.to_string(), pos);
        } else if pos >= INDEX_THRESHOLD {
            let mut ix: HashMap<String, usize> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.to_string(), i))
                .collect();
            ix.insert(key.to_string(), pos);
            self.index = Some(ix);
        }
        self.entries.push((key, value));
        pos
    }

    pub(crate) fn remove_root(mut self) -> Option<Out<'a>> {
        let pos = self.position("root")?;
        Some(self.entries.swap_remove(pos).1)
    }
}

impl<'a> Out<'a> {
    pub(crate) fn new_object() -> Out<'a> {
        // Most output objects get several keys; start with room for them.
        Out::Object(OutMap {
            entries: Vec::with_capacity(8),
            index: None,
        })
    }

    fn is_null(&self) -> bool {
        match self {
            Out::Null => true,
            Out::Borrowed(v) => v.is_null(),
            Out::Owned(v) => v.is_null(),
            _ => false,
        }
    }

    /// Turns a written JSON object/array into tree form so that a later write can go inside
    /// it (Jolt writes into the very object it placed there earlier).
    fn open_container(&mut self) {
        let opened = match self {
            Out::Borrowed(Value::Object(m)) => Some(Out::Object(OutMap {
                entries: m
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Out::Borrowed(v)))
                    .collect(),
                index: None,
            })),
            Out::Borrowed(Value::Array(items)) => {
                Some(Out::Array(items.iter().map(Out::Borrowed).collect()))
            }
            Out::Owned(Value::Object(_)) | Out::Owned(Value::Array(_)) => {
                match std::mem::replace(self, Out::Null) {
                    Out::Owned(Value::Object(m)) => Some(Out::Object(OutMap {
                        entries: m
                            .into_iter()
                            .map(|(k, v)| (Cow::Owned(k), Out::Owned(v)))
                            .collect(),
                        index: None,
                    })),
                    Out::Owned(Value::Array(items)) => {
                        Some(Out::Array(items.into_iter().map(Out::Owned).collect()))
                    }
                    other => Some(other),
                }
            }
            _ => None,
        };
        if let Some(o) = opened {
            *self = o;
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Out::Null => Value::Null,
            Out::Borrowed(v) => v.clone(),
            Out::Owned(v) => v,
            Out::Object(m) => {
                let mut map = Map::with_capacity(m.entries.len());
                for (k, v) in m.entries {
                    map.insert(k.into_owned(), v.into_value());
                }
                Value::Object(map)
            }
            Out::Array(items) => Value::Array(items.into_iter().map(Out::into_value).collect()),
        }
    }
}

fn new_container<'a>(kind: SegKind) -> Out<'a> {
    match kind {
        SegKind::Map => Out::new_object(),
        SegKind::Array | SegKind::AutoExpand => Out::Array(Vec::new()),
    }
}

/// Writes `data` at the evaluated path.
pub(crate) fn set_path<'a>(tree: &mut Out<'a>, segs: &[(SegKind, Resolved<'a>)], data: Out<'a>) {
    let mut cur = tree;
    for (i, (kind, step)) in segs.iter().enumerate() {
        cur.open_container();
        let type_ok = match kind {
            SegKind::Map => matches!(cur, Out::Object(_)),
            SegKind::Array | SegKind::AutoExpand => matches!(cur, Out::Array(_)),
        };
        if !type_ok {
            return;
        }
        if i + 1 == segs.len() {
            final_set(cur, step, data);
            return;
        }
        let next_kind = segs[i + 1].0;
        let next = match (cur, step) {
            (Out::Object(map), Resolved::Key(k)) => {
                let pos = match map.position(k) {
                    Some(p) => {
                        if map.entries[p].1.is_null() {
                            map.entries[p].1 = new_container(next_kind);
                        }
                        p
                    }
                    None => map.push(k.clone(), new_container(next_kind)),
                };
                &mut map.entries[pos].1
            }
            (Out::Array(items), Resolved::Index(idx)) => {
                if *idx >= items.len() {
                    items.resize_with(*idx + 1, || Out::Null);
                }
                let slot = &mut items[*idx];
                if slot.is_null() {
                    *slot = new_container(next_kind);
                }
                slot
            }
            (Out::Array(items), Resolved::Append) => {
                items.push(new_container(next_kind));
                let n = items.len() - 1;
                &mut items[n]
            }
            _ => return,
        };
        cur = next;
    }
}

fn final_set<'a>(cur: &mut Out<'a>, step: &Resolved<'a>, data: Out<'a>) {
    match (cur, step) {
        (Out::Object(map), Resolved::Key(k)) => match map.position(k) {
            None => {
                map.push(k.clone(), data);
            }
            Some(p) => merge_into(&mut map.entries[p].1, data),
        },
        (Out::Array(items), Resolved::Index(idx)) => {
            if *idx < items.len() {
                merge_into(&mut items[*idx], data);
            } else {
                items.resize_with(*idx, || Out::Null);
                items.push(data);
            }
        }
        (Out::Array(items), Resolved::Append) => items.push(data),
        _ => {}
    }
}

fn merge_into<'a>(slot: &mut Out<'a>, data: Out<'a>) {
    if slot.is_null() {
        *slot = data;
        return;
    }
    if matches!(
        slot,
        Out::Borrowed(Value::Array(_)) | Out::Owned(Value::Array(_))
    ) {
        slot.open_container();
    }
    match slot {
        Out::Array(items) => items.push(data),
        other => {
            let old = std::mem::replace(other, Out::Null);
            *other = Out::Array(vec![old, data]);
        }
    }
}
