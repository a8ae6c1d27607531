{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces() }}",
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- Where planned production time was lost: per machine and shift date, over its rows of
-- oee_machine_shift (`unscheduled` time never loses any), the seconds of unplanned downtime by
-- reason (the state's reason code, else the state, else `no_state` for time without any
-- state) and the number of state intervals that lost them, ranked per machine and date.
-- Incremental: the dates of the build's scope are replaced, from the segments and periods of
-- that scope.
with reasons as (
    select
        segment.site_id,
        segment.line_id,
        segment.machine_id,
        segment.shift_date,
        coalesce(segment.reason_code, segment.state, 'no_state') as reason_code,
        sum(segment.unplanned_downtime_s) as downtime_s,
        count(distinct segment.state_start) as event_count
    from {{ ref('int_machine_segment') }} as segment
    inner join {{ ref('int_machine_period') }} as period
        on
            segment.machine_id = period.machine_id
            and segment.shift_date = period.shift_date
            and segment.shift_name = period.shift_name
    where segment.unplanned_downtime_s > 0
    group by
        segment.site_id,
        segment.line_id,
        segment.machine_id,
        segment.shift_date,
        coalesce(segment.reason_code, segment.state, 'no_state')
)

select
    site_id,
    line_id,
    machine_id,
    shift_date,
    reason_code,
    downtime_s,
    event_count,
    rank() over (partition by machine_id, shift_date order by downtime_s desc) as reason_rank
from reasons
