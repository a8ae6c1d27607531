"""Line rollups, worked by hand: a line in parallel sums its machines, a line in series is
measured at its output machine, and a day sums its shifts before dividing."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse import (
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    WarehouseWriter,
)
from tests.oee.test_dbt_rollups import MONDAY_0610, _rebuild_rollups

FRIDAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _at(hour: int) -> dt.datetime:
    return FRIDAY + dt.timedelta(hours=hour)


def _plant(pool: ConnectionPool) -> None:
    """Site S1 (UTC), one shift 06:00-14:00 every day; line L1 in parallel (M1 at 2 s, M2 at
    4 s a part), line L2 in series (M3, then M4 where its parts are counted)."""
    with pool.connection() as conn:
        conn.execute("INSERT INTO curated.machine VALUES ('M2', 'L1', 'S1', 'Machine 2', 4.0)")
        conn.execute("INSERT INTO curated.line VALUES ('L2', 'S1', 'Line 2')")
        conn.execute("INSERT INTO curated.machine VALUES ('M3', 'L2', 'S1', 'Machine 3', 2.0)")
        conn.execute("INSERT INTO curated.machine VALUES ('M4', 'L2', 'S1', 'Machine 4', 2.0)")
        conn.execute("UPDATE curated.line SET output_machine_id = 'M4' WHERE line_id = 'L2'")
        conn.execute(
            "INSERT INTO curated.shift_pattern VALUES ('S1', 'day', '06:00', '14:00', %s)",
            ([1, 2, 3, 4, 5, 6, 7],),
        )
    writer = WarehouseWriter(pool, Plausibility(now=lambda: MONDAY_0610))
    writer.write_machine_states(
        [
            MachineStateRecord("M1", _at(6), _at(12), "running"),
            MachineStateRecord("M1", _at(12), _at(13), "planned_stop"),
            MachineStateRecord("M1", _at(13), _at(14), "idle"),
            MachineStateRecord("M2", _at(6), _at(14), "running"),
            MachineStateRecord("M3", _at(6), _at(14), "running"),
            MachineStateRecord("M4", _at(6), _at(10), "running"),
            MachineStateRecord("M4", _at(10), _at(14), "unplanned_stop"),
        ],
        "test",
    )
    writer.write_production_counts(
        [
            ProductionCountRecord("M1", _at(6), _at(12), 9000, 100),
            ProductionCountRecord("M2", _at(6), _at(14), 6000, 0),
            ProductionCountRecord("M3", _at(6), _at(14), 14000, 0),
            ProductionCountRecord("M4", _at(6), _at(10), 7000, 200),
        ],
        "test",
    )


def _row(database_url: str, table: str, line_id: str) -> dict:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            f"SELECT * FROM curated.{table} WHERE line_id = %s",  # noqa: S608 - our tables
            (line_id,),
        ).fetchall()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("table", ["oee_line_shift", "oee_line_daily"])
def test_lines_in_parallel_sum_and_lines_in_series_count_at_their_output_machine(
    pool: ConnectionPool, database_url: str, dbt_manifest, table: str
) -> None:
    _plant(pool)
    _rebuild_rollups(database_url)
    parallel, series = _row(database_url, table, "L1"), _row(database_url, table, "L2")
    # L1: M1 plans 8 h - 1 h planned stop, runs 6 h, makes 9,100 parts at 2 s; M2 plans and
    # runs 8 h and makes 6,000 parts at 4 s.
    assert parallel["planned_production_s"] == 25_200 + 28_800
    assert parallel["run_s"] == 21_600 + 28_800
    assert parallel["ideal_run_s"] == 9_100 * 2 + 6_000 * 4
    assert (parallel["total_count"], parallel["good_count"]) == (15_100, 15_000)
    assert parallel["availability"] == pytest.approx(50_400 / 54_000, rel=1e-12)
    assert parallel["performance"] == pytest.approx(42_200 / 50_400, rel=1e-12)
    assert parallel["oee"] == pytest.approx(
        50_400 / 54_000 * 42_200 / 50_400 * 15_000 / 15_100, rel=1e-12
    )
    # L2: the bottle M3 made is the one M4 made; M4 ran 4 of 8 h and made 7,200 parts.
    assert (series["planned_production_s"], series["run_s"]) == (28_800, 14_400)
    assert (series["total_count"], series["good_count"], series["reject_count"]) == (
        7_200,
        7_000,
        200,
    )
    assert series["oee"] == pytest.approx(0.5 * 1.0 * 7_000 / 7_200, rel=1e-12)
