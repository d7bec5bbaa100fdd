//! Compile errors say where (line/column), what was expected, and the nearest function name:
//! flow validation relies on these to refuse a bad URL when the flow is saved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_expr::Template;

#[test]
fn a_misspelt_function_names_its_position_and_the_nearest_function() {
    let error = Template::compile("https://x/${token:repalce('a', 'b')}").unwrap_err();
    assert_eq!((error.line, error.column), (1, 19));
    assert_eq!(error.suggestion.as_deref(), Some("replace"));
    assert_eq!(error.expected.as_deref(), Some("a function name"));
    assert_eq!(
        error.to_string(),
        "line 1, column 19: unknown function 'repalce'; expected a function name; did you mean `replace`?"
    );
}

#[test]
fn positions_count_lines_and_characters() {
    let error = Template::compile("héllo\n  ${a:toUpper(}").unwrap_err();
    assert_eq!((error.line, error.column), (2, 15));
    assert!(
        error.expected.as_deref().unwrap().contains("argument"),
        "{error}"
    );
}

#[test]
fn wrong_arity_says_how_many_arguments_are_expected() {
    let error = Template::compile("${a:substring()}").unwrap_err();
    assert_eq!(error.expected.as_deref(), Some("1 to 2 arguments"));
    let error = Template::compile("${getUri('https', 'x')}").unwrap_err();
    assert_eq!(error.expected.as_deref(), Some("7 argument(s)"));
}

#[test]
fn nifi_compile_time_rules_are_enforced() {
    for source in [
        "${a:isEmpty():plus(1)}",            // BOOLEAN cannot be a number
        "${allAttributes('a'):plus(1)}",     // multi-attribute without a reducer
        "${a:now()}",                        // subjectless function with a subject
        "${toUpper()}",                      // subject function without a subject
        "${length}",                         // reserved word as a bare name
        "${a:indexOf(length())}",            // function call as an argument
        "${#{param}}",                       // parameters are not supported
        "${a:matches('(unclosed')}",         // constant regex that does not compile
        "${a:toInstant('yyyy{', 'UTC')}",    // '{' is reserved in DateTimeFormatter patterns
        "${a:plusDuration('2 fortnights')}", // constant duration that does not parse
    ] {
        assert!(
            Template::compile(source).is_err(),
            "{source} should not compile"
        );
    }
}

#[test]
fn an_unclosed_expression_is_literal_text_as_in_nifi() {
    let template = Template::compile("${abc} owes me ${5").unwrap();
    let mut attributes = std::collections::HashMap::new();
    attributes.insert("abc".to_string(), "xyz".to_string());
    assert_eq!(template.evaluate(&attributes).unwrap(), "xyz owes me ${5");
}
