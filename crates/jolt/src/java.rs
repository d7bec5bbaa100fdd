//! Java value semantics that Jolt's behaviour depends on: Integer/Long/Double number kinds,
//! `Integer.parseInt` / `Double.parseDouble`, `Object.toString()` forms, UTF-16 string lengths
//! and `String.compareTo` order.

use serde_json::{Number, Value};
use std::cmp::Ordering;

/// A JSON number seen the way Jackson hands it to Jolt: an int if it fits 32 bits, else a long,
/// else a double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JNum {
    Int(i32),
    Long(i64),
    Double(f64),
}

impl JNum {
    pub(crate) fn of(n: &Number) -> JNum {
        if let Some(i) = n.as_i64() {
            match i32::try_from(i) {
                Ok(small) => JNum::Int(small),
                Err(_) => JNum::Long(i),
            }
        } else if let Some(u) = n.as_u64() {
            // Beyond i64: Jackson makes a BigInteger; its long value wraps.
            JNum::Long(u as i64)
        } else {
            JNum::Double(n.as_f64().unwrap_or(0.0))
        }
    }

    pub(crate) fn of_value(v: &Value) -> Option<JNum> {
        match v {
            Value::Number(n) => Some(JNum::of(n)),
            _ => None,
        }
    }

    /// Java `Number.intValue()`.
    pub(crate) fn int_value(self) -> i32 {
        match self {
            JNum::Int(i) => i,
            JNum::Long(l) => l as i32,
            JNum::Double(d) => double_to_long(d) as i32,
        }
    }

    /// Java `Number.longValue()`.
    pub(crate) fn long_value(self) -> i64 {
        match self {
            JNum::Int(i) => i64::from(i),
            JNum::Long(l) => l,
            JNum::Double(d) => double_to_long(d),
        }
    }

    /// Java `Number.doubleValue()`.
    pub(crate) fn double_value(self) -> f64 {
        match self {
            JNum::Int(i) => f64::from(i),
            JNum::Long(l) => l as f64,
            JNum::Double(d) => d,
        }
    }

    pub(crate) fn to_value(self) -> Option<Value> {
        match self {
            JNum::Int(i) => Some(Value::from(i)),
            JNum::Long(l) => Some(Value::from(l)),
            JNum::Double(d) => Number::from_f64(d).map(Value::Number),
        }
    }

    pub(crate) fn to_java_string(self) -> String {
        match self {
            JNum::Int(i) => i.to_string(),
            JNum::Long(l) => l.to_string(),
            JNum::Double(d) => double_to_string(d),
        }
    }
}

/// Java's `(long) d` narrowing: truncation, saturating, NaN to 0. Rust's `as` does exactly this.
fn double_to_long(d: f64) -> i64 {
    d as i64
}

/// A double as a JSON value; NaN and infinities cannot be JSON, so they give nothing.
pub(crate) fn double_value(d: f64) -> Option<Value> {
    Number::from_f64(d).map(Value::Number)
}

/// Java `Integer.parseInt`: optional sign, ASCII digits, range of i32.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    // Array indexes (`0`, `12`) are by far the most common text here: up to nine plain digits
    // always fit an i32, so they need neither sign handling nor overflow checks.
    let bytes = s.as_bytes();
    if (1..=9).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
        return Some(bytes.iter().fold(0i32, |n, b| n * 10 + i32::from(b - b'0')));
    }
    if !valid_integer_text(s) {
        return None;
    }
    s.parse::<i32>().ok()
}

/// Java `Long.parseLong`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    if !valid_integer_text(s) {
        return None;
    }
    s.parse::<i64>().ok()
}

