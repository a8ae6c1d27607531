-- One row: what this build of the rollups stands on. The changes the inputs' triggers logged
-- (raw.rollup_change, migration 0007), taken once here so that changes logged while the build
-- runs wait for the next one; the instant taken as now and the last successful build's
-- (raw.rollup_watermark); a fingerprint of the plant model and loss models the rollups read.
-- The build recomputes everything when asked to (--full-refresh), when an incremental rollup is
-- missing, without a watermark, when the plant fingerprint changed, or after a TRUNCATE of an
-- input; otherwise only the scope of int_rollup_scope. The bookkeeping tables are read by name:
-- they belong to the rollups, not to a source asset.
with plant as (
    -- a warehouse with no plant model yet has the fingerprint of nothing, not NULL
    select md5(coalesce(string_agg(entry, '|' order by entry), '')) as fingerprint
    from (
        select 'site' || to_jsonb(site)::text as entry
        from {{ ref('stg_plant__site') }} as site
        union all
        select 'line' || to_jsonb(plant_line)::text as entry
        from {{ ref('stg_plant__line') }} as plant_line
        union all
        select 'machine' || to_jsonb(machine)::text as entry
        from {{ ref('stg_plant__machine') }} as machine
        union all
        select 'shift_pattern' || to_jsonb(pattern)::text as entry
        from {{ ref('stg_plant__shift_pattern') }} as pattern
        union all
        select 'shift_break' || to_jsonb(shift_break)::text as entry
        from {{ ref('stg_plant__shift_break') }} as shift_break
        union all
        select 'recipe' || to_jsonb(recipe)::text as entry
        from {{ ref('stg_production_context__recipe') }} as recipe
    ) as entries
),

changes as (
    select
        coalesce(array_agg(change_id order by change_id), '{}') as change_ids,
        coalesce(bool_or(machine_id is null and line_id is null), false) as truncated
    from raw.rollup_change
)

select
    {{ oee_now() }} as built_now,
    watermark.built_now as previous_now,
    plant.fingerprint as plant_fingerprint,
    changes.change_ids,
    {{ 'false' if rollup_increments() else 'true' }}
    or watermark.built_now is null
    or watermark.plant_fingerprint != plant.fingerprint
    or changes.truncated as rebuild_all
from plant
cross join changes
left join raw.rollup_watermark as watermark on true
