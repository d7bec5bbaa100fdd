//! Modify functions (`=toUpper`, `=concat(...)`, ...): the stock set with Java's number and
//! string semantics, and a registry so a host can add its own by name.
//!
//! A function receives the evaluated arguments and returns `None` when it "does not apply";
//! the modify step then leaves the key unwritten, as Jolt does. An empty slice means "called
//! with no arguments" (the input was missing), which differs from one `null` argument.

use crate::java::{self, JNum, to_number};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The signature of a modify function.
pub type FunctionImpl = dyn Fn(&[&Value]) -> Option<Value> + Send + Sync;

/// A set of modify functions by name. `Functions::stock()` holds Jolt's own; `register` adds
/// custom ones; `with_extensions()` adds the `ob:` extension namespace (see `extensions`).
#[derive(Clone)]
pub struct Functions {
    map: HashMap<String, Arc<FunctionImpl>>,
    /// In-place forms of some stock functions (see [`InPlaceFn`]), dropped when a function is
    /// registered under the same name.
    in_place: HashMap<String, InPlaceFn>,
}

/// A stock function's in-place form, for a value that rewrites itself (`"code": "=toUpper"`
/// in `modify-overwrite-beta`): it leaves the value exactly as writing back the function's
/// result would (untouched where the function does not apply), without building a new string
/// and freeing the old one.
pub(crate) type InPlaceFn = fn(&mut Value);

impl fmt::Debug for Functions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_struct("Functions").field("names", &names).finish()
    }
}

impl Default for Functions {
    fn default() -> Self {
        Functions::stock()
    }
}

