-- The dbt staging models became ephemeral (CTEs compiled into the models that read them), but
-- for stg_machine_data__telemetry: the views that earlier builds left for the others are read
-- by nothing, and a view over a curated table would block a later migration of its columns.
DROP VIEW IF EXISTS
    staging.stg_machine_data__machine_state,
    staging.stg_machine_data__production_count,
    staging.stg_plant__line,
    staging.stg_plant__machine,
    staging.stg_plant__shift_break,
    staging.stg_plant__shift_pattern,
    staging.stg_plant__site,
    staging.stg_production_context__downtime_event,
    staging.stg_production_context__recipe,
    staging.stg_production_context__shift_assignment,
    staging.stg_production_context__work_order;
