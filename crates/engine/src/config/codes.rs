//! HTTP status code lists, written as the designer does (`"500, 503"`) or as a TOML array.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of HTTP status codes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusCodes(Vec<u16>);

impl StatusCodes {
    /// A list of codes.
    pub fn new(codes: Vec<u16>) -> Self {
        Self(codes)
    }

    /// Whether `status` is in the list.
    pub fn contains(&self, status: u16) -> bool {
        self.0.contains(&status)
    }

    /// The codes.
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }

    /// Parses `"500, 503"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| format!("{s:?} is not an HTTP status code (100-599)"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(u16::to_string).collect();
        f.write_str(&text.join(","))
    }
}

impl Serialize for StatusCodes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StatusCodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            List(Vec<i64>),
        }
        match Form::deserialize(deserializer)? {
            Form::Text(text) => Self::parse(&text).map_err(serde::de::Error::custom),
            Form::List(list) => list
                .into_iter()
                .map(|c| {
                    u16::try_from(c)
                        .ok()
                        .filter(|c| (100..=599).contains(c))
                        .ok_or_else(|| {
                            serde::de::Error::custom(format!(
                                "{c} is not an HTTP status code (100-599)"
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_comma_text_or_list() {
        let text: StatusCodes = serde_json::from_str(r#""500, 503""#).unwrap();
        let list: StatusCodes = serde_json::from_str("[500, 503]").unwrap();
        assert_eq!(text, list);
        assert!(text.contains(503) && !text.contains(404));
        assert_eq!(text.to_string(), "500,503");
    }

    #[test]
    fn bad_codes_are_named() {
        let err = serde_json::from_str::<StatusCodes>(r#""500, abc""#).unwrap_err();
        assert!(err.to_string().contains("\"abc\""), "{err}");
        let err = serde_json::from_str::<StatusCodes>("[700]").unwrap_err();
        assert!(err.to_string().contains("700"), "{err}");
    }
}
