//! Text escapers as NiFi calls them: Apache commons-text `StringEscapeUtils` (JSON, XML,
//! HTML 3.2 / 4.0, CSV) and `java.net.URLEncoder` / `URLDecoder` form encoding (UTF-8).

const BASIC: &[(&str, u32)] = &[("quot", 34), ("amp", 38), ("lt", 60), ("gt", 62)];

/// Names of U+00A0..=U+00FF, in order.
const ISO_8859_1: &str = "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml";

const HTML40_EXTENDED: &[(&str, u32)] = &[
    ("fnof", 402),
    ("Alpha", 913),
    ("Beta", 914),
    ("Gamma", 915),
    ("Delta", 916),
    ("Epsilon", 917),
    ("Zeta", 918),
    ("Eta", 919),
    ("Theta", 920),
    ("Iota", 921),
    ("Kappa", 922),
    ("Lambda", 923),
    ("Mu", 924),
    ("Nu", 925),
    ("Xi", 926),
    ("Omicron", 927),
    ("Pi", 928),
    ("Rho", 929),
    ("Sigma", 931),
    ("Tau", 932),
    ("Upsilon", 933),
    ("Phi", 934),
    ("Chi", 935),
    ("Psi", 936),
    ("Omega", 937),
    ("alpha", 945),
    ("beta", 946),
    ("gamma", 947),
    ("delta", 948),
    ("epsilon", 949),
    ("zeta", 950),
    ("eta", 951),
    ("theta", 952),
    ("iota", 953),
    ("kappa", 954),
    ("lambda", 955),
    ("mu", 956),
    ("nu", 957),
    ("xi", 958),
    ("omicron", 959),
    ("pi", 960),
    ("rho", 961),
    ("sigmaf", 962),
    ("sigma", 963),
    ("tau", 964),
    ("upsilon", 965),
    ("phi", 966),
    ("chi", 967),
    ("psi", 968),
    ("omega", 969),
    ("thetasym", 977),
    ("upsih", 978),
    ("piv", 982),
    ("bull", 8226),
    ("hellip", 8230),
    ("prime", 8242),
    ("Prime", 8243),
    ("oline", 8254),
    ("frasl", 8260),
    ("weierp", 8472),
    ("image", 8465),
    ("real", 8476),
    ("trade", 8482),
    ("alefsym", 8501),
    ("larr", 8592),
    ("uarr", 8593),
    ("rarr", 8594),
    ("darr", 8595),
    ("harr", 8596),
    ("crarr", 8629),
    ("lArr", 8656),
    ("uArr", 8657),
    ("rArr", 8658),
    ("dArr", 8659),
    ("hArr", 8660),
    ("forall", 8704),
    ("part", 8706),
    ("exist", 8707),
    ("empty", 8709),
    ("nabla", 8711),
    ("isin", 8712),
    ("notin", 8713),
    ("ni", 8715),
    ("prod", 8719),
    ("sum", 8721),
    ("minus", 8722),
    ("lowast", 8727),
    ("radic", 8730),
    ("prop", 8733),
    ("infin", 8734),
    ("ang", 8736),
    ("and", 8743),
    ("or", 8744),
    ("cap", 8745),
    ("cup", 8746),
    ("int", 8747),
    ("there4", 8756),
    ("sim", 8764),
    ("cong", 8773),
    ("asymp", 8776),
    ("ne", 8800),
    ("equiv", 8801),
    ("le", 8804),
    ("ge", 8805),
    ("sub", 8834),
    ("sup", 8835),
    ("nsub", 8836),
    ("sube", 8838),
    ("supe", 8839),
    ("oplus", 8853),
    ("otimes", 8855),
    ("perp", 8869),
    ("sdot", 8901),
    ("lceil", 8968),
    ("rceil", 8969),
    ("lfloor", 8970),
    ("rfloor", 8971),
    ("lang", 9001),
    ("rang", 9002),
    ("loz", 9674),
    ("spades", 9824),
    ("clubs", 9827),
    ("hearts", 9829),
    ("diams", 9830),
    ("OElig", 338),
    ("oelig", 339),
    ("Scaron", 352),
    ("scaron", 353),
    ("Yuml", 376),
    ("circ", 710),
    ("tilde", 732),
    ("ensp", 8194),
    ("emsp", 8195),
    ("thinsp", 8201),
    ("zwnj", 8204),
    ("zwj", 8205),
    ("lrm", 8206),
    ("rlm", 8207),
    ("ndash", 8211),
    ("mdash", 8212),
    ("lsquo", 8216),
    ("rsquo", 8217),
    ("sbquo", 8218),
    ("ldquo", 8220),
    ("rdquo", 8221),
    ("bdquo", 8222),
    ("dagger", 8224),
    ("Dagger", 8225),
    ("permil", 8240),
    ("lsaquo", 8249),
    ("rsaquo", 8250),
    ("euro", 8364),
];

