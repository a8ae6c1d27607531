select
    recipe_id,
    version as recipe_version,
    product_sku,
    line_id,
    ideal_cycle_time_s
from {{ source('production_context', 'recipe') }}
