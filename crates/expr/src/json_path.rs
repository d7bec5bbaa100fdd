//! The subset of Jayway JsonPath that NiFi's `jsonPath*` functions are used with: `$`, `.name`,
//! `['name']`, `[n]`, `[a,b]`, `[start:end]`, `[*]`, `.*`, `..name` (deep scan) and filters
//! `[?(@.field <op> literal)]` / `[?(@.field)]`. Reading follows NiFi: a one-element list is
//! unwrapped, a missing definite path is the empty string.
//!
//! Public as [`JsonPath`] because Integrator's other path settings (`token_path`,
//! `custom_response_path`) are Jayway paths too, which RFC 9535 parsers refuse
//! (`$.data.access-token`: a `-` in a dot-notation name).

use serde_json::Value as Json;

/// A compiled JSONPath with Jayway JsonPath's syntax and reading rules (the dialect NiFi and
/// Akinon Integrator use), for `serde_json` documents.
///
/// Supported: `$` (optional: `data.token` reads as `$.data.token`), `.name` (any characters up
/// to the next `.`, `[`, space or operator, so `$.data.access-token` works), `['name']` /
/// `["name"]`, `['a','b']`, `[n]` (negative counts from the end), `[a,b]`, `[start:end]`,
/// `[*]`, `.*`, `..name` / `..[...]` (deep scan) and filters `[?(@.field)]` and
/// `[?(@.field <op> literal)]` with `==`, `!=`, `<`, `<=`, `>`, `>=` against a number, a
/// quoted string, `true`, `false` or `null`.
///
/// ```
/// use omnibridge_expr::JsonPath;
/// use serde_json::json;
///
/// let body = json!({"data": {"access-token": "abc", "items": [{"id": 1}, {"id": 2}]}});
/// let token = JsonPath::parse("$.data.access-token").unwrap();
/// assert_eq!(token.find(&body), Some(&json!("abc")));
/// let ids = JsonPath::parse("$..id").unwrap();
/// assert_eq!(ids.select(&body), vec![&json!(1), &json!(2)]);
/// assert_eq!(ids.read(&body), Some(json!([1, 2])));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

