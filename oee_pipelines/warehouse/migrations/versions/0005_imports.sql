-- Every file operators dropped or imported, keyed by its content hash (the same file twice is
-- one row), with what became of it; and every row it had that could not be loaded.
CREATE TABLE curated.import_file (
    file_hash      text PRIMARY KEY,
    file_name      text NOT NULL,
    template       text,
    site_id        text,
    sheet          text,
    status         text NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected')),
    rows_read      bigint NOT NULL DEFAULT 0,
    rows_loaded    bigint NOT NULL DEFAULT 0,
    rows_rejected  bigint NOT NULL DEFAULT 0,
    message        text,
    imported_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per rejected cell: its spreadsheet row number (1 = the first line of the file or
-- sheet) and column, the value as written, the reason category of contracts.md section 4.
CREATE TABLE curated.import_reject (
    file_hash        text NOT NULL REFERENCES curated.import_file ON DELETE CASCADE,
    sheet            text NOT NULL DEFAULT '',
    row_number       bigint NOT NULL,
    column_name      text NOT NULL,
    value            text,
    reason_category  text NOT NULL CHECK (reason_category IN ('missing_value', 'bad_number',
                         'bad_timestamp', 'end_before_start', 'negative_count', 'out_of_range',
                         'duplicate', 'unknown_reference')),
    message          text NOT NULL,
    PRIMARY KEY (file_hash, sheet, row_number, column_name)
);

-- Bulk loads into a day of telemetry that has no partition yet (plain PostgreSQL): the rows are
-- copied into the day's table before it has an index, and the table is attached afterwards, so
-- its primary key is built once by sorting instead of row by row (a large file loads in about
-- two thirds of the time). Same names, bounds and lock as curated.ensure_telemetry_partitions.
CREATE FUNCTION curated.create_telemetry_day(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    partition text := format('telemetry_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('curated.telemetry partitions'));
    IF to_regclass(format('curated.%I', partition)) IS NOT NULL THEN
        RETURN NULL;  -- the day has its partition: load through curated.telemetry
    END IF;
    EXECUTE format('CREATE TABLE curated.%I (LIKE curated.telemetry INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CONSTRAINT day_bounds CHECK (ts >= %L AND ts < %L))',
                   partition, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    RETURN partition;
END $$;

-- Attach a table of create_telemetry_day once it is loaded: that day's rows waiting in the
-- default partition move in first; the bounds check spares ATTACH its scan.
CREATE FUNCTION curated.attach_telemetry_day(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    partition text := format('telemetry_%s', to_char(day, 'YYYYMMDD'));
    lower_ts timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper_ts timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    EXECUTE format('WITH moved AS (DELETE FROM curated.telemetry_default WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO curated.%I SELECT * FROM moved',
                   lower_ts, upper_ts, partition);
    EXECUTE format('ALTER TABLE curated.telemetry ATTACH PARTITION curated.%I FOR VALUES FROM (%L) TO (%L)',
                   partition, lower_ts, upper_ts);
    EXECUTE format('ALTER TABLE curated.%I DROP CONSTRAINT day_bounds', partition);
END $$;
