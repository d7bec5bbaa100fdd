//! Evaluating a compiled template against attributes: the semantics of every function.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine as _;
use chrono::{Datelike, Duration as ChronoDuration, Months};
use serde_json::Value as Json;

use crate::Attributes;
use crate::ast::{Arg, Call, Compiled, Const, Expr, Part, Subject};
use crate::catalog::Func;
use crate::duration::{Duration, Unit};
use crate::error::EvalError;
use crate::escapes;
use crate::java_date::{DatePattern, Zone};
use crate::java_number::{self, Number};
use crate::java_regex::{JavaRegex, ReplaceError};
use crate::java_string;
use crate::json_path::JsonPath;
use crate::options::EvalOptions;
use crate::value::Value;

/// Errors are boxed on the evaluation path so that results stay small (values move a lot).
type Result<T> = std::result::Result<T, Box<EvalError>>;

/// NiFi's `nextInt()`: one counter for the whole process.
static NEXT_INT: AtomicI64 = AtomicI64::new(0);

/// Everything an evaluation reads: the attributes and the options (clock, default zone, size
/// limit).
pub(crate) struct Cx<'a> {
    pub attrs: &'a dyn Attributes,
    pub options: &'a EvalOptions,
    /// Where this evaluation's output starts in the buffer it renders into (a caller of
    /// `evaluate_into` may pass a buffer that already holds text, which does not count).
    pub out_base: usize,
}

impl Cx<'_> {
    /// The largest string a function may build.
    fn max_len(&self) -> usize {
        self.options.max_result_len
    }

    /// The length the output buffer may reach.
    fn out_end(&self) -> usize {
        self.out_base.saturating_add(self.options.max_result_len)
    }
}

fn fail(func: &str, message: impl Into<String>) -> Box<EvalError> {
    Box::new(EvalError::new(func, message))
}

/// The error for a result that would outgrow [`EvalOptions::max_result_len`].
fn too_large(func: &str, cx: &Cx<'_>) -> Box<EvalError> {
    fail(
        func,
        format!(
            "the result would exceed the maximum result size of {} bytes",
            cx.max_len()
        ),
    )
}

/// Fails (naming `func`) unless a string of `len` bytes is within the limit: called with the
/// exact or a lower-bound size before a function allocates its result.
fn check_len(len: usize, func: &str, cx: &Cx<'_>) -> Result<()> {
    if len > cx.max_len() {
        return Err(too_large(func, cx));
    }
    Ok(())
}

/// Appends `text` to the output unless the output would then outgrow the limit.
fn push_checked(out: &mut String, text: &str, func: &str, cx: &Cx<'_>) -> Result<()> {
    if out.len().saturating_add(text.len()) > cx.out_end() {
        return Err(too_large(func, cx));
    }
    out.push_str(text);
    Ok(())
}

/// Fails when something appended to the output (a bounded expansion such as `urlEncode` of a
/// value already in memory) took it past the limit.
fn check_out(out: &str, func: &str, cx: &Cx<'_>) -> Result<()> {
    if out.len() > cx.out_end() {
        return Err(too_large(func, cx));
    }
    Ok(())
}

/// The name errors about the rendered template as a whole carry.
const TEMPLATE: &str = "expression";

/// Renders a template into `out`.
pub(crate) fn render_into(compiled: &Compiled, cx: &Cx<'_>, out: &mut String) -> Result<()> {
    for part in &compiled.parts {
        match part {
            Part::Text(text) => push_checked(out, text, TEMPLATE, cx)?,
            Part::Attr(name) => {
                if let Some(value) = cx.attrs.get(name) {
                    push_checked(out, value, TEMPLATE, cx)?;
                }
            }
            // `${name:urlEncode()}`, the usual query parameter, without a call.
            Part::AttrCall(name, call) if call.func == Func::UrlEncode => {
                if let Some(value) = cx.attrs.get(name) {
                    url_encode_checked(value, cx, out)?;
                }
            }
            Part::AttrCall(name, call) => {
                apply_into(call, lookup(cx, name), cx, out)?;
                check_out(out, TEMPLATE, cx)?;
            }
            Part::Expr(expr) => {
                eval_into(expr, cx, out)?;
                check_out(out, TEMPLATE, cx)?;
            }
        }
    }
    Ok(())
}

/// [`render_into`] for a whole template, with the plain `${name}` and `${name:urlEncode()}`
/// pieces looked up in the caller's concrete attribute type (inlined, no dynamic dispatch).
pub(crate) fn render_top<A: Attributes + ?Sized>(
    compiled: &Compiled,
    attrs: &A,
    cx: &Cx<'_>,
    out: &mut String,
) -> Result<()> {
    for part in &compiled.parts {
        match part {
            Part::Text(text) => push_checked(out, text, TEMPLATE, cx)?,
            Part::Attr(name) => {
                if let Some(value) = attrs.get(name) {
                    push_checked(out, value, TEMPLATE, cx)?;
                }
            }
            Part::AttrCall(name, call) if call.func == Func::UrlEncode => {
                if let Some(value) = attrs.get(name) {
                    url_encode_checked(value, cx, out)?;
                }
            }
            Part::AttrCall(name, call) => {
                apply_into(call, lookup(cx, name), cx, out)?;
                check_out(out, TEMPLATE, cx)?;
            }
            Part::Expr(expr) => {
                eval_into(expr, cx, out)?;
                check_out(out, TEMPLATE, cx)?;
            }
        }
    }
    Ok(())
}

/// Appends the text of `value`; false when it is null (nothing appended).
fn push_value(value: Value<'_>, cx: &Cx<'_>, out: &mut String) -> Result<bool> {
    match value.into_text(&cx.options.zone) {
        Some(text) => {
            push_checked(out, &text, TEMPLATE, cx)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `urlEncode` into the output: refused up front when even the unencoded text would not fit,
/// and checked after (encoding at most triples a value that is already in memory).
fn url_encode_checked(text: &str, cx: &Cx<'_>, out: &mut String) -> Result<()> {
    if out.len().saturating_add(text.len()) > cx.out_end() {
        return Err(too_large("urlEncode", cx));
    }
    escapes::url_encode_into(text, out);
    check_out(out, "urlEncode", cx)
}

/// Evaluates `expr` and appends its text to `out` (false when the value is null). The chain
/// writes straight into `out` where it can: `ifElse` renders the chosen branch in place;
/// `replace`, `replaceAll`, `urlEncode` append their result; a `replace` of a constant string
/// after another step rewrites that step's output in place. A URL then needs no intermediate
/// `String`.
fn eval_into<'a>(expr: &'a Expr, cx: &Cx<'a>, out: &mut String) -> Result<bool> {
    if matches!(expr.subject, Subject::Multi(_)) {
        return push_value(eval_expr(expr, cx)?, cx, out);
    }
    chain_into(expr, expr.chain.len(), cx, out)
}

/// [`eval_into`] for the subject and the first `len` calls of the chain.
fn chain_into<'a>(expr: &'a Expr, len: usize, cx: &Cx<'a>, out: &mut String) -> Result<bool> {
    let chain = &expr.chain[..len];
    let Some((last, body)) = chain.split_last() else {
        return push_value(eval_subject(expr, cx)?, cx, out);
    };
    if last.func == Func::Replace
        && !body.is_empty()
        && let Some(finder) = last.prepared.as_ref().and_then(|p| p.finder.as_ref())
    {
        let start = out.len();
        if !chain_into(expr, len - 1, cx, out)? {
            return Ok(false);
        }
        let replacement =
            arg_text(last, 1, cx)?.ok_or_else(|| null_argument(last, 1, "replace"))?;
        replace_in_place(out, start, finder, &replacement, cx)?;
        return Ok(true);
    }
    let mut value = eval_subject(expr, cx)?;
    if !writes_into(last.func) {
        for call in chain {
            value = apply_fast(call, value, cx)?;
        }
        return push_value(value, cx, out);
    }
    for call in body {
        value = apply_fast(call, value, cx)?;
    }
    apply_into(last, value, cx, out)
}

/// Replaces every occurrence of `finder`'s needle in `out[start..]` with `replacement`, left
/// to right without overlaps (Java's `String.replace`): scanning resumes after each inserted
/// replacement, so only the original text is searched.
fn replace_in_place(
    out: &mut String,
    start: usize,
    finder: &memchr::memmem::Finder<'static>,
    replacement: &str,
    cx: &Cx<'_>,
) -> Result<()> {
    let needle_len = finder.needle().len();
    let mut from = start;
    while let Some(offset) = finder.find(&out.as_bytes()[from..]) {
        let at = from + offset;
        if (out.len() - needle_len).saturating_add(replacement.len()) > cx.out_end() {
            return Err(too_large("replace", cx));
        }
        out.replace_range(at..at + needle_len, replacement);
        from = at + replacement.len();
    }
    Ok(())
}

/// The functions [`apply_into`] writes straight into the output.
pub(crate) fn writes_into(func: Func) -> bool {
    matches!(
        func,
        Func::IfElse | Func::Replace | Func::ReplaceAll | Func::ReplaceFirst | Func::UrlEncode
    )
}

/// `apply` with the boolean steps of a condition (`isEmpty()`, `not()`) handled inline: they
/// are most of a typical `ifElse` chain and need none of `apply`'s machinery.
#[inline]
fn apply_fast<'a>(call: &'a Call, subject: Value<'a>, cx: &Cx<'a>) -> Result<Value<'a>> {
    match (call.func, subject) {
        (Func::IsEmpty, Value::Null) => Ok(Value::Bool(true)),
        (Func::IsEmpty, Value::Str(text)) => {
            Ok(Value::Bool(java_number::java_trim(&text).is_empty()))
        }
        (Func::Not, Value::Bool(value)) => Ok(Value::Bool(!value)),
        (_, subject) => apply(call, subject, cx),
    }
}

