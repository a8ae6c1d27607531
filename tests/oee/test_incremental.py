"""Late data recomputes exactly the periods it touches: a build after late counts, a deleted
stretch of states and a corrected work order rewrites only the rows of the machines, lines and
shift dates concerned, and its rollups equal a full rebuild; so does a build an hour later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from oee_pipelines.warehouse.urls import database_name
from tests.support.database import create_database, drop_database
from tests.support.pipeline import (
    materialize_unpartitioned,
    rebuild_rollups,
    write_simulated_context,
)

NOW = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)
MACHINE_MARTS = ("oee_machine_hourly", "oee_machine_shift", "oee_machine_daily", "downtime_pareto")
LINE_MARTS = ("oee_line_shift", "oee_line_daily")
# The late data: counts of Berlin's filler across Sunday's 22:00 shift change (local), and
# Chicago's first CNC without states on Saturday evening (local).
LATE_COUNTS = (
    "UPDATE curated.production_count SET good_count = good_count + 5"
    " WHERE machine_id = 'BER-L1-FILLER'"
    " AND start_ts >= '2026-11-22 20:30+00' AND start_ts < '2026-11-22 21:30+00'"
)
LOST_STATES = (
    "DELETE FROM curated.machine_state WHERE machine_id = 'CHI-L1-CNC1'"
    " AND start_ts >= '2026-11-22 01:00+00' AND start_ts < '2026-11-22 02:00+00'"
)
# A completed order of BER-L2 whose end the MES corrects: every machine of the line.
CORRECTED_ORDER = (
    "UPDATE curated.work_order SET actual_end = actual_end - interval '20 minutes'"
    " WHERE work_order_id = (SELECT work_order_id FROM curated.work_order"
    " WHERE line_id = 'BER-L2' AND actual_end < '2026-11-22 00:00+00'"
    " ORDER BY actual_end DESC LIMIT 1)"
)


def _rows(url: str, query: str) -> list[dict]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query).fetchall()


def _marts(url: str) -> dict[str, list[dict]]:
    return {
        table: _rows(url, f"SELECT * FROM curated.{table} ORDER BY 1, 2, 3, 4, 5")  # noqa: S608
        for table in (*MACHINE_MARTS, *LINE_MARTS)
    }


def _versions(url: str, table: str, key: str) -> dict[tuple, str]:
    """Each row's key and the transaction that wrote it (xmin): rewritten rows get a new one."""
    period = "reason_code" if table == "downtime_pareto" else "period_start"
    rows = _rows(
        url,
        f"SELECT {key} AS key, shift_date, {period} AS period, xmin::text AS written"  # noqa: S608
        f" FROM curated.{table}",
    )
    return {(r["key"], r["shift_date"], r["period"]): r["written"] for r in rows}


def _rewritten(before: dict[tuple, str], after: dict[tuple, str]) -> set[tuple]:
    """(key, shift_date) of the rows that are new or were written again."""
    return {
        (key, date)
        for (key, date, period), written in after.items()
        if before.get((key, date, period)) != written
    }


