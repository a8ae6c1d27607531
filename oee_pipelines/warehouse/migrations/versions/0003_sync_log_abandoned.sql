-- A sync whose process ended without recording its outcome (killed, crashed) is 'abandoned':
-- the next sync finds its row 'running' with nobody holding its advisory lock.
ALTER TABLE audit.sync_log DROP CONSTRAINT sync_log_status_check;
ALTER TABLE audit.sync_log ADD CONSTRAINT sync_log_status_check
    CHECK (status IN ('running', 'success', 'failed', 'abandoned'));
CREATE INDEX sync_log_running ON audit.sync_log (sync_id) WHERE status = 'running';
