//! The opt-in `ob:` extension functions: what Jolt users keep asking for (multiply, dates,
//! conditionals). They are registered only by `Functions::with_extensions()` /
//! `CompileOptions::with_extensions()`, and their names contain `:`, which no stock Jolt
//! function has, so a stock spec can never trigger one by accident.
//!
//! | function | result |
//! |---|---|
//! | `ob:multiply(a, b, ...)` | product; integers stay integers unless they overflow |
//! | `ob:if(cond, then, else)` | `then` when `cond` is true / "true" / a non-zero number, else `else` |
//! | `ob:equals(a, b)` | `true` when the two values are equal |
//! | `ob:coalesce(a, b, ...)` | the first non-null argument |
//! | `ob:dateFormat(value, inPattern, outPattern)` | re-formats a date/time text (Java-style patterns such as `yyyy-MM-dd'T'HH:mm:ss`) |
//! | `ob:toEpochMillis(value, inPattern)` | milliseconds since 1970 (UTC unless the text has an offset) |
//! | `ob:fromEpochMillis(millis, outPattern[, offset])` | formats epoch millis, in UTC or at an offset like `+03:00` |

use crate::functions::Functions;
use crate::java::{self, JNum, to_number};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

pub(crate) fn register_all(f: &mut Functions) {
    f.register("ob:multiply", multiply);
    f.register("ob:if", |a| {
        let cond = a.first()?;
        if truthy(cond) {
            a.get(1).map(|v| (*v).clone())
        } else {
            a.get(2).map(|v| (*v).clone())
        }
    });
    f.register("ob:equals", |a| match a {
        [x, y] => Some(Value::Bool(x == y)),
        _ => None,
    });
    f.register("ob:coalesce", |a| {
        a.iter().find(|v| !v.is_null()).map(|v| (*v).clone())
    });
    f.register("ob:dateFormat", |a| match a {
        [Value::String(v), Value::String(inp), Value::String(out)] => {
            let parsed = parse_date(v, inp)?;
            format_date(&parsed, out).map(Value::String)
        }
        _ => None,
    });
    f.register("ob:toEpochMillis", |a| match a {
        [Value::String(v), Value::String(inp)] => {
            Some(Value::from(parse_date(v, inp)?.timestamp_millis()))
        }
        _ => None,
    });
    f.register("ob:fromEpochMillis", |a| {
        let millis = JNum::of_value(a.first()?)?.long_value();
        let Value::String(out) = a.get(1)? else {
            return None;
        };
        let offset = match a.get(2) {
            Some(Value::String(z)) => parse_offset(z)?,
            None => FixedOffset::east_opt(0)?,
            _ => return None,
        };
        let dt = Utc
            .timestamp_millis_opt(millis)
            .single()?
            .with_timezone(&offset);
        format_date(&dt, out).map(Value::String)
    });
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => JNum::of(n).double_value() != 0.0,
        _ => false,
    }
}

fn multiply(args: &[&Value]) -> Option<Value> {
    let unpacked: Vec<&Value>;
    let args: &[&Value] = match args {
        [Value::Array(items)] => {
            unpacked = items.iter().collect();
            &unpacked
        }
        other => other,
    };
    if args.is_empty() {
        return None;
    }
    let nums: Vec<JNum> = args.iter().map(|v| to_number(v)).collect::<Option<_>>()?;
    if nums.iter().all(|n| !matches!(n, JNum::Double(_))) {
        let mut product: i64 = 1;
        let mut overflow = false;
        for n in &nums {
            match product.checked_mul(n.long_value()) {
                Some(p) => product = p,
                None => {
                    overflow = true;
                    break;
                }
            }
        }
        if !overflow {
            return Some(Value::from(product));
        }
    }
    java::double_value(nums.iter().map(|n| n.double_value()).product())
}

fn parse_offset(z: &str) -> Option<FixedOffset> {
    if z.eq_ignore_ascii_case("UTC") || z == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = match z.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// Translates a Java `DateTimeFormatter` pattern into a chrono format string (the common
/// letters: y M d H h m s S a E X x Z z, and 'quoted' text).
fn java_pattern_to_chrono(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '%' {
                    out.push_str("%%");
                } else {
                    out.push(chars[j]);
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == c {
            run += 1;
        }
        let spec = match (c, run) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 4) => "%A",
            ('E', _) => "%a",
            ('X' | 'x', 1) => "%z",
            ('X' | 'x', _) => "%:z",
            ('Z', _) => "%z",
            ('z', _) => "%Z",
            ('%', _) => {
                for _ in 0..run {
                    out.push_str("%%");
                }
                i += run;
                continue;
            }
            _ => {
                for _ in 0..run {
                    out.push(c);
                }
                i += run;
                continue;
            }
        };
        out.push_str(spec);
        i += run;
    }
    out
}

fn parse_date(value: &str, pattern: &str) -> Option<DateTime<FixedOffset>> {
    let fmt = java_pattern_to_chrono(pattern);
    if let Ok(dt) = DateTime::parse_from_str(value, &fmt) {
        return Some(dt);
    }
    let utc = FixedOffset::east_opt(0)?;
    if let Ok(naive) = NaiveDateTime::parse_from_str(value, &fmt) {
        return utc.from_local_datetime(&naive).single();
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, &fmt) {
        return utc
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .single();
    }
    None
}

/// `None` when the pattern cannot be formatted (chrono reports that as a Display error, which
/// `to_string` would turn into a panic).
fn format_date(dt: &DateTime<FixedOffset>, pattern: &str) -> Option<String> {
    use std::fmt::Write;
    let fmt = java_pattern_to_chrono(pattern);
    let mut out = String::new();
    write!(out, "{}", dt.format(&fmt)).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ext(name: &str, args: &[Value]) -> Option<Value> {
        let refs: Vec<&Value> = args.iter().collect();
        Functions::stock().with_extensions().get(name).unwrap()(&refs)
    }

    #[test]
    fn multiply_keeps_integers_and_handles_decimals() {
        assert_eq!(ext("ob:multiply", &[json!(3), json!("4")]), Some(json!(12)));
        assert_eq!(
            ext("ob:multiply", &[json!(2.5), json!(2)]),
            Some(json!(5.0))
        );
        assert_eq!(ext("ob:multiply", &[json!("x"), json!(2)]), None);
    }

    #[test]
    fn dates_reformat_with_java_patterns() {
        assert_eq!(
            ext(
                "ob:dateFormat",
                &[
                    json!("2024-03-05T10:20:30"),
                    json!("yyyy-MM-dd'T'HH:mm:ss"),
                    json!("dd.MM.yyyy")
                ]
            ),
            Some(json!("05.03.2024"))
        );
        assert_eq!(
            ext(
                "ob:toEpochMillis",
                &[json!("1970-01-02"), json!("yyyy-MM-dd")]
            ),
            Some(json!(86_400_000))
        );
    }

    #[test]
    fn conditionals_pick_a_branch() {
        assert_eq!(
            ext("ob:if", &[json!(true), json!("a"), json!("b")]),
            Some(json!("a"))
        );
        assert_eq!(
            ext("ob:if", &[json!("false"), json!("a"), json!("b")]),
            Some(json!("b"))
        );
        assert_eq!(ext("ob:coalesce", &[json!(null), json!(2)]), Some(json!(2)));
    }
}
