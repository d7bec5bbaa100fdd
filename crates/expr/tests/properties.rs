//! Property tests: escaped literal text round-trips through compile + evaluate, alone and mixed
//! with expressions; and no input makes the compiler or the evaluator panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use indexmap::IndexMap;
use omnibridge_expr::{Template, escape_literal};
use proptest::prelude::*;

/// Text rich in the characters the template scanner cares about.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("$".to_string()),
            Just("$$".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("#".to_string()),
            Just("\n".to_string()),
            "[a-zé ]{0,3}",
        ],
        0..12,
    )
    .prop_map(|pieces| pieces.concat())
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Attribute(usize),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn escaped_literal_text_renders_unchanged(text in tricky_text()) {
        let template = Template::compile(&escape_literal(&text)).unwrap();
        prop_assert_eq!(template.evaluate(&()).unwrap(), text);
    }

    #[test]
    fn escaped_text_mixed_with_expressions_round_trips(
        pieces in proptest::collection::vec(
            prop_oneof![tricky_text().prop_map(Piece::Text), (0usize..3).prop_map(Piece::Attribute)],
            0..8,
        ),
        values in proptest::collection::vec("[a-z$}{ ]{0,4}", 3),
    ) {
        let mut attributes = IndexMap::new();
        for (index, value) in values.iter().enumerate() {
            attributes.insert(format!("attr.{index}"), value.clone());
        }
        let mut source = String::new();
        let mut expected = String::new();
        for piece in &pieces {
            match piece {
                Piece::Text(text) => {
                    source.push_str(&escape_literal(text));
                    expected.push_str(text);
                }
                Piece::Attribute(index) => {
                    source.push_str(&format!("${{attr.{index}}}"));
                    expected.push_str(&values[*index]);
                }
            }
        }
        let template = Template::compile(&source).unwrap();
        prop_assert_eq!(template.evaluate(&attributes).unwrap(), expected);
    }

    #[test]
    fn arbitrary_text_never_panics_the_compiler(text in any::<String>()) {
        if let Ok(template) = Template::compile(&text) {
            let _ = template.evaluate(&());
        }
    }

    #[test]
    fn expression_shaped_text_never_panics(
        text in proptest::collection::vec(
            prop_oneof![
                Just("${"), Just("}"), Just(":"), Just("("), Just(")"), Just(","), Just("'"),
                Just("\""), Just("\\"), Just("$"), Just("#"), Just("\n"), Just("a"), Just("x.y"),
                Just("1"), Just("-2.5e3"), Just("true"), Just("null"), Just("toUpper"),
                Just("substring"), Just("replaceAll"), Just("format"), Just("toDate"),
                Just("allAttributes"), Just("anyMatchingAttribute"), Just("count"), Just("join"),
                Just("literal"), Just("math"), Just("jsonPath"), Just("getDelimitedField"),
                Just("'[$.a'"), Just("'yyyy-MM'"), Just("'(a'"), Just("plusDuration"),
            ],
            0..24,
        ),
    ) {
        let source = text.concat();
        let mut attributes = IndexMap::new();
        attributes.insert("a".to_string(), "2024-01-02".to_string());
        attributes.insert("x.y".to_string(), "{\"a\":1}".to_string());
        if let Ok(template) = Template::compile(&source) {
            let _ = template.evaluate(&attributes);
        }
    }
}

#[test]
fn deeply_nested_expressions_are_refused_not_overflowing() {
    let source = format!("{}a{}", "${".repeat(5000), "}".repeat(5000));
    assert!(Template::compile(&source).is_err());
}
