//! What an evaluation may depend on besides the attributes: the clock behind `now()`, the
//! default time zone (NiFi's JVM default zone, made explicit and UTC unless set) and the largest
//! string an evaluation may build.

use std::sync::Arc;

use crate::java_date::Zone;

/// The defaults, shared: `evaluate` then builds and drops nothing per call.
pub(crate) static DEFAULT_OPTIONS: EvalOptions = EvalOptions {
    zone: Zone::Named(chrono_tz::Tz::UTC),
    clock: None,
    max_result_len: DEFAULT_MAX_RESULT_LEN,
};

/// The default of [`EvalOptions::max_result_len`]: 16 MiB, far above any URL, header or
/// attribute an Integrator flow builds, far below what would hurt the process.
pub const DEFAULT_MAX_RESULT_LEN: usize = 16 * 1024 * 1024;

/// The clock, default zone and result size limit an evaluation uses.
#[derive(Clone)]
pub struct EvalOptions {
    pub(crate) zone: Zone,
    clock: Option<Arc<dyn Fn() -> i64 + Send + Sync>>,
    pub(crate) max_result_len: usize,
}

impl std::fmt::Debug for EvalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalOptions")
            .field("zone", &self.zone)
            .field("fixed_clock", &self.clock.is_some())
            .field("max_result_len", &self.max_result_len)
            .finish()
    }
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            zone: Zone::utc(),
            clock: None,
            max_result_len: DEFAULT_MAX_RESULT_LEN,
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

    /// Limits every string an evaluation builds (each function's result and the rendered
    /// template) to `bytes` bytes of UTF-8. NiFi has no such limit and would run out of memory
    /// on `${x:padLeft(2000000000)}`; here the function that would outgrow the limit fails
    /// with an error naming it, before it allocates. Default [`DEFAULT_MAX_RESULT_LEN`].
    pub fn with_max_result_len(mut self, bytes: usize) -> Self {
        self.max_result_len = bytes;
        self
    }

    /// The largest string (in bytes) an evaluation may build.
    pub fn max_result_len(&self) -> usize {
        self.max_result_len
    }

    pub(crate) fn now_millis(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => chrono::Utc::now().timestamp_millis(),
        }
    }
}
