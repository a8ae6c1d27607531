select
    site_id,
    name as site_name,
    timezone
from {{ source('plant', 'site') }}
