//! An Order Cancel Flow ready to run: `flow.toml` read and checked, its URL, Jolt spec and
//! scripts compiled, every problem reported at once.

use std::path::{Path, PathBuf};

use omnibridge_http::Method;
use omnibridge_script::ScriptPool;

use super::CustomResponse;
use crate::cards::build::{BuildContext, given};
use crate::cards::mapping::MappingStep;
use crate::cards::request::RequestTemplate;
use crate::cards::script::ScriptStep;
use crate::config::cards::build_script;
use crate::config::error::FlowErrors;
use crate::config::load::LoadOptions;
use crate::config::logins::OmnitronLogin;
use crate::config::order_cancel::{CancelStatus, NextState, ReadPlansCard};
use crate::config::{FlowKind, OrderCancelFlowConfig};
use crate::json_path::UserPath;
use crate::login::ErpLoginConfig;

/// An Order Cancel Flow, checked and compiled.
#[derive(Debug, Clone)]
pub struct OrderCancelFlow {
    /// The flow's id in the store (its name).
    pub id: String,
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// The configuration as written (secrets substituted).
    pub config: OrderCancelFlowConfig,
    /// The Omnitron login.
    pub omnitron: OmnitronLogin,
    /// The ERP login.
    pub erp: ErpLoginConfig,
    /// The Script card.
    pub script: Option<ScriptStep>,
    /// The Mapping card.
    pub mapping: Option<MappingStep>,
    /// Write Data to ERP.
    pub write: RequestTemplate,
    /// Where an order transaction's mapping code is in the ERP's answer.
    pub reference_path: Option<UserPath>,
    /// The Custom Response Setting.
    pub custom_response: CustomResponse,
    /// The Post Script.
    pub post_script: Option<ScriptStep>,
    /// Whether anything of the flow can read the `rejected_count` attribute (a script, a
    /// property or the ERP request); counting costs one Omnitron request per plan.
    pub reads_rejected_count: bool,
}

impl OrderCancelFlow {
    /// Every secret value of this flow (passwords, fixed tokens), for redaction from logs.
    pub fn secrets(&self) -> Vec<String> {
        crate::cards::connections::login_secrets(&self.omnitron, &self.erp)
    }

    /// The task's Cancel Status.
    pub fn cancel_status(&self) -> CancelStatus {
        self.config.read.cancel_status
    }
}

/// Loads and checks the Order Cancel Flow in `dir`.
pub async fn load_order_cancel_flow(
    dir: &Path,
    options: &LoadOptions,
    scripts: &ScriptPool,
) -> Result<OrderCancelFlow, FlowErrors> {
    let (config, mut cx) = BuildContext::begin::<OrderCancelFlowConfig>(dir, options, scripts)?;
    cx.check_header(config.kind, FlowKind::OrderCancel, &config.name);
    let (omnitron, erp) = cx.logins(options, &config.omnitron, &config.erp);
    cx.check_run(&config.run);
    cx.check_schedule(&config.schedule);
    config.read.check(&mut cx);
    check_next_state(&mut cx, config.read.cancel_status, config.write.next_state);
    let write = RequestTemplate::build(
        &mut cx,
        "write",
        &config.write.method,
        &config.write.url,
        &config.write.headers,
        &[Method::POST, Method::GET, Method::PUT, Method::PATCH],
    );
    let reference_path = config.write.reference_path.as_ref().map(|text| {
        cx.check(
            "write.reference_path",
            UserPath::parse(text).map_err(|e| e.to_string()),
        )
    });
    let mapping = config
        .mapping
        .as_ref()
        .map(|card| card.build(&mut cx, "mapping"));
    let script = match &config.script {
        Some(card) => Some(card.build(&mut cx, "script", "the Script").await),
        None => None,
    };
    let card = &config.custom_response;
    let custom_response = match (card.enabled, &card.file) {
        (false, Some(_)) => {
            cx.error(
                "custom_response.file",
                "has no effect with custom_response.enabled = false",
            );
            Some(CustomResponse::Off)
        }
        (false, None) => Some(CustomResponse::Off),
        (true, Some(file)) => build_script(
            &mut cx,
            "custom_response",
            "the Custom Response Script",
            file,
            &card.properties,
        )
        .await
        .map(CustomResponse::Script),
        (true, None) => Some(CustomResponse::Default),
    };
    let post_script = match &config.post_script {
        Some(card) => Some(card.build(&mut cx, "post_script", "the Post Script").await),
        None => None,
    };
    let reads_rejected_count =
        reads_rejected_count(&config, &script, &custom_response, &post_script);
    let flow = (|| {
        Some(OrderCancelFlow {
            id: config.name.clone(),
            dir: dir.to_path_buf(),
            omnitron: omnitron?,
            erp,
            script: given(script)?,
            mapping: given(mapping)?,
            write: write?,
            reference_path: given(reference_path)?,
            custom_response: custom_response?,
            reads_rejected_count,
            post_script: given(post_script)?,
            config: config.clone(),
        })
    })();
    cx.finish(flow)
}

