//! Flows as data: the typed configuration of each flow card, and loading it from a directory.
//!
//! A flow directory holds `flow.toml` and the files it names (`*.py` scripts, `*.json` Jolt
//! specs), so it lives well in git. Login profiles shared by several flows live in
//! `logins.toml` (see [`logins`]). Every string may take values from the environment with
//! `${env:NAME}` or `${env:NAME:-default}`, so a directory can be committed without secrets.

pub mod cards;
pub mod codes;
pub mod env;
pub mod error;
pub mod load;
pub mod logins;
pub mod order;
pub mod order_cancel;
pub mod order_status;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use codes::StatusCodes;
pub use error::FlowError;
pub use order::OrderFlowConfig;
pub use order_cancel::OrderCancelFlowConfig;
pub use order_status::OrderStatusFlowConfig;

/// What kind of flow a definition describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Omnitron → ERP: unsent orders.
    Order,
    /// ERP → Omnitron: order item statuses.
    OrderStatus,
    /// Omnitron cancellation plans → ERP → Omnitron.
    OrderCancel,
}

impl FlowKind {
    /// The `type` written in `flow.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::OrderStatus => "order_status",
            Self::OrderCancel => "order_cancel",
        }
    }

    /// The flow's name as users know it.
    pub fn title(self) -> &'static str {
        match self {
            Self::Order => "Order Flow",
            Self::OrderStatus => "Order Status Flow",
            Self::OrderCancel => "Order Cancel Flow",
        }
    }
}

/// When a flow runs by itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Fixed interval, e.g. `"30s"`, `"5m"`, `"1h"`, `"7days"` (Repeat Every).
    #[serde(default)]
    pub every: Option<String>,
    /// Cron expression: Quartz (6 or 7 fields, `?`, `L`, `W`, `#`) or Unix (5 fields).
    #[serde(default)]
    pub cron: Option<String>,
    /// IANA timezone for cron schedules and `last.request` (the Order Status Flow's Timezone
    /// Setting), e.g. `Europe/Istanbul`; UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Run when this flow's execution succeeds (instead of `every` or `cron`).
    #[serde(default)]
    pub after: Option<String>,
}

impl ScheduleConfig {
    /// The settings as the scheduler reads them.
    pub fn spec(&self) -> omnibridge_schedule::ScheduleSpec {
        omnibridge_schedule::ScheduleSpec {
            every: self.every.clone(),
            cron: self.cron.clone(),
            after: self.after.clone(),
            timezone: self.timezone.clone(),
        }
    }
}

/// How a flow's records are processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Records processed at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Time allowed to connect to a server.
    #[serde(default = "default_connect_timeout", with = "duration_text")]
    pub connect_timeout: Duration,
    /// Time allowed for one whole HTTP call.
    #[serde(default = "default_http_timeout", with = "duration_text")]
    pub http_timeout: Duration,
    /// Time allowed for one script run (at most 300 s, as in Integrator).
    #[serde(default = "default_script_timeout", with = "duration_text")]
    pub script_timeout: Duration,
    /// ERP statuses that mean "log in again" (once per request).
    #[serde(default = "default_relogin_statuses")]
    pub relogin_statuses: StatusCodes,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            connect_timeout: default_connect_timeout(),
            http_timeout: default_http_timeout(),
            script_timeout: default_script_timeout(),
            relogin_statuses: default_relogin_statuses(),
        }
    }
}

fn default_concurrency() -> usize {
    8
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_http_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_script_timeout() -> Duration {
    Duration::from_secs(300)
}
fn default_relogin_statuses() -> StatusCodes {
    StatusCodes::new(vec![401])
}

/// Durations written as text (`"10s"`, `"5m"`, `"1h 30m"`).
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a duration as humantime text.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    /// Reads humantime text such as `"30s"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration like \"30s\", \"5m\" or \"1h\": {e}"
            ))
        })
    }
}
