"""State readings to machine-state intervals, without I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from oee_pipelines.signals import StateCodes, StateTracker
from oee_pipelines.warehouse.records import MachineStateRecord

T0 = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_codes_map_numbers_and_names() -> None:
    codes = StateCodes({"1": "running", "5": "unplanned_stop"})
    assert codes.state(1) == "running"
    assert codes.state(5.0) == "unplanned_stop"
    assert codes.state("5") == "unplanned_stop"
    assert codes.state("idle") == "idle"  # canonical names always map to themselves
    assert codes.state(9) is None
    with pytest.raises(ValueError, match="unknown states: spinning"):
        StateCodes({"7": "spinning"})  # type: ignore[dict-item]


def test_each_change_closes_the_interval_and_opens_the_next() -> None:
    tracker = StateTracker()
    assert tracker.state("M1", at(0), "running") == [
        MachineStateRecord("M1", at(0), None, "running")
    ]
    assert tracker.state("M1", at(5), "running") == []  # no change, no row
    assert tracker.state("M1", at(10), "unplanned_stop") + tracker.reason("M1", at(10), "JAM") == [
        MachineStateRecord("M1", at(0), at(10), "running"),
        MachineStateRecord("M1", at(10), None, "unplanned_stop"),
        MachineStateRecord("M1", at(10), None, "unplanned_stop", "JAM"),  # amended, same key
    ]
    assert tracker.state("M1", at(30), "running") == [
        MachineStateRecord("M1", at(10), at(30), "unplanned_stop", "JAM"),
        MachineStateRecord("M1", at(30), None, "running"),  # a new state starts without reason
    ]


def test_reason_before_state_at_the_same_instant() -> None:
    tracker = StateTracker()
    assert tracker.reason("M1", at(0), "BREAK") == []
    assert tracker.state("M1", at(0), "planned_stop") == [
        MachineStateRecord("M1", at(0), None, "planned_stop", "BREAK")
    ]
    tracker.state("M1", at(10), "running")
    assert tracker.reason("M1", at(20), "JAM") + tracker.state("M1", at(20), "unplanned_stop") == [
        MachineStateRecord("M1", at(10), at(20), "running"),
        MachineStateRecord("M1", at(20), None, "running", "JAM"),
        MachineStateRecord("M1", at(20), None, "unplanned_stop", "JAM"),
    ]


def test_replays_and_late_readings_write_nothing_new() -> None:
    tracker = StateTracker()
    first = tracker.state("M1", at(0), "running") + tracker.state("M1", at(10), "idle")
    assert tracker.state("M1", at(10), "idle") == []  # redelivered
    assert tracker.state("M1", at(5), "blocked") == []  # older than the open interval
    replayed = StateTracker()
    again = replayed.state("M1", at(0), "running") + replayed.state("M1", at(10), "idle")
    assert again == first


def test_resume_continues_the_open_interval() -> None:
    tracker = StateTracker()
    tracker.resume("M1", at(0), "running", None)
    assert tracker.state("M1", at(3), "running") == []
    assert tracker.state("M1", at(7), "offline") == [
        MachineStateRecord("M1", at(0), at(7), "running"),
        MachineStateRecord("M1", at(7), None, "offline"),
    ]
