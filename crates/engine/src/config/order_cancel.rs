//! The Order Cancel Flow's cards (seed 003, decisions.md "Order Cancel Flow").

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cards::{MappingCard, ScriptCard};
use super::logins::{ErpRef, OmnitronRef};
use super::order::ChannelIds;
use super::{FlowKind, RunConfig, ScheduleConfig, duration_text};

/// `flow.toml` of an Order Cancel Flow: Omnitron cancellation plans → ERP → Omnitron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCancelFlowConfig {
    /// Flow name, unique per project (at most 64 characters).
    pub name: String,
    /// Always `"order_cancel"` here.
    #[serde(rename = "type")]
    pub kind: FlowKind,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// When the flow runs by itself (it is inbound only).
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Concurrency, timeouts.
    #[serde(default)]
    pub run: RunConfig,
    /// Configuration card: Omnitron domain URL and credentials.
    #[serde(default)]
    pub omnitron: OmnitronRef,
    /// Configuration card: the optional ERP login.
    #[serde(default)]
    pub erp: ErpRef,
    /// Get Data From Omnitron: which cancellation plans.
    pub read: ReadPlansCard,
    /// Script (optional): one cancellation plan object in, the object to map out.
    #[serde(default)]
    pub script: Option<ScriptCard>,
    /// Mapping (optional): a Jolt spec whose output is the ERP request body.
    #[serde(default)]
    pub mapping: Option<MappingCard>,
    /// Write Data to ERP (and the Next State in Omnitron).
    pub write: WriteCancelCard,
    /// Custom Response Setting and Script.
    #[serde(default)]
    pub custom_response: CustomResponseCard,
    /// Post Script (optional): after a plan the ERP took and Omnitron recorded.
    #[serde(default)]
    pub post_script: Option<ScriptCard>,
}

/// Get Data From Omnitron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadPlansCard {
    /// Channel Type (required): the type of the sales channels whose plans are read, e.g. `web`.
    pub channel_type: String,
    /// Cancel Type: `cancel`, `refund` or `all`.
    #[serde(default)]
    pub cancel_type: CancelType,
    /// Cancel Status: the plans' status, or `order_transaction` (unmapped refund transactions
    /// and their plans).
    pub cancel_status: CancelStatus,
    /// Channel ID: channel ids (`"1,2"` or `[1, 2]`); empty reads every channel.
    #[serde(default)]
    pub channel_ids: ChannelIds,
    /// Plans (or transactions) per page of the list.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Most plans one execution takes (a guard; the rest wait for the next run).
    #[serde(default = "default_max_plans")]
    pub max_plans: usize,
    /// `completed` only: how far back the first run reads (its modified-date window starts at
    /// now minus this; later runs start at the previous complete read).
    #[serde(default = "default_initial_lookback", with = "duration_text")]
    pub initial_lookback: Duration,
}

fn default_page_size() -> usize {
    50
}
fn default_max_plans() -> usize {
    10_000
}
fn default_initial_lookback() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// Cancel Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelType {
    /// Cancellations only.
    Cancel,
    /// Refunds only.
    Refund,
    /// Both.
    #[default]
    All,
}

impl CancelType {
    /// The `plan_type` filter, when there is one.
    pub fn plan_type(self) -> Option<&'static str> {
        match self {
            Self::Cancel => Some("cancel"),
            Self::Refund => Some("refund"),
            Self::All => None,
        }
    }
}

/// Cancel Status: which plans a run takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelStatus {
    /// Plans awaiting processing.
    Waiting,
    /// Confirmed plans.
    Confirmed,
    /// Fully processed plans, read with a moving modified-date window (failures are not read
    /// again: they stay replayable).
    Completed,
    /// Plans awaiting confirmation.
    ConfirmationWaiting,
    /// Unmapped refund transactions and their plans; success maps the transaction, so failures
    /// are read again by the next run.
    OrderTransaction,
}

