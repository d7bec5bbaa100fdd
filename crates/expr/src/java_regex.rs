//! `java.util.regex` semantics on top of `fancy-regex` (a backtracking engine with lookaround,
//! atomic groups and possessive quantifiers, delegating to the `regex` crate when it can).
//!
//! Translation layer: `\d \w \s` and their negations are ASCII as in Java; POSIX classes
//! `\p{Alpha}`...; `\Q...\E` quoting; `\Z`; and Java's `$`, which also matches before a final
//! line terminator (handled by a second compiled form used only when the subject ends in one).
//! Replacement strings follow `Matcher.appendReplacement`: `$n`, `${name}`, `\x` for a literal x.
//! Known differences: `.` excludes only `\n` (Java also excludes `\r`, U+0085, U+2028, U+2029);
//! `\b` uses Unicode word characters; Unicode blocks (`\p{InGreek}`) and class intersections
//! (`[a-z&&[^b]]`) are not translated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fancy_regex::Regex;

/// A compiled Java regex.
#[derive(Debug)]
pub(crate) struct JavaRegex {
    source: String,
    translated: String,
    has_dollar: bool,
    find: Regex,
    /// Java-exact form where `$` may match before a final line terminator.
    find_line_end: OnceLock<Option<Regex>>,
    full: OnceLock<Option<Regex>>,
}

const LINE_END: &str = r"(?=(?:\r\n|[\n\r\u{85}\u{2028}\u{2029}])?\z)";

