{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces(since='hour_start') }}",
        indexes=[
            {'columns': ['hour_start', 'machine_id', 'shift_date', 'shift_name'], 'unique': True}
        ],
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- The sums per machine, UTC clock hour and shift occurrence (out of every shift: `unscheduled`
-- of the hour's local date): the seconds of its segments (int_machine_segment) beside the parts
-- of its count slots (int_machine_count_slot). Every rollup adds these up: the hours by hour,
-- the shift periods by shift. Also what decides which rows exist (a state known, parts
-- counted) and where an `unscheduled` period starts and ends (its first and last instant of
-- run or counting). Incremental: the slices of the build's scope are replaced (rollup_replaces),
-- from the segments and count slots, which hold only those.
with segment_sums as (
    select
        site_id,
        line_id,
        machine_id,
        hour_start,
        shift_date,
        shift_name,
        min(shift_start) as shift_start,
        min(shift_end) as shift_end,
        min(loss_model) as loss_model,
        sum(run_s) as run_s,
        sum(planned_downtime_s) as planned_downtime_s,
        sum(unplanned_downtime_s) as unplanned_downtime_s,
        sum(no_state_s) as no_state_s,
        bool_or(state is not null) as has_state,
        min(start_ts) filter (where run_s > 0) as first_run_ts,
        max(end_ts) filter (where run_s > 0) as last_run_ts
    from {{ ref('int_machine_segment') }}
    group by site_id, line_id, machine_id, hour_start, shift_date, shift_name
),

count_sums as (
    select
        site_id,
        line_id,
        machine_id,
        hour_start,
        shift_date,
        shift_name,
        min(shift_start) as shift_start,
        min(loss_model) as loss_model,
        min(first_ts) as first_ts,
        max(last_ts) as last_ts,
        sum(good_count) as good_count,
        sum(reject_count) as reject_count,
        sum(ideal_run_s) as ideal_run_s,
        array_agg(distinct cycle_time_s order by cycle_time_s) as cycle_times_s
    from {{ ref('int_machine_count_slot') }}
    group by site_id, line_id, machine_id, hour_start, shift_date, shift_name
)

select
    segment_sums.shift_end,
    count_sums.cycle_times_s,
    coalesce(segment_sums.site_id, count_sums.site_id) as site_id,
    coalesce(segment_sums.line_id, count_sums.line_id) as line_id,
    coalesce(segment_sums.machine_id, count_sums.machine_id) as machine_id,
    coalesce(segment_sums.hour_start, count_sums.hour_start) as hour_start,
    coalesce(segment_sums.shift_date, count_sums.shift_date) as shift_date,
    coalesce(segment_sums.shift_name, count_sums.shift_name) as shift_name,
    coalesce(segment_sums.shift_start, count_sums.shift_start) as shift_start,
    coalesce(segment_sums.loss_model, count_sums.loss_model) as loss_model,
    coalesce(segment_sums.run_s, 0) as run_s,
    coalesce(segment_sums.planned_downtime_s, 0) as planned_downtime_s,
    coalesce(segment_sums.unplanned_downtime_s, 0) as unplanned_downtime_s,
    coalesce(segment_sums.no_state_s, 0) as no_state_s,
    coalesce(count_sums.ideal_run_s, 0) as ideal_run_s,
    coalesce(count_sums.good_count, 0) as good_count,
    coalesce(count_sums.reject_count, 0) as reject_count,
    coalesce(segment_sums.has_state, false) as has_state,
    count_sums.machine_id is not null as has_count,
    -- least() and greatest() skip NULL
    least(segment_sums.first_run_ts, count_sums.first_ts) as first_active_ts,
    greatest(segment_sums.last_run_ts, count_sums.last_ts) as last_active_ts
from segment_sums
full outer join count_sums
    on
        segment_sums.machine_id = count_sums.machine_id
        and segment_sums.hour_start = count_sums.hour_start
        and segment_sums.shift_date = count_sums.shift_date
        and segment_sums.shift_name = count_sums.shift_name
