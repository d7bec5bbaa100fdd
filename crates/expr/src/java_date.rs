//! Java date-time text: `SimpleDateFormat` (Locale.US, lenient parsing) for DATE values,
//! `DateTimeFormatter` (strict parsing) for INSTANT values, `Date.toString()`,
//! `Instant.toString()`, and Java time-zone ids.

use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, LocalResult, Months, NaiveDate, NaiveDateTime,
    Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A Java time zone: a tz-database id or a fixed offset (`GMT+3`, `+03:00`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Zone {
    Named(Tz),
    Fixed { seconds: i32, name: String },
}

impl Zone {
    /// UTC, the default zone when neither the options nor `TZ` name one.
    pub(crate) fn utc() -> Zone {
        Zone::Named(Tz::UTC)
    }

    /// `TimeZone.getTimeZone`: an unknown id silently means GMT.
    pub(crate) fn lenient(id: &str) -> Zone {
        Zone::strict(id).unwrap_or(Zone::Fixed {
            seconds: 0,
            name: "GMT".to_string(),
        })
    }

    /// `ZoneId.of`: an unknown id is `None`.
    pub(crate) fn strict(id: &str) -> Option<Zone> {
        let id = id.trim();
        if id == "Z" {
            return Some(Zone::Named(Tz::UTC));
        }
        for prefix in ["GMT", "UTC", "UT", ""] {
            if let Some(rest) = id.strip_prefix(prefix)
                && rest.starts_with(['+', '-'])
            {
                let seconds = parse_offset(rest)?;
                let name = if prefix.is_empty() {
                    format_offset(seconds, true, true)
                } else {
                    format!("{prefix}{}", format_offset(seconds, true, true))
                };
                return Some(Zone::Fixed { seconds, name });
            }
        }
        let id = match id {
            "PST" => "America/Los_Angeles",
            "CST" => "America/Chicago",
            "IST" => "Asia/Kolkata",
            "JST" => "Asia/Tokyo",
            other => other,
        };
        id.parse::<Tz>().ok().map(Zone::Named)
    }

    /// The zone's offset from UTC at an instant, in seconds.
    pub(crate) fn offset_at(&self, millis: i64) -> i32 {
        match self {
            Zone::Fixed { seconds, .. } => *seconds,
            Zone::Named(tz) => match DateTime::from_timestamp_millis(millis) {
                Some(utc) => tz
                    .offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// The short display name at an instant (`UTC`, `CEST`, `GMT+03:00`).
    fn short_name(&self, millis: i64) -> String {
        match self {
            Zone::Fixed { name, .. } => name.clone(),
            Zone::Named(tz) => {
                let Some(utc) = DateTime::from_timestamp_millis(millis) else {
                    return "UTC".to_string();
                };
                let offset = tz.offset_from_utc_datetime(&utc.naive_utc());
                let abbreviation = offset.to_string();
                if abbreviation.starts_with(['+', '-']) {
                    format!(
                        "GMT{}",
                        format_offset(offset.fix().local_minus_utc(), true, true)
                    )
                } else {
                    abbreviation
                }
            }
        }
    }

    /// The zone's id: the tz-database name or the fixed offset's name.
    pub(crate) fn id(&self) -> &str {
        match self {
            Zone::Fixed { name, .. } => name,
            Zone::Named(tz) => tz.name(),
        }
    }

    /// Local wall-clock time to epoch millis. A time in a DST gap moves forward by the gap (as
    /// lenient Java calendars do); an ambiguous time takes the earlier instant.
    pub(crate) fn local_to_millis(&self, local: NaiveDateTime) -> Option<i64> {
        match self {
            Zone::Fixed { seconds, .. } => {
                Some(local.and_utc().timestamp_millis() - i64::from(*seconds) * 1000)
            }
            Zone::Named(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(time) => Some(time.timestamp_millis()),
                LocalResult::Ambiguous(earliest, _) => Some(earliest.timestamp_millis()),
                LocalResult::None => {
                    let before = self.offset_at(local.and_utc().timestamp_millis() - 86_400_000);
                    Some(local.and_utc().timestamp_millis() - i64::from(before) * 1000)
                }
            },
        }
    }

    /// Whether a local time exists in this zone (false inside a DST gap).
    pub(crate) fn local_exists(&self, local: NaiveDateTime) -> bool {
        match self {
            Zone::Fixed { .. } => true,
            Zone::Named(tz) => !matches!(tz.from_local_datetime(&local), LocalResult::None),
        }
    }

    pub(crate) fn to_local(&self, millis: i64) -> NaiveDateTime {
        let offset = i64::from(self.offset_at(millis)) * 1000;
        DateTime::from_timestamp_millis(millis.saturating_add(offset))
            .unwrap_or_default()
            .naive_utc()
    }
}

fn parse_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes, seconds) = if let Some((h, m)) = rest.split_once(':') {
        let (m, s) = m.split_once(':').unwrap_or((m, "0"));
        (
            h.parse::<i32>().ok()?,
            m.parse::<i32>().ok()?,
            s.parse::<i32>().ok()?,
        )
    } else {
        match rest.len() {
            1 | 2 => (rest.parse().ok()?, 0, 0),
            4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?, 0),
            6 => (
                rest[..2].parse().ok()?,
                rest[2..4].parse().ok()?,
                rest[4..].parse().ok()?,
            ),
            _ => return None,
        }
    };
    if hours > 18
        || minutes > 59
        || seconds > 59
        || !rest.bytes().all(|b| b.is_ascii_digit() || b == b':')
    {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

fn format_offset(seconds: i32, colon: bool, minutes_always: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let total = seconds.abs();
    let (hours, minutes) = (total / 3600, (total / 60) % 60);
    if !minutes_always && minutes == 0 {
        format!("{sign}{hours:02}")
    } else if colon {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}")
    }
}

/// Which Java formatter a pattern is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `java.text.SimpleDateFormat` (DATE functions).
    Simple,
    /// `java.time.format.DateTimeFormatter` (INSTANT functions).
    Formatter,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field {
        letter: char,
        count: usize,
    },
    /// `[` ... `]` in a DateTimeFormatter pattern.
    Optional(Vec<Item>),
}

/// A compiled date pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DatePattern {
    flavor: Flavor,
    items: Vec<Item>,
}

