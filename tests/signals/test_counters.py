"""Counter readings to production-count deltas (contracts.md section 3), without I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from oee_pipelines.signals import (
    SIMULATOR_STATE_CODES,
    Binding,
    CounterTracker,
    MachineSignals,
    Signal,
    counter_delta,
)
from oee_pipelines.warehouse.records import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)
from realtime.source import Decoded

T0 = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("previous", "value", "rollover", "delta"),
    [
        (10, 15, None, 5),  # counting up
        (10, 10, None, 0),
        (500, 3, None, 3),  # a decrease is a reset: the new value is the delta
        (65530, 4, 65536, 10),  # 16-bit wrap from the top 10%
        (4294967290, 5, 4294967296, 11),  # 32-bit wrap
        (30000, 4, 65536, 4),  # a decrease from below the top 10% is a reset, not a wrap
        (58982, 4, 65536, 4),  # just below 0.9 x 65536 = 58982.4
        (58983, 4, 65536, 65536 - 58983 + 4),  # just inside it
    ],
)
def test_counter_delta(previous: int, value: int, rollover: int | None, delta: int) -> None:
    assert counter_delta(previous, value, rollover) == delta


def test_first_reading_gives_no_row_and_later_readings_chain() -> None:
    tracker = CounterTracker()
    assert tracker.reading("M1", "good", at(0), 100) == []
    assert tracker.reading("M1", "good", at(10), 103) == [
        ProductionCountRecord("M1", at(0), at(10), 3, 0)
    ]
    assert tracker.reading("M1", "good", at(20), 103) == []  # nothing counted: no row
    assert tracker.reading("M1", "good", at(30), 104) == [
        ProductionCountRecord("M1", at(10), at(30), 1, 0)
    ]


def test_good_and_reject_at_one_instant_share_one_row() -> None:
    tracker = CounterTracker()
    tracker.reading("M1", "good", at(0), 10)
    tracker.reading("M1", "reject", at(0), 2)
    first = tracker.reading("M1", "good", at(5), 14)
    amended = tracker.reading("M1", "reject", at(5), 3)
    assert first == [ProductionCountRecord("M1", at(0), at(5), 4, 0)]
    # the same key again, with both counters: the warehouse's upsert keeps this one
    assert amended == [ProductionCountRecord("M1", at(0), at(5), 4, 1)]


def test_reset_and_wrap_across_readings() -> None:
    tracker = CounterTracker()
    tracker.reading("M1", "good", at(0), 65000, rollover=65536)
    wrapped = tracker.reading("M1", "good", at(1), 20, rollover=65536)
    reset = tracker.reading("M1", "good", at(2), 7, rollover=65536)
    assert [r.good_count for r in wrapped + reset] == [556, 7]


def test_out_of_order_reading_is_not_counted_twice() -> None:
    tracker = CounterTracker()
    tracker.reading("M1", "good", at(0), 10)
    tracker.reading("M1", "good", at(20), 30)
    assert tracker.reading("M1", "good", at(10), 20) == []  # inside the delta already counted
    assert tracker.reading("M1", "good", at(30), 31) == [
        ProductionCountRecord("M1", at(20), at(30), 1, 0)
    ]


def test_machines_are_independent() -> None:
    tracker = CounterTracker()
    tracker.reading("M1", "good", at(0), 10)
    tracker.reading("M2", "good", at(0), 500)
    assert tracker.reading("M2", "good", at(1), 501)[0].good_count == 1
    assert tracker.reading("M1", "good", at(1), 12)[0].good_count == 2


def test_resume_and_replay_rewrite_the_same_rows() -> None:
    """A restart resumes from the readings as of the last row's start and replays the readings
    after it: the rows come out with the same keys and counts, nothing lost or doubled."""
    readings = [(0, "good", 10), (0, "reject", 1), (5, "good", 12), (5, "reject", 2),
                (9, "good", 15), (12, "reject", 4), (15, "good", 20)]  # fmt: skip
    first_run = CounterTracker()
    rows: dict[dt.datetime, ProductionCountRecord] = {}
    for seconds, counter, value in readings[:5]:  # the service stops after the 5th reading
        for row in first_run.reading("M1", counter, at(seconds), value):
            rows[row.start_ts] = row
    # the warehouse holds the rows and the readings; the last row starts at 5 s
    last_start = max(rows)
    assert last_start == at(5)
    restarted = CounterTracker()
    restarted.resume("M1", last_start, {"good": 12, "reject": 2})
    for seconds, counter, value in readings:
        if at(seconds) > last_start:
            for row in restarted.reading("M1", counter, at(seconds), value):
                rows[row.start_ts] = row

    uninterrupted = CounterTracker()
    expected: dict[dt.datetime, ProductionCountRecord] = {}
    for seconds, counter, value in readings:
        for row in uninterrupted.reading("M1", counter, at(seconds), value):
            expected[row.start_ts] = row
    assert rows == expected
    assert sum(r.good_count for r in rows.values()) == 10
    assert sum(r.reject_count for r in rows.values()) == 3


def test_machine_signals_resume_from_warehouse_rows() -> None:
    """What the service hands over after a restart: the open state, the last count row's start,
    the counters then, and the counter telemetry since (here a row was lost with the process)."""
    signals = MachineSignals(SIMULATOR_STATE_CODES)
    since = [
        TelemetryRecord("M1", "good_count", at(10), 65530),
        TelemetryRecord("M1", "reject_count", at(10), 3),
        TelemetryRecord("M1", "good_count", at(20), 6),  # wrapped at 16 bits
    ]
    rows = signals.resume(
        "M1",
        MachineStateRecord("M1", at(0), None, "running"),
        at(5),
        {"good_count": 65500, "reject_count": 1},
        since,
        {"good_count": 65536},
    )
    assert rows == [
        ProductionCountRecord("M1", at(5), at(10), 30, 0),
        ProductionCountRecord("M1", at(5), at(10), 30, 2),
        ProductionCountRecord("M1", at(10), at(20), 12, 0),
    ]
    out = Decoded()
    signals.reading(Binding("M1", "state", Signal.STATE), at(25), 5, "good", out)
    assert out.states[0] == MachineStateRecord("M1", at(0), at(25), "running")
