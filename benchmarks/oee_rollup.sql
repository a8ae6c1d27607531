-- The benchmark's baseline: machine-shift OEE straight from the base tables, written plainly.
-- It holds for the ISO 22400 default loss model (every benchmark site has it) and planned windows
-- that are the shift breaks alone (the benchmark reports no downtime events); the benchmark
-- checks its numbers against oee_machine_shift. Parameters: %(first_day)s, %(last_day)s, %(now)s.
WITH occurrence AS (
    SELECT
        p.site_id,
        p.shift_name,
        d.day::date AS shift_date,
        (d.day::date + p.start_local) AT TIME ZONE s.timezone AS start_ts,
        (d.day::date + (p.end_local <= p.start_local)::int + p.end_local)
        AT TIME ZONE s.timezone AS end_ts
    FROM curated.shift_pattern AS p
    INNER JOIN curated.site AS s ON p.site_id = s.site_id
    CROSS JOIN generate_series(%(first_day)s::date - 1, %(last_day)s::date, '1 day') AS d (day)
    WHERE extract(ISODOW FROM d.day) = any(p.isodays)
),

shift AS (
    SELECT
        o.site_id,
        o.shift_name,
        o.shift_date,
        o.start_ts,
        least(o.end_ts, %(now)s::timestamptz) AS end_ts
    FROM occurrence AS o
    WHERE o.start_ts < %(now)s::timestamptz
),

pause AS (
    SELECT
        o.site_id,
        o.shift_date,
        o.shift_name,
        (o.shift_date + (b.start_local < p.start_local)::int + b.start_local)
        AT TIME ZONE s.timezone AS start_ts,
        (o.shift_date + (b.end_local <= p.start_local)::int + b.end_local)
        AT TIME ZONE s.timezone AS end_ts
    FROM occurrence AS o
    INNER JOIN curated.shift_pattern AS p
        ON o.site_id = p.site_id AND o.shift_name = p.shift_name
    INNER JOIN curated.shift_break AS b
        ON o.site_id = b.site_id AND o.shift_name = b.shift_name
    INNER JOIN curated.site AS s ON o.site_id = s.site_id
),

machine_shift AS (
    SELECT
        m.machine_id,
        m.line_id,
        m.site_id,
        m.ideal_cycle_time_s,
        coalesce(l.output_machine_id, m.machine_id) = m.machine_id AS paced,
        sh.shift_date,
        sh.shift_name,
        sh.start_ts,
        sh.end_ts
    FROM curated.machine AS m
    INNER JOIN curated.line AS l ON m.line_id = l.line_id
    INNER JOIN shift AS sh ON m.site_id = sh.site_id
),

-- Where states are measured: each machine-shift, and each break in it.
state_window AS (
    SELECT machine_id, start_ts, start_ts AS lo, end_ts AS hi, false AS is_break
    FROM machine_shift
    UNION ALL
    SELECT ms.machine_id, ms.start_ts, pa.start_ts, least(pa.end_ts, ms.end_ts), true
    FROM machine_shift AS ms
    INNER JOIN pause AS pa
        ON
            ms.site_id = pa.site_id
            AND ms.shift_date = pa.shift_date
            AND ms.shift_name = pa.shift_name
            AND pa.start_ts < ms.end_ts
),

-- A state's seconds inside a window (no state lasts 7 days in the benchmark's data).
state_seconds AS (
    SELECT
        w.machine_id,
        w.start_ts,
        w.is_break,
        st.state,
        sum(extract(
            EPOCH FROM least(coalesce(st.end_ts, %(now)s), w.hi) - greatest(st.start_ts, w.lo)
        )) AS seconds
    FROM state_window AS w
    INNER JOIN curated.machine_state AS st
        ON
            w.machine_id = st.machine_id
            AND st.start_ts < w.hi
            AND st.start_ts > w.lo - interval '7 days'
            AND coalesce(st.end_ts, %(now)s) > w.lo
    GROUP BY w.machine_id, w.start_ts, w.is_break, st.state
),

break_seconds AS (
    SELECT machine_id, start_ts, sum(extract(EPOCH FROM hi - lo)) AS seconds
    FROM state_window
    WHERE is_break
    GROUP BY machine_id, start_ts
),

