select
    line_id,
    site_id,
    name as line_name
from {{ source('plant', 'line') }}