impl DatePattern {
    /// Compiles a `SimpleDateFormat` pattern.
    pub(crate) fn simple(pattern: &str) -> Result<DatePattern, String> {
        let items = tokenize(pattern, Flavor::Simple)?;
        Ok(DatePattern {
            flavor: Flavor::Simple,
            items,
        })
    }

    /// Compiles a `DateTimeFormatter` pattern.
    pub(crate) fn formatter(pattern: &str) -> Result<DatePattern, String> {
        let items = tokenize(pattern, Flavor::Formatter)?;
        Ok(DatePattern {
            flavor: Flavor::Formatter,
            items,
        })
    }

    /// Formats epoch nanoseconds in a zone.
    pub(crate) fn format(&self, nanos: i128, zone: &Zone) -> String {
        let millis = nanos.div_euclid(1_000_000) as i64;
        let local = zone.to_local(millis);
        let nano_of_second = nanos.rem_euclid(1_000_000_000) as u32;
        let mut out = String::with_capacity(32);
        format_items(
            &self.items,
            self.flavor,
            &mut out,
            &local,
            nano_of_second,
            millis,
            zone,
        );
        out
    }

    /// Parses text to epoch nanoseconds. `Simple` is lenient (fields roll over, trailing text is
    /// ignored); `Formatter` is strict (ranges checked, the whole text must match).
    pub(crate) fn parse(&self, text: &str, zone: &Zone) -> Result<i128, String> {
        let mut fields = Parsed::default();
        let consumed = parse_items(&self.items, self.flavor, text, 0, &mut fields)?;
        if self.flavor == Flavor::Formatter && consumed != text.len() {
            return Err(format!(
                "text '{text}' could not be parsed, unparsed text found at index {consumed}"
            ));
        }
        fields.resolve(self.flavor == Flavor::Simple, zone)
    }

    /// Strict validation: the text must match the whole pattern and name a real calendar date
    /// and a local time that exists in the zone.
    pub(crate) fn is_valid(&self, text: &str, zone: &Zone) -> bool {
        let mut fields = Parsed::default();
        match parse_items(&self.items, Flavor::Formatter, text, 0, &mut fields) {
            Ok(consumed) if consumed == text.len() => fields.validate(zone),
            _ => false,
        }
    }
}

