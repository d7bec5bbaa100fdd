//! `GET /orders/query?number=<n>`: the Query Check Order target.

use super::ErpApp;
use super::scenario::{EmptyShape, QueryMode};
use super::xml::xml_response;
use crate::server::json_response;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// The normal answer: found when the ERP holds the order, else the default not-found shape.
fn normal(app: &ErpApp, number: &str, xml: bool) -> Response {
    let store = crate::lock(&app.store);
    let body = match store.orders.get(number) {
        Some(o) => {
            json!({"order": {"number": number, "erp_no": o.erp_order_no, "lines": o.lines, "status": "CREATED"}})
        }
        None => json!({"order": null}),
    };
    if xml {
        xml_response(200, "response", &body)
    } else {
        json_response(200, &body)
    }
}

pub(crate) async fn handle(
    app: &ErpApp,
    number: Option<String>,
    mode: QueryMode,
) -> Result<Response, ()> {
    let Some(number) = number else {
        return Ok(json_response(
            400,
            &json!({"success": false, "error": "query parameter for the order number is required"}),
        ));
    };
    Ok(match mode {
        QueryMode::Found => {
            let erp_no = crate::lock(&app.store)
                .orders
                .get(&number)
                .map_or_else(|| format!("E{number}"), |o| o.erp_order_no.clone());
            json_response(
                200,
                &json!({"order": {"number": number, "erp_no": erp_no, "status": "CREATED"}}),
            )
        }
        QueryMode::NotFoundPathEmpty { shape } => json_response(
            200,
            &match shape {
                EmptyShape::Null => json!({"order": null}),
                EmptyShape::Array => json!({"order": []}),
                EmptyShape::Object => json!({}),
            },
        ),
        QueryMode::NotFoundPathValue { value } => json_response(200, &json!({"order": value})),
        QueryMode::NotFoundCode { status: 204 } => {
            (StatusCode::NO_CONTENT, Body::empty()).into_response()
        }
        QueryMode::NotFoundCode { status } => json_response(
            status,
            &json!({"success": false, "error": "order not found"}),
        ),
        QueryMode::FailureCode { status } => json_response(
            status,
            &json!({"success": false, "error": "internal error"}),
        ),
        QueryMode::UnlistedCode { status } => {
            let mut r = json_response(status, &json!({"error": "unexpected"}));
            if (300..400).contains(&status) {
                r.headers_mut().insert(
                    axum::http::header::LOCATION,
                    axum::http::HeaderValue::from_static("/elsewhere"),
                );
            }
            r
        }
        QueryMode::Xml => normal(app, &number, true),
        QueryMode::Slow { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            normal(app, &number, false)
        }
        QueryMode::Hang => {
            app.common.until_shutdown().await;
            json_response(503, &Value::Null)
        }
        QueryMode::Reset => return Err(()),
        QueryMode::AuthExpired => normal(app, &number, false),
    })
}

/// The mode for `number`: explicit per-number mode, else found when created, else default.
pub(crate) fn mode_for(app: &ErpApp, number: Option<&str>) -> QueryMode {
    let scenario = crate::lock(&app.scenario);
    if let Some(m) = number.and_then(|n| scenario.query_by_number.get(n)) {
        return m.clone();
    }
    if number.is_some_and(|n| crate::lock(&app.store).orders.contains_key(n)) {
        return QueryMode::Found;
    }
    scenario.query_default.clone()
}
