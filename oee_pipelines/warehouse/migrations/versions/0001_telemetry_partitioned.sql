-- Plain PostgreSQL: one partition per UTC day, created by the writer before it loads a day.
-- Rows that arrive for a day without a partition (a plain INSERT) land in the default
-- partition and move into the day's partition when it is created.
CREATE TABLE curated.telemetry_default PARTITION OF curated.telemetry DEFAULT;

CREATE FUNCTION curated.ensure_telemetry_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    day date := (from_ts AT TIME ZONE 'UTC')::date;
    partition text;
    lower_ts timestamptz;
    upper_ts timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('curated.telemetry partitions'));
    WHILE day <= (to_ts AT TIME ZONE 'UTC')::date LOOP
        partition := format('telemetry_%s', to_char(day, 'YYYYMMDD'));
        IF to_regclass(format('curated.%I', partition)) IS NULL THEN
            lower_ts := day::timestamp AT TIME ZONE 'UTC';
            upper_ts := (day + 1)::timestamp AT TIME ZONE 'UTC';
            EXECUTE format('CREATE TABLE curated.%I (LIKE curated.telemetry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition);
            EXECUTE format('WITH moved AS (DELETE FROM curated.telemetry_default WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO curated.%I SELECT * FROM moved',
                           lower_ts, upper_ts, partition);
            EXECUTE format('ALTER TABLE curated.telemetry ATTACH PARTITION curated.%I FOR VALUES FROM (%L) TO (%L)',
                           partition, lower_ts, upper_ts);
        END IF;
        day := day + 1;
    END LOOP;
END $$;
