"""Each record checks itself field by field, without a database: every value that COPY or a
constraint would refuse for the whole batch is refused for the record, with the field named."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from oee_pipelines.errors import ConfigError
from oee_pipelines.warehouse import (
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    TelemetryRecord,
)
from oee_pipelines.warehouse.records import Rejected

from .conftest import NOW

T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
WINDOW = Plausibility(now=lambda: NOW).window()

STATE = MachineStateRecord("M1", T0, T0 + MINUTE, "running", "OK")
COUNT = ProductionCountRecord("M1", T0, T0 + MINUTE, 10, 1)
VALUE = TelemetryRecord("M1", "temperature", T0, 21.5, unit="degC")

BAD = {
    "count NaN": (COUNT, {"good_count": math.nan}, "good_count is float, not an integer"),
    "count 5.7": (COUNT, {"reject_count": 5.7}, "reject_count is float, not an integer"),
    "count text": (COUNT, {"good_count": "7"}, "good_count is str, not an integer"),
    "count beyond bigint": (COUNT, {"good_count": 2**70}, "good_count is beyond the bigint range"),
    "count of 5000 digits": (
        COUNT,
        {"good_count": 10**5000},
        "good_count is beyond the bigint range",
    ),
    "count bool": (COUNT, {"good_count": True}, "good_count is bool, not an integer"),
    "count negative": (COUNT, {"reject_count": -1}, "reject_count -1 is negative"),
    "naive start, aware end": (
        COUNT,
        {"start_ts": T0.replace(tzinfo=None)},
        "start_ts is a timestamp without timezone",
    ),
    "aware start, naive end": (
        STATE,
        {"end_ts": (T0 + MINUTE).replace(tzinfo=None)},
        "end_ts is a timestamp without timezone",
    ),
    "None start": (STATE, {"start_ts": None}, "start_ts is NoneType, not a datetime"),
    "text timestamp": (COUNT, {"end_ts": "2026-11-20T06:01:00Z"}, "end_ts is str, not a datetime"),
    "end before start": (COUNT, {"end_ts": T0 - MINUTE}, "end_ts is not after start_ts"),
    "NUL in machine id": (STATE, {"machine_id": "M\x001"}, "machine_id contains a NUL byte"),
    "lone surrogate in machine id": (
        COUNT,
        {"machine_id": "M\ud800"},
        "machine_id is not valid Unicode (a lone surrogate)",
    ),
    "machine id not text": (STATE, {"machine_id": 1}, "machine_id is int, not text"),
    "empty machine id": (STATE, {"machine_id": ""}, "machine_id is empty"),
    "machine id too long for the key index": (
        VALUE,
        {"machine_id": "M" * 257},
        "machine_id is longer than 256 characters",
    ),
    "NUL in reason code": (STATE, {"reason_code": "JAM\x00"}, "reason_code contains a NUL byte"),
    "unknown state": (STATE, {"state": "dancing"}, "unknown state 'dancing'"),
    "state not text": (STATE, {"state": ["running"]}, "state is list, not text"),
    "NUL in tag": (VALUE, {"tag": "temp\x00"}, "tag contains a NUL byte"),
    "NUL in text value": (VALUE, {"value_text": "open\x00"}, "value_text contains a NUL byte"),
    "lone surrogate in unit": (
        VALUE,
        {"unit": "\udcff"},
        "unit is not valid Unicode (a lone surrogate)",
    ),
    "None timestamp": (VALUE, {"ts": None}, "ts is NoneType, not a datetime"),
    "date, not datetime": (VALUE, {"ts": T0.date()}, "ts is date, not a datetime"),
    "NaN with unknown quality": (
        VALUE,
        {"value": math.nan, "quality": "weird"},
        "unknown quality 'weird'",
    ),
    "numeric text value": (VALUE, {"value": "7"}, "value is str, not a number"),
    "bool value": (VALUE, {"value": False}, "value is bool, not a number"),
    "value beyond double": (VALUE, {"value": 10**400}, "value is beyond double precision"),
}


@pytest.mark.parametrize(("record", "change", "reason"), BAD.values(), ids=BAD.keys())
def test_a_bad_field_is_rejected_naming_it(record, change: dict, reason: str) -> None:
    with pytest.raises(Rejected) as rejected:
        dataclasses.replace(record, **change).row(WINDOW)
    assert str(rejected.value) == reason


def test_good_records_become_rows_in_utc() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert STATE.row(WINDOW) == ("M1", T0, T0 + MINUTE, "running", "OK")
    assert COUNT.row(WINDOW) == ("M1", T0, T0 + MINUTE, 10, 1)
    row = dataclasses.replace(VALUE, ts=T0.astimezone(berlin), value=21).row(WINDOW)
    assert row == ("M1", "temperature", T0, 21.0, None, "degC", "good")
    assert row[2].tzinfo is dt.UTC and type(row[3]) is float
    assert MachineStateRecord("M1", T0, None, "idle").row(WINDOW)[2] is None


@pytest.mark.parametrize(
    ("value", "text"), [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")]
)
def test_a_non_finite_value_is_kept_as_text_with_quality_bad(value: float, text: str) -> None:
    assert dataclasses.replace(VALUE, value=value).row(WINDOW)[3:] == (None, text, "degC", "bad")
    # A text of its own stays.
    own = dataclasses.replace(VALUE, value=value, value_text="sensor open", quality="uncertain")
    assert own.row(WINDOW)[3:] == (None, "sensor open", "degC", "bad")


def test_timestamps_are_plausible_from_the_earliest_date_to_now_plus_the_clock_skew() -> None:
    plausibility = Plausibility(
        earliest=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        clock_skew=dt.timedelta(seconds=30),
        now=lambda: NOW,
    )
    window = plausibility.window()
    latest = NOW + dt.timedelta(seconds=30)
    for ts in (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), latest):
        assert dataclasses.replace(VALUE, ts=ts).row(window)[2] == ts
    with pytest.raises(Rejected, match=r"^ts 2019-12-31T23:59:59\+00:00 is before the earliest"):
        dataclasses.replace(VALUE, ts=dt.datetime(2019, 12, 31, 23, 59, 59, tzinfo=dt.UTC)).row(
            window
        )
    with pytest.raises(Rejected, match=r"is in the future beyond the clock skew$"):
        dataclasses.replace(VALUE, ts=latest + dt.timedelta(microseconds=1)).row(window)
    # Both ends of an interval are held to it: a PLC clock reset to 1970, a 9999 placeholder.
    with pytest.raises(Rejected, match="^start_ts 1970-01-01"):
        dataclasses.replace(STATE, start_ts=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).row(window)
    with pytest.raises(Rejected, match="^end_ts 9999-12-31"):
        dataclasses.replace(COUNT, end_ts=dt.datetime(9999, 12, 31, tzinfo=dt.UTC)).row(window)


def test_plausibility_refuses_a_naive_earliest_date_and_a_negative_skew() -> None:
    with pytest.raises(ConfigError, match="has no timezone"):
        Plausibility(earliest=dt.datetime(2000, 1, 1))
    with pytest.raises(ConfigError, match="is negative"):
        Plausibility(clock_skew=dt.timedelta(seconds=-1))
