{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and local date: the sums of the machine's shifts that start on that date in
-- its site's timezone; the period spans those shifts.
with day_sums as (
    select
        site_id,
        line_id,
        machine_id,
        shift_date,
        {{ oee_sums() }}
    from {{ ref('oee_machine_shift') }}
    group by site_id, line_id, machine_id, shift_date
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