fn iso_name(code: u32) -> Option<&'static str> {
    if (160..=255).contains(&code) {
        ISO_8859_1.split(' ').nth((code - 160) as usize)
    } else {
        None
    }
}

fn entity_name(code: u32, html4: bool) -> Option<&'static str> {
    if let Some((name, _)) = BASIC.iter().find(|(_, c)| *c == code) {
        return Some(name);
    }
    if let Some(name) = iso_name(code) {
        return Some(name);
    }
    if html4 {
        return HTML40_EXTENDED
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, _)| *name);
    }
    None
}

fn entity_code(name: &str, html4: bool, xml: bool) -> Option<u32> {
    if let Some((_, code)) = BASIC.iter().find(|(n, _)| *n == name) {
        return Some(*code);
    }
    if xml {
        return (name == "apos").then_some(39);
    }
    if let Some(index) = ISO_8859_1.split(' ').position(|n| n == name) {
        return Some(160 + index as u32);
    }
    if html4 {
        return HTML40_EXTENDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, code)| *code);
    }
    None
}

/// `escapeHtml3` / `escapeHtml4`.
pub(crate) fn escape_html(text: &str, html4: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match entity_name(c as u32, html4) {
            Some(name) => {
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
            None => out.push(c),
        }
    }
    out
}

/// `escapeXml` (XML 1.0): the five predefined entities; characters XML 1.0 forbids are dropped.
pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => {}
            _ => out.push(c),
        }
    }
    out
}