fn ends_with_line_terminator(text: &str) -> bool {
    text.ends_with(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
}

/// Compiled regexes shared by every template: compiling is the costly part of `compile`, and
/// flows repeat the same few patterns. Bounded; cleared wholesale when full.
static CACHE: OnceLock<Mutex<HashMap<String, Arc<JavaRegex>>>> = OnceLock::new();
const CACHE_LIMIT: usize = 512;

impl JavaRegex {
    /// A compiled regex for `source`, from the process-wide cache when it was seen before.
    pub(crate) fn cached(source: &str) -> Result<Arc<JavaRegex>, String> {
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Ok(map) = cache.lock()
            && let Some(regex) = map.get(source)
        {
            return Ok(Arc::clone(regex));
        }
        let regex = Arc::new(JavaRegex::new(source)?);
        if let Ok(mut map) = cache.lock() {
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
            map.insert(source.to_string(), Arc::clone(&regex));
        }
        Ok(regex)
    }

    /// Compiles a Java regex; the error text explains why it is invalid.
    pub(crate) fn new(source: &str) -> Result<JavaRegex, String> {
        let (translated, has_dollar) = translate(source, "$");
        let find = Regex::new(&translated).map_err(|e| e.to_string())?;
        Ok(JavaRegex {
            source: source.to_string(),
            translated,
            has_dollar,
            find,
            find_line_end: OnceLock::new(),
            full: OnceLock::new(),
        })
    }

    fn searcher(&self, subject: &str) -> &Regex {
        if self.has_dollar && ends_with_line_terminator(subject) {
            let exact = self.find_line_end.get_or_init(|| {
                let (translated, _) = translate(&self.source, LINE_END);
                Regex::new(&translated).ok()
            });
            if let Some(regex) = exact {
                return regex;
            }
        }
        &self.find
    }

    /// `Matcher.matches()`: the whole subject must match.
    pub(crate) fn matches(&self, subject: &str) -> Result<bool, String> {
        let full = self
            .full
            .get_or_init(|| Regex::new(&format!(r"\A(?:{})\z", self.translated)).ok());
        match full {
            Some(regex) => regex.is_match(subject).map_err(|e| e.to_string()),
            None => Err("regular expression cannot be anchored".to_string()),
        }
    }

    /// `Matcher.find()`: a match anywhere.
    pub(crate) fn find(&self, subject: &str) -> Result<bool, String> {
        self.searcher(subject)
            .is_match(subject)
            .map_err(|e| e.to_string())
    }

    /// `String.replaceAll` / `replaceFirst` with a Java replacement string.
    #[cfg(test)]
    pub(crate) fn replace(
        &self,
        subject: &str,
        replacement: &str,
        all: bool,
    ) -> Result<String, String> {
        let mut out = String::with_capacity(subject.len() + replacement.len());
        self.replace_into(subject, replacement, all, usize::MAX, &mut out)
            .map_err(|error| match error {
                ReplaceError::Regex(message) => message,
                ReplaceError::TooLarge => "too large".to_string(),
            })?;
        Ok(out)
    }

    /// `String.replaceAll` / `replaceFirst`, appending the result to `out`.
    /// `out` may not grow beyond `limit` bytes: the replacement stops with
    /// [`ReplaceError::TooLarge`] before it would, so an expansion is never built first.
    pub(crate) fn replace_into(
        &self,
        subject: &str,
        replacement: &str,
        all: bool,
        limit: usize,
        out: &mut String,
    ) -> Result<(), ReplaceError> {
        let regex = self.searcher(subject);
        if !replacement.contains(['$', '\\']) {
            return replace_literal(regex, subject, replacement, all, limit, out);
        }
        let groups = regex.captures_len().saturating_sub(1);
        let pieces = parse_replacement(replacement, groups).map_err(ReplaceError::Regex)?;
        let mut position = 0;
        let mut copied = 0;
        while position <= subject.len() {
            let Some(captures) = regex
                .captures_from_pos(subject, position)
                .map_err(|e| ReplaceError::Regex(e.to_string()))?
            else {
                break;
            };
            let Some(whole) = captures.get(0) else { break };
            push_limited(out, &subject[copied..whole.start()], limit)?;
            for piece in &pieces {
                match piece {
                    Replacement::Text(text) => push_limited(out, text, limit)?,
                    Replacement::Group(index) => {
                        if let Some(group) = captures.get(*index) {
                            push_limited(out, group.as_str(), limit)?;
                        }
                    }
                    Replacement::Named(name) => {
                        if let Some(group) = captures.name(name) {
                            push_limited(out, group.as_str(), limit)?;
                        }
                    }
                }
            }
            copied = whole.end();
            if !all {
                break;
            }
            if whole.end() == whole.start() {
                match subject[whole.end()..].chars().next() {
                    Some(c) => position = whole.end() + c.len_utf8(),
                    None => break,
                }
            } else {
                position = whole.end();
            }
        }
        push_limited(out, &subject[copied..], limit)
    }
}

/// Why a regex replacement stopped.
#[derive(Debug)]
pub(crate) enum ReplaceError {
    /// The regex engine or the replacement string failed.
    Regex(String),
    /// The result would have outgrown the limit.
    TooLarge,
}

/// Appends `text` unless `out` would then be longer than `limit` bytes.
fn push_limited(out: &mut String, text: &str, limit: usize) -> Result<(), ReplaceError> {
    if out.len().saturating_add(text.len()) > limit {
        return Err(ReplaceError::TooLarge);
    }
    out.push_str(text);
    Ok(())
}

/// Replacement without group references: no captures needed.
fn replace_literal(
    regex: &Regex,
    subject: &str,
    replacement: &str,
    all: bool,
    limit: usize,
    out: &mut String,
) -> Result<(), ReplaceError> {
    let mut position = 0;
    let mut copied = 0;
    while position <= subject.len() {
        let Some(found) = regex
            .find_from_pos(subject, position)
            .map_err(|e| ReplaceError::Regex(e.to_string()))?
        else {
            break;
        };
        push_limited(out, &subject[copied..found.start()], limit)?;
        push_limited(out, replacement, limit)?;
        copied = found.end();
        // At the end of the subject only an empty match can follow, and replacing it with
        // nothing changes nothing: skip that last search.
        if !all || (replacement.is_empty() && copied == subject.len()) {
            break;
        }
        if found.end() == found.start() {
            match subject[found.end()..].chars().next() {
                Some(c) => position = found.end() + c.len_utf8(),
                None => break,
            }
        } else {
            position = found.end();
        }
    }
    push_limited(out, &subject[copied..], limit)
}

enum Replacement {
    Text(String),
    Group(usize),
    Named(String),
}

/// Parses a Java replacement string (`Matcher.appendReplacement` rules).
fn parse_replacement(replacement: &str, groups: usize) -> Result<Vec<Replacement>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let chars: Vec<char> = replacement.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        match chars[index] {
            '\\' => {
                index += 1;
                match chars.get(index) {
                    Some(c) => text.push(*c),
                    None => return Err("character to be escaped is missing".to_string()),
                }
                index += 1;
            }
            '$' => {
                index += 1;
                match chars.get(index) {
                    Some('{') => {
                        let close = chars[index..]
                            .iter()
                            .position(|c| *c == '}')
                            .ok_or("named capturing group is missing trailing '}'")?;
                        let name: String = chars[index + 1..index + close].iter().collect();
                        if !text.is_empty() {
                            pieces.push(Replacement::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(Replacement::Named(name));
                        index += close + 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut number = c.to_digit(10).unwrap_or(0) as usize;
                        if number > groups {
                            return Err(format!("No group {number}"));
                        }
                        index += 1;
                        while let Some(next) = chars.get(index).and_then(|c| c.to_digit(10)) {
                            let candidate = number * 10 + next as usize;
                            if candidate > groups {
                                break;
                            }
                            number = candidate;
                            index += 1;
                        }
                        if !text.is_empty() {
                            pieces.push(Replacement::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(Replacement::Group(number));
                    }
                    _ => return Err("Illegal group reference".to_string()),
                }
            }
            c => {
                text.push(c);
                index += 1;
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Replacement::Text(text));
    }
    Ok(pieces)
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => r"\x00-\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => r##"!-/:-@\[-`{-~"##,
        "Graph" => r##"!-~"##,
        "Print" => r##" -~"##,
        "Blank" => r" \t",
        "Cntrl" => r"\x00-\x1F\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => r" \t\n\x0B\f\r",
        _ => return None,
    })
}

/// Rewrites Java-only syntax into fancy-regex syntax. `dollar` replaces an unescaped `$`
/// outside a character class. Returns the pattern and whether it had such a `$`.
fn translate(source: &str, dollar: &str) -> (String, bool) {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len() + 8);
    let mut in_class = 0usize;
    let mut has_dollar = false;
    let multiline = source.contains("(?m") || source.contains("(?im") || source.contains("(?sm");
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        match c {
            '\\' => {
                let Some(&next) = chars.get(index + 1) else {
                    out.push('\\');
                    index += 1;
                    continue;
                };
                index += 2;
                match next {
                    'd' => out.push_str(if in_class > 0 { "0-9" } else { "[0-9]" }),
                    'w' => out.push_str(if in_class > 0 {
                        "a-zA-Z_0-9"
                    } else {
                        "[a-zA-Z_0-9]"
                    }),
                    's' => out.push_str(if in_class > 0 {
                        r" \t\n\x0B\f\r"
                    } else {
                        r"[ \t\n\x0B\f\r]"
                    }),
                    'D' if in_class == 0 => out.push_str("[^0-9]"),
                    'W' if in_class == 0 => out.push_str("[^a-zA-Z_0-9]"),
                    'S' if in_class == 0 => out.push_str(r"[^ \t\n\x0B\f\r]"),
                    'Z' => out.push_str(LINE_END),
                    'h' => out.push_str(if in_class > 0 {
                        r" \t\xA0\u{1680}\u{180e}\u{2000}-\u{200a}\u{202f}\u{205f}\u{3000}"
                    } else {
                        r"[ \t\xA0\u{1680}\u{180e}\u{2000}-\u{200a}\u{202f}\u{205f}\u{3000}]"
                    }),
                    'Q' => {
                        while index < chars.len() {
                            if chars[index] == '\\' && chars.get(index + 1) == Some(&'E') {
                                index += 2;
                                break;
                            }
                            let mut buffer = [0u8; 4];
                            out.push_str(&regex::escape(chars[index].encode_utf8(&mut buffer)));
                            index += 1;
                        }
                    }
                    'p' | 'P' if chars.get(index) == Some(&'{') => {
                        let close = chars[index..].iter().position(|c| *c == '}');
                        let name: String = match close {
                            Some(close) => chars[index + 1..index + close].iter().collect(),
                            None => String::new(),
                        };
                        let bare = name.strip_prefix("Is").unwrap_or(&name);
                        if let (Some(close), Some(class)) = (close, posix_class(bare)) {
                            index += close + 1;
                            let negated = next == 'P';
                            if in_class > 0 && !negated {
                                out.push_str(class);
                            } else {
                                out.push('[');
                                if negated {
                                    out.push('^');
                                }
                                out.push_str(class);
                                out.push(']');
                            }
                        } else {
                            out.push('\\');
                            out.push(next);
                            if bare != name
                                && let Some(close) = close
                            {
                                out.push('{');
                                out.push_str(bare);
                                out.push('}');
                                index += close + 1;
                            }
                        }
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                in_class += 1;
                out.push('[');
                index += 1;
                if chars.get(index) == Some(&'^') {
                    out.push('^');
                    index += 1;
                }
                // A leading ']' is literal in Java.
                if chars.get(index) == Some(&']') {
                    out.push_str(r"\]");
                    index += 1;
                }
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(']');
                index += 1;
            }
            '~' if in_class > 0 => {
                // `~~` is a class operator in the regex crate, a literal in Java.
                out.push_str(r"\~");
                index += 1;
            }
            '$' if in_class == 0 && !multiline => {
                has_dollar = true;
                out.push_str(dollar);
                index += 1;
            }
            _ => {
                out.push(c);
                index += 1;
            }
        }
    }
    (out, has_dollar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_uses_java_group_syntax() {
        let regex = JavaRegex::new(".*?(l+).*").unwrap();
        assert_eq!(regex.replace("hello", "$1", true).unwrap(), "ll");
        let regex = JavaRegex::new(r"(\.\d*)?Z?$").unwrap();
        assert_eq!(
            regex.replace("2024-01-02T03:04:05.123Z", "", true).unwrap(),
            "2024-01-02T03:04:05"
        );
    }

    #[test]
    fn dollar_matches_before_a_final_newline_like_java() {
        let regex = JavaRegex::new("b$").unwrap();
        assert!(regex.find("ab\n").unwrap());
        assert_eq!(regex.replace("ab\n", "X", true).unwrap(), "aX\n");
    }

    #[test]
    fn character_classes_are_ascii_like_java() {
        let regex = JavaRegex::new(r"\d+").unwrap();
        assert!(!regex.matches("١٢").unwrap());
        assert!(regex.matches("12").unwrap());
    }
}