fn is_pattern_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn tokenize(pattern: &str, flavor: Flavor) -> Result<Vec<Item>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut index = 0;
    let push_literal = |stack: &mut Vec<Vec<Item>>, text: &str| {
        if let Some(items) = stack.last_mut() {
            if let Some(Item::Literal(previous)) = items.last_mut() {
                previous.push_str(text);
            } else {
                items.push(Item::Literal(text.to_string()));
            }
        }
    };
    while index < chars.len() {
        let c = chars[index];
        if c == '\'' {
            if chars.get(index + 1) == Some(&'\'') {
                push_literal(&mut stack, "'");
                index += 2;
                continue;
            }
            let mut literal = String::new();
            index += 1;
            loop {
                match chars.get(index) {
                    None => return Err("unterminated quote".to_string()),
                    Some('\'') if chars.get(index + 1) == Some(&'\'') => {
                        literal.push('\'');
                        index += 2;
                    }
                    Some('\'') => {
                        index += 1;
                        break;
                    }
                    Some(other) => {
                        literal.push(*other);
                        index += 1;
                    }
                }
            }
            push_literal(&mut stack, &literal);
        } else if is_pattern_letter(c) {
            let mut count = 1;
            while chars.get(index + count) == Some(&c) {
                count += 1;
            }
            let known = match flavor {
                Flavor::Simple => "GyYMLwWDdFEuaHkKhmsSzZX",
                Flavor::Formatter => "GuyDMLdQqYwWEecFaKkhHmsSAnNVvzOXxZp",
            };
            if !known.contains(c) {
                return Err(format!("illegal pattern character '{c}'"));
            }
            if let Some(items) = stack.last_mut() {
                items.push(Item::Field { letter: c, count });
            }
            index += count;
        } else if flavor == Flavor::Formatter && c == '[' {
            stack.push(Vec::new());
            index += 1;
        } else if flavor == Flavor::Formatter && c == ']' {
            if stack.len() < 2 {
                return Err("unmatched ']'".to_string());
            }
            let inner = stack.pop().unwrap_or_default();
            if let Some(items) = stack.last_mut() {
                items.push(Item::Optional(inner));
            }
            index += 1;
        } else if flavor == Flavor::Formatter && matches!(c, '{' | '}' | '#') {
            return Err(format!("pattern character '{c}' is reserved"));
        } else {
            let mut buffer = [0u8; 4];
            push_literal(&mut stack, c.encode_utf8(&mut buffer));
            index += 1;
        }
    }
    if stack.len() != 1 {
        return Err("unmatched '['".to_string());
    }
    Ok(stack.pop().unwrap_or_default())
}

/// Appends `value` zero-padded to `width` digits, without allocating.
fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    let mut magnitude = value.unsigned_abs();
    let mut buffer = [0u8; 20];
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    for _ in (buffer.len() - start)..width {
        out.push('0');
    }
    for digit in &buffer[start..] {
        out.push(*digit as char);
    }
}

/// US week of year: weeks start on Sunday and week 1 holds January 1st (so the last days of
/// December may already be week 1 of the next year).
fn us_week_of_year(date: NaiveDate) -> i64 {
    let sunday = date - ChronoDuration::days(i64::from(date.weekday().num_days_from_sunday()));
    if let Some(next_jan1) = NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
        && sunday + ChronoDuration::days(6) >= next_jan1
    {
        return 1;
    }
    let jan1 = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date);
    let offset = i64::from(jan1.weekday().num_days_from_sunday());
    (i64::from(date.ordinal0()) + offset) / 7 + 1
}

