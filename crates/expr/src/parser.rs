//! Lexing and parsing one `${...}` expression (NiFi's ANTLR grammar, by hand), with the
//! compile-time checks NiFi makes: known function, arity, placement, boolean-to-number casts,
//! multi-attribute chains ending in a boolean or a reducer.

use crate::ast::{Arg, Call, Compiled, Const, Expr, Part, Prepared, Subject};
use crate::catalog::{self, Func, Place, Ty};
use crate::duration::Duration;
use crate::error::CompileError;
use crate::java_date::{DatePattern, Zone};
use crate::java_regex::JavaRegex;
use crate::json_path::JsonPath;
use crate::scan::{self, Piece};

/// Nesting deeper than this is refused, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// Compiles a whole template (literal text plus expressions). `root` is the outermost template
/// text and `base` the offset of `text` inside it, so errors point into what the user wrote.
pub(crate) fn compile_template(
    root: &str,
    text: &str,
    base: usize,
    depth: usize,
) -> Result<Compiled, CompileError> {
    if depth > MAX_DEPTH {
        return Err(CompileError::at(
            root,
            base,
            "expressions are nested too deeply",
        ));
    }
    // A whole property value is split as NiFi's `Query.prepare` splits it; a quoted string
    // inside an expression as its string-literal compiler does.
    let pieces = if depth == 0 {
        scan::prepare(text)
    } else {
        scan::scan(text)
    };
    let mut parts = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => parts.push(Part::Text(text)),
            Piece::Expression { start, end } => {
                let tokens = lex(root, &text[start..=end], base + start)?;
                let mut parser = Parser {
                    root,
                    tokens,
                    position: 0,
                    depth,
                };
                let expr = parser.expression()?;
                if parser.position < parser.tokens.len() {
                    let token = &parser.tokens[parser.position];
                    return Err(CompileError::at(
                        root,
                        token.start,
                        "unexpected text after the expression",
                    )
                    .expected("end of expression"));
                }
                let attribute_reference = expr.chain.is_empty()
                    && matches!(
                        expr.subject,
                        Subject::Attr(_) | Subject::AttrTemplate(_) | Subject::AttrExpr(_)
                    );
                if depth == 0 && attribute_reference {
                    // NiFi un-escapes the trailing `$` run of the literal right before a plain
                    // attribute reference (its root evaluator is an AttributeEvaluator).
                    if let Some(Part::Text(previous)) = parts.last_mut() {
                        scan::unescape_trailing_dollars(previous);
                    }
                }
                match expr {
                    Expr {
                        subject: Subject::Attr(name),
                        chain,
                        ..
                    } if chain.is_empty() => parts.push(Part::Attr(name)),
                    Expr {
                        subject: Subject::Attr(name),
                        chain,
                        ty,
                    } if chain.len() == 1 && crate::eval::writes_into(chain[0].func) => {
                        parts.push(match <[Call; 1]>::try_from(chain) {
                            Ok([call]) => Part::AttrCall(name, call),
                            Err(chain) => Part::Expr(Expr {
                                subject: Subject::Attr(name),
                                chain,
                                ty,
                            }),
                        });
                    }
                    expr => parts.push(Part::Expr(expr)),
                }
            }
        }
    }
    Ok(Compiled { parts })
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Dollar,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Colon,
    Comma,
    Semicolon,
    Whole(String),
    Decimal(String),
    Str(String),
    Name(String),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
}

fn is_name_char(c: char, first: bool) -> bool {
    !(matches!(
        c,
        '$' | '{'
            | '}'
            | '('
            | ')'
            | '['
            | ']'
            | ','
            | ':'
            | ';'
            | '/'
            | '*'
            | '\''
            | ' '
            | '\t'
            | '\r'
            | '\n'
    ) || (first && c.is_ascii_digit()))
}

