//! The Order Status Flow's cards (seeds 001/002, decisions.md "Order Status Flow").

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cards::{Dict, MappingCard, ScriptCard};
use super::logins::{ErpRef, OmnitronRef};
use super::{FlowKind, RunConfig, ScheduleConfig, duration_text};

/// `flow.toml` of an Order Status Flow: ERP → Omnitron item statuses, invoices and shipments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusFlowConfig {
    /// Flow name, unique per project (at most 64 characters).
    pub name: String,
    /// Always `"order_status"` here.
    #[serde(rename = "type")]
    pub kind: FlowKind,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// Integration type: `inbound` (omnibridge reads the ERP on its schedule or when
    /// triggered) or `outbound` (the ERP pushes rows; no read).
    #[serde(default)]
    pub integration: Integration,
    /// When an inbound flow runs by itself; its timezone is the Timezone Setting of
    /// `last.request`.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Concurrency, timeouts.
    #[serde(default)]
    pub run: RunConfig,
    /// Configuration card: Omnitron domain URL and credentials.
    #[serde(default)]
    pub omnitron: OmnitronRef,
    /// Configuration card: the optional ERP login (`token.erp` in URLs and scripts).
    #[serde(default)]
    pub erp: ErpRef,
    /// Flow Trigger Parameters.
    #[serde(default)]
    pub trigger: TriggerCard,
    /// Read Data From ERP (inbound flows only).
    #[serde(default)]
    pub read: Option<ReadErpCard>,
    /// Script (optional): a whole page's payload in, the payload to map out.
    #[serde(default)]
    pub script: Option<ScriptCard>,
    /// Mapping (optional): a Jolt spec whose output must be an array of order objects.
    #[serde(default)]
    pub mapping: Option<MappingCard>,
    /// Write Data to Omnitron.
    #[serde(default)]
    pub write: WriteStatusCard,
}

/// Where the rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Integration {
    /// omnibridge reads the ERP (on a schedule, or triggered with parameters).
    #[default]
    Inbound,
    /// The ERP pushes a JSON array of rows.
    Outbound,
}

/// Flow Trigger Parameters: the keys a triggered run may be given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerCard {
    /// Custom parameters, besides `number` and `modified_date__gt` which always exist
    /// (e.g. `["custom_parameter"]`).
    #[serde(default)]
    pub parameters: Vec<String>,
    /// How far back the first scheduled run reads: its `last.request` is now minus this.
    #[serde(default = "default_initial_lookback", with = "duration_text")]
    pub initial_lookback: Duration,
}

impl Default for TriggerCard {
    fn default() -> Self {
        Self {
            parameters: Vec::new(),
            initial_lookback: default_initial_lookback(),
        }
    }
}

fn default_initial_lookback() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// Read Data From ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadErpCard {
    /// Order Query/Status API URL: a plain URL (a triggered run appends its parameters, a
    /// scheduled run `modified_date__gt=<last.request>`) or a NiFi Expression Language template
    /// evaluated per run with `http.query.string`, `http.query.param.*`, `last.request` and
    /// `token.erp`.
    pub url: String,
    /// HTTP Method: `GET` or `POST`.
    #[serde(default = "default_get")]
    pub method: String,
    /// Add Extra Headers as Dict Format: headers sent with every page request (values may use
    /// expressions). A table, or the text of a JSON object.
    #[serde(default)]
    pub headers: Dict,
    /// Extra Params: query parameters for GET, the JSON body for POST. A table, or the text of
    /// a JSON object.
    #[serde(default)]
    pub extra_params: Dict,
    /// ERP Response Data Type: `json` or `xml` (XML is turned into JSON the xmltodict way).
    #[serde(default)]
    pub response_type: ResponseType,
    /// XML only: element names that always become lists, even when a page has one of them
    /// (xmltodict's `force_list`), e.g. `["order", "orderitems"]`.
    #[serde(default)]
    pub xml_force_list: Vec<String>,
    /// Pagination.
    #[serde(default)]
    pub pagination: PaginationCard,
}

fn default_get() -> String {
    "GET".to_string()
}

/// ERP Response Data Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// JSON.
    #[default]
    Json,
    /// XML, turned into JSON: attributes as `@name`, text beside attributes or children as
    /// `#text`, repeated elements as lists.
    Xml,
}

/// How pages are requested and when the read ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginationCard {
    /// `none` (one request), `offset`, `seek` or `next_field`.
    #[serde(rename = "type", default)]
    pub kind: PaginationKind,
    /// Rows per page, sent as `limit_param`. Offset pagination stops on a shorter page.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Name of the page-size parameter (empty: not sent).
    #[serde(default = "default_limit_param")]
    pub limit_param: String,
    /// Offset: name of the offset parameter.
    #[serde(default = "default_offset_param")]
    pub offset_param: String,
    /// Seek: name of the parameter carrying the marker where the last page ended.
    #[serde(default = "default_seek_param")]
    pub seek_param: String,
    /// Seek: path of the marker in the last row of a page (JSONPath, `$.id` or `id`).
    #[serde(default = "default_marker_path")]
    pub marker_path: String,
    /// Next field: path of the next page's URL or token in a response (JSONPath).
    #[serde(default = "default_next_path")]
    pub next_path: String,
    /// Next field: the parameter that carries a next *token* (a next value that is not a URL).
    #[serde(default = "default_next_param")]
    pub next_param: String,
    /// Path of a page's rows in the response (JSONPath). By default the response itself when it
    /// is a list, else its `results`.
    #[serde(default)]
    pub rows_path: Option<String>,
    /// Most pages one read may take; reaching it stops the read with an error (a guard against
    /// an ERP that never says "last page").
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

