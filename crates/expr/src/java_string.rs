//! Java `String` indexing: lengths and indices count UTF-16 code units, not bytes or chars.

/// `String.length()`.
pub(crate) fn utf16_len(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.encode_utf16().count()
    }
}

/// The UTF-16 index of a byte offset.
pub(crate) fn utf16_index(text: &str, byte_offset: usize) -> usize {
    utf16_len(&text[..byte_offset])
}

/// `String.substring(start, end)`; `None` when Java would throw.
pub(crate) fn substring(text: &str, start: i64, end: i64) -> Option<String> {
    let length = utf16_len(text) as i64;
    if start < 0 || end > length || start > end {
        return None;
    }
    if text.is_ascii() {
        return Some(text[start as usize..end as usize].to_string());
    }
    let units: Vec<u16> = text.encode_utf16().collect();
    Some(String::from_utf16_lossy(
        &units[start as usize..end as usize],
    ))
}

/// The length in bytes of what [`pad`] returns, computed without building it (so a huge
/// `length` can be refused before anything is allocated).
pub(crate) fn padded_len(text: &str, length: i64, pad: &str) -> usize {
    let current = utf16_len(text) as i64;
    if length <= current || length > i64::from(i32::MAX) || pad.is_empty() {
        return text.len();
    }
    let needed = (length - current) as usize;
    let padding = if pad.is_ascii() {
        needed
    } else {
        let units: Vec<u16> = pad.encode_utf16().collect();
        let whole = needed / units.len();
        let rest = needed % units.len();
        whole
            .saturating_mul(pad.len())
            .saturating_add(String::from_utf16_lossy(&units[..rest]).len())
    };
    text.len().saturating_add(padding)
}

/// Pads to `length` UTF-16 units by repeating `pad` (truncated), on the left or the right.
pub(crate) fn pad(text: &str, length: i64, pad: &str, left: bool) -> String {
    let current = utf16_len(text) as i64;
    if length <= current || length > i64::from(i32::MAX) || pad.is_empty() {
        return text.to_string();
    }
    let needed = (length - current) as usize;
    let padding: String = if pad.is_ascii() {
        pad.chars().cycle().take(needed).collect()
    } else {
        let units: Vec<u16> = pad.encode_utf16().cycle().take(needed).collect();
        String::from_utf16_lossy(&units)
    };
    if left {
        padding + text
    } else {
        let mut out = text.to_string();
        out.push_str(&padding);
        out
    }
}
