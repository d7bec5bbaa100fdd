//! One order through the Order Flow, guarded by the ledger.
//!
//! The ledger entry decides where an order starts:
//! - none, `rejected` or `released`: the normal path (query, script, mapping, write, ...);
//! - `intent` (a write that may or may not have landed): Query Check Order decides; without a
//!   Query URL the order is held *in doubt* and never re-sent blindly;
//! - `accepted` (the ERP took it, Omnitron not yet updated): finish Omnitron without sending;
//! - `completed`: nothing to do.

use omnibridge_expr::Template;
use omnibridge_http::{Exchange, Request};
use omnibridge_omnitron::OmnitronClient;
use omnibridge_script::{Relationship, RunOptions, ScriptError, ScriptPool};
use omnibridge_store::{
    ErpResult, LedgerEntry, LedgerPhase, NewIntent, Resolution, RowStatus, Step, Store, StoreError,
    request_hash,
};
use serde_json::{Value, json};

use super::check_response::CheckResponseOutput;
use super::definition::{FlowScript, OrderFlow, RequestTemplate};
use super::query_check::{QueryVerdict, body_value};
use super::write_omnitron;
use crate::attributes::Attributes;
use crate::login::{ErpSession, SendError};

/// Everything one record needs, shared by all records of an execution.
pub struct RecordContext<'a> {
    /// The flow.
    pub flow: &'a OrderFlow,
    /// The store.
    pub store: &'a dyn Store,
    /// The script pool.
    pub scripts: &'a ScriptPool,
    /// Omnitron.
    pub omnitron: &'a OmnitronClient,
    /// The ERP login.
    pub erp: &'a ErpSession,
    /// The execution this record belongs to.
    pub execution_id: &'a str,
    /// `flow.id`, `flow.name`, `execution.id` and any trigger attributes.
    pub base_attributes: &'a Attributes,
}

/// What happened to one order: becomes its row log.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// Order number.
    pub key: String,
    /// Order pk.
    pub id: Option<String>,
    /// Outcome.
    pub status: RowStatus,
    /// The last step reached.
    pub step: Step,
    /// Why it failed, or what a person should know.
    pub error: Option<String>,
    /// The record's attributes at the end (only `log.*` ones are kept in the row log).
    pub attributes: Attributes,
    /// The body sent to the ERP (or the query URL when only a query was made).
    pub request: Option<String>,
    /// The ERP's answer.
    pub response: Option<String>,
    /// The ledger attempt to mark completed: the ERP and Omnitron are both done. Marking it is
    /// left to the row log writer, off the record's concurrency slot: a crash before that
    /// commit leaves the entry `accepted` for an order Omnitron no longer lists, which is
    /// harmless.
    pub completed_attempt: Option<u32>,
}

/// Stops a record: the outcome and the message.
struct Stop {
    status: RowStatus,
    error: Option<String>,
}

impl Stop {
    fn failed(error: impl Into<String>) -> Self {
        Self {
            status: RowStatus::Failed,
            error: Some(error.into()),
        }
    }
    fn in_doubt(error: impl Into<String>) -> Self {
        Self {
            status: RowStatus::InDoubt,
            error: Some(error.into()),
        }
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::failed(format!("the store failed: {error}"))
    }
}

/// The order's trip through the flow; `report` collects what happened.
struct Trip<'c, 'a> {
    cx: &'c RecordContext<'a>,
    pk: i64,
    report: RecordReport,
    /// The Query Check answer fetched while the order was being read, if it is the request the
    /// record would have sent: the first Query Check of the record uses it instead of asking
    /// again.
    early_query: Option<Exchange>,
}

/// What is learned before the order's detail has arrived.
struct EarlyLook {
    /// The record's ledger entry.
    entry: Option<LedgerEntry>,
    /// A Query Check sent with the attributes of the order's list row, and those attributes.
    query: Option<(Attributes, Exchange)>,
}

/// Runs one order (by pk and number) through the flow. `row` is the order as the unsent-orders
/// list gave it (its top-level fields let the Query Check start while the detail is read).
pub async fn process_order(
    cx: &RecordContext<'_>,
    pk: i64,
    number: &str,
    row: Option<&Value>,
) -> RecordReport {
    let mut trip = Trip {
        cx,
        pk,
        early_query: None,
        report: RecordReport {
            key: number.to_string(),
            id: Some(pk.to_string()),
            status: RowStatus::Failed,
            step: Step::Read,
            error: None,
            attributes: cx.base_attributes.clone(),
            request: None,
            response: None,
            completed_attempt: None,
        },
    };
    match trip.run(row).await {
        Ok(status) => trip.report.status = status,
        Err(stop) => {
            trip.report.status = stop.status;
            trip.report.error = stop.error;
        }
    }
    trip.report
}

