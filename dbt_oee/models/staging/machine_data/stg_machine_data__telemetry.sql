-- No model reads telemetry: SQL by hand and BI do.
select
    machine_id,
    tag,
    ts,
    site_id,
    line_id,
    value,
    value_text,
    unit,
    quality,
    source
from {{ source('machine_data', 'telemetry') }}
