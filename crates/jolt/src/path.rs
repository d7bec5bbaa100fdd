//! Jolt's key language, parsed once at compile time: left-hand-side keys (literals, `*`
//! patterns, `&` templates, `@`, `$`, `#`, `[n]`), right-hand-side dot paths, and the
//! references they make into the walked input path.

use crate::java;
use serde_json::Value;
use std::borrow::Cow;

/// A `&(level,group)` / `$(level,group)` / `#(level)` reference into the walked path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reference {
    pub level: usize,
    pub group: usize,
}

impl Reference {
    /// Parses `&`, `&2`, `&(2)`, `&(2,1)` (token is the leading character).
    pub(crate) fn parse(text: &str, token: char) -> Result<Reference, String> {
        let meat = text
            .strip_prefix(token)
            .ok_or_else(|| format!("reference `{text}` must start with `{token}`"))?;
        let bad = || format!("cannot parse `{token}` reference `{text}`");
        let (level, group) = if meat.is_empty() {
            (0, 0)
        } else if meat.len() >= 3 && meat.starts_with('(') && meat.ends_with(')') {
            let inner = &meat[1..meat.len() - 1];
            let parts: Vec<&str> = inner.split(',').collect();
            if parts.len() > 2 {
                return Err(bad());
            }
            let level = java::parse_int(parts[0]).ok_or_else(bad)?;
            let group = match parts.get(1) {
                Some(g) => java::parse_int(g).ok_or_else(bad)?,
                None => 0,
            };
            (level, group)
        } else {
            (java::parse_int(meat).ok_or_else(bad)?, 0)
        };
        if level < 0 || group < 0 {
            return Err(format!("reference `{text}` cannot be negative"));
        }
        Ok(Reference {
            level: level as usize,
            group: group as usize,
        })
    }

    fn canonical(&self, token: char) -> String {
        format!("{token}({},{})", self.level, self.group)
    }
}

/// One key matched on the walked path: the whole key (group 0) and what each `*` captured.
#[derive(Debug, Clone)]
pub(crate) struct Matched<'a> {
    pub key: Cow<'a, str>,
    /// Byte ranges into `key` for groups 1..n.
    pub groups: Vec<(usize, usize)>,
    /// Number of "real" child matches so far, read by `[#n]`.
    pub hash_count: usize,
}

impl<'a> Matched<'a> {
    pub(crate) fn new(key: Cow<'a, str>) -> Self {
        Matched {
            key,
            groups: Vec::new(),
            hash_count: 0,
        }
    }

    pub(crate) fn group(&self, group: usize) -> Option<&str> {
        if group == 0 {
            return Some(&self.key);
        }
        let (s, e) = *self.groups.get(group - 1)?;
        self.key.get(s..e)
    }
}

/// The walked input path as the reference evaluators see it (Jolt's `WalkedPath`).
pub(crate) trait Walk<'v> {
    fn depth(&self) -> usize;
    fn matched_at(&self, index: usize) -> &Matched<'_>;
    /// The input value at that level; `None` when it is absent (Java null).
    fn tree_at(&self, index: usize) -> Option<&'v Value>;

    fn level_index(&self, up: usize) -> Result<usize, String> {
        let depth = self.depth();
        if up >= depth {
            return Err(format!(
                "reference goes {up} levels up, but the input path is only {} deep",
                depth.saturating_sub(1)
            ));
        }
        Ok(depth - 1 - up)
    }

    fn group_of(&self, r: &Reference, token: char) -> Result<Cow<'_, str>, String> {
        let idx = self.level_index(r.level)?;
        let m = self.matched_at(idx);
        m.group(r.group).map(Cow::Borrowed).ok_or_else(|| {
            format!(
                "reference {} asks for capture group {} of `{}`, which has only {}",
                r.canonical(token),
                r.group,
                m.key,
                m.groups.len()
            )
        })
    }
}

/// A `*` pattern: literal pieces around stars, each star matching one or more characters,
/// reluctantly (Jolt's `StarSingle`/`StarDouble`/`StarRegex` elements agree on this).
#[derive(Debug, Clone)]
pub(crate) struct StarPattern {
    pieces: Vec<String>,
    pub canonical: String,
}

impl StarPattern {
    pub(crate) fn new(key: &str) -> StarPattern {
        StarPattern {
            pieces: key.split('*').map(str::to_string).collect(),
            canonical: key.to_string(),
        }
    }

