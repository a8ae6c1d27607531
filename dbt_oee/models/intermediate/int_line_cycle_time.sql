{{ config(indexes=[{'columns': ['line_id', 'start_ts'], 'unique': True}]) }}

-- Per line, the ideal cycle time in force over time: the line's work orders cut into pieces
-- that never overlap, each carrying the recipe of its active work order (the one with the latest
-- actual start when several overlap). An order still running lasts until now; NULL cycle time:
-- no recipe known, the machine default applies. Only the orders that overlap a window of the
-- build's scope (int_rollup_scope) on their line: every order in force at an instant of a window
-- overlaps it, so inside the windows the pieces and their orders are those of all orders (a
-- piece that begins before a window may begin earlier), and the table does not grow with the
-- history.
with orders as (
    select
        work_order.line_id,
        work_order.work_order_id,
        work_order.actual_start as start_ts,
        least(coalesce(work_order.actual_end, {{ oee_now() }}), {{ oee_now() }}) as end_ts,
        recipe.ideal_cycle_time_s
    from {{ ref('stg_production_context__work_order') }} as work_order
    left join {{ ref('stg_production_context__recipe') }} as recipe
        on
            work_order.recipe_id = recipe.recipe_id
            and work_order.recipe_version = recipe.recipe_version
    where
        work_order.actual_start < {{ oee_now() }}
        and exists (
            select
            from {{ ref('int_rollup_scope') }} as scope
            where
                scope.line_id = work_order.line_id
                and scope.window_start < coalesce(work_order.actual_end, 'infinity')
                and scope.window_end > work_order.actual_start
        )
),

bounds as (
    select
        line_id,
        start_ts as ts
    from orders
    union
    select
        line_id,
        end_ts as ts
    from orders
),

pieces as (
    select
        line_id,
        ts as start_ts,
        lead(ts) over (partition by line_id order by ts) as end_ts
    from bounds
)

select distinct on (pieces.line_id, pieces.start_ts)
    pieces.line_id,
    pieces.start_ts,
    pieces.end_ts,
    orders.work_order_id,
    orders.ideal_cycle_time_s
from pieces
inner join orders
    on
        pieces.line_id = orders.line_id
        and pieces.start_ts >= orders.start_ts
        and pieces.start_ts < orders.end_ts
order by pieces.line_id asc, pieces.start_ts asc, orders.start_ts desc, orders.work_order_id desc
