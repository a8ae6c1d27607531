{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces() }}",
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- OEE per machine and shift, plus one `unscheduled` row per local date for running and counts
-- out of every shift (the time model: int_machine_segment; the sums: int_machine_period).
-- Incremental: the shift dates of the build's scope are replaced.
select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    shift_date,
    shift_name,
    {{ oee_measures() }}
from {{ ref('int_machine_period') }}
