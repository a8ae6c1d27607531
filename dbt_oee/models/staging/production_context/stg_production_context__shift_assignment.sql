-- One row per operator and shift occurrence; line_id '' (the whole site) becomes NULL.
select
    assigned.site_id,
    assigned.shift_start,
    operators.operator_id,
    nullif(assigned.line_id, '') as line_id
from {{ source('production_context', 'shift_assignment') }} as assigned
cross join lateral unnest(assigned.operator_ids) as operators (operator_id)
