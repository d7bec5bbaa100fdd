//! XML responses turned into JSON the way Python's `xmltodict` does, so scripts and Jolt specs
//! written for Akinon Integrator see the same structure:
//!
//! - the document is an object holding its root element: `{"orders": {...}}`;
//! - an element with only text becomes that text (a string); an empty element becomes `null`;
//! - attributes become `"@name"` keys, before the children;
//! - text beside attributes or children becomes `"#text"` (whitespace around it stripped);
//! - a repeated element becomes a list; an element named in `force_list` is always a list
//!   (an entry is an element name, or a dotted path from the root such as `orders.order`, so a
//!   row element can be forced without forcing a field of the same name inside it).
//!
//! The input is decoded first from the encoding its byte order mark or its prolog declares
//! (`<?xml version="1.0" encoding="windows-1254"?>`; UTF-8 when neither says), then parsed
//! with quick-xml's event reader into the JSON tree directly, without an intermediate DOM.
//! Entities other than XML's five and character references are refused, so a DOCTYPE cannot
//! expand anything (no "billion laughs"); nesting deeper than [`MAX_DEPTH`] is refused.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde_json::{Map, Value};

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ERP's XML response cannot be read: {0}")]
pub struct XmlError(String);

/// XML to JSON, the xmltodict way.
pub fn to_json(bytes: &[u8], force_list: &[String]) -> Result<Value, XmlError> {
    let text = decode(bytes)?;
    let mut reader = Reader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| XmlError(format!("at byte {position}: {e}")))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError(format!(
                        "elements are nested more than {MAX_DEPTH} deep"
                    )));
                }
                stack.push(Element::open(&start)?);
            }
            Event::Empty(start) => {
                let element = Element::open(&start)?;
                close(element, &mut stack, &mut root, force_list)?;
            }
            Event::End(_) => {
                let Some(element) = stack.pop() else {
                    return Err(XmlError(format!(
                        "at byte {position}: an end tag without a start"
                    )));
                };
                close(element, &mut stack, &mut root, force_list)?;
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => match &*reference.xml10_content() {
                        "lt" => Cow::Borrowed("<"),
                        "gt" => Cow::Borrowed(">"),
                        "amp" => Cow::Borrowed("&"),
                        "apos" => Cow::Borrowed("'"),
                        "quot" => Cow::Borrowed("\""),
                        other => {
                            return Err(XmlError(format!(
                                "at byte {position}: unknown entity &{other}; (only XML's five and character references are accepted)"
                            )));
                        }
                    },
                    Err(e) => return Err(XmlError(format!("at byte {position}: {e}"))),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError(format!(
            "the document ends inside <{}>",
            open.name
        )));
    }
    match root {
        Some((name, value)) => {
            let mut document = Map::new();
            document.insert(name, value);
            Ok(Value::Object(document))
        }
        None => Err(XmlError("the document has no root element".to_string())),
    }
}

/// An element being read.
struct Element {
    name: String,
    /// Attributes (`@name`) then children, in document order.
    fields: Map<String, Value>,
    text: String,
}

impl Element {
    fn open(start: &BytesStart<'_>) -> Result<Self, XmlError> {
        let name = start.name().as_ref().to_string();
        let mut fields = Map::new();
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| XmlError(format!("an attribute of <{name}>: {e}")))?;
            let key = format!("@{}", attribute.key.as_ref());
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| XmlError(format!("attribute {key} of <{name}>: {e}")))?;
            fields.insert(key, Value::String(value.into_owned()));
        }
        Ok(Self {
            name,
            fields,
            text: String::new(),
        })
    }

    fn into_value(self) -> Value {
        let text = self.text.trim();
        if self.fields.is_empty() {
            if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.to_string())
            }
        } else {
            let mut fields = self.fields;
            if !text.is_empty() {
                fields.insert("#text".to_string(), Value::String(text.to_string()));
            }
            Value::Object(fields)
        }
    }
}

/// Adds a finished element to its parent (or makes it the root).
fn close(
    element: Element,
    stack: &mut [Element],
    root: &mut Option<(String, Value)>,
    force_list: &[String],
) -> Result<(), XmlError> {
    let name = element.name.clone();
    let value = element.into_value();
    let forced = force_list.iter().any(|entry| {
        *entry == name
            || (entry.contains('.') && {
                let mut path: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
                path.push(&name);
                *entry == path.join(".")
            })
    });
    let Some(parent) = stack.last_mut() else {
        if root.is_some() {
            return Err(XmlError(format!(
                "a second root element <{name}> after the first"
            )));
        }
        let value = if forced {
            Value::Array(vec![value])
        } else {
            value
        };
        *root = Some((name, value));
        return Ok(());
    };
    match parent.fields.get_mut(&name) {
        // An element's own value is never a list: a list here is this name's repeats.
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = std::mem::take(existing);
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            let value = if forced {
                Value::Array(vec![value])
            } else {
                value
            };
            parent.fields.insert(name, value);
        }
    }
    Ok(())
}

