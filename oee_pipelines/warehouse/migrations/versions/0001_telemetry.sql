-- Sensor and PLC values. `${partition_by}` is empty when TimescaleDB turns it into a hypertable.
CREATE TABLE curated.telemetry (
    machine_id  text NOT NULL,
    tag         text NOT NULL,
    ts          timestamptz NOT NULL,
    site_id     text NOT NULL,
    line_id     text NOT NULL,
    value       double precision,
    value_text  text,
    unit        text,
    quality     text NOT NULL DEFAULT 'good' CHECK (quality IN ('good', 'uncertain', 'bad')),
    source      text NOT NULL,
    PRIMARY KEY (machine_id, tag, ts)
) ${partition_by};
