//! NiFi 2.x durations for `plusDuration` & co: `"<amount> <unit>"` such as `2 hours`, `7 days`,
//! `1 week`, `3 months`. Time units are exact; day, week, month and year are calendar units.

/// A parsed duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duration {
    pub amount: i64,
    pub unit: Unit,
}

/// Duration units, case-insensitive, singular or plural.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Nanos,
    Micros,
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl Duration {
    /// Parses `"<whole number> <unit>"`.
    pub(crate) fn parse(text: &str) -> Result<Duration, String> {
        let invalid = || {
            format!(
                "invalid duration '{text}': expected '<number> <unit>' with unit nanoseconds, microseconds, milliseconds, seconds, minutes, hours, days, weeks, months or years"
            )
        };
        let mut words = text.split_whitespace();
        let (Some(amount), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(invalid());
        };
        let amount: i64 = amount.parse().map_err(|_| invalid())?;
        let unit = match unit.to_ascii_lowercase().as_str() {
            "nanosecond" | "nanoseconds" | "nanos" => Unit::Nanos,
            "microsecond" | "microseconds" | "micros" => Unit::Micros,
            "millisecond" | "milliseconds" | "millis" => Unit::Millis,
            "second" | "seconds" => Unit::Seconds,
            "minute" | "minutes" => Unit::Minutes,
            "hour" | "hours" => Unit::Hours,
            "day" | "days" => Unit::Days,
            "week" | "weeks" => Unit::Weeks,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            _ => return Err(invalid()),
        };
        Ok(Duration { amount, unit })
    }

    /// The exact length in nanoseconds, for time-based units only.
    pub(crate) fn exact_nanos(&self) -> Option<i128> {
        let scale: i128 = match self.unit {
            Unit::Nanos => 1,
            Unit::Micros => 1_000,
            Unit::Millis => 1_000_000,
            Unit::Seconds => 1_000_000_000,
            Unit::Minutes => 60_000_000_000,
            Unit::Hours => 3_600_000_000_000,
            _ => return None,
        };
        Some(i128::from(self.amount) * scale)
    }
}
