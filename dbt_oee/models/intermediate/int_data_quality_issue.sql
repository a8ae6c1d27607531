{{
    config(
        post_hook=[
            "{{ drop_cleared_issues(['performance_above_one', 'states_missing']) }}",
            "insert into curated.data_quality_issue (issue_id, detected_at, check_name, severity,
                site_id, machine_id, tag, period_start, period_end, details)
            select issue_id, detected_at, check_name, severity, site_id, machine_id, tag,
                period_start, period_end, details
            from {{ this }}
            on conflict (issue_id) do update set severity = excluded.severity,
                period_end = excluded.period_end, details = excluded.details",
        ]
    )
}}

-- depends_on: {{ ref('int_rollup_build') }}, {{ ref('int_rollup_scope') }}

-- What the checks on the machine-shift rows of this build's scope (int_rollup_scope) find, in
-- the columns of curated.data_quality_issue, which the post-hooks keep up to date: the issues of
-- the scope's periods that the checks no longer find go (late data cleared them), the others
-- are upserted. The issue_id (md5 of check, machine and period start) is the same on every
-- rebuild, so an issue found again is updated, not added twice.
with findings as (
    select
        'performance_above_one' as check_name,
        site_id,
        machine_id,
        period_start,
        period_end,
        jsonb_build_object(
            'shift_date', shift_date,
            'shift_name', shift_name,
            'performance', ideal_run_s / run_s,
            'ideal_run_s', ideal_run_s,
            'run_s', run_s,
            'total_count', total_count,
            'ideal_cycle_times_s', cycle_times_s,
            'loss_model', loss_model
        ) as details
    from {{ ref('int_machine_period') }}
    -- above 1 by more than the rounding of shares of parts
    where ideal_run_s > run_s * (1 + 1e-9) and run_s > 0
    union all
    select
        'states_missing' as check_name,
        site_id,
        machine_id,
        period_start,
        period_end,
        jsonb_build_object(
            'shift_date', shift_date,
            'shift_name', shift_name,
            'missing_s', no_state_s,
            'planned_production_s', planned_production_s
        ) as details
    from {{ ref('int_machine_period') }}
    where no_state_s > 0
)

select
    md5(concat_ws('|', check_name, machine_id, extract(epoch from period_start)::text))
        as issue_id,
    {{ oee_now() }} as detected_at,
    check_name,
    'warning' as severity,
    site_id,
    machine_id,
    null::text as tag,
    period_start,
    period_end,
    details
from findings
