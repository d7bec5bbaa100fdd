//! An Order Status Flow ready to run: `flow.toml` read and checked, URL expressions, Jolt spec
//! and scripts compiled, every problem reported at once.

use std::path::{Path, PathBuf};

use omnibridge_http::Method;
use omnibridge_script::ScriptPool;

use super::trigger::{DATE_PARAMETER, NUMBER_PARAMETER};
use crate::cards::build::{BuildContext, given};
use crate::cards::erp_read::ErpReader;
use crate::cards::mapping::MappingStep;
use crate::cards::request::parse_method;
use crate::cards::script::ScriptStep;
use crate::config::error::FlowErrors;
use crate::config::load::LoadOptions;
use crate::config::logins::OmnitronLogin;
use crate::config::order_status::{Integration, TriggerCard, WriteStatusCard};
use crate::config::{FlowKind, OrderStatusFlowConfig};
use crate::login::ErpLoginConfig;

/// An Order Status Flow, checked and compiled.
#[derive(Debug, Clone)]
pub struct OrderStatusFlow {
    /// The flow's id in the store (its name).
    pub id: String,
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// The configuration as written (secrets substituted).
    pub config: OrderStatusFlowConfig,
    /// The Omnitron login.
    pub omnitron: OmnitronLogin,
    /// The ERP login.
    pub erp: ErpLoginConfig,
    /// The Timezone Setting of `last.request`.
    pub timezone: chrono_tz::Tz,
    /// Read Data From ERP (inbound flows).
    pub read: Option<ErpReader>,
    /// The Script card (a page's payload).
    pub script: Option<ScriptStep>,
    /// The Mapping card.
    pub mapping: Option<MappingStep>,
    /// The per-row script of Write Data to Omnitron.
    pub row_script: Option<ScriptStep>,
    /// Write Data to Omnitron: method and path.
    pub write: StatusWrite,
    /// Every key a trigger may give: `number`, `modified_date__gt` and the custom ones.
    pub trigger_parameters: Vec<String>,
}

/// Where rows are written in Omnitron.
#[derive(Debug, Clone)]
pub struct StatusWrite {
    /// HTTP method (PATCH).
    pub method: Method,
    /// Path relative to the Omnitron URL.
    pub path: String,
}

impl OrderStatusFlow {
    /// Every secret value of this flow (passwords, fixed tokens), for redaction from logs.
    pub fn secrets(&self) -> Vec<String> {
        crate::cards::connections::login_secrets(&self.omnitron, &self.erp)
    }

    /// Whether the ERP pushes rows (no read).
    pub fn is_outbound(&self) -> bool {
        self.config.integration == Integration::Outbound
    }
}

/// Loads and checks the Order Status Flow in `dir`.
pub async fn load_order_status_flow(
    dir: &Path,
    options: &LoadOptions,
    scripts: &ScriptPool,
) -> Result<OrderStatusFlow, FlowErrors> {
    let (config, mut cx) = BuildContext::begin::<OrderStatusFlowConfig>(dir, options, scripts)?;
    cx.check_header(config.kind, FlowKind::OrderStatus, &config.name);
    let (omnitron, erp) = cx.logins(options, &config.omnitron, &config.erp);
    cx.check_run(&config.run);
    cx.check_schedule(&config.schedule);
    let timezone = cx.check_timezone(&config.schedule);
    let trigger_parameters = config.trigger.check(&mut cx);
    let read = match (config.integration, &config.read) {
        (Integration::Inbound, Some(card)) => Some(card.build(&mut cx)),
        (Integration::Inbound, None) => {
            cx.error(
                "read",
                "an inbound flow needs a [read] card (Read Data From ERP), or set integration = \"outbound\"",
            );
            Some(None)
        }
        (Integration::Outbound, Some(_)) => {
            cx.error(
                "read",
                "an outbound flow does not read the ERP (the ERP pushes rows): remove [read] or set integration = \"inbound\"",
            );
            Some(None)
        }
        (Integration::Outbound, None) => None,
    };
    if config.integration == Integration::Outbound
        && (config.schedule.every.is_some() || config.schedule.cron.is_some())
    {
        cx.error(
            "schedule",
            "an outbound flow runs when the ERP pushes rows; it has no schedule",
        );
    }
    let write = config.write.build(&mut cx);
    let mapping = config
        .mapping
        .as_ref()
        .map(|card| card.build(&mut cx, "mapping"));
    let script = match &config.script {
        Some(card) => Some(card.build(&mut cx, "script", "the Script").await),
        None => None,
    };
    let row_script = match &config.write.row_script {
        Some(card) => Some(
            card.build(&mut cx, "write.row_script", "the per-row Script")
                .await,
        ),
        None => None,
    };
    let flow = (|| {
        Some(OrderStatusFlow {
            id: config.name.clone(),
            dir: dir.to_path_buf(),
            omnitron: omnitron?,
            erp,
            timezone: timezone?,
            read: given(read)?,
            script: given(script)?,
            mapping: given(mapping)?,
            row_script: given(row_script)?,
            write: write?,
            trigger_parameters: trigger_parameters?,
            config: config.clone(),
        })
    })();
    cx.finish(flow)
}

impl TriggerCard {
    /// Checks the custom parameters; returns every key a trigger may give.
    pub fn check(&self, cx: &mut BuildContext<'_>) -> Option<Vec<String>> {
        let mut keys = vec![NUMBER_PARAMETER.to_string(), DATE_PARAMETER.to_string()];
        let mut ok = true;
        for (i, name) in self.parameters.iter().enumerate() {
            let field = format!("trigger.parameters[{i}]");
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                cx.error(
                    &field,
                    format!(
                        "{name:?} is not a parameter name (letters, digits, _ - . ; at most 64)"
                    ),
                );
                ok = false;
            } else if keys.contains(name) {
                cx.error(
                    &field,
                    format!("{name:?} is listed twice (number and modified_date__gt always exist)"),
                );
                ok = false;
            } else {
                keys.push(name.clone());
            }
        }
        if self.initial_lookback.is_zero()
            || self.initial_lookback > std::time::Duration::from_secs(3650 * 86400)
        {
            cx.error(
                "trigger.initial_lookback",
                "must be more than 0 and at most 3650 days",
            );
            ok = false;
        }
        ok.then_some(keys)
    }
}

impl WriteStatusCard {
    /// Checks the endpoint.
    pub fn build(&self, cx: &mut BuildContext<'_>) -> Option<StatusWrite> {
        let method = cx.check(
            "write.method",
            parse_method(&self.method, &[Method::PATCH, Method::PUT, Method::POST]),
        );
        let path = self.path.trim();
        let path = if path.is_empty() || path.contains("://") || path.contains(char::is_whitespace)
        {
            cx.error(
                "write.path",
                format!(
                    "{path:?} must be a path relative to the Omnitron URL, such as \"api/i1/order_items/bulk_status_update/\""
                ),
            );
            None
        } else {
            Some(path.trim_start_matches('/').to_string())
        };
        Some(StatusWrite {
            method: method?,
            path: path?,
        })
    }
}
