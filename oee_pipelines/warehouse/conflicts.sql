-- The disagreements between the MES and the ERP now, on the orders the MES runs: a column
-- where both say something, and not the same. Stale conflicts are deleted, new ones inserted,
-- changed ones updated; returns nothing (the caller counts curated.work_order_conflict).
WITH compared AS (
    SELECT
        mes.work_order_id,
        c.column_name,
        c.mes_value,
        c.erp_value
    FROM curated.work_order AS mes
    INNER JOIN curated.erp_production_order AS erp USING (work_order_id)
    CROSS JOIN LATERAL (
        VALUES
        ('site_id', mes.site_id, erp.site_id),
        ('line_id', mes.line_id, erp.line_id),
        ('product_sku', mes.product_sku, erp.product_sku),
        ('planned_start', mes.planned_start::text, erp.planned_start::text),
        ('planned_end', mes.planned_end::text, erp.planned_end::text),
        ('planned_qty', mes.planned_qty::text, erp.planned_qty::text)
    ) AS c (column_name, mes_value, erp_value)
    WHERE mes.source = 'mes' AND c.mes_value IS DISTINCT FROM c.erp_value
    AND c.mes_value IS NOT null AND c.erp_value IS NOT null
),

resolved AS (
    DELETE FROM curated.work_order_conflict AS conflict
    WHERE NOT EXISTS (
        SELECT 1 FROM compared
        WHERE
            compared.work_order_id = conflict.work_order_id
            AND compared.column_name = conflict.column_name
    )
)

INSERT INTO curated.work_order_conflict (work_order_id, column_name, mes_value, erp_value)
SELECT work_order_id, column_name, mes_value, erp_value FROM compared
ON CONFLICT (work_order_id, column_name) DO UPDATE
SET mes_value = excluded.mes_value, erp_value = excluded.erp_value, detected_at = now()
WHERE (curated.work_order_conflict.mes_value, curated.work_order_conflict.erp_value)
IS DISTINCT FROM (excluded.mes_value, excluded.erp_value)