fn format_items(
    items: &[Item],
    flavor: Flavor,
    out: &mut String,
    local: &NaiveDateTime,
    nano: u32,
    millis: i64,
    zone: &Zone,
) {
    for item in items {
        let (letter, count) = match item {
            Item::Literal(text) => {
                out.push_str(text);
                continue;
            }
            Item::Optional(inner) => {
                format_items(inner, flavor, out, local, nano, millis, zone);
                continue;
            }
            Item::Field { letter, count } => (*letter, *count),
        };
        let count_i = count;
        match letter {
            'G' => out.push_str(if local.year() > 0 { "AD" } else { "BC" }),
            'y' | 'u' | 'Y' => {
                let year = if letter == 'y' && local.year() <= 0 && flavor == Flavor::Formatter {
                    1 - i64::from(local.year())
                } else {
                    i64::from(local.year())
                };
                if count == 2 {
                    pad(out, year.rem_euclid(100), 2);
                } else if flavor == Flavor::Formatter && count == 4 && year > 9999 {
                    out.push('+');
                    pad(out, year, 4);
                } else {
                    pad(out, year, count_i);
                }
            }
            'M' | 'L' => {
                let month = local.month() as usize;
                match count {
                    1 | 2 => pad(out, month as i64, count_i),
                    3 => out.push_str(&MONTHS[month - 1][..3]),
                    4 => out.push_str(MONTHS[month - 1]),
                    _ => out.push_str(if flavor == Flavor::Formatter {
                        &MONTHS[month - 1][..1]
                    } else {
                        MONTHS[month - 1]
                    }),
                }
            }
            'Q' | 'q' => {
                let quarter = (local.month0() / 3 + 1) as i64;
                match count {
                    1 | 2 => pad(out, quarter, count_i),
                    3 => out.push_str(&format!("Q{quarter}")),
                    _ => out.push_str(
                        ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]
                            [quarter as usize - 1],
                    ),
                }
            }
            'w' => pad(out, us_week_of_year(local.date()), count_i),
            'W' => {
                let first = local.date().with_day(1).unwrap_or(local.date());
                let offset = i64::from(first.weekday().num_days_from_sunday());
                pad(out, (i64::from(local.day0()) + offset) / 7 + 1, count_i);
            }
            'D' => pad(out, i64::from(local.ordinal()), count_i),
            'd' => pad(out, i64::from(local.day()), count_i),
            'F' => pad(out, i64::from(local.day0() / 7 + 1), count_i),
            'E' => {
                let day = DAYS[local.weekday().num_days_from_monday() as usize];
                if count >= 4 {
                    out.push_str(day);
                } else {
                    out.push_str(&day[..3]);
                }
            }
            'e' | 'c' => {
                let day = DAYS[local.weekday().num_days_from_monday() as usize];
                match count {
                    1 | 2 => pad(
                        out,
                        i64::from(local.weekday().num_days_from_sunday() + 1),
                        count_i,
                    ),
                    3 => out.push_str(&day[..3]),
                    _ => out.push_str(day),
                }
            }
            'a' => out.push_str(if local.hour() < 12 { "AM" } else { "PM" }),
            'H' => pad(out, i64::from(local.hour()), count_i),
            'k' => pad(
                out,
                i64::from(if local.hour() == 0 { 24 } else { local.hour() }),
                count_i,
            ),
            'K' => pad(out, i64::from(local.hour() % 12), count_i),
            'h' => pad(
                out,
                i64::from(if local.hour().is_multiple_of(12) {
                    12
                } else {
                    local.hour() % 12
                }),
                count_i,
            ),
            'm' => pad(out, i64::from(local.minute()), count_i),
            's' => pad(out, i64::from(local.second()), count_i),
            'S' => match flavor {
                Flavor::Simple => pad(out, i64::from(nano / 1_000_000), count_i),
                Flavor::Formatter => {
                    let digits = format!("{nano:09}");
                    if count <= 9 {
                        out.push_str(&digits[..count]);
                    } else {
                        out.push_str(&digits);
                        for _ in 9..count {
                            out.push('0');
                        }
                    }
                }
            },
            'A' => pad(
                out,
                i64::from(local.num_seconds_from_midnight()) * 1000 + i64::from(nano / 1_000_000),
                count_i,
            ),
            'n' => pad(out, i64::from(nano), count_i),
            'N' => pad(
                out,
                i64::from(local.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(nano),
                count_i,
            ),
            'V' => out.push_str(zone.id()),
            'v' | 'z' => out.push_str(&zone.short_name(millis)),
            'O' => {
                let seconds = zone.offset_at(millis);
                if seconds == 0 {
                    out.push_str("GMT");
                } else if count == 1 {
                    let sign = if seconds < 0 { '-' } else { '+' };
                    let total = seconds.abs();
                    let (hours, minutes) = (total / 3600, (total / 60) % 60);
                    if minutes == 0 {
                        out.push_str(&format!("GMT{sign}{hours}"));
                    } else {
                        out.push_str(&format!("GMT{sign}{hours}:{minutes:02}"));
                    }
                } else {
                    out.push_str(&format!("GMT{}", format_offset(seconds, true, true)));
                }
            }
            'Z' => {
                let seconds = zone.offset_at(millis);
                match (flavor, count) {
                    (Flavor::Formatter, 4) => {
                        if seconds == 0 {
                            out.push_str("GMT");
                        } else {
                            out.push_str(&format!("GMT{}", format_offset(seconds, true, true)));
                        }
                    }
                    (Flavor::Formatter, 5) => {
                        if seconds == 0 {
                            out.push('Z');
                        } else {
                            out.push_str(&format_offset(seconds, true, true));
                        }
                    }
                    _ => out.push_str(&format_offset(seconds, false, true)),
                }
            }
            'X' | 'x' => {
                let seconds = zone.offset_at(millis);
                if seconds == 0 && letter == 'X' {
                    out.push('Z');
                } else {
                    match count {
                        1 => out.push_str(&format_offset(seconds, false, false)),
                        2 | 4 => out.push_str(&format_offset(seconds, false, true)),
                        _ => out.push_str(&format_offset(seconds, true, true)),
                    }
                }
            }
            'p' => {}
            _ => {}
        }
    }
}

