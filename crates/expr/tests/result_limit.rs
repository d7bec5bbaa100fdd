//! Evaluation output is bounded: every function that can grow a string, and the rendered
//! template, fail with an error naming the function and the limit instead of building a string
//! larger than `EvalOptions::max_result_len` (default `DEFAULT_MAX_RESULT_LEN`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::attributes;
use omnibridge_expr::{DEFAULT_MAX_RESULT_LEN, EvalError, EvalOptions, Template};

fn evaluate_limited(
    source: &str,
    pairs: &[(&str, &str)],
    limit: usize,
) -> Result<String, EvalError> {
    let options = EvalOptions::new().with_max_result_len(limit);
    Template::compile(source)
        .unwrap()
        .evaluate_with(&attributes(pairs), &options)
}

fn assert_too_large(result: Result<String, EvalError>, function: &str, limit: usize) {
    let error = result.expect_err("the result should have been refused");
    assert_eq!(error.function, function, "{error}");
    assert!(
        error.message.contains(&limit.to_string()),
        "the message names the limit: {error}"
    );
}

#[test]
fn the_default_limit_is_16_mib() {
    assert_eq!(DEFAULT_MAX_RESULT_LEN, 16 * 1024 * 1024);
    assert_eq!(EvalOptions::new().max_result_len(), DEFAULT_MAX_RESULT_LEN);
}

#[test]
fn a_huge_pad_is_refused_before_it_is_allocated() {
    for source in [
        "${x:padLeft(2000000000)}",
        "${x:padRight(2000000000)}",
        "${x:padLeft(2000000000, 'é€')}",
        "${x:padRight(${n})}",
    ] {
        let started = Instant::now();
        let template = Template::compile(source).unwrap();
        let error = template
            .evaluate(&attributes(&[("x", "a"), ("n", "2000000000")]))
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{source} took {:?}",
            started.elapsed()
        );
        assert!(error.function.starts_with("pad"), "{source}: {error}");
        assert!(error.to_string().contains(&error.function), "{error}");
        assert!(
            error.message.contains(&DEFAULT_MAX_RESULT_LEN.to_string()),
            "{error}"
        );
    }
    let error = Template::compile("${x:padLeft(2000000000)}")
        .unwrap()
        .evaluate(&attributes(&[("x", "a")]))
        .unwrap_err();
    assert_eq!(error.function, "padLeft");
    // Within the limit a pad still works, with a multi-byte pad counted in bytes.
    assert_eq!(
        evaluate_limited("${x:padLeft(4, 'é')}", &[("x", "a")], 7).unwrap(),
        "éééa"
    );
    assert_too_large(
        evaluate_limited("${x:padLeft(5, 'é')}", &[("x", "a")], 8),
        "padLeft",
        8,
    );
}

#[test]
fn a_replace_all_expansion_over_the_default_limit_names_replace_all() {
    let big = "a".repeat(1024 * 1024);
    let template = Template::compile("${big:replaceAll('a', 'aaaaaaaaaaaaaaaaaaaa')}").unwrap();
    let error = template
        .evaluate(&attributes(&[("big", &big)]))
        .unwrap_err();
    assert_eq!(error.function, "replaceAll", "{error}");
    assert!(
        error.message.contains(&DEFAULT_MAX_RESULT_LEN.to_string()),
        "{error}"
    );
    // The same in the middle of a chain and with group references in the replacement.
    let template = Template::compile(
        "${big:replaceAll('(a)', '$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1'):length()}",
    )
    .unwrap();
    let error = template
        .evaluate(&attributes(&[("big", &big)]))
        .unwrap_err();
    assert_eq!(error.function, "replaceAll", "{error}");
}

#[test]
fn a_lower_limit_from_eval_options_is_honoured_by_every_growing_function() {
    let limit = 10;
    let cases = [
        ("${x:append('0123456789')}", "append"),
        ("${x:prepend('0123456789')}", "prepend"),
        ("${x:repeat(11)}", "repeat"),
        ("${x:replace('a', 'aaaaaaaaaaa')}", "replace"),
        ("${x:toUpper():replace('A', 'AAAAAAAAAAA')}", "replace"),
        (
            "${x:trim():replace('a', 'aaaaaaaaaaa'):length()}",
            "replace",
        ),
        ("${literal('a'):replace('a', 'aaaaaaaaaaa')}", "replace"),
        ("${x:replace('', 'aaaaaa')}", "replace"),
        ("${x:replaceFirst('a', 'aaaaaaaaaaa')}", "replaceFirst"),
        ("${x:replaceAll('a', 'aaaaaaaaaaa')}", "replaceAll"),
        (
            "${x:trim():replaceAll('a', 'aaaaaaaaaaa'):length()}",
            "replaceAll",
        ),
        ("${x:padRight(11)}", "padRight"),
        ("${n:toRadix(2, 11)}", "toRadix"),
        ("${allAttributes('x', 'y'):join('----------')}", "join"),
        ("${y:urlEncode()}", "urlEncode"),
        ("${y:escapeJson()}", "escapeJson"),
        ("${y:base64Encode()}", "base64Encode"),
        ("0123456789${x}", "expression"),
        ("${x}0123456789", "expression"),
        ("${y}${y}${y}", "expression"),
        ("${x:append('123456789')}${x}", "expression"),
    ];
    let pairs = [("x", "a"), ("y", "<é\"é>"), ("n", "5")];
    for (source, function) in cases {
        assert_too_large(evaluate_limited(source, &pairs, limit), function, limit);
        // The default limit lets every one of them through.
        assert!(
            Template::compile(source)
                .unwrap()
                .evaluate(&attributes(&pairs))
                .is_ok(),
            "{source}"
        );
    }
    // At exactly the limit nothing is refused.
    assert_eq!(
        evaluate_limited("${x:append('123456789')}", &pairs, limit).unwrap(),
        "a123456789"
    );
    assert_eq!(
        evaluate_limited("${x:replaceAll('a', 'bbbbbbbbbb')}", &pairs, limit).unwrap(),
        "bbbbbbbbbb"
    );
}

#[test]
fn text_already_in_the_callers_buffer_does_not_count() {
    let template = Template::compile("${x:append('123456789')}").unwrap();
    let options = EvalOptions::new().with_max_result_len(10);
    let mut out = "already here: ".repeat(10);
    let before = out.len();
    template
        .evaluate_into_with(&attributes(&[("x", "a")]), &options, &mut out)
        .unwrap();
    assert_eq!(&out[before..], "a123456789");
}
