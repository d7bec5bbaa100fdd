//! Read Data From ERP: the pages of an ERP's answer, one request at a time.
//!
//! The URL is a plain URL or a NiFi Expression Language template evaluated per run (with the
//! run's `http.query.*`, `last.request` and `token.erp`). A plain URL gets the run's own
//! parameters appended (a trigger's, or a scheduled run's `modified_date__gt`); an expression
//! decides everything itself. Extra Params go in the query of a GET and the JSON body of a POST,
//! and so do the pagination parameters.
//!
//! Pagination never ends in a silent partial success: a page that fails, a page that repeats
//! an earlier one, a marker or next link seen before, or more pages than the card allows all stop
//! the read with an error that says which page and why.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use omnibridge_http::{Exchange, Method, Request};
use serde_json::{Map, Value};

use super::build::BuildContext;
use super::connections::Connections;
use super::request::{RequestTemplate, WithToken, build_headers, evaluate, parse_method};
use super::xml;
use crate::attributes::Attributes;
use crate::config::cards::{json_kind, scalar_text};
use crate::config::order_status::{PaginationKind, ReadErpCard, ResponseType};
use crate::json_path::{UserPath, value_text};
use crate::text::truncate;

/// Largest page size a card may ask for.
pub const MAX_PAGE_SIZE: usize = 10_000;
/// Most pages a card may allow.
pub const MAX_PAGES: u32 = 100_000;

/// A compiled Read Data From ERP card.
#[derive(Debug, Clone)]
pub struct ErpReader {
    /// Method, URL and headers.
    pub request: RequestTemplate,
    /// Whether the URL is an expression (then nothing is appended to it but Extra Params and
    /// pagination parameters).
    pub dynamic_url: bool,
    /// Extra Params.
    pub extra_params: Map<String, Value>,
    /// JSON or XML.
    pub response_type: ResponseType,
    /// XML elements that are always lists.
    pub xml_force_list: Vec<String>,
    /// How pages follow each other.
    pub pagination: Pagination,
}

/// A compiled pagination setting.
#[derive(Debug, Clone)]
pub struct Pagination {
    /// The style.
    pub kind: PaginationKind,
    /// Rows per page.
    pub page_size: usize,
    /// Page-size parameter (empty: not sent).
    pub limit_param: String,
    /// Offset parameter.
    pub offset_param: String,
    /// Seek parameter.
    pub seek_param: String,
    /// Seek marker in the last row.
    pub marker_path: UserPath,
    /// Next link or token.
    pub next_path: UserPath,
    /// Parameter of a next token.
    pub next_param: String,
    /// A page's rows.
    pub rows_path: Option<UserPath>,
    /// Most pages.
    pub max_pages: u32,
}

impl ReadErpCard {
    /// Checks the card and compiles its URL, headers and paths.
    pub fn build(&self, cx: &mut BuildContext<'_>) -> Option<ErpReader> {
        let method = cx.check(
            "read.method",
            parse_method(&self.method, &[Method::GET, Method::POST]),
        );
        let url = RequestTemplate::build_url(cx, "read.url", &self.url);
        let headers = build_headers(cx, "read.headers", &self.headers.to_text_map());
        let p = &self.pagination;
        let mut path = |field: &str, text: &str| {
            cx.check(
                &format!("read.pagination.{field}"),
                UserPath::parse(text).map_err(|e| e.to_string()),
            )
        };
        let marker_path = path("marker_path", &p.marker_path);
        let next_path = path("next_path", &p.next_path);
        let rows_path = match &p.rows_path {
            Some(text) => Some(path("rows_path", text)?),
            None => None,
        };
        if !(1..=MAX_PAGE_SIZE).contains(&p.page_size) {
            cx.error(
                "read.pagination.page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            );
        }
        if !(1..=MAX_PAGES).contains(&p.max_pages) {
            cx.error(
                "read.pagination.max_pages",
                format!("must be between 1 and {MAX_PAGES}"),
            );
        }
        for (field, value) in [
            ("offset_param", &p.offset_param),
            ("seek_param", &p.seek_param),
            ("next_param", &p.next_param),
        ] {
            if value.trim().is_empty() {
                cx.error(&format!("read.pagination.{field}"), "must not be empty");
            }
        }
        if self.response_type == ResponseType::Json && !self.xml_force_list.is_empty() {
            cx.error(
                "read.xml_force_list",
                "applies only with response_type = \"xml\"",
            );
        }
        let url = url?;
        let dynamic_url = !url.is_literal();
        Some(ErpReader {
            request: RequestTemplate {
                method: method?,
                url,
                headers: headers?,
            },
            dynamic_url,
            extra_params: self.extra_params.0.clone(),
            response_type: self.response_type,
            xml_force_list: self.xml_force_list.clone(),
            pagination: Pagination {
                kind: p.kind,
                page_size: p.page_size,
                limit_param: p.limit_param.trim().to_string(),
                offset_param: p.offset_param.trim().to_string(),
                seek_param: p.seek_param.trim().to_string(),
                marker_path: marker_path?,
                next_path: next_path?,
                next_param: p.next_param.trim().to_string(),
                rows_path,
                max_pages: p.max_pages,
            },
        })
    }
}

/// One page of an ERP's answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its number, from 1.
    pub number: u32,
    /// The response as JSON (XML already converted).
    pub payload: Value,
    /// The exchange it came from (`invokehttp.*` attributes).
    pub exchange: Exchange,
    /// How many rows it holds, when the pagination counts them.
    pub rows: Option<usize>,
    /// The pagination looked for rows and found none where it looks (no list at `rows_path`).
    /// A Mapping that makes rows of such a page means `rows_path` is wrong.
    pub rows_missing: bool,
}

