{{
    config(
        materialized='incremental',
        pre_hook="{{ rollup_replaces(hour='period_start') }}",
        indexes=[{'columns': ['period_start']}],
    )
}}

-- The pre-hook (rollup_replaces) reads these:
-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- OEE per machine and UTC clock hour (the local hour in a whole-hour timezone), the hour in
-- progress measured up to now: a row for every hour in which any state or count of the
-- machine is known. Shift time and out-of-shift running count as in the shift rows.
-- Incremental: the hours of the windows of the build's scope are replaced, summed from all
-- their slices (an hour may hold slices of a shift date out of the scope, unchanged), found
-- through the index on the hour (the primary key leads with the machine).
with hour_sums as (
    select
        site_id,
        line_id,
        machine_id,
        hour_start as period_start,
        least(hour_start + interval '1 hour', {{ oee_now() }}) as period_end,
        {{ slice_sums() }}
    from {{ ref('int_machine_slice') }} as slice
    where {{ in_rollup_scope('slice', hour='hour_start') }}
    group by site_id, line_id, machine_id, hour_start
    having bool_or(has_state or has_count)
)

select
    site_id,
    line_id,
    machine_id,
    period_start,
    period_end,
    null::date as shift_date,
    null::text as shift_name,
    {{ oee_measures() }}
from hour_sums
