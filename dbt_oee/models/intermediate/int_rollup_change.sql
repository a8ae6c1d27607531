-- Per machine, the time ranges that the changes of this build touched (int_rollup_build), a
-- work order's change on every machine of its line. Empty when the build recomputes everything.
-- Ranges are widened to whole UTC hours, so that the many small changes of a realtime stream
-- collapse to one per machine and hour; recomputing a little more is still exact.
with changes as (
    select distinct
        change_log.machine_id,
        change_log.line_id,
        date_trunc('hour', change_log.start_ts, 'UTC') as start_ts,
        date_trunc('hour', change_log.end_ts - interval '1 microsecond', 'UTC')
        + interval '1 hour' as end_ts
    from {{ ref('int_rollup_build') }} as build
    cross join lateral unnest(build.change_ids) as consumed (change_id)
    inner join raw.rollup_change as change_log
        on consumed.change_id = change_log.change_id
    where not build.rebuild_all
)

select distinct
    machine.machine_id,
    changes.start_ts,
    changes.end_ts
from changes
inner join {{ ref('stg_plant__machine') }} as machine
    on changes.machine_id = machine.machine_id or changes.line_id = machine.line_id
