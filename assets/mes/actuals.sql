-- Actuals of the completed work orders, measured in the warehouse, where they differ from what
-- was last reported to the MES (kept in curated.work_order): the first and last counted part and
-- the good parts, at the machines that count a line's output (%(lines)s/%(machines)s pairs).
WITH measured_machine AS (
    SELECT line_id, machine_id
    FROM unnest(%(lines)s::text [], %(machines)s::text []) AS pair (line_id, machine_id)
),

measured AS (
    SELECT
        wo.work_order_id,
        min(pc.start_ts) AS actual_start,
        max(pc.end_ts) AS actual_end,
        sum(pc.good_count)::double precision AS produced_qty
    FROM curated.work_order AS wo
    INNER JOIN measured_machine AS mm ON wo.line_id = mm.line_id
    INNER JOIN curated.production_count AS pc
        ON
            mm.machine_id = pc.machine_id
            AND pc.start_ts >= wo.planned_start
            AND pc.start_ts < wo.planned_end
    WHERE wo.status IN ('completed', 'closed')
    GROUP BY wo.work_order_id
)

SELECT
    wo.work_order_id,
    wo.site_id,
    wo.product_sku,
    wo.status,
    m.actual_start,
    m.actual_end,
    m.produced_qty
FROM curated.work_order AS wo
INNER JOIN measured AS m ON wo.work_order_id = m.work_order_id
WHERE
    (wo.actual_start, wo.actual_end, wo.produced_qty)
    IS DISTINCT FROM (m.actual_start, m.actual_end, m.produced_qty)
ORDER BY wo.work_order_id