/// Fields collected while parsing.
#[derive(Debug, Default, Clone)]
struct Parsed {
    year: Option<i64>,
    two_digit_year: bool,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    millis: Option<i64>,
    nanos: Option<i64>,
    offset: Option<i32>,
    bc: bool,
}

impl Parsed {
    fn hour_of_day(&self) -> i64 {
        match (self.hour, self.hour12, self.pm) {
            (Some(hour), _, _) => hour,
            (None, Some(hour), pm) => hour % 12 + if pm == Some(true) { 12 } else { 0 },
            (None, None, Some(true)) => 12,
            _ => 0,
        }
    }

    fn year_value(&self) -> i64 {
        let mut year = self.year.unwrap_or(1970);
        if self.two_digit_year {
            // SimpleDateFormat: within 80 years before and 20 years after now.
            let now_year = i64::from(Utc::now().year());
            let century = now_year - 80;
            let mut candidate = (century / 100) * 100 + year;
            if candidate < century {
                candidate += 100;
            }
            year = candidate;
        }
        if self.bc { 1 - year } else { year }
    }

    fn resolve(&self, lenient: bool, zone: &Zone) -> Result<i128, String> {
        let year = self.year_value();
        let month = self.month.unwrap_or(1);
        let day = self.day.unwrap_or(1);
        let base =
            NaiveDate::from_ymd_opt(i32::try_from(year).map_err(|_| "year out of range")?, 1, 1)
                .ok_or("year out of range")?;
        let date = if let Some(day_of_year) = self.day_of_year.filter(|_| self.day.is_none()) {
            base.checked_add_signed(ChronoDuration::days(day_of_year - 1))
        } else if lenient {
            add_months(base, month - 1)
                .and_then(|d| d.checked_add_signed(ChronoDuration::days(day - 1)))
        } else {
            if !(1..=12).contains(&month) {
                return Err(format!("invalid month {month}"));
            }
            let first =
                NaiveDate::from_ymd_opt(base.year(), month as u32, 1).ok_or("invalid date")?;
            let last = last_day_of_month(first);
            if !(1..=31).contains(&day) {
                return Err(format!("invalid day of month {day}"));
            }
            first.with_day(day.min(last) as u32)
        }
        .ok_or("date out of range")?;
        let hour = self.hour_of_day();
        let minute = self.minute.unwrap_or(0);
        let second = self.second.unwrap_or(0);
        if !lenient
            && (!(0..=24).contains(&hour)
                || !(0..=59).contains(&minute)
                || !(0..=59).contains(&second))
        {
            return Err("time field out of range".to_string());
        }
        let sub_nanos = self.nanos.unwrap_or(0) + self.millis.unwrap_or(0) * 1_000_000;
        let local = date.and_hms_opt(0, 0, 0).ok_or("invalid time")?
            + ChronoDuration::hours(hour)
            + ChronoDuration::minutes(minute)
            + ChronoDuration::seconds(second);
        let epoch_millis = match self.offset {
            Some(offset) => local.and_utc().timestamp_millis() - i64::from(offset) * 1000,
            None => zone.local_to_millis(local).ok_or("invalid local time")?,
        };
        Ok(i128::from(epoch_millis) * 1_000_000 + i128::from(sub_nanos))
    }

    fn validate(&self, zone: &Zone) -> bool {
        let month = self.month.unwrap_or(1);
        let day = self.day.unwrap_or(1);
        let hour = self.hour_of_day();
        if !(1..=12).contains(&month) || !(0..=23).contains(&hour) {
            return false;
        }
        if !(0..=59).contains(&self.minute.unwrap_or(0))
            || !(0..=59).contains(&self.second.unwrap_or(0))
        {
            return false;
        }
        let Some(hour12) = self.hour12.map(|h| (1..=12).contains(&h)).or(Some(true)) else {
            return false;
        };
        if !hour12 {
            return false;
        }
        // Without a year, 29 February is acceptable (there is a leap year it fits).
        let year = if self.year.is_some() {
            self.year_value()
        } else {
            2000
        };
        let Some(date) = i32::try_from(year).ok().and_then(|y| {
            NaiveDate::from_ymd_opt(y, month as u32, u32::try_from(day).unwrap_or(0))
        }) else {
            return false;
        };
        let Some(local) = date.and_hms_opt(
            hour as u32,
            self.minute.unwrap_or(0) as u32,
            self.second.unwrap_or(0) as u32,
        ) else {
            return false;
        };
        self.offset.is_some() || zone.local_exists(local)
    }
}

fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    if months >= 0 {
        date.checked_add_months(Months::new(u32::try_from(months).ok()?))
    } else {
        date.checked_sub_months(Months::new(u32::try_from(-months).ok()?))
    }
}

