{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces(key='line_id') }}",
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- OEE per line and shift. A line of machines in series (its output machine named in the plant
-- model) is measured at that machine: every station counts the same part, so a sum would count
-- it once per station. A line of machines in parallel sums its machines' times and counts,
-- then divides. Its `unscheduled` row of a date sums its machines' ones. Incremental: the dates
-- of the build's scope of any of its machines are replaced.
with line_sums as (
    select
        machine_shift.site_id,
        machine_shift.line_id,
        machine_shift.shift_date,
        machine_shift.shift_name,
        machine_shift.loss_model,
        {{ oee_sums() }}
    from {{ ref('oee_machine_shift') }} as machine_shift
    inner join {{ ref('stg_plant__line') }} as plant_line
        on machine_shift.line_id = plant_line.line_id
    where
        (
            plant_line.output_machine_id is null
            or machine_shift.machine_id = plant_line.output_machine_id
        )
        and {{ in_rollup_scope('machine_shift', key='line_id') }}
    group by
        machine_shift.site_id,
        machine_shift.line_id,
        machine_shift.shift_date,
        machine_shift.shift_name,
        machine_shift.loss_model
)

select
    site_id,
    line_id,
    period_start,
    period_end,
    shift_date,
    shift_name,
    {{ oee_measures() }}
from line_sums
