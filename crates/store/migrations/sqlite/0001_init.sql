-- omnibridge store, SQLite. Portable types only (TEXT, INTEGER, BOOLEAN): the PostgreSQL
-- migration has the same tables and columns. Timestamps are UTC microseconds since the epoch.

CREATE TABLE executions (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, breaks ties
    id                  TEXT NOT NULL UNIQUE,
    flow_id             TEXT NOT NULL,
    flow_name           TEXT NOT NULL,
    trigger_kind        TEXT NOT NULL,
    triggered_by        TEXT,
    parent_execution_id TEXT,
    owner               TEXT NOT NULL,
    state               TEXT NOT NULL,
    status              TEXT NOT NULL,
    count_read          INTEGER NOT NULL DEFAULT 0,
    count_sent          INTEGER NOT NULL DEFAULT 0,
    count_already_in_erp INTEGER NOT NULL DEFAULT 0,
    count_failed        INTEGER NOT NULL DEFAULT 0,
    count_in_doubt      INTEGER NOT NULL DEFAULT 0,
    count_skipped       INTEGER NOT NULL DEFAULT 0,
    started_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    duration_ms         INTEGER,
    error               TEXT,
    summary             TEXT
);
CREATE INDEX executions_flow_started ON executions (flow_id, started_at, seq);
CREATE INDEX executions_started ON executions (started_at, seq);
CREATE INDEX executions_state ON executions (state);

CREATE TABLE row_logs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id        TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    flow_id             TEXT NOT NULL,
    record_key          TEXT NOT NULL,
    record_id           TEXT,
    status              TEXT NOT NULL,
    step                TEXT NOT NULL,
    error               TEXT,
    attributes          TEXT NOT NULL,
    request_text        TEXT,
    request_bytes       INTEGER,
    request_truncated   BOOLEAN,
    response_text       TEXT,
    response_bytes      INTEGER,
    response_truncated  BOOLEAN,
    created_at          INTEGER NOT NULL
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
    attempt             INTEGER NOT NULL,
    execution_id        TEXT,
    intent_at           INTEGER,
    request_hash        TEXT,
    result_at           INTEGER,
    erp_status          INTEGER,
    erp_accepted        BOOLEAN,
    erp_reference       TEXT,
    erp_error           TEXT,
    response_text       TEXT,
    response_bytes      INTEGER,
    response_truncated  BOOLEAN,
    completed_at        INTEGER,
    resolution          TEXT,
    resolved_by         TEXT,
    resolution_note     TEXT,
    resolved_at         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (flow_id, record_key)
);
CREATE INDEX ledger_flow_phase ON ledger (flow_id, phase, record_key);

CREATE TABLE ledger_steps (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id             TEXT NOT NULL,
    record_key          TEXT NOT NULL,
    attempt             INTEGER NOT NULL,
    step                TEXT NOT NULL,
    done_at             INTEGER NOT NULL,
    UNIQUE (flow_id, record_key, attempt, step),
    FOREIGN KEY (flow_id, record_key) REFERENCES ledger (flow_id, record_key) ON DELETE CASCADE
);

CREATE TABLE flow_state (
    flow_id             TEXT NOT NULL,
    key                 TEXT NOT NULL,
    value               TEXT NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (flow_id, key)
);

CREATE TABLE leases (
    key                 TEXT PRIMARY KEY,
    owner               TEXT NOT NULL,
    generation          INTEGER NOT NULL,
    acquired_at         INTEGER NOT NULL,
    heartbeat_at        INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL
);
