select
    machine_id,
    start_ts,
    end_ts,
    state,
    reason_code,
    source
from {{ source('machine_data', 'machine_state') }}
