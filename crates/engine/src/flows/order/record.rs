//! One order through the Order Flow, guarded by the ledger.
//!
//! The ledger entry decides where an order starts:
//! - none, `rejected` or `released`: the normal path (query, script, mapping, write, ...);
//! - `intent` (a write that may or may not have landed): Query Check Order decides; without a
//!   Query URL the order is held *in doubt* and never re-sent blindly;
//! - `accepted` (the ERP took it, Omnitron not yet updated): finish Omnitron without sending;
//! - `completed`: nothing to do.

use omnibridge_http::Exchange;
use omnibridge_store::{LedgerEntry, LedgerPhase, Resolution, WriteResult};
use serde_json::{Value, json};

use super::check_response::CheckResponseOutput;
use super::load::OrderFlow;
use super::query_check::{QueryVerdict, body_value};
use super::{outcomes, steps, write_omnitron};
use crate::attributes::Attributes;
use crate::cards::request::RequestTemplate;
use crate::cards::script::ScriptStep;
use crate::execution::{CompletionKind, Done, LedgerCompletion, RecordReport, Stop};
use crate::text::truncate;

/// Everything one record needs, shared by all records of an execution.
pub type RecordContext<'a> = crate::flows::RecordContext<'a, OrderFlow>;

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
    let mut report = RecordReport::new(number, cx.base_attributes.clone(), steps::READ);
    report.id = Some(pk.to_string());
    let mut trip = Trip {
        cx,
        pk,
        early_query: None,
        report,
    };
    let result = trip.run(row).await;
    trip.report.conclude(result);
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

    async fn run(&mut self, row: Option<&Value>) -> Result<Done, Stop> {
        // The order's detail takes a few sequential round trips to Omnitron; the ledger lookup
        // and the Query Check (a read) need only what the list row says, so they go meanwhile.
        let (order, early) = tokio::join!(
            self.cx.connections.omnitron.assembled_order(self.pk),
            self.look_early(row)
        );
        let order = order
            .map_err(|e| Stop::failed(format!("reading the order from Omnitron failed: {e}")))?;
        let EarlyLook { entry, query } = early?;
        self.cx
            .connections
            .set_tokens(&mut self.report.attributes)
            .await?;
        self.attrs().set_order_fields(&order);
        if let (Some((early_attributes, exchange)), Some(check)) = (query, &self.flow().query_check)
            && check
                .request
                .same_request(&early_attributes, &self.report.attributes)
        {
            self.early_query = Some(exchange);
        }
        if let Some(entry) = &entry {
            match entry.phase {
                LedgerPhase::Completed => {
                    return Err(Stop::skipped(
                        "the ledger marks this order done; it is not sent again (Omnitron still \
                         lists it as unsent: mark it sent there, or resolve the ledger entry \
                         with `resend`)",
                    ));
                }
                LedgerPhase::Accepted => return self.finish_accepted(entry, &order).await,
                LedgerPhase::Intent => {
                    if let Some(done) = self.resolve_in_doubt(entry, &order).await? {
                        return Ok(done);
                    }
                }
                LedgerPhase::Rejected | LedgerPhase::Released => {}
            }
        }

        // Query Check Order.
        if self.flow().query_check.is_some() {
            self.report.step = steps::QUERY_CHECK;
            match self.query().await? {
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
            self.report.step = steps::SCRIPT;
            scripted = Some(self.run_json(script, &order).await?);
            if self.report.attributes.order_exists() {
                return self.finish_found(&order, Value::Null).await;
            }
        }

        // Mapping.
        let body = match (&self.flow().mapping, scripted) {
            (Some(mapping), scripted) => {
                self.report.step = steps::MAPPING;
                mapping.apply(scripted.as_ref().unwrap_or(&order))?
            }
            (None, Some(scripted)) => scripted,
            (None, None) => order,
        };

        self.write(body).await
    }

    /// The ledger entry, and — when the record will ask Query Check Order first — that query,
    /// sent with the list row's fields as `_order.*`. Whether the answer can be used is decided
    /// once the detail is in ([`RequestTemplate::same_request`]); any problem here just means
    /// no early query.
    async fn look_early(&self, row: Option<&Value>) -> Result<EarlyLook, Stop> {
        let cx = self.cx;
        let flow = self.flow();
        let entry = cx.ledger().entry(self.key()).await?;
        let asks_first = entry.as_ref().is_none_or(|e| {
            matches!(
                e.phase,
                LedgerPhase::Intent | LedgerPhase::Rejected | LedgerPhase::Released
            )
        });
        let (Some(check), Some(row), true) = (&flow.query_check, row, asks_first) else {
            return Ok(EarlyLook { entry, query: None });
        };
        let mut attributes = cx.base_attributes.clone();
        if cx.connections.set_tokens(&mut attributes).await.is_err() {
            return Ok(EarlyLook { entry, query: None });
        }
        attributes.set_order_fields(row);
        let query = match cx
            .connections
            .erp_send_quiet(&check.request, &attributes, None)
            .await
        {
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
        self.cx
            .connections
            .erp_send(template, &mut self.report.attributes, body)
            .await
    }

    async fn query(&mut self) -> Result<QueryVerdict, Stop> {
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
    ) -> Result<Option<Done>, Stop> {
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
        self.report.step = steps::QUERY_CHECK;
        match self.query().await? {
            QueryVerdict::Found { response } => self.finish_found(order, response).await.map(Some),
            QueryVerdict::NotFound => {
                self.cx
                    .ledger()
                    .resolve(
                        self.key(),
                        Resolution::NotWritten {
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
    async fn finish_found(&mut self, order: &Value, response: Value) -> Result<Done, Stop> {
        let status_code = self
            .report
            .attributes
            .get("invokehttp.status.code")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let entry = self
            .cx
            .ledger()
            .resolve(
                self.key(),
                Resolution::AlreadyWritten {
                    execution_id: self.cx.execution_id.to_string(),
                    status_code,
                    reference: None,
                    response: Some(response.to_string()),
                },
            )
            .await?;
        self.check_and_update_omnitron(&entry, order.clone(), response)
            .await?;
        Ok(Done::success(outcomes::ALREADY_IN_ERP))
    }

    /// The ERP accepted an earlier attempt: finish without sending again.
    async fn finish_accepted(&mut self, entry: &LedgerEntry, order: &Value) -> Result<Done, Stop> {
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
        Ok(Done::success(outcomes::ALREADY_IN_ERP))
    }

    async fn rebuild_request(&mut self, order: &Value) -> Result<Value, Stop> {
        let mut body = order.clone();
        if let Some(script) = &self.flow().script {
            self.report.step = steps::SCRIPT;
            body = self.run_json(script, &body).await?;
        }
        if let Some(mapping) = &self.flow().mapping {
            self.report.step = steps::MAPPING;
            body = mapping.apply(&body)?;
        }
        Ok(body)
    }

    /// Write Data to ERP, recorded in the ledger before and after.
    async fn write(&mut self, body: Value) -> Result<Done, Stop> {
        self.report.step = steps::WRITE_ERP;
        let bytes = serde_json::to_vec(&body).map_err(|e| Stop::failed(e.to_string()))?;
        self.report.request = Some(String::from_utf8_lossy(&bytes).into_owned());
        self.report.response = None;
        let ledger = self.cx.ledger();
        let intent = ledger
            .intent(self.key(), Some(self.pk.to_string()), &bytes)
            .await?;
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
            if self.flow().query_check.is_none() && !self.refusal_proves_nothing_saved(status) {
                // It may have landed: the intent stays, as for a reset, and a person decides.
                return Err(Stop::in_doubt(format!(
                    "the ERP answered HTTP {status}, which does not prove it saved nothing; with \
                     no Query URL configured omnibridge cannot tell whether the ERP has the \
                     order, so it is held in doubt and not re-sent (check the ERP, then \
                     `omnibridge ledger resolve {} {} --resend` or `--done`; if this ERP's 5xx \
                     answers never save, set write.transactional_5xx = true): {}",
                    self.flow().id,
                    self.key(),
                    truncate(&response.text(), 300)
                )));
            }
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
        let result = WriteResult {
            status_code: status,
            accepted: true,
            reference: None,
            response: self.report.response.clone(),
            error: None,
        };
        let key = self.report.key.clone();
        let (recorded, checked) = tokio::join!(
            ledger.result(&key, intent.attempt, result),
            self.check_response(body, response_value)
        );
        let entry = recorded?;
        let (checked, input) = checked?;
        self.update_omnitron(entry.attempt, &checked, &input)
            .await?;
        Ok(Done::success(outcomes::SENT))
    }

    /// Whether an ERP refusal proves the order was not saved: a 4xx other than 408 (Request
    /// Timeout), or a 5xx from an ERP declared transactional.
    fn refusal_proves_nothing_saved(&self, status: u16) -> bool {
        match status {
            408 => false,
            400..=499 => true,
            500..=599 => self.flow().config.write.transactional_5xx,
            _ => false,
        }
    }

    async fn record_result(
        &mut self,
        attempt: u32,
        status_code: u16,
        accepted: bool,
        response: Option<String>,
        error: Option<String>,
    ) -> Result<LedgerEntry, Stop> {
        self.cx
            .ledger()
            .result(
                self.key(),
                attempt,
                WriteResult {
                    status_code,
                    accepted,
                    reference: None,
                    response,
                    error,
                },
            )
            .await
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
        self.report.step = steps::CHECK_RESPONSE;
        let input = json!({"request_data": request_data, "response_data": response_data});
        let output = self.run_json(&self.flow().check_response, &input).await?;
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

        self.report.step = steps::WRITE_OMNITRON;
        // Mapping calls are idempotent for the same code, so a resumed order simply repeats
        // them; recording each one in the ledger would cost a commit per order for nothing.
        let omnitron = &self.cx.connections.omnitron;
        write_omnitron::write_mappings(omnitron, self.pk, checked)
            .await
            .map_err(|e| Stop::failed(format!("Write Data to Omnitron failed: {e}")))?;
        write_omnitron::mark_sent(omnitron, self.pk)
            .await
            .map_err(|e| Stop::failed(format!("Write Data to Omnitron failed: {e}")))?;
        self.report.completion = Some(LedgerCompletion {
            record_key: self.report.key.clone(),
            how: CompletionKind::Accepted { attempt },
        });

        if let Some(post) = &self.flow().post_script {
            self.report.step = steps::POST_SCRIPT;
            self.post_script(post, input).await;
        }
        self.report.step = steps::DONE;
        Ok(())
    }

    async fn post_script_on_failure(&mut self, request_data: &Value, response_data: Value) {
        let flow = self.flow();
        let Some(post) = flow.post_script.as_ref().filter(|_| {
            flow.config
                .post_script
                .as_ref()
                .is_some_and(|c| c.run_on_failed_order)
        }) else {
            return;
        };
        let input = json!({"request_data": request_data, "response_data": response_data});
        self.post_script(post, &input).await;
    }

    /// Runs the Post Script; its output is ignored and its errors never fail the record.
    async fn post_script(&mut self, post: &ScriptStep, input: &Value) {
        let step = self.report.step.clone();
        self.report.step = steps::POST_SCRIPT;
        // Its output is ignored, so it need not even be JSON.
        let ran = post
            .run_to_success(
                self.cx.scripts,
                self.flow().config.run.script_timeout,
                input,
                &mut self.report.attributes,
            )
            .await;
        if let Err(stop) = ran {
            let message = stop.error.unwrap_or_default();
            tracing::warn!(order = %self.key(), "Post Script failed: {message}");
            self.attrs().set("log.post_script.error", message);
        }
        self.report.step = step;
    }

    /// Runs a script on JSON content; returns the JSON it produced.
    async fn run_json(&mut self, script: &ScriptStep, content: &Value) -> Result<Value, Stop> {
        script
            .run_json(
                self.cx.scripts,
                self.flow().config.run.script_timeout,
                content,
                &mut self.report.attributes,
            )
            .await
    }
}