impl Functions {
    /// Jolt's stock functions, under their Jolt names.
    pub fn stock() -> Functions {
        let mut f = Functions {
            map: HashMap::new(),
            in_place: HashMap::new(),
        };
        f.register("toLower", |a| {
            single(a, |v| v.as_str().map(|s| Value::from(to_lower(s))))
        });
        f.register("toUpper", |a| {
            single(a, |v| v.as_str().map(|s| Value::from(to_upper(s))))
        });
        f.register("trim", |a| {
            single(a, |v| v.as_str().map(|s| Value::from(java::java_trim(s))))
        });
        let in_place: [(&str, InPlaceFn); 3] = [
            ("toLower", to_lower_in_place),
            ("toUpper", to_upper_in_place),
            ("trim", trim_in_place),
        ];
        for (name, function) in in_place {
            f.in_place.insert(name.to_string(), function);
        }
        f.register("concat", concat);
        f.register("join", |a| arg_driven(a, is_string, join, |_, _| None));
        f.register("split", |a| {
            arg_driven(
                a,
                is_string,
                |sep, items| map_list(items, |v| split(sep, v)),
                split,
            )
        });
        f.register("substring", |a| list_fn(a, substring));
        f.register("leftPad", |a| {
            arg_driven(a, is_string, |s, args| pad(true, s, args), |_, _| None)
        });
        f.register("rightPad", |a| {
            arg_driven(a, is_string, |s, args| pad(false, s, args), |_, _| None)
        });

        f.register("min", |a| {
            base(a, |l| min_max(l, Ordering::Less), single_number)
        });
        f.register("max", |a| {
            base(a, |l| min_max(l, Ordering::Greater), single_number)
        });
        f.register("abs", |a| single(a, abs));
        f.register("avg", |a| list_fn(a, avg));
        f.register("intSum", |a| {
            list_fn(a, |l| {
                let sum = l
                    .iter()
                    .copied()
                    .filter_map(to_integer)
                    .fold(0i32, i32::wrapping_add);
                Some(Value::from(sum))
            })
        });
        f.register("doubleSum", |a| {
            list_fn(a, |l| {
                java::double_value(l.iter().copied().filter_map(to_double).sum())
            })
        });
        f.register("longSum", |a| {
            list_fn(a, |l| {
                Some(Value::from(
                    l.iter()
                        .copied()
                        .filter_map(to_long)
                        .fold(0i64, i64::wrapping_add),
                ))
            })
        });
        f.register("intSubtract", |a| {
            list_fn(a, |l| match l {
                [Value::Number(x), Value::Number(y)] => match (JNum::of(x), JNum::of(y)) {
                    (JNum::Int(x), JNum::Int(y)) => Some(Value::from(x.wrapping_sub(y))),
                    _ => None,
                },
                _ => None,
            })
        });
        f.register("longSubtract", |a| {
            list_fn(a, |l| match l {
                [Value::Number(x), Value::Number(y)] => match (JNum::of(x), JNum::of(y)) {
                    (JNum::Long(x), JNum::Long(y)) => Some(Value::from(x.wrapping_sub(y))),
                    _ => None,
                },
                _ => None,
            })
        });
        f.register("doubleSubtract", |a| {
            list_fn(a, |l| match l {
                [Value::Number(x), Value::Number(y)] => match (JNum::of(x), JNum::of(y)) {
                    (JNum::Double(x), JNum::Double(y)) => java::double_value(x - y),
                    _ => None,
                },
                _ => None,
            })
        });
        f.register("divide", |a| {
            list_fn(a, |l| divide(l).and_then(java::double_value))
        });
        f.register("divideAndRound", |a| {
            arg_driven(a, is_int, divide_and_round, |_, _| None)
        });

        f.register("toInteger", |a| {
            single(a, |v| to_integer(v).map(Value::from))
        });
        f.register("toLong", |a| single(a, |v| to_long(v).map(Value::from)));
        f.register("toDouble", |a| {
            single(a, |v| to_double(v).and_then(java::double_value))
        });
        f.register("toBoolean", |a| single(a, to_boolean));
        f.register("toString", |a| {
            single(a, |v| Some(Value::from(java::to_java_string(v))))
        });
        f.register("size", size);

        f.register("squashNulls", |a| squash(a, squash_nulls));
        f.register("recursivelySquashNulls", |a| {
            squash(a, recursively_squash_nulls)
        });
        f.register("squashDuplicates", |a| squash(a, squash_duplicates));

        f.register("noop", |_| None);
        f.register("isPresent", |a| a.first().map(|v| (*v).clone()));
        f.register("notNull", |a| {
            a.first().filter(|v| !v.is_null()).map(|v| (*v).clone())
        });
        f.register("isNull", |a| {
            a.first().filter(|v| v.is_null()).map(|v| (*v).clone())
        });

        f.register("firstElement", |a| {
            list_fn(a, |l| l.first().map(|v| (*v).clone()))
        });
        f.register("lastElement", |a| {
            list_fn(a, |l| l.last().map(|v| (*v).clone()))
        });
        f.register("elementAt", |a| {
            arg_driven(
                a,
                is_int,
                |idx, l| {
                    let i = JNum::of_value(idx)?.int_value();
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| l.get(i).map(|v| (*v).clone()))
                },
                |_, _| None,
            )
        });
        f.register("toList", |a| {
            base(
                a,
                |l| Some(Value::Array(l.iter().map(|v| (*v).clone()).collect())),
                |v| Some(Value::Array(vec![v.clone()])),
            )
        });
        f.register("sort", |a| base(a, sort, |v| Some(v.clone())));
        f
    }

    /// Adds the `ob:` extension functions (multiply, dates, conditionals). Stock Jolt specs can
    /// never name them by accident: no Jolt function has a `:` in its name.
    pub fn with_extensions(mut self) -> Functions {
        crate::extensions::register_all(&mut self);
        self
    }

    /// Registers (or replaces) a function under `name`.
    pub fn register<F>(&mut self, name: &str, function: F) -> &mut Functions
    where
        F: Fn(&[&Value]) -> Option<Value> + Send + Sync + 'static,
    {
        self.map.insert(name.to_string(), Arc::new(function));
        self.in_place.remove(name);
        self
    }

    /// The in-place form of the function registered under `name`, if it is a stock one that
    /// has one.
    pub(crate) fn in_place(&self, name: &str) -> Option<InPlaceFn> {
        self.in_place.get(name).copied()
    }

    /// The function registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<FunctionImpl>> {
        self.map.get(name).cloned()
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

// ---- Jolt's function shapes (Function.BaseFunction and friends) ----

/// Borrows a list's elements as an argument slice (no deep copy).
fn refs(items: &[Value]) -> Vec<&Value> {
    items.iter().collect()
}

/// `BaseFunction`: one list argument or many arguments go to `list`; one scalar to `one`.
fn base(
    args: &[&Value],
    list: impl Fn(&[&Value]) -> Option<Value>,
    one: impl Fn(&Value) -> Option<Value>,
) -> Option<Value> {
    match args {
        [] => None,
        [Value::Array(items)] => {
            if items.is_empty() {
                None
            } else {
                list(&refs(items))
            }
        }
        [Value::Null] => None,
        [v] => one(v),
        many => list(many),
    }
}

