//! Splitting a property value into literal text and `${...}` expression ranges, with NiFi's
//! `$$` escaping.
//!
//! A whole property value goes through [`prepare`], a port of NiFi 1.28's `Query.prepare`
//! (`extractExpressionRanges`, `unescapeLeadingDollarSigns`, `unescapeTrailingDollarSigns`),
//! quirks included, because users paste Integrator templates whose output must not change:
//!
//! * With at least one expression, each literal piece between expressions has every `$$`
//!   before its first `{` collapsed to `$` (`a $$5 ${x}` renders `a $5 ...`, while `$$` after
//!   a `{` in the same piece stays); a piece followed by a plain attribute reference
//!   (`${name}`) then also loses half of its trailing `$` run, unless it is nothing but `$`s.
//! * With no expression, only `$$...${...}` runs (an even number of `$` before a complete
//!   `{...}`) un-escape, and the pieces around them are treated as above; text without such a
//!   run is returned unchanged (`You owe me $$5 too`).
//! * The scanner counts `$` runs that `{`, `}` and `\` do not interrupt, and skips quoted
//!   strings only inside an expression; an unclosed `${` is plain text.
//!
//! Quoted strings inside an expression that contain `${...}` use [`scan`], which collapses
//! pairs of `$` before a complete `{...}` (what the conformance vectors show for them).

/// One piece of a scanned template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text, already un-escaped.
    Text(String),
    /// An expression: byte range of `${ ... }` (inclusive of both braces) in the template.
    Expression { start: usize, end: usize },
}

/// Scans `text` into pieces (`Query.extractExpressionRanges` plus the dollar un-escaping).
pub(crate) fn scan(text: &str) -> Vec<Piece> {
    let bytes = text.as_bytes();
    let ranges = expression_ranges(bytes);
    let mut pieces = Vec::new();
    let mut last = 0;
    for (start, end) in ranges {
        if start > last {
            push_text(&mut pieces, unescape_dollars(&text[last..start], true));
        }
        pieces.push(Piece::Expression { start, end });
        last = end + 1;
    }
    if last < text.len() {
        push_text(&mut pieces, unescape_dollars(&text[last..], false));
    }
    pieces
}

fn push_text(pieces: &mut Vec<Piece>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(Piece::Text(previous)) = pieces.last_mut() {
        previous.push_str(&text);
    } else {
        pieces.push(Piece::Text(text));
    }
}

/// NiFi's `Query.prepare` split of a whole property value: literal pieces (with
/// `unescapeLeadingDollarSigns` applied) and expression ranges. The caller applies
/// [`unescape_trailing_dollars`] to a literal piece that precedes a plain attribute reference,
/// which only the compiled expression can tell.
pub(crate) fn prepare(text: &str) -> Vec<Piece> {
    let ranges = nifi_ranges(text, false);
    let mut pieces = Vec::new();
    if ranges.is_empty() {
        let escaped = nifi_ranges(text, true);
        if escaped.is_empty() {
            push_text(&mut pieces, text.to_string());
            return pieces;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for &(start, end) in &escaped {
            if start > last {
                out.push_str(&unescape_leading_dollars(&text[last..start]));
            }
            out.push_str(&unescape_leading_dollars(&text[start..=end]));
            last = end + 1;
        }
        if last < text.len() {
            out.push_str(&unescape_leading_dollars(&text[last..]));
        }
        push_text(&mut pieces, out);
        return pieces;
    }
    let mut last = 0;
    for (start, end) in ranges {
        if start > last {
            pieces.push(Piece::Text(unescape_leading_dollars(&text[last..start])));
        }
        pieces.push(Piece::Expression { start, end });
        last = end + 1;
    }
    if last < text.len() {
        pieces.push(Piece::Text(unescape_leading_dollars(&text[last..])));
    }
    pieces
}

/// `Query.extractExpressionRanges(value, escapes)`, statement for statement: with `escapes`
/// false the `${...}` expressions (odd `$` run before `{`), with `escapes` true the escaped
/// `$$${...}` sequences (even run, the range starting at the run). Byte offsets: every
/// character the scanner looks at is ASCII.
fn nifi_ranges(text: &str, escapes: bool) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut last_char = 0u8;
    let mut embedded = 0usize;
    let mut start: Option<usize> = None;
    let mut dollars = 0usize;
    let mut backslashes = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        let c = bytes[index];
        if start.is_some()
            && (c == b'\'' || c == b'"')
            && (last_char != b'\\' || backslashes.is_multiple_of(2))
        {
            // NiFi leaves `last_char` and the counters as they were before the string.
            match nifi_end_quote(bytes, index) {
                Some(end) => {
                    index = end + 1;
                    continue;
                }
                None => break,
            }
        }
        match c {
            b'{' => {
                if dollars.is_multiple_of(2) == escapes && last_char == b'$' && embedded == 0 {
                    let mut begin = if escapes {
                        index.saturating_sub(dollars)
                    } else {
                        index - 1
                    };
                    // The `$` count survives quoted strings, so in contrived input the start
                    // can fall inside a multi-byte character (NiFi counts UTF-16 units).
                    while !text.is_char_boundary(begin) {
                        begin += 1;
                    }
                    start = Some(begin);
                }
                if start.is_some() {
                    embedded += 1;
                }
            }
            b'}' => {
                if embedded == 0 {
                    // NiFi `continue`s here: a stray `}` does not even become `last_char`.
                    index += 1;
                    continue;
                }
                embedded -= 1;
                if embedded == 0
                    && let Some(begin) = start.take()
                {
                    ranges.push((begin, index));
                }
            }
            b'$' => dollars += 1,
            b'\\' => backslashes += 1,
            _ => dollars = 0,
        }
        last_char = c;
        index += 1;
    }
    ranges
}

