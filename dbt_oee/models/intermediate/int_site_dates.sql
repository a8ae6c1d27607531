{{
    config(
        materialized='incremental',
        pre_hook="{% if is_incremental() %}{{ delete_all_when_rebuilt() }}{% endif %}",
        indexes=[{'columns': ['site_id', 'local_date'], 'unique': True}],
    )
}}

-- The local dates for which each site's shift calendar is expanded: every date that a machine
-- state or count interval touches, and the day before it (a night shift that began then reaches
-- into it), from the earliest plausible date and never after now. A calendar spanning the first
-- and last state ever written would grow to decades from one PLC clock reset to 1970; this one
-- grows by the few dates such a record touches. Counts are here too: a count in a shift on a
-- date without any state is still in that shift, not unscheduled.
-- Incremental: a build that recomputes everything reads all machine data; any other adds the
-- dates of int_rollup_change (deleted data too: the shifts around it decide which periods it
-- touched). A date stays once added: its shifts without data make no rollup row.
with build as (
    select * from {{ ref('int_rollup_build') }}
),

machine_data as (
    select
        machine_id,
        start_ts,
        end_ts
    from {{ ref('stg_machine_data__machine_state') }}
    where (select build.rebuild_all from build)
    union all
    select
        machine_id,
        start_ts,
        end_ts
    from {{ ref('stg_machine_data__production_count') }}
    where (select build.rebuild_all from build)
    union all
    select
        machine_id,
        start_ts,
        end_ts
    from {{ ref('int_rollup_change') }}
    where start_ts > '-infinity'
),

spans as (
    select distinct
        machine.site_id,
        site.timezone,
        (machine_data.start_ts at time zone site.timezone)::date - 1 as first_date,
        -- least() skips NULL: an interval still open ends now
        (least(machine_data.end_ts, {{ oee_now() }}) at time zone site.timezone)::date
            as last_date
    from machine_data
    inner join {{ ref('stg_plant__machine') }} as machine
        on machine_data.machine_id = machine.machine_id
    inner join {{ ref('stg_plant__site') }} as site
        on machine.site_id = site.site_id
    where machine_data.start_ts < {{ oee_now() }}
)

select distinct
    spans.site_id,
    spans.timezone,
    series.local_day::date as local_date
from spans
cross join
    lateral generate_series(
        greatest(spans.first_date, '{{ var("oee_earliest_date") }}'::date)::timestamp,
        spans.last_date::timestamp,
        interval '1 day'
    ) as series (local_day)
{%- if is_incremental() %}
    where not exists (
        select
        from {{ this }} as known
        where known.site_id = spans.site_id and known.local_date = series.local_day::date
    )
{%- endif %}
