//! The SQL implementation of [`crate::Store`], shared by the SQLite and PostgreSQL backends.
//!
//! The schema and the statements are portable (TEXT / 64-bit integer / BOOLEAN columns,
//! `INSERT .. ON CONFLICT .. RETURNING`, window functions), so one body serves both; it is a
//! macro because sqlx's row and transaction types differ per database. Each backend module
//! defines, before invoking it:
//! - `sql!("...")`: a `&'static str` statement written with `?` placeholders, rewritten to
//!   `$1, $2, ...` for PostgreSQL;
//! - `dyn_sql(String) -> String`: the same for statements built at run time;
//! - `for_update!()`: `""` or `" FOR UPDATE"` (row locks; SQLite already holds the write lock);
//! - `write_tx(&self, job)`: runs `job` on a connection inside a write transaction and commits
//!   (SQLite batches concurrent jobs into one group commit, each job in its own savepoint).

/// A boxed future borrowing a connection for `'c`: what a write job returns.
pub(crate) type BoxFut<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'c>>;

/// The row log columns read back, as a literal for `concat!`. The replay payload is left out
/// (it may be large and is read one at a time by `row_log_payload`); only whether there is one.
macro_rules! row_log_columns {
    () => {
        "id, execution_id, flow_id, record_key, record_id, status, step, outcome, error, \
         attributes, request_text, request_bytes, request_truncated, response_text, \
         response_bytes, response_truncated, created_at, payload IS NOT NULL AS has_payload"
    };
}
pub(crate) use row_log_columns;