/// `unescapeHtml3/4` and `unescapeXml`: named and numeric entities.
pub(crate) fn unescape_entities(text: &str, html4: bool, xml: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        let decoded = rest[1..].find(';').and_then(|end| {
            let body = &rest[1..1 + end];
            let code = if let Some(number) = body.strip_prefix('#') {
                if let Some(hex) = number.strip_prefix(['x', 'X']) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    number.parse::<u32>().ok()
                }
            } else {
                entity_code(body, html4, xml)
            };
            code.and_then(char::from_u32).map(|c| (c, end + 2))
        });
        match decoded {
            Some((c, length)) => {
                out.push(c);
                rest = &rest[length..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `escapeJson`: `"` `\` `/` and control characters escaped, every non-ASCII UTF-16 unit as
/// `\uXXXX` (uppercase hex).
pub(crate) fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 32 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `unescapeJson` (commons-text `UNESCAPE_JSON`, i.e. Java unescaping).
pub(crate) fn unescape_json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    let mut index = 0;
    let push = |units: &mut Vec<u16>, c: char| {
        let mut buffer = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buffer));
    };
    while index < chars.len() {
        let c = chars[index];
        if c != '\\' || index + 1 >= chars.len() {
            push(&mut units, c);
            index += 1;
            continue;
        }
        let next = chars[index + 1];
        match next {
            'u' => {
                let mut start = index + 1;
                while chars.get(start) == Some(&'u') {
                    start += 1;
                }
                let hex: String = chars
                    .get(start..start + 4)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default();
                match u16::from_str_radix(&hex, 16) {
                    Ok(unit) if hex.len() == 4 => {
                        units.push(unit);
                        index = start + 4;
                    }
                    _ => {
                        push(&mut units, c);
                        index += 1;
                    }
                }
            }
            '0'..='7' => {
                let mut end = index + 1;
                while end < chars.len() && end < index + 4 && chars[end].is_digit(8) {
                    end += 1;
                }
                let octal: String = chars[index + 1..end].iter().collect();
                let value = u32::from_str_radix(&octal, 8).unwrap_or(0);
                let value = if value > 0o377 { value >> 3 } else { value };
                push(&mut units, char::from_u32(value).unwrap_or('\u{0}'));
                index = end;
            }
            _ => {
                let mapped = match next {
                    'b' => Some('\u{8}'),
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'f' => Some('\u{c}'),
                    'r' => Some('\r'),
                    '"' | '\'' | '\\' | '/' => Some(next),
                    _ => None,
                };
                match mapped {
                    Some(m) => {
                        push(&mut units, m);
                        index += 2;
                    }
                    None => {
                        push(&mut units, c);
                        index += 1;
                    }
                }
            }
        }
    }
    String::from_utf16_lossy(&units)
}

const CSV_SPECIAL: [char; 4] = [',', '"', '\r', '\n'];

/// `escapeCsv`: quoted (inner quotes doubled) when the text holds a comma, quote, CR or LF.
pub(crate) fn escape_csv(text: &str) -> String {
    if text.contains(CSV_SPECIAL) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `unescapeCsv`: the reverse of `escapeCsv`.
pub(crate) fn unescape_csv(text: &str) -> String {
    if text.len() < 2 || !text.starts_with('"') || !text.ends_with('"') {
        return text.to_string();
    }
    let inner = &text[1..text.len() - 1];
    if inner.contains(CSV_SPECIAL) {
        inner.replace("\"\"", "\"")
    } else {
        text.to_string()
    }
}

/// Bytes `URLEncoder` keeps as they are: a table, since every byte of every encoded value is
/// checked.
static URL_SAFE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(
            byte as u8,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_'
        );
        byte += 1;
    }
    table
};

fn url_safe(byte: u8) -> bool {
    URL_SAFE[usize::from(byte)]
}

/// `URLEncoder.encode(text, UTF-8)`: letters, digits and `.-*_` kept, space as `+`. Text that
/// needs no encoding is returned as is, without copying.
pub(crate) fn url_encode(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().all(url_safe) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    url_encode_into(text, &mut out);
    std::borrow::Cow::Owned(out)
}

/// [`url_encode`] appending to `out` (a template renders straight into its output).
pub(crate) fn url_encode_into(text: &str, out: &mut String) {
    if text.bytes().all(url_safe) {
        out.push_str(text);
    } else {
        url_encode_bytes(text, out);
    }
}

/// The escaping loop, out of line: most values need none of it.
#[inline(never)]
fn url_encode_bytes(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 15)] as char);
            }
        }
    }
}

/// `URLDecoder.decode(text, UTF-8)`: `+` as space, `%XX` bytes; a malformed escape is an error.
pub(crate) fn url_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' => {
                let hex = text
                    .get(index + 1..index + 3)
                    .ok_or_else(|| "incomplete trailing escape (%) pattern".to_string())?;
                let value = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("illegal hex characters in escape (%) pattern: {hex}"))?;
                out.push(value);
                index += 3;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers_match_commons_text() {
        assert_eq!(escape_json("é/\"x\""), "\\u00E9\\/\\\"x\\\"");
        assert_eq!(unescape_json("\\u00E9\\/"), "é/");
        assert_eq!(escape_html("special ♣ é", true), "special &clubs; &eacute;");
        assert_eq!(escape_html("special ¡", false), "special &iexcl;");
        assert_eq!(unescape_entities("&clubs;&#65;&#x42;", true, false), "♣AB");
        assert_eq!(url_encode("a b&c/é"), "a+b%26c%2F%C3%A9");
        assert_eq!(url_decode("a+b%26c%2F%C3%A9").unwrap(), "a b&c/é");
        assert!(url_decode("%zz").is_err());
    }
}