    pub(crate) fn star_count(&self) -> usize {
        self.pieces.len() - 1
    }

    pub(crate) fn is_all(&self) -> bool {
        self.pieces.len() == 2 && self.pieces[0].is_empty() && self.pieces[1].is_empty()
    }

    /// Jolt's sort rank among computed keys: regex (3+ stars) 2, double 3, single 4, `*` 5.
    pub(crate) fn rank(&self) -> u8 {
        if self.is_all() {
            5
        } else {
            match self.star_count() {
                1 => 4,
                2 => 3,
                _ => 2,
            }
        }
    }

    pub(crate) fn matches(&self, key: &str) -> bool {
        self.captures(key).is_some()
    }

    /// Byte ranges captured by each star, or `None` if the key does not match.
    pub(crate) fn captures(&self, key: &str) -> Option<Vec<(usize, usize)>> {
        if self.is_all() {
            // Jolt's `*` records only the whole key (group 0).
            return Some(Vec::new());
        }
        let first = &self.pieces[0];
        let last = &self.pieces[self.pieces.len() - 1];
        if !key.starts_with(first.as_str()) || !key.ends_with(last.as_str()) {
            return None;
        }
        if key.len() < first.len() + last.len() {
            return None;
        }
        let end = key.len() - last.len();
        let mut caps = Vec::with_capacity(self.star_count());
        if self.match_from(key, first.len(), end, 1, &mut caps) {
            Some(caps)
        } else {
            None
        }
    }

    /// Matches stars `piece_index-1 ..` against `key[pos..end]`, where `pieces[piece_index]` is
    /// the literal following the current star.
    fn match_from(
        &self,
        key: &str,
        pos: usize,
        end: usize,
        piece_index: usize,
        caps: &mut Vec<(usize, usize)>,
    ) -> bool {
        let is_last_star = piece_index == self.pieces.len() - 1;
        if is_last_star {
            // The final star takes everything up to the suffix, at least one char.
            if end > pos && key.is_char_boundary(end) {
                caps.push((pos, end));
                return true;
            }
            return false;
        }
        let next = &self.pieces[piece_index];
        // The star takes at least one character, reluctantly.
        let mut star_end = pos;
        for (offset, c) in key[pos..end].char_indices() {
            let _ = offset;
            star_end += c.len_utf8();
            if star_end > end {
                break;
            }
            if key[star_end..end].starts_with(next.as_str()) {
                caps.push((pos, star_end));
                if self.match_from(key, star_end + next.len(), end, piece_index + 1, caps) {
                    return true;
                }
                caps.pop();
            }
        }
        false
    }
}

/// A key with `&` references mixed with literal text, e.g. `&1-&(0,1)`.
#[derive(Debug, Clone)]
pub(crate) struct AmpTemplate {
    tokens: Vec<AmpToken>,
    pub canonical: String,
}

#[derive(Debug, Clone)]
enum AmpToken {
    Literal(String),
    Ref(Reference),
}

impl AmpTemplate {
    pub(crate) fn parse(key: &str) -> Result<AmpTemplate, String> {
        let chars: Vec<char> = key.chars().collect();
        let mut tokens = Vec::new();
        let mut canonical = String::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '&' {
                literal.push(chars[i]);
                i += 1;
                continue;
            }
            if !literal.is_empty() {
                canonical.push_str(&literal);
                tokens.push(AmpToken::Literal(std::mem::take(&mut literal)));
            }
            let (text, next): (String, usize) = match chars.get(i + 1) {
                Some('(') => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ')')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("`&(` without a closing `)` in `{key}`"))?;
                    (chars[i..=close].iter().collect(), close + 1)
                }
                Some(c) if c.is_ascii_digit() => {
                    let mut j = i + 1;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    (chars[i..j].iter().collect(), j)
                }
                _ => ("&".to_string(), i + 1),
            };
            let r = Reference::parse(&text, '&')?;
            canonical.push_str(&r.canonical('&'));
            tokens.push(AmpToken::Ref(r));
            i = next;
        }
        if !literal.is_empty() {
            canonical.push_str(&literal);
            tokens.push(AmpToken::Literal(literal));
        }
        Ok(AmpTemplate { tokens, canonical })
    }

    pub(crate) fn evaluate<'w, 'v>(&self, walk: &'w impl Walk<'v>) -> Result<Cow<'w, str>, String> {
        // The common `&1` form borrows the matched key instead of building a string.
        if let [AmpToken::Ref(r)] = self.tokens.as_slice() {
            return walk.group_of(r, '&');
        }
        let mut out = String::new();
        for t in &self.tokens {
            match t {
                AmpToken::Literal(s) => out.push_str(s),
                AmpToken::Ref(r) => out.push_str(&walk.group_of(r, '&')?),
            }
        }
        Ok(Cow::Owned(out))
    }
}

