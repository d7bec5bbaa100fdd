//! Key lookups in `serde_json` objects without hashing when the object is small.
//!
//! The workspace builds serde_json with `preserve_order`, so every `Map::get` runs SipHash over
//! the key before probing. Objects in mapping documents mostly have a handful of keys, and
//! comparing lengths then bytes over the entry list is several times cheaper than one SipHash;
//! large objects still use the hash index.

use serde_json::{Map, Value};

/// Objects up to this many entries are searched linearly.
const LINEAR_LIMIT: usize = 24;

/// Key equality without a `memcmp` call for short keys (most JSON keys): two overlapping
/// word loads compare a key of 4 to 16 bytes, which is several times cheaper than calling
/// `memcmp` for every candidate entry.
#[inline]
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if std::ptr::eq(a, b) {
        return true;
    }
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

#[inline]
fn word4(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(w)
}

#[inline]
fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
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

/// Looks up several keys in one object, each search starting after the previous key found
/// and wrapping around: specs mostly list keys in about the order the input has them, so
/// most searches stop after an entry or two instead of scanning from the start.
pub(crate) struct Cursor<'m> {
    map: &'m Map<String, Value>,
    all: serde_json::map::Iter<'m>,
    rest: serde_json::map::Iter<'m>,
}

impl<'m> Cursor<'m> {
    pub(crate) fn new(map: &'m Map<String, Value>) -> Self {
        Cursor {
            map,
            all: map.iter(),
            rest: map.iter(),
        }
    }

    /// `map.get(key)`.
    #[inline]
    pub(crate) fn get(&mut self, key: &str) -> Option<&'m Value> {
        if self.map.len() > LINEAR_LIMIT {
            return self.map.get(key);
        }
        let mut it = self.rest.clone();
        for (k, v) in it.by_ref() {
            if key_eq(k, key) {
                self.rest = it;
                return Some(v);
            }
        }
        let before = self.all.len() - self.rest.len();
        let mut it = self.all.clone();
        for _ in 0..before {
            let (k, v) = it.next()?;
            if key_eq(k, key) {
                self.rest = it;
                return Some(v);
            }
        }
        None
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
            ("abcd", "abcd", true),
            ("abcd", "abce", false),
            ("abcdefg", "abcdefg", true),
            ("abcdefg", "abcXefg", false),
            ("orderNo", "orderN0", false),
            ("abcdefgh", "abcdefgh", true),
            ("abcdefghijk", "abcdefghijk", true),
            ("abcdefghijk", "abcdeXghijk", false),
            ("abcdefghijklmnop", "abcdefghijklmnop", true),
            ("abcdefghijklmnop", "Xbcdefghijklmnop", false),
            ("abcdefghijklmnopq", "abcdefghijklmnopq", true),
            ("abcdefghijklmnopq", "abcdefghXjklmnopq", false),
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
            // In any order, repeated or missing, the cursor finds what `get` finds.
            let mut cursor = Cursor::new(&map);
            for i in [3, 1, 2, 2, 0, 7, 4, 99, 6, 5, 0, 120, 1] {
                let key = format!("k{i}");
                assert_eq!(cursor.get(&key), map.get(&key), "n={n} key={key}");
            }
            assert_eq!(get(&map, "k"), None);
            assert!(get_mut(&mut map, "k00").is_none());
        }
    }
}
