select
    site_id,
    name as site_name,
    timezone,
    micro_stop_threshold_s,
    changeover_loss,
    excluded_states,
    excluded_reason_codes,
    breaks_are_planned_downtime,
    loss_model
from {{ source('plant', 'site') }}
