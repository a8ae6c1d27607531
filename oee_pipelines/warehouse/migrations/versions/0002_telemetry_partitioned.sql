-- Plain PostgreSQL: the writer creates the partitions of exactly the days its rows fall on, not
-- every day between the earliest and the latest (a batch with 1900 and 2026 made 46,000).
CREATE FUNCTION curated.ensure_telemetry_partitions(days date[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    day date;
    partition text;
    lower_ts timestamptz;
    upper_ts timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('curated.telemetry partitions'));
    FOR day IN SELECT DISTINCT d FROM unnest(days) AS d WHERE d IS NOT NULL ORDER BY d LOOP
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
    END LOOP;
END $$;

-- The range form of 0001 stays for callers of its own, now one day at a time from the array.
CREATE OR REPLACE FUNCTION curated.ensure_telemetry_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE sql AS $$
    SELECT curated.ensure_telemetry_partitions(ARRAY(
        SELECT generate_series((from_ts AT TIME ZONE 'UTC')::date, (to_ts AT TIME ZONE 'UTC')::date, interval '1 day')::date
    ));
$$;