/// Length in bytes of a number token at the start of `text`, and whether it is a decimal.
fn number_length(text: &str) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut index = 0;
    if index < bytes.len() && (bytes[index] == b'+' || bytes[index] == b'-') {
        index += 1;
    }
    let int_start = index;
    while index < bytes.len() && bytes[index].is_ascii_digit() {
        index += 1;
    }
    let int_digits = index - int_start;
    let mut decimal = false;
    if index < bytes.len() && bytes[index] == b'.' {
        let mut probe = index + 1;
        while probe < bytes.len() && bytes[probe].is_ascii_digit() {
            probe += 1;
        }
        let frac_digits = probe - index - 1;
        if int_digits > 0 || frac_digits > 0 {
            decimal = true;
            index = probe;
        }
    }
    if int_digits == 0 && !decimal {
        return None;
    }
    if index < bytes.len() && (bytes[index] == b'e' || bytes[index] == b'E') {
        let mut probe = index + 1;
        if probe < bytes.len() && (bytes[probe] == b'+' || bytes[probe] == b'-') {
            probe += 1;
        }
        let exp_start = probe;
        while probe < bytes.len() && bytes[probe].is_ascii_digit() {
            probe += 1;
        }
        if probe > exp_start {
            decimal = true;
            index = probe;
        }
    }
    Some((index, decimal))
}

fn name_length(text: &str) -> usize {
    let mut length = 0;
    for (i, c) in text.char_indices() {
        if !is_name_char(c, i == 0) {
            break;
        }
        length = i + c.len_utf8();
    }
    length
}

fn lex(root: &str, text: &str, base: usize) -> Result<Vec<Token>, CompileError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let c = bytes[index];
        let start = base + index;
        let single = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                index += 1;
                continue;
            }
            b'$' => Some(Kind::Dollar),
            b'{' => Some(Kind::LBrace),
            b'}' => Some(Kind::RBrace),
            b'(' => Some(Kind::LParen),
            b')' => Some(Kind::RParen),
            b':' => Some(Kind::Colon),
            b',' => Some(Kind::Comma),
            b';' => Some(Kind::Semicolon),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token { kind, start });
            index += 1;
            continue;
        }
        if c == b'#' {
            if bytes.get(index + 1) == Some(&b'{') {
                return Err(CompileError::at(
                    root,
                    start,
                    "parameter references (#{...}) are not supported",
                ));
            }
            if let Some(newline) = text[index..].find('\n') {
                index += newline + 1;
                continue;
            }
        }
        if c == b'\'' || c == b'"' {
            let end = scan::end_quote(bytes, index).ok_or_else(|| {
                CompileError::at(root, start, "unterminated string literal")
                    .expected(format!("a closing {}", c as char))
            })?;
            let value = unescape_string(root, &text[index + 1..end], start + 1)?;
            tokens.push(Token {
                kind: Kind::Str(value),
                start,
            });
            index = end + 1;
            continue;
        }
        let rest = &text[index..];
        let number = number_length(rest);
        let name = name_length(rest);
        match number {
            Some((length, decimal)) if length >= name => {
                let literal = rest[..length].to_string();
                tokens.push(Token {
                    kind: if decimal {
                        Kind::Decimal(literal)
                    } else {
                        Kind::Whole(literal)
                    },
                    start,
                });
                index += length;
            }
            _ if name > 0 => {
                tokens.push(Token {
                    kind: Kind::Name(rest[..name].to_string()),
                    start,
                });
                index += name;
            }
            _ => {
                let found = rest.chars().next().unwrap_or(' ');
                return Err(CompileError::at(
                    root,
                    start,
                    format!("unexpected character '{found}'"),
                )
                .expected("an attribute name, a function, a literal or ${...}"));
            }
        }
    }
    Ok(tokens)
}

