-- TimescaleDB: daily chunks, compressed per machine and tag once a week old.
SELECT create_hypertable('curated.telemetry', by_range('ts', INTERVAL '1 day'));
ALTER TABLE curated.telemetry SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'machine_id, tag',
    timescaledb.compress_orderby = 'ts DESC'
);
SELECT add_compression_policy('curated.telemetry', INTERVAL '7 days');