fn last_day_of_month(first: NaiveDate) -> i64 {
    add_months(first, 1)
        .and_then(|next| next.pred_opt())
        .map_or(28, |last| i64::from(last.day()))
}

fn is_numeric_field(item: Option<&Item>) -> bool {
    match item {
        Some(Item::Field { letter, count }) => match letter {
            'M' | 'L' | 'E' | 'e' | 'c' | 'Q' | 'q' => *count < 3 && !matches!(letter, 'E'),
            'G' | 'a' | 'z' | 'Z' | 'X' | 'x' | 'V' | 'v' | 'O' => false,
            _ => true,
        },
        _ => false,
    }
}

fn take_digits(text: &str, at: usize, min: usize, max: usize) -> Result<(i64, usize), String> {
    let bytes = text.as_bytes();
    let mut end = at;
    while end < bytes.len() && end - at < max && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end - at < min.max(1) {
        return Err(format!("text '{text}' could not be parsed at index {at}"));
    }
    let value = text[at..end]
        .parse::<i64>()
        .map_err(|_| format!("number too large at index {at}"))?;
    Ok((value, end))
}

fn match_name(text: &str, at: usize, names: &[&str], short: bool) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let lower = rest.to_ascii_lowercase();
    // Prefer the full name, then the three-letter form.
    for (index, name) in names.iter().enumerate() {
        if lower.starts_with(&name.to_ascii_lowercase()) {
            return Some((index, name.len()));
        }
    }
    if short {
        for (index, name) in names.iter().enumerate() {
            if lower.starts_with(&name[..3].to_ascii_lowercase()) {
                return Some((index, 3));
            }
        }
    }
    None
}

fn parse_zone_text(text: &str, at: usize) -> Option<(i32, usize)> {
    let rest = &text[at..];
    if rest.starts_with('Z') {
        return Some((0, 1));
    }
    for prefix in ["GMT", "UTC", "UT"] {
        if let Some(after) = rest.strip_prefix(prefix) {
            let sign_part: String = after
                .chars()
                .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ':'))
                .collect();
            if sign_part.is_empty() {
                return Some((0, prefix.len()));
            }
            if let Some(seconds) = parse_offset(&sign_part) {
                return Some((seconds, prefix.len() + sign_part.len()));
            }
            return Some((0, prefix.len()));
        }
    }
    if rest.starts_with(['+', '-']) {
        let candidate: String = rest
            .chars()
            .take(6)
            .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ':'))
            .collect();
        for length in (2..=candidate.len()).rev() {
            if let Some(seconds) = parse_offset(&candidate[..length]) {
                return Some((seconds, length));
            }
        }
        return None;
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '/' || *c == '_')
        .collect();
    if word.is_empty() {
        return None;
    }
    let known = [
        ("EST", -5),
        ("EDT", -4),
        ("CST", -6),
        ("CDT", -5),
        ("MST", -7),
        ("MDT", -6),
        ("PST", -8),
        ("PDT", -7),
        ("CET", 1),
        ("CEST", 2),
        ("EET", 2),
        ("EEST", 3),
        ("BST", 1),
        ("WET", 0),
        ("WEST", 1),
        ("JST", 9),
        ("TRT", 3),
        ("MSK", 3),
    ];
    for (name, hours) in known {
        if word == name {
            return Some((hours * 3600, name.len()));
        }
    }
    Zone::strict(&word).map(|zone| (zone.offset_at(Utc::now().timestamp_millis()), word.len()))
}