fn valid_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Java `Double.parseDouble`: trims ASCII control/space, accepts a trailing `d`/`f`, `NaN` and
/// `Infinity` but not Rust's `inf`/`nan` spellings.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    // Plain decimal text needs none of the checks below.
    if let Some(d) = parse_plain_decimal(s) {
        return Some(d);
    }
    let t = s.trim_matches(|c: char| c <= ' ');
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body == "NaN" {
        return Some(f64::NAN);
    }
    if body == "Infinity" {
        return Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if let Some(d) = parse_plain_decimal(t) {
        return Some(d);
    }
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// The common `123.45` form, parsed without the general algorithm: with at most 15 digits the
/// digits form an integer below 2^53 and the scale a power of ten below 10^22, both exact in a
/// double, so one (correctly rounded) division gives exactly the correctly rounded value that
/// `Double.parseDouble` gives (Clinger's fast path). Anything else returns `None`.
fn parse_plain_decimal(t: &str) -> Option<f64> {
    let (negative, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    let digits = int_part.len() + frac_part.len();
    if int_part.is_empty() || digits > 15 {
        return None;
    }
    let mut mantissa: u64 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(b - b'0');
    }
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let value = mantissa as f64 / POWERS[frac_part.len()];
    Some(if negative { -value } else { value })
}

/// Jolt's `Objects.toNumber`: numbers as they are, strings parsed as int, then long, then double.
pub(crate) fn to_number(v: &Value) -> Option<JNum> {
    match v {
        Value::Number(n) => Some(JNum::of(n)),
        // Text with a '.' is never an int or a long: straight to the double parser (the
        // common "249.90").
        Value::String(s) if s.as_bytes().contains(&b'.') => parse_double(s).map(JNum::Double),
        Value::String(s) => parse_int(s)
            .map(JNum::Int)
            .or_else(|| parse_long(s).map(JNum::Long))
            .or_else(|| parse_double(s).map(JNum::Double)),
        _ => None,
    }
}

/// Java `Double.toString(d)`.
pub(crate) fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        let mut s = format!("{d}");
        if !s.contains('.') {
            s.push_str(".0");
        }
        s
    } else {
        let sci = format!("{d:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

/// Java `String.valueOf(Object)` of a JSON value, as Jolt's functions see it (`null` is "null",
/// lists print as `[a, b]`, maps as `{k=v}`).
pub(crate) fn to_java_string(v: &Value) -> String {
    // The common scalars are made directly, without an intermediate copy.
    match v {
        Value::String(s) => return s.clone(),
        Value::Number(n) => return JNum::of(n).to_java_string(),
        _ => {}
    }
    let mut out = String::new();
    write_java_string(v, &mut out);
    out
}

fn write_java_string(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&JNum::of(n).to_java_string()),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java_string(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java_string(item, out);
            }
            out.push('}');
        }
    }
}

/// Length in UTF-16 code units, as Java's `String.length()`.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Java `String.substring(start, end)` on UTF-16 indices; `None` when out of range.
pub(crate) fn utf16_substring(s: &str, start: usize, end: usize) -> Option<String> {
    let units: Vec<u16> = s.encode_utf16().collect();
    if start > end || end > units.len() {
        return None;
    }
    Some(String::from_utf16_lossy(&units[start..end]))
}

/// Java `String.compareTo`: lexicographic over UTF-16 code units.
pub(crate) fn compare_utf16(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java `String.trim()`: strips every char `<= ' '` at both ends.
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(double_to_string(2.0), "2.0");
        assert_eq!(double_to_string(19.9), "19.9");
        assert_eq!(double_to_string(1e7), "1.0E7");
        assert_eq!(double_to_string(1.5e-5), "1.5E-5");
        assert_eq!(double_to_string(0.001), "0.001");
    }

    #[test]
    fn plain_decimals_parse_exactly_as_the_general_parser_does() {
        let mut texts: Vec<String> = [
            "0",
            "-0.0",
            "+1.5",
            "1.",
            "129.90",
            "1449.30",
            "0.1",
            "0.3",
            "999999999999999",
            "99999999999999.9",
            "0.00000000000001",
            "123456789012.345",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // A spread of digit strings and decimal point positions.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 15 + 1) as usize;
            let text = format!("{:015}", x % 1_000_000_000_000_000);
            let text = &text[15 - digits..];
            let point = (x >> 40) as usize % (digits + 1);
            texts.push(format!(
                "{}.{}",
                &text[..point.max(1)],
                &text[point.max(1)..]
            ));
        }
        for t in &texts {
            let fast = parse_plain_decimal(t).unwrap_or_else(|| panic!("{t} is plain"));
            let general: f64 = t.parse().unwrap();
            assert_eq!(fast.to_bits(), general.to_bits(), "{t}");
        }
        for not_plain in [
            "",
            "-",
            ".5",
            "1e5",
            "1.2.3",
            "1234567890123456",
            "NaN",
            "0x10",
        ] {
            assert_eq!(parse_plain_decimal(not_plain), None, "{not_plain}");
        }
        assert_eq!(parse_double(" 1449.30d"), Some(1449.3));
    }

    #[test]
    fn short_digit_strings_parse_as_the_general_parser_does() {
        for text in ["0", "7", "007", "42", "123456789", "999999999", "000000000"] {
            assert_eq!(parse_int(text), text.parse::<i32>().ok(), "{text}");
        }
        for text in [
            "",
            "1a",
            "-1",
            "+1",
            "2147483647",
            "2147483648",
            "1234567890",
            " 1",
        ] {
            let general = if valid_integer_text(text) {
                text.parse::<i32>().ok()
            } else {
                None
            };
            assert_eq!(parse_int(text), general, "{text}");
        }
    }

    #[test]
    fn numbers_parse_like_java() {
        assert_eq!(parse_int("+12"), Some(12));
        assert_eq!(parse_int("99999999999"), None);
        assert_eq!(parse_long("99999999999"), Some(99_999_999_999));
        assert_eq!(parse_double("2.5d"), Some(2.5));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("abc"), None);
        assert_eq!(JNum::Long(99_999_999_999).int_value(), 1_215_752_191);
    }
}
