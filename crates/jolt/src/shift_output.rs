//! The output tree that `shift` builds. Values stay borrowed from the input and keys borrowed
//! from the spec or the input until the very end, when the tree becomes a `serde_json::Value`
//! in one pass; this keeps a write to `a.b[2].c` free of allocation and of SipHash lookups.
//!
//! Writes follow Jolt's `ShiftrTraversr`: missing containers are created, data of the wrong
//! type is never overwritten (the write is dropped), and a second write to one place turns it
//! into an array.

use crate::map_lookup;
use crate::object_templates::TemplateView;
use crate::path::{Resolved, SegKind};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// Objects with more keys than this get a hash index next to their entry list.
const INDEX_THRESHOLD: usize = 24;

/// A node of the output tree (40 bytes): written values are borrowed from the input, strings
/// made by the spec are borrowed from it where they can be.
#[derive(Debug, Clone)]
pub(crate) enum Out<'a> {
    Null,
    Borrowed(&'a Value),
    /// A string made by the spec (`#literal`, `$` keys), borrowed where it can be.
    Str(Cow<'a, str>),
    Object(OutMap<'a>),
    Array(Vec<Out<'a>>),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct OutMap<'a> {
    pub(crate) entries: Vec<(Cow<'a, str>, Out<'a>)>,
    /// Boxed to keep every node small: only objects past `INDEX_THRESHOLD` keys have one.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<String, usize>>>,
}

impl<'a> OutMap<'a> {
    #[inline]
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self
                .entries
                .iter()
                .position(|(k, _)| map_lookup::key_eq(k, key)),
        }
    }

    #[inline]
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
            self.index = Some(Box::new(ix));
        }
        self.entries.push((key, value));
        pos
    }
}

impl<'a> Out<'a> {
    pub(crate) fn new_object() -> Out<'a> {
        // Most output objects get several keys; start with room for them.
        Out::Object(OutMap {
            entries: Vec::with_capacity(12),
            index: None,
        })
    }

    pub(crate) fn is_null(&self) -> bool {
        match self {
            Out::Null => true,
            Out::Borrowed(v) => v.is_null(),
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
            _ => None,
        };
        if let Some(o) = opened {
            *self = o;
        }
    }

    /// Copies the tree into a `Value`, building objects of known shapes from `templates`.
    pub(crate) fn to_value(&self, templates: &mut TemplateView<'_>) -> Value {
        match self {
            Out::Null => Value::Null,
            Out::Borrowed(v) => (*v).clone(),
            Out::Str(s) => Value::String(s.to_string()),
            Out::Object(m) => {
                let keys = m.entries.iter().map(|(k, _)| k.as_ref());
                if let Some(mut map) = templates.object_for(keys, m.entries.len()) {
                    // Same keys in the same order: fill the values in without hashing.
                    for (slot, (_, v)) in map.values_mut().zip(&m.entries) {
                        *slot = v.leaf_or_to_value(templates);
                    }
                    return Value::Object(map);
                }
                let mut map = Map::with_capacity(m.entries.len());
                for (k, v) in &m.entries {
                    map.insert(k.to_string(), v.to_value(templates));
                }
                Value::Object(map)
            }
            Out::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.leaf_or_to_value(templates))
                    .collect(),
            ),
        }
    }

    /// [`Out::to_value`], copying a written input value (most nodes) without the call.
    #[inline(always)]
    fn leaf_or_to_value(&self, templates: &mut TemplateView<'_>) -> Value {
        match self {
            Out::Borrowed(v) => (*v).clone(),
            other => other.to_value(templates),
        }
    }

    /// [`Out::to_value`] without remembered shapes (for reading part of an output).
    pub(crate) fn to_plain_value(&self) -> Value {
        match self {
            Out::Object(m) => Value::Object(
                m.entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_plain_value()))
                    .collect(),
            ),
            Out::Array(items) => Value::Array(items.iter().map(Out::to_plain_value).collect()),
            Out::Null => Value::Null,
            Out::Borrowed(v) => (*v).clone(),
            Out::Str(s) => Value::String(s.to_string()),
        }
    }
}