/// `SingleFunction`: applies to one value, or to each element of a list (keeping elements it
/// cannot convert).
fn single(args: &[&Value], one: impl Fn(&Value) -> Option<Value>) -> Option<Value> {
    base(args, |items| map_list(items, &one), &one)
}

fn map_list(items: &[&Value], one: impl Fn(&Value) -> Option<Value>) -> Option<Value> {
    Some(Value::Array(
        items
            .iter()
            .map(|v| one(v).unwrap_or_else(|| (*v).clone()))
            .collect(),
    ))
}

/// `ListFunction`: only list-shaped input.
fn list_fn(args: &[&Value], list: impl Fn(&[&Value]) -> Option<Value>) -> Option<Value> {
    base(args, list, |_| None)
}

/// `ArgDrivenFunction`: the first argument is a typed parameter, the rest the input.
fn arg_driven(
    args: &[&Value],
    special_ok: impl Fn(&Value) -> bool,
    list: impl Fn(&Value, &[&Value]) -> Option<Value>,
    one: impl Fn(&Value, &Value) -> Option<Value>,
) -> Option<Value> {
    let unpacked;
    let args: &[&Value] = match args {
        [Value::Array(items)] => {
            unpacked = refs(items);
            &unpacked
        }
        other => other,
    };
    if args.len() < 2 || !special_ok(args[0]) {
        return None;
    }
    let special = args[0];
    if args.len() == 2 {
        match args[1] {
            Value::Array(items) => list(special, &refs(items)),
            other => one(special, other),
        }
    } else {
        list(special, &args[1..])
    }
}

fn is_string(v: &Value) -> bool {
    v.is_string()
}

fn is_int(v: &Value) -> bool {
    matches!(JNum::of_value(v), Some(JNum::Int(_)))
}

// ---- conversions (Jolt's Objects class) ----

pub(crate) fn to_integer(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => Some(JNum::of(n).int_value()),
        Value::String(_) => to_number(v).map(JNum::int_value),
        _ => None,
    }
}

pub(crate) fn to_long(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => Some(JNum::of(n).long_value()),
        Value::String(_) => to_number(v).map(JNum::long_value),
        _ => None,
    }
}

pub(crate) fn to_double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(JNum::of(n).double_value()),
        Value::String(_) => to_number(v).map(JNum::double_value),
        _ => None,
    }
}

fn to_boolean(v: &Value) -> Option<Value> {
    match v {
        Value::Bool(b) => Some(Value::Bool(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        _ => None,
    }
}

// ---- strings ----

/// `str::to_uppercase`, with plain ASCII text (the usual codes and currencies) converted
/// byte by byte, which gives the same result.
fn to_upper(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.to_uppercase()
    }
}

/// `str::to_lowercase`, with the same ASCII shortcut as [`to_upper`].
fn to_lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// [`single`] in place: `one` rewrites a string, or each string directly in a list.
fn single_in_place(v: &mut Value, one: fn(&mut String)) {
    match v {
        Value::String(s) => one(s),
        Value::Array(items) => {
            for item in items {
                if let Value::String(s) = item {
                    one(s);
                }
            }
        }
        _ => {}
    }
}

fn to_upper_in_place(v: &mut Value) {
    single_in_place(v, |s| {
        if s.is_ascii() {
            s.make_ascii_uppercase();
        } else {
            *s = s.to_uppercase();
        }
    });
}

fn to_lower_in_place(v: &mut Value) {
    single_in_place(v, |s| {
        if s.is_ascii() {
            s.make_ascii_lowercase();
        } else {
            *s = s.to_lowercase();
        }
    });
}

fn trim_in_place(v: &mut Value) {
    single_in_place(v, |s| {
        let trimmed = java::java_trim(s);
        if trimmed.len() != s.len() {
            *s = trimmed.to_string();
        }
    });
}

/// Jolt's `concat` is a `ListFunction`: a single argument that is not a list (a string, a
/// number, an empty list, null) gives no value, as `=concat(@(1,a))` does in Java.
fn concat(args: &[&Value]) -> Option<Value> {
    list_fn(args, |parts| {
        let mut out = String::new();
        for p in parts {
            if !p.is_null() {
                out.push_str(&java::to_java_string(p));
            }
        }
        Some(Value::String(out))
    })
}

/// Java's `Strings.join`: null and empty items are skipped, but the separator follows every
/// other item that is not the *last item of the list*, so trailing empty or null items leave a
/// trailing separator: `join(',', ["a", ""])` is `"a,"`, `join(',', ["", "a"])` is `"a"`.
fn join(sep: &Value, items: &[&Value]) -> Option<Value> {
    let sep = sep.as_str()?;
    let last = items.len().saturating_sub(1);
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if item.is_null() {
            continue;
        }
        let text = java::to_java_string(item);
        if text.is_empty() {
            continue;
        }
        out.push_str(&text);
        if i < last {
            out.push_str(sep);
        }
    }
    Some(Value::String(out))
}

