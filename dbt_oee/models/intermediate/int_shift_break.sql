-- One row per break of each shift occurrence, as instants: a break whose local start (or end)
-- comes before the shift's start time lies on the next day (a night shift after midnight).
with occurrences as (
    select
        calendar.site_id,
        calendar.start_ts as shift_start,
        site.timezone,
        calendar.shift_date,
        pattern.start_local as shift_start_local,
        shift_break.start_local,
        shift_break.end_local
    from {{ ref('int_shift_calendar') }} as calendar
    inner join {{ ref('stg_plant__site') }} as site
        on calendar.site_id = site.site_id
    inner join {{ ref('stg_plant__shift_pattern') }} as pattern
        on
            calendar.site_id = pattern.site_id
            and calendar.shift_name = pattern.shift_name
    inner join {{ ref('stg_plant__shift_break') }} as shift_break
        on
            pattern.site_id = shift_break.site_id
            and pattern.shift_name = shift_break.shift_name
)

select
    site_id,
    shift_start,
    (shift_date + (start_local < shift_start_local)::int + start_local) at time zone timezone
        as start_ts,
    (shift_date + (end_local < shift_start_local)::int + end_local) at time zone timezone
        as end_ts
from occurrences
