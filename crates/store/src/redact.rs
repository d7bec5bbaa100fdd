//! Redaction and size capping of everything the store keeps that may carry a secret:
//! request and response bodies, error messages and `log.*` attributes.
//!
//! Three layers, because secrets reach logs in three shapes:
//! 1. structure: a JSON body is parsed and the value of every sensitive key (at any depth, e.g.
//!    `password`, `client_secret`, `access_token`, `Authorization`) becomes `"***"`;
//! 2. text patterns: header lines (`Authorization: Bearer ...`), `key=value` pairs (query strings,
//!    form bodies), `"key": value` pairs in text that is not valid JSON (truncated JSON, Python
//!    dict reprs) and `Bearer`/`Basic` credentials anywhere;
//! 3. exact values: the secrets the engine knows (the current tokens, configured passwords) are
//!    registered in a shared [`SecretValues`] and replaced wherever they appear, whatever the
//!    shape around them.
//!
//! Then a size cap: a body over the cap keeps its first bytes and ends with an explicit marker
//! saying how large the original was ([`truncation_marker`]); it is never cut silently.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock, RwLock};

use regex::{Captures, Regex};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not replaced as exact values (a 2-character "secret" would
/// shred every body); they are still caught by the key and header rules.
pub const MIN_SECRET_LEN: usize = 4;

/// Default cap on a row log body (request or response), in bytes: 64 KiB.
pub const DEFAULT_ROW_LOG_BODY_CAP: usize = 64 * 1024;

/// Default cap on the write's response kept in the ledger, in bytes: 1 MiB. Larger than the row
/// log cap because a resumed record may have to check it again (e.g. the Order Flow's Check
/// Response Script).
pub const DEFAULT_LEDGER_BODY_CAP: usize = 1024 * 1024;

/// Key fragments that make a key sensitive when found anywhere in it (after lower-casing and
/// removing `-`, `_`, `.` and spaces): `client_secret`, `X-Api-Key`, `refresh_token`, ...
const SENSITIVE_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "privatekey",
    "cookie",
];

/// Keys that are sensitive only as a whole (too short to match as fragments).
const SENSITIVE_EXACT: &[&str] = &["auth", "pwd", "pass", "sessionid", "signature", "jwt"];

/// A shared, growable set of exact secret values (tokens, passwords) to scrub from everything
/// the store writes. Cloning shares the set: the login layer adds each token it obtains, and
/// every later write is scrubbed of it.
#[derive(Debug, Clone, Default)]
pub struct SecretValues {
    values: Arc<RwLock<BTreeSet<String>>>,
}

impl SecretValues {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value. Values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn add(&self, value: impl Into<String>) {
        let value = value.into();
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut set = self
            .values
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.insert(value);
    }

    /// Forgets a secret value (e.g. a token that was replaced long ago).
    pub fn remove(&self, value: &str) {
        let mut set = self
            .values
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.remove(value);
    }

    /// How many values are registered.
    pub fn len(&self) -> usize {
        self.values
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    /// True when no value is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, longest first, so a secret that contains another is replaced whole.
    fn longest_first(&self) -> Vec<String> {
        let set = self
            .values
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut values: Vec<String> = set.iter().cloned().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
    }
}

/// A body as the store keeps it: redacted, capped, with its original size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredBody {
    /// The redacted text; when `truncated`, its first bytes followed by [`truncation_marker`].
    pub text: String,
    /// The size in bytes of the body as it was handed to the store, before redaction.
    pub original_bytes: u64,
    /// True when the text was cut to the cap.
    pub truncated: bool,
}

/// The marker appended to a truncated body. It states the original size so a reader never
/// mistakes a cut body for the whole one.
pub fn truncation_marker(original_bytes: u64, kept_bytes: usize) -> String {
    format!(
        "\n...[truncated by omnibridge: original {original_bytes} bytes, first {kept_bytes} bytes kept]"
    )
}

