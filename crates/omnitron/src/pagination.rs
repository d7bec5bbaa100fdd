//! Seek pagination (`sort=id&id__gt=<last>`) and page-number pagination (`next` links).

use serde_json::Value;
use url::Url;

use crate::{OmnitronClient, OmnitronError};

/// The rows of a list response: DRF's `{"results": [...]}` envelope or a bare array.
pub fn results_of(body: &Value) -> Option<&Vec<Value>> {
    match body {
        Value::Array(rows) => Some(rows),
        Value::Object(map) => map.get("results").and_then(Value::as_array),
        _ => None,
    }
}

/// Like [`results_of`], moving the rows out of the body instead of copying them.
fn into_results(body: Value) -> Option<Vec<Value>> {
    match body {
        Value::Array(rows) => Some(rows),
        Value::Object(mut map) => match map.remove("results") {
            Some(Value::Array(rows)) => Some(rows),
            _ => None,
        },
        _ => None,
    }
}

/// The `pk` (or `id`) of a row as an integer.
pub(crate) fn row_id(row: &Value) -> Option<i64> {
    let id = row.get("pk").or_else(|| row.get("id"))?;
    id.as_i64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
}

/// Reads a list page by page with `id__gt` seek pagination, which — unlike page numbers —
/// neither skips nor repeats rows when earlier rows drop out of the filter while we read
/// (as sent orders do).
#[derive(Debug)]
pub struct SeekPager {
    client: OmnitronClient,
    path: String,
    /// Query parameters other than `id__gt`, `sort` and `limit`.
    params: Vec<(String, String)>,
    page_size: usize,
    last_id: Option<i64>,
    done: bool,
    pages_read: u32,
}

impl SeekPager {
    pub(crate) fn new(
        client: OmnitronClient,
        path: impl Into<String>,
        params: Vec<(String, String)>,
        page_size: usize,
        start_after: Option<i64>,
    ) -> Self {
        Self {
            client,
            path: path.into(),
            params,
            page_size: page_size.max(1),
            last_id: start_after,
            done: false,
            pages_read: 0,
        }
    }

    /// The highest id read so far: a cursor to resume from.
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// How many pages were fetched.
    pub fn pages_read(&self) -> u32 {
        self.pages_read
    }

    /// The path and query of the next page request.
    fn next_request(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            query.append_pair(k, v);
        }
        if let Some(last) = self.last_id {
            query.append_pair("id__gt", &last.to_string());
        }
        query.append_pair("sort", "id");
        query.append_pair("limit", &self.page_size.to_string());
        format!("{}?{}", self.path, query.finish())
    }

    /// The next page of rows, or `None` when the list is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, OmnitronError> {
        if self.done {
            return Ok(None);
        }
        let request = self.next_request();
        let body = self.client.get(&request).await?;
        self.pages_read += 1;
        let no_more = body.get("next").is_some_and(Value::is_null);
        let rows = into_results(body).ok_or_else(|| OmnitronError::Decode {
            method: "GET".to_string(),
            path: request.clone(),
            message: "expected a list or a {\"results\": [...]} envelope".to_string(),
        })?;
        if rows.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let mut max_id = self.last_id;
        for row in &rows {
            let id = row_id(row).ok_or_else(|| OmnitronError::Decode {
                method: "GET".to_string(),
                path: request.clone(),
                message: format!("a row has no integer pk: {row}"),
            })?;
            max_id = Some(max_id.map_or(id, |m| m.max(id)));
        }
        if max_id == self.last_id {
            // The server ignored id__gt: reading on would loop forever.
            return Err(OmnitronError::Decode {
                method: "GET".to_string(),
                path: request,
                message: "the page repeats rows already read (is id__gt supported?)".to_string(),
            });
        }
        self.last_id = max_id;
        if rows.len() < self.page_size || no_more {
            self.done = true;
        }
        Ok(Some(rows))
    }
}

impl OmnitronClient {
    /// Every row of a page-number paginated list, following `next` links until they run out.
    /// `next` is resolved against our own base URL, so a proxy's host name in it is harmless.
    pub async fn list_all(&self, path_and_query: &str) -> Result<Vec<Value>, OmnitronError> {
        let mut rows = Vec::new();
        let mut request = path_and_query.to_string();
        // A bound on pages guards against a server whose `next` never ends.
        for _ in 0..10_000 {
            let body = self.get(&request).await?;
            let next = body.get("next").and_then(Value::as_str).map(str::to_string);
            let page = into_results(body).ok_or_else(|| OmnitronError::Decode {
                method: "GET".to_string(),
                path: request.clone(),
                message: "expected a list or a {\"results\": [...]} envelope".to_string(),
            })?;
            let empty = page.is_empty();
            rows.extend(page);
            match next {
                Some(next) if !next.is_empty() && !empty => {
                    request = relative_to_base(self.base_url(), &next);
                }
                _ => return Ok(rows),
            }
        }
        Err(OmnitronError::Decode {
            method: "GET".to_string(),
            path: path_and_query.to_string(),
            message: "more than 10000 pages: the `next` links do not end".to_string(),
        })
    }
}

/// The part of an absolute `next` link to request from our own base URL.
fn relative_to_base(base: &Url, next: &str) -> String {
    match Url::parse(next) {
        Ok(url) => {
            let path = url.path();
            let base_path = base.path();
            let relative = path.strip_prefix(base_path).unwrap_or(path);
            match url.query() {
                Some(q) => format!("{relative}?{q}"),
                None => relative.to_string(),
            }
        }
        // Already relative.
        Err(_) => next.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_found_in_envelopes_and_bare_arrays() {
        assert_eq!(results_of(&json!([1, 2])).map(Vec::len), Some(2));
        assert_eq!(
            results_of(&json!({"count": 1, "results": [1]})).map(Vec::len),
            Some(1)
        );
        assert!(results_of(&json!({"detail": "x"})).is_none());
    }

    #[test]
    fn ids_may_be_pk_or_id_numbers_or_strings() {
        assert_eq!(row_id(&json!({"pk": 7})), Some(7));
        assert_eq!(row_id(&json!({"id": "8"})), Some(8));
        assert_eq!(row_id(&json!({"number": "x"})), None);
    }

    #[test]
    fn next_links_are_taken_relative_to_our_base() {
        let base = Url::parse("http://omni.local/").unwrap();
        assert_eq!(
            relative_to_base(
                &base,
                "http://proxy:8000/api/v1/order_items/?limit=2&page=2"
            ),
            "api/v1/order_items/?limit=2&page=2"
        );
        let base = Url::parse("http://omni.local/tenant/").unwrap();
        assert_eq!(
            relative_to_base(&base, "http://omni.local/tenant/api/v1/x/?page=3"),
            "api/v1/x/?page=3"
        );
    }
}