/// `@`, `@2`, `@(2,a.b)`, `@a`: read a value from the walked input.
#[derive(Debug, Clone)]
pub(crate) struct Transpose {
    pub up: usize,
    path: Option<Vec<PathSeg>>,
    pub canonical: String,
}

impl Transpose {
    pub(crate) fn parse(key: &str) -> Result<Transpose, String> {
        if key.chars().count() < 2 {
            return Err(format!("`@` key `{key}` is too short"));
        }
        let mut meat = key
            .strip_prefix('@')
            .ok_or_else(|| format!("transpose key `{key}` must start with `@`"))?;
        if meat.contains('@') {
            return Err(format!("`{key}`: an @ path cannot contain a nested @"));
        }
        if meat.contains('*') || meat.contains("[]") {
            return Err(format!("`{key}`: an @ path cannot contain `*` or `[]`"));
        }
        if meat.starts_with('(') {
            meat = meat
                .strip_prefix('(')
                .and_then(|m| m.strip_suffix(')'))
                .ok_or_else(|| format!("`{key}`: `@(` must have a matching `)`"))?;
        }
        let (up, sub) = if meat.starts_with(|c: char| c.is_ascii_digit()) {
            match meat.split_once(',') {
                Some((n, rest)) => (n, Some(rest)),
                None => (meat, None),
            }
        } else {
            ("0", Some(meat))
        };
        let up: usize = if up.bytes().all(|b| b.is_ascii_digit()) {
            up.parse()
                .map_err(|_| format!("`{key}`: bad level number `{up}`"))?
        } else {
            return Err(format!("`{key}`: @ path element with a non-numeric level"));
        };
        let path = match sub {
            Some(s) if !s.is_empty() => Some(parse_dot_path(s)?),
            _ => None,
        };
        let canonical = match &path {
            Some(p) => format!("@({up},{})", canonical_path(p)),
            None => format!("@({up},)"),
        };
        Ok(Transpose {
            up,
            path,
            canonical,
        })
    }

