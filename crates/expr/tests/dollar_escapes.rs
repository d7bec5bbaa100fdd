//! `$` escaping in a whole property value follows NiFi 1.28's `Query.prepare` exactly,
//! quirks included: expected values come from NiFi's algorithm (`extractExpressionRanges`,
//! `unescapeLeadingDollarSigns`, `unescapeTrailingDollarSigns`) applied by hand to each case,
//! with attributes `a` = `x` and `b` = `y`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use omnibridge_expr::{Template, escape_literal};

/// (template, NiFi's rendering; `None` when NiFi's prepared query is invalid).
const CASES: &[(&str, Option<&str>)] = &[
    (r#"${a}"#, Some(r#"x"#)),
    (r#"$${a}"#, Some(r#"${a}"#)),
    (r#"$$${a}"#, Some(r#"$x"#)),
    (r#"$$$${a}"#, Some(r#"$${a}"#)),
    (r#"$$$$${a}"#, Some(r#"$$x"#)),
    (r#"You owe me $$5 too"#, Some(r#"You owe me $$5 too"#)),
    (r#"You owe me $$5 too ${a}"#, Some(r#"You owe me $5 too x"#)),
    (r#"${a} You owe me $$5 too"#, Some(r#"x You owe me $5 too"#)),
    (r#"$$"#, Some(r#"$$"#)),
    (r#"$$$"#, Some(r#"$$$"#)),
    (r#"a$$"#, Some(r#"a$$"#)),
    (r#"a$$$"#, Some(r#"a$$$"#)),
    (r#"price $$ ${a}"#, Some(r#"price $ x"#)),
    (r#"price $$${a}"#, Some(r#"price $x"#)),
    (r#"price $$$${a}"#, Some(r#"price $${a}"#)),
    (r#"price $$$$${a}"#, Some(r#"price $x"#)),
    (r#"price $$$$${a:toUpper()}"#, Some(r#"price $$X"#)),
    (
        r#"price $$$${a:toUpper()}"#,
        Some(r#"price $${a:toUpper()}"#),
    ),
    (r#"${a} $${b} $${a} ${b}"#, Some(r#"x ${b} $${a} y"#)),
    (r#"$${a} $$5"#, Some(r#"${a} $5"#)),
    (r#"$$5 $${a}"#, Some(r#"$5 ${a}"#)),
    (r#"$$5 $${a} $$6"#, Some(r#"$5 ${a} $6"#)),
    (r#"{$$} ${a}"#, Some(r#"{$$} x"#)),
    (r#"$$ {$$} ${a}"#, Some(r#"$ {$$} x"#)),
    (r#"${a}$$"#, Some(r#"x$"#)),
    (r#"${a}$$$"#, Some(r#"x$$"#)),
    (r#"${a}$$b"#, Some(r#"x$b"#)),
    (r#"${a}$$ {$$}"#, Some(r#"x$ {$$}"#)),
    (r#"$}{a}"#, None),
    (r#"$\${a}"#, Some(r#"$\${a}"#)),
    (r#"a$$$$b"#, Some(r#"a$$$$b"#)),
    (r#"${a}$${"#, Some(r#"x${"#)),
    (r#"$${a"#, Some(r#"$${a"#)),
    (r#"${a:toUpper()}$$5"#, Some(r#"X$5"#)),
    (r#"${a}$$$${b}"#, Some(r#"x$${b}"#)),
    (r#"x$$$${a}y$$$${b}"#, Some(r#"x$${a}y$${b}"#)),
    (r#"$$${a}$$"#, Some(r#"$x$"#)),
    (r#"$$$$"#, Some(r#"$$$$"#)),
    (r#"$$ $$ ${a}"#, Some(r#"$ $ x"#)),
    (r#"$$$ ${a}"#, Some(r#"$$ x"#)),
    (r#"$$$${a}$$"#, Some(r#"$${a}$"#)),
    (r#"$${a}$$${b}"#, Some(r#"${a}$y"#)),
    (r#"a$$${a:toUpper()}"#, Some(r#"a$X"#)),
    (r#"a$$$${b}"#, Some(r#"a$${b}"#)),
    (r#"${a}{$$}$$"#, Some(r#"x{$$}$$"#)),
];

fn render(source: &str) -> Option<String> {
    let attributes: HashMap<String, String> = [("a", "x"), ("b", "y")]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    Template::compile(source).ok()?.evaluate(&attributes).ok()
}

#[test]
fn dollar_escapes_render_as_nifi_1_28_renders_them() {
    let mut wrong = Vec::new();
    for (source, expected) in CASES {
        let got = render(source);
        if got.as_deref() != *expected {
            wrong.push(format!("{source:?}: NiFi {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn escaped_text_survives_every_un_escaping_rule() {
    // Each of these pieces of literal text, escaped, renders unchanged before an attribute
    // reference, before a function call, after an expression and alone.
    for text in [
        "price $$ 5",
        "$$5",
        "a$$$",
        "$",
        "$5",
        "{$$}",
        "$}{",
        "$\\{",
        "${a}",
        "$${a}",
        "x $$ { $$ } $",
    ] {
        let escaped = escape_literal(text);
        for (template, expected) in [
            (format!("{escaped}${{a}}"), format!("{text}x")),
            (format!("{escaped}${{a:toUpper()}}"), format!("{text}X")),
            (format!("${{a}}{escaped}"), format!("x{text}")),
            (escaped.clone(), text.to_string()),
        ] {
            assert_eq!(
                render(&template).as_deref(),
                Some(expected.as_str()),
                "{template}"
            );
        }
    }
    assert_eq!(escape_literal("price: $5"), "price: $5");
}
