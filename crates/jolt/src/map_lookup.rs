//! Key lookups in `serde_json` objects without hashing when the object is small.
//!
//! The workspace builds serde_json with `preserve_order`, so every `Map::get` runs SipHash over
//! the key before probing. Objects in mapping documents mostly have a handful of keys, and
//! comparing lengths then bytes over the entry list is several times cheaper than one SipHash;
//! large objects still use the hash index.

use serde_json::{Map, Value};

/// Objects up to this many entries are searched linearly.
const LINEAR_LIMIT: usize = 24;

/// Key equality without a `memcmp` call for the common mismatches: keys of one object differ
/// in length or in their first or last byte far more often than not.
#[inline]
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if std::ptr::eq(a, b) {
        return true;
    }
    match (a.first(), a.last()) {
        (Some(first), Some(last)) => b.first() == Some(first) && b.last() == Some(last) && a == b,
        _ => true,
    }
}

/// `map.get(key)`, hashing only for large objects.
#[inline]
pub(crate) fn get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if map.len() <= LINEAR_LIMIT {
        map.iter().find(|(k, _)| key_eq(k, key)).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// `map.get_mut(key)`, hashing only for large objects.
#[inline]
pub(crate) fn get_mut<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Value> {
    if map.len() <= LINEAR_LIMIT {
        map.iter_mut().find(|(k, _)| key_eq(k, key)).map(|(_, v)| v)
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
    fn keys_are_equal_exactly_when_their_bytes_are() {
        let pairs = [
            ("", "", true),
            ("a", "a", true),
            ("ab", "ab", true),
            ("abc", "abc", true),
            ("abc", "abd", false),
            ("abc", "xbc", false),
            ("axc", "ayc", false),
            ("ab", "abc", false),
            ("", "a", false),
        ];
        for (a, b, equal) in pairs {
            assert_eq!(key_eq(a, b), equal, "{a:?} vs {b:?}");
            let copy = a.to_string();
            assert_eq!(
                key_eq(copy.as_str(), b),
                equal,
                "{a:?} vs {b:?} (other pointer)"
            );
        }
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