/// A path [`JsonPath::parse`] refuses: what was given and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON path '{path}': {message}")]
pub struct JsonPathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Keys(Vec<String>),
    Index(i64),
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>),
    Wildcard,
    Deep(Box<Segment>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Segment>,
    op: Option<(Op, Json)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses a Jayway path; an invalid one (such as `$..` or `$.a[`) is an error.
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        JsonPath::compile(path).map_err(|message| JsonPathError {
            path: path.to_string(),
            message,
        })
    }

    fn compile(path: &str) -> Result<JsonPath, String> {
        let path = path.trim();
        let chars: Vec<char> = path.chars().collect();
        let mut index = 0;
        if chars.first() == Some(&'$') {
            index = 1;
        } else if !path.is_empty() && chars[0] != '.' && chars[0] != '[' {
            // Jayway reads a bare `name.x` as `$.name.x`.
            return JsonPath::compile(&format!("$.{path}"));
        }
        let segments = parse_segments(&chars, &mut index, false)?;
        if index != chars.len() {
            return Err(format!("unexpected character at {index} in path '{path}'"));
        }
        Ok(JsonPath { segments })
    }

    /// Whether the path names at most one location (no wildcard, filter, slice, deep scan or
    /// list of names or indexes): Jayway's "definite" path, which [`JsonPath::read`] answers
    /// with the value itself rather than a list.
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| matches!(segment, Segment::Key(_) | Segment::Index(_)))
    }

    fn locations(&self, document: &Json) -> Vec<Vec<Step>> {
        let mut current: Vec<Vec<Step>> = vec![Vec::new()];
        for segment in &self.segments {
            let mut next = Vec::new();
            for location in &current {
                if let Some(value) = resolve(document, location) {
                    expand(segment, value, location, &mut next);
                }
            }
            current = next;
        }
        current
    }

    /// Every value the path matches, in document order (Jayway's order for deep scans and
    /// filters); empty when nothing matches.
    pub fn select<'v>(&self, document: &'v Json) -> Vec<&'v Json> {
        self.locations(document)
            .iter()
            .filter_map(|location| resolve(document, location))
            .collect()
    }

    /// The first value the path matches: for a definite path (`$.data.token`) the value
    /// Jayway's `JsonPath.read` returns, for an indefinite one (`$..token`) the first element
    /// of the list it returns. `None` when nothing matches (where `read` of a definite path
    /// throws `PathNotFoundException`).
    pub fn find<'v>(&self, document: &'v Json) -> Option<&'v Json> {
        self.locations(document)
            .iter()
            .find_map(|location| resolve(document, location))
    }

    /// Jayway's `JsonPath.read`: a definite path gives the value (`None` when it does not
    /// exist, where Jayway throws), an indefinite one the array of every match (empty when
    /// nothing matches).
    pub fn read(&self, document: &Json) -> Option<Json> {
        if self.is_definite() {
            return self.find(document).cloned();
        }
        Some(Json::Array(
            self.select(document).into_iter().cloned().collect(),
        ))
    }

    /// `jsonPathDelete`.
    pub(crate) fn delete(&self, document: &mut Json) {
        let mut locations = self.locations(document);
        // Remove later array elements first so earlier indexes stay valid.
        locations.reverse();
        for location in locations {
            let Some((last, parent)) = location.split_last() else {
                continue;
            };
            match (resolve_mut(document, parent), last) {
                (Some(Json::Object(map)), Step::Key(key)) => {
                    map.shift_remove(key);
                }
                (Some(Json::Array(items)), Step::Index(index)) if *index < items.len() => {
                    items.remove(*index);
                }
                _ => {}
            }
        }
    }

    /// `jsonPathSet`: replaces existing values.
    pub(crate) fn set(&self, document: &mut Json, value: &Json) {
        for location in self.locations(document) {
            if let Some(target) = resolve_mut(document, &location) {
                *target = value.clone();
            }
        }
    }

    /// `jsonPathAdd`: appends to arrays; an error when a matched value is not an array.
    pub(crate) fn add(&self, document: &mut Json, value: &Json) -> Result<(), String> {
        for location in self.locations(document) {
            match resolve_mut(document, &location) {
                Some(Json::Array(items)) => items.push(value.clone()),
                Some(_) => return Err("can only add to an array".to_string()),
                None => {}
            }
        }
        Ok(())
    }

    /// `jsonPathPut`: sets `key` in matched objects; an error when a match is not an object.
    pub(crate) fn put(&self, document: &mut Json, key: &str, value: &Json) -> Result<(), String> {
        for location in self.locations(document) {
            match resolve_mut(document, &location) {
                Some(Json::Object(map)) => {
                    map.insert(key.to_string(), value.clone());
                }
                Some(_) => return Err("can only put a key into an object".to_string()),
                None => {}
            }
        }
        Ok(())
    }
}

