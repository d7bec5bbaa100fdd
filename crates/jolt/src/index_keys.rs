//! Array indices as map keys ("0", "1", ...): Jolt matches arrays as maps keyed by index text.
//! Small indices are formatted once and shared, so walking arrays does not allocate.

use std::borrow::Cow;
use std::sync::OnceLock;

const CACHED: usize = 1024;

fn table() -> &'static [String] {
    static TABLE: OnceLock<Vec<String>> = OnceLock::new();
    TABLE.get_or_init(|| (0..CACHED).map(|i| i.to_string()).collect())
}

/// The key text of array index `i`.
pub(crate) fn index_key(i: usize) -> Cow<'static, str> {
    match table().get(i) {
        Some(s) => Cow::Borrowed(s.as_str()),
        None => Cow::Owned(i.to_string()),
    }
}
