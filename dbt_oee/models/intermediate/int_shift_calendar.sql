-- One row per shift occurrence, expanded from each site's recurring calendar in the site's own
-- timezone over the dates the rollups need: local start and end become instants with that
-- day's UTC offset, so a night shift over a DST change lasts 7 or 9 hours.
with occurrences as (
    select
        pattern.site_id,
        pattern.shift_name,
        dates.timezone,
        pattern.end_local,
        dates.local_date as shift_date,
        dates.local_date + pattern.start_local as local_start,
        -- a shift that ends at or before its start time ends on the next day
        dates.local_date + (pattern.end_local <= pattern.start_local)::int as end_date
    from {{ ref('int_site_dates') }} as dates
    inner join {{ ref('stg_plant__shift_pattern') }} as pattern
        on
            dates.site_id = pattern.site_id
            and extract(isodow from dates.local_date)::smallint = any(pattern.isodays)
)

select
    site_id,
    null::text as line_id,
    shift_date,
    shift_name,
    local_start at time zone timezone as start_ts,
    (end_date + end_local) at time zone timezone as end_ts
from occurrences
