-- Parts made per ended work order, counted at the machines where its line counts
-- (%(lines)s/%(machines)s pairs: the output machine of a line in series, else every machine),
-- over the order's actual times, else its planned ones.
WITH counting AS (
    SELECT * FROM unnest(%(lines)s::text [], %(machines)s::text []) AS c (line_id, machine_id)
),

ended AS (
    SELECT
        work_order_id,
        site_id,
        line_id,
        coalesce(actual_start, planned_start) AS start_ts,
        coalesce(actual_end, planned_end) AS end_ts
    FROM curated.work_order
    WHERE
        status <> 'cancelled'
        AND coalesce(actual_end, planned_end) <= %(now)s
        AND coalesce(actual_start, planned_start) IS NOT null
)

SELECT
    ended.work_order_id,
    ended.site_id,
    ended.start_ts,
    ended.end_ts,
    coalesce(sum(pc.good_count), 0) AS good_count,
    coalesce(sum(pc.reject_count), 0) AS reject_count
FROM ended
INNER JOIN counting ON ended.line_id = counting.line_id
LEFT JOIN curated.production_count AS pc
    ON
        counting.machine_id = pc.machine_id
        AND ended.start_ts <= pc.start_ts
        AND pc.start_ts < ended.end_ts
GROUP BY ended.work_order_id, ended.site_id, ended.start_ts, ended.end_ts
ORDER BY ended.work_order_id
