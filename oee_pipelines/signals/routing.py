"""Readings of a machine's signals, whatever protocol brought them, turned into warehouse rows.

Every reading is kept as telemetry under its tag (counter and state readings included: they are
what the trackers restart from). Readings of the `state`, `reason_code`, `good_count` and
`reject_count` signals of good quality also drive the state and counter trackers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeVar

from oee_pipelines.plant_model import TagMapping
from oee_pipelines.signals.counters import Counter, CounterTracker
from oee_pipelines.signals.states import StateCodes, StateTracker
from oee_pipelines.vocabulary import MachineState
from oee_pipelines.warehouse.records import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)

Value = int | float | str | None
T_contra = TypeVar("T_contra", contravariant=True)


class Appendable(Protocol[T_contra]):
    def append(self, item: T_contra, /) -> None: ...


class Rows(Protocol):
    """Where rows are appended (`realtime.source.Decoded` is one)."""

    @property
    def telemetry(self) -> Appendable[TelemetryRecord]:
        """A list that may hold other forms of telemetry too (Decoded's plain tuples)."""
        ...

    states: list[MachineStateRecord]
    counts: list[ProductionCountRecord]


class Signal(IntEnum):
    TELEMETRY = 0
    STATE = 1
    REASON = 2
    GOOD = 3
    REJECT = 4


SIGNALS: dict[str, Signal] = {
    "state": Signal.STATE,
    "reason_code": Signal.REASON,
    "good_count": Signal.GOOD,
    "reject_count": Signal.REJECT,
}
"""The tag names in a plant model's tag map that are signals rather than plain telemetry."""

_COUNTERS: dict[Signal, Counter] = {Signal.GOOD: "good", Signal.REJECT: "reject"}


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a source's reading lands: a machine's tag, and the signal it is."""

    machine_id: str
    tag: str
    signal: Signal = Signal.TELEMETRY
    unit: str | None = None
    rollover: int | None = None

    @classmethod
    def of(cls, machine_id: str, tag: str, mapping: TagMapping | None = None) -> Binding:
        """The binding of a tag-map entry (or of an unmapped tag: plain telemetry)."""
        return cls(
            machine_id,
            tag,
            SIGNALS.get(tag, Signal.TELEMETRY),
            mapping.unit if mapping else None,
            mapping.rollover if mapping else None,
        )


@dataclass(frozen=True)
class Plausibility:
    """Timestamps the warehouse accepts (contracts.md section 2): not in the future beyond a
    clock skew, not before the earliest date."""

    max_clock_skew: dt.timedelta = dt.timedelta(minutes=5)
    earliest: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    def problem(self, ts: dt.datetime, received_at: dt.datetime) -> str | None:
        if ts > received_at + self.max_clock_skew:
            return (
                f"timestamp {ts.isoformat()} is in the future (received {received_at.isoformat()})"
            )
        if ts < self.earliest:
            return f"timestamp {ts.isoformat()} is before {self.earliest.date().isoformat()}"
        return None


class MachineSignals:
    """Routes readings into telemetry, state intervals and count deltas; one per source."""

    def __init__(self, state_codes: Mapping[str, MachineState]) -> None:
        self.codes = StateCodes(state_codes)
        self.states = StateTracker()
        self.counters = CounterTracker()

    def reading(
        self, binding: Binding, ts: dt.datetime, value: Value, quality: str, out: Rows
    ) -> str | None:
        """Append the rows of one reading to `out`; a problem (an unknown state code, a counter
        that is not a whole number) is returned for the caller to dead-letter."""
        if isinstance(value, str):
            number, text = None, value
        else:
            number, text = value, None
        out.telemetry.append(
            TelemetryRecord(
                binding.machine_id, binding.tag, ts, number, text, binding.unit, quality
            )
        )
        signal = binding.signal
        if not signal or value is None or quality != "good":
            return None
        if signal is Signal.STATE:
            state = self.codes.state(value)
            if state is None:
                return f"unknown state code {value!r} of {binding.machine_id}"
            out.states += self.states.state(binding.machine_id, ts, state)
        elif signal is Signal.REASON:
            reason = str(int(value)) if isinstance(value, int | float) else value
            out.states += self.states.reason(binding.machine_id, ts, reason or None)
        else:
            if isinstance(value, str) or value < 0 or value != int(value):
                return (
                    f"counter {binding.tag} of {binding.machine_id} is not a whole number"
                    f" >= 0: {value!r}"
                )
            out.counts += self.counters.reading(
                binding.machine_id,
                _COUNTERS[signal],
                ts,
                int(value),
                binding.rollover,
            )
        return None

    def resume(
        self,
        machine_id: str,
        open_state: MachineStateRecord | None,
        last_count_start: dt.datetime | None,
        counters_then: Mapping[str, int],
        readings_since: Iterable[TelemetryRecord],
        rollovers: Mapping[str, int | None] | None = None,
    ) -> list[ProductionCountRecord]:
        """Continue after a restart from what this source wrote to the warehouse.

        `open_state` is the machine's interval without an end; `last_count_start` the start of
        its latest production_count row, `counters_then` the latest `good_count` and
        `reject_count` telemetry values at or before it, and `readings_since` those tags'
        telemetry after it, in time order (`rollovers` by tag, as the tag map says). Returns
        the count rows the replay rewrites (same keys, same counts; new ones where readings were
        committed without their rows). See `oee_pipelines.signals.counters`.
        """
        if open_state is not None:
            self.states.resume(
                machine_id, open_state.start_ts, open_state.state, open_state.reason_code
            )
        if last_count_start is None:
            return []
        counters = {_COUNTERS[SIGNALS[tag]]: value for tag, value in counters_then.items()}
        self.counters.resume(machine_id, last_count_start, counters)
        rows: list[ProductionCountRecord] = []
        for reading in readings_since:
            if reading.value is not None:
                rows += self.counters.reading(
                    machine_id,
                    _COUNTERS[SIGNALS[reading.tag]],
                    reading.ts,
                    int(reading.value),
                    (rollovers or {}).get(reading.tag),
                )
        return rows

    def offline(self, ts: dt.datetime, bindings: Iterable[Binding], out: Rows) -> None:
        """The machines of `bindings` went offline at `ts`: an `offline` state, and their plain
        telemetry tags marked stale (a bad-quality row without a value)."""
        machines = set()
        for binding in bindings:
            machines.add(binding.machine_id)
            if not binding.signal:
                out.telemetry.append(
                    TelemetryRecord(
                        binding.machine_id, binding.tag, ts, None, None, binding.unit, "bad"
                    )
                )
        for machine_id in sorted(machines):
            out.states += self.states.state(machine_id, ts, "offline")
