//! A null search, regex or replacement argument of `replace`, `replaceFirst`, `replaceAll`
//! fails the evaluation as NiFi's (Java's) NullPointerException does, instead of rendering the
//! argument as "" or "null"; `replaceNull` / `replaceEmpty` with a null argument stay null.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::attributes;
use omnibridge_expr::{EvalError, Template};

fn evaluate(source: &str, pairs: &[(&str, &str)]) -> Result<String, EvalError> {
    Template::compile(source)
        .unwrap()
        .evaluate(&attributes(pairs))
}

#[test]
fn the_documented_dynamic_url_fails_when_its_replacement_attribute_is_missing() {
    let source = "https://erp/orders?${http.query.string:replaceAll('&?number=[^&]*',''):\
                  replace('modified_date__gt',${modified_date__gt})}";
    let error = evaluate(source, &[("http.query.string", "number=5")]).unwrap_err();
    assert_eq!(error.function, "replace");
    assert!(error.message.contains("modified_date__gt"), "{error}");
    assert!(error.message.contains("replacement"), "{error}");
    // With the attribute present it renders.
    assert_eq!(
        evaluate(
            source,
            &[
                ("http.query.string", "modified_date__gt&number=5"),
                ("modified_date__gt", "2024-01-01"),
            ]
        )
        .unwrap(),
        "https://erp/orders?2024-01-01"
    );
}

#[test]
fn replace_with_a_null_argument_fails_hit_or_not() {
    // Java's String.replace throws on null before searching.
    for source in [
        "${a:replace('x', ${missing})}",
        "${a:replace('q', ${missing})}",
        "${a:replace(${missing}, 'y')}",
        "${a:replace('', ${missing})}",
        "${a:toUpper():replace('X', ${missing})}",
        "${a:toUpper():replace('X', ${missing:toLower()})}",
        "pre-${a:replace('x', ${missing})}-post",
        "${literal('axb'):replace('x', ${missing})}",
    ] {
        let error = evaluate(source, &[("a", "axb")]).unwrap_err();
        assert_eq!(error.function, "replace", "{source}");
        assert!(error.message.contains("missing"), "{source}: {error}");
    }
}

#[test]
fn replace_first_fails_on_a_null_replacement_even_without_a_match() {
    // Matcher.replaceFirst(null) throws before it searches.
    for source in [
        "${a:replaceFirst('x', ${missing})}",
        "${a:replaceFirst('q', ${missing})}",
        "${a:replaceFirst(${missing}, 'y')}",
        "${a:trim():replaceFirst('q', ${missing})}",
    ] {
        let error = evaluate(source, &[("a", "axb")]).unwrap_err();
        assert_eq!(error.function, "replaceFirst", "{source}");
        assert!(error.message.contains("missing"), "{source}: {error}");
    }
}

#[test]
fn replace_all_fails_on_a_null_replacement_only_when_it_matches() {
    // Matcher.replaceAll(null) returns the text unchanged when nothing matches.
    for source in [
        "${a:replaceAll('x', ${missing})}",
        "${a:replaceAll(${missing}, 'y')}",
        "${a:trim():replaceAll('x', ${missing})}",
    ] {
        let error = evaluate(source, &[("a", "axb")]).unwrap_err();
        assert_eq!(error.function, "replaceAll", "{source}");
        assert!(error.message.contains("missing"), "{source}: {error}");
    }
    assert_eq!(
        evaluate("${a:replaceAll('q', ${missing})}", &[("a", "axb")]).unwrap(),
        "axb"
    );
    assert_eq!(
        evaluate("${a:trim():replaceAll('q', ${missing})}", &[("a", "axb")]).unwrap(),
        "axb"
    );
}

#[test]
fn a_null_subject_still_short_circuits_and_null_tolerant_functions_stay_null() {
    // NiFi returns null for a null subject before evaluating the arguments.
    for source in [
        "[${missing:replace('x', ${missing2})}]",
        "[${missing:replaceAll('x', ${missing2})}]",
        "[${missing:replaceFirst('x', ${missing2})}]",
        "[${missing:replaceNull(${missing2})}]",
        "[${missing:replaceEmpty(${missing2})}]",
    ] {
        assert_eq!(evaluate(source, &[]).unwrap(), "[]", "{source}");
    }
}
