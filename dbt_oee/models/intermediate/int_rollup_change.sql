-- Per machine, the time ranges that the changes of this build touched (int_rollup_build), a
-- work order's change on every machine of its line. Empty when the build recomputes everything.
select
    machine.machine_id,
    change.start_ts,
    change.end_ts
from raw.rollup_change as change
inner join {{ ref('int_rollup_build') }} as build
    on change.change_id = any(build.change_ids)
inner join {{ ref('stg_plant__machine') }} as machine
    on change.machine_id = machine.machine_id or change.line_id = machine.line_id
where not build.rebuild_all
