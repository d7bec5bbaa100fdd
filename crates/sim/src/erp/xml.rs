//! JSON → XML, the inverse of xmltodict: objects become child elements, arrays become repeated
//! elements named by their key, scalars become text.

use serde_json::Value;

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn write(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Array(items) => {
            for item in items {
                write(out, name, item);
            }
        }
        Value::Object(m) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in m {
                write(out, k, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>{}</{name}>", escape(s)));
        }
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// `<?xml ...?><root>...</root>` for a JSON object.
pub(crate) fn to_xml(root: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write(&mut out, root, v);
    out
}

/// An XML response.
pub(crate) fn xml_response(status: u16, root: &str, v: &Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/xml; charset=utf-8",
        )],
        to_xml(root, v),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn arrays_repeat_elements_and_text_is_escaped() {
        let v = serde_json::json!({"order": [{"n": "a&b"}, {"n": 2}], "next": null});
        assert_eq!(
            super::to_xml("r", &v),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><r><order><n>a&amp;b</n></order><order><n>2</n></order><next/></r>"
        );
    }
}
