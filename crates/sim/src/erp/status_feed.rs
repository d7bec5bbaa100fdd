//! `GET|POST /orders/status` (and the NiFi-EL style `/service/run?{...}`): the Order Status
//! Flow's inbound source, with offset / seek / next-field / no pagination, JSON or XML, and
//! per-page faults.

use super::ErpApp;
use super::scenario::Pagination;
use super::xml::xml_response;
use crate::server::json_response;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Parameters of a feed request: query string for GET, JSON body for POST (merged).
pub(crate) struct FeedParams {
    pub params: Map<String, Value>,
    pub base: String,
    pub path: String,
    pub raw_query: String,
}

impl FeedParams {
    fn str(&self, k: &str) -> Option<String> {
        match self.params.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    fn usize(&self, k: &str) -> Result<Option<usize>, Box<Response>> {
        match self.str(k) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| {
                Box::new(bad(&format!(
                    "{k}: expected a non-negative integer, got {s:?}"
                )))
            }),
        }
    }
}

fn bad(msg: &str) -> Response {
    json_response(400, &json!({"success": false, "error": msg}))
}

/// Parse `modified_date__gt` as the ERP would: `yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]`.
fn parse_since(raw: &str, reject_z: bool, tz: Option<&str>) -> Result<DateTime<Utc>, String> {
    if raw.ends_with('Z') && reject_z {
        return Err(format!(
            "modified_date__gt: {raw:?} must not end with Z (expected yyyy-MM-ddTHH:mm:ss[.SSSSSS])"
        ));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(raw) {
        return Ok(d.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("modified_date__gt: {raw:?} is not yyyy-MM-ddTHH:mm:ss[.SSSSSS]"))?;
    match tz {
        None => Ok(naive.and_utc()),
        Some(name) => {
            let tz: chrono_tz::Tz = name
                .parse()
                .map_err(|_| format!("timezone {name:?} is unknown"))?;
            tz.from_local_datetime(&naive)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
                .ok_or_else(|| format!("modified_date__gt: {raw:?} does not exist in {name}"))
        }
    }
}

/// Parse the NiFi-EL example's query: `{'name':'Akinon','Parameters':[{'Name':'Order','Value':..}]}`.
pub(crate) fn service_run_params(raw_query: &str) -> Map<String, Value> {
    let decoded = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let jsonish = decoded.replace('\'', "\"");
    let mut out = Map::new();
    if let Ok(v) = serde_json::from_str::<Value>(&jsonish) {
        for p in v
            .get("Parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = p.get("Value").cloned().unwrap_or(Value::Null);
            match p.get("Name").and_then(Value::as_str) {
                Some("Order") => {
                    out.insert("number".into(), value);
                }
                Some("Date") => {
                    out.insert("modified_date__gt".into(), value);
                }
                Some(other) => {
                    out.insert(other.to_string(), value);
                }
                None => {}
            }
        }
    }
    out
}

fn row_json(r: &super::state::StatusRow) -> Value {
    json!({
        "id": r.id,
        "order": r.order,
        "orderitems": r.orderitems,
        "modified_date": r.modified_date.map(crate::clock::iso),
    })
}

pub(crate) async fn handle(
    app: &ErpApp,
    p: FeedParams,
    token_in_path: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Response {
    let feed = crate::lock(&app.scenario).status_feed.clone();
    let since = match p.str("modified_date__gt") {
        None => None,
        Some(raw) => match parse_since(&raw, feed.reject_z, feed.timezone.as_deref()) {
            Ok(d) => Some(d),
            Err(e) => return bad(&e),
        },
    };
    let number = p.str("number");
    let limit = match p.usize("limit") {
        Ok(l) => l.filter(|l| *l > 0).unwrap_or(feed.page_size.max(1)),
        Err(r) => return *r,
    };
    // The matching rows are found by reference and only the page's rows are turned into JSON:
    // a feed of many thousand rows is read a page at a time.
    let (start, total, page) = {
        let store = crate::lock(&app.store);
        let rows: Vec<&super::state::StatusRow> = if feed.empty {
            Vec::new()
        } else {
            store
                .status_rows
                .iter()
                .filter(|r| since.is_none_or(|s| r.modified_date.is_some_and(|m| m > s)))
                .filter(|r| {
                    number.as_deref().is_none_or(|n| match &r.order {
                        Value::String(s) => s == n,
                        other => *other == n,
                    })
                })
                .collect()
        };
        // Where the page starts (its number, from 1, drives the per-page faults).
        let start = match feed.pagination {
            Pagination::Offset => match p.usize("offset") {
                Ok(o) => o.unwrap_or(0),
                Err(r) => return *r,
            },
            Pagination::Seek => match p.str("after") {
                None => 0,
                Some(a) => match a.parse::<u64>() {
                    Ok(after) => rows.iter().take_while(|r| r.id <= after).count(),
                    Err(_) => {
                        return bad(&format!(
                            "after: expected the last id of the previous page, got {a:?}"
                        ));
                    }
                },
            },
            Pagination::NextField => match p.str("cursor") {
                None => 0,
                Some(c) => match c.trim_start_matches('p').parse::<usize>() {
                    Ok(page) if page >= 1 => (page - 1) * limit,
                    _ => return bad(&format!("cursor: unknown cursor {c:?}")),
                },
            },
            Pagination::None => 0,
        };
        let mut page: Vec<Value> = if feed.pagination == Pagination::None {
            rows.iter().map(|r| row_json(r)).collect()
        } else {
            rows.iter()
                .skip(start)
                .take(limit)
                .map(|r| row_json(r))
                .collect()
        };
        if feed.duplicate_across_pages && start > 0 && start <= rows.len() {
            page.insert(0, row_json(rows[start - 1]));
        }
        (start, rows.len(), page)
    };
    let page_no = (start / limit) as u32 + 1;
    if let Some(slow) = &feed.slow_page
        && slow.page == page_no
    {
        tokio::time::sleep(Duration::from_millis(slow.ms)).await;
    }
    if let Some(k) = feed.auth_expired_on_page
        && k == page_no
        && crate::lock(&app.store).once.insert(format!("feed:{k}"))
    {
        super::auth::invalidate(app, headers, token_in_path);
        return json_response(401, &json!({"success": false, "error": "token expired"}));
    }
    if let Some(f) = &feed.page_status
        && f.page == page_no
    {
        return json_response(
            f.status,
            &json!({"success": false, "error": format!("page {page_no} failed")}),
        );
    }
    if feed.malformed_json {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"results\": [{\"order\": ",
        )
            .into_response();
    }
    let body = match feed.pagination {
        Pagination::None => Value::Array(page),
        Pagination::Offset => {
            let mut m = Map::new();
            m.insert("results".into(), Value::Array(page));
            if feed.include_total {
                m.insert("total".into(), json!(total));
            }
            Value::Object(m)
        }
        Pagination::Seek => {
            let last = page.last().map_or(Value::Null, |r| r["id"].clone());
            json!({"results": page, "last_id": last})
        }
        Pagination::NextField => {
            let next = if start + limit < total {
                if feed.next_token {
                    json!(format!("p{}", page_no + 1))
                } else {
                    let mut ser = url::form_urlencoded::Serializer::new(String::new());
                    for (k, v) in url::form_urlencoded::parse(p.raw_query.as_bytes()) {
                        if k != "cursor" {
                            ser.append_pair(&k, &v);
                        }
                    }
                    ser.append_pair("cursor", &(page_no + 1).to_string());
                    json!(format!("{}{}?{}", p.base, p.path, ser.finish()))
                }
            } else {
                Value::Null
            };
            json!({"results": page, "next": next})
        }
    };
    if feed.xml {
        let wrapped = match body {
            Value::Array(rows) => json!({"order": rows}),
            Value::Object(mut m) => {
                let rows = m.remove("results").unwrap_or(Value::Null);
                m.insert("order".into(), rows);
                Value::Object(m)
            }
            other => other,
        };
        return xml_response(200, "orders", &wrapped);
    }
    json_response(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_micros_rejects_z_on_request_and_honours_timezone() {
        let utc = parse_since("2024-12-31T13:30:59.000001", false, None).unwrap();
        assert_eq!(crate::clock::iso(utc), "2024-12-31T13:30:59.000001Z");
        assert!(parse_since("2024-12-31T13:30:59Z", true, None).is_err());
        assert!(parse_since("2024-12-31T13:30:59Z", false, None).is_ok());
        let ist = parse_since("2024-12-31T13:30:59", false, Some("Europe/Istanbul")).unwrap();
        assert_eq!(crate::clock::iso(ist), "2024-12-31T10:30:59.000000Z");
        assert!(parse_since("31/12/2024", false, None).is_err());
    }

    #[test]
    fn service_run_query_maps_order_and_date_parameters() {
        let q = "{'name':'Akinon','Parameters':[{'Name':'Order','Value':'1001'},{'Name':'Date','Value':'2024-01-01T00:00:00'}]}";
        let m = service_run_params(q);
        assert_eq!(m["number"], "1001");
        assert_eq!(m["modified_date__gt"], "2024-01-01T00:00:00");
    }
}