fn parse_items(
    items: &[Item],
    flavor: Flavor,
    text: &str,
    mut at: usize,
    fields: &mut Parsed,
) -> Result<usize, String> {
    let fail = |at: usize| format!("text '{text}' could not be parsed at index {at}");
    for (index, item) in items.iter().enumerate() {
        let (letter, count) = match item {
            Item::Literal(literal) => {
                if text[at..].starts_with(literal.as_str()) {
                    at += literal.len();
                    continue;
                }
                return Err(fail(at));
            }
            Item::Optional(inner) => {
                let mut trial = fields.clone();
                if let Ok(next) = parse_items(inner, flavor, text, at, &mut trial) {
                    *fields = trial;
                    at = next;
                }
                continue;
            }
            Item::Field { letter, count } => (*letter, *count),
        };
        let adjacent = is_numeric_field(items.get(index + 1));
        // Width rules: abutting numeric fields take exactly `count` digits; strict formatter
        // fields with count >= 2 are fixed width; otherwise as many digits as there are.
        let (min, max) = if adjacent {
            (count, count)
        } else if flavor == Flavor::Formatter {
            match (letter, count) {
                ('y' | 'u' | 'Y', 2) => (2, 2),
                ('y' | 'u' | 'Y', c) => (c, 19),
                ('S', c) => (c, c),
                (_, 1) => (1, 19),
                (_, c) => (c, c),
            }
        } else {
            (1, 19)
        };
        match letter {
            'y' | 'u' | 'Y' => {
                let negative = text[at..].starts_with('-') && flavor == Flavor::Simple;
                let start = if negative || text[at..].starts_with('+') {
                    at + 1
                } else {
                    at
                };
                let (value, end) = take_digits(text, start, min, max)?;
                fields.two_digit_year = match flavor {
                    Flavor::Simple => count <= 2 && end - start == 2,
                    Flavor::Formatter => false,
                };
                let value = if flavor == Flavor::Formatter && count == 2 {
                    2000 + value
                } else {
                    value
                };
                fields.year = Some(if negative { -value } else { value });
                at = end;
            }
            'M' | 'L' if count >= 3 => {
                let (month, length) =
                    match_name(text, at, &MONTHS, true).ok_or_else(|| fail(at))?;
                fields.month = Some(month as i64 + 1);
                at += length;
            }
            'E' | 'e' | 'c' if count >= 3 || letter == 'E' => {
                let (_, length) = match_name(text, at, &DAYS, true).ok_or_else(|| fail(at))?;
                at += length;
            }
            'G' => {
                let rest = text[at..].to_ascii_uppercase();
                if rest.starts_with("AD") {
                    at += 2;
                } else if rest.starts_with("BC") {
                    fields.bc = true;
                    at += 2;
                } else {
                    return Err(fail(at));
                }
            }
            'a' => {
                let rest = text[at..].to_ascii_uppercase();
                if rest.starts_with("AM") {
                    fields.pm = Some(false);
                } else if rest.starts_with("PM") {
                    fields.pm = Some(true);
                } else {
                    return Err(fail(at));
                }
                at += 2;
            }
            'z' | 'Z' | 'X' | 'x' | 'O' | 'V' | 'v' => {
                let (offset, length) = parse_zone_text(text, at).ok_or_else(|| fail(at))?;
                fields.offset = Some(offset);
                at += length;
            }
            'S' if flavor == Flavor::Formatter => {
                let (value, end) = take_digits(text, at, min, max)?;
                let digits = end - at;
                let scale = 10i64.pow(9u32.saturating_sub(digits as u32));
                fields.nanos = Some(value * scale);
                at = end;
            }
            'n' => {
                let (value, end) = take_digits(text, at, min, max)?;
                fields.nanos = Some(value);
                at = end;
            }
            _ => {
                let (value, end) = take_digits(text, at, min, max)?;
                at = end;
                match letter {
                    'M' | 'L' => fields.month = Some(value),
                    'd' => fields.day = Some(value),
                    'D' => fields.day_of_year = Some(value),
                    'H' => fields.hour = Some(value),
                    'k' => fields.hour = Some(if value == 24 { 0 } else { value }),
                    'K' => fields.hour12 = Some(value),
                    'h' => fields.hour12 = Some(value),
                    'm' => fields.minute = Some(value),
                    's' => fields.second = Some(value),
                    'S' => fields.millis = Some(value),
                    'A' => {
                        fields.hour = Some(value / 3_600_000);
                        fields.minute = Some(value / 60_000 % 60);
                        fields.second = Some(value / 1000 % 60);
                        fields.millis = Some(value % 1000);
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(at)
}

/// `Date.toString()`: `EEE MMM dd HH:mm:ss zzz yyyy` in the given (default) zone.
pub(crate) fn date_to_string(millis: i64, zone: &Zone) -> String {
    let local = zone.to_local(millis);
    let day = &DAYS[local.weekday().num_days_from_monday() as usize][..3];
    let month = &MONTHS[local.month0() as usize][..3];
    format!(
        "{day} {month} {:02} {:02}:{:02}:{:02} {} {}",
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        zone.short_name(millis),
        local.year()
    )
}

/// `Instant.toString()`: ISO-8601 in UTC with 0, 3, 6 or 9 fraction digits.
pub(crate) fn instant_to_string(nanos: i128) -> String {
    let seconds = nanos.div_euclid(1_000_000_000) as i64;
    let nano = nanos.rem_euclid(1_000_000_000) as u32;
    let Some(time) = DateTime::from_timestamp(seconds, 0) else {
        return nanos.to_string();
    };
    let mut out = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nano != 0 {
        if nano.is_multiple_of(1_000_000) {
            out.push_str(&format!(".{:03}", nano / 1_000_000));
        } else if nano.is_multiple_of(1000) {
            out.push_str(&format!(".{:06}", nano / 1000));
        } else {
            out.push_str(&format!(".{nano:09}"));
        }
    }
    out.push('Z');
    out
}

/// NiFi's STRING -> DATE cast: epoch millis, `Date.toString()` form, or
/// `yyyy/MM/dd HH:mm:ss[.SSS]` in the default zone. Anything else is an error.
pub(crate) fn cast_to_date(text: &str, zone: &Zone) -> Result<i64, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed.parse::<i64>().map_err(|e| e.to_string());
    }
    let candidates = [
        "EEE MMM dd HH:mm:ss zzz yyyy",
        "yyyy/MM/dd HH:mm:ss.SSS",
        "yyyy/MM/dd HH:mm:ss",
    ];
    for candidate in candidates {
        let Ok(pattern) = DatePattern::simple(candidate) else {
            continue;
        };
        let mut fields = Parsed::default();
        if let Ok(consumed) = parse_items(&pattern.items, Flavor::Simple, trimmed, 0, &mut fields)
            && consumed == trimmed.len()
            && let Ok(nanos) = fields.resolve(true, zone)
        {
            return Ok(nanos.div_euclid(1_000_000) as i64);
        }
    }
    Err(format!(
        "cannot convert '{text}' to a date: expected epoch milliseconds, 'EEE MMM dd HH:mm:ss zzz yyyy' or 'yyyy/MM/dd HH:mm:ss[.SSS]'"
    ))
}

/// NiFi's STRING -> INSTANT cast: epoch millis, ISO_INSTANT, ISO_OFFSET_DATE_TIME or RFC 1123.
pub(crate) fn cast_to_instant(text: &str) -> Result<i128, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed
            .parse::<i64>()
            .map(|millis| i128::from(millis) * 1_000_000)
            .map_err(|e| e.to_string());
    }
    parse_iso_instant(trimmed)
        .or_else(|| {
            DateTime::parse_from_rfc2822(trimmed)
                .ok()
                .and_then(|time| time.timestamp_nanos_opt())
                .map(i128::from)
        })
        .ok_or_else(|| format!("cannot convert '{text}' to an instant: expected epoch milliseconds, ISO-8601 or RFC 1123"))
}

/// ISO_INSTANT / ISO_OFFSET_DATE_TIME (`2026-08-04T10:15:30Z`, `...+05:30`).
pub(crate) fn parse_iso_instant(text: &str) -> Option<i128> {
    if !text.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|time| time.timestamp_nanos_opt())
        .map(i128::from)
        .or_else(|| {
            // ISO also allows omitting the seconds (`2026-08-04T10:15Z`).
            let (date_time, offset_start) = match text.rfind(['Z', '+', '-']) {
                Some(position) if position > 10 => (&text[..position], position),
                _ => return None,
            };
            let naive = NaiveDateTime::parse_from_str(date_time, "%Y-%m-%dT%H:%M").ok()?;
            let offset = if &text[offset_start..] == "Z" {
                0
            } else {
                parse_offset(&text[offset_start..])?
            };
            Some(
                i128::from(naive.and_utc().timestamp_millis() - i64::from(offset) * 1000)
                    * 1_000_000,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_date_format_round_trip() {
        let pattern = DatePattern::simple("yyyy/MM/dd HH:mm:ss.SSS'Z'").unwrap();
        let gmt = Zone::lenient("GMT");
        let parsed = DatePattern::simple("yyyyMMddHHmmss")
            .unwrap()
            .parse("20130917162643", &gmt)
            .unwrap();
        assert_eq!(pattern.format(parsed, &gmt), "2013/09/17 16:26:43.000Z");
        let paris = Zone::lenient("Europe/Paris");
        assert_eq!(pattern.format(parsed, &paris), "2013/09/17 18:26:43.000Z");
    }

    #[test]
    fn date_to_string_matches_java() {
        assert_eq!(
            date_to_string(1_748_736_000_000, &Zone::utc()),
            "Sun Jun 01 00:00:00 UTC 2025"
        );
    }

    #[test]
    fn lenient_parse_rolls_over() {
        let pattern = DatePattern::simple("yyyy/MM/dd").unwrap();
        let nanos = pattern.parse("2013/13/45", &Zone::utc()).unwrap();
        assert_eq!(
            DatePattern::simple("yyyy-MM-dd")
                .unwrap()
                .format(nanos, &Zone::utc()),
            "2014-02-14"
        );
    }
}