/// String-literal escapes: `\'` `\"` `\n` `\r` `\t` `\\` are translated, any other backslash
/// pair is kept as written (so regexes read naturally). Raw CR, LF and tab are not allowed.
fn unescape_string(root: &str, raw: &str, base: usize) -> Result<String, CompileError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '\'')) => out.push('\''),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 't')) => out.push('\t'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '\n' | '\r' | '\t' => {
                return Err(CompileError::at(
                    root,
                    base + offset,
                    "a string literal may not contain a raw newline or tab",
                )
                .expected("an escape such as \\n or \\t"));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

struct Parser<'r> {
    root: &'r str,
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.position).map(|token| &token.kind)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Kind> {
        self.tokens
            .get(self.position + ahead)
            .map(|token| &token.kind)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.position)
            .or_else(|| self.tokens.last())
            .map_or(0, |token| token.start)
    }

    fn error(&self, message: impl Into<String>) -> CompileError {
        CompileError::at(self.root, self.offset(), message)
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "end of expression".to_string(),
            Some(kind) => describe(kind),
        }
    }

    fn expect(&mut self, kind: Kind, what: &str) -> Result<(), CompileError> {
        if self.peek() == Some(&kind) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error(format!("found {}", self.found())).expected(what))
        }
    }

    fn expression(&mut self) -> Result<Expr, CompileError> {
        if self.depth > MAX_DEPTH {
            return Err(self.error("expressions are nested too deeply"));
        }
        self.depth += 1;
        self.expect(Kind::Dollar, "'${'")?;
        self.expect(Kind::LBrace, "'{' after '$'")?;
        let subject_offset = self.offset();
        let subject = self.subject()?;
        let mut ty = match &subject {
            Subject::Function(call) | Subject::Multi(call) => catalog::spec_of(call.func).result,
            _ => Ty::Str,
        };
        let mut chain = Vec::new();
        while self.peek() == Some(&Kind::Colon) {
            self.position += 1;
            let call_offset = self.offset();
            let call = self.call(false)?;
            check_subject_type(self.root, call_offset, call.func, ty)?;
            ty = match call.func {
                Func::Math => Ty::Number,
                func => catalog::spec_of(func).result,
            };
            chain.push(call);
        }
        if self.peek() != Some(&Kind::RBrace) {
            let expected = if chain.is_empty() && matches!(subject, Subject::Attr(_)) {
                "':' and a function, or '}'"
            } else {
                "':' or '}'"
            };
            return Err(self
                .error(format!("found {}", self.found()))
                .expected(expected));
        }
        self.position += 1;
        self.depth -= 1;
        if let Subject::Multi(call) = &subject {
            check_multi_chain(self.root, subject_offset, call.func, &chain)?;
        }
        // `literal('constant')` is folded: the evaluator then borrows the text directly.
        let subject = match subject {
            Subject::Function(mut call)
                if call.func == Func::Literal
                    && matches!(call.args.as_slice(), [Arg::Const(Const::Str(_))]) =>
            {
                match call.args.pop() {
                    Some(Arg::Const(Const::Str(text))) => Subject::Literal(text),
                    _ => Subject::Function(call),
                }
            }
            other => other,
        };
        if let (Subject::Literal(text), Some(first)) = (&subject, chain.first_mut())
            && first.func == Func::Replace
            && let Some(search) = const_str(&first.args, 0).filter(|s| !s.is_empty())
        {
            // Java's `replace` scans left to right without overlaps, as `match_indices`.
            let hits = text.match_indices(search).map(|(at, _)| at).collect();
            first.prepared.get_or_insert_with(Box::default).literal_hits = Some(hits);
        }
        Ok(Expr { subject, chain, ty })
    }

    fn subject(&mut self) -> Result<Subject, CompileError> {
        let offset = self.offset();
        match self.peek().cloned() {
            Some(Kind::Name(name)) => {
                if self.peek_at(1) == Some(&Kind::LParen) {
                    let call = self.call(true)?;
                    let spec = catalog::spec_of(call.func);
                    return match spec.place {
                        Place::Subjectless | Place::Either => Ok(Subject::Function(call)),
                        Place::Multi => Ok(Subject::Multi(call)),
                        Place::Chained | Place::Reducer => Err(CompileError::at(
                            self.root,
                            offset,
                            format!("function '{name}' needs a subject"),
                        )
                        .expected(format!("${{attribute:{name}(...)}}"))),
                    };
                }
                if catalog::is_reserved(&name) {
                    return Err(CompileError::at(
                        self.root,
                        offset,
                        format!(
                            "'{name}' is a reserved word and cannot be an unquoted attribute name"
                        ),
                    )
                    .expected(format!("a quoted name such as ${{'{name}'}}")));
                }
                self.position += 1;
                Ok(Subject::Attr(name))
            }
            Some(Kind::Str(name)) => {
                self.position += 1;
                if name.contains("${") {
                    let template = compile_template(self.root, &name, offset + 1, self.depth + 1)?;
                    Ok(Subject::AttrTemplate(Box::new(template)))
                } else {
                    Ok(Subject::Attr(name))
                }
            }
            Some(Kind::Dollar) => Ok(Subject::AttrExpr(Box::new(self.expression()?))),
            _ => Err(self
                .error(format!("found {}", self.found()))
                .expected("an attribute name, a quoted name, a function or ${...}")),
        }
    }

    /// `name(args)`; `first` tells whether it starts the expression (no subject).
    fn call(&mut self, first: bool) -> Result<Call, CompileError> {
        let offset = self.offset();
        let name = match self.peek() {
            Some(Kind::Name(name)) => name.clone(),
            _ => {
                return Err(self
                    .error(format!("found {}", self.found()))
                    .expected("a function name"));
            }
        };
        let Some(spec) = catalog::lookup(&name) else {
            return Err(
                CompileError::at(self.root, offset, format!("unknown function '{name}'"))
                    .expected("a function name")
                    .suggest(catalog::suggest(&name)),
            );
        };
        if !first && matches!(spec.place, Place::Subjectless | Place::Multi) {
            return Err(CompileError::at(
                self.root,
                offset,
                format!("function '{name}' cannot take a subject; it must start the expression"),
            )
            .expected(format!("${{{name}(...)}}")));
        }
        self.position += 1;
        self.expect(Kind::LParen, "'('")?;
        let mut args = Vec::new();
        if self.peek() != Some(&Kind::RParen) {
            loop {
                args.push(self.argument()?);
                if self.peek() == Some(&Kind::Comma) {
                    self.position += 1;
                    continue;
                }
                break;
            }
        }
        self.expect(Kind::RParen, "',' or ')'")?;
        if args.len() < spec.min_args || args.len() > spec.max_args {
            let wanted = if spec.min_args == spec.max_args {
                format!("{} argument(s)", spec.min_args)
            } else if spec.max_args == usize::MAX {
                format!("at least {} argument(s)", spec.min_args)
            } else {
                format!("{} to {} arguments", spec.min_args, spec.max_args)
            };
            return Err(CompileError::at(
                self.root,
                offset,
                format!("function '{name}' called with {} argument(s)", args.len()),
            )
            .expected(wanted));
        }
        if matches!(
            spec.func,
            Func::Plus | Func::Minus | Func::Multiply | Func::Divide | Func::Mod
        ) {
            if let Some(Arg::Const(Const::Bool(_))) = args.first() {
                return Err(
                    CompileError::at(self.root, offset, "cannot cast BOOLEAN to NUMBER")
                        .expected("a number argument"),
                );
            }
            if let Some(Arg::Expr(expr)) = args.first()
                && expr.ty == Ty::Bool
            {
                return Err(
                    CompileError::at(self.root, offset, "cannot cast BOOLEAN to NUMBER")
                        .expected("a number argument"),
                );
            }
        }
        let prepared = prepare(self.root, offset, spec.func, &args)?;
        Ok(Call {
            func: spec.func,
            args,
            prepared,
        })
    }

    fn argument(&mut self) -> Result<Arg, CompileError> {
        let offset = self.offset();
        match self.peek().cloned() {
            Some(Kind::Whole(text)) => {
                self.position += 1;
                match text.parse::<i64>() {
                    Ok(value) => Ok(Arg::Const(Const::Whole(value))),
                    Err(_) => Err(CompileError::at(
                        self.root,
                        offset,
                        format!("number {text} is out of range"),
                    )
                    .expected("a 64-bit whole number")),
                }
            }
            Some(Kind::Decimal(text)) => {
                self.position += 1;
                Ok(Arg::Const(Const::Decimal(
                    text.parse::<f64>().unwrap_or(f64::NAN),
                )))
            }
            Some(Kind::Str(text)) => {
                self.position += 1;
                if text.contains("${") {
                    let template = compile_template(self.root, &text, offset + 1, self.depth + 1)?;
                    if let [Part::Text(only)] = template.parts.as_slice() {
                        return Ok(Arg::Const(Const::Str(only.clone())));
                    }
                    if template.parts.is_empty() {
                        return Ok(Arg::Const(Const::Str(String::new())));
                    }
                    Ok(Arg::Template(Box::new(template)))
                } else {
                    Ok(Arg::Const(Const::Str(text)))
                }
            }
            Some(Kind::Name(name)) if self.peek_at(1) != Some(&Kind::LParen) => match name.as_str()
            {
                "true" => {
                    self.position += 1;
                    Ok(Arg::Const(Const::Bool(true)))
                }
                "false" => {
                    self.position += 1;
                    Ok(Arg::Const(Const::Bool(false)))
                }
                "null" => {
                    self.position += 1;
                    Ok(Arg::Const(Const::Null))
                }
                _ => Err(self
                    .error(format!("found attribute name '{name}' as an argument"))
                    .expected("a literal, or ${...} to read an attribute")),
            },
            Some(Kind::Name(name)) => Err(self
                .error(format!(
                    "function call '{name}(...)' as an argument has no subject"
                ))
                .expected("${subject:function(...)}")),
            Some(Kind::Dollar) => Ok(Arg::Expr(Box::new(self.expression()?))),
            _ => Err(self
                .error(format!("found {}", self.found()))
                .expected("an argument: a literal, true, false, null or ${...}")),
        }
    }
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Dollar => "'$'".into(),
        Kind::LBrace => "'{'".into(),
        Kind::RBrace => "'}'".into(),
        Kind::LParen => "'('".into(),
        Kind::RParen => "')'".into(),
        Kind::Colon => "':'".into(),
        Kind::Comma => "','".into(),
        Kind::Semicolon => "';'".into(),
        Kind::Whole(text) | Kind::Decimal(text) => format!("number {text}"),
        Kind::Str(text) => format!("string '{text}'"),
        Kind::Name(name) => format!("'{name}'"),
    }
}

