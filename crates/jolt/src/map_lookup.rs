//! Key lookups in `serde_json` objects without hashing when the object is small.
//!
//! The workspace builds serde_json with `preserve_order`, so every `Map::get` runs SipHash over
//! the key before probing. Objects in mapping documents mostly have a handful of keys, and
//! comparing lengths then bytes over the entry list is several times cheaper than one SipHash;
//! large objects still use the hash index.

use serde_json::{Map, Value};

/// Objects up to this many entries are searched linearly.
const LINEAR_LIMIT: usize = 24;

/// `map.get(key)`, hashing only for large objects.
#[inline]
pub(crate) fn get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if map.len() <= LINEAR_LIMIT {
        map.iter()
            .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// `map.get_mut(key)`, hashing only for large objects.
#[inline]
pub(crate) fn get_mut<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Value> {
    if map.len() <= LINEAR_LIMIT {
        map.iter_mut()
            .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    } else {
        map.get_mut(key)
    }
}

/// `map.contains_key(key)`, hashing only for large objects.
#[inline]
pub(crate) fn contains_key(map: &Map<String, Value>, key: &str) -> bool {
    get(map, key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(n: usize) -> Map<String, Value> {
        (0..n).map(|i| (format!("k{i}"), json!(i))).collect()
    }

    #[test]
    fn small_and_large_objects_find_the_same_entries() {
        for n in [0, 1, 5, LINEAR_LIMIT, LINEAR_LIMIT + 1, 100] {
            let mut map = object(n);
            for i in 0..n {
                let key = format!("k{i}");
                assert_eq!(get(&map, &key), Some(&json!(i)), "n={n} key={key}");
                assert!(contains_key(&map, &key));
                if let Some(v) = get_mut(&mut map, &key) {
                    *v = json!("changed");
                }
                assert_eq!(map.get(&key), Some(&json!("changed")));
            }
            assert_eq!(get(&map, "missing"), None);
            assert_eq!(get(&map, "k"), None);
            assert!(get_mut(&mut map, "k00").is_none());
        }
    }
}
