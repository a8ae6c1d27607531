{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- The machine-shift sums: one row per shift occurrence in which any state of the machine is
-- known (measured up to now while in progress), and per local date one `unscheduled` row for
-- the run and the counts out of every shift, spanning the first to the last such instant. Also
-- what the data quality checks need: planned time without any state, and the cycle times that
-- priced the parts. Only the periods of the build's scope (int_rollup_scope).
with cycle_times as (
    select
        slice.machine_id,
        slice.shift_date,
        slice.shift_name,
        array_agg(distinct cycle_time.cycle_time_s order by cycle_time.cycle_time_s)
            as cycle_times_s
    from {{ ref('int_machine_slice') }} as slice
    cross join lateral unnest(slice.cycle_times_s) as cycle_time (cycle_time_s)
    where {{ in_rollup_scope('slice', since='hour_start') }}
    group by slice.machine_id, slice.shift_date, slice.shift_name
),

periods as (
    select
        site_id,
        line_id,
        machine_id,
        shift_date,
        shift_name,
        coalesce(min(shift_start), min(first_active_ts)) as period_start,
        -- least() skips NULL: an `unscheduled` row (no shift end) ends with its last instant
        case
            when shift_name = 'unscheduled' then max(last_active_ts)
            else least(min(shift_end), {{ oee_now() }})
        end as period_end,
        {{ slice_sums() }},
        sum(no_state_s) as no_state_s
    from {{ ref('int_machine_slice') }} as slice
    where
        (shift_name != 'unscheduled' or first_active_ts is not null)
        and {{ in_rollup_scope('slice', since='hour_start') }}
    group by site_id, line_id, machine_id, shift_date, shift_name
    having bool_or(has_state) or shift_name = 'unscheduled'
)

select
    periods.*,
    cycle_times.cycle_times_s
from periods
left join cycle_times
    on
        periods.machine_id = cycle_times.machine_id
        and periods.shift_date = cycle_times.shift_date
        and periods.shift_name = cycle_times.shift_name
