-- What changed since the rollups last ran (dbt_oee: int_rollup_build, int_rollup_scope). Every
-- writer of the inputs (realtime ingest, backfills, file imports, the MES sync, psql) is seen,
-- because triggers log each statement's changes, not the writers. One row per machine (or line)
-- and statement: the time range its changed rows cover, old and new. A TRUNCATE logs a row for
-- every machine and all time (machine_id and line_id NULL). dbt deletes the rows a successful
-- build consumed; the plant model and the loss models are compared by fingerprint instead.
CREATE TABLE raw.rollup_change (
    change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at   timestamptz NOT NULL DEFAULT now(),
    machine_id  text,
    line_id     text,
    start_ts    timestamptz NOT NULL,  -- '-infinity' and 'infinity': no bound
    end_ts      timestamptz NOT NULL,
    CHECK (machine_id IS NULL OR line_id IS NULL)
);

-- The last successful build of the rollups: the instant it took as now (the periods in progress
-- then are recomputed next time) and the fingerprint of the plant model it read. No row: the
-- next build recomputes everything.
CREATE TABLE raw.rollup_watermark (
    built_now          timestamptz NOT NULL,
    plant_fingerprint  text NOT NULL
);

-- The rollups read a window's counts by their end, so the window's start bounds the scan.
CREATE INDEX production_count_machine_end ON curated.production_count (machine_id, end_ts);

-- Intervals of one machine: machine_state, production_count, downtime_event.
CREATE FUNCTION raw.log_machine_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO raw.rollup_change (machine_id, start_ts, end_ts)
        SELECT machine_id, min(start_ts), max(coalesce(end_ts, 'infinity'))
        FROM new_rows GROUP BY machine_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO raw.rollup_change (machine_id, start_ts, end_ts)
        SELECT machine_id, min(start_ts), max(coalesce(end_ts, 'infinity'))
        FROM old_rows GROUP BY machine_id;
    END IF;
    RETURN NULL;
END $$;

-- Work orders: the running time of each one whose line, times or recipe changed.
CREATE FUNCTION raw.log_work_order_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO raw.rollup_change (line_id, start_ts, end_ts)
        SELECT line_id, actual_start, coalesce(actual_end, 'infinity') FROM new_rows
        WHERE line_id IS NOT NULL AND actual_start IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO raw.rollup_change (line_id, start_ts, end_ts)
        SELECT line_id, actual_start, coalesce(actual_end, 'infinity') FROM old_rows
        WHERE line_id IS NOT NULL AND actual_start IS NOT NULL;
    ELSE
        INSERT INTO raw.rollup_change (line_id, start_ts, end_ts)
        SELECT line_id, actual_start, coalesce(actual_end, 'infinity')
        FROM (
            (SELECT work_order_id, line_id, actual_start, actual_end, recipe_id, recipe_version
             FROM new_rows
             EXCEPT
             SELECT work_order_id, line_id, actual_start, actual_end, recipe_id, recipe_version
             FROM old_rows)
            UNION ALL
            (SELECT work_order_id, line_id, actual_start, actual_end, recipe_id, recipe_version
             FROM old_rows
             EXCEPT
             SELECT work_order_id, line_id, actual_start, actual_end, recipe_id, recipe_version
             FROM new_rows)
        ) AS changed
        WHERE line_id IS NOT NULL AND actual_start IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION raw.log_truncation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO raw.rollup_change (start_ts, end_ts) VALUES ('-infinity', 'infinity');
    RETURN NULL;
END $$;

DO $$
DECLARE
    logged record;
BEGIN
    FOR logged IN
        SELECT * FROM (VALUES
            ('machine_state', 'raw.log_machine_changes'),
            ('production_count', 'raw.log_machine_changes'),
            ('downtime_event', 'raw.log_machine_changes'),
            ('work_order', 'raw.log_work_order_changes')
        ) AS t (tbl, fn)
    LOOP
        EXECUTE format('CREATE TRIGGER rollup_inserted AFTER INSERT ON curated.%I'
            ' REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            logged.tbl, logged.fn);
        EXECUTE format('CREATE TRIGGER rollup_updated AFTER UPDATE ON curated.%I'
            ' REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION %s()', logged.tbl, logged.fn);
        EXECUTE format('CREATE TRIGGER rollup_deleted AFTER DELETE ON curated.%I'
            ' REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            logged.tbl, logged.fn);
        EXECUTE format('CREATE TRIGGER rollup_truncated AFTER TRUNCATE ON curated.%I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION raw.log_truncation()', logged.tbl);
    END LOOP;
END $$;
