{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces(key='line_id') }}",
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- OEE per line and local date: the sums of all its rows of that shift_date in oee_line_shift,
-- `unscheduled` included; the period spans them. Incremental: the dates of the build's scope of
-- any of its machines are replaced.
with day_sums as (
    select
        site_id,
        line_id,
        shift_date,
        loss_model,
        {{ oee_sums() }}
    from {{ ref('oee_line_shift') }} as line_shift
    where {{ in_rollup_scope('line_shift', key='line_id') }}
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
