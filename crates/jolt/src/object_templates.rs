//! Pre-hashed object shapes for turning `shift`'s output tree into `serde_json` objects.
//!
//! With `preserve_order`, every `Map::insert` runs SipHash over the key; building a shift
//! output spends about a third of its time there. Cloning an existing `Map` copies the stored
//! hashes instead of recomputing them, and a given spec produces the same few object shapes
//! (key sequences) over and over. So each compiled shift remembers, up to a bound, one empty
//! object per shape it has produced; an output object of a known shape is a clone of it with
//! the values filled in, in order, with no hashing.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

/// At most this many shapes are remembered per compiled shift, so specs that copy input keys
/// (whose shapes never repeat) cannot grow memory without bound.
const MAX_SHAPES: usize = 256;
/// Objects with fewer keys gain too little to be worth a lookup.
const MIN_KEYS: usize = 2;
/// Larger objects are rare and would make the remembered shapes big.
const MAX_KEYS: usize = 64;

/// The shapes one compiled shift has produced.
#[derive(Debug, Default)]
pub(crate) struct ObjectTemplates {
    shapes: RwLock<ShapeTable>,
}

/// The shape fingerprint is already a hash; the table uses it as is.
#[derive(Default)]
pub(crate) struct ShapeHasher(u64);

impl Hasher for ShapeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A cheap fingerprint of a key sequence (FxHash-style); equality is always checked after.
pub(crate) fn fingerprint<'k>(keys: impl Iterator<Item = &'k str>) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = 0;
    let mut mix = |word: u64| h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    for key in keys {
        let bytes = key.as_bytes();
        mix(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            mix(u64::from_le_bytes(word));
        }
    }
    h
}

/// A read view of the remembered shapes, held for one conversion, plus the shapes seen during
/// it that were not yet remembered.
pub(crate) struct TemplateView<'t> {
    templates: &'t ObjectTemplates,
    known: Option<std::sync::RwLockReadGuard<'t, ShapeTable>>,
    new_shapes: Vec<(u64, Map<String, Value>)>,
}

type ShapeTable = HashMap<u64, Vec<Map<String, Value>>, BuildHasherDefault<ShapeHasher>>;

impl ObjectTemplates {
    pub(crate) fn view(&self) -> TemplateView<'_> {
        TemplateView {
            templates: self,
            // A poisoned lock only means another thread panicked mid-insert; the table is
            // still a valid cache, but skipping it is the simplest safe choice.
            known: self.shapes.read().ok(),
            new_shapes: Vec::new(),
        }
    }
}

impl TemplateView<'_> {
    /// An empty-valued object with exactly `keys` in this order, if this shape is known.
    /// Unknown shapes (within the bounds) are remembered when the view is finished.
    pub(crate) fn object_for<'k>(
        &mut self,
        keys: impl Iterator<Item = &'k str> + Clone,
        len: usize,
    ) -> Option<Map<String, Value>> {
        if !(MIN_KEYS..=MAX_KEYS).contains(&len) {
            return None;
        }
        let print = fingerprint(keys.clone());
        let known = self.known.as_ref()?;
        if let Some(candidates) = known.get(&print) {
            for candidate in candidates {
                if candidate.len() == len
                    && candidate
                        .keys()
                        .zip(keys.clone())
                        .all(|(a, b)| crate::map_lookup::key_eq(a, b))
                {
                    return Some(candidate.clone());
                }
            }
        }
        if known.len() + self.new_shapes.len() < MAX_SHAPES
            && !self.new_shapes.iter().any(|(p, _)| *p == print)
        {
            let shape: Map<String, Value> = keys.map(|k| (k.to_string(), Value::Null)).collect();
            self.new_shapes.push((print, shape));
        }
        None
    }

    /// Remembers the shapes first seen during this conversion.
    pub(crate) fn finish(mut self) {
        self.known = None;
        if self.new_shapes.is_empty() {
            return;
        }
        let Ok(mut table) = self.templates.shapes.write() else {
            return;
        };
        for (print, shape) in self.new_shapes.drain(..) {
            if table.len() >= MAX_SHAPES {
                break;
            }
            let bucket = table.entry(print).or_default();
            if !bucket.iter().any(|m| m.keys().eq(shape.keys())) {
                bucket.push(shape);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_is_served_only_for_exactly_its_keys_in_order() {
        let templates = ObjectTemplates::default();
        let keys = ["a", "bb", "a-much-longer-key"];
        let mut view = templates.view();
        assert!(
            view.object_for(keys.iter().copied(), 3).is_none(),
            "unknown at first"
        );
        view.finish();

        let mut view = templates.view();
        let object = view.object_for(keys.iter().copied(), 3).unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), keys);
        assert!(object.values().all(Value::is_null));
        let reordered = ["bb", "a", "a-much-longer-key"];
        assert!(view.object_for(reordered.iter().copied(), 3).is_none());
        assert!(view.object_for(keys[..2].iter().copied(), 2).is_none());
        view.finish();
    }

    #[test]
    fn the_number_of_remembered_shapes_is_bounded() {
        let templates = ObjectTemplates::default();
        for i in 0..(MAX_SHAPES * 2) {
            let keys = [format!("k{i}"), "x".to_string()];
            let mut view = templates.view();
            view.object_for(keys.iter().map(String::as_str), 2);
            view.finish();
        }
        let table = templates.shapes.read().unwrap();
        assert!(table.values().map(Vec::len).sum::<usize>() <= MAX_SHAPES);
    }

    #[test]
    fn fingerprints_tell_apart_keys_that_split_differently() {
        assert_ne!(
            fingerprint(["ab", "c"].into_iter()),
            fingerprint(["a", "bc"].into_iter())
        );
    }
}
