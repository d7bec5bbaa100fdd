//! Reading spec text that may carry `//` line comments, as Jolt's Jackson reader
//! (`ALLOW_COMMENTS`) accepts them.

/// Removes `//` line comments and `/* */` block comments that sit outside JSON strings, keeping
/// line structure so serde_json's error positions still point at the right line.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                // Skip to the end of the line, keep the newline itself.
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && next == '/' {
                        break;
                    }
                    prev = next;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Parses JSON text that may contain comments.
pub fn parse_json_with_comments(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(&strip_comments(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_are_removed_and_urls_survive() {
        let text = "{ // a comment\n \"url\": \"http://x//y\", /* block */ \"n\": 1 }";
        let v = parse_json_with_comments(text).unwrap();
        assert_eq!(v["url"], "http://x//y");
        assert_eq!(v["n"], 1);
    }

    #[test]
    fn escaped_quote_does_not_end_a_string() {
        let v = parse_json_with_comments("[\"a\\\"//b\"] // end").unwrap();
        assert_eq!(v[0], "a\"//b");
    }
}
