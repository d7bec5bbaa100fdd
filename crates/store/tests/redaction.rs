#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The redactor on its own: nested keys, header-like text, exact secret values, caps.

use omnibridge_store::{Redactor, SecretValues, request_hash, truncation_marker};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn sensitive_keys_are_redacted_at_any_depth_whatever_their_value() {
    let r = Redactor::default();
    let mut value = json!({
        "number": "1001",
        "customer": {"email": "a@b.c", "credentials": {"user": "u", "pass": "p"}},
        "payments": [{"amount": 10, "card": {"cvv": "1", "api-key": 99, "Client_Secret": null}}],
        "ACCESS_TOKEN": ["t1", "t2"],
        "refresh_token": {"v": 1},
        "authorization": "Basic dXNlcjpwYXNz",
        "author": "kept"
    });
    r.redact_json(&mut value);
    assert_eq!(
        value,
        json!({
            "number": "1001",
            "customer": {"email": "a@b.c", "credentials": "***"},
            "payments": [{"amount": 10, "card": {"cvv": "1", "api-key": "***", "Client_Secret": "***"}}],
            "ACCESS_TOKEN": "***",
            "refresh_token": "***",
            "authorization": "***",
            "author": "kept"
        })
    );
}

#[test]
fn extra_sensitive_keys_can_be_configured() {
    let r = Redactor::default().with_sensitive_keys(["iban", "tckn"]);
    let mut value = json!({"IBAN": "TR00", "customer": {"tc_kn": "123"}, "name": "x"});
    r.redact_json(&mut value);
    assert_eq!(
        value,
        json!({"IBAN": "***", "customer": {"tc_kn": "***"}, "name": "x"})
    );
}

#[test]
fn header_like_text_is_redacted() {
    let r = Redactor::default();
    let text = "POST /orders HTTP/1.1\r\nHost: erp\r\nAuthorization: Bearer abc.def.ghi\r\n\
                x-api-key: 123\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nAccept: */*\r\n";
    assert_eq!(
        r.redact_text(text),
        "POST /orders HTTP/1.1\r\nHost: erp\r\nAuthorization: ***\r\n\
         x-api-key: ***\r\nProxy-Authorization: ***\r\nAccept: */*\r\n"
    );
    // Anywhere in a line, e.g. inside an error message.
    assert_eq!(
        r.redact_text("request failed (Authorization: Token 9f8e7d6c5b4a)"),
        "request failed (Authorization: ***"
    );
    // Credentials after an auth scheme, wherever they are.
    assert_eq!(
        r.redact_text("sent Bearer eyJhbGciOiJIUzI1NiJ9.x.y to the ERP"),
        "sent Bearer *** to the ERP"
    );
    // ...but prose after the same words is left alone.
    assert_eq!(
        r.redact_text("basic validation failed; bearer information missing"),
        "basic validation failed; bearer information missing"
    );
}

