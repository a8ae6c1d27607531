{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and shift, with the time model of contracts.md section 3 (plain shifts):
--   planned production = shift time - planned_stop time; run = running time; every other state
--   in planned time is availability loss; ideal run = parts x the machine's ideal cycle time.
-- A machine-shift appears once any state of the machine in that shift is known.
with state_time as (
    select
        machine_id,
        period_start,
        sum(duration_s) filter (where state = 'running') as run_s,
        sum(duration_s) filter (where state = 'planned_stop') as planned_stop_s
    from {{ ref('int_machine_shift_state') }}
    group by machine_id, period_start
),

measures as (
    select
        spine.site_id,
        spine.line_id,
        spine.machine_id,
        spine.period_start,
        spine.period_end,
        spine.shift_date,
        spine.shift_name,
        extract(epoch from spine.period_end - spine.period_start)::double precision
        - coalesce(state_time.planned_stop_s, 0) as planned_production_s,
        coalesce(state_time.run_s, 0) as run_s,
        coalesce(state_time.planned_stop_s, 0) as planned_downtime_s,
        coalesce(counts.good_count, 0) + coalesce(counts.reject_count, 0) as total_count,
        coalesce(counts.good_count, 0) as good_count,
        coalesce(counts.reject_count, 0) as reject_count,
        (coalesce(counts.good_count, 0) + coalesce(counts.reject_count, 0))
        * spine.ideal_cycle_time_s as ideal_run_s
    from {{ ref('int_machine_shift') }} as spine
    inner join state_time
        on
            spine.machine_id = state_time.machine_id
            and spine.period_start = state_time.period_start
    left join {{ ref('int_machine_shift_count') }} as counts
        on
            spine.machine_id = counts.machine_id
            and spine.period_start = counts.period_start
)

select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    shift_date,
    shift_name,
    planned_production_s,
    run_s,
    planned_downtime_s,
    planned_production_s - run_s as unplanned_downtime_s,
    ideal_run_s,
    total_count,
    good_count,
    reject_count,
    {{ oee_ratios() }}
from measures
