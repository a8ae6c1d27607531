{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and shift, plus one `unscheduled` row per local date for running and counts
-- out of every shift (the time model: int_machine_segment; the sums: int_machine_period).
select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    shift_date,
    shift_name,
    {{ oee_measures() }}
from {{ ref('int_machine_period') }}