#[test]
fn form_bodies_query_strings_and_broken_json_are_redacted() {
    let r = Redactor::default();
    assert_eq!(
        r.redact_body("grant_type=client_credentials&client_id=c&client_secret=s3&scope=x"),
        "grant_type=client_credentials&client_id=c&client_secret=***&scope=x"
    );
    assert_eq!(
        r.redact_text("GET https://erp/q?number=1001&token=abc&x=1"),
        "GET https://erp/q?number=1001&token=***&x=1"
    );
    // Truncated JSON does not parse: the text rule still finds the pair.
    assert_eq!(
        r.redact_body(r#"{"user": "u", "password": "hunter2", "lines": [1, 2"#),
        r#"{"user": "u", "password": "***", "lines": [1, 2"#
    );
    // A Python dict repr from a script's log attribute.
    assert_eq!(
        r.redact_text("{'username': 'u', 'password': 'hunter2'}"),
        "{'username': 'u', 'password': '***'}"
    );
}

#[test]
fn exact_secret_values_are_replaced_wherever_they_appear() {
    let secrets = SecretValues::new();
    let r = Redactor::new(secrets.clone());
    secrets.add("a1b2c3d4e5");
    secrets.add("a1b2c3d4e5f6g7"); // contains the first: replaced whole, longest first
    secrets.add("xy"); // too short to scrub as a value
    assert_eq!(secrets.len(), 2);
    assert_eq!(
        r.redact_body(r#"{"note": "used a1b2c3d4e5f6g7 then a1b2c3d4e5", "ok": "xy"}"#),
        r#"{"note":"used *** then ***","ok":"xy"}"#
    );
    assert_eq!(r.redact_text("plain a1b2c3d4e5 text"), "plain *** text");
    // Secrets added later apply to later writes; removed ones no longer do.
    secrets.remove("a1b2c3d4e5");
    assert_eq!(
        r.redact_text("plain a1b2c3d4e5 text"),
        "plain a1b2c3d4e5 text"
    );
}

#[test]
fn untouched_json_keeps_its_formatting_and_non_json_stays_text() {
    let r = Redactor::default();
    let pretty = "{\n  \"number\": \"1001\",\n  \"lines\": []\n}";
    assert_eq!(r.redact_body(pretty), pretty);
    assert_eq!(r.redact_body("\"just a string\""), "\"just a string\"");
    assert_eq!(
        r.redact_body("<order><no>1</no></order>"),
        "<order><no>1</no></order>"
    );
}

#[test]
fn bodies_over_the_cap_carry_a_marker_with_the_original_size() {
    let r = Redactor::default();
    let body = format!("{{\"password\": \"p\", \"pad\": \"{}\"}}", "z".repeat(500));
    let stored = r.prepare_body(&body, 100);
    assert!(stored.truncated);
    assert_eq!(stored.original_bytes, body.len() as u64);
    assert!(stored.text.starts_with(r#"{"password":"***","pad":"zzz"#));
    assert!(
        stored
            .text
            .ends_with(&truncation_marker(body.len() as u64, 100))
    );
    let small = r.prepare_body("short", 100);
    assert!(!small.truncated);
    assert_eq!(small.text, "short");
    assert_eq!(small.original_bytes, 5);
}

#[test]
fn request_hash_is_sha256_hex() {
    assert_eq!(
        request_hash(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever surrounds a registered secret, it never survives redaction or capping.
    #[test]
    fn a_registered_secret_never_survives(
        prefix in "[ -~\n]{0,60}",
        suffix in "[ -~\n]{0,60}",
        secret in "[A-Za-z0-9._-]{8,40}",
        cap in 1usize..200,
        as_json in any::<bool>(),
    ) {
        let secrets = SecretValues::new();
        secrets.add(secret.clone());
        let r = Redactor::new(secrets);
        let body = if as_json {
            json!({"a": prefix, "b": [format!("{secret}{suffix}")]}).to_string()
        } else {
            format!("{prefix}{secret}{suffix}")
        };
        let stored = r.prepare_body(&body, cap);
        prop_assert!(!stored.text.contains(&secret), "{:?}", stored.text);
        prop_assert_eq!(stored.original_bytes, body.len() as u64);
    }

    /// A capped body is never longer than the cap plus its marker, and says so.
    #[test]
    fn capping_is_never_silent(body in "\\PC{0,400}", cap in 0usize..300) {
        let r = Redactor::default();
        let stored = r.prepare_body(&body, cap);
        let redacted = r.redact_body(&body);
        if redacted.len() > cap {
            prop_assert!(stored.truncated);
            prop_assert!(stored.text.contains("truncated by omnibridge"));
            let marker = truncation_marker(body.len() as u64, 0);
            prop_assert!(stored.text.len() <= cap + marker.len() + 20);
        } else {
            prop_assert!(!stored.truncated);
            prop_assert_eq!(stored.text, redacted);
        }
    }
}
