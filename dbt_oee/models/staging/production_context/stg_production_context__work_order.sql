-- Work orders that ran on a line: the ones whose actual start is known.
select
    work_order_id,
    site_id,
    line_id,
    product_sku,
    recipe_id,
    recipe_version,
    actual_start,
    actual_end,
    status
from {{ source('production_context', 'work_order') }}
where actual_start is not null and line_id is not null
