-- The shift calendar BI reads: every shift occurrence of the dates that carry machine data,
-- with the operators the MES reported for it (on any of the site's lines).
with operators as (
    select
        site_id,
        shift_start,
        array_agg(distinct operator_id order by operator_id) as operator_ids
    from {{ ref('stg_production_context__shift_assignment') }}
    group by site_id, shift_start
)

select
    calendar.site_id,
    calendar.line_id,
    calendar.shift_date,
    calendar.shift_name,
    calendar.start_ts,
    calendar.end_ts,
    operators.operator_ids
from {{ ref('int_shift_calendar') }} as calendar
left join operators
    on
        calendar.site_id = operators.site_id
        and calendar.start_ts = operators.shift_start
