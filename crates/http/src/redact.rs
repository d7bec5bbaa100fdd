//! URLs as they may be printed: a flow's URL can carry credentials (a password in its user
//! info, an API key or token in its query string), and URLs end up in errors and logs.

/// What replaces a credential.
const REDACTED: &str = "***";

/// Query parameter names (lowercased, without `-`/`_`) that hold credentials when they contain
/// one of these: `api_key`, `apiKey`, `access_token`, `client_secret`, `password`, `sig`...
const SECRET_NAME_PARTS: [&str; 9] = [
    "key",
    "token",
    "secret",
    "pass",
    "pwd",
    "sig",
    "auth",
    "credential",
    "session",
];

/// `url` with its credentials replaced by `***`: the password of its user info, and the value
/// of every query parameter whose name says it holds one (`api_key`, `token`, `password`,
/// `client_secret`, `signature`...). Text that does not parse as a URL is returned with any
/// `user:password@` it seems to hold redacted. Use it wherever a URL is printed or logged.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return redact_unparsed_userinfo(url);
    };
    let mut changed = false;
    if parsed.password().is_some() {
        // Only URLs that cannot have a password refuse one, and this one has one.
        let _ = parsed.set_password(Some(REDACTED));
        changed = true;
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if pairs.iter().any(|(name, _)| is_secret_name(name)) {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &pairs {
                if is_secret_name(name) {
                    query.append_pair(name, REDACTED);
                } else {
                    query.append_pair(name, value);
                }
            }
            parsed.set_query(Some(&query.finish()));
            changed = true;
        }
    }
    if changed {
        parsed.to_string()
    } else {
        url.to_string()
    }
}

fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAME_PARTS.iter().any(|part| folded.contains(part))
}

/// `scheme://user:password@rest` → `scheme://user:***@rest`, for text `url` cannot parse.
fn redact_unparsed_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &text[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return text.to_string();
    };
    format!(
        "{}{}:{REDACTED}{}",
        &text[..authority_start],
        &userinfo[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_secret_query_values_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/test"),
            "postgres://app:***@db:5432/test"
        );
        assert_eq!(
            redact_url("https://erp.example/orders?api_key=K123&page=2"),
            "https://erp.example/orders?api_key=***&page=2"
        );
        for name in [
            "apiKey",
            "access_token",
            "X-Auth",
            "client_secret",
            "Signature",
        ] {
            let redacted = redact_url(&format!("https://h/p?{name}=VALUE&a=1"));
            assert!(!redacted.contains("VALUE"), "{name}: {redacted}");
            assert!(redacted.contains("a=1"), "{redacted}");
        }
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        for url in [
            "https://erp.example/orders?page=2&number=1001",
            "http://127.0.0.1:8002/(S(abc))/service/run?{'name': 'Akinon'}",
            "sqlite:///tmp/x.db",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn text_that_is_not_a_url_still_loses_its_password() {
        assert_eq!(
            redact_url("postgres://u:p@ss@host:bad-port/db"),
            "postgres://u:***@host:bad-port/db"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