macro_rules! sql_store_impl {
    ($store:ty, $db:ty, $backend:expr) => {
        type DbRow = <$db as sqlx::Database>::Row;
        type DbConn = <$db as sqlx::Database>::Connection;

        const EXECUTION_COLUMNS: &str = "id, flow_id, flow_name, trigger_kind, triggered_by, \
            parent_execution_id, owner, state, status, count_read, count_succeeded, \
            count_failed, count_in_doubt, count_skipped, started_at, finished_at, duration_ms, \
            error, summary";

        fn get_u64(row: &DbRow, table: &'static str, column: &'static str) -> StoreResult<u64> {
            let value: i64 = row.try_get(column)?;
            u64::try_from(value).map_err(|_| StoreError::Corrupt {
                table,
                column,
                problem: format!("negative count {value}"),
            })
        }

        fn to_i64(field: &'static str, value: u64) -> StoreResult<i64> {
            i64::try_from(value).map_err(|_| StoreError::OutOfRange { field, value })
        }

        fn corrupt(table: &'static str, column: &'static str, value: &str) -> StoreError {
            StoreError::Corrupt {
                table,
                column,
                problem: format!("unknown value {value:?}"),
            }
        }

        fn parse_json_column(
            table: &'static str,
            column: &'static str,
            text: &str,
        ) -> StoreResult<serde_json::Value> {
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
                table,
                column,
                problem: format!("invalid JSON: {e}"),
            })
        }

        /// The five fixed counters of an `executions` row (or a `RETURNING` of them); the
        /// outcome counters live in `execution_outcomes` and are added by the caller.
        fn counts_from_row(row: &DbRow) -> StoreResult<Counts> {
            Ok(Counts {
                read: get_u64(row, "executions", "count_read")?,
                succeeded: get_u64(row, "executions", "count_succeeded")?,
                failed: get_u64(row, "executions", "count_failed")?,
                in_doubt: get_u64(row, "executions", "count_in_doubt")?,
                skipped: get_u64(row, "executions", "count_skipped")?,
                outcomes: std::collections::BTreeMap::new(),
            })
        }

        /// An execution without its outcome counters (see `load_outcomes`).
        fn execution_from_row(row: &DbRow) -> StoreResult<Execution> {
            let kind: String = row.try_get("trigger_kind")?;
            let triggered_by: Option<String> = row.try_get("triggered_by")?;
            let parent: Option<String> = row.try_get("parent_execution_id")?;
            let trigger = match (kind.as_str(), parent) {
                ("scheduled", _) => Trigger::Scheduled,
                ("manual", _) => Trigger::Manual {
                    user: triggered_by.unwrap_or_default(),
                },
                ("outbound", _) => Trigger::Outbound {
                    caller: triggered_by,
                },
                ("replay", Some(parent)) => Trigger::Replay {
                    parent,
                    user: triggered_by,
                },
                _ => return Err(corrupt("executions", "trigger_kind", &kind)),
            };
            let state: String = row.try_get("state")?;
            let status: String = row.try_get("status")?;
            let summary: Option<String> = row.try_get("summary")?;
            Ok(Execution {
                id: row.try_get("id")?,
                flow_id: row.try_get("flow_id")?,
                flow_name: row.try_get("flow_name")?,
                trigger,
                owner: row.try_get("owner")?,
                state: ExecutionState::parse(&state)
                    .ok_or_else(|| corrupt("executions", "state", &state))?,
                status: ExecutionStatus::parse(&status)
                    .ok_or_else(|| corrupt("executions", "status", &status))?,
                counts: counts_from_row(row)?,
                started_at: from_micros(row.try_get("started_at")?),
                finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(from_micros),
                duration_ms: row.try_get("duration_ms")?,
                error: row.try_get("error")?,
                summary: summary
                    .map(|s| parse_json_column("executions", "summary", &s))
                    .transpose()?,
            })
        }

        fn body_from_row(
            row: &DbRow,
            text: &'static str,
            bytes: &'static str,
            truncated: &'static str,
        ) -> StoreResult<Option<StoredBody>> {
            let body_text: Option<String> = row.try_get(text)?;
            let Some(body_text) = body_text else {
                return Ok(None);
            };
            let original: Option<i64> = row.try_get(bytes)?;
            let cut: Option<bool> = row.try_get(truncated)?;
            Ok(Some(StoredBody {
                text: body_text,
                original_bytes: original.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
                truncated: cut.unwrap_or(false),
            }))
        }

        fn row_log_from_row(row: &DbRow) -> StoreResult<RowLog> {
            let status: String = row.try_get("status")?;
            let step: String = row.try_get("step")?;
            let attributes: String = row.try_get("attributes")?;
            let attributes = match parse_json_column("row_logs", "attributes", &attributes)? {
                serde_json::Value::Object(map) => map,
                _ => {
                    return Err(StoreError::Corrupt {
                        table: "row_logs",
                        column: "attributes",
                        problem: "not a JSON object".to_string(),
                    });
                }
            };
            Ok(RowLog {
                id: row.try_get("id")?,
                execution_id: row.try_get("execution_id")?,
                flow_id: row.try_get("flow_id")?,
                record_key: row.try_get("record_key")?,
                record_id: row.try_get("record_id")?,
                status: RowStatus::parse(&status)
                    .ok_or_else(|| corrupt("row_logs", "status", &status))?,
                step: Step::parse(&step).ok_or_else(|| corrupt("row_logs", "step", &step))?,
                outcome: row.try_get("outcome")?,
                error: row.try_get("error")?,
                attributes,
                request: body_from_row(row, "request_text", "request_bytes", "request_truncated")?,
                response: body_from_row(
                    row,
                    "response_text",
                    "response_bytes",
                    "response_truncated",
                )?,
                has_payload: row.try_get("has_payload")?,
                created_at: from_micros(row.try_get("created_at")?),
            })
        }

        fn ledger_from_row(row: &DbRow, steps: Vec<String>) -> StoreResult<LedgerEntry> {
            let phase: String = row.try_get("phase")?;
            let attempt: i64 = row.try_get("attempt")?;
            let result_at: Option<i64> = row.try_get("result_at")?;
            let result = match result_at {
                None => None,
                Some(at) => {
                    let status: Option<i64> = row.try_get("result_status")?;
                    let accepted: Option<bool> = row.try_get("result_accepted")?;
                    Some(LedgerResult {
                        status_code: status.and_then(|s| u16::try_from(s).ok()),
                        accepted: accepted.unwrap_or(false),
                        reference: row.try_get("result_reference")?,
                        response: body_from_row(
                            row,
                            "response_text",
                            "response_bytes",
                            "response_truncated",
                        )?,
                        error: row.try_get("result_error")?,
                        at: from_micros(at),
                    })
                }
            };
            let resolution_kind: Option<String> = row.try_get("resolution")?;
            let resolution = match resolution_kind {
                None => None,
                Some(kind) => Some(LedgerResolution {
                    kind,
                    by: row.try_get("resolved_by")?,
                    note: row.try_get("resolution_note")?,
                    at: from_micros(row.try_get::<Option<i64>, _>("resolved_at")?.unwrap_or(0)),
                }),
            };
            Ok(LedgerEntry {
                flow_id: row.try_get("flow_id")?,
                record_key: row.try_get("record_key")?,
                record_id: row.try_get("record_id")?,
                phase: LedgerPhase::parse(&phase)
                    .ok_or_else(|| corrupt("ledger", "phase", &phase))?,
                attempt: u32::try_from(attempt).map_err(|_| StoreError::Corrupt {
                    table: "ledger",
                    column: "attempt",
                    problem: format!("out of range: {attempt}"),
                })?,
                execution_id: row.try_get("execution_id")?,
                intent_at: row.try_get::<Option<i64>, _>("intent_at")?.map(from_micros),
                request_hash: row.try_get("request_hash")?,
                result,
                steps,
                completed_at: row.try_get::<Option<i64>, _>("completed_at")?.map(from_micros),
                resolution,
                created_at: from_micros(row.try_get("created_at")?),
                updated_at: from_micros(row.try_get("updated_at")?),
            })
        }

        fn lease_from_row(row: &DbRow) -> StoreResult<Lease> {
            Ok(Lease {
                key: row.try_get("key")?,
                owner: row.try_get("owner")?,
                generation: row.try_get("generation")?,
                acquired_at: from_micros(row.try_get("acquired_at")?),
                heartbeat_at: from_micros(row.try_get("heartbeat_at")?),
                expires_at: from_micros(row.try_get("expires_at")?),
            })
        }

        /// Loads a ledger entry with its current attempt's follow-up steps.
        async fn load_ledger(
            conn: &mut DbConn,
            flow_id: &str,
            record_key: &str,
        ) -> StoreResult<Option<LedgerEntry>> {
            let row = sqlx::query(sql!(
                "SELECT * FROM ledger WHERE flow_id = ? AND record_key = ?"
            ))
            .bind(flow_id)
            .bind(record_key)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let attempt: i64 = row.try_get("attempt")?;
            let steps: Vec<String> = sqlx::query_scalar(sql!(
                "SELECT step FROM ledger_steps WHERE flow_id = ? AND record_key = ? \
                 AND attempt = ? ORDER BY id"
            ))
            .bind(flow_id)
            .bind(record_key)
            .bind(attempt)
            .fetch_all(&mut *conn)
            .await?;
            Ok(Some(ledger_from_row(&row, steps)?))
        }

        /// A ledger row with its attempt's follow-up steps.
        async fn ledger_with_steps(conn: &mut DbConn, row: &DbRow) -> StoreResult<LedgerEntry> {
            let flow_id: String = row.try_get("flow_id")?;
            let record_key: String = row.try_get("record_key")?;
            let attempt: i64 = row.try_get("attempt")?;
            let steps: Vec<String> = sqlx::query_scalar(sql!(
                "SELECT step FROM ledger_steps WHERE flow_id = ? AND record_key = ? \
                 AND attempt = ? ORDER BY id"
            ))
            .bind(&flow_id)
            .bind(&record_key)
            .bind(attempt)
            .fetch_all(&mut *conn)
            .await?;
            ledger_from_row(row, steps)
        }

        /// Loads the entry after a refused transition, to report the phase it is in.
        async fn ledger_conflict(
            conn: &mut DbConn,
            flow_id: &str,
            record_key: &str,
            action: &'static str,
        ) -> StoreError {
            match load_ledger(conn, flow_id, record_key).await {
                Ok(entry) => StoreError::LedgerConflict {
                    flow_id: flow_id.to_string(),
                    record_key: record_key.to_string(),
                    action,
                    phase: entry
                        .as_ref()
                        .map_or(LedgerPhaseName::None, |e| LedgerPhaseName::Phase(e.phase)),
                    attempt: entry.map_or(0, |e| e.attempt),
                },
                Err(e) => e,
            }
        }

        fn vanished(flow_id: &str, record_key: &str) -> StoreError {
            StoreError::Corrupt {
                table: "ledger",
                column: "record_key",
                problem: format!("entry {flow_id}/{record_key} vanished inside a transaction"),
            }
        }

        /// `IN (?, ?, ...)` with `n` placeholders.
        fn placeholders(n: usize) -> String {
            let mut s = String::from("(");
            for i in 0..n {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push('?');
            }
            s.push(')');
            s
        }

        fn clamp_limit(limit: u32) -> i64 {
            i64::from(limit.clamp(1, 1000))
        }

        fn offset_i64(offset: u64) -> i64 {
            i64::try_from(offset).unwrap_or(i64::MAX)
        }

        /// Checks a flow-defined label (an outcome): 1 to `MAX_NAME_CHARS` characters. It is a
        /// name to count and filter by, so an empty one or a whole message is a caller's bug.
        fn check_label(field: &'static str, label: &str) -> StoreResult<()> {
            let chars = label.chars().count();
            if chars == 0 || chars > MAX_NAME_CHARS {
                return Err(StoreError::InvalidValue {
                    field,
                    // A long label is shown by its start: enough to find the call site.
                    value: label.chars().take(MAX_NAME_CHARS).collect(),
                    problem: format!(
                        "an outcome label must be 1 to {MAX_NAME_CHARS} characters, not {chars}"
                    ),
                });
            }
            Ok(())
        }

        /// A count delta checked and converted for the database: the five counter columns to
        /// add, and the outcome counters to add (zeros left out, so no empty rows are made).
        struct CountDelta {
            columns: [i64; 5],
            outcomes: std::collections::BTreeMap<String, i64>,
        }

        fn count_delta(delta: &Counts, redactor: &Redactor) -> StoreResult<CountDelta> {
            let mut outcomes = std::collections::BTreeMap::new();
            for (label, &count) in &delta.outcomes {
                check_label("counts.outcomes", label)?;
                let count = to_i64("counts.outcomes", count)?;
                if count > 0 {
                    // Redacted like a row log's outcome, so one label reads the same in both
                    // (labels that redact alike become one counter).
                    let total: &mut i64 = outcomes.entry(redactor.redact_text(label)).or_default();
                    // Both are non-negative here: the casts cannot lose a sign.
                    let sum = (*total as u64).saturating_add(count as u64);
                    *total = to_i64("counts.outcomes", sum)?;
                }
            }
            Ok(CountDelta {
                columns: [
                    to_i64("read", delta.read)?,
                    to_i64("succeeded", delta.succeeded)?,
                    to_i64("failed", delta.failed)?,
                    to_i64("in_doubt", delta.in_doubt)?,
                    to_i64("skipped", delta.skipped)?,
                ],
                outcomes,
            })
        }

        /// Adds `delta` to an execution's counters and outcome counters (inside the caller's
        /// transaction, so both land or neither); returns the new counters row, or `None` when
        /// the execution does not exist (and nothing was added).
        async fn add_counts(
            conn: &mut DbConn,
            id: &str,
            delta: &CountDelta,
        ) -> StoreResult<Option<DbRow>> {
            let [read, succeeded, failed, in_doubt, skipped] = delta.columns;
            let row = sqlx::query(sql!(
                "UPDATE executions SET count_read = count_read + ?, \
                 count_succeeded = count_succeeded + ?, count_failed = count_failed + ?, \
                 count_in_doubt = count_in_doubt + ?, count_skipped = count_skipped + ? \
                 WHERE id = ? \
                 RETURNING count_read, count_succeeded, count_failed, count_in_doubt, \
                 count_skipped"
            ))
            .bind(read)
            .bind(succeeded)
            .bind(failed)
            .bind(in_doubt)
            .bind(skipped)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            if row.is_none() {
                return Ok(None);
            }
            // One upsert per label: the addition happens in the database, so concurrent
            // deltas for one execution never overwrite each other.
            for (label, count) in &delta.outcomes {
                sqlx::query(sql!(
                    "INSERT INTO execution_outcomes (execution_id, outcome, count) \
                     VALUES (?, ?, ?) ON CONFLICT (execution_id, outcome) \
                     DO UPDATE SET count = execution_outcomes.count + excluded.count"
                ))
                .bind(id)
                .bind(label)
                .bind(*count)
                .execute(&mut *conn)
                .await?;
            }
            Ok(row)
        }

        fn outcome_count(row: &DbRow) -> StoreResult<(String, String, u64)> {
            Ok((
                row.try_get("execution_id")?,
                row.try_get("outcome")?,
                get_u64(row, "execution_outcomes", "count")?,
            ))
        }

        /// One execution's outcome counters.
        async fn load_outcomes(
            conn: &mut DbConn,
            id: &str,
        ) -> StoreResult<std::collections::BTreeMap<String, u64>> {
            let rows = sqlx::query(sql!(
                "SELECT execution_id, outcome, count FROM execution_outcomes \
                 WHERE execution_id = ?"
            ))
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|row| outcome_count(row).map(|(_, outcome, count)| (outcome, count)))
                .collect()
        }

        /// Fills in the outcome counters of a page of executions with one statement.
        async fn attach_outcomes(
            conn: &mut DbConn,
            executions: &mut [Execution],
        ) -> StoreResult<()> {
            if executions.is_empty() {
                return Ok(());
            }
            let sql = dyn_sql(format!(
                "SELECT execution_id, outcome, count FROM execution_outcomes \
                 WHERE execution_id IN {}",
                placeholders(executions.len())
            ));
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for execution in executions.iter() {
                query = query.bind(execution.id.clone());
            }
            let rows = query.fetch_all(&mut *conn).await?;
            type Outcomes = std::collections::BTreeMap<String, u64>;
            let mut by_id: std::collections::HashMap<String, Outcomes> =
                std::collections::HashMap::new();
            for row in &rows {
                let (id, outcome, count) = outcome_count(row)?;
                by_id.entry(id).or_default().insert(outcome, count);
            }
            for execution in executions.iter_mut() {
                if let Some(outcomes) = by_id.remove(&execution.id) {
                    execution.counts.outcomes = outcomes;
                }
            }
            Ok(())
        }

        /// A row log ready to insert (see `prepare_row_log`); `log` keeps the caller's keys,
        /// step and payload.
        struct PreparedRowLog {
            log: NewRowLog,
            outcome: Option<String>,
            error: Option<String>,
            attributes: String,
            request: Option<StoredBody>,
            response: Option<StoredBody>,
        }

        /// Inserts a prepared row log; `None` when its execution does not exist.
        async fn insert_row_log(
            conn: &mut DbConn,
            prepared: &PreparedRowLog,
            now: i64,
        ) -> StoreResult<Option<DbRow>> {
            let log = &prepared.log;
            let (request, response) = (&prepared.request, &prepared.response);
            Ok(sqlx::query(sql!(concat!(
                "INSERT INTO row_logs (execution_id, flow_id, record_key, record_id, status, \
                 step, outcome, error, attributes, request_text, request_bytes, \
                 request_truncated, response_text, response_bytes, response_truncated, payload, \
                 created_at) \
                 SELECT e.id, e.flow_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
                 FROM executions e WHERE e.id = ? RETURNING ",
                crate::sql_impl::row_log_columns!()
            )))
            .bind(&log.record_key)
            .bind(&log.record_id)
            .bind(log.status.as_str())
            .bind(log.step.as_str())
            .bind(&prepared.outcome)
            .bind(&prepared.error)
            .bind(&prepared.attributes)
            .bind(request.as_ref().map(|b| b.text.as_str()))
            .bind(request.as_ref().map(|b| b.original_bytes as i64))
            .bind(request.as_ref().map(|b| b.truncated))
            .bind(response.as_ref().map(|b| b.text.as_str()))
            .bind(response.as_ref().map(|b| b.original_bytes as i64))
            .bind(response.as_ref().map(|b| b.truncated))
            .bind(&log.payload)
            .bind(now)
            .bind(&log.execution_id)
            .fetch_optional(&mut *conn)
            .await?)
        }

        /// What a record's completion writes, owned for the write job.
        enum CompletionJob {
            /// `accepted` → `completed`.
            Accepted {
                flow_id: String,
                record_key: String,
                attempt: u32,
            },
            /// Created, or an open entry completed, with the (redacted, capped) result.
            Idempotent {
                flow_id: String,
                record_key: String,
                status: i64,
                reference: Option<String>,
                error: Option<String>,
                body: Option<StoredBody>,
            },
        }

        /// Completes one record's ledger entry; a refused completion is returned, not raised
        /// (the row log and counts are written anyway).
        async fn complete(
            conn: &mut DbConn,
            job: &CompletionJob,
            log: &PreparedRowLog,
            now: i64,
        ) -> StoreResult<Option<StoreError>> {
                let changed = match job {
                    CompletionJob::Accepted { flow_id, record_key, attempt } => sqlx::query(sql!(
                        "UPDATE ledger SET phase = 'completed', completed_at = ?, \
                         updated_at = ? WHERE flow_id = ? AND record_key = ? \
                         AND phase = 'accepted' AND attempt = ? RETURNING attempt"
                    ))
                    .bind(now)
                    .bind(now)
                    .bind(flow_id)
                    .bind(record_key)
                    .bind(i64::from(*attempt))
                    .fetch_optional(&mut *conn)
                    .await?,
                    // One statement: a new entry is created completed; an open one
                    // (intent: the same attempt; rejected, released: the next) completes.
                    CompletionJob::Idempotent { flow_id, record_key, status, reference, error, body } => sqlx::query(sql!(
                        "INSERT INTO ledger (flow_id, record_key, record_id, phase, \
                         attempt, execution_id, result_at, result_status, \
                         result_accepted, result_reference, result_error, response_text, \
                         response_bytes, response_truncated, completed_at, created_at, \
                         updated_at) \
                         VALUES (?, ?, ?, 'completed', 1, ?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (flow_id, record_key) DO UPDATE SET \
                         record_id = COALESCE(excluded.record_id, ledger.record_id), \
                         attempt = CASE WHEN ledger.phase = 'intent' THEN ledger.attempt \
                         ELSE ledger.attempt + 1 END, \
                         intent_at = CASE WHEN ledger.phase = 'intent' THEN ledger.intent_at \
                         ELSE NULL END, \
                         request_hash = CASE WHEN ledger.phase = 'intent' \
                         THEN ledger.request_hash ELSE NULL END, \
                         phase = 'completed', execution_id = excluded.execution_id, \
                         result_at = excluded.result_at, \
                         result_status = excluded.result_status, \
                         result_accepted = excluded.result_accepted, \
                         result_reference = excluded.result_reference, \
                         result_error = excluded.result_error, \
                         response_text = excluded.response_text, \
                         response_bytes = excluded.response_bytes, \
                         response_truncated = excluded.response_truncated, \
                         completed_at = excluded.completed_at, resolution = NULL, \
                         resolved_by = NULL, resolution_note = NULL, resolved_at = NULL, \
                         updated_at = excluded.updated_at \
                         WHERE ledger.phase IN ('intent', 'rejected', 'released') \
                         RETURNING attempt"
                    ))
                    .bind(flow_id)
                    .bind(record_key)
                    .bind(&log.log.record_id)
                    .bind(&log.log.execution_id)
                    .bind(now)
                    .bind(*status)
                    .bind(reference.clone())
                    .bind(error.clone())
                    .bind(body.as_ref().map(|b| b.text.clone()))
                    .bind(body.as_ref().map(|b| b.original_bytes as i64))
                    .bind(body.as_ref().map(|b| b.truncated))
                    .bind(now)
                    .bind(now)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await?,
                };
            if changed.is_some() {
                return Ok(None);
            }
            let (CompletionJob::Accepted { flow_id, record_key, .. }
            | CompletionJob::Idempotent { flow_id, record_key, .. }) = job;
            Ok(Some(
                ledger_conflict(conn, flow_id, record_key, "mark it completed").await,
            ))
        }

        impl $store {
            fn now_us(&self) -> i64 {
                to_micros(self.options.clock.now())
            }

            fn redact_opt(&self, text: Option<&str>) -> Option<String> {
                text.map(|t| self.options.redactor.redact_text(t))
            }

            fn stored_body(&self, body: Option<&str>, cap: usize) -> Option<StoredBody> {
                body.map(|b| self.options.redactor.prepare_body(b, cap))
            }

            /// What a completion will write, checked and prepared (redacted, capped).
            fn completion_job(
                &self,
                completed: Option<Completion<'_>>,
            ) -> StoreResult<Option<CompletionJob>> {
                let Some(c) = completed else {
                    return Ok(None);
                };
                let (flow_id, record_key) = (c.flow_id.to_string(), c.record_key.to_string());
                Ok(Some(match c.how {
                    Completed::Accepted { attempt } => CompletionJob::Accepted {
                        flow_id,
                        record_key,
                        attempt,
                    },
                    Completed::Idempotent { result } if !result.accepted => {
                        return Err(crate::store::refusing_result());
                    }
                    // Redacted and capped as record_result does.
                    Completed::Idempotent { result } => CompletionJob::Idempotent {
                        flow_id,
                        record_key,
                        status: i64::from(result.status_code),
                        reference: result.reference.clone(),
                        error: self.redact_opt(result.error.as_deref()),
                        body: self.stored_body(result.response.as_deref(), self.options.ledger_body_cap),
                    },
                }))
            }

            /// A row log as it will be stored: error, outcome, attributes and bodies redacted,
            /// bodies capped, the payload kept whole. Refuses, before anything is written, what
            /// could not be read back (an invalid step), counted (an invalid outcome label) or
            /// is over the payload limit.
            fn prepare_row_log(&self, mut log: NewRowLog) -> StoreResult<PreparedRowLog> {
                if !log.step.is_valid() {
                    return Err(StoreError::InvalidValue {
                        field: "row_logs.step",
                        value: log.step.as_str().chars().take(MAX_NAME_CHARS).collect(),
                        problem: format!(
                            "a step name must be 1 to {MAX_NAME_CHARS} characters of [a-z0-9_.]"
                        ),
                    });
                }
                if let Some(outcome) = &log.outcome {
                    check_label("row_logs.outcome", outcome)?;
                }
                if let Some(payload) = &log.payload
                    && payload.len() > MAX_ROW_LOG_PAYLOAD_BYTES
                {
                    return Err(StoreError::TooLarge {
                        field: "row_logs.payload",
                        bytes: payload.len() as u64,
                        limit: MAX_ROW_LOG_PAYLOAD_BYTES as u64,
                    });
                }
                let cap = self.options.row_log_body_cap;
                let request = self.stored_body(log.request.as_deref(), cap);
                let response = self.stored_body(log.response.as_deref(), cap);
                let error = self.redact_opt(log.error.as_deref());
                let outcome = self.redact_opt(log.outcome.as_deref());
                // Stored as redacted text; the log keeps only its keys and ids after this.
                let mut attributes = serde_json::Value::Object(std::mem::take(&mut log.attributes));
                self.options.redactor.redact_json(&mut attributes);
                Ok(PreparedRowLog {
                    log,
                    outcome,
                    error,
                    attributes: attributes.to_string(),
                    request,
                    response,
                })
            }

            /// Ends a running execution (finish or interrupt) inside one write transaction.
            async fn end_execution(
                &self,
                id: &str,
                state: ExecutionState,
                status: Option<ExecutionStatus>,
                error: Option<String>,
                summary: Option<String>,
            ) -> StoreResult<Execution> {
                let id = id.to_string();
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    let row = sqlx::query(sql!(concat!(
                        "SELECT * FROM executions WHERE id = ?",
                        for_update!()
                    )))
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(row) = row else {
                        return Err(StoreError::ExecutionNotFound(id));
                    };
                    let current = execution_from_row(&row)?;
                    if current.state != ExecutionState::Running {
                        return Err(StoreError::ExecutionNotRunning {
                            id: id.to_string(),
                            state: current.state.as_str().to_string(),
                        });
                    }
                    let status = status.unwrap_or_else(|| current.counts.derived_status());
                    let duration_ms = (now - to_micros(current.started_at)).max(0) / 1000;
                    let row = sqlx::query(sql!(
                        "UPDATE executions SET state = ?, status = ?, finished_at = ?, \
                         duration_ms = ?, error = COALESCE(?, error), summary = COALESCE(?, summary) \
                         WHERE id = ? RETURNING *"
                    ))
                    .bind(state.as_str())
                    .bind(status.as_str())
                    .bind(now)
                    .bind(duration_ms)
                    .bind(error)
                    .bind(summary)
                    .bind(&id)
                    .fetch_one(&mut *conn)
                    .await?;
                    let mut execution = execution_from_row(&row)?;
                    execution.counts.outcomes = load_outcomes(conn, &id).await?;
                    Ok(execution)
                }))
                .await
            }

            /// Runs a single conditional ledger UPDATE (`... RETURNING attempt`) and returns
            /// the entry, or the conflict when the condition did not hold.
            async fn ledger_transition(
                &self,
                flow_id: &str,
                record_key: &str,
                action: &'static str,
                query: sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>,
            ) -> StoreResult<LedgerEntry> {
                let flow_id = flow_id.to_string();
                let record_key = record_key.to_string();
                self.write_tx(move |conn| Box::pin(async move {
                    let Some(row) = query.fetch_optional(&mut *conn).await? else {
                        return Err(ledger_conflict(conn, &flow_id, &record_key, action).await);
                    };
                    // The updated row comes back whole (`RETURNING *`): only the attempt's
                    // follow-up steps need another statement.
                    ledger_with_steps(conn, &row).await
                }))
                .await
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            fn redactor(&self) -> &Redactor {
                &self.options.redactor
            }

            async fn close(&self) {
                self.read.close().await;
                self.write.close().await;
            }

            async fn create_execution(&self, new: NewExecution) -> StoreResult<Execution> {
                let id = uuid::Uuid::new_v4().to_string();
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    let row = sqlx::query(sql!(
                        "INSERT INTO executions (id, flow_id, flow_name, trigger_kind, triggered_by, \
                         parent_execution_id, owner, state, status, started_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 'in_progress', ?) RETURNING *"
                    ))
                    .bind(&id)
                    .bind(&new.flow_id)
                    .bind(&new.flow_name)
                    .bind(new.trigger.kind())
                    .bind(new.trigger.triggered_by())
                    .bind(new.trigger.parent())
                    .bind(&new.owner)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?;
                    execution_from_row(&row)
                }))
                .await
            }

            async fn increment_counts(&self, id: &str, delta: Counts) -> StoreResult<Counts> {
                let id = id.to_string();
                let delta = count_delta(&delta, &self.options.redactor)?;
                self.write_tx(move |conn| Box::pin(async move {
                    let row = add_counts(conn, &id, &delta).await?;
                    let Some(row) = row else {
                        return Err(StoreError::ExecutionNotFound(id));
                    };
                    let mut totals = counts_from_row(&row)?;
                    totals.outcomes = load_outcomes(conn, &id).await?;
                    Ok(totals)
                }))
                .await
            }

            async fn finish_execution(
                &self,
                id: &str,
                finish: FinishExecution,
            ) -> StoreResult<Execution> {
                let error = self.redact_opt(finish.error.as_deref());
                let summary = match finish.summary {
                    Some(mut value) => {
                        self.options.redactor.redact_json(&mut value);
                        Some(value.to_string())
                    }
                    None => None,
                };
                self.end_execution(id, ExecutionState::Finished, finish.status, error, summary)
                    .await
            }

            async fn interrupt_execution(&self, id: &str, reason: &str) -> StoreResult<Execution> {
                let reason = self.options.redactor.redact_text(reason);
                self.end_execution(id, ExecutionState::Interrupted, None, Some(reason), None)
                    .await
            }

            async fn interrupt_orphaned_executions(&self) -> StoreResult<Vec<ExecutionId>> {
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    let rows = sqlx::query(sql!(concat!(
                        "SELECT * FROM executions WHERE state = 'running' AND NOT EXISTS \
                         (SELECT 1 FROM leases l WHERE l.key = executions.flow_id \
                         AND l.owner = executions.owner AND l.expires_at > ?)",
                        for_update!()
                    )))
                    .bind(now)
                    .fetch_all(&mut *conn)
                    .await?;
                    let mut ids = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let execution = execution_from_row(row)?;
                        let status = execution.counts.derived_status();
                        let duration_ms = (now - to_micros(execution.started_at)).max(0) / 1000;
                        let reason = format!(
                            "interrupted: owner {} no longer holds the lease of flow {}",
                            execution.owner, execution.flow_id
                        );
                        sqlx::query(sql!(
                            "UPDATE executions SET state = 'interrupted', status = ?, \
                             finished_at = ?, duration_ms = ?, error = COALESCE(error, ?) \
                             WHERE id = ? AND state = 'running'"
                        ))
                        .bind(status.as_str())
                        .bind(now)
                        .bind(duration_ms)
                        .bind(reason)
                        .bind(&execution.id)
                        .execute(&mut *conn)
                        .await?;
                        ids.push(execution.id);
                    }
                    Ok(ids)
                }))
                .await
            }

            async fn get_execution(&self, id: &str) -> StoreResult<Option<Execution>> {
                // One read transaction: the counters and the outcome counters of one moment
                // (on SQLite; PostgreSQL reads each statement's committed state).
                let mut tx = self.read.begin().await?;
                let row = sqlx::query(sql!("SELECT * FROM executions WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let mut execution = execution_from_row(&row)?;
                execution.counts.outcomes = load_outcomes(&mut tx, id).await?;
                tx.commit().await?;
                Ok(Some(execution))
            }

            async fn list_executions(
                &self,
                query: &ExecutionQuery,
            ) -> StoreResult<Page<Execution>> {
                let mut filter = String::from(" WHERE 1 = 1");
                if query.flow_id.is_some() {
                    filter.push_str(" AND flow_id = ?");
                }
                if !query.statuses.is_empty() {
                    filter.push_str(" AND status IN ");
                    filter.push_str(&placeholders(query.statuses.len()));
                }
                if query.state.is_some() {
                    filter.push_str(" AND state = ?");
                }
                let count_sql = dyn_sql(format!("SELECT COUNT(*) FROM executions{filter}"));
                let list_sql = dyn_sql(format!(
                    "SELECT {EXECUTION_COLUMNS} FROM executions{filter} \
                     ORDER BY started_at DESC, seq DESC LIMIT ? OFFSET ?"
                ));
                let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
                let mut list = sqlx::query(AssertSqlSafe(list_sql));
                if let Some(flow_id) = &query.flow_id {
                    count = count.bind(flow_id.clone());
                    list = list.bind(flow_id.clone());
                }
                for status in &query.statuses {
                    count = count.bind(status.as_str());
                    list = list.bind(status.as_str());
                }
                if let Some(state) = query.state {
                    count = count.bind(state.as_str());
                    list = list.bind(state.as_str());
                }
                let list = list
                    .bind(clamp_limit(query.limit))
                    .bind(offset_i64(query.offset));
                let mut tx = self.read.begin().await?;
                let total = count.fetch_one(&mut *tx).await?;
                let rows = list.fetch_all(&mut *tx).await?;
                let mut items = rows
                    .iter()
                    .map(execution_from_row)
                    .collect::<StoreResult<Vec<_>>>()?;
                attach_outcomes(&mut tx, &mut items).await?;
                tx.commit().await?;
                Ok(Page {
                    items,
                    total: u64::try_from(total).unwrap_or(0),
                })
            }

            async fn append_row_log(&self, log: NewRowLog) -> StoreResult<RowLog> {
                let prepared = self.prepare_row_log(log)?;
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    match insert_row_log(conn, &prepared, now).await? {
                        Some(row) => row_log_from_row(&row),
                        None => Err(StoreError::ExecutionNotFound(prepared.log.execution_id)),
                    }
                }))
                .await
            }

            async fn finish_record(
                &self,
                log: NewRowLog,
                delta: Counts,
                completed: Option<Completion<'_>>,
            ) -> StoreResult<Option<StoreError>> {
                let mut refused = self
                    .finish_records(vec![FinishedRecord {
                        log,
                        delta,
                        completed,
                    }])
                    .await?;
                Ok(refused.pop().flatten())
            }

            async fn finish_records(
                &self,
                records: Vec<FinishedRecord<'_>>,
            ) -> StoreResult<Vec<Option<StoreError>>> {
                // Everything is checked and prepared (redacted, capped) before the write; the
                // counts of the batch are summed per execution, so a batch adds each once.
                let mut prepared = Vec::with_capacity(records.len());
                let mut totals: std::collections::BTreeMap<String, Counts> =
                    std::collections::BTreeMap::new();
                for record in records {
                    let job = self.completion_job(record.completed)?;
                    totals
                        .entry(record.log.execution_id.clone())
                        .or_default()
                        .add(&record.delta);
                    prepared.push((job, self.prepare_row_log(record.log)?));
                }
                let deltas = totals
                    .into_iter()
                    .map(|(id, counts)| Ok((id, count_delta(&counts, &self.options.redactor)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    let mut refusals = Vec::with_capacity(prepared.len());
                    for (job, log) in &prepared {
                        let refused = match job {
                            Some(job) => complete(conn, job, log, now).await?,
                            None => None,
                        };
                        if insert_row_log(conn, log, now).await?.is_none() {
                            return Err(StoreError::ExecutionNotFound(log.log.execution_id.clone()));
                        }
                        refusals.push(refused);
                    }
                    for (id, delta) in &deltas {
                        add_counts(conn, id, delta).await?;
                    }
                    Ok(refusals)
                }))
                .await
            }

            async fn list_row_logs(&self, query: &RowLogQuery) -> StoreResult<Page<RowLog>> {
                let mut filter = String::from(" WHERE 1 = 1");
                if query.execution_id.is_some() {
                    filter.push_str(" AND execution_id = ?");
                }
                if query.flow_id.is_some() {
                    filter.push_str(" AND flow_id = ?");
                }
                if query.record_key.is_some() {
                    filter.push_str(" AND record_key = ?");
                }
                if !query.statuses.is_empty() {
                    filter.push_str(" AND status IN ");
                    filter.push_str(&placeholders(query.statuses.len()));
                }
                let count_sql = dyn_sql(format!("SELECT COUNT(*) FROM row_logs{filter}"));
                let list_sql = dyn_sql(format!(
                    "SELECT {} FROM row_logs{filter} ORDER BY id DESC LIMIT ? OFFSET ?",
                    crate::sql_impl::row_log_columns!()
                ));
                let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
                let mut list = sqlx::query(AssertSqlSafe(list_sql));
                for value in [&query.execution_id, &query.flow_id, &query.record_key]
                    .into_iter()
                    .flatten()
                {
                    count = count.bind(value.clone());
                    list = list.bind(value.clone());
                }
                for status in &query.statuses {
                    count = count.bind(status.as_str());
                    list = list.bind(status.as_str());
                }
                let list = list
                    .bind(clamp_limit(query.limit))
                    .bind(offset_i64(query.offset));
                let mut conn = self.read.acquire().await?;
                let total = count.fetch_one(&mut *conn).await?;
                let rows = list.fetch_all(&mut *conn).await?;
                let items = rows
                    .iter()
                    .map(row_log_from_row)
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(Page {
                    items,
                    total: u64::try_from(total).unwrap_or(0),
                })
            }

            async fn row_log_payload(&self, row_log_id: i64) -> StoreResult<Option<String>> {
                let payload = sqlx::query_scalar::<_, Option<String>>(sql!(
                    "SELECT payload FROM row_logs WHERE id = ?"
                ))
                .bind(row_log_id)
                .fetch_optional(&self.read)
                .await?;
                Ok(payload.flatten())
            }

            async fn get_ledger_entries(
                &self,
                flow_id: &str,
                record_keys: &[String],
            ) -> StoreResult<Vec<LedgerEntry>> {
                // Well under both databases' limits on bound parameters.
                const CHUNK: usize = 500;
                let mut entries = Vec::new();
                if record_keys.is_empty() {
                    return Ok(entries);
                }
                let mut tx = self.read.begin().await?;
                for keys in record_keys.chunks(CHUNK) {
                    let list = placeholders(keys.len());
                    let rows_sql = dyn_sql(format!(
                        "SELECT * FROM ledger WHERE flow_id = ? AND record_key IN {list}"
                    ));
                    let mut rows = sqlx::query(AssertSqlSafe(rows_sql)).bind(flow_id);
                    for key in keys {
                        rows = rows.bind(key);
                    }
                    let rows = rows.fetch_all(&mut *tx).await?;
                    if rows.is_empty() {
                        continue;
                    }
                    let steps_sql = dyn_sql(format!(
                        "SELECT record_key, attempt, step FROM ledger_steps WHERE flow_id = ? \
                         AND record_key IN {list} ORDER BY id"
                    ));
                    let mut steps = sqlx::query(AssertSqlSafe(steps_sql)).bind(flow_id);
                    for key in keys {
                        steps = steps.bind(key);
                    }
                    let mut by_key: std::collections::HashMap<(String, i64), Vec<String>> =
                        std::collections::HashMap::new();
                    for step in steps.fetch_all(&mut *tx).await? {
                        let key: String = step.try_get("record_key")?;
                        let attempt: i64 = step.try_get("attempt")?;
                        by_key.entry((key, attempt)).or_default().push(step.try_get("step")?);
                    }
                    for row in &rows {
                        let key: String = row.try_get("record_key")?;
                        let attempt: i64 = row.try_get("attempt")?;
                        let steps = by_key.remove(&(key, attempt)).unwrap_or_default();
                        entries.push(ledger_from_row(row, steps)?);
                    }
                }
                tx.commit().await?;
                Ok(entries)
            }

            async fn get_ledger_entry(
                &self,
                flow_id: &str,
                record_key: &str,
            ) -> StoreResult<Option<LedgerEntry>> {
                // Most records have no entry yet: one statement says so, with no transaction.
                let exists = sqlx::query_scalar::<_, i64>(sql!(
                    "SELECT attempt FROM ledger WHERE flow_id = ? AND record_key = ?"
                ))
                .bind(flow_id)
                .bind(record_key)
                .fetch_optional(&self.read)
                .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                let mut tx = self.read.begin().await?;
                let entry = load_ledger(&mut tx, flow_id, record_key).await?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn record_intent(
                &self,
                flow_id: &str,
                record_key: &str,
                intent: NewIntent,
            ) -> StoreResult<LedgerEntry> {
                let now = self.now_us();
                let query = sqlx::query(sql!(
                    "INSERT INTO ledger (flow_id, record_key, record_id, phase, attempt, \
                     execution_id, intent_at, request_hash, created_at, updated_at) \
                     VALUES (?, ?, ?, 'intent', 1, ?, ?, ?, ?, ?) \
                     ON CONFLICT (flow_id, record_key) DO UPDATE SET \
                     record_id = COALESCE(excluded.record_id, ledger.record_id), \
                     phase = 'intent', attempt = ledger.attempt + 1, \
                     execution_id = excluded.execution_id, intent_at = excluded.intent_at, \
                     request_hash = excluded.request_hash, result_at = NULL, \
                     result_status = NULL, result_accepted = NULL, result_reference = NULL, \
                     result_error = NULL, \
                     response_text = NULL, response_bytes = NULL, response_truncated = NULL, \
                     completed_at = NULL, resolution = NULL, resolved_by = NULL, \
                     resolution_note = NULL, resolved_at = NULL, updated_at = excluded.updated_at \
                     WHERE ledger.phase IN ('rejected', 'released') \
                     RETURNING *"
                ))
                .bind(flow_id.to_string())
                .bind(record_key.to_string())
                .bind(intent.record_id)
                .bind(intent.execution_id)
                .bind(now)
                .bind(intent.request_hash)
                .bind(now)
                .bind(now);
                self.ledger_transition(flow_id, record_key, "record an intent", query)
                    .await
            }

            async fn record_result(
                &self,
                flow_id: &str,
                record_key: &str,
                attempt: u32,
                result: WriteResult,
            ) -> StoreResult<LedgerEntry> {
                let body = self.stored_body(result.response.as_deref(), self.options.ledger_body_cap);
                let phase = if result.accepted {
                    LedgerPhase::Accepted
                } else {
                    LedgerPhase::Rejected
                };
                let now = self.now_us();
                let query = sqlx::query(sql!(
                    "UPDATE ledger SET phase = ?, result_at = ?, result_status = ?, \
                     result_accepted = ?, result_reference = ?, result_error = ?, response_text = ?, \
                     response_bytes = ?, response_truncated = ?, updated_at = ? \
                     WHERE flow_id = ? AND record_key = ? AND phase = 'intent' AND attempt = ? \
                     RETURNING *"
                ))
                .bind(phase.as_str())
                .bind(now)
                .bind(i64::from(result.status_code))
                .bind(result.accepted)
                .bind(result.reference)
                .bind(self.redact_opt(result.error.as_deref()))
                .bind(body.as_ref().map(|b| b.text.clone()))
                .bind(body.as_ref().map(|b| b.original_bytes as i64))
                .bind(body.as_ref().map(|b| b.truncated))
                .bind(now)
                .bind(flow_id.to_string())
                .bind(record_key.to_string())
                .bind(i64::from(attempt));
                self.ledger_transition(flow_id, record_key, "record a result", query)
                    .await
            }

            async fn record_refusal(
                &self,
                flow_id: &str,
                record_key: &str,
                attempt: u32,
                reason: &str,
            ) -> StoreResult<LedgerEntry> {
                let query = sqlx::query(sql!(
                    "UPDATE ledger SET phase = 'rejected', result_accepted = ?, result_error = ?, \
                     updated_at = ? \
                     WHERE flow_id = ? AND record_key = ? AND phase = 'accepted' AND attempt = ? \
                     RETURNING *"
                ))
                .bind(false)
                .bind(self.options.redactor.redact_text(reason))
                .bind(self.now_us())
                .bind(flow_id.to_string())
                .bind(record_key.to_string())
                .bind(i64::from(attempt));
                self.ledger_transition(flow_id, record_key, "record a refusal", query)
                    .await
            }

            async fn record_step(
                &self,
                flow_id: &str,
                record_key: &str,
                attempt: u32,
                step: &str,
            ) -> StoreResult<LedgerEntry> {
                let now = self.now_us();
                let flow_id = flow_id.to_string();
                let record_key = record_key.to_string();
                let step = step.to_string();
                self.write_tx(move |conn| Box::pin(async move {
                    let touched = sqlx::query(sql!(
                        "UPDATE ledger SET updated_at = ? WHERE flow_id = ? AND record_key = ? \
                         AND phase = 'accepted' AND attempt = ?"
                    ))
                    .bind(now)
                    .bind(&flow_id)
                    .bind(&record_key)
                    .bind(i64::from(attempt))
                    .execute(&mut *conn)
                    .await?;
                    if touched.rows_affected() == 0 {
                        return Err(
                            ledger_conflict(conn, &flow_id, &record_key, "record a step")
                                .await,
                        );
                    }
                    sqlx::query(sql!(
                        "INSERT INTO ledger_steps (flow_id, record_key, attempt, step, done_at) \
                         VALUES (?, ?, ?, ?, ?) \
                         ON CONFLICT (flow_id, record_key, attempt, step) DO NOTHING"
                    ))
                    .bind(&flow_id)
                    .bind(&record_key)
                    .bind(i64::from(attempt))
                    .bind(&step)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    let entry = load_ledger(conn, &flow_id, &record_key).await?;
                    entry.ok_or_else(|| vanished(&flow_id, &record_key))
                }))
                .await
            }

            async fn mark_completed(
                &self,
                flow_id: &str,
                record_key: &str,
                attempt: u32,
            ) -> StoreResult<LedgerEntry> {
                let now = self.now_us();
                let query = sqlx::query(sql!(
                    "UPDATE ledger SET phase = 'completed', completed_at = ?, updated_at = ? \
                     WHERE flow_id = ? AND record_key = ? AND phase = 'accepted' AND attempt = ? \
                     RETURNING *"
                ))
                .bind(now)
                .bind(now)
                .bind(flow_id.to_string())
                .bind(record_key.to_string())
                .bind(i64::from(attempt));
                self.ledger_transition(flow_id, record_key, "mark it completed", query)
                    .await
            }

            async fn resolve(
                &self,
                flow_id: &str,
                record_key: &str,
                resolution: Resolution,
            ) -> StoreResult<LedgerEntry> {
                let now = self.now_us();
                let kind = resolution.kind();
                let action = match &resolution {
                    Resolution::AlreadyWritten { .. } => "resolve it as already written",
                    Resolution::NotWritten { .. } => "resolve it as not written",
                    Resolution::RetryIdempotent { .. } => "release it for an idempotent retry",
                    Resolution::Resend { .. } => "release it for resending",
                    Resolution::MarkDone { .. } => "mark it done",
                };
                let flow_id = flow_id.to_string();
                let record_key = record_key.to_string();
                // Redacted (and the query response capped) here, like everything written.
                let found_body = match &resolution {
                    Resolution::AlreadyWritten { response, .. } => {
                        self.stored_body(response.as_deref(), self.options.ledger_body_cap)
                    }
                    _ => None,
                };
                let resolution = match resolution {
                    Resolution::Resend { by, note } => Resolution::Resend {
                        by,
                        note: note.map(|n| self.options.redactor.redact_text(&n)),
                    },
                    Resolution::MarkDone { by, note } => Resolution::MarkDone {
                        by,
                        note: note.map(|n| self.options.redactor.redact_text(&n)),
                    },
                    other => other,
                };
                self.write_tx(move |conn| Box::pin(async move {
                    let current = sqlx::query_scalar::<_, String>(sql!(concat!(
                        "SELECT phase FROM ledger WHERE flow_id = ? AND record_key = ?",
                        for_update!()
                    )))
                    .bind(&flow_id)
                    .bind(&record_key)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let phase = current
                        .as_deref()
                        .map(|p| LedgerPhase::parse(p).ok_or_else(|| corrupt("ledger", "phase", p)))
                        .transpose()?;
                    let allowed = match (&resolution, phase) {
                        (Resolution::AlreadyWritten { .. }, None) => true,
                        (Resolution::AlreadyWritten { .. }, Some(p)) => matches!(
                            p,
                            LedgerPhase::Intent | LedgerPhase::Rejected | LedgerPhase::Released
                        ),
                        (
                            Resolution::NotWritten { .. } | Resolution::RetryIdempotent { .. },
                            p,
                        ) => p == Some(LedgerPhase::Intent),
                        (Resolution::Resend { .. }, p) => p.is_some(),
                        (Resolution::MarkDone { .. }, _) => true,
                    };
                    if !allowed {
                        return Err(ledger_conflict(conn, &flow_id, &record_key, action).await);
                    }
                    if phase.is_none() {
                        // A first sight: AlreadyWritten or MarkDone on a record never attempted.
                        sqlx::query(sql!(
                            "INSERT INTO ledger (flow_id, record_key, phase, attempt, created_at, \
                             updated_at) VALUES (?, ?, 'released', 0, ?, ?)"
                        ))
                        .bind(&flow_id)
                        .bind(&record_key)
                        .bind(now)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    }
                    match resolution {
                        Resolution::AlreadyWritten {
                            execution_id,
                            status_code,
                            reference,
                            response: _,
                        } => {
                            let body = found_body;
                            sqlx::query(sql!(
                                "UPDATE ledger SET phase = 'accepted', execution_id = ?, \
                                 result_at = ?, result_status = ?, result_accepted = ?, \
                                 result_reference = ?, result_error = NULL, response_text = ?, \
                                 response_bytes = ?, \
                                 response_truncated = ?, resolution = ?, resolved_by = NULL, \
                                 resolution_note = NULL, resolved_at = ?, updated_at = ? \
                                 WHERE flow_id = ? AND record_key = ?"
                            ))
                            .bind(execution_id)
                            .bind(now)
                            .bind(i64::from(status_code))
                            .bind(true)
                            .bind(reference)
                            .bind(body.as_ref().map(|b| b.text.clone()))
                            .bind(body.as_ref().map(|b| b.original_bytes as i64))
                            .bind(body.as_ref().map(|b| b.truncated))
                            .bind(kind)
                            .bind(now)
                            .bind(now)
                            .bind(&flow_id)
                            .bind(&record_key)
                            .execute(&mut *conn)
                            .await?;
                        }
                        // Both release an intent for a new attempt; the kind says why.
                        Resolution::NotWritten { execution_id }
                        | Resolution::RetryIdempotent { execution_id } => {
                            sqlx::query(sql!(
                                "UPDATE ledger SET phase = 'released', execution_id = ?, \
                                 resolution = ?, resolved_by = NULL, resolution_note = NULL, \
                                 resolved_at = ?, updated_at = ? WHERE flow_id = ? AND record_key = ?"
                            ))
                            .bind(execution_id)
                            .bind(kind)
                            .bind(now)
                            .bind(now)
                            .bind(&flow_id)
                            .bind(&record_key)
                            .execute(&mut *conn)
                            .await?;
                        }
                        Resolution::Resend { by, note } | Resolution::MarkDone { by, note } => {
                            let done = kind == "mark_done";
                            sqlx::query(sql!(
                                "UPDATE ledger SET phase = ?, \
                                 completed_at = CASE WHEN ? THEN ? ELSE completed_at END, \
                                 resolution = ?, resolved_by = ?, resolution_note = ?, \
                                 resolved_at = ?, updated_at = ? WHERE flow_id = ? AND record_key = ?"
                            ))
                            .bind(if done { "completed" } else { "released" })
                            .bind(done)
                            .bind(now)
                            .bind(kind)
                            .bind(by)
                            .bind(note)
                            .bind(now)
                            .bind(now)
                            .bind(&flow_id)
                            .bind(&record_key)
                            .execute(&mut *conn)
                            .await?;
                        }
                    }
                    let entry = load_ledger(conn, &flow_id, &record_key).await?;
                    entry.ok_or_else(|| vanished(&flow_id, &record_key))
                }))
                .await
            }

            async fn list_ledger(&self, query: &LedgerQuery) -> StoreResult<Vec<LedgerEntry>> {
                let mut sql = String::from("SELECT record_key FROM ledger WHERE flow_id = ?");
                if !query.phases.is_empty() {
                    sql.push_str(" AND phase IN ");
                    sql.push_str(&placeholders(query.phases.len()));
                }
                if query.stale_only {
                    sql.push_str(
                        " AND NOT EXISTS (SELECT 1 FROM executions e \
                         WHERE e.id = ledger.execution_id AND e.state = 'running')",
                    );
                }
                if query.after_record_key.is_some() {
                    sql.push_str(" AND record_key > ?");
                }
                sql.push_str(" ORDER BY record_key LIMIT ?");
                let mut keys_query =
                    sqlx::query_scalar::<_, String>(AssertSqlSafe(dyn_sql(sql))).bind(&query.flow_id);
                for phase in &query.phases {
                    keys_query = keys_query.bind(phase.as_str());
                }
                if let Some(after) = &query.after_record_key {
                    keys_query = keys_query.bind(after);
                }
                let keys_query = keys_query.bind(clamp_limit(query.limit));
                let mut tx = self.read.begin().await?;
                let keys = keys_query.fetch_all(&mut *tx).await?;
                let mut entries = Vec::with_capacity(keys.len());
                for key in keys {
                    if let Some(entry) = load_ledger(&mut tx, &query.flow_id, &key).await? {
                        entries.push(entry);
                    }
                }
                tx.commit().await?;
                Ok(entries)
            }

            async fn get_flow_state(&self, flow_id: &str, key: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar::<_, String>(sql!(
                    "SELECT value FROM flow_state WHERE flow_id = ? AND key = ?"
                ))
                .bind(flow_id)
                .bind(key)
                .fetch_optional(&self.read)
                .await?)
            }

            async fn set_flow_state(&self, flow_id: &str, key: &str, value: &str) -> StoreResult<()> {
                let flow_id = flow_id.to_string();
                let key = key.to_string();
                let value = value.to_string();
                let now = self.now_us();
                self.write_tx(move |conn| Box::pin(async move {
                    sqlx::query(sql!(
                        "INSERT INTO flow_state (flow_id, key, value, updated_at) VALUES (?, ?, ?, ?) \
                         ON CONFLICT (flow_id, key) DO UPDATE SET value = excluded.value, \
                         updated_at = excluded.updated_at"
                    ))
                    .bind(&flow_id)
                    .bind(&key)
                    .bind(&value)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }))
                .await
            }

            async fn compare_and_set_flow_state(
                &self,
                flow_id: &str,
                key: &str,
                expected: Option<&str>,
                new: Option<&str>,
            ) -> StoreResult<bool> {
                let now = self.now_us();
                let flow_id = flow_id.to_string();
                let key = key.to_string();
                let expected = expected.map(str::to_string);
                let new = new.map(str::to_string);
                self.write_tx(move |conn| Box::pin(async move {
                    let affected = match (expected, new) {
                        (None, Some(new)) => sqlx::query(sql!(
                            "INSERT INTO flow_state (flow_id, key, value, updated_at) \
                             VALUES (?, ?, ?, ?) ON CONFLICT (flow_id, key) DO NOTHING"
                        ))
                        .bind(&flow_id)
                        .bind(&key)
                        .bind(new)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected(),
                        (Some(expected), Some(new)) => sqlx::query(sql!(
                            "UPDATE flow_state SET value = ?, updated_at = ? \
                             WHERE flow_id = ? AND key = ? AND value = ?"
                        ))
                        .bind(new)
                        .bind(now)
                        .bind(&flow_id)
                        .bind(&key)
                        .bind(expected)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected(),
                        (Some(expected), None) => sqlx::query(sql!(
                            "DELETE FROM flow_state WHERE flow_id = ? AND key = ? AND value = ?"
                        ))
                        .bind(&flow_id)
                        .bind(&key)
                        .bind(expected)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected(),
                        // Absent stays absent: "changed" only in the sense that it holds.
                        (None, None) => {
                            let present = sqlx::query_scalar::<_, String>(sql!(
                                "SELECT value FROM flow_state WHERE flow_id = ? AND key = ?"
                            ))
                            .bind(&flow_id)
                            .bind(&key)
                            .fetch_optional(&mut *conn)
                            .await?;
                            u64::from(present.is_none())
                        }
                    };
                    Ok(affected == 1)
                }))
                .await
            }

            async fn list_flow_state(&self, flow_id: &str) -> StoreResult<Vec<(String, String)>> {
                let rows = sqlx::query(sql!(
                    "SELECT key, value FROM flow_state WHERE flow_id = ? ORDER BY key"
                ))
                .bind(flow_id)
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("key")?, row.try_get("value")?)))
                    .collect()
            }

            async fn acquire_lease(
                &self,
                key: &str,
                owner: &str,
                ttl: Duration,
            ) -> StoreResult<LeaseOutcome> {
                let now = self.now_us();
                let expires = now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
                let key = key.to_string();
                let owner = owner.to_string();
                self.write_tx(move |conn| Box::pin(async move {
                    let current = sqlx::query(sql!(concat!(
                        "SELECT * FROM leases WHERE key = ?",
                        for_update!()
                    )))
                    .bind(&key)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let current = current.as_ref().map(lease_from_row).transpose()?;
                    let (row, stolen_from) = match current {
                        None => {
                            let row = sqlx::query(sql!(
                                "INSERT INTO leases (key, owner, generation, acquired_at, \
                                 heartbeat_at, expires_at) VALUES (?, ?, 1, ?, ?, ?) \
                                 ON CONFLICT (key) DO NOTHING RETURNING *"
                            ))
                            .bind(&key)
                            .bind(&owner)
                            .bind(now)
                            .bind(now)
                            .bind(expires)
                            .fetch_optional(&mut *conn)
                            .await?;
                            match row {
                                Some(row) => (row, None),
                                // Another node inserted it between our read and our insert.
                                None => {
                                    let row = sqlx::query(sql!("SELECT * FROM leases WHERE key = ?"))
                                        .bind(&key)
                                        .fetch_one(&mut *conn)
                                        .await?;
                                    return Ok(LeaseOutcome::Held {
                                        by: lease_from_row(&row)?,
                                    });
                                }
                            }
                        }
                        Some(lease) if lease.owner == owner => {
                            let row = sqlx::query(sql!(
                                "UPDATE leases SET heartbeat_at = ?, expires_at = ? \
                                 WHERE key = ? RETURNING *"
                            ))
                            .bind(now)
                            .bind(expires)
                            .bind(&key)
                            .fetch_one(&mut *conn)
                            .await?;
                            (row, None)
                        }
                        Some(lease) if to_micros(lease.expires_at) <= now => {
                            let row = sqlx::query(sql!(
                                "UPDATE leases SET owner = ?, generation = generation + 1, \
                                 acquired_at = ?, heartbeat_at = ?, expires_at = ? \
                                 WHERE key = ? RETURNING *"
                            ))
                            .bind(&owner)
                            .bind(now)
                            .bind(now)
                            .bind(expires)
                            .bind(&key)
                            .fetch_one(&mut *conn)
                            .await?;
                            (row, Some(lease.owner))
                        }
                        Some(lease) => return Ok(LeaseOutcome::Held { by: lease }),
                    };
                    let lease = lease_from_row(&row)?;
                    Ok(LeaseOutcome::Acquired { lease, stolen_from })
                }))
                .await
            }

            async fn heartbeat_lease(
                &self,
                key: &str,
                owner: &str,
                ttl: Duration,
            ) -> StoreResult<Option<Lease>> {
                let key = key.to_string();
                let owner = owner.to_string();
                let now = self.now_us();
                let expires = now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
                self.write_tx(move |conn| Box::pin(async move {
                    let row = sqlx::query(sql!(
                        "UPDATE leases SET heartbeat_at = ?, expires_at = ? \
                         WHERE key = ? AND owner = ? AND expires_at > ? RETURNING *"
                    ))
                    .bind(now)
                    .bind(expires)
                    .bind(&key)
                    .bind(&owner)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await?;
                    row.as_ref().map(lease_from_row).transpose()
                }))
                .await
            }

            async fn release_lease(&self, key: &str, owner: &str) -> StoreResult<bool> {
                let key = key.to_string();
                let owner = owner.to_string();
                self.write_tx(move |conn| Box::pin(async move {
                    let done = sqlx::query(sql!("DELETE FROM leases WHERE key = ? AND owner = ?"))
                        .bind(&key)
                        .bind(&owner)
                        .execute(&mut *conn)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }))
                .await
            }

            async fn get_lease(&self, key: &str) -> StoreResult<Option<Lease>> {
                let row = sqlx::query(sql!("SELECT * FROM leases WHERE key = ?"))
                    .bind(key)
                    .fetch_optional(&self.read)
                    .await?;
                row.as_ref().map(lease_from_row).transpose()
            }

            async fn prune(&self, policy: &RetentionPolicy) -> StoreResult<PruneReport> {
                let cutoff = policy
                    .max_age
                    .map(|max_age| to_micros(self.options.clock.now() - max_age));
                let keep = policy.max_executions_per_flow;
                self.write_tx(move |conn| Box::pin(async move {
                    let mut doomed: Vec<String> = Vec::new();
                    if let Some(cutoff) = cutoff {
                        let ids = sqlx::query_scalar::<_, String>(sql!(
                            "SELECT id FROM executions WHERE state <> 'running' AND started_at < ? \
                             ORDER BY seq"
                        ))
                        .bind(cutoff)
                        .fetch_all(&mut *conn)
                        .await?;
                        doomed.extend(ids);
                    }
                    if let Some(keep) = keep {
                        let ids = sqlx::query_scalar::<_, String>(sql!(
                            "SELECT id FROM (SELECT id, seq, state, ROW_NUMBER() OVER \
                             (PARTITION BY flow_id ORDER BY started_at DESC, seq DESC) AS rn \
                             FROM executions) ranked WHERE rn > ? AND state <> 'running' ORDER BY seq"
                        ))
                        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
                        .fetch_all(&mut *conn)
                        .await?;
                        let already: std::collections::HashSet<String> =
                            doomed.iter().cloned().collect();
                        doomed.extend(ids.into_iter().filter(|id| !already.contains(id)));
                    }
                    let mut row_logs_deleted = 0;
                    for chunk in doomed.chunks(500) {
                        let list = placeholders(chunk.len());
                        let mut logs = sqlx::query(AssertSqlSafe(dyn_sql(format!(
                            "DELETE FROM row_logs WHERE execution_id IN {list}"
                        ))));
                        // Deleted explicitly rather than left to ON DELETE CASCADE, like the
                        // row logs: the store does not depend on foreign keys being enforced.
                        let mut outcomes = sqlx::query(AssertSqlSafe(dyn_sql(format!(
                            "DELETE FROM execution_outcomes WHERE execution_id IN {list}"
                        ))));
                        let mut execs = sqlx::query(AssertSqlSafe(dyn_sql(format!(
                            "DELETE FROM executions WHERE id IN {list}"
                        ))));
                        for id in chunk {
                            logs = logs.bind(id.clone());
                            outcomes = outcomes.bind(id.clone());
                            execs = execs.bind(id.clone());
                        }
                        row_logs_deleted += logs.execute(&mut *conn).await?.rows_affected();
                        outcomes.execute(&mut *conn).await?;
                        execs.execute(&mut *conn).await?;
                    }
                    Ok(PruneReport {
                        executions: doomed,
                        row_logs_deleted,
                    })
                }))
                .await
            }
        }
    };
}

pub(crate) use sql_store_impl;
