-- Per machine, the time ranges that the changes of this build touched (int_rollup_build), a
-- work order's change on every machine of its line. Empty when the build recomputes everything.
select
    machine.machine_id,
    change_log.start_ts,
    change_log.end_ts
from raw.rollup_change as change_log
inner join {{ ref('int_rollup_build') }} as build
    on change_log.change_id = any(build.change_ids)
inner join {{ ref('stg_plant__machine') }} as machine
    on change_log.machine_id = machine.machine_id or change_log.line_id = machine.line_id
where not build.rebuild_all