/// Where the next request goes.
#[derive(Debug, Clone, PartialEq)]
enum Next {
    First,
    Offset(usize),
    Seek(String),
    Url(String),
    Token(String),
    Done,
}

/// Reads one run's pages in order.
pub struct PageReader<'a> {
    reader: &'a ErpReader,
    connections: &'a Connections,
    attributes: &'a Attributes,
    /// Appended to a plain URL: the trigger's parameters, or `modified_date__gt`.
    run_params: Vec<(String, String)>,
    next: Next,
    pages: u32,
    seen_pages: HashSet<u64>,
    seen_links: HashSet<String>,
}

impl<'a> PageReader<'a> {
    /// A read with these attributes (`http.query.*`, `last.request`, tokens) and, for a plain
    /// URL, these parameters appended.
    pub fn new(
        reader: &'a ErpReader,
        connections: &'a Connections,
        attributes: &'a Attributes,
        run_params: Vec<(String, String)>,
    ) -> Self {
        Self {
            reader,
            connections,
            attributes,
            run_params,
            next: Next::First,
            pages: 0,
            seen_pages: HashSet::new(),
            seen_links: HashSet::new(),
        }
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages
    }

    /// The next page, `None` after the last one. `Err` stops the read.
    pub async fn next_page(&mut self) -> Result<Option<Page>, String> {
        if self.next == Next::Done {
            return Ok(None);
        }
        let pagination = &self.reader.pagination;
        let number = self.pages + 1;
        if self.pages >= pagination.max_pages {
            return Err(format!(
                "Read Data From ERP stopped after {} pages (read.pagination.max_pages) and the ERP \
                 still had more; raise the limit if it really has that many",
                self.pages
            ));
        }
        let next = self.next.clone();
        let map = self.attributes.map();
        let exchange = self
            .connections
            .erp_request(|token| self.request(&next, map, token))
            .await
            .map_err(|stop| {
                format!(
                    "Read Data From ERP: page {number}: {}",
                    stop.error.unwrap_or_default()
                )
            })?;
        let response = exchange
            .outcome
            .as_ref()
            .map_err(|e| format!("Read Data From ERP: page {number} got no answer: {e}"))?;
        if !response.is_success() {
            return Err(format!(
                "Read Data From ERP: page {number} answered HTTP {}: {}",
                response.status.as_u16(),
                truncate(&response.text(), 500)
            ));
        }
        let payload = self.parse(&response.body, number)?;
        self.pages = number;
        let (rows, rows_missing) = self.advance(&payload, &response.body, number)?;
        Ok(Some(Page {
            number,
            payload,
            exchange,
            rows,
            rows_missing,
        }))
    }