/// `apply` for the functions `eval_into` lets write into `out`; same semantics, same order of
/// argument evaluation. False when the result is null (nothing appended).
fn apply_into<'a>(
    call: &'a Call,
    subject: Value<'a>,
    cx: &Cx<'a>,
    out: &mut String,
) -> Result<bool> {
    match call.func {
        Func::IfElse => {
            let branch = if subject.to_bool() == Some(true) {
                0
            } else {
                1
            };
            arg_into(call, branch, cx, out)
        }
        Func::UrlEncode => Ok(match text_of(subject, cx) {
            Some(text) => {
                url_encode_checked(&text, cx, out)?;
                true
            }
            None => false,
        }),
        Func::Replace => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(false);
            };
            let Some(search) = arg_text(call, 0, cx)? else {
                // NiFi evaluates both arguments before Java's `String.replace` throws.
                arg(call, 1, cx)?;
                return Err(null_argument(call, 0, "replace"));
            };
            if search.is_empty() {
                let replacement =
                    arg_text(call, 1, cx)?.ok_or_else(|| null_argument(call, 1, "replace"))?;
                replace_literal_into(&text, &search, &replacement, None, cx, out)?;
                return Ok(true);
            }
            let prepared = call.prepared.as_deref();
            let hits = prepared.and_then(|p| p.literal_hits.as_deref());
            let finder = prepared.and_then(|p| p.finder.as_ref());
            let next_hit = |from: usize| match (hits, finder) {
                (Some(hits), _) => hits.iter().copied().find(|&at| at >= from),
                (None, Some(finder)) => finder
                    .find(&text.as_bytes()[from..])
                    .map(|offset| from + offset),
                (None, None) => text[from..]
                    .find(search.as_ref())
                    .map(|offset| from + offset),
            };
            let Some(first) = next_hit(0) else {
                // No occurrence: the replacement is still evaluated (errors and counters
                // behave as when NiFi evaluates every argument), then dropped; a null one
                // still fails, as Java's `String.replace` throws before searching.
                if arg(call, 1, cx)?.is_null() {
                    return Err(null_argument(call, 1, "replace"));
                }
                push_checked(out, &text, "replace", cx)?;
                return Ok(true);
            };
            // The replacement is rendered once, in place at the first hit (no intermediate
            // `String` unless there is a second hit to copy it to).
            push_checked(out, &text[..first], "replace", cx)?;
            let start = out.len();
            // The replacement is rendered straight into the output as part of `replace`'s
            // result, so running out of room there is `replace`'s failure.
            let rendered = arg_into(call, 1, cx, out).map_err(|mut error| {
                if error.function == TEMPLATE {
                    error.function = "replace".to_string();
                }
                error
            })?;
            if !rendered {
                return Err(null_argument(call, 1, "replace"));
            }
            check_out(out, "replace", cx)?;
            let end = out.len();
            let mut copied = first + search.len();
            let mut again: Option<String> = None;
            while let Some(at) = next_hit(copied) {
                push_checked(out, &text[copied..at], "replace", cx)?;
                let rendered = again.get_or_insert_with(|| out[start..end].to_string());
                push_checked(out, rendered, "replace", cx)?;
                copied = at + search.len();
            }
            push_checked(out, &text[copied..], "replace", cx)?;
            Ok(true)
        }
        Func::ReplaceFirst | Func::ReplaceAll => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(false);
            };
            let name = crate::catalog::spec_of(call.func).name;
            let (regex, replacement) = regex_and_replacement(call, &text, cx, name)?;
            match replacement {
                Some(replacement) => regex
                    .replace_into(
                        &text,
                        &replacement,
                        call.func == Func::ReplaceAll,
                        cx.out_end(),
                        out,
                    )
                    .map_err(|e| replace_error(e, name, cx))?,
                None => push_checked(out, &text, name, cx)?,
            }
            Ok(true)
        }
        _ => push_value(apply(call, subject, cx)?, cx, out),
    }
}

/// The regex and replacement of `replaceFirst` / `replaceAll`, failing where Java does on a
/// null argument: `Pattern.compile(null)` throws, `Matcher.replaceFirst(null)` throws before
/// searching, `Matcher.replaceAll(null)` throws only once it finds a match. `None` as the
/// replacement means "null, but nothing matched": the subject is the result.
fn regex_and_replacement<'c>(
    call: &'c Call,
    text: &str,
    cx: &Cx<'c>,
    name: &str,
) -> Result<(RegexRef<'c>, Option<Cow<'c, str>>)> {
    let pattern = arg_text(call, 0, cx)?;
    let replacement = arg_text(call, 1, cx)?;
    let pattern = pattern.ok_or_else(|| null_argument(call, 0, name))?;
    let regex = regex_for(call, &pattern, name)?;
    if replacement.is_none()
        && (call.func == Func::ReplaceFirst || regex.find(text).map_err(|e| fail(name, e))?)
    {
        return Err(null_argument(call, 1, name));
    }
    Ok((regex, replacement))
}

fn replace_error(error: ReplaceError, name: &str, cx: &Cx<'_>) -> Box<EvalError> {
    match error {
        ReplaceError::Regex(message) => fail(name, message),
        ReplaceError::TooLarge => too_large(name, cx),
    }
}

/// The error for a null search, regex or replacement argument of the `replace` family. NiFi
/// passes these straight to Java (`String.replace`, `Pattern.compile`, `Matcher.replace*`),
/// which throws a NullPointerException; treating null as "" (or as the text "null") would
/// silently build a wrong URL, so the evaluation fails and says which attribute was missing.
fn null_argument(call: &Call, index: usize, func: &str) -> Box<EvalError> {
    let role = match (call.func, index) {
        (Func::Replace, 0) => "search string",
        (_, 0) => "regular expression",
        _ => "replacement",
    };
    let why = match call.args.get(index) {
        Some(Arg::Expr(expr)) => match &expr.subject {
            Subject::Attr(attribute) if expr.chain.is_empty() => {
                format!("attribute '{attribute}' is missing")
            }
            Subject::Attr(attribute) => {
                format!("the expression on attribute '{attribute}' evaluated to null")
            }
            _ => "the expression evaluated to null".to_string(),
        },
        _ => "the argument is null".to_string(),
    };
    fail(func, format!("the {role} is null: {why}"))
}

/// Appends argument `index` (as text) to `out`; false when it is null (nothing appended).
fn arg_into<'a>(call: &'a Call, index: usize, cx: &Cx<'a>, out: &mut String) -> Result<bool> {
    match call.args.get(index) {
        Some(Arg::Expr(expr)) => eval_into(expr, cx, out),
        Some(Arg::Template(template)) => {
            render_into(template, cx, out)?;
            Ok(true)
        }
        _ => push_value(arg(call, index, cx)?, cx, out),
    }
}

/// Appends `text` with `replacement` in place of the `search_len` bytes at each of `hits`
/// (ascending, non-overlapping: found at compile time).
fn splice(text: &str, hits: &[usize], search_len: usize, replacement: &str, out: &mut String) {
    let mut copied = 0;
    for &at in hits {
        out.push_str(&text[copied..at]);
        out.push_str(replacement);
        copied = at + search_len;
    }
    out.push_str(&text[copied..]);
}

/// Java `String.replace(CharSequence, CharSequence)` appended to `out`: every occurrence of
/// `search`, left to right; an empty `search` inserts `replacement` around every character.
fn replace_literal_into(
    text: &str,
    search: &str,
    replacement: &str,
    finder: Option<&memchr::memmem::Finder<'static>>,
    cx: &Cx<'_>,
    out: &mut String,
) -> Result<()> {
    if search.is_empty() {
        // One copy of the replacement around every character: sized before it is built.
        let inserts = text.chars().count().saturating_add(1);
        let len = replacement
            .len()
            .saturating_mul(inserts)
            .saturating_add(text.len());
        if out.len().saturating_add(len) > cx.out_end() {
            return Err(too_large("replace", cx));
        }
        out.push_str(&text.replace(search, replacement));
        return Ok(());
    }
    let find = |from: usize| match finder {
        Some(finder) => finder.find(&text.as_bytes()[from..]),
        None => text[from..].find(search),
    };
    let mut copied = 0;
    while let Some(offset) = find(copied) {
        let at = copied + offset;
        push_checked(out, &text[copied..at], "replace", cx)?;
        push_checked(out, replacement, "replace", cx)?;
        copied = at + search.len();
    }
    push_checked(out, &text[copied..], "replace", cx)
}

