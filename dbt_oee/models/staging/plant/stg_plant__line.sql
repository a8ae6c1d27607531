select
    line_id,
    site_id,
    name as line_name,
    output_machine_id
from {{ source('plant', 'line') }}
