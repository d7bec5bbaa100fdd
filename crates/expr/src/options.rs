//! What an evaluation may depend on besides the attributes: the clock behind `now()` and the
//! default time zone (NiFi's JVM default zone, made explicit and UTC unless set).

use std::sync::Arc;

use crate::java_date::Zone;

/// The defaults, shared: `evaluate` then builds and drops nothing per call.
pub(crate) static DEFAULT_OPTIONS: EvalOptions = EvalOptions {
    zone: Zone::Named(chrono_tz::Tz::UTC),
    clock: None,
};

/// The clock and default zone an evaluation uses.
#[derive(Clone)]
pub struct EvalOptions {
    pub(crate) zone: Zone,
    clock: Option<Arc<dyn Fn() -> i64 + Send + Sync>>,
}

impl std::fmt::Debug for EvalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalOptions")
            .field("zone", &self.zone)
            .field("fixed_clock", &self.clock.is_some())
            .finish()
    }
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            zone: Zone::utc(),
            clock: None,
        }
    }
}

impl EvalOptions {
    /// UTC and the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the default time zone (a Java zone id such as `UTC`, `Europe/Istanbul`, `GMT+3`).
    pub fn with_time_zone(mut self, id: &str) -> Result<Self, String> {
        self.zone = Zone::strict(id).ok_or_else(|| format!("unknown time zone '{id}'"))?;
        Ok(self)
    }

    /// Makes `now()` return this instant (epoch milliseconds): reproducible tests.
    pub fn with_fixed_now(mut self, epoch_millis: i64) -> Self {
        self.clock = Some(Arc::new(move || epoch_millis));
        self
    }

    /// Uses a custom clock (epoch milliseconds) for `now()`.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    pub(crate) fn now_millis(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => chrono::Utc::now().timestamp_millis(),
        }
    }
}
