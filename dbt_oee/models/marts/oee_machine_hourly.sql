{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and UTC clock hour (the local hour in a whole-hour timezone), the hour in
-- progress measured up to now: a row for every hour in which any state or count of the
-- machine is known. Shift time and out-of-shift running count as in the shift rows.
with hour_sums as (
    select
        site_id,
        line_id,
        machine_id,
        hour_start as period_start,
        least(hour_start + interval '1 hour', {{ oee_now() }}) as period_end,
        {{ slice_sums() }}
    from {{ ref('int_machine_slice') }}
    group by site_id, line_id, machine_id, hour_start
    having bool_or(has_state or has_count)
)

select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    null::date as shift_date,
    null::text as shift_name,
    {{ oee_measures() }}
from hour_sums