fn split(sep: &Value, source: &Value) -> Option<Value> {
    let sep = sep.as_str()?;
    let source = source.as_str()?;
    let re = regex::Regex::new(sep).ok()?;
    Some(Value::Array(
        java_split(&re, source)
            .into_iter()
            .map(Value::String)
            .collect(),
    ))
}

/// Java `String.split(regex)`: a zero-width match at the start gives no leading empty string,
/// and trailing empty strings are removed.
fn java_split(re: &regex::Regex, s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let mut parts = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if m.end() == 0 {
            continue;
        }
        if m.start() == m.end() && m.start() >= s.len() {
            continue;
        }
        parts.push(s[last..m.start()].to_string());
        last = m.end();
    }
    parts.push(s[last..].to_string());
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() {
        return Vec::new();
    }
    parts
}

fn substring(args: &[&Value]) -> Option<Value> {
    let [Value::String(s), start, end] = args else {
        return None;
    };
    let (Some(JNum::Int(start)), Some(JNum::Int(end))) =
        (JNum::of_value(start), JNum::of_value(end))
    else {
        return None;
    };
    if start >= end || start < 0 || end < 1 || end as usize > java::utf16_len(s) {
        return None;
    }
    java::utf16_substring(s, start as usize, end as usize).map(Value::String)
}

fn pad(left: bool, source: &Value, args: &[&Value]) -> Option<Value> {
    let source = source.as_str()?;
    let (Some(JNum::Int(width)), Some(Value::String(filler))) = (
        args.first().and_then(|v| JNum::of_value(v)),
        args.get(1).copied(),
    ) else {
        return None;
    };
    if width <= 0 || width > 500 {
        return None;
    }
    let mut chars = filler.chars();
    let (Some(fill), None) = (chars.next(), chars.next()) else {
        return None;
    };
    if fill.len_utf16() != 1 {
        return None;
    }
    let len = java::utf16_len(source);
    let width = width as usize;
    if width <= len {
        return Some(Value::from(source));
    }
    let padding: String = std::iter::repeat_n(fill, width - len).collect();
    Some(Value::String(if left {
        padding + source
    } else {
        format!("{source}{padding}")
    }))
}

// ---- math (Jolt's Math class) ----

fn single_number(v: &Value) -> Option<Value> {
    v.is_number().then(|| v.clone())
}

/// Jolt's `min`/`max`: tracks the best int, long and double separately (strings parsed), then
/// picks among them comparing long values, as Java does.
fn min_max(args: &[&Value], want: Ordering) -> Option<Value> {
    let is_max = want == Ordering::Greater;
    let mut best_int: i32 = if is_max { i32::MIN } else { i32::MAX };
    let mut best_long: i64 = if is_max { i64::MIN } else { i64::MAX };
    let mut best_double: f64 = if is_max { -f64::MAX } else { f64::MAX };
    let mut found = false;
    for arg in args {
        let n = match arg {
            Value::Number(n) => JNum::of(n),
            Value::String(_) => match to_number(arg) {
                Some(n) => n,
                None => continue,
            },
            _ => continue,
        };
        found = true;
        match n {
            JNum::Int(i) => {
                best_int = if is_max {
                    best_int.max(i)
                } else {
                    best_int.min(i)
                }
            }
            JNum::Long(l) => {
                best_long = if is_max {
                    best_long.max(l)
                } else {
                    best_long.min(l)
                }
            }
            JNum::Double(d) => {
                best_double = if is_max {
                    java_max(best_double, d)
                } else {
                    java_min(best_double, d)
                }
            }
        }
    }
    if !found {
        return None;
    }
    let dl = best_double as i64;
    let il = i64::from(best_int);
    if is_max {
        if il >= dl && il >= best_long {
            Some(Value::from(best_int))
        } else if best_long >= dl {
            Some(Value::from(best_long))
        } else {
            java::double_value(best_double)
        }
    } else if il <= dl && il <= best_long {
        Some(Value::from(best_int))
    } else if best_long <= dl {
        Some(Value::from(best_long))
    } else {
        java::double_value(best_double)
    }
}

