{{ config(indexes=[{'columns': ['window_id', 'start_ts'], 'unique': True}]) }}

-- Each machine's time axis cut at every boundary that changes how a second counts: its state
-- intervals, its site's shift occurrences and their breaks, and its planned downtime events
-- (counts are placed apart, in int_machine_count_slot: cutting here at every minute count would
-- multiply the pieces tenfold). Only in the windows of the build's scope (int_rollup_scope),
-- from the intervals that overlap them. One sweep per window over the sorted boundaries, no
-- range join: a running sum per kind says how many intervals of that kind are open in a piece,
-- and a running max the start of the latest state and shift begun, which is the one open (those
-- never overlap). Only pieces in a state or a shift are kept, cut to the window, from the
-- earliest plausible date (a PLC with a reset clock reports 1970) and before now.
with intervals as (
    select
        scope.machine_id,
        scope.window_id,
        'state' as kind,
        machine_state.start_ts,
        least(coalesce(machine_state.end_ts, {{ oee_now() }}), {{ oee_now() }}) as end_ts
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('stg_machine_data__machine_state') }} as machine_state
        on
            scope.machine_id = machine_state.machine_id
            and scope.window_end > machine_state.start_ts
            and coalesce(machine_state.end_ts, 'infinity') > scope.window_start
    where
        machine_state.start_ts < {{ oee_now() }}
        -- through the index on their end from the scope's earliest instant, not all history
        and (machine_state.end_ts > {{ rollup_scope_start() }} or machine_state.end_ts is null)
    union all
    select
        scope.machine_id,
        scope.window_id,
        'planned' as kind,
        downtime_event.start_ts,
        least(downtime_event.end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('stg_production_context__downtime_event') }} as downtime_event
        on
            scope.machine_id = downtime_event.machine_id
            and scope.window_end > downtime_event.start_ts
            and scope.window_start < downtime_event.end_ts
    where downtime_event.category = 'planned' and downtime_event.start_ts < {{ oee_now() }}
    union all
    select
        scope.machine_id,
        scope.window_id,
        'shift' as kind,
        calendar.start_ts,
        least(calendar.end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('int_shift_calendar') }} as calendar
        on
            scope.site_id = calendar.site_id
            and (calendar.line_id is null or scope.line_id = calendar.line_id)
            and scope.window_end > calendar.start_ts
            and scope.window_start < calendar.end_ts
    where calendar.start_ts < {{ oee_now() }}
    union all
    select
        scope.machine_id,
        scope.window_id,
        'break' as kind,
        shift_break.start_ts,
        least(shift_break.end_ts, {{ oee_now() }}) as end_ts
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('int_shift_break') }} as shift_break
        on
            scope.site_id = shift_break.site_id
            and scope.window_end > shift_break.start_ts
            and scope.window_start < shift_break.end_ts
    where shift_break.start_ts < {{ oee_now() }}
),

boundaries as (
    select
        intervals.machine_id,
        intervals.window_id,
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
    group by intervals.machine_id, intervals.window_id, edge.ts
),

swept as (
    select
        machine_id,
        window_id,
        ts as start_ts,
        lead(ts) over running as end_ts,
        sum(d_state) over running as open_states,
        sum(d_planned) over running as open_planned,
        sum(d_shift) over running as open_shifts,
        sum(d_break) over running as open_breaks,
        max(state_start) over running as state_start,
        max(shift_start) over running as shift_start
    from boundaries
    window running as (partition by window_id order by ts)
)

select
    swept.machine_id,
    swept.window_id,
    scope.first_date,
    scope.last_date,
    greatest(swept.start_ts, scope.window_start) as start_ts,
    least(swept.end_ts, scope.window_end) as end_ts,
    case when swept.open_states > 0 then swept.state_start end as state_start,
    case when swept.open_shifts > 0 then swept.shift_start end as shift_start,
    swept.open_planned > 0 as in_planned_event,
    swept.open_breaks > 0 as in_break
from swept
inner join {{ ref('int_rollup_scope') }} as scope
    on
        swept.window_id = scope.window_id
where
    swept.end_ts > scope.window_start
    and swept.start_ts < scope.window_end
    and (swept.open_states > 0 or swept.open_shifts > 0)
    and swept.start_ts >= '{{ var("oee_earliest_date") }}'::timestamp at time zone 'UTC'