/// NiFi rejects at compile time a BOOLEAN where a number or a date is needed.
fn check_subject_type(
    root: &str,
    offset: usize,
    func: Func,
    subject: Ty,
) -> Result<(), CompileError> {
    if subject != Ty::Bool {
        return Ok(());
    }
    let needs = match func {
        Func::Plus
        | Func::Minus
        | Func::Multiply
        | Func::Divide
        | Func::Mod
        | Func::ToRadix
        | Func::Math
        | Func::ToDecimal
        | Func::Gt
        | Func::Ge
        | Func::Lt
        | Func::Le => "NUMBER",
        Func::Format
        | Func::FormatInstant
        | Func::ToMicros
        | Func::ToNanos
        | Func::PlusDuration
        | Func::MinusDuration
        | Func::PlusInstantDuration
        | Func::MinusInstantDuration => "DATE",
        _ => return Ok(()),
    };
    Err(
        CompileError::at(root, offset, format!("cannot cast BOOLEAN to {needs}"))
            .expected(format!("a {needs} subject")),
    )
}

/// A multi-attribute subject must end its chain in a BOOLEAN, or (for `all*`) in a reducer.
fn check_multi_chain(
    root: &str,
    offset: usize,
    func: Func,
    chain: &[Call],
) -> Result<(), CompileError> {
    let reducer_at = chain
        .iter()
        .position(|call| matches!(call.func, Func::Count | Func::Join));
    let is_all = matches!(
        func,
        Func::AllAttributes | Func::AllMatchingAttributes | Func::AllDelineatedValues
    );
    match reducer_at {
        Some(index) if index + 1 == chain.len() && is_all => Ok(()),
        Some(_) => Err(CompileError::at(
            root,
            offset,
            "a reducing function (count, join) must end a multi-attribute expression started by all*",
        )
        .expected("nothing after the reducing function")),
        None => {
            let ends_boolean = chain
                .last()
                .is_some_and(|call| catalog::spec_of(call.func).result == Ty::Bool);
            if ends_boolean {
                Ok(())
            } else {
                Err(CompileError::at(
                    root,
                    offset,
                    "this expression references multiple attributes but does not use a reducing function",
                )
                .expected("a chain ending in a boolean function, count() or join(...)"))
            }
        }
    }
}

