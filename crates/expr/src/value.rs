//! Run-time values and NiFi's implicit conversions between them.

use std::borrow::Cow;

use crate::java_date::{self, Zone};
use crate::java_number::{self, Number};

/// A value flowing through an expression chain. Strings borrow from the template or the
/// attributes whenever they can, so plain lookups never copy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Whole(i64),
    Decimal(f64),
    /// `java.util.Date`: epoch milliseconds.
    Date(i64),
    /// `java.time.Instant`: epoch nanoseconds.
    Instant(i128),
}

impl<'a> Value<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Java `toString` of the value (`None` for null); DATE renders in `zone`.
    #[inline]
    pub(crate) fn into_text(self, zone: &Zone) -> Option<Cow<'a, str>> {
        // Strings are by far the most common: keep their path tiny and the rest out of line.
        match self {
            Value::Str(text) => Some(text),
            Value::Null => None,
            other => other.render_non_string(zone),
        }
    }

    #[inline(never)]
    fn render_non_string(self, zone: &Zone) -> Option<Cow<'a, str>> {
        Some(match self {
            Value::Null => return None,
            Value::Str(text) => text,
            Value::Bool(value) => Cow::Borrowed(if value { "true" } else { "false" }),
            Value::Whole(value) => Cow::Owned(value.to_string()),
            Value::Decimal(value) => Cow::Owned(java_number::format_double(value)),
            Value::Date(millis) => Cow::Owned(java_date::date_to_string(millis, zone)),
            Value::Instant(nanos) => Cow::Owned(java_date::instant_to_string(nanos)),
        })
    }

    /// NiFi's cast to NUMBER: strings are parsed (unparsable is null), dates are epoch millis.
    pub(crate) fn to_number(&self) -> Option<Number> {
        match self {
            Value::Str(text) => java_number::parse_number(text),
            Value::Whole(value) => Some(Number::Whole(*value)),
            Value::Decimal(value) => Some(Number::Decimal(*value)),
            Value::Date(millis) => Some(Number::Whole(*millis)),
            Value::Instant(nanos) => Some(Number::Whole(nanos.div_euclid(1_000_000) as i64)),
            Value::Null | Value::Bool(_) => None,
        }
    }

    /// Cast to WHOLE_NUMBER (decimals truncate toward zero, as Java's `(long)` does).
    pub(crate) fn to_whole(&self) -> Option<i64> {
        self.to_number().map(|number| match number {
            Number::Whole(value) => value,
            Number::Decimal(value) => value as i64,
        })
    }

    pub(crate) fn to_decimal(&self) -> Option<f64> {
        self.to_number().map(|number| match number {
            Number::Whole(value) => value as f64,
            Number::Decimal(value) => value,
        })
    }

    /// NiFi's cast to BOOLEAN: `Boolean.valueOf(trimmed)`; null stays null.
    pub(crate) fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Null => None,
            Value::Bool(value) => Some(*value),
            Value::Str(text) => Some(java_number::java_trim(text).eq_ignore_ascii_case("true")),
            _ => Some(false),
        }
    }

    /// NiFi's cast to DATE (epoch millis); a string that is no date is an error.
    pub(crate) fn to_date(&self, zone: &Zone) -> Result<Option<i64>, String> {
        Ok(Some(match self {
            Value::Null => return Ok(None),
            Value::Date(millis) | Value::Whole(millis) => *millis,
            Value::Decimal(value) => *value as i64,
            Value::Instant(nanos) => nanos.div_euclid(1_000_000) as i64,
            Value::Str(text) => java_date::cast_to_date(text, zone)?,
            Value::Bool(_) => return Err("cannot cast BOOLEAN to DATE".to_string()),
        }))
    }

    /// NiFi's cast to INSTANT (epoch nanos); a string that is no instant is an error.
    pub(crate) fn to_instant(&self) -> Result<Option<i128>, String> {
        Ok(Some(match self {
            Value::Null => return Ok(None),
            Value::Instant(nanos) => *nanos,
            Value::Date(millis) | Value::Whole(millis) => i128::from(*millis) * 1_000_000,
            Value::Decimal(value) => i128::from(*value as i64) * 1_000_000,
            Value::Str(text) => java_date::cast_to_instant(text)?,
            Value::Bool(_) => return Err("cannot cast BOOLEAN to INSTANT".to_string()),
        }))
    }
}
