select
    machine_id,
    line_id,
    site_id,
    name as machine_name,
    ideal_cycle_time_s
from {{ source('plant', 'machine') }}
