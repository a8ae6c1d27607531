-- Changeovers of each line from one work order to the next (by planned start): planned to take
-- the outgoing recipe's teardown plus the incoming recipe's setup; recipe_changed says whether
-- the product's recipe changed or the same recipe was set up again.
WITH ordered AS (
    SELECT
        line_id,
        work_order_id,
        recipe_id,
        recipe_version,
        planned_start,
        lag(work_order_id) OVER by_line AS from_work_order_id,
        lag(recipe_id) OVER by_line AS from_recipe_id,
        lag(recipe_version) OVER by_line AS from_recipe_version
    FROM curated.work_order
    WHERE line_id IS NOT NULL AND planned_start IS NOT NULL AND status <> 'cancelled'
    WINDOW by_line AS (PARTITION BY line_id ORDER BY planned_start, work_order_id)
)

SELECT
    o.line_id,
    o.planned_start AS start_ts,
    o.from_work_order_id,
    o.work_order_id AS to_work_order_id,
    o.from_recipe_id,
    o.from_recipe_version,
    o.recipe_id AS to_recipe_id,
    o.recipe_version AS to_recipe_version,
    (o.from_recipe_id, o.from_recipe_version)
    IS DISTINCT FROM (o.recipe_id, o.recipe_version) AS recipe_changed,
    coalesce(outgoing.teardown_time_s, 0) + coalesce(incoming.setup_time_s, 0)
    AS planned_duration_s,
    o.planned_start
    + make_interval(
        secs => coalesce(outgoing.teardown_time_s, 0) + coalesce(incoming.setup_time_s, 0)
    ) AS planned_end_ts
FROM ordered AS o
LEFT JOIN curated.recipe AS outgoing
    ON o.from_recipe_id = outgoing.recipe_id AND o.from_recipe_version = outgoing.version
LEFT JOIN curated.recipe AS incoming
    ON o.recipe_id = incoming.recipe_id AND o.recipe_version = incoming.version
WHERE o.from_work_order_id IS NOT NULL
