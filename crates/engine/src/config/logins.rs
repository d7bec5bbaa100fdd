//! Login profiles shared by all flows (the Integrator's Login Flow), kept in `logins.toml`:
//!
//! ```toml
//! [omnitron.main]
//! url = "https://demo.omnitron.akinon.net/"
//! username = "integration"
//! password = "${env:OMNITRON_PASSWORD}"
//!
//! [erp.main]
//! type = "jwt"
//! url = "https://erp.example.com/auth/login"
//! username = "omnibridge"
//! password = "${env:ERP_PASSWORD}"
//! token_path = "$.data.access_token"
//! prefix = "Bearer"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::login::ErpLoginConfig;

/// Every profile of one `logins.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Logins {
    /// Omnitron profiles by name.
    #[serde(default)]
    pub omnitron: BTreeMap<String, OmnitronLogin>,
    /// ERP profiles by name.
    #[serde(default)]
    pub erp: BTreeMap<String, ErpLoginConfig>,
}

/// How to reach and log in to one Omnitron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OmnitronLogin {
    /// Omnitron's domain URL, e.g. `https://demo.omnitron.akinon.net/`.
    pub url: String,
    /// Integration user name.
    pub username: String,
    /// Integration user password.
    pub password: String,
    /// Login path, relative to the URL.
    #[serde(default = "default_login_path")]
    pub login_path: String,
}

fn default_login_path() -> String {
    "api/v1/auth/login/".to_string()
}

/// Where a flow's Omnitron login comes from: a named profile, or written in the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OmnitronRef {
    /// Name of a profile in `logins.toml`.
    #[serde(default)]
    pub login: Option<String>,
    /// Omnitron's domain URL (when not using a profile).
    #[serde(default)]
    pub url: Option<String>,
    /// User name (when not using a profile).
    #[serde(default)]
    pub username: Option<String>,
    /// Password (when not using a profile).
    #[serde(default)]
    pub password: Option<String>,
}

/// Where a flow's ERP login comes from: a named profile, one written in the flow, or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ErpRef {
    /// Name of a profile in `logins.toml`.
    #[serde(default)]
    pub login: Option<String>,
    /// A profile written in the flow.
    #[serde(default)]
    pub auth: Option<ErpLoginConfig>,
}

impl OmnitronRef {
    /// The profile this reference names or spells out; the error names the field.
    pub fn resolve(&self, logins: &Logins) -> Result<OmnitronLogin, (String, String)> {
        let inline = self.url.is_some() || self.username.is_some() || self.password.is_some();
        match (&self.login, inline) {
            (Some(_), true) => Err((
                "omnitron".to_string(),
                "give either `login` (a profile name) or `url`/`username`/`password`, not both"
                    .to_string(),
            )),
            (Some(name), false) => logins.omnitron.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = logins.omnitron.keys().map(String::as_str).collect();
                (
                    "omnitron.login".to_string(),
                    format!("no Omnitron login profile named {name:?} (known: {known:?})"),
                )
            }),
            (None, _) => {
                let field = |value: &Option<String>, name: &str| {
                    value.clone().ok_or_else(|| {
                        (
                            format!("omnitron.{name}"),
                            "missing (or set `omnitron.login` to a profile name)".to_string(),
                        )
                    })
                };
                Ok(OmnitronLogin {
                    url: field(&self.url, "url")?,
                    username: field(&self.username, "username")?,
                    password: field(&self.password, "password")?,
                    login_path: default_login_path(),
                })
            }
        }
    }
}

impl ErpRef {
    /// The profile this reference names or spells out (none when neither is given).
    pub fn resolve(&self, logins: &Logins) -> Result<ErpLoginConfig, (String, String)> {
        match (&self.login, &self.auth) {
            (Some(_), Some(_)) => Err((
                "erp".to_string(),
                "give either `login` (a profile name) or `[erp.auth]`, not both".to_string(),
            )),
            (Some(name), None) => logins.erp.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = logins.erp.keys().map(String::as_str).collect();
                (
                    "erp.login".to_string(),
                    format!("no ERP login profile named {name:?} (known: {known:?})"),
                )
            }),
            (None, Some(auth)) => Ok(auth.clone()),
            (None, None) => Ok(ErpLoginConfig::None),
        }
    }
}
