"""What a plant historian recorded of the simulated plant: the ground truth that the simulated PI
Web API and AVEVA Historian both serve, and that the tests hold the warehouse to.

- a state tag records the machine's state at each change, a reason tag its reason code ("" for
  none) at each change;
- a counter tag records the PLC counter every minute, and around each work order start the last
  count before the reset (1 us before) and the reset to 0;
- a telemetry tag records a value every `period`, a pure function of the seed, the tag and the
  instant; about 1.2% of them are flagged (questionable, substituted, bad, comm failure), and a
  bad value has none.

Times are integer microseconds since the epoch, as in the simulator's timeline.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from oee_pipelines.plant_model import TagMapping
from simulator import SimulatedPlant

Recorded = tuple[int, float | str | None, str]
"""(instant in us, value, flag); flag is one of FLAGS."""
FLAGS = ("good", "questionable", "substituted", "bad", "comm")

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_DAY_US = 86_400 * _SECOND
_CHANGE_RECORDED = ("state", "reason_code")
_COUNTERS = ("good_count", "reject_count")
_LOOKBACK = dt.timedelta(days=3)
"""How far back a change-recorded tag looks for the value in effect (longer than any spell)."""


@dataclass(frozen=True)
class HistorianTag:
    name: str
    machine_id: str
    signal: str
    """state, reason_code, good_count, reject_count, or a telemetry name."""
    unit: str | None = None


class RecordedHistory:
    """The recorded values of the historian's tags; a pure function of the plant, seed and tags."""

    def __init__(
        self,
        plant: SimulatedPlant,
        tags: Iterable[HistorianTag],
        period: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self.plant = plant
        self.tags = {tag.name: tag for tag in tags}
        self.period_us = period // dt.timedelta(microseconds=1)
        self._changes = lru_cache(maxsize=256)(self._changes_of)

    def values(self, name: str, start: int, end: int) -> list[Recorded]:
        """The recorded values of tag `name` with start <= instant <= end (end - start < 3 days)."""
        tag = self.tags[name]
        if tag.signal in _CHANGE_RECORDED:
            changes = self._changes(tag.machine_id, tag.signal, start // _DAY_US)
            return changes[bisect_left(changes, (start,)) : bisect_right(changes, (end, "~"))]
        if tag.signal in _COUNTERS:
            return self._counter(tag, start, end)
        return self._telemetry(tag, start, end)

    def before(self, name: str, instant: int) -> Recorded | None:
        """The last recorded value strictly before `instant`."""
        tag = self.tags[name]
        if tag.signal in _CHANGE_RECORDED:
            changes = self._changes(tag.machine_id, tag.signal, instant // _DAY_US)
            index = bisect_left(changes, (instant,))
            return changes[index - 1] if index else None
        step = _MINUTE if tag.signal in _COUNTERS else self.period_us
        earlier = self.values(name, instant - step, instant - 1)
        return earlier[-1] if earlier else None

    def after(self, name: str, instant: int) -> Recorded | None:
        """The first recorded value strictly after `instant`."""
        tag = self.tags[name]
        if tag.signal in _CHANGE_RECORDED:
            changes = self._changes(tag.machine_id, tag.signal, instant // _DAY_US)
            index = bisect_right(changes, (instant, "~"))
            return changes[index] if index < len(changes) else None
        step = _MINUTE if tag.signal in _COUNTERS else self.period_us
        later = self.values(name, instant + 1, instant + step)
        return later[0] if later else None

    def _changes_of(self, machine_id: str, signal: str, day: int) -> list[Recorded]:
        """The changes of a state or reason tag from 3 days before UTC day `day` to 4 days after
        (the first one standing for the value in effect then)."""
        at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)
        intervals = self.plant.states(
            machine_id, at - _LOOKBACK, at + _LOOKBACK + dt.timedelta(days=1)
        )
        recorded: list[Recorded] = []
        for interval in intervals:
            value = interval.state if signal == "state" else (interval.reason_code or "")
            if not recorded or recorded[-1][1] != value:
                recorded.append((_us(interval.start), value, "good"))
        return recorded

    def _counter(self, tag: HistorianTag, start: int, end: int) -> list[Recorded]:
        _, line, _ = self.plant.plant.machine(tag.machine_id)
        index = 0 if tag.signal == "good_count" else 1
        instants = set(range(-(-start // _MINUTE) * _MINUTE, end + 1, _MINUTE))
        orders = self.plant.work_orders(line.id, _dt(start - _SECOND), _dt(end + _SECOND))
        for order in orders:
            reset = _us(order.start)
            instants |= {t for t in (reset - 1, reset) if start <= t <= end}
        return [
            (t, self.plant.counters(tag.machine_id, _dt(t))[index], "good")
            for t in sorted(instants)
        ]

    def _telemetry(self, tag: HistorianTag, start: int, end: int) -> list[Recorded]:
        period = self.period_us
        first = -(-start // period) * period
        if first > end:
            return []
        instants = np.arange(first, end + 1, period, dtype=np.int64)
        seed = zlib.crc32(f"{self.plant.seed}:{tag.name}".encode())
        noise = _hash(instants // period, seed)
        base = 20.0 + seed % 80
        angle = instants.astype(np.float64) * (2 * math.pi / 3_600e6) + (seed % 628) / 100
        values = np.round(base + 5.0 * np.sin(angle) + (noise % 1000) / 1000.0, 3)
        flags = _flags(noise)
        return [
            (t, None if flag >= 3 else v, FLAGS[flag])
            for t, v, flag in zip(instants.tolist(), values.tolist(), flags.tolist(), strict=True)
        ]


def _hash(steps: np.ndarray, seed: int) -> np.ndarray:
    """A cheap, well-mixed hash of each step number (splitmix64), as non-negative int64."""
    x = steps.astype(np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (x ^ (x >> np.uint64(31))) >> np.uint64(1)


def _flags(noise: np.ndarray) -> np.ndarray:
    """Index into FLAGS: 0.5% questionable, 0.3% substituted, 0.3% bad, 0.1% comm failure."""
    bucket = (noise >> np.uint64(20)) % np.uint64(1000)
    flags = np.zeros(len(noise), dtype=np.int64)
    flags[bucket < 12] = 4
    flags[bucket < 11] = 3
    flags[bucket < 8] = 2
    flags[bucket < 5] = 1
    return flags


def _us(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _dt(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)


_TIMES = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]


@lru_cache(maxsize=4096)
def _date(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def iso(us: int) -> str:
    """An instant as ISO 8601 UTC with a Z (fractional seconds only when there are some)."""
    day, rest = divmod(us, _DAY_US)
    second, fraction = divmod(rest, _SECOND)
    text = _date(day) + _TIMES[second]
    return f"{text}.{fraction:06d}Z" if fraction else text + "Z"


def parse_instant(text: str, zone: dt.tzinfo) -> int:
    """An ISO 8601 time string as us; one without an offset is read in `zone`."""
    instant = dt.datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    return _us(instant)


def historian_tags(machines: Mapping[str, Mapping[str, TagMapping]]) -> list[HistorianTag]:
    """The tags of one historian's configuration section (`machines`: signal -> mapping)."""
    return [
        HistorianTag(mapping.address, machine_id, signal, mapping.unit)
        for machine_id, signals in machines.items()
        for signal, mapping in signals.items()
    ]
