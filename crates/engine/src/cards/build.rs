//! What every card's `build` needs: where the flow lives, the script pool (scripts are compiled
//! at load time), and the list of problems found so far, so a flow reports every problem at once.

use std::path::{Path, PathBuf};

use omnibridge_expr::Template;
use omnibridge_script::ScriptPool;

use crate::config::error::{FlowError, FlowErrors};
use crate::config::load::{self, LoadOptions, Problems, SourceFile};
use crate::config::logins::{ErpRef, OmnitronLogin, OmnitronRef};
use crate::config::{FlowKind, RunConfig, ScheduleConfig};
use crate::login::ErpLoginConfig;

/// Largest script or Jolt spec file a flow may name.
pub const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// The context of one flow's load: cards build their steps through it and record problems in
/// it instead of stopping at the first one.
pub struct BuildContext<'a> {
    /// The flow directory.
    pub dir: &'a Path,
    /// Its `flow.toml`, named in every error.
    pub flow_file: PathBuf,
    /// Compiles scripts.
    pub scripts: &'a ScriptPool,
    problems: Problems,
}

impl<'a> BuildContext<'a> {
    /// A context for the flow in `dir`.
    pub fn new(dir: &'a Path, flow_file: PathBuf, scripts: &'a ScriptPool) -> Self {
        Self {
            dir,
            flow_file,
            scripts,
            problems: Problems::default(),
        }
    }

    /// Reads the flow's `flow.toml` as `C` (every `${env:...}` substituted), and a context to
    /// build its cards in; a file that cannot be read as `C` is the one error.
    pub fn begin<C: serde::de::DeserializeOwned>(
        dir: &'a Path,
        options: &LoadOptions,
        scripts: &'a ScriptPool,
    ) -> Result<(C, Self), FlowErrors> {
        let flow_file = dir.join(load::FLOW_FILE);
        let lookup = |name: &str| (options.env)(name);
        let config = load::read_toml(&flow_file, &lookup).map_err(|e| FlowErrors(vec![e]))?;
        Ok((config, Self::new(dir, flow_file, scripts)))
    }

    /// Checks the flow's `type` and `name`.
    pub fn check_header(&mut self, kind: FlowKind, expected: FlowKind, name: &str) {
        if kind != expected {
            self.error(
                "type",
                format!("this is an {}, not an {}", kind.title(), expected.title()),
            );
        }
        self.check_name(name);
    }