fn java_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn java_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn abs(v: &Value) -> Option<Value> {
    let n = match v {
        Value::Number(n) => JNum::of(n),
        Value::String(_) => to_number(v)?,
        _ => return None,
    };
    match n {
        JNum::Int(i) => Some(Value::from(i.wrapping_abs())),
        JNum::Long(l) => Some(Value::from(l.wrapping_abs())),
        JNum::Double(d) => java::double_value(d.abs()),
    }
}

fn avg(args: &[&Value]) -> Option<Value> {
    let nums: Vec<f64> = args
        .iter()
        .copied()
        .filter_map(to_number)
        .map(JNum::double_value)
        .collect();
    if nums.is_empty() {
        return None;
    }
    java::double_value(nums.iter().sum::<f64>() / nums.len() as f64)
}

fn divide(args: &[&Value]) -> Option<f64> {
    let [a, b] = args else {
        return None;
    };
    let num = to_number(a)?;
    let den = to_number(b)?.double_value();
    if den == 0.0 {
        return None;
    }
    Some(num.double_value() / den)
}

fn divide_and_round(digits: &Value, args: &[&Value]) -> Option<Value> {
    let digits = JNum::of_value(digits)?.int_value();
    let q = divide(args)?;
    java::double_value(round_half_up(q, digits)?)
}

/// `new BigDecimal(d).setScale(digits, HALF_UP).doubleValue()`: rounds the exact binary value.
fn round_half_up(d: f64, digits: i32) -> Option<f64> {
    if !d.is_finite() || !(0..=300).contains(&digits) {
        return None;
    }
    // Rust prints the exact decimal expansion of a double when asked for enough digits.
    let exact = format!("{:.1100}", d.abs());
    let (int_part, frac) = exact.split_once('.')?;
    let digits = digits as usize;
    let keep = &frac[..digits];
    let round_up = frac.as_bytes().get(digits).is_some_and(|b| *b >= b'5');
    let mut number: Vec<u8> = format!("{int_part}{keep}").into_bytes();
    if round_up {
        let mut i = number.len();
        loop {
            if i == 0 {
                number.insert(0, b'1');
                break;
            }
            i -= 1;
            if number[i] == b'9' {
                number[i] = b'0';
            } else {
                number[i] += 1;
                break;
            }
        }
    }
    let text = String::from_utf8(number).ok()?;
    let split = text.len() - digits;
    let rounded = format!("{}.{}", &text[..split], &text[split..]);
    let value: f64 = rounded.trim_end_matches('.').parse().ok()?;
    Some(if d.is_sign_negative() { -value } else { value })
}

// ---- objects ----

fn size(args: &[&Value]) -> Option<Value> {
    match args {
        [] => None,
        [Value::Null] => None,
        [Value::Array(items)] => Some(Value::from(items.len())),
        [Value::String(s)] => Some(Value::from(java::utf16_len(s))),
        [Value::Object(m)] => Some(Value::from(m.len())),
        [_] => None,
        many => Some(Value::from(many.len())),
    }
}

/// Jolt's squash functions take one list or map (or several arguments as a list).
fn squash(args: &[&Value], f: fn(Value) -> Value) -> Option<Value> {
    match args {
        [] => None,
        [v] => Some(f((*v).clone())),
        many => Some(f(Value::Array(many.iter().map(|v| (*v).clone()).collect()))),
    }
}

fn squash_nulls(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().filter(|v| !v.is_null()).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

fn recursively_squash_nulls(v: Value) -> Value {
    match squash_nulls(v) {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(recursively_squash_nulls).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, recursively_squash_nulls(v)))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

fn squash_duplicates(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            Value::Array(out)
        }
        other => other,
    }
}

