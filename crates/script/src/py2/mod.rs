//! Python 2 (Jython) idioms: finding them with their line and what to change, and rewriting them.
//!
//! Legacy Integrator scripts were written for Jython 2.7. Python 3 rejects some of their syntax
//! (`print "x"`, `except E, e:`) and lacks some of their names (`.iteritems()`). This module
//! works on tokens from its own lenient tokenizer (Python 3's rejects Python 2 source), so it
//! runs without Python and gives the same answers whatever the interpreter version.

mod lexer;

use serde::{Deserialize, Serialize};

use lexer::{Kind, Token, tokenize};

/// One Python 2 idiom found in a script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Py2Hint {
    /// 1-based line.
    pub line: u32,
    /// Short name of the idiom, e.g. `print statement`.
    pub idiom: String,
    /// What to change, e.g. ``write `print(...)` ``.
    pub advice: String,
    /// Whether [`migrate`] rewrites it.
    pub fixable: bool,
}

/// Everything [`scan`] finds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Python 2 idioms: syntax Python 3 rejects, or names it lacks.
    pub hints: Vec<Py2Hint>,
    /// Places where Python 3 silently computes something else (`7 / 2`, `round`): to review.
    pub notes: Vec<Py2Hint>,
    edits: Vec<Edit>,
}

/// The result of [`migrate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The rewritten source.
    pub source: String,
    /// What was changed (one entry per idiom and line).
    pub changes: Vec<Py2Hint>,
    /// What could not be changed automatically, and places to review by hand.
    pub to_review: Vec<Py2Hint>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "print", "exec",
];

const RENAMED_BUILTINS: &[(&str, &str)] = &[
    ("unicode", "str"),
    ("basestring", "str"),
    ("long", "int"),
    ("xrange", "range"),
    ("unichr", "chr"),
    ("raw_input", "input"),
];

const RENAMED_METHODS: &[(&str, &str)] = &[
    ("iteritems", "items"),
    ("iterkeys", "keys"),
    ("itervalues", "values"),
    ("viewitems", "items"),
    ("viewkeys", "keys"),
    ("viewvalues", "values"),
];

const RENAMED_MODULES: &[(&str, &str)] = &[
    ("urllib2", "urllib.request / urllib.error"),
    ("urlparse", "urllib.parse"),
    ("httplib", "http.client"),
    ("StringIO", "io.StringIO / io.BytesIO"),
    ("cStringIO", "io.StringIO / io.BytesIO"),
    ("Queue", "queue"),
    ("ConfigParser", "configparser"),
    ("cPickle", "pickle"),
    ("HTMLParser", "html.parser"),
    ("commands", "subprocess"),
];

/// Finds the Python 2 idioms in `source`.
pub fn scan(source: &str) -> Scan {
    let tokens: Vec<Token> = tokenize(source)
        .into_iter()
        .filter(|t| t.kind != Kind::Comment)
        .collect();
    let mut scanner = Scanner {
        src: source,
        t: &tokens,
        scan: Scan::default(),
    };
    scanner.run();
    scanner.scan
}

/// Rewrites the fixable Python 2 idioms of `source` into Python 3 (print statements,
/// `except E, e`, `raise E, msg`, `<>`, backticks, `.iteritems()`, `.has_key()`, `.keys()[i]`,
/// `unicode`/`long`/`xrange`..., `10L`, `0777`, `ur""`, `sys.maxint`). Code that is already
/// Python 3 comes back unchanged.
pub fn migrate(source: &str) -> Migration {
    let first = scan(source);
    let mut text = source.to_string();
    // Nested idioms (a backtick inside a print statement) are fixed over several passes: each
    // pass applies the innermost non-overlapping edits, then the source is scanned again.
    for _ in 0..8 {
        let pass = scan(&text);
        if pass.edits.is_empty() {
            break;
        }
        let mut edits = pass.edits;
        edits.sort_by_key(|e| (e.start, std::cmp::Reverse(e.end)));
        let mut accepted: Vec<Edit> = Vec::new();
        for edit in edits.into_iter().rev() {
            if accepted.last().is_none_or(|last| edit.end <= last.start) {
                accepted.push(edit);
            } else if let Some(last) = accepted.last_mut()
                && edit.start >= last.start
                && edit.end <= last.end
            {
                *last = edit; // keep the inner one; the outer is redone next pass
            }
        }
        for edit in accepted {
            text.replace_range(edit.start..edit.end, &edit.text);
        }
    }
    let (changes, mut to_review): (Vec<Py2Hint>, Vec<Py2Hint>) =
        first.hints.into_iter().partition(|h| h.fixable);
    to_review.extend(first.notes);
    to_review.sort_by_key(|h| h.line);
    Migration {
        source: text,
        changes,
        to_review,
    }
}

