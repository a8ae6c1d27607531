"""The walking skeleton end to end: plant model -> simulated history -> dbt rollups, checked
against the simulated plant's own ground truth for every machine and every completed shift."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from dagster import AssetCheckSeverity
from psycopg.rows import dict_row

from oee_pipelines.definitions import SOURCES
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.urls import database_name
from tests.support import second_source
from tests.support.database import create_database, drop_database
from tests.support.pipeline import materialize_unpartitioned

pytestmark = pytest.mark.slow

EIGHT_HOURS = dt.timedelta(hours=8)
# A Monday morning (UTC): Chicago has no Sunday shift, so the last day holds fewer shifts.
NOW = "2026-11-23T06:10:00+00:00"
# The last days before NOW, and a window over both DST changes of autumn 2026: Europe/Berlin on
# Sunday 25 October (the night shift from the 24th lasts 9 h), America/Chicago on Sunday 1 November
# (the third shift from Saturday the 31st lasts 9 h).
WINDOWS = {
    "recent": {"days": 2},
    "autumn DST": {"days": 9, "until": "2026-11-02T18:00:00+00:00"},
}
MEASURES = (
    "planned_production_s", "run_s", "planned_downtime_s", "unplanned_downtime_s", "ideal_run_s",
    "total_count", "good_count", "reject_count", "availability", "performance", "quality", "oee",
)  # fmt: skip


def _materialize_all(database_url: str, history: dict | None = None) -> None:
    result = materialize_unpartitioned(
        database_url,
        NOW,
        {"ops": {"simulator_history": {"config": history or WINDOWS["recent"]}}},
    )
    assert result.success
    # Warnings (the realtime sources' freshness: no realtime data here) do not hold anything back.
    checks = {
        check.check_name: check.passed
        for check in result.get_asset_check_evaluations()
        if check.severity == AssetCheckSeverity.ERROR
    }
    assert {"machine_states_are_consistent", "production_counts_are_consistent"} <= set(checks)
    assert all(checks.values()), checks  # the pandera checks


def _rows(database_url: str, query: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module", params=list(WINDOWS))
def warehouse_after_demo(
    request: pytest.FixtureRequest, server_url: str, template_url: str, dbt_manifest
) -> Iterator[str]:
    """A warehouse per history window, materialized once for the read-only tests."""
    url = create_database(server_url, template=database_name(template_url))
    try:
        _materialize_all(url, WINDOWS[request.param])
        yield url
    finally:
        drop_database(server_url, database_name(url))


def test_a_line_in_series_is_measured_at_its_output_machine(
    warehouse_after_demo: str, plant: PlantModel
) -> None:
    output = {line.id: line.output_machine for _, line in plant.lines()}
    assert all(output.values()), "the simulated plant's lines are in series"
    lines = _rows(
        warehouse_after_demo,
        """
        SELECT l.*, m.machine_id AS counted_at, to_jsonb(m) AS machine
        FROM curated.oee_line_shift l
        JOIN curated.oee_machine_shift m USING (line_id, period_start)
        """,
    )
    counted = [line for line in lines if line["counted_at"] == output[line["line_id"]]]
    assert {line["line_id"] for line in counted} == set(output)
    for line in counted:
        for measure in MEASURES:
            assert line[measure] == pytest.approx(line["machine"][measure], rel=1e-12), measure
    # The stations of a line count the same parts: their sum would be several times the line's.
    stations: dict[tuple, int] = {}
    for line in lines:
        key = (line["line_id"], line["period_start"])
        stations[key] = stations.get(key, 0) + line["machine"]["good_count"]
    assert any(
        stations[(line["line_id"], line["period_start"])] > 1.5 * line["good_count"]
        for line in counted
    )


def test_day_rows_sum_their_shifts_before_dividing(warehouse_after_demo: str) -> None:
    days = _rows(
        warehouse_after_demo,
        """
        SELECT d.machine_id, d.shift_date, d.availability, d.performance, d.quality, d.oee,
               sum(s.run_s) / sum(s.planned_production_s) AS summed_availability,
               sum(s.ideal_run_s) / sum(s.run_s) AS summed_performance,
               sum(s.good_count)::float / sum(s.total_count) AS summed_quality,
               avg(s.performance) AS averaged_performance, count(*) AS shifts
        FROM curated.oee_machine_daily d
        JOIN curated.oee_machine_shift s USING (machine_id, shift_date)
        GROUP BY d.machine_id, d.shift_date, d.availability, d.performance, d.quality, d.oee
        """,
    )
    assert any(day["shifts"] == 3 for day in days)
    for day in days:
        for factor in ("availability", "performance", "quality"):
            assert day[factor] == pytest.approx(day[f"summed_{factor}"], rel=1e-12)
        assert day["oee"] == pytest.approx(
            day["availability"] * day["performance"] * day["quality"], rel=1e-12
        )
    # Shifts run at different speeds, so an average of their ratios would differ.
    assert any(abs(d["summed_performance"] - d["averaged_performance"]) > 1e-6 for d in days)


def test_materializing_again_adds_nothing_twice(database_url: str, dbt_manifest) -> None:
    _materialize_all(database_url)
    count_sql = """
        SELECT (SELECT count(*) FROM curated.machine_state) AS states,
               (SELECT count(*) FROM curated.production_count) AS counts,
               (SELECT count(*) FROM curated.machine) AS machines,
               (SELECT count(*) FROM curated.shift_pattern) AS shifts
    """
    before = _rows(database_url, count_sql)[0]
    _materialize_all(database_url)
    after = _rows(database_url, count_sql)[0]
    assert after["machines"] == before["machines"] == 10
    assert after["shifts"] == before["shifts"] == 6
    assert after["states"] == before["states"] > 0
    assert after["counts"] == before["counts"] > 0
    overlaps = _rows(
        database_url,
        """
        SELECT count(*) AS n FROM curated.machine_state a
        JOIN curated.machine_state b
          ON a.machine_id = b.machine_id AND a.start_ts < b.start_ts AND a.end_ts > b.start_ts
        """,
    )
    assert overlaps[0]["n"] == 0
    audit = _rows(
        database_url,
        "SELECT source_system, status, rows_read FROM audit.sync_log"
        " WHERE source_system <> 'mes' ORDER BY sync_id",  # the MES: tests/mes
    )
    machine_data = [a for a in audit if a["source_system"] != "erp"]  # tests/erp checks the ERP
    assert [(a["source_system"], a["status"]) for a in machine_data] == [
        ("plant_model", "success"), ("simulator", "success"),
    ] * 2  # fmt: skip
    assert all(a["rows_read"] > 0 for a in machine_data)
    assert {a["status"] for a in audit if a["source_system"] == "erp"} == {"success"}


def test_shift_calendar_follows_each_site_timezone(warehouse_after_demo: str) -> None:
    shifts = _rows(
        warehouse_after_demo,
        """
        SELECT site_id, shift_name, shift_date, start_ts, end_ts,
               (start_ts AT TIME ZONE site.timezone)::time AS local_start
        FROM curated.shift JOIN curated.site USING (site_id)
        """,
    )
    local_starts = {(s["site_id"], s["shift_name"]): s["local_start"] for s in shifts}
    assert local_starts[("BER", "night")] == dt.time(22)
    assert local_starts[("CHI", "first")] == dt.time(7)
    assert all(s["local_start"] == local_starts[s["site_id"], s["shift_name"]] for s in shifts)
    assert not [s for s in shifts if s["site_id"] == "CHI" and s["shift_date"].isoweekday() == 7]
    long_nights = {
        (s["site_id"], s["shift_date"])
        for s in shifts
        if s["end_ts"] - s["start_ts"] != EIGHT_HOURS
    }
    # Exactly the nights over a change back from summer time differ: they last 9 hours.
    dst_nights = {("BER", dt.date(2026, 10, 24)), ("CHI", dt.date(2026, 10, 31))}
    assert long_nights == dst_nights & {(s["site_id"], s["shift_date"]) for s in shifts}
    assert all(
        s["end_ts"] - s["start_ts"] == dt.timedelta(hours=9)
        for s in shifts
        if (s["site_id"], s["shift_date"]) in long_nights and s["shift_name"] in ("night", "third")
    )


def test_shifts_carry_the_operators_the_mes_reported(
    warehouse_after_demo: str, request: pytest.FixtureRequest
) -> None:
    shifts = _rows(
        warehouse_after_demo,
        """
        SELECT s.site_id, s.start_ts, s.operator_ids,
               (SELECT array_agg(DISTINCT person ORDER BY person)
                FROM curated.shift_assignment a, unnest(a.operator_ids) AS person
                WHERE a.site_id = s.site_id AND a.shift_start = s.start_ts) AS reported
        FROM curated.shift s
        """,
    )
    assert all(shift["operator_ids"] == shift["reported"] for shift in shifts)
    if request.node.callspec.params["warehouse_after_demo"] == "recent":
        # the simulated MES staffs the last days' shifts, at the calendar's own start instants
        assert [shift for shift in shifts if shift["operator_ids"]]


def test_the_rollups_include_the_rows_of_a_second_source(database_url: str, dbt_manifest) -> None:
    result = materialize_unpartitioned(
        database_url,
        NOW,
        {"ops": {"simulator_history": {"config": WINDOWS["recent"]}}},
        sources=(*SOURCES, second_source.definitions),
    )
    assert result.success
    sources = _rows(database_url, "SELECT DISTINCT source FROM curated.machine_state")
    assert {row["source"] for row in sources} == {"simulator", "test"}
    running_from = dt.datetime.fromisoformat(NOW) - second_source.RUNNING_HOUR_BEFORE_NOW
    shift = _rows(
        database_url,
        f"""
        SELECT run_s, planned_production_s FROM curated.oee_machine_shift
        WHERE machine_id = '{second_source.MACHINE}'
          AND period_start <= '{running_from}' AND period_end > '{running_from}'
        """,
    )
    # Berlin's early shift, 8 h less its 30 min break (plant.yaml): planned downtime, not loss.
    assert [(row["run_s"], row["planned_production_s"]) for row in shift] == [(3600.0, 7.5 * 3600)]