fn render<'a>(compiled: &'a Compiled, cx: &Cx<'a>) -> Result<Cow<'a, str>> {
    if let [Part::Text(text)] = compiled.parts.as_slice() {
        return Ok(Cow::Borrowed(text));
    }
    if let [Part::Attr(name)] = compiled.parts.as_slice() {
        return Ok(Cow::Borrowed(cx.attrs.get(name).unwrap_or("")));
    }
    if let [Part::Expr(expr)] = compiled.parts.as_slice() {
        return Ok(eval_expr(expr, cx)?
            .into_text(&cx.options.zone)
            .unwrap_or(Cow::Borrowed("")));
    }
    // A fresh buffer: its size counts from zero against the limit.
    let inner = Cx {
        attrs: cx.attrs,
        options: cx.options,
        out_base: 0,
    };
    let mut out = String::new();
    render_into(compiled, &inner, &mut out)?;
    Ok(Cow::Owned(out))
}

fn lookup<'a>(cx: &Cx<'a>, name: &str) -> Value<'a> {
    match cx.attrs.get(name) {
        Some(value) => Value::Str(Cow::Borrowed(value)),
        None => Value::Null,
    }
}

pub(crate) fn eval_expr<'a>(expr: &'a Expr, cx: &Cx<'a>) -> Result<Value<'a>> {
    if let Subject::Multi(call) = &expr.subject {
        return multi(call, &expr.chain, cx);
    }
    let mut value = eval_subject(expr, cx)?;
    for call in &expr.chain {
        value = apply_fast(call, value, cx)?;
    }
    Ok(value)
}

/// The subject of a single-subject expression (multi-attribute subjects go through `multi`).
#[inline]
fn eval_subject<'a>(expr: &'a Expr, cx: &Cx<'a>) -> Result<Value<'a>> {
    match &expr.subject {
        Subject::Literal(text) => Ok(Value::Str(Cow::Borrowed(text))),
        Subject::Attr(name) => Ok(lookup(cx, name)),
        other => computed_subject(other, cx),
    }
}

/// Subjects that need evaluating (computed names, functions): kept out of line so the common
/// attribute and literal subjects stay a few instructions.
#[inline(never)]
fn computed_subject<'a>(subject: &'a Subject, cx: &Cx<'a>) -> Result<Value<'a>> {
    Ok(match subject {
        Subject::Literal(text) => Value::Str(Cow::Borrowed(text)),
        Subject::Attr(name) => lookup(cx, name),
        Subject::AttrTemplate(template) => {
            let name = render(template, cx)?;
            lookup(cx, &name)
        }
        Subject::AttrExpr(inner) => match eval_expr(inner, cx)?.into_text(&cx.options.zone) {
            Some(name) => lookup(cx, &name),
            None => Value::Null,
        },
        Subject::Function(call) => subjectless(call, cx)?,
        Subject::Multi(call) => multi(call, &[], cx)?,
    })
}

#[inline]
fn arg<'a>(call: &'a Call, index: usize, cx: &Cx<'a>) -> Result<Value<'a>> {
    match call.args.get(index) {
        Some(Arg::Const(Const::Str(text))) => Ok(Value::Str(Cow::Borrowed(text))),
        other => computed_arg(other, cx),
    }
}

/// Arguments other than string constants, out of line (see `computed_subject`).
#[inline(never)]
fn computed_arg<'a>(arg: Option<&'a Arg>, cx: &Cx<'a>) -> Result<Value<'a>> {
    Ok(match arg {
        None | Some(Arg::Const(Const::Null)) => Value::Null,
        Some(Arg::Const(Const::Str(text))) => Value::Str(Cow::Borrowed(text)),
        Some(Arg::Const(Const::Bool(value))) => Value::Bool(*value),
        Some(Arg::Const(Const::Whole(value))) => Value::Whole(*value),
        Some(Arg::Const(Const::Decimal(value))) => Value::Decimal(*value),
        Some(Arg::Template(template)) => Value::Str(render(template, cx)?),
        Some(Arg::Expr(expr)) => eval_expr(expr, cx)?,
    })
}

fn arg_text<'a>(call: &'a Call, index: usize, cx: &Cx<'a>) -> Result<Option<Cow<'a, str>>> {
    Ok(arg(call, index, cx)?.into_text(&cx.options.zone))
}

fn arg_whole(call: &Call, index: usize, cx: &Cx<'_>) -> Result<Option<i64>> {
    Ok(arg(call, index, cx)?.to_whole())
}

fn text_of<'a>(value: Value<'a>, cx: &Cx<'_>) -> Option<Cow<'a, str>> {
    value.into_text(&cx.options.zone)
}

/// A regex prepared at compile time (borrowed: no reference counting per evaluation) or
/// compiled for a pattern known only at run time.
enum RegexRef<'c> {
    Prepared(&'c JavaRegex),
    Cached(Arc<JavaRegex>),
}

impl std::ops::Deref for RegexRef<'_> {
    type Target = JavaRegex;
    fn deref(&self) -> &JavaRegex {
        match self {
            RegexRef::Prepared(regex) => regex,
            RegexRef::Cached(regex) => regex,
        }
    }
}

fn regex_for<'c>(call: &'c Call, pattern: &str, name: &str) -> Result<RegexRef<'c>> {
    match call.prepared.as_ref().and_then(|p| p.regex.as_ref()) {
        Some(regex) => Ok(RegexRef::Prepared(regex)),
        None => JavaRegex::cached(pattern)
            .map(RegexRef::Cached)
            .map_err(|e| fail(name, format!("invalid regular expression '{pattern}': {e}"))),
    }
}

fn date_pattern<'c>(
    call: &'c Call,
    pattern: &str,
    name: &str,
    simple: bool,
) -> Result<Cow<'c, DatePattern>> {
    match call.prepared.as_ref().and_then(|p| p.date_pattern.as_ref()) {
        Some(prepared) => Ok(Cow::Borrowed(prepared)),
        None => if simple {
            DatePattern::simple(pattern)
        } else {
            DatePattern::formatter(pattern)
        }
        .map(Cow::Owned)
        .map_err(|e| fail(name, format!("invalid pattern '{pattern}': {e}"))),
    }
}

/// The zone argument at `index`: prepared, looked up (strictly or with GMT fallback), or the
/// default zone when absent.
fn zone_arg<'c>(
    call: &'c Call,
    index: usize,
    cx: &Cx<'c>,
    strict: bool,
    name: &str,
) -> Result<Cow<'c, Zone>> {
    if let Some(zone) = call.prepared.as_ref().and_then(|p| p.zone.as_ref()) {
        return Ok(Cow::Borrowed(zone));
    }
    if call.args.len() <= index {
        return Ok(Cow::Borrowed(&cx.options.zone));
    }
    match arg_text(call, index, cx)? {
        None => Ok(Cow::Borrowed(&cx.options.zone)),
        Some(id) if strict => Zone::strict(&id)
            .map(Cow::Owned)
            .ok_or_else(|| fail(name, format!("unknown time zone '{id}'"))),
        Some(id) => Ok(Cow::Owned(Zone::lenient(&id))),
    }
}

fn duration_arg(call: &Call, cx: &Cx<'_>, name: &str) -> Result<Option<Duration>> {
    if let Some(duration) = call.prepared.as_ref().and_then(|p| p.duration) {
        return Ok(Some(duration));
    }
    match arg_text(call, 0, cx)? {
        None => Ok(None),
        Some(text) => Duration::parse(&text).map(Some).map_err(|e| fail(name, e)),
    }
}

fn json_path_for<'c>(call: &'c Call, cx: &Cx<'c>, name: &str) -> Result<Cow<'c, JsonPath>> {
    if let Some(path) = call.prepared.as_ref().and_then(|p| p.json_path.as_ref()) {
        return Ok(Cow::Borrowed(path));
    }
    let text = arg_text(call, 0, cx)?.ok_or_else(|| fail(name, "the JSON path is null"))?;
    JsonPath::parse(&text)
        .map(Cow::Owned)
        .map_err(|e| fail(name, e.to_string()))
}

fn parse_json(subject: Value<'_>, cx: &Cx<'_>, name: &str) -> Result<Json> {
    let text = text_of(subject, cx)
        .ok_or_else(|| fail(name, "the subject is null, not a JSON document"))?;
    serde_json::from_str(&text)
        .map_err(|e| fail(name, format!("the subject is not valid JSON: {e}")))
}

fn to_json(value: Value<'_>, cx: &Cx<'_>) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Whole(n) => Json::from(n),
        Value::Decimal(d) => serde_json::Number::from_f64(d).map_or(Json::Null, Json::Number),
        other => Json::String(text_of(other, cx).map(Cow::into_owned).unwrap_or_default()),
    }
}

fn json_text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(text) => text.clone(),
        Json::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(whole), _) => whole.to_string(),
            (None, Some(decimal)) if number.is_f64() => java_number::format_double(decimal),
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

fn str_value(text: String) -> Value<'static> {
    Value::Str(Cow::Owned(text))
}

