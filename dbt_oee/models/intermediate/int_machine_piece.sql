{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- Each machine's time axis cut at every boundary that changes how a second counts: its state
-- intervals, its site's shift occurrences and their breaks, and its planned downtime events
-- (counts are placed apart, in int_machine_count_slot: cutting here at every minute count would
-- multiply the pieces tenfold). One sweep over the sorted boundaries, no range join: a running
-- sum per kind says how many intervals of that kind are open in a piece, and a running max the
-- start of the latest state and shift begun, which is the one open (those never overlap). Only
-- pieces in a state or a shift are kept, from the earliest plausible date (a PLC with a reset
-- clock reports 1970) and before now.
with intervals as (
    select
        machine_id,
        'state' as kind,
        start_ts,
        least(coalesce(end_ts, {{ oee_now() }}), {{ oee_now() }}) as end_ts
    from {{ ref('stg_machine_data__machine_state') }}
    where start_ts < {{ oee_now() }}
    union all
    select
        machine_id,
        'planned' as kind,
        start_ts,
        least(end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('stg_production_context__downtime_event') }}
    where category = 'planned' and start_ts < {{ oee_now() }}
    union all
    select
        machine.machine_id,
        'shift' as kind,
        calendar.start_ts,
        least(calendar.end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('stg_plant__machine') }} as machine
    inner join {{ ref('int_shift_calendar') }} as calendar
        on
            machine.site_id = calendar.site_id
            and (calendar.line_id is null or machine.line_id = calendar.line_id)
    where calendar.start_ts < {{ oee_now() }}
    union all
    select
        machine.machine_id,
        'break' as kind,
        shift_break.start_ts,
        least(shift_break.end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('stg_plant__machine') }} as machine
    inner join {{ ref('int_shift_break') }} as shift_break
        on machine.site_id = shift_break.site_id
    where shift_break.start_ts < {{ oee_now() }}
),

boundaries as (
    select
        intervals.machine_id,
        edge.ts,
        coalesce(sum(edge.delta) filter (where intervals.kind = 'state'), 0)::int as d_state,
        coalesce(sum(edge.delta) filter (where intervals.kind = 'planned'), 0)::int as d_planned,
        coalesce(sum(edge.delta) filter (where intervals.kind = 'shift'), 0)::int as d_shift,
        coalesce(sum(edge.delta) filter (where intervals.kind = 'break'), 0)::int as d_break,
        max(edge.ts) filter (where intervals.kind = 'state' and edge.delta = 1) as state_start,
        max(edge.ts) filter (where intervals.kind = 'shift' and edge.delta = 1) as shift_start
    from intervals
    cross join
        lateral (
            values (intervals.start_ts, 1), (intervals.end_ts, -1)
        ) as edge (ts, delta)
    group by intervals.machine_id, edge.ts
),

swept as (
    select
        machine_id,
        ts as start_ts,
        lead(ts) over running as end_ts,
        sum(d_state) over running as open_states,
        sum(d_planned) over running as open_planned,
        sum(d_shift) over running as open_shifts,
        sum(d_break) over running as open_breaks,
        max(state_start) over running as state_start,
        max(shift_start) over running as shift_start
    from boundaries
    window running as (partition by machine_id order by ts)
)

select
    machine_id,
    start_ts,
    end_ts,
    case when open_states > 0 then state_start end as state_start,
    case when open_shifts > 0 then shift_start end as shift_start,
    open_planned > 0 as in_planned_event,
    open_breaks > 0 as in_break
from swept
where
    end_ts is not null
    and (open_states > 0 or open_shifts > 0)
    and start_ts >= '{{ var("oee_earliest_date") }}'::timestamp at time zone 'UTC'
