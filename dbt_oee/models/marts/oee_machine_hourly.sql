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
        min(segment.loss_model) as loss_model,
        sum(segment.run_s) + sum(segment.unplanned_downtime_s) as planned_production_s,
        sum(segment.run_s) as run_s,
        sum(segment.planned_downtime_s) as planned_downtime_s,
        sum(segment.unplanned_downtime_s) as unplanned_downtime_s,
        coalesce(sum(counts.ideal_run_s), 0) as ideal_run_s,
        coalesce(sum(counts.good_count), 0) + coalesce(sum(counts.reject_count), 0)
            as total_count,
        coalesce(sum(counts.good_count), 0) as good_count,
        coalesce(sum(counts.reject_count), 0) as reject_count
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
