//! How an inbound run asks the ERP: a scheduled run's `last.request`, or a trigger's
//! parameters (decisions.md, "Order Status Flow").
//!
//! - A **scheduled** run sets `last.request` to the start of the last scheduled run whose read
//!   completed (or now minus the flow's initial lookback the first time), formatted
//!   `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` in the flow's timezone (UTC with a `Z` when none is set), and
//!   `http.query.string` empty. A plain URL gets `modified_date__gt=<last.request>` appended.
//! - A **triggered** run sets `http.query.string` (its parameters, form-encoded, in the order
//!   given) and `http.query.param.<key>` for each. A plain URL gets the parameters appended.
//!
//! `last.request` is kept in the flow's state as the UTC instant, and formatted in the flow's
//! timezone when used, so changing the timezone never shifts the window. The first scheduled run
//! stores its starting point (now minus the initial lookback); it advances only when a scheduled
//! run read every page and every row it read has its row log.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use omnibridge_store::Store;

use super::load::OrderStatusFlow;
use crate::attributes::Attributes;

/// The parameter of a single-order query.
pub const NUMBER_PARAMETER: &str = "number";
/// The parameter of a date query.
pub const DATE_PARAMETER: &str = "modified_date__gt";
/// The flow state key holding the instant of the last complete scheduled read.
pub const LAST_REQUEST_STATE: &str = "last.request";
/// Largest trigger parameter value.
pub const MAX_PARAMETER_BYTES: usize = 4096;

/// How an inbound run was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadMode {
    /// The schedule (or `run --once`): read what changed since `last.request`.
    Scheduled,
    /// The trigger page (or `omnibridge trigger`): read what the parameters say.
    Triggered(TriggerParams),
}

/// A trigger's parameters, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TriggerParams(Vec<(String, String)>);

impl TriggerParams {
    /// Checks `key=value` pairs against the flow's trigger parameters: every key must be one
    /// of them, none twice, `modified_date__gt` a date, and at least one value given.
    pub fn parse(pairs: &[(String, String)], flow: &OrderStatusFlow) -> Result<Self, String> {
        let known = &flow.trigger_parameters;
        let mut checked: Vec<(String, String)> = Vec::new();
        for (key, value) in pairs {
            let key = key.trim();
            if !known.iter().any(|k| k == key) {
                return Err(format!(
                    "{key:?} is not a trigger parameter of flow {:?} (known: {}); add custom ones \
                     to trigger.parameters",
                    flow.id,
                    known.join(", ")
                ));
            }
            if checked.iter().any(|(k, _)| k == key) {
                return Err(format!("{key:?} is given twice"));
            }
            if value.len() > MAX_PARAMETER_BYTES {
                return Err(format!(
                    "the value of {key:?} is {} bytes; at most {MAX_PARAMETER_BYTES}",
                    value.len()
                ));
            }
            if key == DATE_PARAMETER && !value.is_empty() {
                check_date(value)?;
            }
            checked.push((key.to_string(), value.clone()));
        }
        if checked.iter().all(|(_, v)| v.is_empty()) {
            return Err(format!(
                "give at least one parameter, e.g. {NUMBER_PARAMETER}=<order number> or \
                 {DATE_PARAMETER}=2024-10-01T00:29:59.000Z"
            ));
        }
        Ok(Self(checked))
    }

    /// Reads `key=value` command-line arguments.
    pub fn split_args(args: &[String]) -> Result<Vec<(String, String)>, String> {
        args.iter()
            .map(|arg| {
                arg.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| format!("{arg:?} is not key=value"))
            })
            .collect()
    }

    /// The non-empty parameters (what a plain URL gets appended).
    pub fn given(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect()
    }

    /// `http.query.string`: the non-empty parameters, form-encoded, in the order given.
    pub fn query_string(&self) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in self.given() {
            serializer.append_pair(&key, &value);
        }
        serializer.finish()
    }

    /// Sets `http.query.string` and `http.query.param.*`.
    pub fn set_attributes(&self, attributes: &mut Attributes) {
        attributes.set("http.query.string", self.query_string());
        for (key, value) in &self.0 {
            attributes.set(format!("http.query.param.{key}"), value.clone());
        }
    }
}

