"""Time of the OEE rollups (the whole dbt build) against one hand-written query computing the
same machine-shift OEE from the base tables, and of the update after one more hour of data.

The plant model's lines are copied until there are `--machines` machines (the demo plant has
10); their states (a 15-minute pattern of running, stops, a planned stop now and then), minute
counts and 4-hour work orders alternating two recipes (1.0 and 1.5 times the output machine's
cycle time) over `--days` days, and `--telemetry` telemetry rows, are generated with SQL
generate_series in a scratch database `oee_benchmark_rollup` on the OEE_DATABASE_URL server (or
the embedded one). `value` is the wall time of `dbt build` (dbt's start-up included), with now
pinned to the end of the data; `baseline` the wall time of benchmarks/oee_rollup.sql, whose rows
are checked against oee_machine_shift; `incremental_s` the wall time of the `dbt build` after
one more hour of states and counts arrives, now an hour later, which recomputes only that
hour's shift dates and, as the hourly job does, leaves out the unchanged views;
`incremental_next_s` the median wall time of the next five such builds, an hour apart as the
hourly schedule runs them (the first after a full build finds its tables freshly written). The
rows after the last are checked against a `dbt build --full-refresh`.

    python -m benchmarks.oee_rollup [--machines 50] [--days 30] [--telemetry 10000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from benchmarks import scratch_warehouse
from oee_pipelines.dbt_project import BUILD_FLAGS, DBT_EXECUTABLE, dbt_run_env
from oee_pipelines.plant_model import Line, PlantModel, load_plant_model
from oee_pipelines.settings import DBT_PROJECT_DIR, Settings
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy

DATABASE = "oee_benchmark_rollup"
END = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
"""Now at the end of the data: a month after both sites' autumn DST changes."""
HOUR = dt.timedelta(hours=1)
NEXT_HOURS = 5
BASELINE = Path(__file__).with_suffix(".sql")
INCREMENTAL_MARTS = ("oee_machine_hourly", "oee_machine_shift", "oee_line_shift", "oee_line_daily")
UNCHANGED_VIEWS = ("--exclude", "config.materialized:view")
"""The hourly job leaves out the views the warehouse holds from their current SQL (assets/oee):
here all of them, built by the full build."""
MEASURES = ("planned_production_s", "run_s", "planned_downtime_s", "ideal_run_s", "good_count")

