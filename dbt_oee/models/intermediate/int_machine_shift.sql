{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- The machine x shift spine: every machine in every shift of its site (or its line) that has
-- begun by now. A shift in progress is measured up to now.
select
    machine.site_id,
    machine.line_id,
    machine.machine_id,
    machine.ideal_cycle_time_s,
    shift.shift_date,
    shift.shift_name,
    shift.start_ts as period_start,
    least(shift.end_ts, {{ oee_now() }}) as period_end
from {{ ref('stg_plant__machine') }} as machine
inner join {{ ref('int_shift_calendar') }} as shift
    on
        machine.site_id = shift.site_id
        and (shift.line_id is null or machine.line_id = shift.line_id)
where shift.start_ts < {{ oee_now() }}
