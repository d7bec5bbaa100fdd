//! `${env:NAME}` and `${env:NAME:-default}` in configuration strings.
//!
//! Substitution happens on parsed TOML values, before they are read into typed configuration,
//! so a secret's value never passes through the TOML parser's error messages. Anything else that
//! looks like `${...}` (NiFi Expression Language such as `${_order.number}`) is left alone.

use toml::Value;

/// A variable that is referenced but not set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{field}: environment variable {variable} is not set (write ${{env:{variable}:-default}} to give a default)"
)]
pub struct MissingVariable {
    /// Dotted path of the field that references it.
    pub field: String,
    /// The variable's name.
    pub variable: String,
}

impl MissingVariable {
    /// The problem without the field name.
    pub fn problem(&self) -> String {
        format!(
            "environment variable {} is not set (write ${{env:{}:-default}} to give a default)",
            self.variable, self.variable
        )
    }
}

/// Replaces every `${env:...}` in the strings of `value`, reading variables through `lookup`.
pub fn substitute(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), MissingVariable> {
    walk(value, String::new(), lookup)
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), MissingVariable> {
    match value {
        Value::String(text) => {
            if text.contains("${env:") {
                *text = substitute_text(text, &path, lookup)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), lookup)?;
            }
            Ok(())
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, child, lookup)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Substitutes the `${env:...}` references of one string.
pub fn substitute_text(
    text: &str,
    field: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, MissingVariable> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "${env:".len()..];
        let Some(end) = after.find('}') else {
            // Not closed: leave it as written; validation of the field reports it if it matters.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let reference = &after[..end];
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name.trim(), Some(default)),
            None => (reference.trim(), None),
        };
        match lookup(name).or_else(|| default.map(str::to_string)) {
            Some(value) => out.push_str(&value),
            None => {
                return Err(MissingVariable {
                    field: field.to_string(),
                    variable: name.to_string(),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "ERP_PASSWORD" => Some("s3cret".to_string()),
            _ => None,
        }
    }

    #[test]
    fn variables_and_defaults_are_substituted_and_expressions_left_alone() {
        let mut value: Value = toml::from_str(
            r#"
            password = "${env:ERP_PASSWORD}"
            url = "${env:ERP_URL:-http://127.0.0.1:8002}/orders/query?number=${_order.number}"
            [nested]
            list = ["a-${env:ERP_PASSWORD}-b"]
            "#,
        )
        .unwrap();
        substitute(&mut value, &env).unwrap();
        assert_eq!(value["password"].as_str(), Some("s3cret"));
        assert_eq!(
            value["url"].as_str(),
            Some("http://127.0.0.1:8002/orders/query?number=${_order.number}")
        );
        assert_eq!(value["nested"]["list"][0].as_str(), Some("a-s3cret-b"));
    }

    #[test]
    fn a_missing_variable_names_the_field_and_the_variable() {
        let mut value: Value = toml::from_str("[erp]\ntoken = \"${env:ERP_TOKEN}\"").unwrap();
        let err = substitute(&mut value, &env).unwrap_err();
        assert_eq!(err.field, "erp.token");
        assert_eq!(err.variable, "ERP_TOKEN");
    }
}