-- In a shift: running is run; planned_stop, and anything else in a break (no state included),
-- is planned downtime; the rest is unplanned downtime.
time_sums AS (
    SELECT
        ms.machine_id,
        ms.start_ts,
        extract(EPOCH FROM ms.end_ts - ms.start_ts) AS length_s,
        coalesce(max(b.seconds), 0) AS break_s,
        coalesce(sum(s.seconds) FILTER (
            WHERE NOT s.is_break AND s.state = 'running'
        ), 0) AS run_s,
        coalesce(sum(s.seconds) FILTER (
            WHERE NOT s.is_break AND s.state = 'planned_stop'
        ), 0) AS planned_stop_s,
        coalesce(sum(s.seconds) FILTER (
            WHERE s.is_break AND s.state NOT IN ('running', 'planned_stop')
        ), 0) AS other_in_break_s,
        coalesce(sum(s.seconds) FILTER (WHERE s.is_break), 0) AS covered_break_s
    FROM machine_shift AS ms
    INNER JOIN state_seconds AS s ON ms.machine_id = s.machine_id AND ms.start_ts = s.start_ts
    LEFT JOIN break_seconds AS b ON ms.machine_id = b.machine_id AND ms.start_ts = b.start_ts
    GROUP BY ms.machine_id, ms.start_ts, ms.end_ts
    HAVING bool_or(NOT s.is_break)
),

-- Where counts are measured: each machine-shift at the machine's ideal cycle time, plus, on
-- the machine that paces its line, each work order in it at what its recipe adds to that.
count_window AS (
    SELECT machine_id, start_ts, start_ts AS lo, end_ts AS hi, 1 AS counted, ideal_cycle_time_s AS cycle_s
    FROM machine_shift
    UNION ALL
    SELECT
        ms.machine_id,
        ms.start_ts,
        greatest(wo.actual_start, ms.start_ts),
        least(coalesce(wo.actual_end, %(now)s), ms.end_ts),
        0,
        r.ideal_cycle_time_s - ms.ideal_cycle_time_s
    FROM machine_shift AS ms
    INNER JOIN curated.work_order AS wo
        ON
            ms.line_id = wo.line_id
            AND wo.actual_start < ms.end_ts
            AND coalesce(wo.actual_end, %(now)s) > ms.start_ts
    INNER JOIN curated.recipe AS r
        ON wo.recipe_id = r.recipe_id AND wo.recipe_version = r.version
    WHERE ms.paced
),

-- A count's share of a window: its overlap over its length (no count lasts a day here); a
-- zero-length count goes wholly to the window holding its start.
count_sums AS (
    SELECT
        w.machine_id,
        w.start_ts,
        sum(w.counted * pc.good_count * x.share) AS good_count,
        sum(w.counted * pc.reject_count * x.share) AS reject_count,
        sum(w.cycle_s * (pc.good_count + pc.reject_count) * x.share) AS ideal_run_s
    FROM count_window AS w
    INNER JOIN curated.production_count AS pc
        ON
            w.machine_id = pc.machine_id
            AND pc.start_ts < w.hi
            AND pc.start_ts > w.lo - interval '1 day'
            AND (pc.end_ts > w.lo OR (pc.end_ts = pc.start_ts AND pc.start_ts >= w.lo))
    CROSS JOIN LATERAL (
        SELECT
            CASE
                WHEN pc.end_ts = pc.start_ts THEN 1.0
                ELSE
                    extract(EPOCH FROM least(pc.end_ts, w.hi) - greatest(pc.start_ts, w.lo))
                    / extract(EPOCH FROM pc.end_ts - pc.start_ts)
            END AS share
    ) AS x
    GROUP BY w.machine_id, w.start_ts
)

SELECT
    t.machine_id,
    t.start_ts AS period_start,
    t.run_s,
    t.planned_stop_s + t.other_in_break_s + (t.break_s - t.covered_break_s) AS planned_downtime_s,
    t.length_s - t.planned_stop_s - t.other_in_break_s - (t.break_s - t.covered_break_s)
    AS planned_production_s,
    coalesce(c.ideal_run_s, 0) AS ideal_run_s,
    coalesce(c.good_count, 0) AS good_count,
    coalesce(c.reject_count, 0) AS reject_count
FROM time_sums AS t
LEFT JOIN count_sums AS c ON t.machine_id = c.machine_id AND t.start_ts = c.start_ts
ORDER BY t.machine_id, t.start_ts