# Every 15 minutes per machine: running for 12, then a stop chosen by a hash of machine and slot.
STATES = """
INSERT INTO curated.machine_state (machine_id, start_ts, end_ts, state, reason_code, source)
SELECT m.machine_id, s.start_ts, s.end_ts, s.state, s.reason_code, 'benchmark'
FROM curated.machine AS m
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '15 min',
    interval '15 min') AS t (slot)
CROSS JOIN LATERAL (VALUES
    (t.slot, t.slot + interval '12 min', 'running', NULL),
    (t.slot + interval '12 min', t.slot + interval '15 min',
        (ARRAY['unplanned_stop', 'idle', 'starved', 'planned_stop'])[
            1 + abs(hashtext(m.machine_id || t.slot::text)) %% 4],
        'BENCHMARK')
) AS s (start_ts, end_ts, state, reason_code)
"""
COUNTS = """
INSERT INTO curated.production_count
    (machine_id, start_ts, end_ts, good_count, reject_count, source)
SELECT m.machine_id, t.minute, t.minute + interval '1 min',
    greatest(1, round(45 / m.ideal_cycle_time_s))::bigint
        + abs(hashtext(m.machine_id || t.minute::text)) %% 3,
    (abs(hashtext(t.minute::text || m.machine_id)) %% 20 = 0)::int, 'benchmark'
FROM curated.machine AS m
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 min',
    interval '1 min') AS t (minute)
"""
RECIPES = """
INSERT INTO curated.recipe
    (recipe_id, version, product_sku, line_id, ideal_cycle_time_s, valid_from, source)
SELECT l.line_id || '-R' || k, '1', l.line_id || '-SKU' || k, l.line_id,
    m.ideal_cycle_time_s * (ARRAY[1.0, 1.5])[k], %(start)s, 'benchmark'
FROM curated.line AS l
INNER JOIN curated.machine AS m ON m.machine_id = l.output_machine_id
CROSS JOIN generate_series(1, 2) AS k
"""
WORK_ORDERS = """
INSERT INTO curated.work_order (work_order_id, site_id, line_id, product_sku, recipe_id,
    recipe_version, planned_start, planned_end, actual_start, actual_end, status, source)
SELECT l.line_id || '-' || to_char(t.start_ts, 'YYYYMMDDHH24'), l.site_id, l.line_id,
    l.line_id || '-SKU' || k.k, l.line_id || '-R' || k.k, '1', t.start_ts,
    t.start_ts + interval '4 hours', t.start_ts, t.start_ts + interval '4 hours', 'completed',
    'benchmark'
FROM curated.line AS l
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '4 hours',
    interval '4 hours') AS t (start_ts)
CROSS JOIN LATERAL (SELECT 1 + (extract(EPOCH FROM t.start_ts)::bigint / 14400) %% 2 AS k) AS k
"""
TELEMETRY = """
INSERT INTO curated.telemetry (machine_id, tag, ts, site_id, line_id, value, unit, source)
SELECT m.machine_id, 'temperature', %(end)s::timestamptz - (i / m.n) * interval '1 second',
    m.site_id, m.line_id, 20 + (i %% 1000) / 100.0, 'degC', 'benchmark'
FROM generate_series(0, %(rows)s - 1) AS i
INNER JOIN (
    SELECT machine_id, site_id, line_id, row_number() OVER (ORDER BY machine_id) - 1 AS k,
        count(*) OVER () AS n
    FROM curated.machine
) AS m ON i %% m.n = m.k
"""


def _copies(plant: PlantModel, machines: int) -> PlantModel:
    """The plant model with its lines copied (ids suffixed -2, -3, ...) up to `machines`."""
    per_copy = len(plant.machines())
    copies = max(1, math.ceil(machines / per_copy))

    def copy(line: Line, k: int) -> Line:
        suffix = f"-{k}" if k > 1 else ""
        return line.model_copy(
            update={
                "id": line.id + suffix,
                "output_machine": line.output_machine and line.output_machine + suffix,
                "machines": tuple(
                    m.model_copy(update={"id": m.id + suffix, "tag_map": {}}) for m in line.machines
                ),
            }
        )

    sites = tuple(
        site.model_copy(
            update={
                "lines": tuple(copy(line, k) for k in range(1, copies + 1) for line in site.lines)
            }
        )
        for site in plant.sites
    )
    return PlantModel(sites=sites)


def _dbt_build(url: str, now: dt.datetime, *flags: str) -> float:
    """Seconds of `dbt build` of the whole project (as the Dagster asset runs it), now pinned."""
    started = time.perf_counter()
    with dbt_run_env(url, now.isoformat()):
        subprocess.run(
            [DBT_EXECUTABLE, "build", "--quiet", *BUILD_FLAGS, *flags],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)},
            check=True,
        )
    return time.perf_counter() - started


def _next_hour(conn: psycopg.Connection[Any], url: str, hours: int) -> float:
    """The `hours`-th hour of states and counts after END, then the build as of its end."""
    hour = {"start": END + (hours - 1) * HOUR, "end": END + hours * HOUR, "rows": 0}
    for statement in (STATES, COUNTS):
        conn.execute(statement, hour)
    conn.commit()
    return _dbt_build(url, END + hours * HOUR, *UNCHANGED_VIEWS)


def _marts(conn: psycopg.Connection[Any]) -> dict[str, list[dict[str, Any]]]:
    marts = {
        table: conn.execute(f"SELECT * FROM curated.{table} ORDER BY 1, 2, 3, 4, 5").fetchall()  # noqa: S608
        for table in INCREMENTAL_MARTS
    }
    conn.commit()  # no lock left for dbt's rebuild to wait on
    return marts