struct Scanner<'a> {
    src: &'a str,
    t: &'a [Token],
    scan: Scan,
}

impl Scanner<'_> {
    fn text(&self, i: usize) -> &str {
        self.t[i].text(self.src)
    }

    fn is_op(&self, i: usize, op: &str) -> bool {
        self.t
            .get(i)
            .is_some_and(|t| t.kind == Kind::Op && t.text(self.src) == op)
    }

    fn is_name(&self, i: usize, name: &str) -> bool {
        self.t
            .get(i)
            .is_some_and(|t| t.kind == Kind::Name && t.text(self.src) == name)
    }

    fn is_atom(&self, i: usize) -> bool {
        let t = self.t[i];
        match t.kind {
            Kind::Name => !KEYWORDS.contains(&t.text(self.src)),
            Kind::Str | Kind::Number => true,
            _ => false,
        }
    }

    fn is_close(&self, i: usize) -> bool {
        self.t[i].kind == Kind::Op && matches!(self.text(i), ")" | "]" | "}")
    }

    fn stmt_start(&self, i: usize) -> bool {
        i == 0 || {
            let p = self.t[i - 1];
            p.kind == Kind::Newline
                || (p.kind == Kind::Op
                    && p.depth == self.t[i].depth
                    && matches!(p.text(self.src), ";" | ":"))
        }
    }

    /// Index of the token that ends the statement starting at or before `i` (Newline, `;` at the
    /// same depth, or the end).
    fn stmt_end(&self, i: usize) -> usize {
        let depth = self.t[i].depth;
        let mut k = i;
        while k < self.t.len() {
            let t = self.t[k];
            if t.kind == Kind::Newline
                || (t.kind == Kind::Op && t.depth == depth && t.text(self.src) == ";")
            {
                return k;
            }
            k += 1;
        }
        k
    }

    fn matching_close(&self, open: usize) -> Option<usize> {
        let depth = self.t[open].depth;
        (open + 1..self.t.len()).find(|&k| self.t[k].depth == depth && self.is_close(k))
    }

    fn matching_open(&self, close: usize) -> Option<usize> {
        let depth = self.t[close].depth;
        (0..close).rev().find(|&k| {
            self.t[k].depth == depth
                && self.t[k].kind == Kind::Op
                && matches!(self.text(k), "(" | "[" | "{")
        })
    }

    /// Start of the primary expression that ends just before token `dot` (`a.b(c)[d]` in
    /// `a.b(c)[d].has_key(x)`).
    fn primary_start(&self, dot: usize) -> Option<usize> {
        let mut k = dot;
        loop {
            let prev = k.checked_sub(1)?;
            if self.is_close(prev) {
                k = self.matching_open(prev)?;
                if k > 0 && (self.is_atom(k - 1) || self.is_close(k - 1)) {
                    continue;
                }
                return Some(k);
            }
            if self.is_atom(prev) {
                k = prev;
                if k > 0 && self.is_op(k - 1, ".") {
                    k -= 1;
                    continue;
                }
                return Some(k);
            }
            return (k < dot).then_some(k);
        }
    }

    fn span(&self, from: usize, to: usize) -> &str {
        &self.src[self.t[from].start..self.t[to].end]
    }

    fn hint(&mut self, i: usize, idiom: &str, advice: String, edit: Option<Edit>) {
        let fixable = edit.is_some();
        self.scan.hints.push(Py2Hint {
            line: self.t[i].line,
            idiom: idiom.to_string(),
            advice,
            fixable,
        });
        if let Some(edit) = edit {
            self.scan.edits.push(edit);
        }
    }

    fn note(&mut self, i: usize, idiom: &str, advice: &str) {
        self.scan.notes.push(Py2Hint {
            line: self.t[i].line,
            idiom: idiom.to_string(),
            advice: advice.to_string(),
            fixable: false,
        });
    }

    fn run(&mut self) {
        for i in 0..self.t.len() {
            let tok = self.t[i];
            match tok.kind {
                Kind::Name => self.name(i),
                Kind::Number => self.number(i),
                Kind::Str => self.string(i),
                Kind::Op => self.op(i),
                Kind::Comment | Kind::Newline => {}
            }
        }
    }

    fn name(&mut self, i: usize) {
        let word = self.text(i).to_string();
        let after_dot = i > 0 && self.is_op(i - 1, ".");
        match word.as_str() {
            "print" | "exec" if self.stmt_start(i) => self.statement_call(i, &word),
            "except" => self.except_comma(i),
            "raise" if self.stmt_start(i) => self.raise_comma(i),
            "has_key" if after_dot => self.has_key(i),
            "keys" | "values" | "items" if after_dot => self.indexed_view(i, &word),
            "maxint" if after_dot && i >= 2 && self.is_name(i - 2, "sys") => self.hint(
                i,
                "sys.maxint",
                "`sys.maxint` is `sys.maxsize` in Python 3".into(),
                Some(self.replace(i, "maxsize")),
            ),
            "round" if !after_dot && self.is_op(i + 1, "(") => self.note(
                i,
                "round()",
                "`round()` rounds half to even and returns an int in Python 3 (Jython: round(2.5) == 3.0)",
            ),
            _ if after_dot => {
                if let Some((_, new)) = RENAMED_METHODS.iter().find(|(old, _)| *old == word) {
                    let edit = self.replace(i, new);
                    self.hint(i, &format!(".{word}()"), format!("`.{word}()` does not exist in Python 3: use `.{new}()`"), Some(edit));
                }
            }
            _ => {
                if let Some((_, new)) = RENAMED_BUILTINS.iter().find(|(old, _)| *old == word) {
                    let defines = i > 0 && (self.is_name(i - 1, "def") || self.is_name(i - 1, "class"));
                    let assigned = self.is_op(i + 1, "=");
                    if !defines && !assigned {
                        let edit = self.replace(i, new);
                        self.hint(i, &word, format!("`{word}` is `{new}` in Python 3"), Some(edit));
                    }
                } else if let Some((_, new)) = RENAMED_MODULES.iter().find(|(old, _)| *old == word)
                    && i > 0
                    && (self.is_name(i - 1, "import") || self.is_name(i - 1, "from"))
                {
                    self.hint(i, &format!("import {word}"), format!("module `{word}` is `{new}` in Python 3"), None);
                }
            }
        }
    }

    fn replace(&self, i: usize, text: &str) -> Edit {
        Edit {
            start: self.t[i].start,
            end: self.t[i].end,
            text: text.to_string(),
        }
    }

    /// `print x, y` / `print >>f, x` / `exec code in ns` as statements.
    fn statement_call(&mut self, i: usize, word: &str) {
        let end = self.stmt_end(i);
        let next = i + 1;
        if next < end
            && self.t[next].kind == Kind::Op
            && matches!(self.text(next), "=" | "." | "," | ")" | "]")
        {
            return; // a variable named print, or print used as a value
        }
        if next < end
            && self.is_op(next, "(")
            && self
                .matching_close(next)
                .is_some_and(|close| close + 1 == end)
        {
            return; // already a call
        }
        let depth = self.t[i].depth;
        let call = if next >= end {
            format!("{word}()")
        } else if word == "print" {
            let mut first = next;
            let mut file = None;
            if self.is_op(first, ">>") {
                let comma =
                    (first + 1..end).find(|&k| self.t[k].depth == depth && self.is_op(k, ","));
                let file_end = comma.unwrap_or(end);
                if file_end > first + 1 {
                    file = Some(self.span(first + 1, file_end - 1).to_string());
                }
                first = comma.map_or(end, |c| c + 1);
            }
            let mut last = end - 1;
            let mut extras = Vec::new();
            if self.is_op(last, ",") && last >= first {
                extras.push("end=\" \"".to_string());
                last = last.saturating_sub(1);
            }
            if let Some(file) = file {
                extras.push(format!("file={file}"));
            }
            let mut args = if first <= last && first < end {
                self.span(first, last).to_string()
            } else {
                String::new()
            };
            for extra in extras {
                if !args.is_empty() {
                    args.push_str(", ");
                }
                args.push_str(&extra);
            }
            format!("print({args})")
        } else {
            let in_kw = (next..end).find(|&k| self.t[k].depth == depth && self.is_name(k, "in"));
            match in_kw {
                Some(k) if k > next && k + 1 < end => format!(
                    "exec({}, {})",
                    self.span(next, k - 1),
                    self.span(k + 1, end - 1)
                ),
                _ => format!("exec({})", self.span(next, end - 1)),
            }
        };
        let stop = if end > i + 1 {
            self.t[end - 1].end
        } else {
            self.t[i].end
        };
        let edit = Edit {
            start: self.t[i].start,
            end: stop,
            text: call,
        };
        let advice = if word == "print" {
            "print statement: write `print(...)` as a function call".to_string()
        } else {
            "exec statement: write `exec(code, namespace)`".to_string()
        };
        self.hint(i, &format!("{word} statement"), advice, Some(edit));
    }

    /// `except E, e:` -> `except E as e:`.
    fn except_comma(&mut self, i: usize) {
        let depth = self.t[i].depth;
        let mut k = i + 1;
        while k < self.t.len() && !(self.t[k].depth == depth && self.is_op(k, ":")) {
            if self.t[k].kind == Kind::Newline {
                return;
            }
            if self.t[k].depth == depth && self.is_op(k, ",") {
                let edit = Edit {
                    start: self.t[k].start,
                    end: self.t[k].end,
                    text: " as".into(),
                };
                self.hint(
                    i,
                    "except X, e",
                    "`except X, e:` is `except X as e:` in Python 3".into(),
                    Some(edit),
                );
                return;
            }
            k += 1;
        }
    }

    /// `raise E, msg[, tb]` -> `raise E(msg)[.with_traceback(tb)]`.
    fn raise_comma(&mut self, i: usize) {
        let end = self.stmt_end(i);
        let depth = self.t[i].depth;
        let commas: Vec<usize> = (i + 1..end)
            .filter(|&k| self.t[k].depth == depth && self.is_op(k, ","))
            .collect();
        if commas.is_empty() || commas.len() > 2 || commas[0] == i + 1 {
            return;
        }
        let exc = self.span(i + 1, commas[0] - 1);
        let value_end = commas.get(1).map_or(end - 1, |c| c - 1);
        if value_end < commas[0] + 1 {
            return;
        }
        let value = self.span(commas[0] + 1, value_end);
        let mut text = format!("{exc}({value})");
        if let Some(&tb) = commas.get(1)
            && tb + 1 < end
        {
            text.push_str(&format!(".with_traceback({})", self.span(tb + 1, end - 1)));
        }
        let edit = Edit {
            start: self.t[i + 1].start,
            end: self.t[end - 1].end,
            text,
        };
        self.hint(
            i,
            "raise E, msg",
            "`raise E, msg` is `raise E(msg)` in Python 3".into(),
            Some(edit),
        );
    }

    /// `d.has_key(k)` -> `(k in d)`.
    fn has_key(&mut self, i: usize) {
        let advice = "`d.has_key(k)` does not exist in Python 3: use `k in d`".to_string();
        let edit = (|| {
            let start = self.primary_start(i - 1)?;
            if !self.is_op(i + 1, "(") {
                return None;
            }
            let close = self.matching_close(i + 1)?;
            if close == i + 2 {
                return None;
            }
            Some(Edit {
                start: self.t[start].start,
                end: self.t[close].end,
                text: format!(
                    "({} in {})",
                    self.span(i + 2, close - 1),
                    self.span(start, i - 2)
                ),
            })
        })();
        self.hint(i, ".has_key()", advice, edit);
    }

    /// `d.keys()[0]` -> `list(d.keys())[0]` (views are not indexable in Python 3).
    fn indexed_view(&mut self, i: usize, word: &str) {
        if !(self.is_op(i + 1, "(") && self.is_op(i + 2, ")") && self.is_op(i + 3, "[")) {
            return;
        }
        let Some(start) = self.primary_start(i - 1) else {
            return;
        };
        let edit = Edit {
            start: self.t[start].start,
            end: self.t[i + 2].end,
            text: format!("list({})", self.span(start, i + 2)),
        };
        self.hint(
            i,
            &format!(".{word}()[i]"),
            format!(
                "`.{word}()` is a view in Python 3 and cannot be indexed: use `list(d.{word}())[i]`"
            ),
            Some(edit),
        );
    }

    fn number(&mut self, i: usize) {
        let text = self.text(i).to_string();
        if text.len() > 1
            && text.ends_with(['l', 'L'])
            && !text.starts_with("0x")
            && !text.starts_with("0X")
            || (text.len() > 1
                && (text.starts_with("0x") || text.starts_with("0X"))
                && text.ends_with(['l', 'L']))
        {
            let trimmed = &text[..text.len() - 1];
            if trimmed
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == 'x' || c == 'X')
            {
                let edit = self.replace(i, trimmed);
                self.hint(
                    i,
                    "long literal",
                    format!("`{text}`: Python 3 has no `L` suffix, write `{trimmed}`"),
                    Some(edit),
                );
                return;
            }
        }
        if text.len() > 1
            && text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.bytes().any(|b| b != b'0')
        {
            let new = format!("0o{}", &text[1..]);
            let edit = self.replace(i, &new);
            self.hint(
                i,
                "octal literal",
                format!("`{text}`: octal literals are written `{new}` in Python 3"),
                Some(edit),
            );
        }
    }

    fn string(&mut self, i: usize) {
        let text = self.text(i);
        let prefix: String = text
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if prefix.eq_ignore_ascii_case("ur") {
            let new = format!("{}{}", &prefix[1..], &text[2..]);
            let edit = self.replace(i, &new);
            self.hint(
                i,
                "ur\"\" string",
                "`ur\"...\"` is not valid in Python 3: write `r\"...\"`".into(),
                Some(edit),
            );
        }
    }

    fn op(&mut self, i: usize) {
        match self.text(i) {
            "<>" => {
                let edit = self.replace(i, "!=");
                self.hint(i, "<>", "`<>` is written `!=` in Python 3".into(), Some(edit));
            }
            "`" => {
                // An opening backtick: pair it with the next one on the same depth.
                let opening = self.t[..i].iter().filter(|t| t.kind == Kind::Op && t.text(self.src) == "`").count() % 2 == 0;
                if !opening {
                    return;
                }
                let close = (i + 1..self.t.len()).find(|&k| self.is_op(k, "`"));
                let edit = close.filter(|&c| c > i + 1).map(|c| Edit {
                    start: self.t[i].start,
                    end: self.t[c].end,
                    text: format!("repr({})", self.span(i + 1, c - 1)),
                });
                self.hint(i, "backticks", "`x` (backticks) is written `repr(x)` in Python 3".into(), edit);
            }
            "/" => self.note(
                i,
                "/ division",
                "`/` is true division in Python 3 (Jython: 7 / 2 == 3); use `//` where integer division is meant",
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(src: &str) -> String {
        migrate(src).source
    }

    #[test]
    fn print_statements_become_calls() {
        assert_eq!(fixed("print \"x\"\n"), "print(\"x\")\n");
        assert_eq!(fixed("print\n"), "print()\n");
        assert_eq!(fixed("print a, b,\n"), "print(a, b, end=\" \")\n");
        assert_eq!(
            fixed("print >>sys.stderr, 'e'\n"),
            "print('e', file=sys.stderr)\n"
        );
        assert_eq!(fixed("if x: print x  # c\n"), "if x: print(x)  # c\n");
        assert_eq!(fixed("print(x)\n"), "print(x)\n");
        assert_eq!(fixed("print (a), b\n"), "print((a), b)\n");
        assert_eq!(fixed("print = 3\n"), "print = 3\n");
    }

    #[test]
    fn except_and_raise_forms() {
        assert_eq!(
            fixed("try:\n  f()\nexcept (A, B), e:\n  pass\n"),
            "try:\n  f()\nexcept (A, B) as e:\n  pass\n"
        );
        assert_eq!(
            fixed("raise ValueError, 'bad'\n"),
            "raise ValueError('bad')\n"
        );
        assert_eq!(fixed("raise E, m, tb\n"), "raise E(m).with_traceback(tb)\n");
        assert_eq!(fixed("raise E('x')\n"), "raise E('x')\n");
    }

    #[test]
    fn names_methods_and_literals() {
        assert_eq!(
            fixed("for k, v in d.iteritems(): pass\n"),
            "for k, v in d.items(): pass\n"
        );
        assert_eq!(
            fixed("if a.b['c'].has_key(k + 1): pass\n"),
            "if (k + 1 in a.b['c']): pass\n"
        );
        assert_eq!(fixed("x = d.keys()[0]\n"), "x = list(d.keys())[0]\n");
        assert_eq!(fixed("s = unicode(x) + `y`\n"), "s = str(x) + repr(y)\n");
        assert_eq!(
            fixed("n = 10L + 0777\nif a <> b: pass\n"),
            "n = 10 + 0o777\nif a != b: pass\n"
        );
        assert_eq!(fixed("r = ur'\\d'\n"), "r = r'\\d'\n");
        assert_eq!(fixed("m = sys.maxint\n"), "m = sys.maxsize\n");
        assert_eq!(
            fixed("def unicode(x): pass\nx.unicode = 1\n"),
            "def unicode(x): pass\nx.unicode = 1\n"
        );
    }

    #[test]
    fn nested_idioms_are_fixed_over_passes() {
        assert_eq!(
            fixed("print `d.iteritems()`, unicode(x)\n"),
            "print(repr(d.items()), str(x))\n"
        );
    }

    #[test]
    fn strings_and_comments_are_left_alone() {
        let src = "s = \"print 'x' <> y\"  # print x, d.iteritems()\nt = '''\nprint x\n'''\n";
        assert_eq!(fixed(src), src);
    }

    #[test]
    fn hints_name_lines_and_fixes() {
        let s =
            scan("import json\nprint 'x'\ntry:\n  pass\nexcept E, e:\n  pass\nimport urllib2\n");
        let lines: Vec<(u32, &str, bool)> = s
            .hints
            .iter()
            .map(|h| (h.line, h.idiom.as_str(), h.fixable))
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, "print statement", true),
                (5, "except X, e", true),
                (7, "import urllib2", false)
            ]
        );
    }

    #[test]
    fn division_and_round_are_notes_not_changes() {
        let m = migrate("a = 7 / 2\nb = round(2.5)\n");
        assert_eq!(m.source, "a = 7 / 2\nb = round(2.5)\n");
        assert!(m.changes.is_empty());
        assert_eq!(
            m.to_review.iter().map(|h| h.line).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
