//! Query Check Order: deciding from the ERP's answer whether an order is already there.
//!
//! The rules, in order (decisions.md):
//! 1. no answer (transport error, timeout) → the record fails; nothing is written;
//! 2. status in *Failure Status Codes* → the record fails;
//! 3. status in *Order Not Found Codes* → not found;
//! 4. any other non-2xx → the record fails (we cannot know, so we do not write);
//! 5. 2xx with a *Custom Response Path*: nothing selected, `null`, `""`, `[]`, `{}`, or a value
//!    equal to *Custom Response Path Value* → not found; anything else → found;
//! 6. 2xx without a path: an empty body, `null`, `[]`, `{}` → not found; anything else → found.

use omnibridge_http::Exchange;
use serde_json::Value;

use crate::config::StatusCodes;
use crate::json_path::{UserPath, value_text};

/// The compiled decision settings of a Query Check Order card.
#[derive(Debug, Clone)]
pub struct QueryRules {
    /// Custom Response Path.
    pub path: Option<UserPath>,
    /// Custom Response Path Value.
    pub not_found_value: Option<String>,
    /// Failure Status Codes.
    pub failure_codes: StatusCodes,
    /// Order Not Found Codes.
    pub not_found_codes: StatusCodes,
}

/// What the query said about the order.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryVerdict {
    /// The ERP has it: skip to Check Response Script with this response body.
    Found {
        /// The query's response, parsed as JSON when it is JSON, else the text.
        response: Value,
    },
    /// The ERP does not have it: go on and create it.
    NotFound,
    /// We cannot know: the record fails and nothing is written.
    Failed {
        /// Why, for the row log.
        reason: String,
    },
}

/// A response body as the flow's later steps see it: JSON when it parses, else the text.
pub fn body_value(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::String(String::new());
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

impl QueryRules {
    /// Applies the rules to the query's exchange.
    pub fn decide(&self, exchange: &Exchange) -> QueryVerdict {
        let response = match &exchange.outcome {
            Ok(response) => response,
            Err(error) => {
                return QueryVerdict::Failed {
                    reason: format!("order query got no answer: {error}"),
                };
            }
        };
        let status = response.status.as_u16();
        if self.failure_codes.contains(status) {
            return QueryVerdict::Failed {
                reason: format!(
                    "order query answered HTTP {status}, one of the Failure Status Codes"
                ),
            };
        }
        if self.not_found_codes.contains(status) {
            return QueryVerdict::NotFound;
        }
        if !response.status.is_success() {
            return QueryVerdict::Failed {
                reason: format!(
                    "order query answered HTTP {status}, which is neither 2xx nor an Order Not Found Code; \
                     not writing, since the order may exist"
                ),
            };
        }
        let body = body_value(&response.body);
        let found = match &self.path {
            Some(path) => match path.first(&body) {
                None => false,
                Some(selected) if is_empty_value(selected) => false,
                Some(selected) => self
                    .not_found_value
                    .as_deref()
                    .is_none_or(|not_found| value_text(selected) != not_found),
            },
            None => !is_empty_value(&body),
        };
        if found {
            QueryVerdict::Found { response: body }
        } else {
            QueryVerdict::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibridge_http::{Method, Request, Response, StatusCode, TransportError};
    use serde_json::json;

    fn exchange(status: u16, body: &str) -> Exchange {
        Exchange {
            request: Request::new(Method::GET, "http://erp/orders/query?number=1"),
            outcome: Ok(Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: vec![],
                body: body.as_bytes().to_vec().into(),
            }),
            attempts: 1,
            elapsed: Default::default(),
        }
    }

    fn rules(path: Option<&str>, value: Option<&str>) -> QueryRules {
        QueryRules {
            path: path.map(|p| UserPath::parse(p).unwrap()),
            not_found_value: value.map(String::from),
            failure_codes: StatusCodes::parse("500, 503").unwrap(),
            not_found_codes: StatusCodes::parse("404, 201").unwrap(),
        }
    }

    #[test]
    fn no_answer_fails_the_record() {
        let exchange = Exchange {
            outcome: Err(TransportError::Timeout {
                url: "http://erp".into(),
                seconds: 60,
            }),
            ..exchange(200, "")
        };
        assert!(matches!(
            rules(None, None).decide(&exchange),
            QueryVerdict::Failed { .. }
        ));
    }

    #[test]
    fn listed_codes_decide_before_the_body() {
        let r = rules(Some("$.order"), None);
        assert!(matches!(
            r.decide(&exchange(503, "{}")),
            QueryVerdict::Failed { .. }
        ));
        assert_eq!(r.decide(&exchange(404, "{}")), QueryVerdict::NotFound);
        // 201 is listed as "not found" even though it is 2xx with a body.
        assert_eq!(
            r.decide(&exchange(201, r#"{"order": {"n": 1}}"#)),
            QueryVerdict::NotFound
        );
    }

    #[test]
    fn unlisted_non_2xx_fails_rather_than_guessing() {
        let verdict = rules(None, None).decide(&exchange(418, "teapot"));
        let QueryVerdict::Failed { reason } = verdict else {
            panic!("expected failure");
        };
        assert!(reason.contains("418"), "{reason}");
    }

    #[test]
    fn custom_path_empty_or_equal_to_the_value_is_not_found() {
        let r = rules(Some("order"), Some("NOT_FOUND"));
        for body in [
            r#"{"order": null}"#,
            r#"{"order": []}"#,
            r#"{"order": {}}"#,
            r#"{"order": ""}"#,
            "{}",
            r#"{"order": "NOT_FOUND"}"#,
        ] {
            assert_eq!(
                r.decide(&exchange(200, body)),
                QueryVerdict::NotFound,
                "{body}"
            );
        }
        assert_eq!(
            r.decide(&exchange(
                200,
                r#"{"order": {"number": "1", "erp_no": "E1"}}"#
            )),
            QueryVerdict::Found {
                response: json!({"order": {"number": "1", "erp_no": "E1"}})
            }
        );
    }

    #[test]
    fn without_a_path_an_empty_body_is_not_found() {
        let r = rules(None, None);
        for body in ["", "null", "[]", "{}", "  "] {
            assert_eq!(
                r.decide(&exchange(200, body)),
                QueryVerdict::NotFound,
                "{body:?}"
            );
        }
        assert!(matches!(
            r.decide(&exchange(200, "[1]")),
            QueryVerdict::Found { .. }
        ));
        assert!(matches!(
            r.decide(&exchange(200, "E123")),
            QueryVerdict::Found { .. }
        ));
    }
}