/// Java `String.split(literal)`: trailing empty strings are removed.
fn java_split<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    let mut parts: Vec<&str> = if delimiter.is_empty() {
        text.char_indices()
            .map(|(i, c)| &text[i..i + c.len_utf8()])
            .collect()
    } else {
        text.split(delimiter).collect()
    };
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

#[inline(never)]
fn multi<'a>(call: &'a Call, chain: &'a [Call], cx: &Cx<'a>) -> Result<Value<'a>> {
    let name = crate::catalog::spec_of(call.func).name;
    let mut values: Vec<Value<'a>> = Vec::new();
    match call.func {
        Func::AnyAttribute | Func::AllAttributes => {
            for index in 0..call.args.len() {
                let attribute = arg_text(call, index, cx)?.unwrap_or_default();
                values.push(lookup(cx, &attribute));
            }
        }
        Func::AnyMatchingAttribute | Func::AllMatchingAttributes => {
            let compiled: Vec<Arc<JavaRegex>> = match call.prepared.as_ref() {
                Some(prepared) if !prepared.regexes.is_empty() => prepared.regexes.clone(),
                _ => {
                    let mut compiled = Vec::new();
                    for index in 0..call.args.len() {
                        let pattern = arg_text(call, index, cx)?.unwrap_or_default();
                        compiled.push(JavaRegex::cached(&pattern).map_err(|e| {
                            fail(name, format!("invalid regular expression '{pattern}': {e}"))
                        })?);
                    }
                    compiled
                }
            };
            for attribute in cx.attrs.names() {
                let mut matched = false;
                for regex in &compiled {
                    if regex.matches(attribute).map_err(|e| fail(name, e))? {
                        matched = true;
                        break;
                    }
                }
                if matched {
                    values.push(lookup(cx, attribute));
                }
            }
        }
        _ => {
            let text = arg_text(call, 0, cx)?;
            let delimiter = arg_text(call, 1, cx)?.unwrap_or_default();
            if let Some(text) = text {
                for piece in java_split(&text, &delimiter) {
                    values.push(Value::Str(Cow::Owned(piece.to_string())));
                }
            }
        }
    }
    let (body, reducer) = match chain.split_last() {
        Some((last, body)) if matches!(last.func, Func::Count | Func::Join) => (body, Some(last)),
        _ => (chain, None),
    };
    let mut results = Vec::with_capacity(values.len());
    for value in values {
        let mut current = value;
        for link in body {
            current = apply(link, current, cx)?;
        }
        results.push(current);
    }
    match reducer {
        Some(reducer) if reducer.func == Func::Count => Ok(Value::Whole(
            results
                .iter()
                .filter(|value| match value {
                    Value::Bool(b) => *b,
                    Value::Null => false,
                    _ => true,
                })
                .count() as i64,
        )),
        Some(reducer) => {
            let separator = arg_text(reducer, 0, cx)?.unwrap_or_default();
            let texts: Vec<String> = results
                .into_iter()
                .map(|value| text_of(value, cx).map(Cow::into_owned).unwrap_or_default())
                .collect();
            let len = texts
                .iter()
                .fold(0usize, |sum, text| sum.saturating_add(text.len()));
            let separators = separator
                .len()
                .saturating_mul(texts.len().saturating_sub(1));
            check_len(len.saturating_add(separators), "join", cx)?;
            Ok(str_value(texts.join(&separator)))
        }
        None => {
            let any = matches!(
                call.func,
                Func::AnyAttribute | Func::AnyMatchingAttribute | Func::AnyDelineatedValue
            );
            let truths: Vec<bool> = results.iter().map(|v| v.to_bool() == Some(true)).collect();
            Ok(Value::Bool(if any {
                truths.iter().any(|t| *t)
            } else {
                !truths.is_empty() && truths.iter().all(|t| *t)
            }))
        }
    }
}

#[inline(never)]
fn subjectless<'a>(call: &'a Call, cx: &Cx<'a>) -> Result<Value<'a>> {
    let value = subjectless_unchecked(call, cx)?;
    checked_value(value, call, cx)
}

fn subjectless_unchecked<'a>(call: &'a Call, cx: &Cx<'a>) -> Result<Value<'a>> {
    Ok(match call.func {
        Func::Literal => match arg(call, 0, cx)? {
            Value::Null => Value::Null,
            other => Value::Str(text_of(other, cx).unwrap_or_default()),
        },
        Func::Now => Value::Date(cx.options.now_millis()),
        Func::Uuid => str_value(uuid::Uuid::new_v4().to_string()),
        Func::NextInt => Value::Whole(NEXT_INT.fetch_add(1, Ordering::Relaxed)),
        Func::Random => Value::Whole((rand::random::<u64>() >> 1) as i64),
        Func::Thread => str_value(std::thread::current().name().unwrap_or("main").to_string()),
        Func::Hostname => str_value(gethostname::gethostname().to_string_lossy().into_owned()),
        Func::Ip => str_value(local_ip()),
        Func::GetStateValue => {
            return Err(fail(
                "getStateValue",
                "no processor state is available to this expression",
            ));
        }
        Func::GetUri => get_uri(call, cx)?,
        Func::Math => math(call, None, cx)?,
        _ => {
            return Err(fail(
                crate::catalog::spec_of(call.func).name,
                "needs a subject",
            ));
        }
    })
}

fn local_ip() -> String {
    use std::net::ToSocketAddrs;
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    (host.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.find(|a| a.is_ipv4()))
        .map_or_else(
            || "127.0.0.1".to_string(),
            |address| address.ip().to_string(),
        )
}

/// `new java.net.URI(scheme, userInfo, host, port, path, query, fragment).toString()`.
#[inline(never)]
fn get_uri<'a>(call: &'a Call, cx: &Cx<'a>) -> Result<Value<'a>> {
    let part = |index: usize| -> Result<Option<String>> {
        Ok(arg_text(call, index, cx)?.map(Cow::into_owned))
    };
    let scheme = part(0)?;
    let user_info = part(1)?;
    let host = part(2)?;
    let port = match arg(call, 3, cx)? {
        Value::Null => -1,
        Value::Whole(port) => port,
        other => {
            let text = text_of(other, cx).unwrap_or_default();
            text.trim()
                .parse::<i64>()
                .map_err(|_| fail("getUri", format!("port '{text}' is not a number")))?
        }
    };
    let path = part(4)?;
    let query = part(5)?;
    let fragment = part(6)?;
    const PUNCT: &str = ",;:$&+=";
    const RESERVED: &str = ",;:$&+=?/[]@";
    let quote = |text: &str, extra: &str| -> String {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric()
                || "_-!.~'()*".contains(c)
                || extra.contains(c)
                || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
            {
                out.push(c);
            } else {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        out
    };
    let mut out = String::new();
    if let Some(scheme) = &scheme {
        out.push_str(scheme);
        out.push(':');
    }
    if user_info.is_some() || host.is_some() || port != -1 {
        out.push_str("//");
        if let Some(user_info) = &user_info {
            out.push_str(&quote(user_info, PUNCT));
            out.push('@');
        }
        if let Some(host) = &host {
            out.push_str(host);
        }
        if port != -1 {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    if let Some(path) = &path {
        out.push_str(&quote(path, &format!("{PUNCT}@/")));
    }
    if let Some(query) = &query {
        out.push('?');
        out.push_str(&quote(query, RESERVED));
    }
    if let Some(fragment) = &fragment {
        out.push('#');
        out.push_str(&quote(fragment, RESERVED));
    }
    Ok(str_value(out))
}

/// `Math.<name>` by Java overload rules: a long subject looks for `(long)`/`(long,long)` then
/// `(long,int)`; a double subject for `(double)`/`(double,double)` then `(double,int)`.
#[inline(never)]
fn math<'a>(call: &'a Call, subject: Option<Value<'a>>, cx: &Cx<'a>) -> Result<Value<'a>> {
    let function = arg_text(call, 0, cx)?.unwrap_or_default().into_owned();
    let missing = || {
        fail(
            "math",
            format!("no method java.lang.Math.{function} matches the arguments"),
        )
    };
    let Some(subject) = subject else {
        return match function.as_str() {
            "random" => Ok(Value::Decimal(rand::random::<f64>())),
            _ => Err(missing()),
        };
    };
    let Some(number) = subject.to_number() else {
        return Ok(Value::Null);
    };
    let operand = if call.args.len() > 1 {
        match arg(call, 1, cx)?.to_number() {
            Some(operand) => Some(operand),
            None => return Ok(Value::Null),
        }
    } else {
        None
    };
    match (number, operand) {
        (Number::Whole(x), None) => long_math1(&function, x).ok_or_else(missing),
        (Number::Whole(x), Some(Number::Whole(y))) => {
            long_math2(&function, x, y).ok_or_else(missing)
        }
        (Number::Whole(_), Some(Number::Decimal(_))) => Err(missing()),
        (Number::Decimal(x), None) => double_math1(&function, x).ok_or_else(missing),
        (Number::Decimal(x), Some(Number::Decimal(y))) => {
            double_math2(&function, x, y).ok_or_else(missing)
        }
        (Number::Decimal(x), Some(Number::Whole(y))) => match function.as_str() {
            "scalb" => Some(Value::Decimal(x * 2f64.powi(y as i32))),
            _ => None,
        }
        .ok_or_else(missing),
    }
    .and_then(|value| match value {
        Value::Null => Err(fail("math", format!("Math.{function} overflowed"))),
        other => Ok(other),
    })
}

fn long_math1(name: &str, x: i64) -> Option<Value<'static>> {
    Some(Value::Whole(match name {
        "abs" => x.wrapping_abs(),
        "negateExact" => return Some(x.checked_neg().map_or(Value::Null, Value::Whole)),
        "incrementExact" => return Some(x.checked_add(1).map_or(Value::Null, Value::Whole)),
        "decrementExact" => return Some(x.checked_sub(1).map_or(Value::Null, Value::Whole)),
        "absExact" => return Some(x.checked_abs().map_or(Value::Null, Value::Whole)),
        "toIntExact" => {
            return Some(i32::try_from(x).map_or(Value::Null, |v| Value::Whole(i64::from(v))));
        }
        _ => return None,
    }))
}

