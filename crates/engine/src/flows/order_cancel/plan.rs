//! One cancellation plan through the Order Cancel Flow, guarded by the ledger.
//!
//! Script → Mapping → **ledger intent** → Write Data to ERP → **ledger result** → Custom Response
//! Script (`relation`) → Write Data to Omnitron by the Next State → Post Script. The ledger entry
//! decides where a plan starts: `completed` is skipped; `intent` (a write that may or may not
//! have landed) is held in doubt for a person — there is no query to ask the ERP; `accepted`
//! (the ERP took it, Omnitron not yet updated) decides its relation again from the stored answer
//! and finishes without sending again.

use omnibridge_http::{Exchange, Method};
use omnibridge_omnitron::OmnitronError;
use omnibridge_store::{LedgerEntry, LedgerPhase, Resolution, WriteResult};
use serde_json::{Value, json};

use super::load::OrderCancelFlow;
use super::read::{CancelRecord, as_u64};
use super::{CustomResponse, outcomes, steps};
use crate::config::order_cancel::{CancelStatus, NextState};
use crate::execution::{CompletionKind, Done, LedgerCompletion, RecordReport, Stop};
use crate::flows::order::query_check::body_value;
use crate::json_path::value_text;

/// Everything one record needs, shared by all records of an execution.
pub type PlanContext<'a> = crate::flows::RecordContext<'a, OrderCancelFlow>;

/// What the Custom Response Script (or the rule without one) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Go on to the Next State in Omnitron.
    Continue,
    /// Reject the plan in Omnitron.
    Failure,
    /// Leave it for a later run.
    DoNothing,
    /// Log in to the ERP again and send once more.
    AuthFail,
}

impl Relation {
    /// Reads a `relation` attribute.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "continue" => Self::Continue,
            "failure" => Self::Failure,
            "do_nothing" => Self::DoNothing,
            "auth_fail" => Self::AuthFail,
            _ => return None,
        })
    }

    /// What the product's default Custom Response Script decides for an ERP answer's status
    /// (0: no answer): 2xx continue, 401 and 403 auth_fail, no answer or 5xx do_nothing, any
    /// other failure.
    pub fn by_default(status: u16) -> Self {
        match status {
            200..=299 => Self::Continue,
            401 | 403 => Self::AuthFail,
            0 | 500.. => Self::DoNothing,
            _ => Self::Failure,
        }
    }

    /// As scripts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Failure => "failure",
            Self::DoNothing => "do_nothing",
            Self::AuthFail => "auth_fail",
        }
    }
}

/// Runs one record to its end.
pub async fn process_plan(cx: &PlanContext<'_>, record: CancelRecord) -> RecordReport {
    let key = record.key();
    let mut report = RecordReport::new(key.clone(), cx.base_attributes.clone(), steps::READ);
    report.id = Some(key.clone());
    let result = Trip {
        cx,
        key,
        report: &mut report,
    }
    .run(record)
    .await;
    report.conclude(result);
    report
}

/// A plan's trip; `report` collects what happened.
struct Trip<'c, 'a> {
    cx: &'c PlanContext<'a>,
    key: String,
    report: &'c mut RecordReport,
}

/// The ERP's answer as the later steps see it.
struct Answer {
    status: u16,
    body: Value,
}

