//! A small Python tokenizer, lenient enough for Python 2 source (backticks, `<>`, `0777`, `10L`,
//! `ur""`), which Python 3's own tokenizer rejects or splits.

/// Kinds of token the fixers care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Name,
    Number,
    Str,
    Op,
    Comment,
    /// End of a logical line (a newline outside brackets).
    Newline,
}

/// One token: its kind, byte span, 1-based line and the bracket depth before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub depth: u32,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
}

const OPS3: [&str; 5] = ["**=", "//=", ">>=", "<<=", "..."];
const OPS2: [&str; 19] = [
    "<>", "==", "!=", "<=", ">=", "**", "//", "->", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    ">>", "<<", ":=",
];

/// Tokenizes `src`. Never fails: anything unknown becomes a one-character `Op`.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    let mut depth = 0u32;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\x0c' | b'\r' => i += 1,
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line += 1;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => {
                i += 3;
                line += 1;
            }
            b'\n' => {
                if depth == 0 {
                    tokens.push(Token {
                        kind: Kind::Newline,
                        start: i,
                        end: i + 1,
                        line,
                        depth,
                    });
                }
                i += 1;
                line += 1;
            }
            b'#' => {
                let end = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                tokens.push(Token {
                    kind: Kind::Comment,
                    start: i,
                    end,
                    line,
                    depth,
                });
                i = end;
            }
            b'0'..=b'9' => {
                let start = i;
                i = number_end(bytes, i);
                tokens.push(Token {
                    kind: Kind::Number,
                    start,
                    end: i,
                    line,
                    depth,
                });
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i;
                i = number_end(bytes, i);
                tokens.push(Token {
                    kind: Kind::Number,
                    start,
                    end: i,
                    line,
                    depth,
                });
            }
            b'"' | b'\'' => {
                let start = i;
                let start_line = line;
                i = string_end(bytes, i, &mut line);
                tokens.push(Token {
                    kind: Kind::Str,
                    start,
                    end: i,
                    line: start_line,
                    depth,
                });
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric() || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                let word = &src[start..i];
                if i < bytes.len()
                    && (bytes[i] == b'"' || bytes[i] == b'\'')
                    && word.len() <= 2
                    && word.chars().all(|ch| "rRbBuUfF".contains(ch))
                {
                    let start_line = line;
                    i = string_end(bytes, i, &mut line);
                    tokens.push(Token {
                        kind: Kind::Str,
                        start,
                        end: i,
                        line: start_line,
                        depth,
                    });
                } else {
                    tokens.push(Token {
                        kind: Kind::Name,
                        start,
                        end: i,
                        line,
                        depth,
                    });
                }
            }
            _ => {
                let start = i;
                let rest = &src[i..];
                let len = if OPS3.iter().any(|op| rest.starts_with(op)) {
                    3
                } else if OPS2.iter().any(|op| rest.starts_with(op)) {
                    2
                } else {
                    rest.chars().next().map_or(1, char::len_utf8)
                };
                let tok_depth = depth;
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                let depth_of_token = if matches!(c, b')' | b']' | b'}') {
                    depth
                } else {
                    tok_depth
                };
                i += len;
                tokens.push(Token {
                    kind: Kind::Op,
                    start,
                    end: i,
                    line,
                    depth: depth_of_token,
                });
            }
        }
    }
    tokens
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        let part_of_number = c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
        // An exponent sign (1e-5), but not in a hex literal (0xe+1 is an addition).
        let exponent_sign = (c == b'+' || c == b'-')
            && matches!(bytes[i - 1], b'e' | b'E')
            && !bytes[start..].starts_with(b"0x")
            && !bytes[start..].starts_with(b"0X");
        if !(part_of_number || exponent_sign) {
            break;
        }
        i += 1;
    }
    i
}

/// End of the string literal whose opening quote is at `i`.
fn string_end(bytes: &[u8], mut i: usize, line: &mut u32) -> usize {
    let quote = bytes[i];
    let triple = bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote);
    i += if triple { 3 } else { 1 };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' {
            // Even in a raw string a backslash keeps the next quote from closing it.
            if bytes.get(i + 1) == Some(&b'\n') {
                *line += 1;
            }
            i += 2;
            continue;
        }
        if c == b'\n' {
            *line += 1;
            if !triple {
                return i; // unterminated: stop at the end of the line
            }
        }
        if c == quote {
            if !triple {
                return i + 1;
            }
            if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        }
        i += 1;
    }
    bytes.len()
}
