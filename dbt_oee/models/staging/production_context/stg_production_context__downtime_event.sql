select
    machine_id,
    start_ts,
    end_ts,
    category,
    reason_code,
    reason,
    source
from {{ source('production_context', 'downtime_event') }}
