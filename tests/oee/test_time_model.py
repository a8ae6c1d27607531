"""The time model of the rollups (issue 12), one hand-worked case per edge.

One warehouse holds every case, each on a machine (and a line) of its own, written through the
project's plant model writer, warehouse writer and counter tracker, and rolled up once by the dbt
assets with now pinned to MONDAY_0610. Every expected number is worked out in the comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from oee_pipelines.errors import PlantModelError
from oee_pipelines.plant_model import LossModel, PlantModel, load_plant_model
from oee_pipelines.signals import CounterTracker
from oee_pipelines.warehouse import (
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    WarehouseWriter,
    open_pool,
)
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from oee_pipelines.warehouse.urls import database_name
from tests.oee.test_dbt_rollups import MONDAY_0610, _rebuild_rollups
from tests.support.database import create_database, drop_database

D = dt.date(2026, 11, 20)  # a Friday; site S1 and S3 are in UTC
MINUTE = dt.timedelta(minutes=1)
UTC_CASES = {  # machine -> ideal cycle time (s), each alone on line L-<machine>
    "STOP": 2.0, "LUNCH": 2.0, "PLAN": 2.0, "CO": 1.0, "LATE": 2.0, "NULLS": 2.0, "FAST": 2.0,
    "CTR": 2.0,
}  # fmt: skip


def _at(hour: float, day: dt.date = D) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(hours=hour)


def _line(line_id: str, machines: dict[str, float]) -> dict[str, Any]:
    return {
        "id": line_id,
        "name": line_id,
        "machines": [
            {"id": m, "name": m, "ideal_cycle_time_s": ict} for m, ict in machines.items()
        ],
    }


def _plant(**loss_model: Any) -> PlantModel:
    """S1 (UTC): early 06-14 with lunch 11:00-11:30, late 14-22, no night; DST (Berlin): night
    22-06 only; S3 (UTC): three shifts, line L3 of three machines in parallel; S2 (UTC): early
    06-14, machine CFG, with the given loss model."""
    return PlantModel.model_validate(
        {
            "sites": [
                {
                    "id": "S1",
                    "name": "S1",
                    "timezone": "UTC",
                    "shifts": [
                        {
                            "name": "early",
                            "start": "06:00",
                            "end": "14:00",
                            "breaks": [{"start": "11:00", "end": "11:30"}],
                        },
                        {"name": "late", "start": "14:00", "end": "22:00"},
                    ],
                    "lines": [_line(f"L-{m}", {m: ict}) for m, ict in UTC_CASES.items()],
                },
                {
                    "id": "DST",
                    "name": "DST",
                    "timezone": "Europe/Berlin",
                    "shifts": [{"name": "night", "start": "22:00", "end": "06:00"}],
                    "lines": [_line("L-NIGHT", {"NIGHT": 1.0})],
                },
                {
                    "id": "S3",
                    "name": "S3",
                    "timezone": "UTC",
                    "shifts": [
                        {"name": "A", "start": "06:00", "end": "14:00"},
                        {"name": "B", "start": "14:00", "end": "22:00"},
                        {"name": "C", "start": "22:00", "end": "06:00"},
                    ],
                    "lines": [_line("L3", {"M3A": 2.0, "M3B": 4.0, "M3C": 1.0})],
                },
                {
                    "id": "S2",
                    "name": "S2",
                    "timezone": "UTC",
                    "loss_model": loss_model,
                    "shifts": [{"name": "early", "start": "06:00", "end": "14:00"}],
                    "lines": [_line("L-CFG", {"CFG": 2.0})],
                },
            ]
        }
    )


def _state(
    machine: str, start: dt.datetime, end: dt.datetime, state: str, reason: str | None = None
):
    return MachineStateRecord(machine, start, end, state, reason)


def _count(machine: str, start: dt.datetime, end: dt.datetime, good: int, reject: int = 0):
    return ProductionCountRecord(machine, start, end, good, reject)


def _states() -> list[MachineStateRecord]:
    night = dt.date(2026, 3, 28), dt.date(2026, 10, 24)
    return [
        _state("STOP", _at(6), _at(13.5), "running"),
        _state("STOP", _at(13.5), _at(14.5), "unplanned_stop", "JAM"),
        _state("STOP", _at(14.5), _at(22), "running"),
        _state("LUNCH", _at(6), _at(11), "running"),
        _state("LUNCH", _at(11), _at(11.5), "idle"),
        _state("LUNCH", _at(11.5), _at(14), "running"),
        _state("PLAN", _at(6), _at(8), "running"),
        _state("PLAN", _at(8), _at(9), "planned_stop"),
        _state("PLAN", _at(9), _at(10), "idle"),
        _state("PLAN", _at(10), _at(14), "running"),
        _state("CO", _at(6), _at(10), "running"),
        _state("CO", _at(10), _at(10.5), "changeover"),
        _state("CO", _at(10.5), _at(14), "running"),
        _state("LATE", _at(20), _at(23), "running"),
        _state("NULLS", _at(6), _at(14), "planned_stop"),
        _state("NULLS", _at(14), _at(22), "idle"),
        _state("FAST", _at(6), _at(14), "running"),
        _state("CTR", _at(6), _at(14), "running"),
        # Berlin nights: 22:00 CET = 21:00 UTC to 06:00 CEST = 04:00 UTC (7 h), and
        # 22:00 CEST = 20:00 UTC to 06:00 CET = 05:00 UTC (9 h)
        _state("NIGHT", _at(21, night[0]), _at(28, night[0]), "running"),
        _state("NIGHT", _at(20, night[1]), _at(29, night[1]), "running"),
        _state("M3A", _at(6), _at(18), "running"),
        _state("M3A", _at(18), _at(22), "idle"),
        _state("M3A", _at(22), _at(30), "running"),
        _state("M3B", _at(6), _at(14), "idle"),
        _state("M3B", _at(14), _at(24), "running"),
        _state("M3B", _at(24), _at(30), "idle"),
        _state("M3C", _at(6), _at(10), "running"),
        _state("M3C", _at(10), _at(14), "unplanned_stop"),
        _state("CFG", _at(6), _at(10), "running"),
        _state("CFG", _at(10), _at(10.5), "changeover"),
        _state("CFG", _at(10.5), _at(10.5) + MINUTE, "unplanned_stop"),
        _state("CFG", _at(10.5) + MINUTE, _at(14), "running"),
    ]


def _counter_readings() -> list[ProductionCountRecord]:
    """CTR's good-part counter, a 16-bit PLC word, read every two hours: 65,000 at 06:00, 65,530
    at 08:00 (+530), 4 at 10:00 (a wrap from the top 10 %: 65,536 - 65,530 + 4 = +10), 1,004 at
    12:00 (+1,000), 300 at 13:00 (a reset from below the top 10 %: +300). 1,840 parts."""
    tracker = CounterTracker()
    readings = [(6, 65_000), (8, 65_530), (10, 4), (12, 1_004), (13, 300)]
    return [
        record
        for hour, value in readings
        for record in tracker.reading("CTR", "good", _at(hour), value, rollover=65_536)
    ]


def _counts() -> list[ProductionCountRecord]:
    return [
        _count("STOP", _at(13), _at(15), 1_200),
        _count("CO", _at(6), _at(9), 5_400),
        _count("CO", _at(9), _at(11), 1_500, 100),
        _count("CO", _at(11), _at(14), 3_600),
        _count("LATE", _at(20), _at(23), 3_600),
        _count("FAST", _at(6), _at(14), 18_000),
        _count("NIGHT", _at(21, dt.date(2026, 3, 28)), _at(28, dt.date(2026, 3, 28)), 25_200),
        _count("M3A", _at(6), _at(14), 14_400),
        _count("M3A", _at(14), _at(18), 3_600),
        _count("M3A", _at(22), _at(30), 7_200),
        _count("M3B", _at(14), _at(22), 7_200),
        _count("M3B", _at(22), _at(24), 1_600, 200),
        _count("M3C", _at(6), _at(10), 14_400),
        _count("CFG", _at(6), _at(14), 12_600),
        *_counter_readings(),
    ]


def _context(conn: psycopg.Connection) -> None:
    """CO's line runs recipe R2 (2.0 s) 06:00-10:00, then R3 (3.0 s) 10:30-14:00; PLAN has a
    planned maintenance 08:30-09:30 over its planned stop 08:00-09:00."""
    conn.execute(
        "INSERT INTO curated.recipe (recipe_id, version, product_sku, line_id,"
        " ideal_cycle_time_s, valid_from, source) VALUES"
        " ('R2', '1', 'SKU2', 'L-CO', 2.0, '2026-01-01', 'test'),"
        " ('R3', '1', 'SKU3', 'L-CO', 3.0, '2026-01-01', 'test')"
    )
    conn.execute(
        "INSERT INTO curated.work_order (work_order_id, site_id, line_id, product_sku, recipe_id,"
        " recipe_version, actual_start, actual_end, status, source) VALUES"
        " ('WO1', 'S1', 'L-CO', 'SKU2', 'R2', '1', %s, %s, 'completed', 'test'),"
        " ('WO2', 'S1', 'L-CO', 'SKU3', 'R3', '1', %s, %s, 'completed', 'test')",
        (_at(6), _at(10), _at(10.5), _at(14)),
    )
    conn.execute(
        "INSERT INTO curated.downtime_event (machine_id, start_ts, end_ts, category, reason_code,"
        " source) VALUES ('PLAN', %s, %s, 'planned', 'MAINT', 'test')",
        (_at(8.5), _at(9.5)),
    )


def _load(url: str, plant: PlantModel) -> None:
    with open_pool(url) as pool:
        with pool.connection() as conn, conn.transaction():
            upsert_hierarchy(conn, plant)
            _context(conn)
        writer = WarehouseWriter(pool, Plausibility(now=lambda: MONDAY_0610))
        writer.write_machine_states(_states(), "test")
        writer.write_production_counts(_counts(), "test")


@pytest.fixture(scope="module")
def cases(server_url: str, template_url: str, dbt_manifest) -> Iterator[str]:
    url = create_database(server_url, template=database_name(template_url))
    try:
        _load(url, _plant())
        _rebuild_rollups(url)
        yield url
    finally:
        drop_database(server_url, database_name(url))


def _rows(url: str, query: str, params: tuple = ()) -> list[dict]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def _shift(url: str, machine: str, name: str, day: dt.date = D, table="oee_machine_shift") -> dict:
    key = "machine_id" if table.startswith("oee_machine") else "line_id"
    rows = _rows(
        url,
        f"SELECT * FROM curated.{table} WHERE {key} = %s AND shift_date = %s"  # noqa: S608
        + (" AND shift_name = %s" if name else ""),
        (machine, day, name) if name else (machine, day),
    )
    assert len(rows) == 1, rows
    return rows[0]


def _times(row: dict) -> tuple:
    return (
        row["planned_production_s"],
        row["run_s"],
        row["planned_downtime_s"],
        row["unplanned_downtime_s"],
    )


def test_a_stop_across_a_shift_change_is_split_at_the_change(cases: str) -> None:
    # JAM 13:30-14:30: 30 min in each shift. early: runs 06:00-13:30 (lunch included: running
    # in a break is run) = 27,000 s of 28,800; late: 14:30-22:00 = 27,000 s.
    early, late = _shift(cases, "STOP", "early"), _shift(cases, "STOP", "late")
    assert _times(early) == _times(late) == (28_800, 27_000, 0, 1_800)
    # 1,200 parts counted 13:00-15:00: half before 14:00, half after, at 2 s each.
    for row in (early, late):
        assert (row["good_count"], row["total_count"], row["ideal_run_s"]) == (600, 600, 1_200)
        assert isinstance(row["good_count"], float)  # shares of count intervals
    # The hour 13:00-14:00 UTC: run 13:00-13:30, JAM 13:30-14:00, 600 parts.
    hour = _rows(
        cases,
        "SELECT * FROM curated.oee_machine_hourly WHERE machine_id = 'STOP' AND period_start = %s",
        (_at(13),),
    )[0]
    assert _times(hour) == (3_600, 1_800, 0, 1_800)
    assert (hour["good_count"], hour["period_end"], hour["shift_name"]) == (600, _at(14), None)
    pareto = _rows(cases, "SELECT * FROM curated.downtime_pareto WHERE machine_id = 'STOP'")
    assert [
        (r["reason_code"], r["downtime_s"], r["event_count"], r["reason_rank"]) for r in pareto
    ] == [("JAM", 3_600, 1, 1)]


def test_running_inside_a_planned_lunch_is_run_and_idling_in_it_is_planned_downtime(
    cases: str,
) -> None:
    # STOP ran through lunch 11:00-11:30 (above: no planned downtime); LUNCH idled in it:
    # 1,800 s planned downtime, planned production 28,800 - 1,800 = 27,000, all of it run.
    lunch = _shift(cases, "LUNCH", "early")
    assert _times(lunch) == (27_000, 27_000, 1_800, 0)
    assert lunch["availability"] == 1


def test_a_planned_stop_overlapping_a_planned_event_counts_once(cases: str) -> None:
    # planned_stop 08:00-09:00 and maintenance 08:30-09:30: planned downtime 08:00-09:30 =
    # 5,400 s (not 7,200); idle 09:30-10:00 is loss (1,800 s); runs 06-08 and 10-14 (lunch
    # included) = 21,600 s; planned production 28,800 - 5,400 = 23,400 = 21,600 + 1,800.
    assert _times(_shift(cases, "PLAN", "early")) == (23_400, 21_600, 5_400, 1_800)


def test_a_changeover_between_recipes_prices_each_part_at_the_recipe_in_force(cases: str) -> None:
    co = _shift(cases, "CO", "early")
    # changeover 10:00-10:30 is availability loss (default loss model).
    assert _times(co) == (28_800, 27_000, 0, 1_800)
    # 5,400 parts 06-09 at R2's 2.0 s = 10,800; 1,600 parts 09-11 split by time: 800 (09-10) at
    # 2.0 s = 1,600, 400 (10:00-10:30, no order: the machine's 1.0 s) = 400, 400 (10:30-11) at
    # R3's 3.0 s = 1,200; 3,600 parts 11-14 at 3.0 s = 10,800. Together 24,800 s.
    assert co["ideal_run_s"] == pytest.approx(24_800, rel=1e-12)
    assert (co["total_count"], co["good_count"], co["reject_count"]) == pytest.approx(
        (10_600, 10_500, 100), rel=1e-12
    )
    assert co["performance"] == pytest.approx(24_800 / 27_000, rel=1e-12)
    assert co["quality"] == pytest.approx(10_500 / 10_600, rel=1e-12)


def test_running_after_the_last_shift_is_an_unscheduled_row(cases: str) -> None:
    late = _shift(cases, "LATE", "late")
    # states only from 20:00: 14:00-20:00 is planned production without any state (loss).
    assert _times(late) == (28_800, 7_200, 0, 21_600)
    # 2 of the 3 h of 3,600 parts
    assert (late["good_count"], late["ideal_run_s"]) == pytest.approx((2_400, 4_800), rel=1e-12)
    unscheduled = _shift(cases, "LATE", "unscheduled")
    assert (unscheduled["period_start"], unscheduled["period_end"]) == (_at(22), _at(23))
    assert _times(unscheduled) == (3_600, 3_600, 0, 0)
    assert (unscheduled["good_count"], unscheduled["availability"]) == pytest.approx((1_200, 1))
    day = _shift(cases, "LATE", "", table="oee_machine_daily")
    assert _times(day) == (32_400, 10_800, 0, 21_600)
    assert (day["period_start"], day["period_end"]) == (_at(14), _at(23))
    assert day["good_count"] == pytest.approx(3_600, rel=1e-12)
    line = _shift(cases, "L-LATE", "unscheduled", table="oee_line_shift")
    assert _times(line) == _times(unscheduled)
    missing = _rows(
        cases,
        "SELECT * FROM curated.data_quality_issue WHERE check_name = 'states_missing'",
    )
    assert [(r["machine_id"], r["period_start"], r["details"]["missing_s"]) for r in missing] == [
        ("LATE", _at(14), 21_600)
    ]


def test_a_shift_without_production_has_null_ratios(cases: str) -> None:
    stopped, idle = _shift(cases, "NULLS", "early"), _shift(cases, "NULLS", "late")
    assert _times(stopped) == (0, 0, 28_800, 0)  # all planned: nothing to divide by
    assert [stopped[k] for k in ("availability", "performance", "quality", "oee")] == [None] * 4
    assert _times(idle) == (28_800, 0, 0, 28_800)
    assert [idle[k] for k in ("availability", "performance", "quality", "oee")] == [
        0,
        None,
        None,
        None,
    ]


def test_performance_above_one_is_kept_and_raises_a_data_quality_issue(cases: str) -> None:
    # 18,000 parts at 2 s = 36,000 s of ideal run in 28,800 s of running.
    fast = _shift(cases, "FAST", "early")
    assert fast["performance"] == pytest.approx(1.25, rel=1e-12)
    issues = _rows(
        cases, "SELECT * FROM curated.data_quality_issue WHERE check_name = 'performance_above_one'"
    )
    assert [(i["machine_id"], i["period_start"], i["period_end"]) for i in issues] == [
        ("FAST", _at(6), _at(14))
    ]
    assert issues[0]["details"]["ideal_cycle_times_s"] == [2.0]
    assert issues[0]["details"]["performance"] == pytest.approx(1.25, rel=1e-12)


def test_a_counter_wrap_and_a_reset_mid_shift_count_their_deltas(cases: str) -> None:
    ctr = _shift(cases, "CTR", "early")
    assert (ctr["good_count"], ctr["ideal_run_s"]) == pytest.approx((1_840, 3_680), rel=1e-12)


def test_night_shifts_over_both_dst_changes_last_seven_and_nine_hours(cases: str) -> None:
    spring = _shift(cases, "NIGHT", "night", dt.date(2026, 3, 28))
    autumn = _shift(cases, "NIGHT", "night", dt.date(2026, 10, 24))
    assert (spring["period_start"], spring["period_end"]) == (
        _at(21, dt.date(2026, 3, 28)),
        _at(4, dt.date(2026, 3, 29)),
    )
    assert _times(spring) == (25_200, 25_200, 0, 0)
    assert _times(autumn) == (32_400, 32_400, 0, 0)
    assert spring["oee"] == pytest.approx(1.0, rel=1e-12)  # 25,200 parts at 1 s in 7 h
    # The night counts wholly to the date it starts on; the hours are the 7 UTC hours.
    day = _shift(cases, "NIGHT", "", dt.date(2026, 3, 28), table="oee_machine_daily")
    assert _times(day) == _times(spring)
    hours = _rows(
        cases,
        "SELECT run_s FROM curated.oee_machine_hourly WHERE machine_id = 'NIGHT'"
        " AND period_start < '2026-06-01'",
    )
    assert [h["run_s"] for h in hours] == [3_600] * 7


def test_a_line_of_three_machines_over_three_shifts_sums_then_divides(cases: str) -> None:
    # A: M3A runs 8 h, 14,400 parts at 2 s; M3B idles 8 h; M3C runs 4 h, 14,400 parts at 1 s.
    a = _shift(cases, "L3", "A", table="oee_line_shift")
    assert (a["planned_production_s"], a["run_s"]) == (86_400, 43_200)
    assert a["ideal_run_s"] == pytest.approx(43_200, rel=1e-12)
    # B: M3A runs 4 h, 3,600 parts (7,200 s); M3B runs 8 h, 7,200 parts at 4 s (28,800 s).
    # C (22-06): M3A runs 8 h, 7,200 parts (14,400 s); M3B runs 2 h, 1,800 parts (7,200 s).
    day = _shift(cases, "L3", "", table="oee_line_daily")
    planned = 86_400 + 57_600 + 57_600
    run = 43_200 + 43_200 + 36_000
    ideal = 43_200 + 36_000 + 21_600
    good, total = 28_800 + 10_800 + 8_800, 28_800 + 10_800 + 9_000
    assert (day["planned_production_s"], day["run_s"]) == (planned, run)
    assert day["ideal_run_s"] == pytest.approx(ideal, rel=1e-12)
    assert (day["good_count"], day["total_count"]) == pytest.approx((good, total), rel=1e-12)
    assert day["oee"] == pytest.approx(run / planned * ideal / run * good / total, rel=1e-12)
    assert day["period_end"] == _at(30)  # the night of D ends on D + 1


def test_every_row_records_the_default_loss_model(cases: str) -> None:
    fingerprints = _rows(
        cases,
        "SELECT DISTINCT loss_model FROM curated.oee_machine_shift UNION"
        " SELECT DISTINCT loss_model FROM curated.oee_line_daily UNION"
        " SELECT DISTINCT loss_model FROM curated.oee_machine_hourly",
    )
    assert fingerprints == [{"loss_model": LossModel().fingerprint}]


def test_the_loss_model_changes_the_numbers_and_the_fingerprint(database_url: str) -> None:
    # CFG: runs 06-10 and 10:31-14 (26,940 s), changeover 10:00-10:30, a 60 s stop; 12,600 parts
    # at 2 s = 25,200 s. Loaded with ISO's default loss model first.
    _load(database_url, _plant())
    _rebuild_rollups(database_url)
    iso = _shift(database_url, "CFG", "early")
    assert _times(iso) == (28_800, 26_940, 0, 1_860)
    assert iso["performance"] == pytest.approx(25_200 / 26_940, rel=1e-12)
    # Micro-stops under 120 s and changeover as performance loss: all 28,800 s are run.
    changed = LossModel(micro_stop_threshold_s=120, changeover="performance")
    with open_pool(database_url) as pool, pool.connection() as conn:
        upsert_hierarchy(conn, _plant(micro_stop_threshold_s=120, changeover="performance"))
    _rebuild_rollups(database_url)
    row = _shift(database_url, "CFG", "early")
    assert _times(row) == (28_800, 28_800, 0, 0)
    assert row["performance"] == pytest.approx(25_200 / 28_800, rel=1e-12)
    assert (iso["loss_model"], row["loss_model"]) == (LossModel().fingerprint, changed.fingerprint)
    assert changed.fingerprint != LossModel().fingerprint


def test_a_site_written_without_a_loss_model_has_the_default_one(pool) -> None:
    with pool.connection() as conn:  # the pool fixture inserts S1 without naming a loss model
        stored = conn.execute("SELECT loss_model FROM curated.site").fetchone()[0]
    assert stored == LossModel().fingerprint


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (
            {"start": "06:00", "end": "14:00", "breaks": [{"start": "13:45", "end": "14:15"}]},
            "not inside",
        ),
        (
            {"start": "22:00", "end": "06:00", "breaks": [{"start": "21:00", "end": "21:30"}]},
            "not inside",
        ),
        (
            {
                "start": "06:00",
                "end": "14:00",
                "breaks": [{"start": "10:00", "end": "10:30"}, {"start": "10:15", "end": "10:45"}],
            },
            "overlap",
        ),
    ],
)
def test_a_break_outside_its_shift_or_over_another_is_refused(shift: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlantModel.model_validate(
            {
                "sites": [
                    {
                        "id": "S",
                        "name": "S",
                        "timezone": "UTC",
                        "shifts": [{"name": "x", **shift}],
                        "lines": [_line("L", {"M": 1.0})],
                    }
                ]
            }
        )


@pytest.mark.parametrize(
    "loss_model", [{"changeover": "quality"}, {"excluded_states": ["no_order"]}]
)
def test_a_loss_model_names_known_losses_and_states(loss_model: dict) -> None:
    with pytest.raises(ValueError, match="loss_model"):
        _plant(**loss_model)


def test_the_plant_model_error_names_a_bad_break(tmp_path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(
        "sites: [{id: S, name: S, timezone: UTC, lines: [{id: L, name: L, machines: [{id: M,"
        " name: M, ideal_cycle_time_s: 1}]}], shifts: [{name: x, start: '06:00', end: '14:00',"
        " breaks: [{start: '15:00', end: '15:30'}]}]}]"
    )
    with pytest.raises(PlantModelError, match="sites.0.shifts.0"):
        load_plant_model(path)
