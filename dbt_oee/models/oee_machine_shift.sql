{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- OEE per machine and shift, with the time model of contracts.md section 3 (plain shifts):
--   planned production = shift time - planned_stop time; run = running time; every other state
--   in planned time is availability loss; ideal run = parts x the machine's ideal cycle time.
-- A shift in progress is measured up to now. A machine-shift appears once anything is known of
-- the machine in that shift; a gap in its states counts as lost time.
with machine_shift as (
    select
        machine.site_id,
        machine.line_id,
        machine.machine_id,
        machine.ideal_cycle_time_s,
        shift.shift_date,
        shift.shift_name,
        shift.start_ts as period_start,
        least(shift.end_ts, now()) as period_end
    from {{ source('curated', 'machine') }} as machine
    inner join {{ ref('shift') }} as shift
        on shift.site_id = machine.site_id
        and (shift.line_id is null or shift.line_id = machine.line_id)
    where shift.start_ts < now()
),

state_time as (
    select
        ms.machine_id,
        ms.period_start,
        sum(overlap_s) filter (where st.state = 'running') as run_s,
        sum(overlap_s) filter (where st.state = 'planned_stop') as planned_stop_s
    from machine_shift as ms
    inner join {{ source('curated', 'machine_state') }} as st
        on st.machine_id = ms.machine_id
        and st.start_ts < ms.period_end
        and coalesce(st.end_ts, now()) > ms.period_start
    cross join lateral (
        select extract(epoch from
            least(coalesce(st.end_ts, now()), ms.period_end) - greatest(st.start_ts, ms.period_start)
        )::double precision as overlap_s
    ) as overlap
    group by ms.machine_id, ms.period_start
),

counts as (
    select
        ms.machine_id,
        ms.period_start,
        sum(pc.good_count) as good_count,
        sum(pc.reject_count) as reject_count
    from machine_shift as ms
    inner join {{ source('curated', 'production_count') }} as pc
        on pc.machine_id = ms.machine_id
        and pc.start_ts >= ms.period_start
        and pc.start_ts < ms.period_end
    group by ms.machine_id, ms.period_start
),

measures as (
    select
        ms.site_id,
        ms.line_id,
        ms.machine_id,
        ms.period_start,
        ms.period_end,
        ms.shift_date,
        ms.shift_name,
        extract(epoch from ms.period_end - ms.period_start)::double precision
            - coalesce(st.planned_stop_s, 0) as planned_production_s,
        coalesce(st.run_s, 0) as run_s,
        coalesce(st.planned_stop_s, 0) as planned_downtime_s,
        coalesce(c.good_count, 0) + coalesce(c.reject_count, 0) as total_count,
        coalesce(c.good_count, 0) as good_count,
        coalesce(c.reject_count, 0) as reject_count,
        (coalesce(c.good_count, 0) + coalesce(c.reject_count, 0)) * ms.ideal_cycle_time_s
            as ideal_run_s
    from machine_shift as ms
    inner join state_time as st using (machine_id, period_start)
    left join counts as c using (machine_id, period_start)
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
