{{ config(indexes=[{'columns': ['line_id', 'period_start'], 'unique': True}]) }}

-- OEE per line and shift. A line of machines in series (its output machine named in the plant
-- model) is measured at that machine: every station counts the same part, so a sum would count
-- it once per station. A line of machines in parallel sums its machines' times and counts,
-- then divides. Its `unscheduled` row of a date sums its machines' ones.
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
        plant_line.output_machine_id is null
        or machine_shift.machine_id = plant_line.output_machine_id
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