/// `Query.findEndQuoteChar`: the closing quote is one not preceded by a backslash, or preceded
/// by one while an even number of backslashes has been seen since the opening quote.
fn nifi_end_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut backslashes = 0usize;
    let mut last_char = 0u8;
    for (index, &c) in bytes.iter().enumerate().skip(open + 1) {
        if c == b'\\' {
            backslashes += 1;
        } else if c == quote && (backslashes.is_multiple_of(2) || last_char != b'\\') {
            return Some(index);
        }
        last_char = c;
    }
    None
}

/// `Query.unescapeLeadingDollarSigns`: every `$$` before the first `{` becomes `$` (Java's
/// `String.replace`, left to right); the rest is kept.
fn unescape_leading_dollars(text: &str) -> String {
    let split = text.find('{').unwrap_or(text.len());
    let (prefix, rest) = text.split_at(split);
    let mut out = prefix.replace("$$", "$");
    out.push_str(rest);
    out
}

/// `Query.unescapeTrailingDollarSigns(text, false)`: a literal piece before a plain attribute
/// reference loses half (rounded down) of its trailing `$` run, unless it is only `$`s.
pub(crate) fn unescape_trailing_dollars(text: &mut String) {
    let dollars = text.len() - text.trim_end_matches('$').len();
    if dollars == 0 || dollars == text.len() {
        return;
    }
    text.truncate(text.len() - dollars / 2);
}

/// Byte ranges `[start, end]` of the complete `${...}` expressions in `bytes`.
fn expression_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut last_char = 0u8;
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    let mut odd_dollars = false;
    let mut index = 0;
    while index < bytes.len() {
        let c = bytes[index];
        if start.is_some() && (c == b'\'' || c == b'"') {
            match end_quote(bytes, index) {
                Some(end) => {
                    index = end + 1;
                    last_char = c;
                    continue;
                }
                None => break,
            }
        }
        match c {
            b'{' => {
                if odd_dollars && last_char == b'$' && depth == 0 {
                    start = Some(index - 1);
                }
                if start.is_some() {
                    depth += 1;
                }
                odd_dollars = false;
            }
            b'}' => {
                if depth > 0 {
                    depth -= 1;
                    if depth == 0
                        && let Some(begin) = start.take()
                    {
                        ranges.push((begin, index));
                    }
                }
                odd_dollars = false;
            }
            b'$' => odd_dollars = !odd_dollars,
            _ => odd_dollars = false,
        }
        last_char = c;
        index += 1;
    }
    ranges
}

/// The index of the quote closing the string that opens at `open`, honouring backslash escapes.
pub(crate) fn end_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut index = open + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            c if c == quote => return Some(index),
            _ => index += 1,
        }
    }
    None
}

/// Collapses each run of 2k dollars that precedes a complete `{...}` to k dollars. When the text
/// precedes an expression, its trailing run (the expression's own `$` excluded) collapses too.
fn unescape_dollars(text: &str, before_expression: bool) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'$' {
            let next = text[index..]
                .find('$')
                .map_or(text.len(), |offset| index + offset);
            out.push_str(&text[index..next]);
            index = next;
            continue;
        }
        let run_start = index;
        while index < bytes.len() && bytes[index] == b'$' {
            index += 1;
        }
        let run = index - run_start;
        let escaped = if index == bytes.len() {
            before_expression
        } else {
            bytes[index] == b'{' && run % 2 == 0 && text[index..].contains('}')
        };
        let keep = if escaped { run / 2 } else { run };
        for _ in 0..keep {
            out.push('$');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(template: &str) -> Vec<String> {
        scan(template)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text,
                Piece::Expression { start, end } => format!("<{}>", &template[start..=end]),
            })
            .collect()
    }

    #[test]
    fn dollar_pairs_collapse_before_braces() {
        assert_eq!(texts("$${abc}"), vec!["${abc}"]);
        assert_eq!(texts("$$${abc}"), vec!["$", "<${abc}>"]);
        assert_eq!(texts("$$$${abc}"), vec!["$${abc}"]);
        assert_eq!(texts("You owe me $$5 too"), vec!["You owe me $$5 too"]);
        assert_eq!(
            texts("${abc} owes me ${5"),
            vec!["<${abc}>", " owes me ${5"]
        );
        assert_eq!(
            texts("Unescaped $$${5 because no closing brace"),
            vec!["Unescaped $$${5 because no closing brace"]
        );
    }

    #[test]
    fn quotes_inside_expressions_hide_braces() {
        assert_eq!(texts("${a:equals('}')}x"), vec!["<${a:equals('}')}>", "x"]);
        assert_eq!(texts("{ ${abc} }"), vec!["{ ", "<${abc}>", " }"]);
    }
}
