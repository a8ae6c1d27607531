"""The rows that every source hands to the warehouse writer, whatever protocol it speaks.

Each record checks itself field by field and returns the row the warehouse stores, or raises
`Rejected` naming the field and the problem. The checks are exactly what COPY and the table's
constraints would otherwise refuse for the whole batch (wrong types, NUL bytes, lone surrogates,
integers beyond bigint, naive or implausible timestamps, unknown vocabulary), so one record's
problem never reaches the database.

Telemetry values that are not finite (NaN, +Infinity, -Infinity, as a failed sensor reports
them) are kept, not dead-lettered: the reading happened. The row stores value NULL, the value's
PostgreSQL spelling ('NaN', 'Infinity', '-Infinity') in value_text unless the record brings a
text of its own, and quality 'bad', so that aggregates over `value` never turn into NaN.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from oee_pipelines.errors import ConfigError
from oee_pipelines.vocabulary import MACHINE_STATES, QUALITIES

MAX_KEY_LENGTH = 256
"""Longest machine id or tag: key columns must fit a btree index entry (about 2.7 kB)."""
_BIGINT_MAX = 2**63 - 1
_NON_FINITE_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # clock-ok: the production default; tests pass their own


@dataclass(frozen=True, slots=True)
class Plausibility:
    """Which timestamps a record may carry: none before `earliest` (a PLC clock reset to 1970),
    none after now plus `clock_skew` (a clock running ahead, a 9999 placeholder)."""

    earliest: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)
    now: Callable[[], dt.datetime] = _utc_now

    def __post_init__(self) -> None:
        if self.earliest.utcoffset() is None:
            raise ConfigError(f"earliest plausible timestamp {self.earliest} has no timezone")
        if self.clock_skew < dt.timedelta(0):
            raise ConfigError(f"clock skew {self.clock_skew} is negative")

    def window(self) -> Window:
        """The plausible instants as of now; taken once per batch."""
        latest = self.now() + self.clock_skew
        return Window(self.earliest.astimezone(dt.UTC), latest.astimezone(dt.UTC))


@dataclass(frozen=True, slots=True)
class Window:
    earliest: dt.datetime
    latest: dt.datetime


class Rejected(ValueError):
    """A record the warehouse cannot accept; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class MachineStateRecord:
    machine_id: str
    start_ts: dt.datetime
    end_ts: dt.datetime | None
    state: str
    reason_code: str | None = None

    def row(self, window: Window) -> tuple:
        """The fields as stored, in declaration order; raises `Rejected`."""
        start = _instant("start_ts", self.start_ts, window)
        end = None if self.end_ts is None else _instant("end_ts", self.end_ts, window)
        if end is not None and end <= start:
            raise Rejected("end_ts is not after start_ts")
        return (
            _key("machine_id", self.machine_id),
            start,
            end,
            _member("state", self.state, MACHINE_STATES),
            _optional_text("reason_code", self.reason_code),
        )


@dataclass(frozen=True, slots=True)
class ProductionCountRecord:
    machine_id: str
    start_ts: dt.datetime
    end_ts: dt.datetime
    good_count: int
    reject_count: int

    def row(self, window: Window) -> tuple:
        """The fields as stored, in declaration order; raises `Rejected`."""
        start = _instant("start_ts", self.start_ts, window)
        end = _instant("end_ts", self.end_ts, window)
        if end <= start:
            raise Rejected("end_ts is not after start_ts")
        return (
            _key("machine_id", self.machine_id),
            start,
            end,
            _count("good_count", self.good_count),
            _count("reject_count", self.reject_count),
        )


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    machine_id: str
    tag: str
    ts: dt.datetime
    value: float | None
    value_text: str | None = None
    unit: str | None = None
    quality: str = "good"

    def row(self, window: Window) -> tuple:
        """The fields as stored, in declaration order; raises `Rejected`.

        A non-finite value is stored as NULL with its text and quality 'bad' (module docstring).
        """
        return telemetry_row(
            (
                self.machine_id,
                self.tag,
                self.ts,
                self.value,
                self.value_text,
                self.unit,
                self.quality,
            ),
            window,
        )


TelemetryRow = tuple[str, str, dt.datetime, float | int | None, str | None, str | None, str]
"""A telemetry record's fields in order as a plain tuple, which sources with many values build
instead of a `TelemetryRecord` (ten times dearer to make); the writer checks both alike."""


def telemetry_record(row: TelemetryRecord | TelemetryRow) -> TelemetryRecord:
    """The record of a row (to show it: a dead letter's fields)."""
    return row if isinstance(row, TelemetryRecord) else TelemetryRecord(*row)