    /// Reads the value; `Ok(None)` when it is absent.
    pub(crate) fn read<'v>(&self, walk: &impl Walk<'v>) -> Result<Option<&'v Value>, String> {
        let idx = walk.level_index(self.up)?;
        let start = walk.tree_at(idx);
        let Some(path) = &self.path else {
            return Ok(Some(start.unwrap_or(&NULL)));
        };
        let mut cur = match start {
            Some(v) => v,
            None => return Ok(None),
        };
        for seg in path {
            let Some(step) = seg.evaluate(walk)? else {
                return Ok(None);
            };
            let next = match (&step, cur) {
                (Resolved::Key(k), Value::Object(map)) => map.get(k.as_ref()),
                (Resolved::Index(i), Value::Array(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// The value as an output key: strings as they are, numbers as their int value, booleans
    /// as text; anything else aborts the write.
    pub(crate) fn evaluate_key<'v>(&self, walk: &impl Walk<'v>) -> Result<Option<String>, String> {
        Ok(self.read(walk)?.and_then(value_as_key))
    }
}

pub(crate) static NULL: Value = Value::Null;

fn value_as_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(java::JNum::of(n).int_value().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `[]`, `[3]`, `[&1]`, `[#2]`, `[@(1,idx)]`.
#[derive(Debug, Clone)]
pub(crate) enum ArrayPath {
    AutoExpand,
    Index(usize),
    Ref(Reference),
    Hash(usize),
    Transpose(Box<Transpose>),
}

impl ArrayPath {
    pub(crate) fn parse(key: &str) -> Result<ArrayPath, String> {
        let meat = key
            .strip_prefix('[')
            .and_then(|k| k.strip_suffix(']'))
            .ok_or_else(|| format!("invalid array key `{key}`"))?;
        if meat.is_empty() {
            return Ok(ArrayPath::AutoExpand);
        }
        if meat.starts_with('&') {
            return Ok(ArrayPath::Ref(Reference::parse(meat, '&')?));
        }
        if meat.starts_with('#') {
            return Ok(ArrayPath::Hash(Reference::parse(meat, '#')?.level));
        }
        if meat.starts_with('@') {
            return Ok(ArrayPath::Transpose(Box::new(Transpose::parse(meat)?)));
        }
        match java::parse_int(meat) {
            Some(i) if i >= 0 => Ok(ArrayPath::Index(i as usize)),
            _ => Err(format!("bad explicit array index `{meat}` in `{key}`")),
        }
    }

    fn canonical(&self) -> String {
        match self {
            ArrayPath::AutoExpand => "[]".into(),
            ArrayPath::Index(i) => format!("[{i}]"),
            ArrayPath::Ref(r) => format!("[{}]", r.canonical('&')),
            ArrayPath::Hash(l) => format!("[#({l})]"),
            ArrayPath::Transpose(t) => format!("[{}]", t.canonical),
        }
    }
}

/// A left-hand-side key, classified the way Jolt's `PathElementBuilder.parseSingleKeyLHS` does.
#[derive(Debug, Clone)]
pub(crate) enum LhsKey {
    Literal(String),
    Star(StarPattern),
    Amp(AmpTemplate),
    Array(ArrayPath),
    At,
    Dollar(Reference),
    Hash(String),
    Transpose(Transpose),
}

impl LhsKey {
    pub(crate) fn parse(orig: &str) -> Result<LhsKey, String> {
        let (inspect, element) = if orig.contains('\\') {
            (remove_escaped_values(orig), remove_escape_chars(orig))
        } else {
            (orig.to_string(), orig.to_string())
        };
        if inspect == "@" {
            return Ok(LhsKey::At);
        }
        if inspect == "*" {
            return Ok(LhsKey::Star(StarPattern::new("*")));
        }
        if inspect.starts_with('[') {
            if inspect.matches('[').count() != 1 || inspect.matches(']').count() != 1 {
                return Err(format!("key `{orig}` has too many [] references"));
            }
            return Ok(LhsKey::Array(ArrayPath::parse(&element)?));
        }
        if inspect.starts_with('@') || inspect.contains("@(") {
            return Ok(LhsKey::Transpose(Transpose::parse(orig)?));
        }
        if inspect.contains('@') {
            return Err(format!(
                "key `{orig}` can not have an @ other than at the front"
            ));
        }
        if inspect.contains('$') {
            return Ok(LhsKey::Dollar(Reference::parse(&element, '$')?));
        }
        if inspect.contains('[') {
            if inspect.matches('[').count() != 1 || inspect.matches(']').count() != 1 {
                return Err(format!("key `{orig}` has too many [] references"));
            }
            return Ok(LhsKey::Array(ArrayPath::parse(&element)?));
        }
        if inspect.contains('&') {
            if inspect.contains('*') {
                return Err(format!("key `{orig}` cannot mix `*` with `&`"));
            }
            return Ok(LhsKey::Amp(AmpTemplate::parse(&element)?));
        }
        if inspect.contains('*') {
            return Ok(LhsKey::Star(StarPattern::new(&element)));
        }
        if inspect.contains('#') {
            return Ok(LhsKey::Hash(parse_hash_literal(&element)?));
        }
        Ok(LhsKey::Literal(element))
    }

    /// Jolt's canonical form, used to reject duplicate keys and order computed keys.
    pub(crate) fn canonical(&self) -> String {
        match self {
            LhsKey::Literal(s) => s.clone(),
            LhsKey::Star(p) => p.canonical.clone(),
            LhsKey::Amp(a) => a.canonical.clone(),
            LhsKey::Array(a) => a.canonical(),
            LhsKey::At => "@".into(),
            LhsKey::Dollar(r) => r.canonical('$'),
            LhsKey::Hash(s) => format!("#{s}"),
            LhsKey::Transpose(t) => t.canonical.clone(),
        }
    }
}

fn parse_hash_literal(key: &str) -> Result<String, String> {
    let rest = key
        .strip_prefix('#')
        .ok_or_else(|| format!("`#` key `{key}` must start with `#`"))?;
    if rest.is_empty() {
        return Err(format!("`#` key `{key}` is too short"));
    }
    if let Some(inner) = rest.strip_prefix('(') {
        return inner
            .strip_suffix(')')
            .map(str::to_string)
            .ok_or_else(|| format!("`#` key `{key}` has mismatched parens"));
    }
    Ok(rest.to_string())
}

/// "\@pants" -> "pants": drops escaped characters, to classify a key by its unescaped specials.
fn remove_escaped_values(key: &str) -> String {
    let mut out = String::new();
    let mut prev_escape = false;
    for c in key.chars() {
        if c == '\\' {
            prev_escape = !prev_escape;
        } else {
            if !prev_escape {
                out.push(c);
            }
            prev_escape = false;
        }
    }
    out
}

/// "\@pants" -> "@pants": removes the escape characters themselves.
fn remove_escape_chars(key: &str) -> String {
    let mut out = String::new();
    let mut prev_escape = false;
    for c in key.chars() {
        if c == '\\' {
            if prev_escape {
                out.push(c);
                prev_escape = false;
            } else {
                prev_escape = true;
            }
        } else {
            out.push(c);
            prev_escape = false;
        }
    }
    out
}

/// How one output path segment walks the output tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegKind {
    Map,
    Array,
    AutoExpand,
}

#[derive(Debug, Clone)]
pub(crate) enum SegEval {
    Literal(String),
    Amp(AmpTemplate),
    Transpose(Box<Transpose>),
    Array(ArrayPath),
}

/// One segment of a dot path (`a`, `&1`, `@(1,id)`, `[&2]`, `[]`).
#[derive(Debug, Clone)]
pub(crate) struct PathSeg {
    pub kind: SegKind,
    pub eval: SegEval,
}

/// A segment evaluated against the walked path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved<'a> {
    Key(Cow<'a, str>),
    Index(usize),
    Append,
}

impl PathSeg {
    /// `Ok(None)` aborts the whole path (a reference did not resolve to a usable key).
    pub(crate) fn evaluate<'s, 'v>(
        &'s self,
        walk: &impl Walk<'v>,
    ) -> Result<Option<Resolved<'s>>, String> {
        Ok(match &self.eval {
            SegEval::Literal(s) => Some(Resolved::Key(Cow::Borrowed(s))),
            SegEval::Amp(a) => Some(Resolved::Key(Cow::Owned(a.evaluate(walk)?.into_owned()))),
            SegEval::Transpose(t) => t.evaluate_key(walk)?.map(|k| Resolved::Key(Cow::Owned(k))),
            SegEval::Array(ap) => match ap {
                ArrayPath::AutoExpand => Some(Resolved::Append),
                ArrayPath::Index(i) => Some(Resolved::Index(*i)),
                ArrayPath::Ref(r) => non_negative(&walk.group_of(r, '&')?),
                ArrayPath::Hash(level) => {
                    let idx = walk.level_index(*level)?;
                    Some(Resolved::Index(walk.matched_at(idx).hash_count))
                }
                ArrayPath::Transpose(t) => match t.evaluate_key(walk)? {
                    Some(k) => non_negative(&k),
                    None => None,
                },
            },
        })
    }

    fn canonical(&self) -> String {
        match &self.eval {
            SegEval::Literal(s) => s.clone(),
            SegEval::Amp(a) => a.canonical.clone(),
            SegEval::Transpose(t) => t.canonical.clone(),
            SegEval::Array(a) => a.canonical(),
        }
    }
}

fn non_negative<'a>(text: &str) -> Option<Resolved<'a>> {
    match java::parse_int(text) {
        Some(i) if i >= 0 => Some(Resolved::Index(i as usize)),
        _ => None,
    }
}

fn canonical_path(segs: &[PathSeg]) -> String {
    segs.iter()
        .map(PathSeg::canonical)
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses a right-hand-side dot path such as `data.@(2,id).&1[#2].name`.
pub(crate) fn parse_dot_path(dot: &str) -> Result<Vec<PathSeg>, String> {
    if (dot.contains('*') && !dot.contains("\\*")) || (dot.contains('$') && !dot.contains("\\$")) {
        return Err(format!("output path `{dot}` can not contain `*` or `$`"));
    }
    let fixed = fix_leading_bracket_sugar(dot);
    let mut pieces = Vec::new();
    split_dot_notation(&fixed, dot, &mut pieces)?;
    let mut segs = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let key = LhsKey::parse(&piece).map_err(|e| format!("in output path `{dot}`: {e}"))?;
        let seg = match key {
            LhsKey::Literal(s) => PathSeg {
                kind: SegKind::Map,
                eval: SegEval::Literal(s),
            },
            LhsKey::Amp(a) => PathSeg {
                kind: SegKind::Map,
                eval: SegEval::Amp(a),
            },
            LhsKey::Transpose(t) => PathSeg {
                kind: SegKind::Map,
                eval: SegEval::Transpose(Box::new(t)),
            },
            LhsKey::Array(ArrayPath::AutoExpand) => PathSeg {
                kind: SegKind::AutoExpand,
                eval: SegEval::Array(ArrayPath::AutoExpand),
            },
            LhsKey::Array(a) => PathSeg {
                kind: SegKind::Array,
                eval: SegEval::Array(a),
            },
            LhsKey::At => return Err(format!("`.@.` is not valid in output path `{dot}`")),
            other => {
                return Err(format!(
                    "`{}` is not valid in output path `{dot}`",
                    other.canonical()
                ));
            }
        };
        segs.push(seg);
    }
    Ok(segs)
}

/// "data[2]" -> "data.[2]", so that every segment is split on dots.
fn fix_leading_bracket_sugar(dot: &str) -> String {
    let mut out = String::with_capacity(dot.len() + 4);
    let mut prev: Option<char> = None;
    for c in dot.chars() {
        if c == '['
            && let Some(p) = prev
            && p != '\\'
            && p != '@'
            && p != '.'
        {
            out.push('.');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// Jolt's `SpecStringParser.parseDotNotation`: splits on unescaped dots, keeps `@(...)` whole.
fn split_dot_notation(text: &str, orig: &str, out: &mut Vec<String>) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut sb = String::new();
    let mut prev_escape = false;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        let cur_escape = c == '\\' && !prev_escape;
        if prev_escape && c != '.' && c != '\\' {
            sb.push('\\');
            sb.push(c);
        } else if c == '@' {
            sb.push('@');
            let (at, next) = parse_at_element(&chars, i, orig)?;
            sb.push_str(&at);
            i = next;
            let part_of_array = sb.contains('[') && !sb.contains(']');
            if !part_of_array {
                out.push(std::mem::take(&mut sb));
            }
        } else if c == '.' {
            if prev_escape {
                sb.push('.');
            } else if !sb.is_empty() {
                out.push(std::mem::take(&mut sb));
            }
        } else if !cur_escape {
            sb.push(c);
        }
        prev_escape = cur_escape;
    }
    if !sb.is_empty() {
        out.push(sb);
    }
    Ok(())
}

/// After an `@`: `(a.b)` up to the matching paren, or a bare name up to the next dot.
fn parse_at_element(chars: &[char], start: usize, orig: &str) -> Result<(String, usize), String> {
    let mut i = start;
    if i >= chars.len() {
        return Ok((String::new(), i));
    }
    let mut sb = String::new();
    let first = chars[i];
    i += 1;
    let parens = first == '(';
    let mut depth = usize::from(parens);
    if first == '.' {
        return Err(format!("invalid @ element in `{orig}`"));
    }
    sb.push(first);
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        sb.push(c);
        if parens {
            if c == '(' {
                return Err(format!("too many open parens in `{orig}`"));
            } else if c == ')' {
                depth -= 1;
            }
            if depth == 0 {
                return Ok((sb, i));
            }
        } else if c == '.' {
            sb.pop();
            return Ok((format!("({sb})"), i));
        }
    }
    if parens && depth != 0 {
        return Err(format!("invalid @() element in `{orig}`"));
    }
    Ok((sb, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_reluctantly_with_at_least_one_char() {
        let p = StarPattern::new("tag-*-*");
        let caps = p.captures("tag-a-b-c").unwrap();
        assert_eq!(caps.len(), 2);
        assert_eq!(&"tag-a-b-c"[caps[0].0..caps[0].1], "a");
        assert_eq!(&"tag-a-b-c"[caps[1].0..caps[1].1], "b-c");
        assert!(StarPattern::new("tag-*").captures("tag-").is_none());
        assert!(StarPattern::new("*").captures("").is_some());
    }

    #[test]
    fn dot_paths_split_on_unescaped_dots_and_keep_at_groups() {
        let segs = parse_dot_path("data.@(2,a.b).x[&1]").unwrap();
        assert_eq!(segs.len(), 4);
        assert!(matches!(segs[1].eval, SegEval::Transpose(_)));
        assert_eq!(segs[3].kind, SegKind::Array);
        let escaped = parse_dot_path("a\\.b").unwrap();
        assert_eq!(escaped.len(), 1);
        assert!(parse_dot_path("a.*").is_err());
    }
}
