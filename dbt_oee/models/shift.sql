-- One row per shift occurrence, expanded from each site's recurring calendar in the site's own
-- timezone: local start and end become instants with that day's UTC offset, so a night shift
-- over a DST change lasts 7 or 9 hours. The calendar spans the machine-state history.
with bounds as (
    select min(start_ts) as first_ts, max(coalesce(end_ts, start_ts)) as last_ts
    from {{ source('curated', 'machine_state') }}
),

site_days as (
    select site.site_id, site.timezone, day::date as local_date
    from {{ source('curated', 'site') }} as site
    cross join bounds
    cross join lateral generate_series(
        (bounds.first_ts at time zone site.timezone)::date - 1,
        (bounds.last_ts at time zone site.timezone)::date,
        interval '1 day'
    ) as day
)

select
    pattern.site_id,
    null::text as line_id,
    site_days.local_date as shift_date,
    pattern.shift_name,
    (site_days.local_date + pattern.start_local) at time zone site_days.timezone as start_ts,
    (site_days.local_date + (pattern.end_local <= pattern.start_local)::int + pattern.end_local)
        at time zone site_days.timezone as end_ts,
    null::text[] as operator_ids
from site_days
inner join {{ source('curated', 'shift_pattern') }} as pattern
    on pattern.site_id = site_days.site_id
    and extract(isodow from site_days.local_date)::smallint = any(pattern.isodays)