/// Whether a trigger's `modified_date__gt` is a date the ERP can be asked with.
fn check_date(value: &str) -> Result<(), String> {
    let ok = DateTime::parse_from_rfc3339(value).is_ok()
        || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{DATE_PARAMETER} {value:?} is not a date like 2024-10-01T00:29:59 (optionally with \
             .SSSSSS and Z or an offset)"
        ))
    }
}

/// `last.request` as the flow's URLs and scripts see it: `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` in the
/// flow's timezone, with a `Z` when that is UTC.
pub fn format_last_request(instant: DateTime<Utc>, timezone: chrono_tz::Tz) -> String {
    if timezone == chrono_tz::UTC {
        return instant.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    }
    timezone
        .from_utc_datetime(&instant.naive_utc())
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// The instant the next scheduled read starts from: the stored one, or `now` minus the flow's
/// initial lookback. A scheduled run (`keep_initial`) stores that initial instant, so a first
/// read that fails is retried from the same point rather than from a later "now − lookback".
pub async fn last_request(
    store: &dyn Store,
    flow: &OrderStatusFlow,
    now: DateTime<Utc>,
    keep_initial: bool,
) -> Result<DateTime<Utc>, String> {
    let stored = store
        .get_flow_state(&flow.id, LAST_REQUEST_STATE)
        .await
        .map_err(|e| format!("reading last.request failed: {e}"))?;
    match stored {
        Some(text) => DateTime::parse_from_rfc3339(&text)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| format!("the stored last.request {text:?} is not a time: {e}")),
        None => {
            let lookback = chrono::Duration::from_std(flow.config.trigger.initial_lookback)
                .unwrap_or_else(|_| chrono::Duration::days(1));
            let initial = now - lookback;
            if keep_initial {
                let text = initial.to_rfc3339_opts(SecondsFormat::Micros, true);
                let stored = store
                    .compare_and_set_flow_state(&flow.id, LAST_REQUEST_STATE, None, Some(&text))
                    .await
                    .map_err(|e| format!("storing the first last.request failed: {e}"))?;
                if !stored {
                    // Another node stored one meanwhile: use it.
                    return Box::pin(last_request(store, flow, now, false)).await;
                }
            }
            Ok(initial)
        }
    }
}

/// Records that a scheduled read starting at `started` completed.
pub async fn advance_last_request(
    store: &dyn Store,
    flow: &OrderStatusFlow,
    started: DateTime<Utc>,
) -> Result<(), String> {
    let text = started.to_rfc3339_opts(SecondsFormat::Micros, true);
    store
        .set_flow_state(&flow.id, LAST_REQUEST_STATE, &text)
        .await
        .map_err(|e| format!("advancing last.request failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_request_is_formatted_in_the_flow_timezone() {
        let instant = Utc.with_ymd_and_hms(2024, 12, 31, 10, 30, 59).unwrap()
            + chrono::Duration::microseconds(1);
        assert_eq!(
            format_last_request(instant, chrono_tz::UTC),
            "2024-12-31T10:30:59.000001Z"
        );
        assert_eq!(
            format_last_request(instant, chrono_tz::Europe::Istanbul),
            "2024-12-31T13:30:59.000001"
        );
        assert_eq!(
            format_last_request(instant, chrono_tz::America::New_York),
            "2024-12-31T05:30:59.000001"
        );
    }

    #[test]
    fn dates_are_checked() {
        assert!(check_date("2024-10-01T00:29:59.000Z").is_ok());
        assert!(check_date("2024-10-01T00:29:59").is_ok());
        assert!(check_date("2024-10-01T00:29:59+03:00").is_ok());
        assert!(check_date("yesterday").is_err());
        assert!(check_date("2024-10-01").is_err());
    }
}
