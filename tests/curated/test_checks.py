"""The blocking pandera checks on machine data: overlapping intervals are caught and reported."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from psycopg_pool import ConnectionPool

from assets.curated.checks import (
    MACHINE_STATE_SCHEMA,
    machine_states_are_consistent,
    production_counts_are_consistent,
    validate,
)
from oee_pipelines.warehouse import MachineStateRecord, ProductionCountRecord, WarehouseWriter
from resources import ClockResource, WarehouseResource

MINUTE = dt.timedelta(minutes=1)
NOW = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)
CLOCK = ClockResource(pinned=NOW.isoformat())


def test_an_open_interval_before_another_one_is_an_overlap() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    frame = pd.DataFrame(
        [("M", t, t + MINUTE, "running"), ("M", t + MINUTE, None, "idle"), ("N", t, None, "idle"),
         ("N", t + 2 * MINUTE, t + 3 * MINUTE, "running")],
        columns=["machine_id", "start_ts", "end_ts", "state"],
    )  # fmt: skip
    result = validate(MACHINE_STATE_SCHEMA, frame)
    assert not result.passed
    assert result.metadata["failing_rows"].value == 1
    assert result.metadata["checks_failed"].value == ["intervals_do_not_overlap"]


def test_checks_pass_on_clean_data_and_fail_on_overlaps_in_the_warehouse(
    database_url: str, pool: ConnectionPool
) -> None:
    warehouse = WarehouseResource(database_url=database_url)
    writer = WarehouseWriter(pool)
    start = NOW - 60 * MINUTE
    writer.write_machine_states(
        [MachineStateRecord("M1", start, start + 10 * MINUTE, "running"),
         MachineStateRecord("M1", start + 10 * MINUTE, None, "idle")], "test",
    )  # fmt: skip
    writer.write_production_counts(
        [ProductionCountRecord("M1", start, start + MINUTE, 30, 1)], "test"
    )
    assert machine_states_are_consistent(warehouse=warehouse, clock=CLOCK).passed
    assert production_counts_are_consistent(warehouse=warehouse, clock=CLOCK).passed

    # A second source reports the same stop a little later: the intervals now overlap.
    writer.write_machine_states(
        [MachineStateRecord("M1", start + 5 * MINUTE, start + 12 * MINUTE, "idle")], "mes"
    )
    writer.write_production_counts(
        [ProductionCountRecord("M1", start + 30 * dt.timedelta(seconds=1), start + 2 * MINUTE,
                               5, 0)], "mes",
    )  # fmt: skip
    states = machine_states_are_consistent(warehouse=warehouse, clock=CLOCK)
    counts = production_counts_are_consistent(warehouse=warehouse, clock=CLOCK)
    assert not states.passed and states.metadata["failing_rows"].value == 2
    assert not counts.passed and counts.metadata["failing_rows"].value == 1


def test_an_empty_window_passes() -> None:
    frame = pd.DataFrame([], columns=["machine_id", "start_ts", "end_ts", "state"])
    result = validate(MACHINE_STATE_SCHEMA, frame)
    assert result.passed
    assert result.metadata["rows_checked"].value == 0


def test_a_row_far_in_the_future_does_not_blind_the_checks(
    database_url: str, pool: ConnectionPool
) -> None:
    """The window is anchored on now: a 9999 row (here written past the writer's plausibility
    check, as an old version or a manual INSERT could) must not hide the overlaps of today."""
    start = NOW - 60 * MINUTE
    WarehouseWriter(pool).write_machine_states(
        [MachineStateRecord("M1", start, start + 10 * MINUTE, "running"),
         MachineStateRecord("M1", start + 5 * MINUTE, start + 12 * MINUTE, "idle")], "test",
    )  # fmt: skip
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO curated.machine_state (machine_id, start_ts, end_ts, state, source)"
            " VALUES ('M1', '9999-12-31T00:00Z', '9999-12-31T01:00Z', 'running', 'manual')"
        )
    result = machine_states_are_consistent(
        warehouse=WarehouseResource(database_url=database_url), clock=CLOCK
    )
    assert not result.passed
    assert result.metadata["rows_checked"].value == 3