impl CancelStatus {
    /// The plan status filtered on (none for order transactions).
    pub fn plan_status(self) -> Option<&'static str> {
        match self {
            Self::Waiting => Some("waiting"),
            Self::Confirmed => Some("confirmed"),
            Self::Completed => Some("completed"),
            Self::ConfirmationWaiting => Some("confirmation_waiting"),
            Self::OrderTransaction => None,
        }
    }

    /// Whether the Next State applies (not for completed or order-transaction tasks).
    pub fn uses_next_state(self) -> bool {
        !matches!(self, Self::Completed | Self::OrderTransaction)
    }
}

/// Write Data to ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteCancelCard {
    /// Cancellation API URL (NiFi Expression Language allowed, with `_plan.*` attributes).
    pub url: String,
    /// HTTP Method: `POST`, `GET`, `PUT` or `PATCH`.
    #[serde(default = "default_post")]
    pub method: String,
    /// Extra headers (values may use expressions).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Next State after the ERP took a plan: `approved`, `confirmation_waiting`, `confirmed` or
    /// `completed` (ignored for `completed` and `order_transaction` tasks).
    #[serde(default)]
    pub next_state: NextState,
    /// Order transaction tasks: JSONPath of the ERP's reference in its answer, used as the
    /// transaction's mapping code (else the `erp_reference` attribute a script set, else the
    /// plan's pk).
    #[serde(default)]
    pub reference_path: Option<String>,
}

fn default_post() -> String {
    "POST".to_string()
}

/// Next State.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextState {
    /// `orders/{order}/cancellation_approved_order/`.
    #[default]
    Approved,
    /// `update_status` to `confirmation_waiting`.
    ConfirmationWaiting,
    /// `update_status` to `confirmed`.
    Confirmed,
    /// `update_status` to `completed`.
    Completed,
}

impl NextState {
    /// The plan status it sets.
    pub fn status(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::ConfirmationWaiting => "confirmation_waiting",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
        }
    }
}

/// Custom Response Setting and Script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomResponseCard {
    /// Custom Response Setting: run a script that sets `relation`. Off: a 2xx answer
    /// continues, anything else leaves the plan for the next run.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The script; the product's default when absent.
    #[serde(default)]
    pub file: Option<String>,
    /// Properties the script reads with `context.getProperty(name).getValue()`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl Default for CustomResponseCard {
    fn default() -> Self {
        Self {
            enabled: true,
            file: None,
            properties: BTreeMap::new(),
        }
    }
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "cancels"
        type = "order_cancel"
        [omnitron]
        url = "http://127.0.0.1:8001/"
        username = "u"
        password = "p"
        [read]
        channel_type = "web"
        cancel_status = "waiting"
        [write]
        url = "http://127.0.0.1:8002/cancellations"
    "#;

    #[test]
    fn a_minimal_flow_takes_the_defaults() {
        let config: OrderCancelFlowConfig = toml::from_str(MINIMAL).unwrap();
        assert_eq!(config.read.cancel_type, CancelType::All);
        assert_eq!(config.read.cancel_status, CancelStatus::Waiting);
        assert_eq!(config.write.next_state, NextState::Approved);
        assert_eq!(config.write.method, "POST");
        assert!(config.custom_response.enabled && config.custom_response.file.is_none());
    }

    #[test]
    fn unknown_statuses_and_keys_are_refused() {
        let bad = MINIMAL.replace("\"waiting\"", "\"pending\"");
        let err = toml::from_str::<OrderCancelFlowConfig>(&bad).unwrap_err();
        assert!(err.to_string().contains("pending"), "{err}");
        let bad = MINIMAL.replace("[write]", "[write]\nnext = \"approved\"");
        let err = toml::from_str::<OrderCancelFlowConfig>(&bad).unwrap_err();
        assert!(err.to_string().contains("next"), "{err}");
    }
}
