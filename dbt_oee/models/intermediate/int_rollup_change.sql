-- Per machine, the time ranges a build recomputes when it does not recompute everything
-- (int_rollup_build; then this is empty): the changes the triggers logged, a work order's change
-- on every machine of its line; the time between the last build's now and this one's (the
-- periods in progress); and, from their start, the unplanned stops open at the earlier of the two
-- nows and shorter then than the site's micro-stop threshold: the later now may make them too
-- long for a micro-stop, or the earlier one short enough. Any other open state counts the same
-- over its past whatever now is. Ranges are widened to whole UTC hours, so that the many small
-- changes of a realtime stream collapse to one per machine and hour; recomputing a little more
-- is exact.
with build as (
    select * from {{ ref('int_rollup_build') }}
    where not rebuild_all
),

logged as (
    select
        change_log.machine_id,
        change_log.line_id,
        change_log.start_ts,
        change_log.end_ts
    from build
    cross join lateral unnest(build.change_ids) as consumed (change_id)
    inner join raw.rollup_change as change_log
        on consumed.change_id = change_log.change_id
),

since_last_now as (
    select
        least(previous_now, built_now) as start_ts,
        greatest(previous_now, built_now) as end_ts
    from build
    where previous_now != built_now
),

changed as (
    select
        machine.machine_id,
        logged.start_ts,
        logged.end_ts
    from logged
    inner join {{ ref('stg_plant__machine') }} as machine
        on logged.machine_id = machine.machine_id or logged.line_id = machine.line_id
    union all
    select
        machine.machine_id,
        since_last_now.start_ts,
        since_last_now.end_ts
    from {{ ref('stg_plant__machine') }} as machine
    cross join since_last_now
    union all
    -- per machine, bounded from below too (shorter than the threshold: begun after the earlier
    -- now less it), so that the index on (machine_id, start_ts) reads only such states, none
    -- when micro-stops are off (a threshold of 0 or NULL), not all of the machine's history
    select
        machine.machine_id,
        open_stop.start_ts,
        since_last_now.end_ts
    from since_last_now
    cross join {{ ref('stg_plant__machine') }} as machine
    inner join {{ ref('stg_plant__site') }} as site
        on machine.site_id = site.site_id
    cross join lateral (
        select machine_state.start_ts
        from {{ ref('stg_machine_data__machine_state') }} as machine_state
        where
            machine_state.machine_id = machine.machine_id
            and machine_state.start_ts
            > since_last_now.start_ts - site.micro_stop_threshold_s * interval '1 second'
            and machine_state.start_ts < since_last_now.start_ts
            and coalesce(machine_state.end_ts, 'infinity') > since_last_now.start_ts
            and machine_state.state = 'unplanned_stop'
        -- a fence, not a limit: kept a subquery per machine (pulled up, it is planned as one
        -- scan of every state)
        offset 0  -- noqa: AM09
    ) as open_stop
)

select distinct
    machine_id,
    date_trunc('hour', start_ts, 'UTC') as start_ts,
    date_trunc('hour', end_ts - interval '1 microsecond', 'UTC') + interval '1 hour' as end_ts
from changed
