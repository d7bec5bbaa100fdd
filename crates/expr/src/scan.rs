//! Splitting a property value into literal text and `${...}` expression ranges, with NiFi's
//! `$$` escaping: pairs of `$` before a complete `{...}` collapse to one `$`, an odd leftover `$`
//! starts an expression, and a `${` that never closes is plain text.

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
                    if depth == 0 {
                        if let Some(begin) = start.take() {
                            ranges.push((begin, index));
                        }
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
