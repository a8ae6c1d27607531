{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and UTC clock hour (the local hour in a whole-hour timezone), the hour in
-- progress measured up to now: a row for every hour in which any state or count of the
-- machine is known. Shift time and out-of-shift running count as in the shift rows.
with hour_sums as (
    select
        segment.site_id,
        segment.line_id,
        segment.machine_id,
        segment.hour_start as period_start,
        least(segment.hour_start + interval '1 hour', {{ oee_now() }}) as period_end,
        {{ segment_sums() }}
    from {{ ref('int_machine_segment') }} as segment
    left join {{ ref('int_machine_segment_count') }} as counts
        on
            segment.machine_id = counts.machine_id
            and segment.start_ts = counts.start_ts
    group by segment.site_id, segment.line_id, segment.machine_id, segment.hour_start
    having bool_or(segment.state is not null or segment.in_count)
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
