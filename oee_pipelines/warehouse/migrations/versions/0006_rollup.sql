-- The inputs and the findings of the rollups (issue 12, contracts.md sections 2 and 3).

-- Each site's loss model (config/plant.yaml, oee_pipelines/plant_model.LossModel): the mapping
-- as written, and its fingerprint, which every oee_* row records. The defaults are ISO 22400's;
-- a test holds this fingerprint equal to LossModel().fingerprint.
ALTER TABLE curated.site
    ADD COLUMN micro_stop_threshold_s double precision NOT NULL DEFAULT 0
        CHECK (micro_stop_threshold_s >= 0),
    ADD COLUMN changeover_loss text NOT NULL DEFAULT 'availability'
        CHECK (changeover_loss IN ('availability', 'performance')),
    ADD COLUMN excluded_states text[] NOT NULL DEFAULT '{}',
    ADD COLUMN excluded_reason_codes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN breaks_are_planned_downtime boolean NOT NULL DEFAULT true,
    ADD COLUMN loss_model text NOT NULL DEFAULT 'd1de4357f2a6';

-- Planned breaks of a recurring shift, local wall-clock times inside it (after midnight: the
-- next day); they go with their shift when the plant model replaces a site's calendar.
CREATE TABLE curated.shift_break (
    site_id      text NOT NULL,
    shift_name   text NOT NULL,
    start_local  time NOT NULL,
    end_local    time NOT NULL,
    PRIMARY KEY (site_id, shift_name, start_local),
    FOREIGN KEY (site_id, shift_name) REFERENCES curated.shift_pattern ON DELETE CASCADE
);

-- What the checks on the data found; issue_id is the md5 of check, machine and period, so a
-- rebuild finds the same issue again instead of adding it twice.
CREATE TABLE curated.data_quality_issue (
    issue_id      text PRIMARY KEY,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    check_name    text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    site_id       text,
    machine_id    text,
    tag           text,
    period_start  timestamptz,
    period_end    timestamptz,
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX data_quality_issue_machine ON curated.data_quality_issue (machine_id, period_start);
