-- One row per operator and shift occurrence; line_id '' (the whole site) becomes NULL.
select
    assignment.site_id,
    assignment.shift_start,
    operators.operator_id,
    nullif(assignment.line_id, '') as line_id
from {{ source('production_context', 'shift_assignment') }} as assignment
cross join lateral unnest(assignment.operator_ids) as operators (operator_id)