def _assert_equal(incremental: dict[str, list[dict]], full: dict[str, list[dict]]) -> None:
    for table, rows in full.items():
        assert len(incremental[table]) == len(rows), table
        for built, expected in zip(incremental[table], rows, strict=True):
            assert built.keys() == expected.keys()
            for column, value in expected.items():
                if isinstance(value, float):
                    assert built[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
                else:
                    assert built[column] == value, (table, column)


@pytest.fixture(scope="module")
def rolled_up(server_url: str, template_url: str, dbt_manifest) -> Iterator[str]:
    """Three days of history up to Monday 06:10 UTC with its orders, rolled up as of then; each
    test leaves it rolled up in full as of then."""
    url = create_database(server_url, template=database_name(template_url))
    try:
        run_config = {"ops": {"simulator_history": {"config": {"days": 3}}}}
        assert materialize_unpartitioned(url, NOW.isoformat(), run_config).success
        write_simulated_context(url, 3, NOW)
        rebuild_rollups(url, NOW.isoformat())
        yield url
    finally:
        drop_database(server_url, database_name(url))


def test_late_data_rewrites_only_its_periods_and_equals_a_full_rebuild(rolled_up: str) -> None:
    url = rolled_up
    before = {table: _versions(url, table, "machine_id") for table in MACHINE_MARTS}
    before_lines = {table: _versions(url, table, "line_id") for table in LINE_MARTS}
    with psycopg.connect(url) as conn:
        for statement in (LATE_COUNTS, LOST_STATES, CORRECTED_ORDER):
            assert conn.execute(statement).rowcount > 0, statement

    rebuild_rollups(url, NOW.isoformat())

    saturday, sunday = dt.date(2026, 11, 21), dt.date(2026, 11, 22)
    shifts = _rewritten(
        before["oee_machine_shift"], _versions(url, "oee_machine_shift", "machine_id")
    )
    assert ("BER-L1-FILLER", sunday) in shifts  # its late and night shift of Sunday
    assert ("CHI-L1-CNC1", saturday) in shifts  # Saturday's second shift, in Chicago's time
    assert {machine for machine, _ in shifts} == {
        "BER-L1-FILLER", "CHI-L1-CNC1", "BER-L2-PRESS1", "BER-L2-PRESS2", "BER-L2-DEBURR",
    }  # fmt: skip
    assert {date for machine, date in shifts if machine == "BER-L1-FILLER"} == {sunday}
    assert {date for machine, date in shifts if machine == "CHI-L1-CNC1"} == {saturday}
    for table in ("oee_machine_daily", "downtime_pareto"):
        rewritten = _rewritten(before[table], _versions(url, table, "machine_id"))
        assert rewritten <= shifts, table
    lines = _rewritten(before_lines["oee_line_shift"], _versions(url, "oee_line_shift", "line_id"))
    assert {line for line, _ in lines} == {"BER-L1", "CHI-L1", "BER-L2"}
    assert ("BER-L1", sunday) in lines and ("CHI-L1", saturday) in lines
    hours = _rewritten(
        before["oee_machine_hourly"], _versions(url, "oee_machine_hourly", "machine_id")
    )
    assert {machine for machine, _ in hours} <= {machine for machine, _ in shifts}

    incremental = _marts(url)
    rebuild_rollups(url, NOW.isoformat(), full_refresh=True)
    _assert_equal(incremental, _marts(url))


def test_an_hour_later_the_periods_in_progress_equal_a_full_rebuild(rolled_up: str) -> None:
    url = rolled_up
    later = (NOW + dt.timedelta(hours=1)).isoformat()
    rebuild_rollups(url, later)
    incremental = _marts(url)
    assert max(row["period_end"] for row in incremental["oee_machine_shift"]) == NOW + dt.timedelta(
        hours=1
    )
    rebuild_rollups(url, later, full_refresh=True)
    _assert_equal(incremental, _marts(url))
    # and back to the earlier now: the rows of the later hour go again
    rebuild_rollups(url, NOW.isoformat())
    back = _marts(url)
    assert max(row["period_end"] for row in back["oee_machine_shift"]) == NOW
    rebuild_rollups(url, NOW.isoformat(), full_refresh=True)
    _assert_equal(back, _marts(url))


def test_a_data_quality_issue_goes_when_late_data_fills_its_gap(rolled_up: str) -> None:
    url = rolled_up
    issues = (
        "SELECT period_start FROM curated.data_quality_issue"
        " WHERE check_name = 'states_missing' AND machine_id = 'CHI-L1-CNC2'"
    )
    gap = (
        "machine_id = 'CHI-L1-CNC2'"
        " AND start_ts >= '2026-11-22 01:00+00' AND start_ts < '2026-11-22 02:00+00'"
    )
    assert _rows(url, issues) == []
    with psycopg.connect(url) as conn:  # an hour of Saturday's second shift (local) lost
        conn.execute(f"CREATE TABLE public.gap AS SELECT * FROM curated.machine_state WHERE {gap}")  # noqa: S608
        assert conn.execute(f"DELETE FROM curated.machine_state WHERE {gap}").rowcount > 0  # noqa: S608
    rebuild_rollups(url, NOW.isoformat())
    assert [row["period_start"] for row in _rows(url, issues)] == [
        dt.datetime(2026, 11, 21, 21, tzinfo=dt.UTC)  # 15:00 in Chicago
    ]
    with psycopg.connect(url) as conn:  # and then backfilled from the historian
        conn.execute("INSERT INTO curated.machine_state SELECT * FROM public.gap")
        conn.execute("DROP TABLE public.gap")
    rebuild_rollups(url, NOW.isoformat())
    assert _rows(url, issues) == []


def test_an_open_stop_is_recomputed_from_its_start_only_while_it_may_be_a_micro_stop(
    rolled_up: str,
) -> None:
    url = rolled_up
    later = (NOW + dt.timedelta(hours=1)).isoformat()
    # Open since 05:50 in Berlin, in Sunday's night shift: a micro-stop as of NOW (80 minutes,
    # under the 90-minute threshold), too long an hour later; and an idle spell open since
    # Saturday, which counts the same whatever now is.
    open_states = (
        ("BER-L1-FILLER", "unplanned_stop", dt.datetime(2026, 11, 23, 4, 50, tzinfo=dt.UTC)),
        ("BER-L1-CAPPER", "idle", dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)),
    )
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE curated.site SET micro_stop_threshold_s = 5400 WHERE site_id = 'BER'")
        for machine, state, since in open_states:
            conn.execute(
                "DELETE FROM curated.machine_state WHERE machine_id = %s AND start_ts >= %s",
                (machine, since),
            )
            conn.execute(
                "UPDATE curated.machine_state SET end_ts = %s"
                " WHERE machine_id = %s AND end_ts > %s",
                (since, machine, since),
            )
            conn.execute(
                "INSERT INTO curated.machine_state (machine_id, start_ts, state, source)"
                " VALUES (%s, %s, %s, 'test')",
                (machine, since, state),
            )
    rebuild_rollups(url, NOW.isoformat())  # the loss model changed: everything
    before = _versions(url, "oee_machine_shift", "machine_id")

    rebuild_rollups(url, later)

    rewritten = _rewritten(before, _versions(url, "oee_machine_shift", "machine_id"))
    sunday, monday = dt.date(2026, 11, 22), dt.date(2026, 11, 23)
    assert {date for machine, date in rewritten if machine == "BER-L1-FILLER"} == {sunday, monday}
    assert {date for machine, date in rewritten if machine == "BER-L1-CAPPER"} == {monday}
    incremental = _marts(url)
    rebuild_rollups(url, later, full_refresh=True)
    _assert_equal(incremental, _marts(url))
    with psycopg.connect(url) as conn:  # the other tests' loss model, rolled up as of NOW
        conn.execute("UPDATE curated.site SET micro_stop_threshold_s = 0 WHERE site_id = 'BER'")
    rebuild_rollups(url, NOW.isoformat())
