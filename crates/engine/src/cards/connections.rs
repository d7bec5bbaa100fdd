//! The Login step of every flow: one Omnitron client and one ERP login session per execution,
//! shared by all its records.

use omnibridge_http::{Exchange, HttpClient, HttpConfig, Request, RetryPolicy};
use omnibridge_omnitron::{OmnitronClient, OmnitronConfig};
use omnibridge_store::Store;

use super::request::{self, RequestTemplate};
use crate::attributes::Attributes;
use crate::config::RunConfig;
use crate::config::logins::OmnitronLogin;
use crate::execution::Stop;
use crate::login::{ErpLoginConfig, ErpSession};

/// An execution's logged-in clients.
#[derive(Debug)]
pub struct Connections {
    /// Omnitron.
    pub omnitron: OmnitronClient,
    /// The ERP login (possibly no authentication).
    pub erp: ErpSession,
    relogin_statuses: Vec<u16>,
}

/// Every secret value of a flow's logins (passwords, fixed tokens), for redaction from logs.
pub fn login_secrets(omnitron: &OmnitronLogin, erp: &ErpLoginConfig) -> Vec<String> {
    let mut secrets = erp.secrets();
    if !omnitron.password.is_empty() {
        secrets.push(omnitron.password.clone());
    }
    secrets
}

impl Connections {
    /// Builds the clients with the flow's timeouts. Nothing is sent yet.
    pub fn new(
        omnitron: &OmnitronLogin,
        erp: &ErpLoginConfig,
        run: &RunConfig,
    ) -> Result<Self, String> {
        let http = HttpConfig {
            connect_timeout: run.connect_timeout,
            total_timeout: run.http_timeout,
            ..HttpConfig::default()
        };
        let mut omnitron_config = OmnitronConfig::new(
            omnitron.url.clone(),
            omnitron.username.clone(),
            omnitron.password.clone(),
        );
        omnitron_config.login_path = omnitron.login_path.clone();
        omnitron_config.http = http.clone();
        let omnitron = OmnitronClient::new(omnitron_config).map_err(|e| e.to_string())?;
        let erp_http = HttpClient::new(HttpConfig {
            // ERP writes are protected by the policy itself; reads (queries, pages) get its
            // retries.
            retry: RetryPolicy::default(),
            ..http
        })
        .map_err(|e| e.to_string())?;
        Ok(Self {
            omnitron,
            erp: ErpSession::new(erp.clone(), erp_http),
            relogin_statuses: run.relogin_statuses.as_slice().to_vec(),
        })
    }

    /// The Login step: logs in to both sides at once and adds the tokens to the store's
    /// secrets, so no row log or error can show them. `Err` is the execution's error.
    pub async fn login(&self, store: &dyn Store) -> Result<(), String> {
        let (omnitron, erp) = tokio::join!(self.omnitron.token(), self.erp.credential());
        let omnitron = omnitron.map_err(|e| format!("Login: Omnitron: {e}"))?;
        store.redactor().secrets().add(omnitron);
        let erp = erp.map_err(|e| format!("Login: ERP: {e}"))?;
        if !erp.token.is_empty() {
            store.redactor().secrets().add(erp.token);
        }
        Ok(())
    }

    /// Puts the current tokens into a record's attributes (`token.omnitron`, `token.erp`);
    /// they may have been renewed since the execution started.
    pub async fn set_tokens(&self, attributes: &mut Attributes) -> Result<(), Stop> {
        let omnitron = self
            .omnitron
            .token()
            .await
            .map_err(|e| Stop::failed(format!("Omnitron login failed: {e}")))?;
        let erp = self
            .erp
            .credential()
            .await
            .map_err(|e| Stop::failed(format!("ERP login failed: {e}")))?;
        attributes.set("token.omnitron", omnitron);
        attributes.set("token.erp", erp.token);
        Ok(())
    }

    /// Sends a request built by `build` (given the token it goes with) to the ERP.
    pub async fn erp_request(
        &self,
        build: impl Fn(&str) -> Result<Request, String>,
    ) -> Result<Exchange, Stop> {
        request::send(&self.erp, &self.relogin_statuses, build).await
    }

    /// Sends a card's request with a record's attributes (and body) to the ERP, and sets the
    /// record's `invokehttp.*` attributes from the exchange.
    pub async fn erp_send(
        &self,
        template: &RequestTemplate,
        attributes: &mut Attributes,
        body: Option<Vec<u8>>,
    ) -> Result<Exchange, Stop> {
        let exchange = self.erp_send_quiet(template, attributes, body).await?;
        attributes.set_invokehttp(&exchange);
        Ok(exchange)
    }

    /// [`Connections::erp_send`] without touching the attributes.
    pub async fn erp_send_quiet(
        &self,
        template: &RequestTemplate,
        attributes: &Attributes,
        body: Option<Vec<u8>>,
    ) -> Result<Exchange, Stop> {
        let map = attributes.map();
        self.erp_request(|token| template.request(map, token, body.clone()))
            .await
    }
}
