//! DRF page-number pagination: `{count, next, previous, results}` with absolute `next` /
//! `previous` links that keep every query parameter and change only `page`.

use super::errors::ApiError;
use super::filters::Query;
use serde_json::{Value, json};

/// Sort rows by the `sort` / `ordering` parameter (`id`, `-id`, `pk`, `modified_date`, ...).
pub(crate) fn sort_rows(rows: &mut [Value], q: &Query) {
    let key = q.get("sort").or_else(|| q.get("ordering")).unwrap_or("id");
    let (desc, field) = match key.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, key),
    };
    let field = if field == "id" { "pk" } else { field };
    rows.sort_by(|a, b| {
        let (x, y) = (&a[field], &b[field]);
        let ord = match (x.as_u64(), y.as_u64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")),
        };
        if desc { ord.reverse() } else { ord }
    });
}

/// Cut one page out of `rows`. `shift` moves the window back (the `inconsistent_page` fault).
pub(crate) fn paginate(
    rows: Vec<Value>,
    q: &Query,
    base_url: &str,
    path: &str,
    shift: usize,
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
    let results: Vec<Value> = rows.into_iter().skip(start).take(limit).collect();
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
