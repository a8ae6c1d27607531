{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- The machine-shift sums: one row per shift occurrence in which any state of the machine is
-- known (measured up to now while in progress), and per local date one `unscheduled` row for
-- the run and the counts out of every shift, spanning the first to the last such instant. Also
-- what the data quality checks need: planned time without any state, and the cycle times that
-- priced the parts.
select
    segment.site_id,
    segment.line_id,
    segment.machine_id,
    segment.shift_date,
    segment.shift_name,
    coalesce(min(segment.shift_start), min(segment.start_ts)) as period_start,
    -- least() skips NULL: an `unscheduled` row (no shift end) ends with its last segment
    case
        when segment.shift_name = 'unscheduled' then max(segment.end_ts)
        else least(min(segment.shift_end), {{ oee_now() }})
    end as period_end,
    {{ segment_sums() }},
    sum(segment.no_state_s) as no_state_s,
    array_agg(distinct segment.cycle_time_s order by segment.cycle_time_s)
    filter (where counts.machine_id is not null) as cycle_times_s
from {{ ref('int_machine_segment') }} as segment
left join {{ ref('int_machine_segment_count') }} as counts
    on
        segment.machine_id = counts.machine_id
        and segment.start_ts = counts.start_ts
where segment.shift_start is not null or segment.run_s > 0 or segment.in_count
group by
    segment.site_id,
    segment.line_id,
    segment.machine_id,
    segment.shift_date,
    segment.shift_name
having bool_or(segment.state is not null) or segment.shift_name = 'unscheduled'
