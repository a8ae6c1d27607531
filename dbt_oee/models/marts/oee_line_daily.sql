{{ config(indexes=[{'columns': ['line_id', 'period_start'], 'unique': True}]) }}

-- OEE per line and local date: the sums of all its rows of that shift_date in oee_line_shift,
-- `unscheduled` included; the period spans them.
with day_sums as (
    select
        site_id,
        line_id,
        shift_date,
        loss_model,
        {{ oee_sums() }}
    from {{ ref('oee_line_shift') }}
    group by site_id, line_id, shift_date, loss_model
)

select
    site_id,
    line_id,
    period_start,
    period_end,
    shift_date,
    {{ oee_measures() }}
from day_sums
