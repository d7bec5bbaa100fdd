//! An Order Flow ready to run: `flow.toml` read and checked, every expression, Jolt spec and
//! script compiled. Loading reports every problem at once, each naming the file, the field and
//! what is wrong, so a bad flow is refused when it is saved, not at 3 a.m.

use std::path::{Path, PathBuf};

use omnibridge_expr::Template;
use omnibridge_http::Method;
use omnibridge_jolt::Jolt;
use omnibridge_script::{Script, ScriptError, ScriptPool};

use super::check_response::DEFAULT_CHECK_RESPONSE_SCRIPT;
use super::query_check::QueryRules;
use crate::flow::error::{FlowError, FlowErrors};
use crate::flow::load::{self, FLOW_FILE, Problems, SourceFile};
use crate::flow::logins::OmnitronLogin;
use crate::flow::{FlowKind, OrderFlowConfig};
use crate::json_path::UserPath;
use crate::login::ErpLoginConfig;

/// Where `${env:NAME}` values come from.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to find the pieces of a flow that live outside its directory.
pub struct LoadOptions {
    /// `logins.toml` to use; by default the flow directory's, else its parent's.
    pub logins: Option<PathBuf>,
    /// Where `${env:NAME}` values come from (the process environment by default).
    pub env: EnvLookup,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            logins: None,
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }
}

/// An HTTP request whose URL and header values are expressions.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Method.
    pub method: Method,
    /// URL template.
    pub url: Template,
    /// Header names and value templates.
    pub headers: Vec<(String, Template)>,
}

/// The compiled Query Check Order card.
#[derive(Debug, Clone)]
pub struct QueryCheck {
    /// The query request.
    pub request: RequestTemplate,
    /// How the answer is read.
    pub rules: QueryRules,
}

/// A script card's script and where it came from.
#[derive(Debug, Clone)]
pub struct FlowScript {
    /// The file it was read from (`None` for the product's default script).
    pub path: Option<PathBuf>,
    /// The script.
    pub script: Script,
    /// Its properties (`context.getProperty`), as expressions.
    pub properties: Vec<(String, Template)>,
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
    pub script: Option<FlowScript>,
    /// The Mapping card.
    pub mapping: Option<Jolt>,
    /// Write Data to ERP.
    pub write: RequestTemplate,
    /// The Check Response Script (the default one when the card is empty).
    pub check_response: FlowScript,
    /// The Post Script.
    pub post_script: Option<FlowScript>,
}

impl OrderFlow {
    /// Every secret value of this flow (passwords, fixed tokens), for redaction from logs.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = self.erp.secrets();
        if !self.omnitron.password.is_empty() {
            secrets.push(self.omnitron.password.clone());
        }
        secrets
    }
}

