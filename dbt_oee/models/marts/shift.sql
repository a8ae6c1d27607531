{{ config(indexes=[{'columns': ['site_id', 'start_ts'], 'unique': True}]) }}

-- The shift calendar BI reads: every shift occurrence of the dates that carry machine data.
select
    site_id,
    line_id,
    shift_date,
    shift_name,
    start_ts,
    end_ts,
    operator_ids
from {{ ref('int_shift_calendar') }}
