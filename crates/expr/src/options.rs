//! What an evaluation may depend on besides the attributes: the clock behind `now()`, the
//! default time zone (NiFi's JVM default zone: here the `TZ` environment variable, else UTC,
//! unless configured) and the largest string an evaluation may build.

use std::sync::{Arc, LazyLock};

use crate::java_date::Zone;

/// The defaults, shared: `evaluate` then builds and drops nothing per call.
pub(crate) static DEFAULT_OPTIONS: LazyLock<EvalOptions> = LazyLock::new(EvalOptions::default);

/// The process's default zone, from `TZ` as it was when first needed. Read once: the
/// environment is not expected to change under a running engine, and reading it once keeps
/// evaluation free of environment access.
static PROCESS_ZONE: LazyLock<Zone> =
    LazyLock::new(|| zone_from_tz(std::env::var("TZ").ok().as_deref()));

/// The zone a `TZ` value names (a leading `:` is allowed, as POSIX allows it), or UTC when the
/// value is absent, empty or not a zone id we know.
fn zone_from_tz(tz: Option<&str>) -> Zone {
    tz.map(|value| value.trim().trim_start_matches(':'))
        .filter(|id| !id.is_empty())
        .and_then(Zone::strict)
        .unwrap_or_else(Zone::utc)
}

impl EvalOptions {
    /// The default time zone id for a value of the `TZ` environment variable, the way
    /// [`EvalOptions::new`] picks it: the zone `TZ` names (an IANA id such as
    /// `Europe/Istanbul`, optionally with POSIX's leading `:`, or a Java id such as `GMT+3`),
    /// else `UTC` when `TZ` is unset, empty or unknown. NiFi uses the JVM's default zone, which
    /// the JVM also takes from `TZ`; where NiFi would fall back to the host's `/etc/localtime`,
    /// we use UTC.
    ///
    /// ```
    /// use omnibridge_expr::EvalOptions;
    /// assert_eq!(EvalOptions::time_zone_id_from_tz(Some("America/New_York")), "America/New_York");
    /// assert_eq!(EvalOptions::time_zone_id_from_tz(Some(":Europe/Istanbul")), "Europe/Istanbul");
    /// assert_eq!(EvalOptions::time_zone_id_from_tz(Some("Not/AZone")), "UTC");
    /// assert_eq!(EvalOptions::time_zone_id_from_tz(None), "UTC");
    /// ```
    pub fn time_zone_id_from_tz(tz: Option<&str>) -> String {
        zone_from_tz(tz).id().to_string()
    }
}

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
    /// The system clock, the process's default zone (`TZ`, else UTC) and the default size
    /// limit.
    fn default() -> Self {
        EvalOptions {
            zone: PROCESS_ZONE.clone(),
            clock: None,
            max_result_len: DEFAULT_MAX_RESULT_LEN,
        }
    }
}

impl EvalOptions {
    /// The system clock, [`DEFAULT_MAX_RESULT_LEN`] and, as the default zone, the zone the
    /// process's `TZ` environment variable names (read once per process), else UTC: see
    /// [`EvalOptions::time_zone_id_from_tz`]. Date functions given no zone argument (`format`,
    /// `toDate`, a DATE rendered as text, ...) use it, as NiFi uses the JVM default zone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the default time zone (a Java zone id such as `UTC`, `Europe/Istanbul`, `GMT+3`),
    /// taking precedence over `TZ`.
    pub fn with_time_zone(mut self, id: &str) -> Result<Self, String> {
        self.zone = Zone::strict(id).ok_or_else(|| format!("unknown time zone '{id}'"))?;
        Ok(self)
    }

    /// The id of the default time zone (`UTC`, `America/New_York`, `GMT+03:00`, ...).
    pub fn time_zone_id(&self) -> &str {
        self.zone.id()
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