fn resolve<'a>(document: &'a Json, location: &[Step]) -> Option<&'a Json> {
    let mut current = document;
    for step in location {
        current = match (current, step) {
            (Json::Object(map), Step::Key(key)) => map.get(key)?,
            (Json::Array(items), Step::Index(index)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

fn resolve_mut<'a>(document: &'a mut Json, location: &[Step]) -> Option<&'a mut Json> {
    let mut current = document;
    for step in location {
        current = match (current, step) {
            (Json::Object(map), Step::Key(key)) => map.get_mut(key)?,
            (Json::Array(items), Step::Index(index)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

fn child(location: &[Step], step: Step) -> Vec<Step> {
    let mut next = location.to_vec();
    next.push(step);
    next
}

fn normalize_index(index: i64, length: usize) -> Option<usize> {
    let resolved = if index < 0 {
        length as i64 + index
    } else {
        index
    };
    (0..length as i64)
        .contains(&resolved)
        .then_some(resolved as usize)
}

fn expand(segment: &Segment, value: &Json, location: &[Step], out: &mut Vec<Vec<Step>>) {
    match segment {
        Segment::Key(key) => {
            if let Json::Object(map) = value
                && map.contains_key(key)
            {
                out.push(child(location, Step::Key(key.clone())));
            }
        }
        Segment::Keys(keys) => {
            for key in keys {
                expand(&Segment::Key(key.clone()), value, location, out);
            }
        }
        Segment::Index(index) => {
            if let Json::Array(items) = value
                && let Some(index) = normalize_index(*index, items.len())
            {
                out.push(child(location, Step::Index(index)));
            }
        }
        Segment::Indexes(indexes) => {
            for index in indexes {
                expand(&Segment::Index(*index), value, location, out);
            }
        }
        Segment::Slice(start, end) => {
            if let Json::Array(items) = value {
                let length = items.len() as i64;
                let clamp = |bound: i64| {
                    if bound < 0 {
                        (length + bound).max(0)
                    } else {
                        bound.min(length)
                    }
                };
                let from = start.map_or(0, clamp);
                let to = end.map_or(length, clamp);
                for index in from..to {
                    out.push(child(location, Step::Index(index as usize)));
                }
            }
        }
        Segment::Wildcard => match value {
            Json::Object(map) => {
                for key in map.keys() {
                    out.push(child(location, Step::Key(key.clone())));
                }
            }
            Json::Array(items) => {
                for index in 0..items.len() {
                    out.push(child(location, Step::Index(index)));
                }
            }
            _ => {}
        },
        Segment::Deep(inner) => {
            expand(inner, value, location, out);
            match value {
                Json::Object(map) => {
                    for (key, nested) in map {
                        expand(
                            segment,
                            nested,
                            &child(location, Step::Key(key.clone())),
                            out,
                        );
                    }
                }
                Json::Array(items) => {
                    for (index, nested) in items.iter().enumerate() {
                        expand(segment, nested, &child(location, Step::Index(index)), out);
                    }
                }
                _ => {}
            }
        }
        Segment::Filter(filter) => match value {
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if filter_matches(filter, item) {
                        out.push(child(location, Step::Index(index)));
                    }
                }
            }
            Json::Object(_) if filter_matches(filter, value) => out.push(location.to_vec()),
            _ => {}
        },
    }
}

fn filter_matches(filter: &Filter, item: &Json) -> bool {
    let path = JsonPath {
        segments: filter.path.clone(),
    };
    let locations = path.locations(item);
    let Some(found) = locations
        .first()
        .and_then(|location| resolve(item, location))
    else {
        return false;
    };
    let Some((op, literal)) = &filter.op else {
        return true;
    };
    let ordering = match (found, literal) {
        (Json::Number(a), Json::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Json::String(a), Json::String(b)) => Some(a.cmp(b)),
        (a, b) => {
            if a == b {
                Some(std::cmp::Ordering::Equal)
            } else {
                None
            }
        }
    };
    match op {
        Op::Eq => ordering == Some(std::cmp::Ordering::Equal),
        Op::Ne => ordering != Some(std::cmp::Ordering::Equal),
        Op::Lt => ordering == Some(std::cmp::Ordering::Less),
        Op::Le => matches!(
            ordering,
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ),
        Op::Gt => ordering == Some(std::cmp::Ordering::Greater),
        Op::Ge => matches!(
            ordering,
            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
        ),
    }
}

fn read_name(chars: &[char], index: &mut usize) -> String {
    let start = *index;
    while *index < chars.len()
        && !matches!(
            chars[*index],
            '.' | '[' | ' ' | ')' | '=' | '!' | '<' | '>' | '&' | '|'
        )
    {
        *index += 1;
    }
    chars[start..*index].iter().collect()
}

fn read_quoted(chars: &[char], index: &mut usize) -> Result<String, String> {
    let quote = chars[*index];
    *index += 1;
    let mut text = String::new();
    while *index < chars.len() {
        match chars[*index] {
            '\\' if *index + 1 < chars.len() => {
                text.push(chars[*index + 1]);
                *index += 2;
            }
            c if c == quote => {
                *index += 1;
                return Ok(text);
            }
            c => {
                text.push(c);
                *index += 1;
            }
        }
    }
    Err("unterminated quote in path".to_string())
}

fn skip_spaces(chars: &[char], index: &mut usize) {
    while *index < chars.len() && chars[*index] == ' ' {
        *index += 1;
    }
}

fn parse_segments(
    chars: &[char],
    index: &mut usize,
    in_filter: bool,
) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    while *index < chars.len() {
        match chars[*index] {
            '.' => {
                let deep = chars.get(*index + 1) == Some(&'.');
                *index += if deep { 2 } else { 1 };
                let segment = match chars.get(*index) {
                    Some('*') => {
                        *index += 1;
                        Segment::Wildcard
                    }
                    Some('[') => {
                        if !deep {
                            return Err("unexpected '[' after '.'".to_string());
                        }
                        parse_bracket(chars, index)?
                    }
                    _ => {
                        let name = read_name(chars, index);
                        if name.is_empty() {
                            return Err("path may not end with '.'".to_string());
                        }
                        Segment::Key(name)
                    }
                };
                segments.push(if deep {
                    Segment::Deep(Box::new(segment))
                } else {
                    segment
                });
            }
            '[' => segments.push(parse_bracket(chars, index)?),
            _ if in_filter => break,
            c => return Err(format!("unexpected character '{c}' in path")),
        }
    }
    Ok(segments)
}

fn parse_bracket(chars: &[char], index: &mut usize) -> Result<Segment, String> {
    *index += 1;
    skip_spaces(chars, index);
    let segment = match chars.get(*index) {
        Some('\'') | Some('"') => {
            let mut keys = vec![read_quoted(chars, index)?];
            skip_spaces(chars, index);
            while chars.get(*index) == Some(&',') {
                *index += 1;
                skip_spaces(chars, index);
                keys.push(read_quoted(chars, index)?);
                skip_spaces(chars, index);
            }
            if keys.len() == 1 {
                Segment::Key(keys.remove(0))
            } else {
                Segment::Keys(keys)
            }
        }
        Some('*') => {
            *index += 1;
            Segment::Wildcard
        }
        Some('?') => {
            *index += 1;
            if chars.get(*index) != Some(&'(') {
                return Err("expected '(' after '?'".to_string());
            }
            *index += 1;
            skip_spaces(chars, index);
            if chars.get(*index) != Some(&'@') {
                return Err("filter must start with '@'".to_string());
            }
            *index += 1;
            let path = parse_segments(chars, index, true)?;
            skip_spaces(chars, index);
            let op = match (chars.get(*index), chars.get(*index + 1)) {
                (Some('='), Some('=')) => Some(Op::Eq),
                (Some('!'), Some('=')) => Some(Op::Ne),
                (Some('<'), Some('=')) => Some(Op::Le),
                (Some('>'), Some('=')) => Some(Op::Ge),
                (Some('<'), _) => Some(Op::Lt),
                (Some('>'), _) => Some(Op::Gt),
                _ => None,
            };
            let op = match op {
                Some(op) => {
                    *index += if matches!(op, Op::Lt | Op::Gt) { 1 } else { 2 };
                    skip_spaces(chars, index);
                    let literal = match chars.get(*index) {
                        Some('\'') | Some('"') => Json::String(read_quoted(chars, index)?),
                        _ => {
                            let start = *index;
                            while *index < chars.len() && !matches!(chars[*index], ')' | ' ') {
                                *index += 1;
                            }
                            let text: String = chars[start..*index].iter().collect();
                            serde_json::from_str(&text)
                                .map_err(|_| format!("invalid filter literal '{text}'"))?
                        }
                    };
                    Some((op, literal))
                }
                None => None,
            };
            skip_spaces(chars, index);
            if chars.get(*index) != Some(&')') {
                return Err("unsupported filter expression".to_string());
            }
            *index += 1;
            Segment::Filter(Filter { path, op })
        }
        _ => {
            let start = *index;
            while *index < chars.len() && chars[*index] != ']' {
                *index += 1;
            }
            let body: String = chars[start..*index]
                .iter()
                .collect::<String>()
                .replace(' ', "");
            if let Some((from, to)) = body.split_once(':') {
                let parse = |text: &str| -> Result<Option<i64>, String> {
                    if text.is_empty() {
                        Ok(None)
                    } else {
                        text.parse()
                            .map(Some)
                            .map_err(|_| format!("invalid slice '{body}'"))
                    }
                };
                Segment::Slice(parse(from)?, parse(to)?)
            } else {
                let indexes: Result<Vec<i64>, _> = body.split(',').map(str::parse).collect();
                let mut indexes = indexes.map_err(|_| format!("invalid array index '{body}'"))?;
                if indexes.len() == 1 {
                    Segment::Index(indexes.remove(0))
                } else {
                    Segment::Indexes(indexes)
                }
            }
        }
    };
    skip_spaces(chars, index);
    if chars.get(*index) != Some(&']') {
        return Err("expected ']'".to_string());
    }
    *index += 1;
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_deep_scans_read_values() {
        let doc: Json =
            serde_json::from_str(r#"{"a":[{"t":"x","n":1},{"t":"y","n":2}],"b":{"n":3}}"#).unwrap();
        let path = JsonPath::compile("$.a[?(@.t=='y')].n").unwrap();
        assert_eq!(path.read(&doc), Some(serde_json::json!([2])));
        let path = JsonPath::compile("$..n").unwrap();
        assert_eq!(path.read(&doc), Some(serde_json::json!([1, 2, 3])));
        assert!(JsonPath::compile("$..").is_err());
    }
}