/// Whether a script (outside its comments), a property or the ERP request of the flow names
/// `rejected_count`, or a script reads every attribute at once.
fn reads_rejected_count(
    config: &OrderCancelFlowConfig,
    script: &Option<Option<ScriptStep>>,
    custom_response: &Option<CustomResponse>,
    post_script: &Option<Option<ScriptStep>>,
) -> bool {
    const NAME: &str = "rejected_count";
    let custom_response = match custom_response {
        Some(CustomResponse::Script(step)) => Some(step),
        _ => None,
    };
    let scripts = [
        script.iter().flatten().next(),
        custom_response,
        post_script.iter().flatten().next(),
    ];
    let scripts_read = scripts.into_iter().flatten().any(|step| {
        step.script
            .source()
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .any(|line| line.contains(NAME) || line.contains("getAttributes"))
    });
    let properties = [
        config.script.as_ref().map(|c| &c.properties),
        config.post_script.as_ref().map(|c| &c.properties),
        Some(&config.custom_response.properties),
    ];
    let properties_read = properties
        .into_iter()
        .flatten()
        .flat_map(|p| p.values())
        .any(|v| v.contains(NAME));
    let write = &config.write;
    let request_reads = write.url.contains(NAME)
        || write
            .headers
            .iter()
            .any(|(k, v)| k.contains(NAME) || v.contains(NAME));
    scripts_read || properties_read || request_reads
}

impl ReadPlansCard {
    /// Checks the Get Data From Omnitron card.
    pub fn check(&self, cx: &mut BuildContext<'_>) {
        let channel_type = self.channel_type.trim();
        if channel_type.is_empty() {
            cx.error(
                "read.channel_type",
                "is required: the type of the sales channels to read (e.g. \"web\")",
            );
        } else if !channel_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        {
            cx.error(
                "read.channel_type",
                format!("{channel_type:?} is not a channel type (letters, digits, _ and -)"),
            );
        }
        if !(1..=1000).contains(&self.page_size) {
            cx.error("read.page_size", "must be between 1 and 1000");
        }
        if !(1..=1_000_000).contains(&self.max_plans) {
            cx.error("read.max_plans", "must be between 1 and 1000000");
        }
        if self.initial_lookback.is_zero()
            || self.initial_lookback > std::time::Duration::from_secs(3650 * 86400)
        {
            cx.error(
                "read.initial_lookback",
                "must be more than 0 and at most 3650 days",
            );
        }
    }
}

/// Omnitron's plan lifecycle refuses some moves: a Next State that can never follow the task's
/// status would fail every plan, so it is refused when the flow loads.
fn check_next_state(cx: &mut BuildContext<'_>, status: CancelStatus, next: NextState) {
    let allowed: &[NextState] = match status {
        CancelStatus::Waiting => &[
            NextState::Approved,
            NextState::ConfirmationWaiting,
            NextState::Confirmed,
            NextState::Completed,
        ],
        CancelStatus::ConfirmationWaiting => &[
            NextState::Approved,
            NextState::Confirmed,
            NextState::Completed,
        ],
        CancelStatus::Confirmed => &[NextState::Approved, NextState::Completed],
        // The Next State is ignored for these tasks.
        CancelStatus::Completed | CancelStatus::OrderTransaction => return,
    };
    if !allowed.contains(&next) {
        let names: Vec<&str> = allowed.iter().map(|n| n.status()).collect();
        cx.error(
            "write.next_state",
            format!(
                "{:?} cannot follow cancel_status {:?}: Omnitron moves a {} plan only to {}",
                next.status(),
                status.plan_status().unwrap_or("order_transaction"),
                status.plan_status().unwrap_or("order_transaction"),
                names.join(", ")
            ),
        );
    }
}
