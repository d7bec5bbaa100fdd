//! Java's number text: `Double.toString` rendering and NiFi's `NumberParsing` rules for turning
//! attribute strings into whole numbers (Java `long`) or decimals (Java `double`).

/// A number as NiFi's NUMBER type holds it: a Java `long` or a Java `double`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Whole(i64),
    Decimal(f64),
}

/// Renders a double exactly as Java's `Double.toString` does (shortest round-trip digits;
/// plain notation for 1e-3 <= |d| < 1e7, otherwise `d.dddE±n`).
pub(crate) fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if value < 0.0 {
        out.push('-');
    }
    let magnitude = value.abs();
    if (1e-3..1e7).contains(&magnitude) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exponent - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exponent.to_string());
    }
    out
}

/// Java `String.trim()`: strips every char <= U+0020 from both ends.
pub(crate) fn java_trim(text: &str) -> &str {
    text.trim_matches(|c: char| c <= '\u{20}')
}

/// NiFi's string-to-number cast: trimmed, then a whole number (decimal digits or `0x` hex) or a
/// Java floating-point literal; anything else is `None` (NiFi's null, not an error).
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let text = java_trim(text);
    if let Some(whole) = parse_whole(text) {
        return Some(Number::Whole(whole));
    }
    parse_decimal(text).map(Number::Decimal)
}

/// `[+-]?digits` (Long.valueOf) or `[+-]?0x hex` (Long.decode).
pub(crate) fn parse_whole(text: &str) -> Option<i64> {
    let (negative, body) = split_sign(text);
    if body.is_empty() {
        return None;
    }
    if body.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok();
    }
    let hex = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = u64::from_str_radix(hex, 16).ok()?;
    if negative {
        if magnitude > i64::MAX as u64 + 1 {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('+') {
        (false, rest)
    } else {
        (false, text)
    }
}

/// Java `Double.valueOf` syntax: decimal literals with optional exponent and `fFdD` suffix,
/// `NaN`, `Infinity`, and hexadecimal floats (`0x1.8p1`, the `p` exponent being required).
pub(crate) fn parse_decimal(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let sign = if negative { -1.0 } else { 1.0 };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_float(hex).map(|v| sign * v);
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    let bytes = body.as_bytes();
    let mut index = 0;
    let int_start = index;
    while index < bytes.len() && bytes[index].is_ascii_digit() {
        index += 1;
    }
    let int_digits = index - int_start;
    let mut frac_digits = 0;
    if index < bytes.len() && bytes[index] == b'.' {
        index += 1;
        let frac_start = index;
        while index < bytes.len() && bytes[index].is_ascii_digit() {
            index += 1;
        }
        frac_digits = index - frac_start;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if index < bytes.len() && (bytes[index] == b'e' || bytes[index] == b'E') {
        index += 1;
        if index < bytes.len() && (bytes[index] == b'+' || bytes[index] == b'-') {
            index += 1;
        }
        let exp_start = index;
        while index < bytes.len() && bytes[index].is_ascii_digit() {
            index += 1;
        }
        if index == exp_start {
            return None;
        }
    }
    if index != bytes.len() {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exponent) = hex.split_once(['p', 'P'])?;
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_hexdigit())
        || !frac_part.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let exponent_text = exponent
        .strip_suffix(['f', 'F', 'd', 'D'])
        .unwrap_or(exponent);
    let (exp_negative, exp_digits) = split_sign(exponent_text);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp: i32 = exp_digits.parse().unwrap_or(i32::MAX / 2);
    let exp = if exp_negative { -exp } else { exp };
    // Accumulate the significant hex digits exactly (up to 15 of them fit a u64 with room), then
    // scale by powers of two; extra digits only matter below double precision.
    let mut significand: u64 = 0;
    let mut scale: i32 = 0;
    let mut used = 0;
    for (position, digit) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let value = digit.to_digit(16).unwrap_or(0) as u64;
        let is_fraction = position >= int_part.len();
        if used < 15 {
            if significand != 0 || value != 0 {
                used += 1;
            }
            significand = significand * 16 + value;
            if is_fraction {
                scale -= 4;
            }
        } else if !is_fraction {
            scale += 4;
        }
    }
    Some(significand as f64 * 2f64.powi(scale + exp))
}

/// Java `Long.toString(value, radix)`: lowercase digits, a leading `-` for negatives.
pub(crate) fn to_radix(value: i64, radix: u32) -> String {
    let radix = if (2..=36).contains(&radix) { radix } else { 10 };
    if value == 0 {
        return "0".to_string();
    }
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    let mut digits = Vec::new();
    while magnitude > 0 {
        let digit = (magnitude % radix as u64) as u32;
        digits.push(std::char::from_digit(digit, radix).unwrap_or('0'));
        magnitude /= radix as u64;
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_render_like_java() {
        assert_eq!(format_double(5.0), "5.0");
        assert_eq!(format_double(-1250.0), "-1250.0");
        assert_eq!(format_double(1e10), "1.0E10");
        assert_eq!(format_double(0.005), "0.005");
        assert_eq!(format_double(0.0001), "1.0E-4");
        assert_eq!(format_double(1.942307692307692), "1.942307692307692");
        assert_eq!(
            format_double(9.876543210012345e132),
            "9.876543210012345E132"
        );
        assert_eq!(format_double(1234567.0), "1234567.0");
        assert_eq!(format_double(12345678.0), "1.2345678E7");
    }

    #[test]
    fn numbers_parse_like_nifi() {
        assert_eq!(parse_number(" 0123456789 "), Some(Number::Whole(123456789)));
        assert_eq!(
            parse_number("-0x1234567890abcdef"),
            Some(Number::Whole(-1311768467294899695))
        );
        assert_eq!(parse_number("0xF.Fp10"), Some(Number::Decimal(16320.0)));
        assert_eq!(parse_number("0x1.1"), None);
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number(".5e-2"), Some(Number::Decimal(0.005)));
    }
}