    /// The request for `next`, sent with `token`.
    fn request(
        &self,
        next: &Next,
        attributes: &std::collections::BTreeMap<String, String>,
        token: &str,
    ) -> Result<Request, String> {
        let reader = self.reader;
        let view = WithToken { attributes, token };
        let base_url = evaluate(&reader.request.url, &view, "URL")?;
        let pagination = &reader.pagination;
        let mut params: Vec<(String, Value)> = Vec::new();
        let url = match next {
            Next::Url(url) => url.clone(),
            _ => {
                let mut url = base_url;
                if !reader.dynamic_url {
                    append_query(&mut url, &self.run_params);
                }
                params.extend(
                    reader
                        .extra_params
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                let limit = || {
                    (!pagination.limit_param.is_empty()).then(|| {
                        (
                            pagination.limit_param.clone(),
                            Value::from(pagination.page_size),
                        )
                    })
                };
                match (pagination.kind, next) {
                    (PaginationKind::None, _) => {}
                    (PaginationKind::Offset, next) => {
                        let offset = match next {
                            Next::Offset(offset) => *offset,
                            _ => 0,
                        };
                        params.push((pagination.offset_param.clone(), Value::from(offset)));
                        params.extend(limit());
                    }
                    (PaginationKind::Seek, next) => {
                        if let Next::Seek(marker) = next {
                            params.push((
                                pagination.seek_param.clone(),
                                Value::from(marker.as_str()),
                            ));
                        }
                        params.extend(limit());
                    }
                    (PaginationKind::NextField, next) => {
                        if let Next::Token(token) = next {
                            params
                                .push((pagination.next_param.clone(), Value::from(token.as_str())));
                        }
                        params.extend(limit());
                    }
                }
                url
            }
        };
        let mut request;
        if reader.request.method == Method::POST {
            let body: Map<String, Value> = params.into_iter().collect();
            request = Request::new(Method::POST, url).json(&Value::Object(body));
        } else {
            let mut url = url;
            let pairs: Vec<(String, String)> = params
                .iter()
                .flat_map(|(k, v)| query_values(v).into_iter().map(move |v| (k.clone(), v)))
                .collect();
            append_query(&mut url, &pairs);
            request = Request::new(Method::GET, url);
        }
        request.set_header("Accept", accept(reader.response_type));
        for (name, value) in &reader.request.headers {
            request.set_header(name, evaluate(value, &view, name)?);
        }
        Ok(request)
    }

    fn parse(&self, body: &[u8], number: u32) -> Result<Value, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Array(Vec::new()));
        }
        match self.reader.response_type {
            ResponseType::Json => serde_json::from_slice(body).map_err(|e| {
                format!(
                    "Read Data From ERP: page {number} is not JSON ({e}); if the ERP answers XML, \
                     set read.response_type = \"xml\": {}",
                    truncate(&String::from_utf8_lossy(body), 200)
                )
            }),
            ResponseType::Xml => xml::to_json(body, &self.reader.xml_force_list)
                .map_err(|e| format!("Read Data From ERP: page {number}: {e}")),
        }
    }

    /// Works out the request after page `number`; returns its row count when counted, and
    /// whether the rows were missing.
    fn advance(
        &mut self,
        payload: &Value,
        body: &[u8],
        number: u32,
    ) -> Result<(Option<usize>, bool), String> {
        let pagination = &self.reader.pagination;
        let repeated = |this: &mut Self| -> Result<(), String> {
            let mut hasher = std::hash::DefaultHasher::new();
            body.hash(&mut hasher);
            if this.seen_pages.insert(hasher.finish()) {
                Ok(())
            } else {
                Err(format!(
                    "Read Data From ERP: page {number} repeats an earlier page word for word; the \
                     ERP is not paging as read.pagination says ({}), so the read stops rather \
                     than loop",
                    this.describe()
                ))
            }
        };
        let current_offset = match &self.next {
            Next::Offset(offset) => *offset,
            _ => 0,
        };
        let mut missing = false;
        let (next, rows) = match pagination.kind {
            PaginationKind::None => (Next::Done, None),
            PaginationKind::Offset => {
                let found = self.rows(payload, number)?;
                missing = found.is_none();
                let rows = found.unwrap_or_default();
                if rows.is_empty() {
                    (Next::Done, Some(0))
                } else {
                    repeated(self)?;
                    let offset = current_offset;
                    let next = if rows.len() < pagination.page_size {
                        Next::Done
                    } else {
                        Next::Offset(offset + rows.len())
                    };
                    (next, Some(rows.len()))
                }
            }
            PaginationKind::Seek => {
                let found = self.rows(payload, number)?;
                missing = found.is_none();
                let rows = found.unwrap_or_default();
                match rows.last() {
                    None => (Next::Done, Some(0)),
                    Some(last) => {
                        repeated(self)?;
                        let marker = pagination
                            .marker_path
                            .first(last)
                            .filter(|v| !v.is_null())
                            .map(value_text)
                            .filter(|m| !m.is_empty())
                            .ok_or_else(|| {
                                format!(
                                    "Read Data From ERP: the last row of page {number} has no \
                                     marker at {} (read.pagination.marker_path)",
                                    pagination.marker_path.as_str()
                                )
                            })?;
                        self.seen_link(&marker, number, "seek marker")?;
                        (Next::Seek(marker), Some(rows.len()))
                    }
                }
            }
            PaginationKind::NextField => {
                repeated(self)?;
                let next = pagination
                    .next_path
                    .first(payload)
                    .filter(|v| !v.is_null())
                    .map(value_text)
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                match next {
                    None => (Next::Done, None),
                    Some(link) => {
                        self.seen_link(&link, number, "next link")?;
                        let next = if link.starts_with("http://") || link.starts_with("https://") {
                            Next::Url(link)
                        } else if link.starts_with('/') {
                            let current = self.current_url(number)?;
                            let joined = url::Url::parse(&current)
                                .and_then(|u| u.join(&link))
                                .map_err(|e| {
                                    format!(
                                        "Read Data From ERP: page {number}'s next link {link:?} \
                                         cannot be followed: {e}"
                                    )
                                })?;
                            Next::Url(joined.to_string())
                        } else {
                            Next::Token(link)
                        };
                        (next, None)
                    }
                }
            }
        };
        self.next = next;
        Ok((rows, missing))
    }

    fn seen_link(&mut self, link: &str, number: u32, what: &str) -> Result<(), String> {
        if self.seen_links.insert(link.to_string()) {
            Ok(())
        } else {
            Err(format!(
                "Read Data From ERP: page {number} gives the {what} {link:?} a second time; the \
                 read stops rather than loop"
            ))
        }
    }

    /// The URL page `number` was read from (for relative next links).
    fn current_url(&self, number: u32) -> Result<String, String> {
        let map = self.attributes.map();
        self.request(&self.next, map, "")
            .map(|r| r.url)
            .map_err(|e| format!("Read Data From ERP: page {number}: {e}"))
    }

    /// The rows of a page, for pagination: `None` when the page has none where the rows are
    /// looked for (an empty XML page has no row element at all).
    fn rows<'p>(&self, payload: &'p Value, number: u32) -> Result<Option<&'p [Value]>, String> {
        let found = match &self.reader.pagination.rows_path {
            Some(path) => path.first(payload),
            None => match payload {
                Value::Array(_) => Some(payload),
                Value::Object(object) => object.get("results"),
                _ => None,
            },
        };
        match found {
            Some(Value::Array(rows)) => Ok(Some(rows)),
            None | Some(Value::Null) => Ok(None),
            Some(other) => Err(format!(
                "Read Data From ERP: the rows of page {number} are {}, not a list{}",
                json_kind(other),
                match &self.reader.pagination.rows_path {
                    Some(path) => format!(" (read.pagination.rows_path {})", path.as_str()),
                    None =>
                        " (set read.pagination.rows_path to where the ERP puts them)".to_string(),
                }
            )),
        }
    }

    fn describe(&self) -> String {
        let p = &self.reader.pagination;
        match p.kind {
            PaginationKind::None => "no pagination".to_string(),
            PaginationKind::Offset => format!(
                "offset in {:?}, page size {} in {:?}",
                p.offset_param, p.page_size, p.limit_param
            ),
            PaginationKind::Seek => format!(
                "seek marker {} sent in {:?}",
                p.marker_path.as_str(),
                p.seek_param
            ),
            PaginationKind::NextField => format!("next link at {}", p.next_path.as_str()),
        }
    }
}

