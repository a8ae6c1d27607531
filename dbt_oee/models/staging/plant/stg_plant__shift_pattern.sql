select
    site_id,
    shift_name,
    start_local,
    end_local,
    isodays
from {{ source('plant', 'shift_pattern') }}
