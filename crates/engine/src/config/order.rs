//! The Order Flow's cards (seeds 000/004, decisions.md "Order Flow").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cards::{MappingCard, ScriptCard};
use super::logins::{ErpRef, OmnitronRef};
use super::{FlowKind, RunConfig, ScheduleConfig, StatusCodes};

/// `flow.toml` of an Order Flow: Omnitron → ERP, on a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFlowConfig {
    /// Flow name, unique per project (at most 64 characters).
    pub name: String,
    /// Always `"order"` here.
    #[serde(rename = "type")]
    pub kind: FlowKind,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// When the flow runs by itself.
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
    /// Read Data From Omnitron.
    #[serde(default)]
    pub read: ReadOrdersCard,
    /// Query Check Order (skipped when absent).
    #[serde(default)]
    pub query_check: Option<QueryCheckCard>,
    /// Script (optional): one order object in, the object to map out.
    #[serde(default)]
    pub script: Option<ScriptCard>,
    /// Mapping (optional): a Jolt spec whose output is the ERP request body.
    #[serde(default)]
    pub mapping: Option<MappingCard>,
    /// Write Data to ERP.
    pub write: WriteErpCard,
    /// Check Response Script; the product's default script when absent.
    #[serde(default)]
    pub check_response: Option<ScriptCard>,
    /// Post Script (optional).
    #[serde(default)]
    pub post_script: Option<PostScriptCard>,
}

/// Read Data From Omnitron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadOrdersCard {
    /// Omnitron Channel: channel ids (`"1,2"` or `[1, 2]`); empty reads every channel.
    #[serde(default)]
    pub channels: ChannelIds,
    /// Order statuses read (the seeds' list by default).
    #[serde(default = "default_statuses")]
    pub statuses: Vec<String>,
    /// Only orders modified within this many days (the seeds' three weeks).
    #[serde(default = "default_window_days")]
    pub window_days: u32,
    /// Orders per page (the seeds' 25).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
}

impl Default for ReadOrdersCard {
    fn default() -> Self {
        Self {
            channels: ChannelIds::default(),
            statuses: default_statuses(),
            window_days: default_window_days(),
            page_size: default_page_size(),
        }
    }
}

fn default_statuses() -> Vec<String> {
    ["400", "450", "500", "510", "540", "550"]
        .map(String::from)
        .to_vec()
}
fn default_window_days() -> u32 {
    21
}
fn default_page_size() -> usize {
    25
}

/// Channel ids, written `"1,2"` or `[1, 2]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ChannelIds(pub Vec<String>);

impl<'de> Deserialize<'de> for ChannelIds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Numbers(Vec<u64>),
            Texts(Vec<String>),
        }
        let ids: Vec<String> = match Form::deserialize(deserializer)? {
            Form::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            Form::Numbers(numbers) => numbers.iter().map(u64::to_string).collect(),
            Form::Texts(texts) => texts.into_iter().map(|t| t.trim().to_string()).collect(),
        };
        if let Some(bad) = ids.iter().find(|id| id.parse::<u64>().is_err()) {
            return Err(serde::de::Error::custom(format!(
                "{bad:?} is not a channel id (a whole number)"
            )));
        }
        Ok(Self(ids))
    }
}

/// Query Check Order: asks the ERP whether an order is already there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryCheckCard {
    /// Query URL (NiFi Expression Language), e.g.
    /// `https://erp.example.com/order/query?number=${_order.number}`.
    pub url: String,
    /// HTTP method of the query.
    #[serde(default = "default_get")]
    pub method: String,
    /// Extra headers (values may use expressions).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Custom Response Path: JSONPath to the order in a 2xx response.
    #[serde(default)]
    pub custom_response_path: Option<String>,
    /// Custom Response Path Value: a path result equal to this means "not found".
    #[serde(default)]
    pub custom_response_value: Option<String>,
    /// Failure Status Codes: the ERP cannot answer now; the order fails and is retried.
    #[serde(default)]
    pub failure_status_codes: StatusCodes,
    /// Order Not Found Codes: statuses that mean "not there, create it".
    #[serde(default)]
    pub order_not_found_codes: StatusCodes,
}

fn default_get() -> String {
    "GET".to_string()
}

/// Write Data to ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteErpCard {
    /// ERP Order Create API URL (NiFi Expression Language allowed).
    pub url: String,
    /// ERP Order Create API Method.
    #[serde(default = "default_post")]
    pub method: String,
    /// Extra headers (values may use expressions).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// This ERP's 5xx answers are transactional: a 5xx proves nothing was saved, so the order
    /// is a plain failure, sent again next run. Off by default: a 5xx (like a 408, a timeout or
    /// a reset) may come after the ERP saved the order, and with no Query URL to ask, such an
    /// order is held in doubt rather than sent twice.
    #[serde(default)]
    pub transactional_5xx: bool,
}

fn default_post() -> String {
    "POST".to_string()
}

/// Post Script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostScriptCard {
    /// Path of the `.py` file, relative to the flow directory.
    pub file: String,
    /// Run On Failed Order: also run straight after a failed ERP write.
    #[serde(default)]
    pub run_on_failed_order: bool,
    /// Properties the script reads with `context.getProperty(name).getValue()`; values may use
    /// expressions.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "orders"
        type = "order"
        [omnitron]
        url = "http://127.0.0.1:8001/"
        username = "u"
        password = "p"
        [write]
        url = "http://127.0.0.1:8002/orders"
    "#;

    #[test]
    fn a_minimal_flow_takes_the_seeds_defaults() {
        let config: OrderFlowConfig = toml::from_str(MINIMAL).unwrap();
        assert_eq!(config.kind, FlowKind::Order);
        assert_eq!(config.read.statuses, default_statuses());
        assert_eq!(config.read.window_days, 21);
        assert_eq!(config.read.page_size, 25);
        assert_eq!(config.write.method, "POST");
        assert!(config.query_check.is_none());
        assert_eq!(config.run.concurrency, 8);
    }

    #[test]
    fn channels_read_as_text_or_list() {
        let text = format!("{MINIMAL}\n[read]\nchannels = \"1, 5\"");
        let config: OrderFlowConfig = toml::from_str(&text).unwrap();
        assert_eq!(config.read.channels.0, ["1", "5"]);
        let list = format!("{MINIMAL}\n[read]\nchannels = [1, 5]");
        let config: OrderFlowConfig = toml::from_str(&list).unwrap();
        assert_eq!(config.read.channels.0, ["1", "5"]);
        let bad = format!("{MINIMAL}\n[read]\nchannels = \"1, web\"");
        let err = toml::from_str::<OrderFlowConfig>(&bad).unwrap_err();
        assert!(err.to_string().contains("\"web\""), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = format!("{MINIMAL}\n[query_check]\nurl = \"http://x\"\nfailure_codes = \"500\"");
        let err = toml::from_str::<OrderFlowConfig>(&text).unwrap_err();
        assert!(err.to_string().contains("failure_codes"), "{err}");
    }
}