fn long_math2(name: &str, x: i64, y: i64) -> Option<Value<'static>> {
    let checked = |value: Option<i64>| Some(value.map_or(Value::Null, Value::Whole));
    match name {
        "max" => Some(Value::Whole(x.max(y))),
        "min" => Some(Value::Whole(x.min(y))),
        "addExact" => checked(x.checked_add(y)),
        "subtractExact" => checked(x.checked_sub(y)),
        "multiplyExact" => checked(x.checked_mul(y)),
        "floorDiv" => checked((y != 0).then(|| {
            x.div_euclid(y)
                - i64::from((x % y != 0) && ((x < 0) != (y < 0)) && x.rem_euclid(y) == 0)
        })),
        "floorMod" => checked((y != 0).then(|| ((x % y) + y) % y)),
        "multiplyHigh" => Some(Value::Whole(((i128::from(x) * i128::from(y)) >> 64) as i64)),
        _ => None,
    }
}

fn double_math1(name: &str, x: f64) -> Option<Value<'static>> {
    Some(match name {
        "abs" => Value::Decimal(x.abs()),
        "sqrt" => Value::Decimal(x.sqrt()),
        "cbrt" => Value::Decimal(x.cbrt()),
        "ceil" => Value::Decimal(x.ceil()),
        "floor" => Value::Decimal(x.floor()),
        "rint" => Value::Decimal(x.round_ties_even()),
        "round" => Value::Whole((x + 0.5).floor() as i64),
        "exp" => Value::Decimal(x.exp()),
        "expm1" => Value::Decimal(x.exp_m1()),
        "log" => Value::Decimal(x.ln()),
        "log10" => Value::Decimal(x.log10()),
        "log1p" => Value::Decimal(x.ln_1p()),
        "sin" => Value::Decimal(x.sin()),
        "cos" => Value::Decimal(x.cos()),
        "tan" => Value::Decimal(x.tan()),
        "asin" => Value::Decimal(x.asin()),
        "acos" => Value::Decimal(x.acos()),
        "atan" => Value::Decimal(x.atan()),
        "sinh" => Value::Decimal(x.sinh()),
        "cosh" => Value::Decimal(x.cosh()),
        "tanh" => Value::Decimal(x.tanh()),
        "signum" => Value::Decimal(if x == 0.0 || x.is_nan() {
            x
        } else {
            x.signum()
        }),
        "toDegrees" => Value::Decimal(x.to_degrees()),
        "toRadians" => Value::Decimal(x.to_radians()),
        "ulp" => Value::Decimal(ulp(x)),
        "nextUp" => Value::Decimal(next_up(x)),
        "nextDown" => Value::Decimal(next_down(x)),
        "getExponent" => Value::Whole(if x == 0.0 {
            -1023
        } else {
            i64::from(((x.to_bits() >> 52) & 0x7ff) as i32 - 1023)
        }),
        _ => return None,
    })
}

/// `Math.nextUp` (the next representable double toward +infinity).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// `Math.nextDown`.
fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

fn ulp(x: f64) -> f64 {
    let x = x.abs();
    if !x.is_finite() {
        return x;
    }
    next_up(x) - x
}

fn double_math2(name: &str, x: f64, y: f64) -> Option<Value<'static>> {
    Some(Value::Decimal(match name {
        "max" => {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else {
                x.max(y)
            }
        }
        "min" => {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else {
                x.min(y)
            }
        }
        "pow" => x.powf(y),
        "atan2" => x.atan2(y),
        "hypot" => x.hypot(y),
        "IEEEremainder" => x - (x / y).round_ties_even() * y,
        "copySign" => x.copysign(y),
        "nextAfter" => {
            if y > x {
                next_up(x)
            } else if y < x {
                next_down(x)
            } else {
                y
            }
        }
        _ => return None,
    }))
}

fn arithmetic<'a>(func: Func, subject: Value<'a>, operand: Value<'a>) -> Result<Value<'a>> {
    let (Some(left), Some(right)) = (subject.to_number(), operand.to_number()) else {
        return Ok(Value::Null);
    };
    let name = crate::catalog::spec_of(func).name;
    Ok(match (left, right) {
        (Number::Whole(a), Number::Whole(b)) => Value::Whole(match func {
            Func::Plus => a.wrapping_add(b),
            Func::Minus => a.wrapping_sub(b),
            Func::Multiply => a.wrapping_mul(b),
            Func::Divide => {
                if b == 0 {
                    return Err(fail(name, "division by zero"));
                }
                a.wrapping_div(b)
            }
            _ => {
                if b == 0 {
                    return Err(fail(name, "division by zero"));
                }
                a.wrapping_rem(b)
            }
        }),
        (left, right) => {
            let as_f64 = |n: Number| match n {
                Number::Whole(v) => v as f64,
                Number::Decimal(v) => v,
            };
            let (a, b) = (as_f64(left), as_f64(right));
            Value::Decimal(match func {
                Func::Plus => a + b,
                Func::Minus => a - b,
                Func::Multiply => a * b,
                Func::Divide => a / b,
                _ => a % b,
            })
        }
    })
}

fn compare(subject: &Value<'_>, operand: &Value<'_>) -> Option<std::cmp::Ordering> {
    match (subject.to_number()?, operand.to_number()?) {
        (Number::Whole(a), Number::Whole(b)) => Some(a.cmp(&b)),
        (a, b) => {
            let as_f64 = |n: Number| match n {
                Number::Whole(v) => v as f64,
                Number::Decimal(v) => v,
            };
            as_f64(a).partial_cmp(&as_f64(b))
        }
    }
}

fn equals(subject: Value<'_>, operand: Value<'_>, cx: &Cx<'_>) -> bool {
    match (&subject, &operand) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Whole(a), Value::Whole(b)) => a == b,
        (Value::Decimal(a), Value::Decimal(b)) => {
            a.to_bits() == b.to_bits() || (a == b && a.is_sign_negative() == b.is_sign_negative())
        }
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Date(a), Value::Date(b)) => a == b,
        (Value::Instant(a), Value::Instant(b)) => a == b,
        _ => {
            let normalise = |value: Value<'_>| -> Option<String> {
                match value {
                    Value::Date(millis) => Some(millis.to_string()),
                    other => text_of(other, cx).map(Cow::into_owned),
                }
            };
            normalise(subject) == normalise(operand)
        }
    }
}