def telemetry_row(fields: tuple, window: Window) -> tuple:
    """The row stored for a telemetry record's fields (a `TelemetryRow`); raises `Rejected`."""
    try:
        machine_id, tag, ts, value, value_text, unit, quality = fields
    except ValueError:
        raise Rejected(f"a telemetry row has 7 fields, not {len(fields)}") from None
    if (
        type(value) is float
        and value - value == 0.0  # finite: inf - inf and nan - nan are nan
        and value_text is None
        and type(machine_id) is str
        and type(tag) is str
        and 0 < len(machine_id) <= MAX_KEY_LENGTH
        and 0 < len(tag) <= MAX_KEY_LENGTH
        and machine_id.isascii()
        and tag.isascii()
        and "\x00" not in machine_id
        and "\x00" not in tag
        and (unit is None or (type(unit) is str and unit.isascii() and "\x00" not in unit))
        and type(quality) is str
        and quality in QUALITIES
        and type(ts) is dt.datetime
        and ts.tzinfo is dt.UTC
        and window.earliest <= ts <= window.latest
    ):
        return fields  # the common case, first: one test instead of one call per field
    quality = _member("quality", quality, QUALITIES)
    value = _number("value", value)
    value_text = _optional_text("value_text", value_text)
    if value is not None and not math.isfinite(value):
        value_text = value_text if value_text is not None else _NON_FINITE_TEXT.get(value, "NaN")
        value, quality = None, "bad"
    return (
        _key("machine_id", machine_id),
        _key("tag", tag),
        _instant("ts", ts, window),
        value,
        value_text,
        _optional_text("unit", unit),
        quality,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Input that never became a record (an undecodable message, an unreadable row), kept whole.

    `payload` is what arrived: raw bytes, text, or the decoded fields; `context` says where it
    came from (topic, endpoint, file and row, tag) so that an operator can find its origin. The
    same letter written twice is stored once, so `context` must not hold a receive time.
    """

    source: str
    target: str
    reason: str
    payload: bytes | str | Mapping[str, Any]
    context: Mapping[str, str] = field(default_factory=dict)


def _text(name: str, value: object) -> str:
    """Text PostgreSQL can store: no NUL byte, no lone surrogate."""
    if type(value) is str and value.isascii() and "\x00" not in value:
        return value  # the common case, first: a batch checks hundreds of thousands of these
    if type(value) is not str:
        if not isinstance(value, str):
            raise Rejected(f"{name} is {type(value).__name__}, not text")
        value = str.__str__(value)  # a str subclass (an enum) is stored as its plain text
    if "\x00" in value:
        raise Rejected(f"{name} contains a NUL byte")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise Rejected(f"{name} is not valid Unicode (a lone surrogate)") from None
    return value


def _optional_text(name: str, value: object) -> str | None:
    return None if value is None else _text(name, value)


def _key(name: str, value: object) -> str:
    if (
        type(value) is str
        and 0 < len(value) <= MAX_KEY_LENGTH
        and value.isascii()
        and "\x00" not in value
    ):
        return value  # the common case, first
    text = _text(name, value)
    if not text:
        raise Rejected(f"{name} is empty")
    if len(text) > MAX_KEY_LENGTH:
        raise Rejected(f"{name} is longer than {MAX_KEY_LENGTH} characters")
    return text


def _member(name: str, value: object, vocabulary: frozenset[str]) -> str:
    if type(value) is str and value in vocabulary:
        return value
    text = _text(name, value)
    if text not in vocabulary:
        raise Rejected(f"unknown {name} {text[:100]!r}")
    return text


def _instant(name: str, value: object, window: Window) -> dt.datetime:
    """An aware, plausible instant, in UTC (its UTC day picks the telemetry partition)."""
    if (
        type(value) is dt.datetime
        and value.tzinfo is dt.UTC
        and window.earliest <= value <= window.latest
    ):
        return value  # the common case, first
    if not isinstance(value, dt.datetime):
        raise Rejected(f"{name} is {type(value).__name__}, not a datetime")
    if value.utcoffset() is None:
        raise Rejected(f"{name} is a timestamp without timezone")
    if value < window.earliest:
        raise Rejected(
            f"{name} {value.isoformat()} is before the earliest plausible time"
            f" {window.earliest.isoformat()}"
        )
    if value > window.latest:
        raise Rejected(f"{name} {value.isoformat()} is in the future beyond the clock skew")
    return value.astimezone(dt.UTC)


def _count(name: str, value: Any) -> int:
    """A count: an integer (numpy's too, bool not) from 0 to the bigint maximum."""
    if isinstance(value, bool):
        raise Rejected(f"{name} is bool, not an integer")
    try:
        count = operator.index(value)
    except TypeError:
        raise Rejected(f"{name} is {type(value).__name__}, not an integer") from None
    if count < 0:
        raise Rejected(f"{name} {count} is negative")
    if count > _BIGINT_MAX:
        raise Rejected(f"{name} is beyond the bigint range")  # (a number too long to show)
    return count


def _number(name: str, value: object) -> float | None:
    """A real number (int, float, numpy's) as a float; bool and numeric text are not numbers."""
    if type(value) is float or value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Rejected(f"{name} is {type(value).__name__}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise Rejected(f"{name} is beyond double precision") from None


Record = MachineStateRecord | ProductionCountRecord | TelemetryRecord
"""Every kind of record the writer loads."""
