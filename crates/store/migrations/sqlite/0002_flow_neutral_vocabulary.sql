-- Flow-neutral vocabulary: several kinds of flow (orders to an ERP, item statuses and
-- cancellations to Omnitron) share the store, so it stops speaking only the Order Flow's terms.
-- Existing data is converted, never lost. Same statements as the PostgreSQL migration.

-- Row logs: the shared status keeps success/failed/in_doubt/skipped; how exactly a record
-- ended is the flow's own `outcome` label. `payload` is the record's replay payload.
ALTER TABLE row_logs ADD COLUMN outcome TEXT;
ALTER TABLE row_logs ADD COLUMN payload TEXT;
UPDATE row_logs SET status = 'success', outcome = 'already_in_erp' WHERE status = 'already_in_erp';
UPDATE row_logs SET outcome = 'sent' WHERE status = 'success' AND outcome IS NULL;

-- Executions: one `succeeded` counter; the Order Flow's sent / already_in_erp become
-- per-execution outcome counters.
ALTER TABLE executions ADD COLUMN count_succeeded INTEGER NOT NULL DEFAULT 0;
UPDATE executions SET count_succeeded = count_sent + count_already_in_erp;

CREATE TABLE execution_outcomes (
    execution_id        TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    outcome             TEXT NOT NULL,
    count               INTEGER NOT NULL,
    PRIMARY KEY (execution_id, outcome)
);
INSERT INTO execution_outcomes (execution_id, outcome, count)
    SELECT id, 'sent', count_sent FROM executions WHERE count_sent > 0;
INSERT INTO execution_outcomes (execution_id, outcome, count)
    SELECT id, 'already_in_erp', count_already_in_erp FROM executions
    WHERE count_already_in_erp > 0;

ALTER TABLE executions DROP COLUMN count_sent;
ALTER TABLE executions DROP COLUMN count_already_in_erp;

-- Ledger: the result of any write, not only an ERP's.
ALTER TABLE ledger RENAME COLUMN erp_status TO result_status;
ALTER TABLE ledger RENAME COLUMN erp_accepted TO result_accepted;
ALTER TABLE ledger RENAME COLUMN erp_reference TO result_reference;
ALTER TABLE ledger RENAME COLUMN erp_error TO result_error;
UPDATE ledger SET resolution = 'already_written' WHERE resolution = 'found_in_erp';
UPDATE ledger SET resolution = 'not_written' WHERE resolution = 'not_in_erp';
-- Step names (row_logs.step, ledger_steps.step) are the flows' own and stay as they are.
