//! The simulators' clock: real time, optionally frozen and/or shifted.
//!
//! `modified_date` windows (the Order Flow's "last 3 weeks", the status feed's
//! `modified_date__gt`) can only be tested if time is controllable, so every timestamp the
//! simulators write or compare goes through [`SimClock::now`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What the clock reports, as seen through the control plane (`GET /__sim/clock`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClockView {
    /// The simulated current time.
    pub now: DateTime<Utc>,
    /// Whether time stands still.
    pub frozen: bool,
    /// Total shift applied on top of the real (or frozen) time, in seconds.
    pub offset_seconds: i64,
}

/// A change to the clock (`POST /__sim/clock`). Fields apply in order: `freeze_at`, `freeze`,
/// `unfreeze`, `advance_seconds`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClockChange {
    /// Freeze time at this instant.
    #[serde(default)]
    pub freeze_at: Option<DateTime<Utc>>,
    /// Freeze time at the current simulated instant.
    #[serde(default)]
    pub freeze: bool,
    /// Let time run again (keeping the accumulated offset).
    #[serde(default)]
    pub unfreeze: bool,
    /// Move time forward (negative: backward) by this many seconds.
    #[serde(default)]
    pub advance_seconds: Option<i64>,
}

#[derive(Debug, Default)]
struct ClockInner {
    frozen_at: Option<DateTime<Utc>>,
    offset: Duration,
}

/// Shared, thread-safe simulated clock.
#[derive(Debug, Default)]
pub struct SimClock {
    inner: Mutex<ClockInner>,
}

impl SimClock {
    /// The simulated current time.
    pub fn now(&self) -> DateTime<Utc> {
        let inner = crate::lock(&self.inner);
        inner.frozen_at.unwrap_or_else(Utc::now) + inner.offset
    }

    /// Apply a change and return the resulting view.
    pub fn apply(&self, change: &ClockChange) -> ClockView {
        {
            let mut inner = crate::lock(&self.inner);
            if let Some(at) = change.freeze_at {
                inner.frozen_at = Some(at);
                inner.offset = Duration::zero();
            }
            if change.freeze && inner.frozen_at.is_none() {
                inner.frozen_at = Some(Utc::now());
            }
            if change.unfreeze
                && let Some(at) = inner.frozen_at.take()
            {
                // Keep "now" continuous: the frozen instant becomes an offset from real time.
                inner.offset += at - Utc::now();
            }
            if let Some(secs) = change.advance_seconds {
                inner.offset += Duration::seconds(secs);
            }
        }
        self.view()
    }

    /// Back to real time.
    pub fn reset(&self) {
        *crate::lock(&self.inner) = ClockInner::default();
    }

    /// The current state.
    pub fn view(&self) -> ClockView {
        let inner = crate::lock(&self.inner);
        ClockView {
            now: inner.frozen_at.unwrap_or_else(Utc::now) + inner.offset,
            frozen: inner.frozen_at.is_some(),
            offset_seconds: inner.offset.num_seconds(),
        }
    }
}

/// Format a time the way Omnitron does: ISO-8601 UTC with 6-digit micros and `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_stands_still_and_advances_on_request() {
        let clock = SimClock::default();
        let at: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        clock.apply(&ClockChange {
            freeze_at: Some(at),
            ..Default::default()
        });
        assert_eq!(clock.now(), at);
        clock.apply(&ClockChange {
            advance_seconds: Some(3600),
            ..Default::default()
        });
        assert_eq!(clock.now(), at + Duration::hours(1));
        assert_eq!(iso(at), "2024-01-01T00:00:00.000000Z");
    }
}
