-- Schemas: raw (landing and dead letters), curated (the SQL surface for BI), audit.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS curated;
CREATE SCHEMA IF NOT EXISTS audit;

-- ISA-95 hierarchy, loaded from the plant model.
CREATE TABLE curated.site (
    site_id     text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE curated.line (
    line_id     text PRIMARY KEY,
    site_id     text NOT NULL REFERENCES curated.site,
    name        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE curated.machine (
    machine_id          text PRIMARY KEY,
    line_id             text NOT NULL REFERENCES curated.line,
    site_id             text NOT NULL REFERENCES curated.site,
    name                text NOT NULL,
    ideal_cycle_time_s  double precision NOT NULL CHECK (ideal_cycle_time_s > 0),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The recurring shift calendar of each site, in local wall-clock time. dbt expands it into
-- curated.shift (one row per shift occurrence) with the site's timezone rules.
CREATE TABLE curated.shift_pattern (
    site_id      text NOT NULL REFERENCES curated.site ON DELETE CASCADE,
    shift_name   text NOT NULL,
    start_local  time NOT NULL,
    end_local    time NOT NULL,   -- not after start_local: the shift ends on the next day
    isodays      smallint[] NOT NULL CHECK (isodays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]),
    PRIMARY KEY (site_id, shift_name)
);

-- What each machine was doing, as intervals; end_ts is NULL while the state lasts.
CREATE TABLE curated.machine_state (
    machine_id   text NOT NULL REFERENCES curated.machine,
    start_ts     timestamptz NOT NULL,
    end_ts       timestamptz,
    state        text NOT NULL CHECK (state IN ('running', 'idle', 'starved', 'blocked',
                     'unplanned_stop', 'planned_stop', 'changeover', 'offline')),
    reason_code  text,
    source       text NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, start_ts),
    CHECK (end_ts IS NULL OR end_ts > start_ts)
);

-- Good and rejected parts counted by each machine in an interval.
CREATE TABLE curated.production_count (
    machine_id    text NOT NULL REFERENCES curated.machine,
    start_ts      timestamptz NOT NULL,
    end_ts        timestamptz NOT NULL,
    good_count    bigint NOT NULL CHECK (good_count >= 0),
    reject_count  bigint NOT NULL CHECK (reject_count >= 0),
    source        text NOT NULL,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, start_ts),
    CHECK (end_ts > start_ts)
);

-- Records that could not be accepted, kept with the reason so that nothing disappears.
CREATE TABLE raw.dead_letter (
    dead_letter_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL,
    target          text NOT NULL,
    reason          text NOT NULL,
    record          jsonb NOT NULL
);

-- One row for every sync, backfill, import and export.
CREATE TABLE audit.sync_log (
    sync_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    actor          text NOT NULL,
    operation      text NOT NULL,
    source_system  text NOT NULL,
    target         text NOT NULL,
    rows_read      bigint,
    rows_written   bigint,
    status         text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    error          text
);
CREATE INDEX sync_log_started_at ON audit.sync_log (started_at);
