select
    site_id,
    shift_name,
    start_local,
    end_local
from {{ source('plant', 'shift_break') }}
