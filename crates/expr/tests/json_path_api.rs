//! The public Jayway-compatible `JsonPath`: the Integrator-style paths RFC 9535 parsers refuse
//! (`$.data.access-token`) parse, and reading follows Jayway's `JsonPath.read` (a definite path
//! gives the value, an indefinite one a list).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_expr::{JsonPath, JsonPathError};
use serde_json::{Value, json};

fn body() -> Value {
    json!({
        "data": {
            "access-token": "tok-dash",
            "access_token": "tok-underscore",
            "expires": 3600
        },
        "items": [
            {"id": 1, "status": "open", "price": 10.5},
            {"id": 2, "status": "closed", "price": 20},
            {"id": 3, "status": "open", "nested": {"id": 30}}
        ]
    })
}

fn find(path: &str) -> Option<Value> {
    JsonPath::parse(path).unwrap().find(&body()).cloned()
}

#[test]
fn integrator_token_paths_parse_and_find_their_value() {
    assert_eq!(find("$.data.access-token"), Some(json!("tok-dash")));
    assert_eq!(
        find("$['data']['access_token']"),
        Some(json!("tok-underscore"))
    );
    assert_eq!(
        find("$[\"data\"][\"access-token\"]"),
        Some(json!("tok-dash"))
    );
    assert_eq!(find("data.access_token"), Some(json!("tok-underscore")));
    assert_eq!(find("$.data.expires"), Some(json!(3600)));
    assert_eq!(find("$.items[0].id"), Some(json!(1)));
    assert_eq!(find("$.items[-1].id"), Some(json!(3)));
    assert_eq!(find("$.data.missing"), None);
    assert_eq!(find("$.items[7].id"), None);
}

#[test]
fn definite_paths_read_as_the_value_and_indefinite_ones_as_a_list() {
    let document = body();
    let definite = JsonPath::parse("$.items[0].id").unwrap();
    assert!(definite.is_definite());
    assert_eq!(definite.read(&document), Some(json!(1)));
    assert_eq!(
        JsonPath::parse("$.nothing.here").unwrap().read(&document),
        None
    );

    let deep = JsonPath::parse("$..id").unwrap();
    assert!(!deep.is_definite());
    assert_eq!(deep.read(&document), Some(json!([1, 2, 3, 30])));
    assert_eq!(
        deep.select(&document),
        vec![&json!(1), &json!(2), &json!(3), &json!(30)]
    );
    assert_eq!(deep.find(&document), Some(&json!(1)));
    // An indefinite path that matches nothing reads as an empty list.
    assert_eq!(
        JsonPath::parse("$..nothing").unwrap().read(&document),
        Some(json!([]))
    );
    assert_eq!(
        JsonPath::parse("$.items[*].id").unwrap().read(&document),
        Some(json!([1, 2, 3]))
    );
    assert_eq!(
        JsonPath::parse("$.items[0:2].id").unwrap().read(&document),
        Some(json!([1, 2]))
    );
}

#[test]
fn filters_select_matching_elements() {
    let document = body();
    let read = |path: &str| JsonPath::parse(path).unwrap().read(&document);
    assert_eq!(
        read("$.items[?(@.status == 'open')].id"),
        Some(json!([1, 3]))
    );
    assert_eq!(read("$.items[?(@.price > 15)].id"), Some(json!([2])));
    assert_eq!(read("$.items[?(@.nested)].id"), Some(json!([3])));
    assert_eq!(
        read("$.items[?(@.id != 2)].status"),
        Some(json!(["open", "open"]))
    );
}

#[test]
fn invalid_paths_are_refused_with_the_path_and_the_reason() {
    for path in ["$..", "$.a[", "$.a[?(@.b ~ 1)]", "$.", "$.a['b"] {
        let error: JsonPathError = JsonPath::parse(path).unwrap_err();
        assert_eq!(error.path, path);
        assert!(!error.message.is_empty());
        assert!(error.to_string().contains(path), "{error}");
    }
}