fn java_equals_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let mut left = a.chars();
    let mut right = b.chars();
    loop {
        match (left.next(), right.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if x != y
                    && x.to_uppercase().ne(y.to_uppercase())
                    && x.to_lowercase().ne(y.to_lowercase())
                {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn get_delimited_field(
    text: &str,
    index: i64,
    delimiter: char,
    quote: char,
    escape: char,
    strip: bool,
) -> String {
    let mut field = 1;
    let mut current = String::new();
    let mut in_quote = false;
    let mut escaping = false;
    for c in text.chars() {
        if escaping {
            current.push(c);
            escaping = false;
            continue;
        }
        if c == escape {
            escaping = true;
            if !strip {
                current.push(c);
            }
            continue;
        }
        if c == quote {
            in_quote = !in_quote;
            if !strip {
                current.push(c);
            }
            continue;
        }
        if c == delimiter && !in_quote {
            if field == index {
                return current;
            }
            field += 1;
            current.clear();
            continue;
        }
        current.push(c);
    }
    if field == index {
        current
    } else {
        String::new()
    }
}

fn hash(algorithm: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Some(match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" | "SHA1" | "SHA" => hex(&sha1::Sha1::digest(data)),
        "SHA-224" => hex(&sha2::Sha224::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        "SHA-512/224" => hex(&sha2::Sha512_224::digest(data)),
        "SHA-512/256" => hex(&sha2::Sha512_256::digest(data)),
        _ => return None,
    })
}

/// Name-based UUID (`UUID.nameUUIDFromBytes`-style, with the namespace bytes first).
fn name_uuid(
    namespace: Option<&str>,
    name: &str,
    sha: bool,
) -> std::result::Result<String, String> {
    use sha2::Digest;
    // A null namespace is the nil UUID, as NiFi passes it.
    let namespace = match namespace {
        Some(text) => uuid::Uuid::parse_str(text)
            .map_err(|e| format!("invalid namespace UUID '{text}': {e}"))?,
        None => uuid::Uuid::nil(),
    };
    let mut bytes = namespace.as_bytes().to_vec();
    bytes.extend_from_slice(name.as_bytes());
    let mut digest: [u8; 16] = [0; 16];
    if sha {
        digest.copy_from_slice(&sha1::Sha1::digest(&bytes)[..16]);
        digest[6] = (digest[6] & 0x0f) | 0x50;
    } else {
        digest.copy_from_slice(&md5::Md5::digest(&bytes)[..16]);
        digest[6] = (digest[6] & 0x0f) | 0x30;
    }
    digest[8] = (digest[8] & 0x3f) | 0x80;
    Ok(uuid::Uuid::from_bytes(digest).to_string())
}

fn add_calendar(millis: i64, duration: Duration, sign: i64, zone: &Zone) -> Option<i64> {
    let local = zone.to_local(millis);
    let amount = duration.amount.checked_mul(sign)?;
    let shifted = match duration.unit {
        Unit::Days => local.checked_add_signed(ChronoDuration::days(amount))?,
        Unit::Weeks => local.checked_add_signed(ChronoDuration::weeks(amount))?,
        Unit::Months | Unit::Years => {
            let months = if duration.unit == Unit::Years {
                amount.checked_mul(12)?
            } else {
                amount
            };
            if months >= 0 {
                local.checked_add_months(Months::new(u32::try_from(months).ok()?))?
            } else {
                local.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
            }
        }
        _ => return None,
    };
    let _ = shifted.year();
    zone.local_to_millis(shifted)
}

fn shift_date(millis: i64, duration: Duration, sign: i64, zone: &Zone) -> Option<i64> {
    match duration.exact_nanos() {
        Some(nanos) => {
            let total = i128::from(millis) * 1_000_000 + nanos * i128::from(sign);
            i64::try_from(total.div_euclid(1_000_000)).ok()
        }
        None => add_calendar(millis, duration, sign, zone),
    }
}

fn shift_instant(nanos: i128, duration: Duration, sign: i64) -> Option<i128> {
    match duration.exact_nanos() {
        Some(delta) => Some(nanos + delta * i128::from(sign)),
        None => {
            let millis = nanos.div_euclid(1_000_000) as i64;
            let sub = nanos.rem_euclid(1_000_000);
            add_calendar(millis, duration, sign, &Zone::utc())
                .map(|m| i128::from(m) * 1_000_000 + sub)
        }
    }
}

fn split_list<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    if delimiter.is_empty() {
        text.char_indices()
            .map(|(i, c)| &text[i..i + c.len_utf8()])
            .collect()
    } else {
        text.split(delimiter).collect()
    }
}

/// Applies one function of a chain. Every function that builds a string checks its size
/// against the limit before it allocates where the size is known up front (`padLeft`,
/// `append`, `repeat`, `replace`, ...) and, as a backstop for the bounded expansions
/// (`urlEncode`, `escapeJson`, `toUpper`, ...), every new string is checked once built.
fn apply<'a>(call: &'a Call, subject: Value<'a>, cx: &Cx<'a>) -> Result<Value<'a>> {
    let value = apply_unchecked(call, subject, cx)?;
    checked_value(value, call, cx)
}

/// Fails when `value` is a new string beyond the limit.
fn checked_value<'a>(value: Value<'a>, call: &Call, cx: &Cx<'_>) -> Result<Value<'a>> {
    if let Value::Str(Cow::Owned(text)) = &value {
        check_len(text.len(), crate::catalog::spec_of(call.func).name, cx)?;
    }
    Ok(value)
}

