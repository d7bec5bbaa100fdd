//! DRF page-number pagination: `{count, next, previous, results}` with absolute `next` /
//! `previous` links that keep every query parameter and change only `page`.

use super::errors::ApiError;
use super::filters::Query;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Sort key of a row for `sort` / `ordering` (`id`, `-id`, `pk`, `modified_date`, ...):
/// numbers compare as numbers, everything else as strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SortKey {
    /// Numeric field.
    Num(u64),
    /// Text field (ISO dates sort correctly as text).
    Text(String),
}

impl SortKey {
    /// The key of a row sortable by `modified_date` or else by pk (items, transactions, plans).
    pub(crate) fn modified_or_pk(field: &str, modified_date: DateTime<Utc>, pk: u64) -> SortKey {
        if field == "modified_date" {
            SortKey::Text(crate::clock::iso(modified_date))
        } else {
            SortKey::Num(pk)
        }
    }
}

/// Sort rows by the `sort` / `ordering` parameter (default `id` ascending).
pub(crate) fn sort_rows<T>(rows: &mut [T], q: &Query, key: impl Fn(&T, &str) -> SortKey) {
    let raw = q.get("sort").or_else(|| q.get("ordering")).unwrap_or("id");
    let (desc, field) = match raw.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, raw),
    };
    let field = if field == "id" { "pk" } else { field };
    rows.sort_by_cached_key(|r| key(r, field));
    if desc {
        rows.reverse();
    }
}

/// Cut one page out of `rows`, rendering only that page. `shift` moves the window back (the
/// `inconsistent_page` fault).
pub(crate) fn paginate<T>(
    rows: Vec<T>,
    q: &Query,
    base_url: &str,
    path: &str,
    shift: usize,
    render: impl Fn(&T) -> Value,
) -> Result<Value, ApiError> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(10);
    let page = match q.get("page") {
        None => 1,
        Some("last") => rows.len().div_ceil(limit).max(1),
        Some(p) => p.parse::<usize>().map_err(|_| ApiError::invalid_page())?,
    };
    let pages = rows.len().div_ceil(limit).max(1);
    if page == 0 || page > pages {
        return Err(ApiError::invalid_page());
    }
    let start = ((page - 1) * limit).saturating_sub(if page > 1 { shift } else { 0 });
    let count = rows.len();
    let results: Vec<Value> = rows.iter().skip(start).take(limit).map(render).collect();
    let link = |p: usize| -> Value {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        let mut had_page = false;
        for (k, v) in q.pairs() {
            if k == "page" {
                if !had_page && p > 1 {
                    ser.append_pair("page", &p.to_string());
                }
                had_page = true;
            } else {
                ser.append_pair(k, v);
            }
        }
        if !had_page && p > 1 {
            ser.append_pair("page", &p.to_string());
        }
        let qs = ser.finish();
        if qs.is_empty() {
            json!(format!("{base_url}{path}"))
        } else {
            json!(format!("{base_url}{path}?{qs}"))
        }
    };
    Ok(json!({
        "count": count,
        "next": if page < pages { link(page + 1) } else { Value::Null },
        "previous": if page > 1 { link(page - 1) } else { Value::Null },
        "results": results,
    }))
}