def _check_incremental(
    incremental: dict[str, list[dict[str, Any]]], full: dict[str, list[dict[str, Any]]]
) -> int:
    """The rows after the incremental build equal a full rebuild's; how many were compared."""
    for table, rows in full.items():
        assert len(incremental[table]) == len(rows), f"{table}: row counts differ"
        for built, expected in zip(incremental[table], rows, strict=True):
            for column, value in expected.items():
                same = (
                    math.isclose(built[column], value, rel_tol=1e-9, abs_tol=1e-6)
                    if isinstance(value, float)
                    else built[column] == value
                )
                assert same, f"{table} {column}: incremental {built[column]}, full {value}"
    return sum(len(rows) for rows in full.values())


def _baseline(
    conn: psycopg.Connection[Any], start: dt.datetime, now: dt.datetime
) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    rows = conn.execute(
        BASELINE.read_text(encoding="utf-8"),
        {"first_day": start.date(), "last_day": now.date(), "now": now},
    ).fetchall()
    return time.perf_counter() - started, rows


def _check(conn: psycopg.Connection[Any], baseline: list[dict[str, Any]]) -> int:
    """The baseline's rows equal the mart's shift rows; how many were compared."""
    mart = {
        (row["machine_id"], row["period_start"]): row
        for row in conn.execute(
            "SELECT * FROM curated.oee_machine_shift WHERE shift_name <> 'unscheduled'"
        ).fetchall()
    }
    assert len(mart) == len(baseline), f"mart {len(mart)} rows, baseline {len(baseline)}"
    for row in baseline:
        stored = mart[(row["machine_id"], row["period_start"])]
        for measure in MEASURES:
            assert math.isclose(stored[measure], row[measure], rel_tol=1e-9, abs_tol=1e-6), (
                f"{row['machine_id']} {row['period_start']} {measure}: "
                f"mart {stored[measure]}, baseline {row[measure]}"
            )
    return len(baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=50, help="Machines (default 50).")
    parser.add_argument("--days", type=int, default=30, help="Days of history (default 30).")
    parser.add_argument(
        "--telemetry", type=int, default=10_000_000, help="Telemetry rows (default 10 million)."
    )
    args = parser.parse_args()
    settings = Settings.from_env()
    plant = _copies(load_plant_model(settings.plant_model), args.machines)
    start = END - dt.timedelta(days=args.days)
    with (
        scratch_warehouse(settings, DATABASE) as url,
        psycopg.connect(url, row_factory=dict_row) as conn,
    ):
        with psycopg.connect(url) as plain:
            upsert_hierarchy(plain, plant)
        window = {"start": start, "end": END, "rows": args.telemetry}
        for statement in (STATES, COUNTS, RECIPES, WORK_ORDERS, TELEMETRY):
            conn.execute(statement, window)
            conn.commit()
        conn.execute("ANALYZE")
        full_s = _dbt_build(url, END)
        baseline_s, baseline = _baseline(conn, start, END)
        compared = _check(conn, baseline)
        incremental_s = _next_hour(conn, url, 1)
        next_s = [_next_hour(conn, url, hours) for hours in range(2, 2 + NEXT_HOURS)]
        incremental = _marts(conn)
        _dbt_build(url, END + (1 + NEXT_HOURS) * HOUR, "--full-refresh")
        rows_compared = _check_incremental(incremental, _marts(conn))
    print(
        json.dumps(
            {
                "benchmark": "oee_rollup",
                "unit": "s",
                "value": round(full_s, 3),
                "baseline": {
                    "name": "hand-written machine-shift SQL",
                    "value": round(baseline_s, 3),
                },
                "ratio": round(full_s / baseline_s, 3),
                "incremental_s": round(incremental_s, 3),
                "incremental_next_s": round(statistics.median(next_s), 3),
                "params": {
                    "machines": len(plant.machines()),
                    "days": args.days,
                    "telemetry_rows": args.telemetry,
                    "machine_shifts_compared": compared,
                    "incremental_rows_equal_to_full_rebuild": rows_compared,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