impl<'a> Trip<'_, 'a> {
    fn flow(&self) -> &'a OrderCancelFlow {
        self.cx.flow
    }

    async fn run(&mut self, record: CancelRecord) -> Result<Done, Stop> {
        let transaction = match &record {
            CancelRecord::Transaction { pk, .. } => Some(*pk),
            CancelRecord::Stored { key, .. } => key
                .strip_prefix("transaction:")
                .and_then(|pk| pk.parse().ok()),
            CancelRecord::Plan { .. } => None,
        };
        let replayed = matches!(record, CancelRecord::Stored { .. });
        let plan = self.plan(record).await?;
        self.report.payload = Some(plan.to_string());
        if !replayed {
            self.check_scope(&plan)?;
        }
        let plan_pk = plan
            .get("pk")
            .and_then(as_u64)
            .ok_or_else(|| Stop::failed("the cancellation plan has no pk".to_string()))?;
        let entry = self.cx.ledger().entry(&self.key).await?;
        if let Some(entry) = &entry {
            match entry.phase {
                LedgerPhase::Completed => {
                    return Err(Stop::skipped(
                        "the ledger marks this plan done; it is not sent to the ERP again",
                    ));
                }
                LedgerPhase::Intent => {
                    return Err(Stop::in_doubt(format!(
                        "attempt {} wrote this plan to the ERP and got no answer; omnibridge \
                         cannot ask the ERP whether it has it, so it is held in doubt and not \
                         re-sent (check the ERP, then `omnibridge ledger resolve {} {} --resend` \
                         or `--done`)",
                        entry.attempt,
                        self.flow().id,
                        self.key
                    )));
                }
                LedgerPhase::Accepted | LedgerPhase::Rejected | LedgerPhase::Released => {}
            }
        }
        self.prepare_attributes(&plan).await?;
        let body = self.body(&plan).await?;
        let written = match entry.filter(|e| e.phase == LedgerPhase::Accepted) {
            // The ERP took an earlier attempt: its answer decides again, nothing is re-sent.
            Some(entry) => {
                self.report.request = Some(body.to_string());
                let answer = stored_answer(&entry);
                self.report.step = steps::CUSTOM_RESPONSE;
                self.report
                    .attributes
                    .set("invokehttp.status.code", answer.status.to_string());
                let relation = self.relation(&body, &answer).await?;
                Written {
                    attempt: entry.attempt,
                    answer,
                    relation,
                    accepted: true,
                }
            }
            None => self.write(&body).await?,
        };
        self.settle(plan_pk, transaction, &plan, &body, written)
            .await
    }

    /// The plan: its detail, read now (a listed plan or a transaction's), or as stored.
    async fn plan(&mut self, record: CancelRecord) -> Result<Value, Stop> {
        let pk = match record {
            CancelRecord::Stored { plan, .. } => return Ok(plan),
            CancelRecord::Plan { pk } => pk,
            CancelRecord::Transaction { pk, plan: None } => {
                return Err(Stop::failed(format!(
                    "order transaction {pk} has no related cancellation plan"
                )));
            }
            CancelRecord::Transaction {
                plan: Some(plan), ..
            } => plan,
        };
        self.cx
            .connections
            .omnitron
            .get(&format!("api/v1/cancellation_plans/{pk}/"))
            .await
            .map_err(|e| Stop::failed(format!("reading cancellation plan {pk} failed: {e}")))
    }

    /// A listed plan may have moved on since the list was read (another run, a person), and a
    /// transaction's plan may belong to another channel or type: such plans are not this run's.
    fn check_scope(&self, plan: &Value) -> Result<(), Stop> {
        let read = &self.flow().config.read;
        let field = |name: &str| plan.get(name).and_then(Value::as_str);
        if let (Some(wanted), Some(status)) = (read.cancel_status.plan_status(), field("status"))
            && wanted != status
        {
            return Err(Stop::skipped(format!(
                "the plan is now {status}, no longer {wanted}"
            )));
        }
        if let (Some(wanted), Some(plan_type)) = (read.cancel_type.plan_type(), field("plan_type"))
            && wanted != plan_type
        {
            return Err(Stop::skipped(format!(
                "a {plan_type} plan, and this flow takes {wanted} plans"
            )));
        }
        if let Some(channel_type) = field("channel_type")
            && channel_type != read.channel_type.trim()
        {
            return Err(Stop::skipped(format!(
                "a plan of a {channel_type} channel, and this flow takes {} channels",
                read.channel_type.trim()
            )));
        }
        let channel = plan.get("channel").and_then(as_u64).or_else(|| {
            plan.get("order")
                .and_then(|o| o.get("channel"))
                .and_then(as_u64)
        });
        if !read.channel_ids.0.is_empty()
            && let Some(channel) = channel
            && !read.channel_ids.0.contains(&channel.to_string())
        {
            return Err(Stop::skipped(format!(
                "a plan of channel {channel}, not one of {}",
                read.channel_ids.0.join(", ")
            )));
        }
        Ok(())
    }

    /// The plan's attributes: tokens, `_plan.*`, `channel_type`, `rejected_count`.
    async fn prepare_attributes(&mut self, plan: &Value) -> Result<(), Stop> {
        let cx = self.cx;
        cx.connections
            .set_tokens(&mut self.report.attributes)
            .await?;
        self.report.attributes.set_fields("_plan", plan, true);
        self.report
            .attributes
            .set("channel_type", self.flow().config.read.channel_type.trim());
        let order = plan
            .get("order")
            .and_then(|o| o.get("pk").and_then(as_u64).or_else(|| as_u64(o)));
        let rejected = match order {
            Some(order) if self.flow().reads_rejected_count => {
                let answer = cx
                    .connections
                    .omnitron
                    .get(&format!(
                        "api/v1/cancellation_plans/?order={order}&status=rejected&limit=1"
                    ))
                    .await
                    .map_err(|e| {
                        Stop::failed(format!(
                            "counting the order's rejected cancellation plans failed: {e}"
                        ))
                    })?;
                answer.get("count").and_then(as_u64).unwrap_or(0)
            }
            Some(_) if !self.flow().reads_rejected_count => return Ok(()),
            _ => 0,
        };
        self.report
            .attributes
            .set("rejected_count", rejected.to_string());
        Ok(())
    }

    /// The ERP request body: the plan through the Script and the Mapping.
    async fn body(&mut self, plan: &Value) -> Result<Value, Stop> {
        let flow = self.flow();
        let mut body = plan.clone();
        if let Some(script) = &flow.script {
            self.report.step = steps::SCRIPT;
            body = script
                .run_json(
                    self.cx.scripts,
                    flow.config.run.script_timeout,
                    &body,
                    &mut self.report.attributes,
                )
                .await?;
        }
        if let Some(mapping) = &flow.mapping {
            self.report.step = steps::MAPPING;
            body = mapping.apply(&body)?;
        }
        Ok(body)
    }

    /// Write Data to ERP under the ledger, and the relation of its answer; an `auth_fail` logs
    /// in again and sends once more.
    async fn write(&mut self, body: &Value) -> Result<Written, Stop> {
        let bytes = serde_json::to_vec(body).map_err(|e| Stop::failed(e.to_string()))?;
        self.report.request = Some(String::from_utf8_lossy(&bytes).into_owned());
        let mut renewed = false;
        loop {
            self.report.step = steps::WRITE_ERP;
            let ledger = self.cx.ledger();
            let record_id = self.report.attributes.get("_plan.pk").map(str::to_string);
            let intent = ledger.intent(&self.key, record_id, &bytes).await?;
            let exchange = self
                .cx
                .connections
                .erp_send(
                    &self.flow().write,
                    &mut self.report.attributes,
                    Some(bytes.clone()),
                )
                .await?;
            self.report.response = exchange.response().map(|r| r.text());
            let answer = match answer_of(&exchange) {
                Ok(answer) => answer,
                Err(error) if error.never_sent() => {
                    self.result(intent.attempt, 0, false, None, Some(error.to_string()))
                        .await?;
                    return Err(self.left(format!("the ERP write was not sent: {error}")));
                }
                Err(error) => {
                    // It may have landed: the intent stays and a person decides.
                    return Err(Stop::in_doubt(format!(
                        "the ERP write got no answer ({error}); the ERP may have the plan, so it \
                         is held in doubt and not re-sent until a person resolves it"
                    )));
                }
            };
            let accepted = (200..300).contains(&answer.status);
            let recorded = self
                .result(
                    intent.attempt,
                    answer.status,
                    accepted,
                    self.report.response.clone(),
                    None,
                )
                .await?;
            self.report.step = steps::CUSTOM_RESPONSE;
            let relation = self.relation(body, &answer).await?;
            if relation == Relation::AuthFail && !renewed {
                renewed = true;
                if accepted {
                    self.refuse(intent.attempt, "the ERP's answer said auth_fail")
                        .await?;
                }
                let stale = self
                    .report
                    .attributes
                    .get("token.erp")
                    .unwrap_or("")
                    .to_string();
                let credential = self.cx.connections.erp.renew(&stale).await.map_err(|e| {
                    Stop::failed(format!("logging in to the ERP again failed: {e}"))
                })?;
                self.report.attributes.set("token.erp", credential.token);
                self.report
                    .attributes
                    .set("log.relation.first", "auth_fail");
                continue;
            }
            return Ok(Written {
                attempt: intent.attempt,
                answer,
                relation,
                accepted: recorded.phase == LedgerPhase::Accepted,
            });
        }
    }

    /// The relation of an answer: the Custom Response Script's `relation`, or without one, a
    /// 2xx continues and anything else is left for a later run.
    async fn relation(&mut self, request: &Value, answer: &Answer) -> Result<Relation, Stop> {
        let flow = self.flow();
        let script = match &flow.custom_response {
            CustomResponse::Off => {
                return Ok(if (200..300).contains(&answer.status) {
                    Relation::Continue
                } else {
                    Relation::DoNothing
                });
            }
            CustomResponse::Default => {
                let relation = Relation::by_default(answer.status);
                self.report.attributes.set("relation", relation.as_str());
                self.report
                    .attributes
                    .set("log.relation", relation.as_str());
                return Ok(relation);
            }
            CustomResponse::Script(script) => script,
        };
        self.report.attributes.remove("relation");
        let input = json!({"request_data": request, "response_data": answer.body});
        let content = serde_json::to_vec(&input).map_err(|e| Stop::failed(e.to_string()))?;
        script
            .run(
                self.cx.scripts,
                flow.config.run.script_timeout,
                content,
                &mut self.report.attributes,
            )
            .await?;
        let relation = self.report.attributes.get("relation").map(str::to_string);
        match relation.as_deref().map(|r| (r, Relation::parse(r))) {
            Some((_, Some(relation))) => {
                self.report
                    .attributes
                    .set("log.relation", relation.as_str());
                Ok(relation)
            }
            Some((other, None)) => Err(Stop::failed(format!(
                "{} set relation = {other:?}, which is none of continue, failure, do_nothing, \
                 auth_fail",
                script.name()
            ))),
            None => Err(Stop::failed(format!(
                "{} set no `relation` attribute; it must be one of continue, failure, \
                 do_nothing, auth_fail",
                script.name()
            ))),
        }
    }

    /// What the relation means for the plan, in Omnitron and in the ledger.
    async fn settle(
        &mut self,
        plan_pk: u64,
        transaction: Option<u64>,
        plan: &Value,
        request: &Value,
        written: Written,
    ) -> Result<Done, Stop> {
        let Written {
            attempt,
            answer,
            relation,
            accepted,
        } = written;
        let status = self.flow().cancel_status();
        match relation {
            Relation::Continue => {
                if !accepted {
                    // The script took an answer that was not a 2xx: the ERP has the plan.
                    self.cx
                        .ledger()
                        .resolve(
                            &self.key,
                            Resolution::AlreadyWritten {
                                execution_id: self.cx.execution_id.to_string(),
                                status_code: answer.status,
                                reference: None,
                                response: self.report.response.clone(),
                            },
                        )
                        .await?;
                }
                self.report.step = steps::WRITE_OMNITRON;
                let outcome = self
                    .next_state(plan_pk, transaction, plan, &answer)
                    .await
                    .map_err(|e| {
                        Stop::failed(format!(
                            "the ERP took the plan, and Write Data to Omnitron failed: {e}"
                        ))
                    })?;
                self.report.completion = Some(LedgerCompletion {
                    record_key: self.key.clone(),
                    how: CompletionKind::Accepted { attempt },
                });
                if let Some(post) = &self.flow().post_script {
                    self.report.step = steps::POST_SCRIPT;
                    let input = json!({"request_data": request, "response_data": answer.body});
                    let ran = post
                        .run_to_success(
                            self.cx.scripts,
                            self.flow().config.run.script_timeout,
                            &input,
                            &mut self.report.attributes,
                        )
                        .await;
                    if let Err(stop) = ran {
                        let message = stop.error.unwrap_or_default();
                        tracing::warn!(plan = %self.key, "Post Script failed: {message}");
                        self.report.attributes.set("log.post_script.error", message);
                    }
                }
                self.report.step = steps::DONE;
                Ok(Done::success(outcome))
            }
            Relation::Failure => {
                if (200..300).contains(&answer.status) {
                    self.refuse(attempt, "the Custom Response Script said failure")
                        .await?;
                }
                if !status.uses_next_state() {
                    // A completed plan cannot be rejected, and a transaction stays unmapped.
                    return Err(Stop {
                        outcome: Some(outcomes::FAILURE),
                        ..Stop::failed(format!(
                            "the ERP refused the plan (HTTP {}, relation failure); a {} task \
                             does not change it in Omnitron; replay it once the ERP can take it",
                            answer.status,
                            status.plan_status().unwrap_or("order transaction")
                        ))
                    });
                }
                self.report.step = steps::WRITE_OMNITRON;
                self.update_status(plan_pk, "rejected").await.map_err(|e| {
                    Stop::failed(format!(
                        "the ERP refused the plan, and rejecting it in Omnitron failed: {e}"
                    ))
                })?;
                // Rejected in Omnitron: it is never sent again.
                self.cx
                    .ledger()
                    .resolve(
                        &self.key,
                        Resolution::MarkDone {
                            by: "omnibridge".to_string(),
                            note: Some("the ERP refused it; rejected in Omnitron".to_string()),
                        },
                    )
                    .await?;
                Err(Stop {
                    outcome: Some(outcomes::REJECTED),
                    ..Stop::failed(format!(
                        "the ERP refused the plan (HTTP {}): it is rejected in Omnitron",
                        answer.status
                    ))
                })
            }
            Relation::DoNothing | Relation::AuthFail => {
                if (200..300).contains(&answer.status) {
                    self.refuse(attempt, "the Custom Response Script said do_nothing")
                        .await?;
                }
                let why = if relation == Relation::AuthFail {
                    "the ERP refused the login again after a new one (auth_fail twice)".to_string()
                } else {
                    format!(
                        "the ERP answered HTTP {} and the relation is do_nothing",
                        answer.status
                    )
                };
                Err(self.left(why))
            }
        }
    }

    /// A plan left untouched for a later run.
    fn left(&self, why: String) -> Stop {
        let later = match self.flow().cancel_status() {
            CancelStatus::Completed => {
                "; completed tasks do not read a plan again, so replay it (`omnibridge replay`)"
            }
            _ => "; the next run takes it again",
        };
        Stop {
            outcome: Some(outcomes::DO_NOTHING),
            ..Stop::failed(format!("{why}{later}"))
        }
    }

    /// Write Data to Omnitron for the task and Next State; returns the outcome label.
    async fn next_state(
        &self,
        plan_pk: u64,
        transaction: Option<u64>,
        plan: &Value,
        answer: &Answer,
    ) -> Result<&'static str, OmnitronError> {
        let flow = self.flow();
        let omnitron = &self.cx.connections.omnitron;
        match flow.cancel_status() {
            CancelStatus::Completed => Ok(outcomes::DELIVERED),
            CancelStatus::OrderTransaction => {
                let Some(transaction) = transaction else {
                    return Ok(outcomes::DELIVERED);
                };
                let code = self.reference(plan_pk, answer);
                omnitron
                    .call(
                        Method::POST,
                        &format!("api/v1/order_transactions/{transaction}/create_mapping/"),
                        Some(&json!({"code": code})),
                    )
                    .await?;
                Ok(outcomes::MAPPED)
            }
            _ => match flow.config.write.next_state {
                NextState::Approved => {
                    let order = plan
                        .get("order")
                        .and_then(|o| o.get("pk").and_then(as_u64).or_else(|| as_u64(o)))
                        .unwrap_or(0);
                    omnitron
                        .call(
                            Method::POST,
                            &format!("api/v1/orders/{order}/cancellation_approved_order/"),
                            Some(&json!({"cancellation_plan": plan_pk})),
                        )
                        .await?;
                    Ok(outcomes::APPROVED)
                }
                next => {
                    self.update_status(plan_pk, next.status()).await?;
                    Ok(match next {
                        NextState::ConfirmationWaiting => outcomes::CONFIRMATION_WAITING,
                        NextState::Confirmed => outcomes::CONFIRMED,
                        _ => outcomes::COMPLETED,
                    })
                }
            },
        }
    }

    async fn update_status(&self, plan_pk: u64, status: &str) -> Result<Value, OmnitronError> {
        self.cx
            .connections
            .omnitron
            .call(
                Method::POST,
                &format!("api/v1/cancellation_plans/{plan_pk}/update_status/"),
                Some(&json!({"status": status})),
            )
            .await
    }

    /// The mapping code of an order transaction: the ERP's reference at `reference_path`, else
    /// the `erp_reference` attribute a script set, else the plan's pk.
    fn reference(&self, plan_pk: u64, answer: &Answer) -> String {
        self.flow()
            .reference_path
            .as_ref()
            .and_then(|path| path.first(&answer.body))
            .filter(|v| !v.is_null())
            .map(value_text)
            .filter(|v| !v.is_empty())
            .or_else(|| {
                self.report
                    .attributes
                    .get("erp_reference")
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| plan_pk.to_string())
    }

    async fn result(
        &self,
        attempt: u32,
        status_code: u16,
        accepted: bool,
        response: Option<String>,
        error: Option<String>,
    ) -> Result<LedgerEntry, Stop> {
        self.cx
            .ledger()
            .result(
                &self.key,
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

    /// An accepted write the relation did not take: the plan may be sent again.
    async fn refuse(&self, attempt: u32, reason: &str) -> Result<(), Stop> {
        self.cx
            .store
            .record_refusal(&self.flow().id, &self.key, attempt, reason)
            .await?;
        Ok(())
    }
}

/// A write to the ERP (or an accepted earlier one) and what its answer decided.
struct Written {
    attempt: u32,
    answer: Answer,
    relation: Relation,
    /// Whether the ledger records the write as accepted.
    accepted: bool,
}

/// The ERP's answer, or why there was none.
fn answer_of(exchange: &Exchange) -> Result<Answer, omnibridge_http::TransportError> {
    match &exchange.outcome {
        Ok(response) => Ok(Answer {
            status: response.status.as_u16(),
            body: body_value(&response.body),
        }),
        Err(error) => Err(error.clone()),
    }
}

/// The answer an accepted entry recorded.
fn stored_answer(entry: &LedgerEntry) -> Answer {
    let result = entry.result.as_ref();
    Answer {
        status: result.and_then(|r| r.status_code).unwrap_or(200),
        body: result
            .and_then(|r| r.response.as_ref())
            .map(|b| body_value(b.text.as_bytes()))
            .unwrap_or(Value::Null),
    }
}
