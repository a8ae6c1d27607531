{{ config(indexes=[{'columns': ['machine_id', 'shift_date', 'reason_code'], 'unique': True}]) }}

-- Where planned production time was lost: per machine and shift date (`unscheduled` time never
-- loses any), the seconds of unplanned downtime by reason (the state's reason code, else the
-- state, else `no_state` for time without any state) and the number of state intervals that
-- lost them, ranked per machine and date.
with reasons as (
    select
        site_id,
        line_id,
        machine_id,
        shift_date,
        coalesce(reason_code, state, 'no_state') as reason_code,
        sum(unplanned_downtime_s) as downtime_s,
        count(distinct state_start) as event_count
    from {{ ref('int_machine_segment') }}
    where unplanned_downtime_s > 0
    group by
        site_id,
        line_id,
        machine_id,
        shift_date,
        coalesce(reason_code, state, 'no_state')
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
