//! JSONPath as users write it in flow settings (`$.data.token`, or a bare `data.token`), in
//! the Jayway dialect the Integrator (and NiFi's `jsonPath` functions) use: one implementation,
//! `omnibridge_expr::JsonPath`, for every path a flow names. RFC 9535 parsers refuse paths
//! Integrator users write every day, such as `$.data.access-token`.

use omnibridge_expr::JsonPath;
use serde_json::Value;

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct UserPath {
    text: String,
    path: JsonPath,
}

/// A JSONPath that does not parse.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{text:?} is not a valid JSONPath: {message}")]
pub struct PathError {
    /// The path as written.
    pub text: String,
    /// The parser's explanation.
    pub message: String,
}

impl UserPath {
    /// Parses a path; a bare `a.b[0]` is read as `$.a.b[0]` (decisions.md).
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let trimmed = text.trim();
        let normalized = if trimmed.starts_with('$') {
            trimmed.to_string()
        } else if trimmed.starts_with('[') {
            format!("${trimmed}")
        } else {
            format!("$.{trimmed}")
        };
        let path = JsonPath::parse(&normalized).map_err(|e| PathError {
            text: text.to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            text: text.to_string(),
            path,
        })
    }

    /// The path as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every node the path selects.
    pub fn select<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        self.path.select(value)
    }

    /// The first node the path selects, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.path.find(value)
    }
}

/// A selected value as text: strings as they are, other JSON as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_paths_are_rooted() {
        let body = json!({"data": {"access_token": "abc"}, "list": [{"n": 1}]});
        assert_eq!(
            UserPath::parse("data.access_token").unwrap().first(&body),
            Some(&json!("abc"))
        );
        assert_eq!(
            UserPath::parse("$.list[0].n").unwrap().first(&body),
            Some(&json!(1))
        );
        assert_eq!(UserPath::parse("$.missing").unwrap().first(&body), None);
    }

    #[test]
    fn jayway_paths_that_rfc_9535_refuses_are_read() {
        let body = json!({"data": {"access-token": "t1", "access_token": "t2"}});
        assert_eq!(
            UserPath::parse("$.data.access-token").unwrap().first(&body),
            Some(&json!("t1"))
        );
        assert_eq!(
            UserPath::parse("data.access-token").unwrap().first(&body),
            Some(&json!("t1"))
        );
        assert_eq!(
            UserPath::parse("$['data']['access_token']")
                .unwrap()
                .first(&body),
            Some(&json!("t2"))
        );
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        let err = UserPath::parse("$.a[").unwrap_err();
        assert!(err.to_string().contains("$.a["), "{err}");
    }
}