/// Loads and checks the Order Flow in `dir`. Scripts are compiled by `scripts` (so a syntax
/// error, with its line and a Python 2 hint, is reported now).
pub async fn load_order_flow(
    dir: &Path,
    options: &LoadOptions,
    scripts: &ScriptPool,
) -> Result<OrderFlow, FlowErrors> {
    let flow_file = dir.join(FLOW_FILE);
    let lookup = |name: &str| (options.env)(name);
    let config: OrderFlowConfig =
        load::read_toml(&flow_file, &lookup).map_err(|e| FlowErrors(vec![e]))?;
    let mut problems = Problems::default();
    let field_error = |field: &str, message: String| FlowError::new(&flow_file, field, message);

    if config.kind != FlowKind::Order {
        problems.push(field_error(
            "type",
            format!("this is a {:?} flow, not an Order Flow", config.kind),
        ));
    }
    check_name(&config.name).unwrap_or_else(|m| problems.push(field_error("name", m)));

    let logins_path = options.logins.clone().or_else(|| load::find_logins(dir));
    let logins = problems
        .take(load::read_logins(logins_path.as_deref(), &lookup))
        .unwrap_or_default();
    let omnitron = match config.omnitron.resolve(&logins) {
        Ok(login) => {
            if let Err(m) = check_http_url(&login.url) {
                problems.push(field_error("omnitron.url", m));
            }
            Some(login)
        }
        Err((field, message)) => {
            problems.push(field_error(&field, message));
            None
        }
    };
    let erp = match config.erp.resolve(&logins) {
        Ok(erp) => {
            if let Err(e) = erp.validate() {
                problems.push(field_error("erp", e.to_string()));
            }
            erp
        }
        Err((field, message)) => {
            problems.push(field_error(&field, message));
            ErpLoginConfig::None
        }
    };

    check_read(&config, &flow_file, &mut problems);
    check_run(&config, &flow_file, &mut problems);

    let query_check = config.query_check.as_ref().and_then(|card| {
        let request = request_template(
            &flow_file,
            "query_check",
            &card.method,
            &card.url,
            &card.headers,
            &mut problems,
        );
        let path = match &card.custom_response_path {
            Some(text) if !text.trim().is_empty() => match UserPath::parse(text) {
                Ok(path) => Some(path),
                Err(e) => {
                    problems.push(field_error(
                        "query_check.custom_response_path",
                        e.to_string(),
                    ));
                    None
                }
            },
            _ => None,
        };
        if path.is_none()
            && card.custom_response_path.is_none()
            && card.custom_response_value.is_some()
        {
            problems.push(field_error(
                "query_check.custom_response_value",
                "has no effect without query_check.custom_response_path".to_string(),
            ));
        }
        let request = request?;
        Some(QueryCheck {
            request,
            rules: QueryRules {
                path,
                not_found_value: card.custom_response_value.clone(),
                failure_codes: card.failure_status_codes.clone(),
                not_found_codes: card.order_not_found_codes.clone(),
            },
        })
    });

    let write = request_template(
        &flow_file,
        "write",
        &config.write.method,
        &config.write.url,
        &config.write.headers,
        &mut problems,
    );

    let mapping = config.mapping.as_ref().and_then(|card| {
        let source = problems.take(load::read_source(
            dir,
            &flow_file,
            "mapping.file",
            &card.file,
        ))?;
        match Jolt::compile_str(&source.text) {
            Ok(jolt) => Some(jolt),
            Err(e) => {
                problems.push(FlowError::new(
                    &source.path,
                    "",
                    format!("not a valid Jolt spec: {e}"),
                ));
                None
            }
        }
    });

    let script = match &config.script {
        Some(card) => {
            load_script(
                dir,
                &flow_file,
                "script",
                &card.file,
                &card.properties,
                scripts,
                &mut problems,
            )
            .await
        }
        None => None,
    };
    let check_response = match &config.check_response {
        Some(card) => {
            load_script(
                dir,
                &flow_file,
                "check_response",
                &card.file,
                &card.properties,
                scripts,
                &mut problems,
            )
            .await
        }
        None => Some(FlowScript {
            path: None,
            script: Script::new(DEFAULT_CHECK_RESPONSE_SCRIPT),
            properties: Vec::new(),
        }),
    };
    let post_script = match &config.post_script {
        Some(card) => {
            load_script(
                dir,
                &flow_file,
                "post_script",
                &card.file,
                &card.properties,
                scripts,
                &mut problems,
            )
            .await
        }
        None => None,
    };

    let (Some(omnitron), Some(write), Some(check_response)) = (omnitron, write, check_response)
    else {
        return Err(problems.finish(|| ()).err().unwrap_or_else(|| {
            FlowErrors(vec![FlowError::new(&flow_file, "", "incomplete flow")])
        }));
    };
    problems.finish(|| OrderFlow {
        id: config.name.clone(),
        dir: dir.to_path_buf(),
        omnitron,
        erp,
        query_check,
        script,
        mapping,
        write,
        check_response,
        post_script,
        config,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".to_string());
    }
    if trimmed.chars().count() > 64 {
        return Err("must be at most 64 characters".to_string());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    Ok(())
}

fn check_http_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(())
        }
        Ok(_) => Err(format!(
            "{url:?} must be an http:// or https:// URL with a host"
        )),
        Err(e) => Err(format!("{url:?} is not a URL: {e}")),
    }
}

fn check_read(config: &OrderFlowConfig, flow_file: &Path, problems: &mut Problems) {
    let read = &config.read;
    if read.statuses.is_empty() {
        problems.push(FlowError::new(
            flow_file,
            "read.statuses",
            "must list at least one status",
        ));
    }
    if let Some(bad) = read.statuses.iter().find(|s| s.parse::<u16>().is_err()) {
        problems.push(FlowError::new(
            flow_file,
            "read.statuses",
            format!("{bad:?} is not an order status code such as \"400\""),
        ));
    }
    if !(1..=1000).contains(&read.page_size) {
        problems.push(FlowError::new(
            flow_file,
            "read.page_size",
            "must be between 1 and 1000",
        ));
    }
    if !(1..=3650).contains(&read.window_days) {
        problems.push(FlowError::new(
            flow_file,
            "read.window_days",
            "must be between 1 and 3650",
        ));
    }
}

