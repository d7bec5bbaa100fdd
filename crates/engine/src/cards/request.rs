//! Every ERP call of every flow: a request whose URL and header values are NiFi Expression
//! Language templates, sent through the flow's ERP login profile.
//!
//! The login's header is added to each request, and `token.erp` in the URL or headers is the
//! token the request is actually sent with (it may be renewed while a record runs). When the ERP
//! answers with one of the flow's re-login statuses (401 by default), omnibridge logs in once
//! more and sends the rebuilt request once more.

use std::collections::BTreeMap;

use omnibridge_expr::Template;
use omnibridge_http::{Exchange, Method, Request};

use super::build::{BuildContext, check_http_url};
use crate::attributes::Attributes;
use crate::execution::Stop;
use crate::login::{ErpSession, SendError};

/// An HTTP request whose URL and header values are expressions.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Method.
    pub method: Method,
    /// URL template.
    pub url: Template,
    /// Header names and value templates.
    pub headers: Vec<(String, Template)>,
}

/// Reads an HTTP method named by `field`.
pub fn parse_method(text: &str, allowed: &[Method]) -> Result<Method, String> {
    let upper = text.trim().to_ascii_uppercase();
    allowed
        .iter()
        .find(|m| m.as_str() == upper)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            format!("{text:?} is not one of {}", names.join(", "))
        })
}

/// Every method a write card may use.
pub const WRITE_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

impl RequestTemplate {
    /// Builds a card's request (`<card>.method`, `<card>.url`, `<card>.headers.*`), recording
    /// every problem in `cx`.
    pub fn build(
        cx: &mut BuildContext<'_>,
        card: &str,
        method: &str,
        url: &str,
        headers: &BTreeMap<String, String>,
        methods: &[Method],
    ) -> Option<Self> {
        let method = cx.check(&format!("{card}.method"), parse_method(method, methods));
        let url = Self::build_url(cx, &format!("{card}.url"), url);
        let headers = build_headers(cx, &format!("{card}.headers"), headers);
        Some(Self {
            method: method?,
            url: url?,
            headers: headers?,
        })
    }

    /// Compiles a URL field: a literal URL is checked whole; an expression at least has to
    /// start like a URL (or be an expression that produces one).
    pub fn build_url(cx: &mut BuildContext<'_>, field: &str, url: &str) -> Option<Template> {
        let template = cx.template(field, url)?;
        let text = template.source().trim();
        let problem = if template.is_literal() {
            check_http_url(text).err()
        } else if text.starts_with("http://")
            || text.starts_with("https://")
            || text.starts_with("${")
        {
            None
        } else {
            Some(format!("{text:?} must start with http:// or https://"))
        };
        match problem {
            Some(problem) => {
                cx.error(field, problem);
                None
            }
            None => Some(template),
        }
    }

    /// The request for these attributes, sent with `token` as `token.erp`.
    pub fn request(
        &self,
        attributes: &BTreeMap<String, String>,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Request, String> {
        let view = WithToken { attributes, token };
        let url = evaluate(&self.url, &view, "URL")?;
        let mut request = Request::new(self.method.clone(), url);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        for (name, value) in &self.headers {
            request.set_header(name, evaluate(value, &view, name)?);
        }
        Ok(request)
    }

    /// Whether the template builds the same request from both sets of attributes (with the same
    /// ERP token): then an answer to one is the answer to the other.
    pub fn same_request(&self, early: &Attributes, now: &Attributes) -> bool {
        let build = |attributes: &Attributes| self.request(attributes.map(), "", None).ok();
        match (build(early), build(now)) {
            (Some(a), Some(b)) => a.method == b.method && a.url == b.url && a.headers == b.headers,
            _ => false,
        }
    }
}

/// Compiles a table of header names and value expressions.
pub fn build_headers(
    cx: &mut BuildContext<'_>,
    field: &str,
    headers: &BTreeMap<String, String>,
) -> Option<Vec<(String, Template)>> {
    let mut compiled = Vec::new();
    let mut ok = true;
    for (name, value) in headers {
        let field = format!("{field}.{name}");
        if omnibridge_http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            cx.error(&field, format!("{name:?} is not a valid header name"));
            ok = false;
            continue;
        }
        match cx.template(&field, value) {
            Some(template) => compiled.push((name.clone(), template)),
            None => ok = false,
        }
    }
    ok.then_some(compiled)
}

/// Sends a request built by `build` (given the token it is sent with) through the ERP login,
/// renewing the token once if the ERP refuses it with one of `relogin_statuses`.
pub async fn send(
    erp: &ErpSession,
    relogin_statuses: &[u16],
    build: impl Fn(&str) -> Result<Request, String>,
) -> Result<Exchange, Stop> {
    erp.send(relogin_statuses, build)
        .await
        .map_err(|e| match e {
            SendError::Login(e) => Stop::failed(format!("ERP login failed: {e}")),
            SendError::Build(e) => Stop::failed(e),
        })
}

/// A record's attributes with `token.erp` replaced by the token a request is sent with.
pub struct WithToken<'a> {
    /// The record's attributes.
    pub attributes: &'a BTreeMap<String, String>,
    /// The token the request goes with.
    pub token: &'a str,
}

impl omnibridge_expr::Attributes for WithToken<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if name == "token.erp" {
            Some(self.token)
        } else {
            self.attributes.get(name).map(String::as_str)
        }
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.attributes.keys().map(String::as_str).collect();
        if !self.attributes.contains_key("token.erp") {
            names.push("token.erp");
        }
        names
    }
}

/// Evaluates an expression, naming `what` and the expression when it fails.
pub fn evaluate<A: omnibridge_expr::Attributes>(
    template: &Template,
    attributes: &A,
    what: &str,
) -> Result<String, String> {
    template.evaluate(attributes).map_err(|e| {
        format!(
            "evaluating the {what} expression {:?} failed: {e}",
            template.source()
        )
    })
}
