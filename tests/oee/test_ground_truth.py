"""Every row of every OEE mart equals the simulated plant's ground truth (simulator/_truth.py),
over simulated history across the DST changes of both sites: two implementations of the time
model of contracts.md section 3, one in SQL and one in plain Python, checked against each other.

The history goes in through the project's own paths: the whole code location materialized as
`oee demo` does (the simulator_history asset writes states and minute counts, the MES sync the
recipes), then the work orders the lines ran, with their actual start and end, and the planned
maintenance events through the shared context writer (the simulated MES only holds the last
days' orders, and reports no actuals), then the dbt rollups with now pinned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.urls import database_name
from simulator import MARTS, OeeRow, SimulatedPlant
from tests.support.database import create_database, drop_database
from tests.support.pipeline import (
    SEED,
    history_starts,
    materialize_unpartitioned,
    rebuild_rollups,
    write_simulated_context,
)

pytestmark = pytest.mark.slow

# Each window ends on a whole hour, mid-shift on both sites (a shift in progress is measured up to
# now), and holds a DST change: in spring Chicago's on Sunday 8 March and Berlin's on Sunday
# 29 March 2026 (three weeks apart: two windows of a few days, as the rollups of three weeks
# take too long for the suite); in autumn both, Berlin's on Sunday 25 October and Chicago's on
# Sunday 1 November. Chicago has no Sunday shift, so its machines also run outside every shift.
WINDOWS = {
    "spring Chicago": {"days": 3, "until": "2026-03-09T16:00:00+00:00"},
    "spring Berlin": {"days": 3, "until": "2026-03-30T16:00:00+00:00"},
    "autumn": {"days": 9, "until": "2026-11-02T16:00:00+00:00"},
}
KEYS = {
    "oee_machine_hourly": ("machine_id", "period_start"),
    "oee_machine_shift": ("machine_id", "shift_date", "shift_name"),
    "oee_machine_daily": ("machine_id", "shift_date"),
    "oee_line_shift": ("line_id", "shift_date", "shift_name"),
    "oee_line_daily": ("line_id", "shift_date"),
}
PERIODS = ("period_start", "period_end")
"""Compared on the hourly and shift rows; a day row's period is not part of the model."""
MEASURES = (
    "planned_production_s", "run_s", "planned_downtime_s", "unplanned_downtime_s", "ideal_run_s",
    "total_count", "good_count", "reject_count", "availability", "performance", "quality", "oee",
)  # fmt: skip
TOLERANCE = 1e-9


def _differences(mart: str, rows: list[dict[str, Any]], truth: list[OeeRow]) -> list[str]:
    """What differs between the mart's rows and the truth's, one line per row or column."""
    key = KEYS[mart]
    stored = {tuple(row[column] for column in key): row for row in rows}
    expected = {tuple(getattr(one, column) for column in key): one for one in truth}
    found = [f"{mart} {k}: missing from the mart" for k in sorted(expected.keys() - stored.keys())]
    found += [f"{mart} {k}: not in the truth" for k in sorted(stored.keys() - expected.keys())]
    columns = (PERIODS if "daily" not in mart else ()) + MEASURES
    for k in sorted(expected.keys() & stored.keys()):
        row, one = stored[k], dataclasses.asdict(expected[k])
        for column in columns:
            if not _equal(row[column], one[column]):
                found.append(f"{mart} {k} {column}: mart {row[column]!r}, truth {one[column]!r}")
    return found


def _equal(stored: Any, expected: Any) -> bool:
    if stored is None or expected is None or isinstance(expected, dt.datetime):
        return bool(stored == expected)
    return bool(stored == pytest.approx(expected, rel=TOLERANCE, abs=TOLERANCE))


@pytest.fixture(scope="module", params=list(WINDOWS))
def simulated_history(
    request: pytest.FixtureRequest,
    server_url: str,
    template_url: str,
    dbt_manifest: Any,
    plant: PlantModel,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A warehouse per window with the simulated history written and rolled up as of its end."""
    window = WINDOWS[request.param]
    now = str(window["until"])
    url = create_database(server_url, template=database_name(template_url))
    try:
        history = {"ops": {"simulator_history": {"config": window}}}
        assert materialize_unpartitioned(url, now, history).success
        write_simulated_context(url, int(window["days"]), dt.datetime.fromisoformat(now))
        rebuild_rollups(url, now)
        yield url, window
    finally:
        drop_database(server_url, database_name(url))


def test_every_mart_row_equals_the_ground_truth(
    simulated_history: tuple[str, dict[str, Any]], plant: PlantModel
) -> None:
    url, window = simulated_history
    now = dt.datetime.fromisoformat(str(window["until"]))
    starts = history_starts(plant, int(window["days"]), now)
    truth = SimulatedPlant(plant, seed=SEED).marts(starts, now)
    differences = []
    with psycopg.connect(url, row_factory=dict_row) as conn:
        for mart in MARTS:
            rows = conn.execute(f"SELECT * FROM curated.{mart}").fetchall()  # noqa: S608
            differences += _differences(mart, rows, truth[mart])
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:40])
    # The window holds what the model is about: each kind of row, and each rule at work.
    shifts = truth["oee_machine_shift"]
    assert any(one.shift_name == "unscheduled" and one.total_count > 0 for one in shifts)
    assert any((one.performance or 0) > 0 for one in truth["oee_line_shift"])
    nights = [one for one in shifts if one.shift_name in ("night", "third")]
    lengths = {(one.period_end - one.period_start) / dt.timedelta(hours=1) for one in nights}
    assert {7, 8} <= lengths or {8, 9} <= lengths  # a night over a DST change