impl<'a> Trip<'_, 'a> {
    fn flow(&self) -> &'a OrderFlow {
        self.cx.flow
    }

    fn key(&self) -> &str {
        &self.report.key
    }

    fn attrs(&mut self) -> &mut Attributes {
        &mut self.report.attributes
    }

    async fn run(&mut self, row: Option<&Value>) -> Result<RowStatus, Stop> {
        // The order's detail takes a few sequential round trips to Omnitron; the ledger lookup
        // and the Query Check (a read) need only what the list row says, so they go meanwhile.
        let (order, early) = tokio::join!(
            self.cx.omnitron.assembled_order(self.pk),
            self.look_early(row)
        );
        let order = order
            .map_err(|e| Stop::failed(format!("reading the order from Omnitron failed: {e}")))?;
        let EarlyLook { entry, query } = early?;
        self.refresh_tokens().await?;
        self.attrs().set_order_fields(&order);
        if let (Some((early_attributes, exchange)), Some(check)) = (query, &self.flow().query_check)
            && same_request(&check.request, &early_attributes, &self.report.attributes)
        {
            self.early_query = Some(exchange);
        }
        if let Some(entry) = &entry {
            match entry.phase {
                LedgerPhase::Completed => {
                    return Err(Stop {
                        status: RowStatus::Skipped,
                        error: Some(
                            "the ledger marks this order done; it is not sent again (Omnitron still \
                             lists it as unsent: mark it sent there, or resolve the ledger entry \
                             with `resend`)"
                                .to_string(),
                        ),
                    });
                }
                LedgerPhase::Accepted => return self.finish_accepted(entry, &order).await,
                LedgerPhase::Intent => {
                    if let Some(status) = self.resolve_in_doubt(entry, &order).await? {
                        return Ok(status);
                    }
                }
                LedgerPhase::Rejected | LedgerPhase::Released => {}
            }
        }

        // Query Check Order.
        if self.flow().query_check.is_some() {
            self.report.step = Step::QueryCheck;
            match self.query(&order).await? {
                QueryVerdict::Found { response } => {
                    return self.finish_found(&order, response).await;
                }
                QueryVerdict::NotFound => {}
                QueryVerdict::Failed { reason } => return Err(Stop::failed(reason)),
            }
        }

        // Script.
        let mut scripted = None;
        if let Some(script) = &self.flow().script {
            self.report.step = Step::Script;
            let output = self.run_script(script, &order).await?;
            scripted = Some(
                serde_json::from_slice::<Value>(&output)
                    .map_err(|e| Stop::failed(format!("the Script's output is not JSON: {e}")))?,
            );
            if self.report.attributes.order_exists() {
                return self.finish_found(&order, Value::Null).await;
            }
        }

        // Mapping.
        let body = match (&self.flow().mapping, scripted) {
            (Some(mapping), scripted) => {
                self.report.step = Step::Mapping;
                mapping
                    .apply(scripted.as_ref().unwrap_or(&order))
                    .map_err(|e| Stop::failed(format!("the Mapping failed: {e}")))?
            }
            (None, Some(scripted)) => scripted,
            (None, None) => order,
        };

        self.write(body).await
    }

    /// Puts the current tokens into the attributes (they may have been renewed).
    async fn refresh_tokens(&mut self) -> Result<(), Stop> {
        let omnitron = self
            .cx
            .omnitron
            .token()
            .await
            .map_err(|e| Stop::failed(format!("Omnitron login failed: {e}")))?;
        let erp = self
            .cx
            .erp
            .credential()
            .await
            .map_err(|e| Stop::failed(format!("ERP login failed: {e}")))?;
        self.attrs().set("token.omnitron", omnitron);
        self.attrs().set("token.erp", erp.token);
        Ok(())
    }

    /// The ledger entry, and — when the record will ask Query Check Order first — that query,
    /// sent with the list row's fields as `_order.*`. Whether the answer can be used is decided
    /// once the detail is in (see [`same_request`]); any problem here just means no early query.
    async fn look_early(&self, row: Option<&Value>) -> Result<EarlyLook, Stop> {
        let cx = self.cx;
        let flow = self.flow();
        let entry = cx.store.get_ledger_entry(&flow.id, self.key()).await?;
        let asks_first = entry.as_ref().is_none_or(|e| {
            matches!(
                e.phase,
                LedgerPhase::Intent | LedgerPhase::Rejected | LedgerPhase::Released
            )
        });
        let (Some(check), Some(row), true) = (&flow.query_check, row, asks_first) else {
            return Ok(EarlyLook { entry, query: None });
        };
        let (Ok(omnitron), Ok(erp)) = (cx.omnitron.token().await, cx.erp.credential().await) else {
            return Ok(EarlyLook { entry, query: None });
        };
        let mut attributes = cx.base_attributes.clone();
        attributes.set("token.omnitron", omnitron);
        attributes.set("token.erp", erp.token);
        attributes.set_order_fields(row);
        let query = match send_request(cx, &check.request, None, attributes.map()).await {
            Ok(exchange) => Some((attributes, exchange)),
            Err(_) => None,
        };
        Ok(EarlyLook { entry, query })
    }

    /// Sends a templated request through the ERP login, renewing the token once if refused.
    async fn send(
        &mut self,
        template: &RequestTemplate,
        body: Option<Vec<u8>>,
    ) -> Result<Exchange, Stop> {
        let exchange = send_request(self.cx, template, body, self.report.attributes.map()).await?;
        self.attrs().set_invokehttp(&exchange);
        Ok(exchange)
    }

    async fn query(&mut self, _order: &Value) -> Result<QueryVerdict, Stop> {
        let Some(query) = &self.flow().query_check else {
            return Ok(QueryVerdict::NotFound);
        };
        let exchange = match self.early_query.take() {
            Some(exchange) => {
                self.attrs().set_invokehttp(&exchange);
                exchange
            }
            None => self.send(&query.request, None).await?,
        };
        self.report.request = Some(format!(
            "{} {}",
            exchange.request.method, exchange.request.url
        ));
        self.report.response = exchange.response().map(|r| r.text());
        Ok(query.rules.decide(&exchange))
    }

    /// An `intent` left by an earlier attempt: was the write received?
    async fn resolve_in_doubt(
        &mut self,
        entry: &LedgerEntry,
        order: &Value,
    ) -> Result<Option<RowStatus>, Stop> {
        if self.flow().query_check.is_none() {
            return Err(Stop::in_doubt(format!(
                "attempt {} wrote to the ERP and got no answer; with no Query URL configured \
                 omnibridge cannot tell whether the ERP has the order, so it is held in doubt and \
                 not re-sent (check the ERP, then `omnibridge ledger resolve {} {} --resend` or \
                 `--done`)",
                entry.attempt,
                self.flow().id,
                self.key()
            )));
        }
        self.report.step = Step::QueryCheck;
        match self.query(order).await? {
            QueryVerdict::Found { response } => self.finish_found(order, response).await.map(Some),
            QueryVerdict::NotFound => {
                self.cx
                    .store
                    .resolve(
                        &self.flow().id,
                        self.key(),
                        Resolution::NotInErp {
                            execution_id: self.cx.execution_id.to_string(),
                        },
                    )
                    .await?;
                Ok(None)
            }
            QueryVerdict::Failed { reason } => Err(Stop::in_doubt(format!(
                "attempt {} may have reached the ERP, and the order query could not tell: {reason}",
                entry.attempt
            ))),
        }
    }

    /// The ERP already has the order: record that, then finish the Omnitron side.
    async fn finish_found(&mut self, order: &Value, response: Value) -> Result<RowStatus, Stop> {
        let status_code = self
            .report
            .attributes
            .get("invokehttp.status.code")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let entry = self
            .cx
            .store
            .resolve(
                &self.flow().id,
                self.key(),
                Resolution::FoundInErp {
                    execution_id: self.cx.execution_id.to_string(),
                    status_code,
                    erp_reference: None,
                    response: Some(response.to_string()),
                },
            )
            .await?;
        self.check_and_update_omnitron(&entry, order.clone(), response)
            .await?;
        Ok(RowStatus::AlreadyInErp)
    }

    /// The ERP accepted an earlier attempt: finish without sending again.
    async fn finish_accepted(
        &mut self,
        entry: &LedgerEntry,
        order: &Value,
    ) -> Result<RowStatus, Stop> {
        let response = entry
            .result
            .as_ref()
            .and_then(|r| r.response.as_ref())
            .map(|b| body_value(b.text.as_bytes()))
            .unwrap_or(Value::Null);
        // The body that was sent is rebuilt from the order; a found-by-query entry used the order.
        let request = if entry.request_hash.is_some() {
            self.rebuild_request(order).await?
        } else {
            order.clone()
        };
        self.check_and_update_omnitron(entry, request, response)
            .await?;
        Ok(RowStatus::AlreadyInErp)
    }

    async fn rebuild_request(&mut self, order: &Value) -> Result<Value, Stop> {
        let mut body = order.clone();
        if let Some(script) = &self.flow().script {
            self.report.step = Step::Script;
            let output = self.run_script(script, &body).await?;
            body = serde_json::from_slice(&output)
                .map_err(|e| Stop::failed(format!("the Script's output is not JSON: {e}")))?;
        }
        if let Some(mapping) = &self.flow().mapping {
            self.report.step = Step::Mapping;
            body = mapping
                .apply(&body)
                .map_err(|e| Stop::failed(format!("the Mapping failed: {e}")))?;
        }
        Ok(body)
    }

    /// Write Data to ERP, recorded in the ledger before and after.
    async fn write(&mut self, body: Value) -> Result<RowStatus, Stop> {
        self.report.step = Step::WriteErp;
        let bytes = serde_json::to_vec(&body).map_err(|e| Stop::failed(e.to_string()))?;
        self.report.request = Some(String::from_utf8_lossy(&bytes).into_owned());
        self.report.response = None;
        let intent = match self
            .cx
            .store
            .record_intent(
                &self.flow().id,
                self.key(),
                NewIntent {
                    execution_id: self.cx.execution_id.to_string(),
                    record_id: Some(self.pk.to_string()),
                    request_hash: request_hash(&bytes),
                },
            )
            .await
        {
            Ok(entry) => entry,
            Err(StoreError::LedgerConflict { .. }) => {
                return Err(Stop {
                    status: RowStatus::Skipped,
                    error: Some("another run is sending this order right now".to_string()),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let exchange = self.send(&self.flow().write, Some(bytes)).await?;
        self.report.response = exchange.response().map(|r| r.text());
        let response = match &exchange.outcome {
            Ok(response) => response.clone(),
            Err(error) if error.never_sent() => {
                self.record_result(intent.attempt, 0, false, None, Some(error.to_string()))
                    .await?;
                self.post_script_on_failure(&body, Value::Null).await;
                return Err(Stop::failed(format!("the ERP write was not sent: {error}")));
            }
            Err(error) => {
                // It may have landed: the intent stays, and the next run decides.
                return Err(Stop::in_doubt(format!(
                    "the ERP write got no answer ({error}); the ERP may have the order, so it is \
                     held in doubt until Query Check Order (next run) or a person resolves it"
                )));
            }
        };
        let status = response.status.as_u16();
        let response_value = body_value(&response.body);
        if !response.is_success() {
            self.record_result(intent.attempt, status, false, Some(response.text()), None)
                .await?;
            self.post_script_on_failure(&body, response_value).await;
            return Err(Stop::failed(format!(
                "the ERP answered HTTP {status}: {}",
                truncate(&response.text(), 500)
            )));
        }
        // The result's commit and the Check Response Script (which only reads the request and
        // the answer) overlap; Omnitron is touched only once both are done.
        let cx = self.cx;
        let key = self.report.key.clone();
        let result = ErpResult {
            status_code: status,
            accepted: true,
            erp_reference: None,
            response: self.report.response.clone(),
            error: None,
        };
        let (recorded, checked) = tokio::join!(
            cx.store
                .record_result(&cx.flow.id, &key, intent.attempt, result),
            self.check_response(body, response_value)
        );
        let entry = recorded?;
        let (checked, input) = checked?;
        self.update_omnitron(entry.attempt, &checked, &input)
            .await?;
        Ok(RowStatus::Success)
    }

    async fn record_result(
        &mut self,
        attempt: u32,
        status_code: u16,
        accepted: bool,
        response: Option<String>,
        error: Option<String>,
    ) -> Result<LedgerEntry, Stop> {
        Ok(self
            .cx
            .store
            .record_result(
                &self.flow().id,
                self.key(),
                attempt,
                ErpResult {
                    status_code,
                    accepted,
                    erp_reference: None,
                    response,
                    error,
                },
            )
            .await?)
    }

    /// Check Response Script, then Write Data to Omnitron, then the Post Script.
    async fn check_and_update_omnitron(
        &mut self,
        entry: &LedgerEntry,
        request_data: Value,
        response_data: Value,
    ) -> Result<(), Stop> {
        let (checked, input) = self.check_response(request_data, response_data).await?;
        self.update_omnitron(entry.attempt, &checked, &input).await
    }

    /// Runs the Check Response Script; returns its checked output and the input it was given.
    async fn check_response(
        &mut self,
        request_data: Value,
        response_data: Value,
    ) -> Result<(CheckResponseOutput, Value), Stop> {
        self.report.step = Step::CheckResponse;
        let input = json!({"request_data": request_data, "response_data": response_data});
        let output = self.run_script(&self.flow().check_response, &input).await?;
        let output: Value = serde_json::from_slice(&output).map_err(|e| {
            Stop::failed(format!(
                "the Check Response Script's output is not JSON: {e}"
            ))
        })?;
        let checked = CheckResponseOutput::parse(&output).map_err(Stop::failed)?;
        Ok((checked, input))
    }

    /// What follows an accepted answer: the refusal of a Check Response Script that said no, or
    /// Write Data to Omnitron and then the Post Script.
    async fn update_omnitron(
        &mut self,
        attempt: u32,
        checked: &CheckResponseOutput,
        input: &Value,
    ) -> Result<(), Stop> {
        if !checked.is_send {
            let reason =
                "the Check Response Script refused the ERP's answer (is_send is not \"1\")";
            self.cx
                .store
                .record_refusal(&self.flow().id, self.key(), attempt, reason)
                .await?;
            return Err(Stop::failed(reason));
        }

        self.report.step = Step::WriteOmnitron;
        // Mapping calls are idempotent for the same code, so a resumed order simply repeats
        // them; recording each one in the ledger would cost a commit per order for nothing.
        write_omnitron::write_mappings(self.cx.omnitron, self.pk, checked)
            .await
            .map_err(|e| Stop::failed(format!("Write Data to Omnitron failed: {e}")))?;
        write_omnitron::mark_sent(self.cx.omnitron, self.pk)
            .await
            .map_err(|e| Stop::failed(format!("Write Data to Omnitron failed: {e}")))?;
        self.report.completed_attempt = Some(attempt);

        if let Some(post) = &self.flow().post_script {
            self.report.step = Step::PostScript;
            self.post_script(post, input).await;
        }
        self.report.step = Step::Done;
        Ok(())
    }

    async fn post_script_on_failure(&mut self, request_data: &Value, response_data: Value) {
        let flow = self.flow();
        let Some(post) = flow.post_script.clone().filter(|_| {
            flow.config
                .post_script
                .as_ref()
                .is_some_and(|c| c.run_on_failed_order)
        }) else {
            return;
        };
        let input = json!({"request_data": request_data, "response_data": response_data});
        self.post_script(&post, &input).await;
    }

    /// Runs the Post Script; its output is ignored and its errors never fail the record.
    async fn post_script(&mut self, post: &FlowScript, input: &Value) {
        let step = self.report.step;
        if let Err(stop) = self.run_script(post, input).await {
            let message = stop.error.unwrap_or_default();
            tracing::warn!(order = %self.key(), "Post Script failed: {message}");
            self.attrs().set("log.post_script.error", message);
        }
        self.report.step = step;
    }

    /// Runs a script on JSON content; returns the content it produced.
    async fn run_script(&mut self, script: &FlowScript, content: &Value) -> Result<Vec<u8>, Stop> {
        let input = serde_json::to_vec(content).map_err(|e| Stop::failed(e.to_string()))?;
        self.attrs().refresh_all_var();
        let name = script_name(script, self.report.step);
        let mut properties = std::collections::BTreeMap::new();
        for (property, template) in &script.properties {
            let value = evaluate(template, self.report.attributes.map(), property)
                .map_err(|e| Stop::failed(format!("{name}: property {property}: {e}")))?;
            properties.insert(property.clone(), value);
        }
        let options = RunOptions {
            timeout: Some(self.flow().config.run.script_timeout),
            properties,
        };
        let result = self
            .cx
            .scripts
            .run_with(
                &script.script,
                input,
                self.report.attributes.map(),
                &options,
            )
            .await
            .map_err(|e| match e {
                ScriptError::Compile(d) => Stop::failed(format!("{name} does not compile: {d}")),
                other => Stop::failed(format!("{name} failed: {other}")),
            })?;
        self.report.attributes.replace_all(result.attributes);
        match (result.relationship, &result.error) {
            (Some(Relationship::Success), None) => match result.result_data {
                Some(data) => Ok(data),
                // Nothing written: the content is what went in.
                None => serde_json::to_vec(content).map_err(|e| Stop::failed(e.to_string())),
            },
            (Some(Relationship::Failure), _) => {
                let detail = self
                    .report
                    .attributes
                    .get("log.script.error")
                    .map(|t| last_line(t).to_string())
                    .unwrap_or_else(|| "no log.script.error was set".to_string());
                Err(Stop::failed(format!(
                    "{name} transferred the order to failure: {detail}"
                )))
            }
            (_, Some(error)) => Err(Stop::failed(format!("{name} failed: {}", last_line(error)))),
            (None, None) => Err(Stop::failed(format!("{name} did not transfer the order"))),
        }
    }
}

/// Sends a templated request through the ERP login, renewing the token once if refused.
async fn send_request(
    cx: &RecordContext<'_>,
    template: &RequestTemplate,
    body: Option<Vec<u8>>,
    attributes: &std::collections::BTreeMap<String, String>,
) -> Result<Exchange, Stop> {
    let relogin = cx.flow.config.run.relogin_statuses.as_slice();
    cx.erp
        .send(relogin, |token| {
            // The token may have been renewed since the record started: expressions see the one
            // this request is sent with.
            build_request(template, &WithToken { attributes, token }, body.clone())
        })
        .await
        .map_err(|e| match e {
            SendError::Login(e) => Stop::failed(format!("ERP login failed: {e}")),
            SendError::Build(e) => Stop::failed(e),
        })
}

fn build_request(
    template: &RequestTemplate,
    view: &WithToken<'_>,
    body: Option<Vec<u8>>,
) -> Result<Request, String> {
    let url = evaluate(&template.url, view, "URL")?;
    let mut request = Request::new(template.method.clone(), url);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    for (name, value) in &template.headers {
        request.set_header(name, evaluate(value, view, name)?);
    }
    Ok(request)
}

/// Whether `template` builds the same request from both sets of attributes (with the same ERP
/// token): then an answer to one is the answer to the other.
fn same_request(template: &RequestTemplate, early: &Attributes, now: &Attributes) -> bool {
    let build = |attributes: &Attributes| {
        let view = WithToken {
            attributes: attributes.map(),
            token: "",
        };
        build_request(template, &view, None).ok()
    };
    match (build(early), build(now)) {
        (Some(a), Some(b)) => a.method == b.method && a.url == b.url && a.headers == b.headers,
        _ => false,
    }
}

fn script_name(script: &FlowScript, step: Step) -> String {
    let card = match step {
        Step::Script => "the Script",
        Step::CheckResponse => "the Check Response Script",
        Step::PostScript => "the Post Script",
        _ => "the script",
    };
    match &script.path {
        Some(path) => format!(
            "{card} ({})",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        ),
        None => format!("{card} (default)"),
    }
}

/// A record's attributes with `token.erp` replaced by the token a request is sent with.
struct WithToken<'a> {
    attributes: &'a std::collections::BTreeMap<String, String>,
    token: &'a str,
}

impl omnibridge_expr::Attributes for WithToken<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if name == "token.erp" {
            Some(self.token)
        } else {
            self.attributes.get(name).map(String::as_str)
        }
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.attributes.keys().map(String::as_str).collect();
        if !self.attributes.contains_key("token.erp") {
            names.push("token.erp");
        }
        names
    }
}

fn evaluate<A: omnibridge_expr::Attributes>(
    template: &Template,
    attributes: &A,
    what: &str,
) -> Result<String, String> {
    template.evaluate(attributes).map_err(|e| {
        format!(
            "evaluating the {what} expression {:?} failed: {e}",
            template.source()
        )
    })
}

fn last_line(text: &str) -> &str {
    text.trim_end().lines().last().unwrap_or("").trim()
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}