fn const_str(args: &[Arg], index: usize) -> Option<&str> {
    match args.get(index) {
        Some(Arg::Const(Const::Str(text))) => Some(text),
        _ => None,
    }
}

/// Prepares regexes, date patterns, zones, durations and JSON paths given as constants.
fn prepare(
    root: &str,
    offset: usize,
    func: Func,
    args: &[Arg],
) -> Result<Option<Box<Prepared>>, CompileError> {
    let fail = |message: String| CompileError::at(root, offset, message);
    let mut prepared = Prepared::default();
    let mut any = false;
    match func {
        Func::Find | Func::Matches | Func::ReplaceAll | Func::ReplaceFirst => {
            if let Some(pattern) = const_str(args, 0) {
                prepared.regex = Some(
                    JavaRegex::cached(pattern)
                        .map_err(|e| fail(format!("invalid regular expression: {e}")))?,
                );
                any = true;
            }
        }
        Func::AnyMatchingAttribute | Func::AllMatchingAttributes => {
            for index in 0..args.len() {
                if let Some(pattern) = const_str(args, index) {
                    prepared.regexes.push(
                        JavaRegex::cached(pattern)
                            .map_err(|e| fail(format!("invalid regular expression: {e}")))?,
                    );
                } else {
                    prepared.regexes.clear();
                    break;
                }
            }
            any = !prepared.regexes.is_empty();
        }
        Func::Format | Func::ToDate | Func::IsValidDate => {
            if let Some(pattern) = const_str(args, 0) {
                prepared.date_pattern = Some(
                    DatePattern::simple(pattern)
                        .map_err(|e| fail(format!("invalid date pattern: {e}")))?,
                );
                any = true;
            }
            if let Some(zone) = const_str(args, 1) {
                prepared.zone = Some(Zone::lenient(zone));
                any = true;
            }
        }
        Func::FormatInstant | Func::ToInstant => {
            if let Some(pattern) = const_str(args, 0) {
                prepared.date_pattern = Some(
                    DatePattern::formatter(pattern)
                        .map_err(|e| fail(format!("invalid date-time pattern: {e}")))?,
                );
                any = true;
            }
            if let Some(zone) = const_str(args, 1) {
                prepared.zone = Some(
                    Zone::strict(zone)
                        .ok_or_else(|| fail(format!("unknown time zone '{zone}'")))?,
                );
                any = true;
            }
        }
        Func::PlusDuration
        | Func::MinusDuration
        | Func::PlusInstantDuration
        | Func::MinusInstantDuration => {
            if let Some(text) = const_str(args, 0) {
                prepared.duration = Some(Duration::parse(text).map_err(fail)?);
                any = true;
            }
            if let Some(zone) = const_str(args, 1) {
                prepared.zone = Some(
                    Zone::strict(zone)
                        .ok_or_else(|| fail(format!("unknown time zone '{zone}'")))?,
                );
                any = true;
            }
        }
        Func::Replace => {
            if let Some(search) = const_str(args, 0).filter(|search| !search.is_empty()) {
                prepared.finder = Some(memchr::memmem::Finder::new(search.as_bytes()).into_owned());
                any = true;
            }
        }
        Func::JsonPath
        | Func::JsonPathDelete
        | Func::JsonPathSet
        | Func::JsonPathAdd
        | Func::JsonPathPut => {
            if let Some(path) = const_str(args, 0) {
                prepared.json_path = Some(JsonPath::parse(path).map_err(|e| fail(e.to_string()))?);
                any = true;
            }
        }
        _ => {}
    }
    Ok(any.then(|| Box::new(prepared)))
}