impl Default for PaginationCard {
    fn default() -> Self {
        Self {
            kind: PaginationKind::default(),
            page_size: default_page_size(),
            limit_param: default_limit_param(),
            offset_param: default_offset_param(),
            seek_param: default_seek_param(),
            marker_path: default_marker_path(),
            next_path: default_next_path(),
            next_param: default_next_param(),
            rows_path: None,
            max_pages: default_max_pages(),
        }
    }
}

/// The pagination styles of the Read Data From ERP card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaginationKind {
    /// One request gives everything.
    #[default]
    None,
    /// `offset`/`limit`; the read stops on a page shorter than the page size.
    Offset,
    /// A marker taken from the last row of each page; the read stops on an empty page.
    Seek,
    /// Each response names the next page (a URL or a token); the read stops when it is null or
    /// empty.
    NextField,
}

fn default_page_size() -> usize {
    50
}
fn default_limit_param() -> String {
    "limit".to_string()
}
fn default_offset_param() -> String {
    "offset".to_string()
}
fn default_seek_param() -> String {
    "after".to_string()
}
fn default_marker_path() -> String {
    "$.id".to_string()
}
fn default_next_path() -> String {
    "$.next".to_string()
}
fn default_next_param() -> String {
    "cursor".to_string()
}
fn default_max_pages() -> u32 {
    1000
}

/// Write Data to Omnitron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteStatusCard {
    /// Omnitron's bulk status update endpoint, relative to the Omnitron URL.
    #[serde(default = "default_write_path")]
    pub path: String,
    /// Its HTTP method.
    #[serde(default = "default_patch")]
    pub method: String,
    /// The per-row script (optional): one order object in, the final order object out.
    #[serde(default)]
    pub row_script: Option<ScriptCard>,
}

impl Default for WriteStatusCard {
    fn default() -> Self {
        Self {
            path: default_write_path(),
            method: default_patch(),
            row_script: None,
        }
    }
}

fn default_write_path() -> String {
    "api/i1/order_items/bulk_status_update/".to_string()
}
fn default_patch() -> String {
    "PATCH".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "statuses"
        type = "order_status"
        [omnitron]
        url = "http://127.0.0.1:8001/"
        username = "u"
        password = "p"
        [read]
        url = "http://127.0.0.1:8002/orders/status"
    "#;

    #[test]
    fn a_minimal_flow_takes_the_defaults() {
        let config: OrderStatusFlowConfig = toml::from_str(MINIMAL).unwrap();
        assert_eq!(config.integration, Integration::Inbound);
        let read = config.read.unwrap();
        assert_eq!(read.method, "GET");
        assert_eq!(read.response_type, ResponseType::Json);
        assert_eq!(read.pagination.kind, PaginationKind::None);
        assert_eq!(read.pagination.max_pages, 1000);
        assert_eq!(config.write.path, "api/i1/order_items/bulk_status_update/");
        assert_eq!(config.trigger.initial_lookback, Duration::from_secs(86400));
    }

    #[test]
    fn dicts_read_as_tables_or_json_text() {
        let table = format!(
            "{MINIMAL}\nheaders = {{ \"X-Api\" = \"2\" }}\nextra_params = '{{\"a\": [1, 2]}}'"
        );
        let config: OrderStatusFlowConfig = toml::from_str(&table).unwrap();
        let read = config.read.unwrap();
        assert_eq!(read.headers.0["X-Api"], "2");
        assert_eq!(read.extra_params.0["a"], serde_json::json!([1, 2]));
        let bad = format!("{MINIMAL}\nextra_params = '[1, 2]'");
        let err = toml::from_str::<OrderStatusFlowConfig>(&bad).unwrap_err();
        assert!(err.to_string().contains("JSON object"), "{err}");
    }

    #[test]
    fn unknown_pagination_keys_are_refused() {
        let text = format!("{MINIMAL}\n[read.pagination]\ntype = \"offset\"\npage = 3");
        let err = toml::from_str::<OrderStatusFlowConfig>(&text).unwrap_err();
        assert!(err.to_string().contains("page"), "{err}");
        let text = format!("{MINIMAL}\n[read.pagination]\ntype = \"cursor\"");
        let err = toml::from_str::<OrderStatusFlowConfig>(&text).unwrap_err();
        assert!(err.to_string().contains("cursor"), "{err}");
    }
}
