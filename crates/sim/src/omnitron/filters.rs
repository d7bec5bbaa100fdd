//! Query-string filters (django-filter style): repeated keys, comma lists, booleans, datetimes.
//! Unknown parameters are ignored, as DRF does; malformed values of known filters are 400s
//! naming the parameter.

use super::errors::ApiError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The parsed query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Last value of `key` (Django's `QueryDict.get`), ignoring empty values as django-filter does.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// All values of a repeated key, each also split on commas.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Values of `key` and `key__in` together (`status=400&status=450`, `status__in=400,450`).
    pub fn any_of(&self, key: &str) -> Option<Vec<String>> {
        let mut v = self.all(key);
        v.extend(self.all(&format!("{key}__in")));
        if v.is_empty() { None } else { Some(v) }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(s) => match s {
                "true" | "True" | "1" => Ok(Some(true)),
                "false" | "False" | "0" => Ok(Some(false)),
                _ => Err(ApiError::field(
                    key,
                    "Select a valid choice. That choice is not one of the available choices.",
                )),
            },
        }
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| ApiError::field(key, "Enter a number.")),
        }
    }

    pub fn u64_list(&self, key: &str) -> Result<Option<Vec<u64>>, ApiError> {
        let vals = self.all(key);
        if vals.is_empty() {
            return Ok(None);
        }
        vals.iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| ApiError::field(key, "Enter a whole number."))
            })
            .collect::<Result<Vec<u64>, _>>()
            .map(Some)
    }

    /// A datetime filter: `Z`, an offset, or naive (= UTC); dates alone are midnight UTC.
    pub fn datetime(&self, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(s) => parse_datetime(s)
                .map(Some)
                .ok_or_else(|| ApiError::field(key, "Enter a valid date/time.")),
        }
    }
}

/// Parse the datetime forms Django accepts.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().replace(' ', "T");
    // A `+` in a query string decodes to a space; restore offsets like "+03:00".
    let s = if s.len() > 19 && s[19..].starts_with('T') {
        format!("{}+{}", &s[..19], &s[20..])
    } else {
        s
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(&s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&s, fmt) {
            return Some(n.and_utc());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(d) = DateTime::parse_from_str(&s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// Compare an optional datetime window.
pub(crate) fn in_window(
    t: DateTime<Utc>,
    gt: Option<DateTime<Utc>>,
    lt: Option<DateTime<Utc>>,
    gte: Option<DateTime<Utc>>,
    lte: Option<DateTime<Utc>>,
) -> bool {
    gt.is_none_or(|g| t > g)
        && lt.is_none_or(|l| t < l)
        && gte.is_none_or(|g| t >= g)
        && lte.is_none_or(|l| t <= l)
}

/// `(gt, lt, gte, lte)` bounds of one date field.
pub(crate) type DateBounds = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The four `modified_date` bounds (or another date field's).
pub(crate) fn date_bounds(q: &Query, field: &str) -> Result<DateBounds, ApiError> {
    Ok((
        q.datetime(&format!("{field}__gt"))?,
        q.datetime(&format!("{field}__lt"))?,
        q.datetime(&format!("{field}__gte"))?,
        q.datetime(&format!("{field}__lte"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_with_z_offset_or_naive_are_utc() {
        let z = parse_datetime("2024-01-02T03:04:05.000001Z").unwrap();
        let naive = parse_datetime("2024-01-02T03:04:05.000001").unwrap();
        assert_eq!(z, naive);
        let off = parse_datetime("2024-01-02T06:04:05+03:00").unwrap();
        assert_eq!(off, parse_datetime("2024-01-02T03:04:05Z").unwrap());
        let plus_as_space = parse_datetime("2024-01-02T06:04:05 03:00").unwrap();
        assert_eq!(plus_as_space, off);
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn repeated_and_comma_values_combine() {
        let q = Query::parse(Some("status=400&status=450&status__in=500,510&x="));
        assert_eq!(
            q.any_of("status").unwrap(),
            vec!["400", "450", "500", "510"]
        );
        assert!(q.get("x").is_none());
    }
}
