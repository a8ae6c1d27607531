"""Part counts from PLC counters: readings in, `production_count` deltas out.

Counters are monotonic (contracts.md section 3): a decrease is a reset, so the new value is the
delta, except on a counter with a rollover width whose previous value was in the top 10% of that
width: then it wrapped, and the delta is width - previous + new.

Each machine's rows chain from one reading to the next: [previous reading, this reading) holds
the parts counted in between, good and reject together, so rows never overlap. A reading of the
other counter at the same instant amends that row (same key, the warehouse upserts it). A reading
older than the last one is not counted again: its parts are already inside a later delta.

Restart without losing or double-counting a delta: the tracker's state is a function of the
counter readings, which the sources write as telemetry (tags `good_count`, `reject_count`). On
start, for each machine whose last `production_count` row starts at S, `resume` it with the
latest readings at or before S, then replay the readings after S through `reading`: that rewrites
the last row (and any row whose readings were committed without it) with the same key and the
same counts. It holds when each batch's counter telemetry is committed no later than its counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from oee_pipelines.warehouse.records import ProductionCountRecord

Counter = Literal["good", "reject"]
WRAP_ZONE = 0.9
"""A decrease from above this fraction of the rollover width is a wrap, not a reset."""


def counter_delta(previous: int, value: int, rollover: int | None) -> int:
    """Parts counted between two readings of one counter."""
    if value >= previous:
        return value - previous
    if rollover is not None and previous >= WRAP_ZONE * rollover:
        return rollover - previous + value
    return value


@dataclass(slots=True)
class _Machine:
    last_ts: dt.datetime
    values: dict[Counter, int] = field(default_factory=dict)
    row: list | None = None
    """[start, good, reject] of the row that ends at last_ts, if this run emitted it."""
    pending: list[int] = field(default_factory=lambda: [0, 0])
    """Deltas read at last_ts with no row to amend; they go into the next row."""


class CounterTracker:
    """The last reading of each counter of each machine; not thread-safe (one per source)."""

    def __init__(self) -> None:
        self._machines: dict[str, _Machine] = {}

    def resume(self, machine_id: str, at: dt.datetime, readings: Mapping[Counter, int]) -> None:
        """Continue from the counters' values as of `at` (see the module docstring)."""
        self._machines[machine_id] = _Machine(at, dict(readings))

    def reading(
        self,
        machine_id: str,
        counter: Counter,
        ts: dt.datetime,
        value: int,
        rollover: int | None = None,
    ) -> list[ProductionCountRecord]:
        machine = self._machines.get(machine_id)
        if machine is None:
            self._machines[machine_id] = _Machine(ts, {counter: value})
            return []
        if ts < machine.last_ts:
            return []
        previous = machine.values.get(counter)
        machine.values[counter] = value
        if previous is None:
            return []
        delta = counter_delta(previous, value, rollover)
        if delta == 0:
            return []
        index = 1 if counter == "good" else 2
        if ts == machine.last_ts:
            if machine.row is None:
                machine.pending[index - 1] += delta
                return []
            machine.row[index] += delta
        else:
            machine.row = [machine.last_ts, *machine.pending]
            machine.row[index] += delta
            machine.pending = [0, 0]
            machine.last_ts = ts
        start, good, reject = machine.row
        return [ProductionCountRecord(machine_id, start, ts, good, reject)]
