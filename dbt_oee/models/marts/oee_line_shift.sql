{{ config(indexes=[{'columns': ['line_id', 'period_start'], 'unique': True}]) }}

-- OEE per line and shift: the machines' times and counts are summed first, then divided.
with line_sums as (
    select
        site_id,
        line_id,
        period_start,
        shift_date,
        shift_name,
        max(period_end) as period_end,
        sum(planned_production_s) as planned_production_s,
        sum(run_s) as run_s,
        sum(planned_downtime_s) as planned_downtime_s,
        sum(unplanned_downtime_s) as unplanned_downtime_s,
        sum(ideal_run_s) as ideal_run_s,
        sum(total_count)::bigint as total_count,
        sum(good_count)::bigint as good_count,
        sum(reject_count)::bigint as reject_count
    from {{ ref('oee_machine_shift') }}
    group by site_id, line_id, period_start, shift_date, shift_name
)

select
    site_id,
    line_id,
    period_start,
    period_end,
    shift_date,
    shift_name,
    planned_production_s,
    run_s,
    planned_downtime_s,
    unplanned_downtime_s,
    ideal_run_s,
    total_count,
    good_count,
    reject_count,
    {{ oee_ratios() }}
from line_sums
