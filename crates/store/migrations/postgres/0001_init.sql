-- omnibridge store, PostgreSQL. Portable types only (TEXT, BIGINT, BOOLEAN): the SQLite
-- migration has the same tables and columns. Timestamps are UTC microseconds since the epoch.

CREATE TABLE executions (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order, breaks ties
    id                  TEXT NOT NULL UNIQUE,
    flow_id             TEXT NOT NULL,
    flow_name           TEXT NOT NULL,
    trigger_kind        TEXT NOT NULL,
    triggered_by        TEXT,
    parent_execution_id TEXT,
    owner               TEXT NOT NULL,
    state               TEXT NOT NULL,
    status              TEXT NOT NULL,
    count_read          BIGINT NOT NULL DEFAULT 0,
    count_sent          BIGINT NOT NULL DEFAULT 0,
    count_already_in_erp BIGINT NOT NULL DEFAULT 0,
    count_failed        BIGINT NOT NULL DEFAULT 0,
    count_in_doubt      BIGINT NOT NULL DEFAULT 0,
    count_skipped       BIGINT NOT NULL DEFAULT 0,
    started_at          BIGINT NOT NULL,
    finished_at         BIGINT,
    duration_ms         BIGINT,
    error               TEXT,
    summary             TEXT
);
CREATE INDEX executions_flow_started ON executions (flow_id, started_at, seq);
CREATE INDEX executions_started ON executions (started_at, seq);
CREATE INDEX executions_state ON executions (state);

CREATE TABLE row_logs (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id        TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    flow_id             TEXT NOT NULL,
    record_key          TEXT NOT NULL,
    record_id           TEXT,
    status              TEXT NOT NULL,
    step                TEXT NOT NULL,
    error               TEXT,
    attributes          TEXT NOT NULL,
    request_text        TEXT,
    request_bytes       BIGINT,
    request_truncated   BOOLEAN,
    response_text       TEXT,
    response_bytes      BIGINT,
    response_truncated  BOOLEAN,
    created_at          BIGINT NOT NULL
);
CREATE INDEX row_logs_execution ON row_logs (execution_id, id);
CREATE INDEX row_logs_record ON row_logs (flow_id, record_key, id);
CREATE INDEX row_logs_flow_status ON row_logs (flow_id, status, id);

-- The ledger is never pruned with executions: execution_id is a plain reference.
CREATE TABLE ledger (
    flow_id             TEXT NOT NULL,
    record_key          TEXT NOT NULL,
    record_id           TEXT,
    phase               TEXT NOT NULL,
    attempt             BIGINT NOT NULL,
    execution_id        TEXT,
    intent_at           BIGINT,
    request_hash        TEXT,
    result_at           BIGINT,
    erp_status          BIGINT,
    erp_accepted        BOOLEAN,
    erp_reference       TEXT,
    erp_error           TEXT,
    response_text       TEXT,
    response_bytes      BIGINT,
    response_truncated  BOOLEAN,
    completed_at        BIGINT,
    resolution          TEXT,
    resolved_by         TEXT,
    resolution_note     TEXT,
    resolved_at         BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (flow_id, record_key)
);
CREATE INDEX ledger_flow_phase ON ledger (flow_id, phase, record_key);

CREATE TABLE ledger_steps (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id             TEXT NOT NULL,
    record_key          TEXT NOT NULL,
    attempt             BIGINT NOT NULL,
    step                TEXT NOT NULL,
    done_at             BIGINT NOT NULL,
    UNIQUE (flow_id, record_key, attempt, step),
    FOREIGN KEY (flow_id, record_key) REFERENCES ledger (flow_id, record_key) ON DELETE CASCADE
);

CREATE TABLE flow_state (
    flow_id             TEXT NOT NULL,
    key                 TEXT NOT NULL,
    value               TEXT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (flow_id, key)
);

CREATE TABLE leases (
    key                 TEXT PRIMARY KEY,
    owner               TEXT NOT NULL,
    generation          BIGINT NOT NULL,
    acquired_at         BIGINT NOT NULL,
    heartbeat_at        BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);
