-- The scheduler's bookkeeping: the one trigger a BUFFER_ONE schedule keeps
-- while a run is active (started when that run ends), the accounts whose
-- backfill waits for the active run (tracked users added meanwhile), and the
-- index that finds due schedules without scanning every job.

-- migrate:up
ALTER TABLE sync_job
    ADD COLUMN buffered_trigger text CHECK (buffered_trigger IN ('schedule', 'manual')),
    ADD COLUMN buffered_full    boolean NOT NULL DEFAULT false,
    ADD COLUMN buffered_slot_at timestamptz,
    ADD COLUMN buffered_accounts text[];
CREATE INDEX sync_job_due_idx ON sync_job (next_run_at) WHERE status = 'ACTIVE';
CREATE INDEX sync_job_buffered_idx ON sync_job (project_id) WHERE buffered_trigger IS NOT NULL OR buffered_accounts IS NOT NULL;

-- migrate:down
DROP INDEX sync_job_buffered_idx;
DROP INDEX sync_job_due_idx;
ALTER TABLE sync_job
    DROP COLUMN buffered_accounts,
    DROP COLUMN buffered_slot_at,
    DROP COLUMN buffered_full,
    DROP COLUMN buffered_trigger;