/// SHA-256 of a request body, lower-case hex: what the ledger records as the intent's
/// `request_hash`, so a later attempt can tell whether it would send the same bytes.
pub fn request_hash(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// The redaction rules: which keys are sensitive, and which exact values to scrub.
#[derive(Debug, Clone)]
pub struct Redactor {
    fragments: Vec<String>,
    exact: Vec<String>,
    secrets: SecretValues,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(SecretValues::new())
    }
}

// The patterns are constants exercised by this module's tests: failing to compile them is a
// programming error caught before release, not a runtime condition.
#[allow(clippy::expect_used)]
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("redaction pattern is a valid constant regex")
}

/// `Name: value` header lines.
static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?m)^([ \t]*)([A-Za-z0-9_.-]{1,100})([ \t]*:[ \t]*)([^\r\n]*)"));
/// Well-known credential headers anywhere in a line (e.g. inside an error message), up to the
/// end of the line.
static CREDENTIAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|set-cookie|cookie)([ \t]*:[ \t]*)[^\r\n]+",
    )
});
/// `"key": value` pairs in text that is not parseable JSON.
static QUOTED_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r#"(["'])([^"'\\\r\n]{1,100})(["'][ \t]*:[ \t]*)("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^,}\]\s]+)"#,
    )
});
/// `key=value` pairs (query strings, form bodies).
static KEY_VALUE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(^|[?&;,\s])([A-Za-z0-9_.\[\]-]{1,100})=([^&;,\s#]*)"));
/// Credentials after an HTTP auth scheme, wherever they appear.
static AUTH_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b(bearer|basic|digest)([ \t]+)[A-Za-z0-9._~+/=-]{8,}"));

impl Redactor {
    /// The default sensitive keys, scrubbing the given exact secret values too.
    pub fn new(secrets: SecretValues) -> Self {
        Redactor {
            fragments: SENSITIVE_FRAGMENTS.iter().map(|s| s.to_string()).collect(),
            exact: SENSITIVE_EXACT.iter().map(|s| s.to_string()).collect(),
            secrets,
        }
    }

    /// Adds key fragments to treat as sensitive (matched like the defaults: case-insensitive,
    /// ignoring `-`, `_`, `.` and spaces, anywhere in the key).
    pub fn with_sensitive_keys<I, S>(mut self, fragments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.fragments
            .extend(fragments.into_iter().map(|f| normalize_key(f.as_ref())));
        self
    }

    /// The exact secret values this redactor scrubs (shared: add to it at any time).
    pub fn secrets(&self) -> &SecretValues {
        &self.secrets
    }

    /// True when a key (JSON key, header name, form field) names a secret.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        let key = normalize_key(key);
        if key.is_empty() {
            return false;
        }
        self.exact.contains(&key) || self.fragments.iter().any(|f| key.contains(f))
    }

    /// Redacts a JSON value in place: sensitive keys at any depth, then the text rules and the
    /// exact secret values inside every string.
    pub fn redact_json(&self, value: &mut Value) {
        let secrets = self.secrets.longest_first();
        self.redact_json_with(value, &secrets);
    }

    fn redact_json_with(&self, value: &mut Value, secrets: &[String]) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if self.is_sensitive_key(key) {
                        *child = Value::String(REDACTED.to_string());
                    } else {
                        self.redact_json_with(child, secrets);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_json_with(item, secrets);
                }
            }
            Value::String(s) => {
                let redacted = self.redact_text_with(s, secrets);
                if redacted != *s {
                    *s = redacted;
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Redacts free text: header lines, `key=value` and `"key": value` pairs with sensitive
    /// keys, credentials after `Bearer`/`Basic`, and every registered secret value.
    pub fn redact_text(&self, text: &str) -> String {
        let secrets = self.secrets.longest_first();
        self.redact_text_with(text, &secrets)
    }

    fn redact_text_with(&self, text: &str, secrets: &[String]) -> String {
        let mut out = HEADER_LINE
            .replace_all(text, |c: &Captures| {
                if self.is_sensitive_key(&c[2]) {
                    format!("{}{}{}{REDACTED}", &c[1], &c[2], &c[3])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        out = CREDENTIAL_HEADER
            .replace_all(&out, |c: &Captures| format!("{}{}{REDACTED}", &c[1], &c[2]))
            .into_owned();
        out = QUOTED_PAIR
            .replace_all(&out, |c: &Captures| {
                if self.is_sensitive_key(&c[2]) {
                    let quote = if c[4].starts_with('\'') { "'" } else { "\"" };
                    format!("{}{}{}{quote}{REDACTED}{quote}", &c[1], &c[2], &c[3])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        out = KEY_VALUE
            .replace_all(&out, |c: &Captures| {
                if self.is_sensitive_key(&c[2]) {
                    format!("{}{}={REDACTED}", &c[1], &c[2])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        out = AUTH_SCHEME
            .replace_all(&out, |c: &Captures| {
                // "basic information" is prose; a credential has a digit or a symbol, or is long.
                let credential = &c[0][c[1].len() + c[2].len()..];
                if credential.len() >= 24 || credential.chars().any(|ch| !ch.is_ascii_alphabetic())
                {
                    format!("{}{}{REDACTED}", &c[1], &c[2])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        for secret in secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redacts a body: structurally when it is JSON (re-serialized only when something was
    /// redacted, so untouched bodies keep their formatting), as text otherwise.
    pub fn redact_body(&self, body: &str) -> String {
        let secrets = self.secrets.longest_first();
        if let Ok(mut value) = serde_json::from_str::<Value>(body)
            && (value.is_object() || value.is_array())
        {
            let before = value.clone();
            self.redact_json_with(&mut value, &secrets);
            if value == before {
                return body.to_string();
            }
            // Serializing a Value cannot fail (string keys only); fall back to text rules if
            // it ever did rather than storing the unredacted body.
            return match serde_json::to_string(&value) {
                Ok(text) => text,
                Err(_) => self.redact_text_with(body, &secrets),
            };
        }
        self.redact_text_with(body, &secrets)
    }

    /// Redacts a body and caps it at `cap` bytes, marking any truncation.
    pub fn prepare_body(&self, body: &str, cap: usize) -> StoredBody {
        let original_bytes = body.len() as u64;
        let redacted = self.redact_body(body);
        let (text, truncated) = cap_text(redacted, cap, original_bytes);
        StoredBody {
            text,
            original_bytes,
            truncated,
        }
    }
}

/// Cuts `text` to at most `cap` bytes (on a character boundary) plus the marker.
pub(crate) fn cap_text(text: String, cap: usize, original_bytes: u64) -> (String, bool) {
    if text.len() <= cap {
        return (text, false);
    }
    let mut end = cap;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 80);
    out.push_str(&text[..end]);
    out.push_str(&truncation_marker(original_bytes, end));
    (out, true)
}

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        LazyLock::force(&HEADER_LINE);
        LazyLock::force(&QUOTED_PAIR);
        LazyLock::force(&CREDENTIAL_HEADER);
        LazyLock::force(&KEY_VALUE);
        LazyLock::force(&AUTH_SCHEME);
    }

    #[test]
    fn key_normalization_matches_common_spellings() {
        let r = Redactor::default();
        for key in [
            "password",
            "Password",
            "client_secret",
            "X-Api-Key",
            "api_key",
            "access_token",
            "Authorization",
            "Proxy-Authorization",
            "auth",
            "Cookie",
        ] {
            assert!(r.is_sensitive_key(key), "{key} should be sensitive");
        }
        for key in ["number", "pk", "amount", "author", "status", "is_send"] {
            assert!(!r.is_sensitive_key(key), "{key} should not be sensitive");
        }
    }
}