/// A query parameter's values: scalars as text, lists repeated, objects as JSON.
fn query_values(value: &Value) -> Vec<String> {
    match value {
        Value::Null => vec![String::new()],
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        other => vec![scalar_text(other)],
    }
}

/// Appends `key=value` pairs (form-encoded) to a URL's query.
pub fn append_query(url: &mut String, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    let query = serializer.finish();
    let separator = match url.find('?') {
        None => '?',
        Some(at) if at + 1 == url.len() || url.ends_with('&') => {
            url.push_str(&query);
            return;
        }
        Some(_) => '&',
    };
    url.push(separator);
    url.push_str(&query);
}

fn accept(response_type: ResponseType) -> &'static str {
    match response_type {
        ResponseType::Json => "application/json",
        ResponseType::Xml => "application/xml, text/xml",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_appended_form_encoded() {
        let mut url = "http://erp/orders".to_string();
        append_query(&mut url, &[("a".into(), "1 2".into())]);
        assert_eq!(url, "http://erp/orders?a=1+2");
        append_query(
            &mut url,
            &[(
                "modified_date__gt".into(),
                "2024-01-01T00:00:00.000000".into(),
            )],
        );
        assert_eq!(
            url,
            "http://erp/orders?a=1+2&modified_date__gt=2024-01-01T00%3A00%3A00.000000"
        );
        let mut bare = "http://erp/orders?".to_string();
        append_query(&mut bare, &[("n".into(), "1".into())]);
        assert_eq!(bare, "http://erp/orders?n=1");
        let mut unchanged = "http://erp/x".to_string();
        append_query(&mut unchanged, &[]);
        assert_eq!(unchanged, "http://erp/x");
    }

    #[test]
    fn lists_repeat_and_objects_are_json() {
        assert_eq!(query_values(&serde_json::json!([1, "a"])), ["1", "a"]);
        assert_eq!(query_values(&serde_json::json!({"k": 1})), ["{\"k\":1}"]);
        assert_eq!(query_values(&serde_json::json!(true)), ["true"]);
    }
}