/// Serializes exactly as `into_value` followed by serializing the `Value` would: keys are
/// unique within an `OutMap`, in insertion order.
impl Serialize for Out<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Null => serializer.serialize_unit(),
            Out::Borrowed(v) => v.serialize(serializer),
            Out::Str(s) => serializer.serialize_str(s),
            Out::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.entries.len()))?;
                for (k, v) in &m.entries {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
            Out::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

fn new_container<'a>(kind: SegKind) -> Out<'a> {
    match kind {
        SegKind::Map => Out::new_object(),
        SegKind::Array | SegKind::AutoExpand => Out::Array(Vec::new()),
    }
}

/// A plain key of a compiled output path, with where it was found in its output object last
/// time: outputs of one spec mostly have the same shape, so the guess saves searching the
/// object. The guess is always checked, so a stale one (another input, another thread) only
/// costs the search.
#[derive(Debug)]
pub(crate) struct OutKey {
    pub(crate) key: String,
    hint: AtomicU32,
}

impl OutKey {
    pub(crate) fn new(key: String) -> OutKey {
        OutKey {
            key,
            hint: AtomicU32::new(u32::MAX),
        }
    }

    /// `map.position(key)`, trying the remembered position first.
    #[inline]
    fn find(&self, map: &OutMap<'_>) -> Option<usize> {
        let hint = self.hint.load(Ordering::Relaxed) as usize;
        if let Some((k, _)) = map.entries.get(hint)
            && map_lookup::key_eq(k, &self.key)
        {
            return Some(hint);
        }
        let found = map.position(&self.key);
        if let Some(p) = found {
            self.remember(p);
        }
        found
    }

    #[inline]
    fn remember(&self, pos: usize) {
        let pos = u32::try_from(pos).unwrap_or(u32::MAX);
        // Only store a change, so threads running the same shape do not contend for the line.
        if self.hint.load(Ordering::Relaxed) != pos {
            self.hint.store(pos, Ordering::Relaxed);
        }
    }

    /// Finds the key in `map` or adds it with `make()`; its position.
    #[inline]
    fn find_or_push<'a>(&'a self, map: &mut OutMap<'a>, make: impl FnOnce() -> Out<'a>) -> usize {
        match self.find(map) {
            Some(p) => p,
            None => {
                let p = map.push(Cow::Borrowed(&self.key), make());
                self.remember(p);
                p
            }
        }
    }
}

/// One segment of an output path that needs no evaluation beyond reading an array index off
/// the walked path (`lines[&1].qty`): written by [`set_fast`] without building a
/// [`Resolved`] list.
#[derive(Debug)]
pub(crate) enum OutSeg {
    /// A plain object key.
    Key(OutKey),
    /// `[&n]`: the index is the key matched `n` levels up (resolved by the caller).
    Ref(usize),
    /// `[3]`.
    Index(usize),
    /// `[]`.
    Append,
}

impl OutSeg {
    fn kind(&self) -> SegKind {
        match self {
            OutSeg::Key(_) => SegKind::Map,
            OutSeg::Ref(_) | OutSeg::Index(_) => SegKind::Array,
            OutSeg::Append => SegKind::AutoExpand,
        }
    }
}

/// [`set_path`] for a path of [`OutSeg`]s; `refs` holds the resolved index of each
/// [`OutSeg::Ref`], in order.
pub(crate) fn set_fast<'a>(root: &mut Out<'a>, segs: &'a [OutSeg], refs: &[usize], data: Out<'a>) {
    let Some((last, parents)) = segs.split_last() else {
        merge_into(root, data);
        return;
    };
    let mut refs = refs.iter();
    let Some(cur) = descend_fast(root, parents, last.kind(), &mut refs) else {
        return;
    };
    match (cur, last) {
        (Out::Object(map), OutSeg::Key(k)) => set_key(map, k, data),
        (Out::Array(items), OutSeg::Ref(_) | OutSeg::Index(_)) => {
            let idx = match last {
                OutSeg::Index(i) => *i,
                _ => match refs.next() {
                    Some(&i) => i,
                    None => return,
                },
            };
            if idx < items.len() {
                merge_into(&mut items[idx], data);
            } else {
                items.resize_with(idx, || Out::Null);
                items.push(data);
            }
        }
        (Out::Array(items), OutSeg::Append) => items.push(data),
        _ => {}
    }
}

