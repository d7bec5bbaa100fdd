//! An Order Flow ready to run: `flow.toml` read and checked, every expression, Jolt spec and
//! script compiled. Loading reports every problem at once, each naming the file, the field and
//! what is wrong, so a bad flow is refused when it is saved, not at 3 a.m.

use std::path::{Path, PathBuf};

use omnibridge_script::ScriptPool;

use super::check_response::DEFAULT_CHECK_RESPONSE_SCRIPT;
use super::query_check::QueryRules;
use crate::cards::build::{BuildContext, given};
use crate::cards::mapping::MappingStep;
use crate::cards::request::{RequestTemplate, WRITE_METHODS};
use crate::cards::script::ScriptStep;
use crate::config::error::FlowErrors;
use crate::config::load::LoadOptions;
use crate::config::logins::OmnitronLogin;
use crate::config::order::{PostScriptCard, QueryCheckCard, ReadOrdersCard, WriteErpCard};
use crate::config::{FlowKind, OrderFlowConfig};
use crate::json_path::UserPath;
use crate::login::ErpLoginConfig;

/// The compiled Query Check Order card.
#[derive(Debug, Clone)]
pub struct QueryCheck {
    /// The query request.
    pub request: RequestTemplate,
    /// How the answer is read.
    pub rules: QueryRules,
}

/// An Order Flow, checked and compiled.
#[derive(Debug, Clone)]
pub struct OrderFlow {
    /// The flow's id in the store (its name).
    pub id: String,
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// The configuration as written (secrets substituted).
    pub config: OrderFlowConfig,
    /// The Omnitron login.
    pub omnitron: OmnitronLogin,
    /// The ERP login.
    pub erp: ErpLoginConfig,
    /// Query Check Order, when configured.
    pub query_check: Option<QueryCheck>,
    /// The Script card.
    pub script: Option<ScriptStep>,
    /// The Mapping card.
    pub mapping: Option<MappingStep>,
    /// Write Data to ERP.
    pub write: RequestTemplate,
    /// The Check Response Script (the default one when the card is empty).
    pub check_response: ScriptStep,
    /// The Post Script.
    pub post_script: Option<ScriptStep>,
}

impl OrderFlow {
    /// Every secret value of this flow (passwords, fixed tokens), for redaction from logs.
    pub fn secrets(&self) -> Vec<String> {
        crate::cards::connections::login_secrets(&self.omnitron, &self.erp)
    }
}

/// Loads and checks the Order Flow in `dir`. Scripts are compiled by `scripts` (so a syntax
/// error, with its line and a Python 2 hint, is reported now).
pub async fn load_order_flow(
    dir: &Path,
    options: &LoadOptions,
    scripts: &ScriptPool,
) -> Result<OrderFlow, FlowErrors> {
    let (config, mut cx) = BuildContext::begin::<OrderFlowConfig>(dir, options, scripts)?;
    cx.check_header(config.kind, FlowKind::Order, &config.name);
    let (omnitron, erp) = cx.logins(options, &config.omnitron, &config.erp);
    config.read.check(&mut cx);
    cx.check_run(&config.run);
    cx.check_schedule(&config.schedule);
    let query_check = config.query_check.as_ref().map(|card| card.build(&mut cx));
    let write = config.write.build(&mut cx);
    let mapping = config
        .mapping
        .as_ref()
        .map(|card| card.build(&mut cx, "mapping"));
    let script = match &config.script {
        Some(card) => Some(card.build(&mut cx, "script", "the Script").await),
        None => None,
    };
    let check_response = match &config.check_response {
        Some(card) => {
            card.build(&mut cx, "check_response", "the Check Response Script")
                .await
        }
        None => Some(ScriptStep::builtin(
            "the Check Response Script",
            DEFAULT_CHECK_RESPONSE_SCRIPT,
        )),
    };
    let post_script = match &config.post_script {
        Some(card) => Some(card.build(&mut cx).await),
        None => None,
    };
    let flow = (|| {
        Some(OrderFlow {
            id: config.name.clone(),
            dir: dir.to_path_buf(),
            omnitron: omnitron?,
            erp,
            query_check: given(query_check)?,
            script: given(script)?,
            mapping: given(mapping)?,
            write: write?,
            check_response: check_response?,
            post_script: given(post_script)?,
            config: config.clone(),
        })
    })();
    cx.finish(flow)
}

impl ReadOrdersCard {
    /// Checks the Read Data From Omnitron card.
    pub fn check(&self, cx: &mut BuildContext<'_>) {
        if self.statuses.is_empty() {
            cx.error("read.statuses", "must list at least one status");
        }
        if let Some(bad) = self.statuses.iter().find(|s| s.parse::<u16>().is_err()) {
            cx.error(
                "read.statuses",
                format!("{bad:?} is not an order status code such as \"400\""),
            );
        }
        if !(1..=1000).contains(&self.page_size) {
            cx.error("read.page_size", "must be between 1 and 1000");
        }
        if !(1..=3650).contains(&self.window_days) {
            cx.error("read.window_days", "must be between 1 and 3650");
        }
    }
}

impl QueryCheckCard {
    /// Compiles the query request and the rules that read its answer.
    pub fn build(&self, cx: &mut BuildContext<'_>) -> Option<QueryCheck> {
        let request = RequestTemplate::build(
            cx,
            "query_check",
            &self.method,
            &self.url,
            &self.headers,
            &WRITE_METHODS,
        );
        let path = match &self.custom_response_path {
            Some(text) if !text.trim().is_empty() => Some(cx.check(
                "query_check.custom_response_path",
                UserPath::parse(text).map_err(|e| e.to_string()),
            )?),
            _ => None,
        };
        if path.is_none()
            && self.custom_response_path.is_none()
            && self.custom_response_value.is_some()
        {
            cx.error(
                "query_check.custom_response_value",
                "has no effect without query_check.custom_response_path",
            );
        }
        Some(QueryCheck {
            request: request?,
            rules: QueryRules {
                path,
                not_found_value: self.custom_response_value.clone(),
                failure_codes: self.failure_status_codes.clone(),
                not_found_codes: self.order_not_found_codes.clone(),
            },
        })
    }
}

impl PostScriptCard {
    /// Reads and compiles the Post Script.
    pub async fn build(&self, cx: &mut BuildContext<'_>) -> Option<ScriptStep> {
        crate::config::cards::build_script(
            cx,
            "post_script",
            "the Post Script",
            &self.file,
            &self.properties,
        )
        .await
    }
}

impl WriteErpCard {
    /// Compiles the write request.
    pub fn build(&self, cx: &mut BuildContext<'_>) -> Option<RequestTemplate> {
        RequestTemplate::build(
            cx,
            "write",
            &self.method,
            &self.url,
            &self.headers,
            &WRITE_METHODS,
        )
    }
}