#[allow(clippy::too_many_lines)]
fn apply_unchecked<'a>(call: &'a Call, subject: Value<'a>, cx: &Cx<'a>) -> Result<Value<'a>> {
    let func = call.func;
    let name = crate::catalog::spec_of(func).name;
    let err = |message: String| fail(name, message);
    // (spec_of is an index lookup, so naming the function up front costs nothing.)
    let zone = &cx.options.zone;
    macro_rules! subject_text {
        () => {
            match text_of(subject, cx) {
                Some(text) => text,
                None => return Ok(Value::Null),
            }
        };
    }
    Ok(match func {
        Func::IsNull => Value::Bool(subject.is_null()),
        Func::NotNull => Value::Bool(!subject.is_null()),
        Func::IsEmpty => Value::Bool(match text_of(subject, cx) {
            None => true,
            Some(text) => java_number::java_trim(&text).is_empty(),
        }),
        Func::Equals => {
            let operand = arg(call, 0, cx)?;
            Value::Bool(equals(subject, operand, cx))
        }
        Func::EqualsIgnoreCase => {
            let operand = arg_text(call, 0, cx)?;
            match (text_of(subject, cx), operand) {
                (Some(a), Some(b)) => Value::Bool(java_equals_ignore_case(&a, &b)),
                _ => Value::Bool(false),
            }
        }
        Func::Gt | Func::Ge | Func::Lt | Func::Le => {
            let operand = arg(call, 0, cx)?;
            let ordering = compare(&subject, &operand);
            Value::Bool(match (func, ordering) {
                (_, None) => false,
                (Func::Gt, Some(o)) => o.is_gt(),
                (Func::Ge, Some(o)) => o.is_ge(),
                (Func::Lt, Some(o)) => o.is_lt(),
                (_, Some(o)) => o.is_le(),
            })
        }
        Func::And | Func::Or => {
            let decided = if func == Func::And {
                Some(false)
            } else {
                Some(true)
            };
            if subject.to_bool() == decided {
                Value::Bool(decided == Some(true))
            } else {
                match arg(call, 0, cx)?.to_bool() {
                    Some(value) => Value::Bool(value),
                    None => Value::Null,
                }
            }
        }
        Func::Not => match subject.to_bool() {
            Some(value) => Value::Bool(!value),
            None => return Err(err("cannot negate a null value".to_string())),
        },
        Func::IfElse => {
            let branch = if subject.to_bool() == Some(true) {
                0
            } else {
                1
            };
            match arg_text(call, branch, cx)? {
                Some(text) => Value::Str(text),
                None => Value::Null,
            }
        }
        Func::IsJson => Value::Bool(match text_of(subject, cx) {
            Some(text) => {
                let trimmed = text.trim();
                (trimmed.starts_with('{') || trimmed.starts_with('['))
                    && serde_json::from_str::<Json>(trimmed).is_ok()
            }
            None => false,
        }),
        Func::In => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(Value::Bool(false));
            };
            let mut found = false;
            for index in 0..call.args.len() {
                if arg_text(call, index, cx)?.is_some_and(|candidate| candidate == text) {
                    found = true;
                    break;
                }
            }
            Value::Bool(found)
        }
        Func::ToUpper => str_value(subject_text!().to_uppercase()),
        Func::ToLower => str_value(subject_text!().to_lowercase()),
        Func::Trim => match subject_text!() {
            Cow::Borrowed(text) => Value::Str(Cow::Borrowed(java_number::java_trim(text))),
            Cow::Owned(text) => str_value(java_number::java_trim(&text).to_string()),
        },
        Func::Length => {
            Value::Whole(text_of(subject, cx).map_or(0, |t| java_string::utf16_len(&t) as i64))
        }
        Func::Substring => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(str_value(String::new()));
            };
            let start = arg_whole(call, 0, cx)?;
            let end = if call.args.len() > 1 {
                arg_whole(call, 1, cx)?
            } else {
                Some(java_string::utf16_len(&text) as i64)
            };
            match (start, end) {
                (Some(start), Some(end)) => {
                    str_value(java_string::substring(&text, start, end).unwrap_or_default())
                }
                _ => str_value(String::new()),
            }
        }
        Func::SubstringBefore
        | Func::SubstringBeforeLast
        | Func::SubstringAfter
        | Func::SubstringAfterLast => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(str_value(String::new()));
            };
            let search = arg_text(call, 0, cx)?.unwrap_or_default();
            if search.is_empty() {
                return Ok(Value::Str(text));
            }
            let position = if matches!(func, Func::SubstringBefore | Func::SubstringAfter) {
                text.find(search.as_ref())
            } else {
                text.rfind(search.as_ref())
            };
            match position {
                None => Value::Str(text),
                Some(at) => str_value(match func {
                    Func::SubstringBefore | Func::SubstringBeforeLast => text[..at].to_string(),
                    _ => text[at + search.len()..].to_string(),
                }),
            }
        }
        Func::GetDelimitedField => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(str_value(String::new()));
            };
            let index = arg_whole(call, 0, cx)?.unwrap_or(0);
            let char_arg = |index: usize, default: char| -> Result<char> {
                if call.args.len() <= index {
                    return Ok(default);
                }
                Ok(arg_text(call, index, cx)?
                    .and_then(|t| t.chars().next())
                    .unwrap_or(default))
            };
            let delimiter = char_arg(1, ',')?;
            let quote = char_arg(2, '"')?;
            let escape = char_arg(3, '\\')?;
            let strip = if call.args.len() > 4 {
                arg(call, 4, cx)?.to_bool() == Some(true)
            } else {
                false
            };
            str_value(get_delimited_field(
                &text, index, delimiter, quote, escape, strip,
            ))
        }
        Func::Append | Func::Prepend => {
            let text = text_of(subject, cx).unwrap_or_default();
            let other = arg_text(call, 0, cx)?.unwrap_or_default();
            check_len(text.len().saturating_add(other.len()), name, cx)?;
            if func == Func::Append {
                str_value(format!("{text}{other}"))
            } else {
                str_value(format!("{other}{text}"))
            }
        }
        Func::Replace => {
            let text = subject_text!();
            let search = arg_text(call, 0, cx)?;
            let replacement = arg_text(call, 1, cx)?;
            // Java's `String.replace` throws on a null search or replacement, hit or not.
            let search = search.ok_or_else(|| null_argument(call, 0, name))?;
            let replacement = replacement.ok_or_else(|| null_argument(call, 1, name))?;
            if let Some(hits) = call
                .prepared
                .as_ref()
                .and_then(|p| p.literal_hits.as_deref())
            {
                if hits.is_empty() {
                    return Ok(Value::Str(text));
                }
                let len = (text.len() - hits.len() * search.len())
                    .saturating_add(hits.len().saturating_mul(replacement.len()));
                check_len(len, name, cx)?;
                let mut out = String::with_capacity(len);
                splice(&text, hits, search.len(), &replacement, &mut out);
                return Ok(str_value(out));
            }
            let finder = call.prepared.as_ref().and_then(|p| p.finder.as_ref());
            let position = match finder {
                Some(finder) => finder.find(text.as_bytes()),
                None => text.find(search.as_ref()),
            };
            match position {
                None => Value::Str(text),
                Some(first) if !search.is_empty() => {
                    // One pass from the first hit; text before it is copied once.
                    let mut out = String::with_capacity(text.len() + replacement.len());
                    out.push_str(&text[..first]);
                    let mut copied = first;
                    let mut next = Some(first);
                    while let Some(at) = next {
                        out.push_str(&text[copied..at]);
                        // Stop before an expansion outgrows the limit, not after.
                        check_len(out.len().saturating_add(replacement.len()), name, cx)?;
                        out.push_str(&replacement);
                        copied = at + search.len();
                        next = match finder {
                            Some(finder) => finder.find(&text.as_bytes()[copied..]),
                            None => text[copied..].find(search.as_ref()),
                        }
                        .map(|offset| copied + offset);
                    }
                    out.push_str(&text[copied..]);
                    str_value(out)
                }
                Some(_) => {
                    let mut out = String::new();
                    replace_literal_into(&text, &search, &replacement, None, cx, &mut out)?;
                    str_value(out)
                }
            }
        }
        Func::ReplaceFirst | Func::ReplaceAll => {
            let text = subject_text!();
            let (regex, replacement) = regex_and_replacement(call, &text, cx, name)?;
            let Some(replacement) = replacement else {
                return Ok(Value::Str(text));
            };
            let mut out = String::with_capacity(text.len() + replacement.len());
            regex
                .replace_into(
                    &text,
                    &replacement,
                    func == Func::ReplaceAll,
                    cx.max_len(),
                    &mut out,
                )
                .map_err(|e| replace_error(e, name, cx))?;
            str_value(out)
        }
        Func::ReplaceNull => match subject {
            Value::Null => arg(call, 0, cx)?,
            other => other,
        },
        Func::ReplaceEmpty => {
            let empty = match &subject {
                Value::Null => true,
                Value::Str(text) => java_number::java_trim(text).is_empty(),
                _ => false,
            };
            if empty { arg(call, 0, cx)? } else { subject }
        }
        Func::PadLeft | Func::PadRight => {
            let text = subject_text!();
            let length = arg_whole(call, 0, cx)?.unwrap_or(0);
            let pad = if call.args.len() > 1 {
                arg_text(call, 1, cx)?.unwrap_or(Cow::Borrowed("_"))
            } else {
                Cow::Borrowed("_")
            };
            // Sized before anything is allocated: `padLeft(2000000000)` fails at once.
            let len = java_string::padded_len(&text, length, &pad);
            check_len(len, name, cx)?;
            str_value(java_string::pad(&text, length, &pad, func == Func::PadLeft))
        }
        Func::Repeat => {
            let text = subject_text!();
            let count = if call.args.len() > 1 {
                let min = arg_whole(call, 0, cx)?.unwrap_or(0);
                let max = arg_whole(call, 1, cx)?.unwrap_or(0);
                if min < 1 || max < min {
                    return Err(err(format!(
                        "invalid repeat range [{min}, {max}]: need 1 <= min <= max"
                    )));
                }
                min + (rand::random::<u64>() % (max - min + 1) as u64) as i64
            } else {
                arg_whole(call, 0, cx)?.unwrap_or(0)
            };
            if count < 1 {
                return Err(err(format!("repeat count must be at least 1, got {count}")));
            }
            let len = usize::try_from(count as u128 * text.len() as u128).unwrap_or(usize::MAX);
            check_len(len, name, cx)?;
            str_value(text.repeat(count as usize))
        }
        Func::EvaluateElString => {
            let text = subject_text!();
            let template = crate::Template::compile(&text).map_err(|e| err(e.to_string()))?;
            str_value(
                template
                    .evaluate_with(cx.attrs, cx.options)
                    .map_err(Box::new)?,
            )
        }
        Func::ToStringFn => match text_of(subject, cx) {
            Some(text) => Value::Str(text),
            None => Value::Null,
        },
        Func::StartsWith | Func::EndsWith | Func::Contains => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(Value::Bool(false));
            };
            let Some(search) = arg_text(call, 0, cx)? else {
                return Ok(Value::Bool(false));
            };
            Value::Bool(match func {
                Func::StartsWith => text.starts_with(search.as_ref()),
                Func::EndsWith => text.ends_with(search.as_ref()),
                _ => text.contains(search.as_ref()),
            })
        }
        Func::Find | Func::Matches => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(Value::Bool(false));
            };
            let Some(pattern) = arg_text(call, 0, cx)? else {
                return Ok(Value::Bool(false));
            };
            let regex = regex_for(call, &pattern, name)?;
            Value::Bool(if func == Func::Find {
                regex.find(&text).map_err(err)?
            } else {
                regex.matches(&text).map_err(err)?
            })
        }
        Func::IndexOf | Func::LastIndexOf => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(Value::Whole(-1));
            };
            let search = arg_text(call, 0, cx)?.unwrap_or_default();
            let position = if func == Func::IndexOf {
                text.find(search.as_ref())
            } else {
                text.rfind(search.as_ref())
            };
            Value::Whole(position.map_or(-1, |at| java_string::utf16_index(&text, at) as i64))
        }
        Func::JsonPath => {
            let document = parse_json(subject, cx, name)?;
            let path = json_path_for(call, cx, name)?;
            match path.read(&document) {
                None => str_value(String::new()),
                Some(Json::Array(mut items)) if items.len() == 1 => {
                    str_value(json_text(&items.remove(0)))
                }
                Some(found) => str_value(json_text(&found)),
            }
        }
        Func::JsonPathDelete | Func::JsonPathSet | Func::JsonPathAdd | Func::JsonPathPut => {
            let mut document = parse_json(subject, cx, name)?;
            let path = json_path_for(call, cx, name)?;
            let outcome = match func {
                Func::JsonPathDelete => {
                    path.delete(&mut document);
                    Ok(())
                }
                Func::JsonPathSet => {
                    let value = to_json(arg(call, 1, cx)?, cx);
                    path.set(&mut document, &value);
                    Ok(())
                }
                Func::JsonPathAdd => {
                    let value = to_json(arg(call, 1, cx)?, cx);
                    path.add(&mut document, &value)
                }
                _ => {
                    let key = arg_text(call, 1, cx)?.unwrap_or_default();
                    let value = to_json(arg(call, 2, cx)?, cx);
                    path.put(&mut document, &key, &value)
                }
            };
            match outcome {
                Ok(()) => str_value(document.to_string()),
                Err(_) => str_value(String::new()),
            }
        }
        Func::UrlEncode => match subject_text!() {
            Cow::Borrowed(text) => Value::Str(escapes::url_encode(text)),
            Cow::Owned(text) => str_value(escapes::url_encode(&text).into_owned()),
        },
        Func::UrlDecode => str_value(escapes::url_decode(&subject_text!()).map_err(err)?),
        Func::Base64Encode => {
            str_value(base64::engine::general_purpose::STANDARD.encode(subject_text!().as_bytes()))
        }
        Func::Base64Decode => {
            let text = subject_text!();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| err(format!("not valid Base64: {e}")))?;
            str_value(String::from_utf8_lossy(&bytes).into_owned())
        }
        Func::EscapeJson => str_value(escapes::escape_json(&subject_text!())),
        Func::EscapeXml => str_value(escapes::escape_xml(&subject_text!())),
        Func::EscapeHtml3 => str_value(escapes::escape_html(&subject_text!(), false)),
        Func::EscapeHtml4 => str_value(escapes::escape_html(&subject_text!(), true)),
        Func::EscapeCsv => str_value(escapes::escape_csv(&subject_text!())),
        Func::UnescapeJson => str_value(escapes::unescape_json(&subject_text!())),
        Func::UnescapeXml => str_value(escapes::unescape_entities(&subject_text!(), false, true)),
        Func::UnescapeHtml3 => {
            str_value(escapes::unescape_entities(&subject_text!(), false, false))
        }
        Func::UnescapeHtml4 => str_value(escapes::unescape_entities(&subject_text!(), true, false)),
        Func::UnescapeCsv => str_value(escapes::unescape_csv(&subject_text!())),
        Func::Uuid3 | Func::Uuid5 => {
            let text = subject_text!();
            let namespace = arg_text(call, 0, cx)?;
            str_value(name_uuid(namespace.as_deref(), &text, func == Func::Uuid5).map_err(err)?)
        }
        Func::Hash => {
            let text = subject_text!();
            let algorithm = arg_text(call, 0, cx)?.unwrap_or_default();
            str_value(
                hash(&algorithm, text.as_bytes())
                    .ok_or_else(|| err(format!("unknown hash algorithm '{algorithm}'")))?,
            )
        }
        Func::Plus | Func::Minus | Func::Multiply | Func::Divide | Func::Mod => {
            let operand = arg(call, 0, cx)?;
            arithmetic(func, subject, operand)?
        }
        Func::ToNumber => subject.to_whole().map_or(Value::Null, Value::Whole),
        Func::ToDecimal => subject.to_decimal().map_or(Value::Null, Value::Decimal),
        Func::ToRadix => {
            let Some(number) = subject.to_whole() else {
                return Ok(Value::Null);
            };
            let radix = arg_whole(call, 0, cx)?.unwrap_or(10);
            if !(2..=36).contains(&radix) {
                return Err(err(format!("radix {radix} is outside 2..36")));
            }
            let mut digits = java_number::to_radix(number, radix as u32);
            if call.args.len() > 1 {
                let width = arg_whole(call, 1, cx)?.unwrap_or(0);
                let current = digits.len() as i64;
                if width > current {
                    check_len(usize::try_from(width).unwrap_or(usize::MAX), name, cx)?;
                    digits = "0".repeat((width - current) as usize) + &digits;
                }
            }
            str_value(digits)
        }
        Func::FromRadix => {
            let text = subject_text!();
            let radix = arg_whole(call, 0, cx)?.unwrap_or(10);
            if !(2..=36).contains(&radix) {
                return Err(err(format!("radix {radix} is outside 2..36")));
            }
            let digits = text.strip_prefix('+').unwrap_or(&text);
            Value::Whole(
                i64::from_str_radix(digits, radix as u32)
                    .map_err(|_| err(format!("'{text}' is not a number in radix {radix}")))?,
            )
        }
        Func::Math => math(call, Some(subject), cx)?,
        Func::Format => {
            let Some(millis) = subject.to_date(zone).map_err(err)? else {
                return Ok(Value::Null);
            };
            let pattern_text = arg_text(call, 0, cx)?.unwrap_or_default();
            let pattern = date_pattern(call, &pattern_text, name, true)?;
            let zone = zone_arg(call, 1, cx, false, name)?;
            str_value(pattern.format(i128::from(millis) * 1_000_000, &zone))
        }
        Func::ToDate => {
            if call.args.is_empty() {
                return Ok(subject
                    .to_date(zone)
                    .map_err(err)?
                    .map_or(Value::Null, Value::Date));
            }
            match subject {
                Value::Null => Value::Null,
                Value::Str(text) => {
                    let pattern_text = arg_text(call, 0, cx)?.unwrap_or_default();
                    let pattern = date_pattern(call, &pattern_text, name, true)?;
                    let zone = zone_arg(call, 1, cx, false, name)?;
                    let nanos = pattern.parse(&text, &zone).map_err(|e| {
                        err(format!(
                            "cannot parse '{text}' with pattern '{pattern_text}': {e}"
                        ))
                    })?;
                    Value::Date(nanos.div_euclid(1_000_000) as i64)
                }
                other => other
                    .to_date(zone)
                    .map_err(err)?
                    .map_or(Value::Null, Value::Date),
            }
        }
        Func::FormatInstant => {
            let Some(nanos) = subject.to_instant().map_err(err)? else {
                return Ok(Value::Null);
            };
            let pattern_text = arg_text(call, 0, cx)?.unwrap_or_default();
            let pattern = date_pattern(call, &pattern_text, name, false)?;
            let zone = zone_arg(call, 1, cx, true, name)?;
            str_value(pattern.format(nanos, &zone))
        }
        Func::ToInstant => match subject {
            Value::Str(text) if !call.args.is_empty() => {
                let pattern_text = arg_text(call, 0, cx)?.unwrap_or_default();
                let pattern = date_pattern(call, &pattern_text, name, false)?;
                let zone = zone_arg(call, 1, cx, true, name)?;
                Value::Instant(pattern.parse(&text, &zone).map_err(|e| {
                    err(format!(
                        "cannot parse '{text}' with pattern '{pattern_text}': {e}"
                    ))
                })?)
            }
            other => other
                .to_instant()
                .map_err(err)?
                .map_or(Value::Null, Value::Instant),
        },
        Func::ToMicros | Func::ToNanos => match subject.to_instant().map_err(err)? {
            None => Value::Null,
            Some(nanos) => Value::Whole(if func == Func::ToMicros {
                nanos.div_euclid(1000)
            } else {
                nanos
            } as i64),
        },
        Func::PlusDuration | Func::MinusDuration => {
            let Some(millis) = subject.to_date(zone).map_err(err)? else {
                return Ok(Value::Null);
            };
            let Some(duration) = duration_arg(call, cx, name)? else {
                return Ok(Value::Null);
            };
            let zone = zone_arg(call, 1, cx, true, name)?;
            let sign = if func == Func::PlusDuration { 1 } else { -1 };
            Value::Date(
                shift_date(millis, duration, sign, &zone)
                    .ok_or_else(|| err("date out of range".to_string()))?,
            )
        }
        Func::PlusInstantDuration | Func::MinusInstantDuration => {
            let Some(nanos) = subject.to_instant().map_err(err)? else {
                return Ok(Value::Null);
            };
            let Some(duration) = duration_arg(call, cx, name)? else {
                return Ok(Value::Null);
            };
            let sign = if func == Func::PlusInstantDuration {
                1
            } else {
                -1
            };
            Value::Instant(
                shift_instant(nanos, duration, sign)
                    .ok_or_else(|| err("instant out of range".to_string()))?,
            )
        }
        Func::IsValidDate => {
            let Some(text) = text_of(subject, cx) else {
                return Ok(Value::Bool(false));
            };
            let pattern_text = arg_text(call, 0, cx)?.unwrap_or_default();
            let pattern = date_pattern(call, &pattern_text, name, true)?;
            let zone = zone_arg(call, 1, cx, true, name)?;
            Value::Bool(pattern.is_valid(text.trim(), &zone))
        }
        Func::IsValidInstant => Value::Bool(
            text_of(subject, cx)
                .is_some_and(|text| crate::java_date::parse_iso_instant(&text).is_some()),
        ),
        Func::Unique | Func::CompactDelimitedList | Func::TrimDelimitedList => {
            let text = subject_text!();
            let delimiter = arg_text(call, 0, cx)?.unwrap_or_default();
            let items = split_list(&text, &delimiter);
            let kept: Vec<&str> = match func {
                Func::Unique => {
                    let mut seen = std::collections::HashSet::new();
                    items
                        .into_iter()
                        .filter(|item| seen.insert(*item))
                        .collect()
                }
                Func::CompactDelimitedList => {
                    items.into_iter().filter(|item| !item.is_empty()).collect()
                }
                _ => {
                    let first = items.iter().position(|item| !item.is_empty());
                    let last = items.iter().rposition(|item| !item.is_empty());
                    match (first, last) {
                        (Some(first), Some(last)) => items[first..=last].to_vec(),
                        _ => Vec::new(),
                    }
                }
            };
            str_value(kept.join(&delimiter))
        }
        Func::ReplaceByPattern => {
            let text = subject_text!();
            let Some(mappings) = arg_text(call, 0, cx)? else {
                return Ok(Value::Str(text));
            };
            for mapping in mappings.split(',') {
                let mapping = mapping.trim();
                let Some((pattern, replacement)) = mapping.rsplit_once(':') else {
                    continue;
                };
                let regex = JavaRegex::cached(pattern)
                    .map_err(|e| err(format!("invalid pattern '{pattern}': {e}")))?;
                if regex.matches(&text).map_err(err)? {
                    return Ok(str_value(replacement.to_string()));
                }
            }
            Value::Str(text)
        }
        Func::Count => Value::Whole(i64::from(match &subject {
            Value::Bool(b) => *b,
            Value::Null => false,
            _ => true,
        })),
        Func::Join => Value::Str(text_of(subject, cx).unwrap_or_default()),
        _ => return Err(err("cannot be applied to a subject".to_string())),
    })
}