fn check_run(config: &OrderFlowConfig, flow_file: &Path, problems: &mut Problems) {
    let run = &config.run;
    if !(1..=512).contains(&run.concurrency) {
        problems.push(FlowError::new(
            flow_file,
            "run.concurrency",
            "must be between 1 and 512",
        ));
    }
    if run.script_timeout.is_zero() || run.script_timeout > std::time::Duration::from_secs(300) {
        problems.push(FlowError::new(
            flow_file,
            "run.script_timeout",
            "must be more than 0 and at most 300s (Integrator's limit)",
        ));
    }
    if run.http_timeout.is_zero() {
        problems.push(FlowError::new(
            flow_file,
            "run.http_timeout",
            "must be more than 0",
        ));
    }
    if run.connect_timeout.is_zero() {
        problems.push(FlowError::new(
            flow_file,
            "run.connect_timeout",
            "must be more than 0",
        ));
    }
}

/// Compiles a URL or header value, naming the field and the position of a mistake.
fn compile_template(flow_file: &Path, field: &str, text: &str) -> Result<Template, FlowError> {
    Template::compile(text).map_err(|e| {
        FlowError::new(
            flow_file,
            field,
            format!("expression does not compile: {e}"),
        )
    })
}

fn request_template(
    flow_file: &Path,
    card: &str,
    method: &str,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<RequestTemplate> {
    let method_field = format!("{card}.method");
    let method = match method.trim().to_ascii_uppercase().as_str() {
        "GET" => Some(Method::GET),
        "POST" => Some(Method::POST),
        "PUT" => Some(Method::PUT),
        "PATCH" => Some(Method::PATCH),
        "DELETE" => Some(Method::DELETE),
        other => {
            problems.push(FlowError::new(
                flow_file,
                &method_field,
                format!("{other:?} is not one of GET, POST, PUT, PATCH, DELETE"),
            ));
            None
        }
    };
    let url_field = format!("{card}.url");
    let url = problems.take(compile_template(flow_file, &url_field, url));
    if let Some(template) = &url {
        // A literal URL can be checked whole; an expression at least has to start like a URL
        // (or be an expression that produces one).
        let text = template.source().trim();
        let problem = if template.is_literal() {
            check_http_url(text).err()
        } else if text.starts_with("http://")
            || text.starts_with("https://")
            || text.starts_with("${")
        {
            None
        } else {
            Some(format!("{text:?} must start with http:// or https://"))
        };
        if let Some(problem) = problem {
            problems.push(FlowError::new(flow_file, &url_field, problem));
        }
    }
    let mut compiled_headers = Vec::new();
    for (name, value) in headers {
        let field = format!("{card}.headers.{name}");
        if reqwest_header_name_ok(name) {
            if let Some(template) = problems.take(compile_template(flow_file, &field, value)) {
                compiled_headers.push((name.clone(), template));
            }
        } else {
            problems.push(FlowError::new(
                flow_file,
                &field,
                format!("{name:?} is not a valid header name"),
            ));
        }
    }
    Some(RequestTemplate {
        method: method?,
        url: url?,
        headers: compiled_headers,
    })
}

fn reqwest_header_name_ok(name: &str) -> bool {
    omnibridge_http::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

async fn load_script(
    dir: &Path,
    flow_file: &Path,
    card: &str,
    file: &str,
    properties: &std::collections::BTreeMap<String, String>,
    scripts: &ScriptPool,
    problems: &mut Problems,
) -> Option<FlowScript> {
    let mut compiled = Vec::new();
    for (name, value) in properties {
        let field = format!("{card}.properties.{name}");
        if let Some(template) = problems.take(compile_template(flow_file, &field, value)) {
            compiled.push((name.clone(), template));
        }
    }
    let field = format!("{card}.file");
    let SourceFile { path, text } =
        problems.take(load::read_source(dir, flow_file, &field, file))?;
    let script = Script::new(text);
    match scripts.check(&script).await {
        Ok(_) => Some(FlowScript {
            path: Some(path),
            script,
            properties: compiled,
        }),
        Err(ScriptError::Compile(diagnostic)) => {
            problems.push(FlowError::new(
                &path,
                "",
                format!("does not compile: {diagnostic}"),
            ));
            None
        }
        Err(other) => {
            problems.push(FlowError::new(
                &path,
                "",
                format!("cannot be checked: {other}"),
            ));
            None
        }
    }
}
