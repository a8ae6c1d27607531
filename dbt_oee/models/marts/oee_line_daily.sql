{{ config(indexes=[{'columns': ['line_id', 'period_start'], 'unique': True}]) }}

-- OEE per line and local date: the sums of the line's shifts that start on that date in its
-- site's timezone (each measured as oee_line_shift measures it); the period spans them.
with day_sums as (
    select
        site_id,
        line_id,
        shift_date,
        {{ oee_sums() }}
    from {{ ref('oee_line_shift') }}
    group by site_id, line_id, shift_date
)

select
    site_id,
    line_id,
    period_start,
    period_end,
    shift_date,
    {{ oee_measures() }}
from day_sums