/// The document as UTF-8: from its byte order mark, else its declared encoding, else UTF-8.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, XmlError> {
    let (encoding, body) = match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom_length)) => (encoding, &bytes[bom_length..]),
        None => (declared_encoding(bytes)?, bytes),
    };
    if encoding == encoding_rs::UTF_8 {
        return std::str::from_utf8(body)
            .map(Cow::Borrowed)
            .map_err(|e| XmlError(format!("it is not valid UTF-8: {e}")));
    }
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        return Err(XmlError(format!(
            "it is not valid {} (its declared encoding)",
            encoding.name()
        )));
    }
    Ok(text)
}

/// The `encoding` of an ASCII-compatible document's `<?xml ...?>` declaration.
fn declared_encoding(bytes: &[u8]) -> Result<&'static encoding_rs::Encoding, XmlError> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head);
    let trimmed = head.trim_start();
    if !trimmed.starts_with("<?xml") {
        return Ok(encoding_rs::UTF_8);
    }
    let Some(end) = trimmed.find("?>") else {
        return Ok(encoding_rs::UTF_8);
    };
    let declaration = &trimmed[..end];
    let Some(at) = declaration.find("encoding") else {
        return Ok(encoding_rs::UTF_8);
    };
    let rest = declaration[at + "encoding".len()..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok(encoding_rs::UTF_8);
    };
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let label = match quote {
        Some(q) => rest[1..].split(q).next().unwrap_or(""),
        None => "",
    };
    encoding_rs::Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| XmlError(format!("its declared encoding {label:?} is not known")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(xml: &str) -> Value {
        to_json(xml.as_bytes(), &[]).unwrap()
    }

    #[test]
    fn elements_text_and_repeats_follow_xmltodict() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
            <orders>
              <order><order>1001</order><orderitems><id>1</id><status>450</status></orderitems></order>
              <order><order>1002</order><orderitems><id>2</id></orderitems><orderitems><id>3</id></orderitems></order>
              <next/>
            </orders>"#;
        assert_eq!(
            convert(xml),
            json!({"orders": {
                "order": [
                    {"order": "1001", "orderitems": {"id": "1", "status": "450"}},
                    {"order": "1002", "orderitems": [{"id": "2"}, {"id": "3"}]}
                ],
                "next": null
            }})
        );
    }

    #[test]
    fn attributes_and_mixed_text() {
        let xml = r#"<r><item id="7" kind='a&amp;b'>  text <b>x</b> more </item><e a="1"/></r>"#;
        assert_eq!(
            convert(xml),
            json!({"r": {
                "item": {"@id": "7", "@kind": "a&b", "b": "x", "#text": "text  more"},
                "e": {"@a": "1"}
            }})
        );
    }

    #[test]
    fn force_list_makes_single_elements_lists() {
        let xml = "<orders><order><orderitems><id>1</id></orderitems></order></orders>";
        let forced = to_json(
            xml.as_bytes(),
            &["order".to_string(), "orderitems".to_string()],
        )
        .unwrap();
        assert_eq!(
            forced,
            json!({"orders": {"order": [{"orderitems": [{"id": "1"}]}]}})
        );
    }

    #[test]
    fn force_list_paths_force_one_element_and_not_its_namesakes() {
        let xml = "<orders><order><order>1001</order><orderitems><id>1</id></orderitems></order></orders>";
        let forced = to_json(
            xml.as_bytes(),
            &["orders.order".to_string(), "orderitems".to_string()],
        )
        .unwrap();
        assert_eq!(
            forced,
            json!({"orders": {"order": [{"order": "1001", "orderitems": [{"id": "1"}]}]}})
        );
    }

    #[test]
    fn references_and_cdata_become_text() {
        let xml = "<a>&lt;&#65;&#x42;&gt; <![CDATA[<raw> & ]]>&quot;</a>";
        assert_eq!(convert(xml), json!({"a": "<AB> <raw> & \""}));
    }

    #[test]
    fn declared_single_byte_encodings_are_decoded() {
        // "Ağrı" in windows-1254 (Turkish): ğ = 0xF0, ı = 0xFD.
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1254\"?><city>A".to_vec();
        bytes.extend_from_slice(&[0xF0, b'r', 0xFD]);
        bytes.extend_from_slice(b"</city>");
        assert_eq!(to_json(&bytes, &[]).unwrap(), json!({"city": "Ağrı"}));
        let latin = b"<?xml version='1.0' encoding='ISO-8859-9'?><c>\xDE</c>";
        assert_eq!(to_json(latin, &[]).unwrap(), json!({"c": "Ş"}));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>ş</a>";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(to_json(&bytes, &[]).unwrap(), json!({"a": "ş"}));
    }

    #[test]
    fn broken_documents_are_refused_with_a_reason() {
        for (xml, needle) in [
            ("<a><b></a>", "byte"),
            ("<a>", "ends inside <a>"),
            ("", "no root"),
            ("<a/><b/>", "second root"),
            ("<a>&custom;</a>", "unknown entity"),
            ("<?xml version='1.0' encoding='klingon'?><a/>", "klingon"),
        ] {
            let err = to_json(xml.as_bytes(), &[]).unwrap_err().to_string();
            assert!(err.contains(needle), "{xml}: {err}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        let err = to_json(deep.as_bytes(), &[]).unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
        let invalid = b"<a>\xFF</a>";
        assert!(to_json(invalid, &[]).is_err());
    }
}