// ---- lists ----

/// `Arrays.sort` on natural order: every element must be comparable with every other (same
/// Java class), otherwise the function gives no value.
fn sort(items: &[&Value]) -> Option<Value> {
    if items.len() <= 1 {
        return Some(Value::Array(items.iter().map(|v| (*v).clone()).collect()));
    }
    #[derive(PartialEq)]
    enum Class {
        Str,
        Int,
        Long,
        Double,
        Bool,
    }
    let class_of = |v: &Value| match v {
        Value::String(_) => Some(Class::Str),
        Value::Bool(_) => Some(Class::Bool),
        Value::Number(n) => Some(match JNum::of(n) {
            JNum::Int(_) => Class::Int,
            JNum::Long(_) => Class::Long,
            JNum::Double(_) => Class::Double,
        }),
        _ => None,
    };
    let first = class_of(items[0])?;
    if items.iter().any(|v| class_of(v).as_ref() != Some(&first)) {
        return None;
    }
    let mut sorted: Vec<Value> = items.iter().map(|v| (*v).clone()).collect();
    sorted.sort_by(|a, b| match (a, b) {
        (Value::String(x), Value::String(y)) => java::compare_utf16(x, y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match (JNum::of(x), JNum::of(y)) {
            (JNum::Double(x), JNum::Double(y)) => x.total_cmp(&y),
            (x, y) => x.long_value().cmp(&y.long_value()),
        },
        _ => Ordering::Equal,
    });
    Some(Value::Array(sorted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, args: &[Value]) -> Option<Value> {
        let f = Functions::stock().get(name).unwrap();
        let refs: Vec<&Value> = args.iter().collect();
        f(&refs)
    }

    #[test]
    fn in_place_forms_leave_what_writing_back_the_result_would() {
        let functions = Functions::stock();
        let values = [
            json!("MiXed Case"),
            json!("  padded\t\n"),
            json!("İstanbul ığdır ß"),
            json!(""),
            json!(" \u{1} "),
            json!(["a b ", 3, null, ["x"], " Ç "]),
            json!([]),
            json!(null),
            json!(42),
            json!(true),
            json!({"k": "v"}),
        ];
        for name in ["toUpper", "toLower", "trim"] {
            let rewrite = functions.in_place(name).unwrap();
            for v in &values {
                let expected = call(name, std::slice::from_ref(v)).unwrap_or_else(|| v.clone());
                let mut got = v.clone();
                rewrite(&mut got);
                assert_eq!(got, expected, "{name}({v})");
            }
        }
    }

    #[test]
    fn a_registered_function_replaces_the_in_place_form() {
        let mut functions = Functions::stock();
        assert!(functions.in_place("toUpper").is_some());
        functions.register("toUpper", |_| Some(json!("custom")));
        assert!(functions.in_place("toUpper").is_none());
        assert!(functions.in_place("concat").is_none());
    }

    #[test]
    fn java_number_rules_hold() {
        assert_eq!(
            call("toInteger", &[json!("99999999999")]),
            Some(json!(1215752191))
        );
        assert_eq!(call("toInteger", &[json!(2.5)]), Some(json!(2)));
        assert_eq!(
            call("intSum", &[json!(1), json!("2"), json!(2.5)]),
            Some(json!(5))
        );
        assert_eq!(call("divide", &[json!(10), json!(5)]), Some(json!(2.0)));
        assert_eq!(call("divide", &[json!(1), json!(0)]), None);
        assert_eq!(
            call("max", &[json!(1), json!(2.5), json!("7"), json!("abc")]),
            Some(json!(7))
        );
        assert_eq!(
            call("divideAndRound", &[json!(2), json!(10), json!(3)]),
            Some(json!(3.33))
        );
    }

    #[test]
    fn split_drops_trailing_empty_strings() {
        assert_eq!(
            call("split", &[json!(","), json!("a,b,,c,,")]),
            Some(json!(["a", "b", "", "c"]))
        );
    }

    #[test]
    fn functions_that_do_not_apply_give_nothing() {
        assert_eq!(call("toUpper", &[json!(5)]), None);
        assert_eq!(call("firstElement", &[json!([])]), None);
        assert_eq!(call("sort", &[json!([1, "a"])]), None);
        assert_eq!(call("substring", &[json!("abc"), json!(1), json!(9)]), None);
    }
}
