-- One row per shift occurrence, expanded from each site's recurring calendar in the site's own
-- timezone over the dates the rollups need: local start and end become instants with that
-- day's UTC offset, so a night shift over a DST change lasts 7 or 9 hours.
select
    pattern.site_id,
    null::text as line_id,
    dates.local_date as shift_date,
    pattern.shift_name,
    (dates.local_date + pattern.start_local) at time zone dates.timezone as start_ts,
    (dates.local_date + (pattern.end_local <= pattern.start_local)::int + pattern.end_local)
        at time zone dates.timezone as end_ts,
    null::text [] as operator_ids
from {{ ref('int_site_dates') }} as dates
inner join {{ ref('stg_plant__shift_pattern') }} as pattern
    on
        dates.site_id = pattern.site_id
        and extract(isodow from dates.local_date)::smallint = any(pattern.isodays)
