select
    machine_id,
    start_ts,
    end_ts,
    good_count,
    reject_count,
    source
from {{ source('machine_data', 'production_count') }}
