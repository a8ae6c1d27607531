{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces() }}",
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- OEE per machine and local date: the sums of all its rows of that shift_date in
-- oee_machine_shift, `unscheduled` included (a night shift counts wholly to the date it
-- starts on); the period spans them. Incremental: the dates of the build's scope are replaced.
with day_sums as (
    select
        site_id,
        line_id,
        machine_id,
        shift_date,
        loss_model,
        {{ oee_sums() }}
    from {{ ref('oee_machine_shift') }} as machine_shift
    where {{ in_rollup_scope('machine_shift') }}
    group by site_id, line_id, machine_id, shift_date, loss_model
)

select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    shift_date,
    {{ oee_measures() }}
from day_sums