    /// Records a problem with `field` of `flow.toml`.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let error = FlowError::new(&self.flow_file, field, message);
        self.problems.push(error);
    }

    /// Records a problem with another file (a script, a spec).
    pub fn file_error(&mut self, file: &Path, message: impl Into<String>) {
        self.problems.push(FlowError::new(file, "", message));
    }

    /// Keeps the value, or records the error and gives `None`.
    pub fn take<T>(&mut self, result: Result<T, FlowError>) -> Option<T> {
        self.problems.take(result)
    }

    /// Keeps the value, or records `field`'s problem and gives `None`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(field, message);
                None
            }
        }
    }

    /// Compiles an expression (a URL, a header value, a property), naming the field and the
    /// position of a mistake.
    pub fn template(&mut self, field: &str, text: &str) -> Option<Template> {
        let compiled =
            Template::compile(text).map_err(|e| format!("expression does not compile: {e}"));
        self.check(field, compiled)
    }

    /// Reads a file named by `field`, relative to the flow directory.
    pub fn source(&mut self, field: &str, name: &str) -> Option<SourceFile> {
        let path = self.dir.join(name);
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.len() > MAX_SOURCE_BYTES
        {
            self.error(
                field,
                format!(
                    "{} is {} bytes; a flow's files may be at most {MAX_SOURCE_BYTES} bytes",
                    path.display(),
                    meta.len()
                ),
            );
            return None;
        }
        let read = load::read_source(self.dir, &self.flow_file, field, name);
        self.take(read)
    }

    /// `Ok(value)` when no problem was recorded, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, FlowErrors> {
        let flow_file = self.flow_file.clone();
        match (self.problems.finish(|| ()), value) {
            (Ok(()), Some(value)) => Ok(value),
            (Err(errors), _) => Err(errors),
            (Ok(()), None) => Err(FlowErrors(vec![FlowError::new(
                flow_file,
                "",
                "incomplete flow",
            )])),
        }
    }

    /// The flow's Omnitron and ERP logins: named profiles of `logins.toml` (the flow
    /// directory's, else its parent's, unless `options` names one) or written in the flow.
    pub fn logins(
        &mut self,
        options: &LoadOptions,
        omnitron: &OmnitronRef,
        erp: &ErpRef,
    ) -> (Option<OmnitronLogin>, ErpLoginConfig) {
        let lookup = |name: &str| (options.env)(name);
        let path = options
            .logins
            .clone()
            .or_else(|| load::find_logins(self.dir));
        let logins = self
            .take(load::read_logins(path.as_deref(), &lookup))
            .unwrap_or_default();
        let omnitron = match omnitron.resolve(&logins) {
            Ok(login) => {
                if let Err(problem) = check_http_url(&login.url) {
                    self.error("omnitron.url", problem);
                }
                Some(login)
            }
            Err((field, message)) => {
                self.error(&field, message);
                None
            }
        };
        let erp = match erp.resolve(&logins) {
            Ok(erp) => {
                if let Err(e) = erp.validate() {
                    self.error("erp", e.to_string());
                }
                erp
            }
            Err((field, message)) => {
                self.error(&field, message);
                ErpLoginConfig::None
            }
        };
        (omnitron, erp)
    }

    /// Checks the flow's name.
    pub fn check_name(&mut self, name: &str) {
        let trimmed = name.trim();
        let problem = if trimmed.is_empty() {
            Some("must not be empty")
        } else if trimmed.chars().count() > 64 {
            Some("must be at most 64 characters")
        } else if trimmed.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error("name", problem);
        }
    }

    /// Checks the `[run]` section.
    pub fn check_run(&mut self, run: &RunConfig) {
        if !(1..=512).contains(&run.concurrency) {
            self.error("run.concurrency", "must be between 1 and 512");
        }
        if run.script_timeout.is_zero() || run.script_timeout > std::time::Duration::from_secs(300)
        {
            self.error(
                "run.script_timeout",
                "must be more than 0 and at most 300s (Integrator's limit)",
            );
        }
        if run.http_timeout.is_zero() {
            self.error("run.http_timeout", "must be more than 0");
        }
        if run.connect_timeout.is_zero() {
            self.error("run.connect_timeout", "must be more than 0");
        }
    }

    /// Checks the `[schedule]` section as the scheduler will read it (`every`, `cron`, `after`,
    /// `timezone`): a bad one is an error naming the field. No section is no schedule.
    pub fn check_schedule(&mut self, schedule: &ScheduleConfig) {
        let spec = schedule.spec();
        if spec.is_empty() {
            return;
        }
        if let Err(error) = omnibridge_schedule::Schedule::parse(&spec) {
            let field = error.field().map_or("schedule", |field| field.name());
            let message = error.to_string();
            // The scheduler's message starts with the field, which the flow error names too.
            let message = message
                .strip_prefix(&format!("{field}: "))
                .map_or(message.clone(), str::to_string);
            self.error(field, message);
        }
    }

    /// Checks the `[schedule]` section's timezone; returns it parsed (UTC when none is given).
    pub fn check_timezone(&mut self, schedule: &ScheduleConfig) -> Option<chrono_tz::Tz> {
        match &schedule.timezone {
            None => Some(chrono_tz::UTC),
            Some(name) => {
                let parsed = name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                    format!("{name:?} is not an IANA timezone such as \"Europe/Istanbul\"")
                });
                self.check("schedule.timezone", parsed)
            }
        }
    }
}

/// An optional card that was given but did not build (`Some(None)`) spoils the flow (`None`);
/// one that was not given (`None`) is simply absent (`Some(None)`).
pub fn given<T>(card: Option<Option<T>>) -> Option<Option<T>> {
    match card {
        None => Some(None),
        Some(Some(value)) => Some(Some(value)),
        Some(None) => None,
    }
}

/// Whether `url` is an absolute http(s) URL with a host.
pub fn check_http_url(url: &str) -> Result<(), String> {
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