/// Walks (creating what is missing) down `parents` from `root`, taking `[&n]` indices from
/// `refs`, to the container the next segment (of kind `last_kind`) writes into; `None` when
/// the write is dropped (something of another type is in the way).
pub(crate) fn descend_fast<'a, 'o>(
    root: &'o mut Out<'a>,
    parents: &'a [OutSeg],
    last_kind: SegKind,
    refs: &mut std::slice::Iter<'_, usize>,
) -> Option<&'o mut Out<'a>> {
    let mut cur = root;
    for (i, seg) in parents.iter().enumerate() {
        let next_kind = parents.get(i + 1).map_or(last_kind, OutSeg::kind);
        if !open_as(cur, seg.kind()) {
            return None;
        }
        cur = match (cur, seg) {
            (Out::Object(map), OutSeg::Key(k)) => {
                let pos = k.find_or_push(map, || new_container(next_kind));
                let slot = &mut map.entries[pos].1;
                if slot.is_null() {
                    *slot = new_container(next_kind);
                }
                slot
            }
            (Out::Array(items), OutSeg::Ref(_) | OutSeg::Index(_)) => {
                let idx = match seg {
                    OutSeg::Index(i) => *i,
                    _ => *refs.next()?,
                };
                if idx >= items.len() {
                    items.resize_with(idx + 1, || Out::Null);
                }
                let slot = &mut items[idx];
                if slot.is_null() {
                    *slot = new_container(next_kind);
                }
                slot
            }
            (Out::Array(items), OutSeg::Append) => {
                items.push(new_container(next_kind));
                items.last_mut()?
            }
            _ => return None,
        };
    }
    if open_as(cur, last_kind) {
        Some(cur)
    } else {
        None
    }
}

/// The last step of a write to `…​.key`: adds the key, or merges into what is there.
#[inline]
pub(crate) fn set_key<'a>(map: &mut OutMap<'a>, k: &'a OutKey, data: Out<'a>) {
    match k.find(map) {
        None => {
            let p = map.push(Cow::Borrowed(&k.key), data);
            k.remember(p);
        }
        Some(p) => merge_into(&mut map.entries[p].1, data),
    }
}

/// Writes `data` at the evaluated path, relative to the output root.
pub(crate) fn set_path<'a>(root: &mut Out<'a>, segs: &[(SegKind, Resolved<'a>)], data: Out<'a>) {
    let Some(((last_kind, last), parents)) = segs.split_last() else {
        merge_into(root, data);
        return;
    };
    let mut cur = root;
    for (i, (kind, step)) in parents.iter().enumerate() {
        let next_kind = segs[i + 1].0;
        match descend(cur, *kind, step, next_kind) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if open_as(cur, *last_kind) {
        final_set(cur, last, data);
    }
}

/// [`set_path`] for a path of plain keys (the common `a.b.c`), which needs no evaluation.
pub(crate) fn set_literal_path<'a>(root: &mut Out<'a>, keys: &'a [OutKey], data: Out<'a>) {
    let Some((last, parents)) = keys.split_last() else {
        merge_into(root, data);
        return;
    };
    let mut cur = root;
    for key in parents {
        if !open_as(cur, SegKind::Map) {
            return;
        }
        let Out::Object(map) = cur else { return };
        let pos = key.find_or_push(map, Out::new_object);
        cur = &mut map.entries[pos].1;
        if cur.is_null() {
            *cur = Out::new_object();
        }
    }
    if !open_as(cur, SegKind::Map) {
        return;
    }
    if let Out::Object(map) = cur {
        match last.find(map) {
            None => {
                let p = map.push(Cow::Borrowed(&last.key), data);
                last.remember(p);
            }
            Some(p) => merge_into(&mut map.entries[p].1, data),
        }
    }
}

/// Makes `cur` a container of `kind` if it is a written JSON container; false when it is
/// something else (Jolt drops such a write).
#[inline]
fn open_as(cur: &mut Out<'_>, kind: SegKind) -> bool {
    // Containers built by earlier writes are already open: skip the call for them.
    if !matches!(cur, Out::Object(_) | Out::Array(_)) {
        if cur.is_null() {
            // The root before the first write.
            *cur = new_container(kind);
            return true;
        }
        cur.open_container();
    }
    match kind {
        SegKind::Map => matches!(cur, Out::Object(_)),
        SegKind::Array | SegKind::AutoExpand => matches!(cur, Out::Array(_)),
    }
}

fn descend<'a, 'o>(
    cur: &'o mut Out<'a>,
    kind: SegKind,
    step: &Resolved<'a>,
    next_kind: SegKind,
) -> Option<&'o mut Out<'a>> {
    if !open_as(cur, kind) {
        return None;
    }
    match (cur, step) {
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
            Some(&mut map.entries[pos].1)
        }
        (Out::Array(items), Resolved::Index(idx)) => {
            if *idx >= items.len() {
                items.resize_with(*idx + 1, || Out::Null);
            }
            let slot = &mut items[*idx];
            if slot.is_null() {
                *slot = new_container(next_kind);
            }
            Some(slot)
        }
        (Out::Array(items), Resolved::Append) => {
            items.push(new_container(next_kind));
            items.last_mut()
        }
        _ => None,
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
    let is_array = match slot {
        Out::Borrowed(v) => v.is_array(),
        _ => false,
    };
    if is_array {
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
