//! Reading a flow directory: `flow.toml`, the files it names, and `logins.toml`.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::error::{FlowError, FlowErrors};
use super::logins::Logins;
use super::{FlowKind, env};

/// The file name of a flow's definition inside its directory.
pub const FLOW_FILE: &str = "flow.toml";
/// The file name of the shared login profiles.
pub const LOGINS_FILE: &str = "logins.toml";

/// A text file a flow names (a script or a Jolt spec), read at load time.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its content.
    pub text: String,
}

/// Reads and parses a TOML file with `${env:...}` substituted; errors name the file and field.
pub fn read_toml<T: DeserializeOwned>(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<T, FlowError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FlowError::new(path, "", format!("cannot read: {e}")))?;
    parse_toml(path, &text, lookup)
}

/// Parses TOML text as [`read_toml`] does.
pub fn parse_toml<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<T, FlowError> {
    let mut value: toml::Value = toml::from_str(text).map_err(|e| {
        FlowError::new(
            path,
            "",
            format!("not valid TOML: {}", e.to_string().trim()),
        )
    })?;
    env::substitute(&mut value, lookup)
        .map_err(|e| FlowError::new(path, e.field.clone(), e.problem()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        FlowError::new(path, field, e.into_inner().to_string())
    })
}

/// The `type` of the flow in a directory, read before the full definition so that each kind
/// is checked against its own fields.
pub fn flow_kind(dir: &Path) -> Result<FlowKind, FlowError> {
    let path = dir.join(FLOW_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| FlowError::new(&path, "", format!("cannot read: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        FlowError::new(
            &path,
            "",
            format!("not valid TOML: {}", e.to_string().trim()),
        )
    })?;
    let Some(kind) = table.get("type") else {
        return Err(FlowError::new(
            &path,
            "type",
            "missing: one of \"order\", \"order_status\", \"order_cancel\"",
        ));
    };
    kind.clone().try_into::<FlowKind>().map_err(|_| {
        FlowError::new(
            &path,
            "type",
            format!("{kind} is not one of \"order\", \"order_status\", \"order_cancel\""),
        )
    })
}

/// Where `logins.toml` is looked for: the flow directory, then its parent (a project directory
/// holding several flows).
pub fn find_logins(dir: &Path) -> Option<PathBuf> {
    [dir.join(LOGINS_FILE), dir.join("..").join(LOGINS_FILE)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Reads the login profiles at `path`, or none when there is no file.
pub fn read_logins(
    path: Option<&Path>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Logins, FlowError> {
    match path {
        Some(path) => read_toml(path, lookup),
        None => Ok(Logins::default()),
    }
}

/// Largest script or spec file a flow may name.
pub const MAX_SOURCE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a file named by `field`, relative to the flow directory. The file must stay inside
/// that directory: an absolute name, a `..` that climbs out of it, or a symbolic link to a
/// file outside it is refused without reading anything (a flow must not make the engine read
/// `/etc/passwd` and quote it in an error).
pub fn read_source(
    dir: &Path,
    flow_file: &Path,
    field: &str,
    name: &str,
) -> Result<SourceFile, FlowError> {
    let refuse = |problem: String| FlowError::new(flow_file, field, problem);
    let named = Path::new(name);
    if named.is_absolute()
        || named.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(refuse(format!(
            "{name:?} must name a file inside the flow directory, by a relative path without `..`"
        )));
    }
    let path = dir.join(named);
    let inside = match (dir.canonicalize(), path.canonicalize()) {
        (Ok(dir), Ok(file)) => file.starts_with(&dir),
        (_, Err(e)) => return Err(refuse(format!("cannot read {}: {e}", path.display()))),
        (Err(e), _) => {
            return Err(refuse(format!(
                "cannot read the flow directory {}: {e}",
                dir.display()
            )));
        }
    };
    if !inside {
        return Err(refuse(format!(
            "{name:?} leads outside the flow directory (a symbolic link?); files a flow names \
             must be inside it"
        )));
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > MAX_SOURCE_FILE_BYTES {
        return Err(refuse(format!(
            "{} is {size} bytes, over the limit of {MAX_SOURCE_FILE_BYTES}",
            path.display()
        )));
    }
    std::fs::read_to_string(&path)
        .map(|text| SourceFile {
            path: path.clone(),
            text,
        })
        .map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))
}

/// Collects errors so a flow reports every problem at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FlowError>);

impl Problems {
    /// Records an error.
    pub fn push(&mut self, error: FlowError) {
        self.0.push(error);
    }

    /// Keeps the value, or records the error and gives `None`.
    pub fn take<T>(&mut self, result: Result<T, FlowError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, FlowErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(FlowErrors(self.0))
        }
    }
}

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
