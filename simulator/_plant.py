"""The simulated plant: the project's single source of ground truth, answered on demand.

Queries are answered from production-day blocks generated lazily and cached, so the same question
always gets the same answer whatever was asked before. Every query takes timezone-aware
datetimes and answers in UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from oee_pipelines.plant_model import Line, PlantModel, Site

from ._calendar import (
    from_us,
    production_day_of,
    production_days,
    require_aware,
    shift_windows,
    to_us,
)
from ._timeline import (
    LineDay,
    MachineDay,
    Product,
    catalogue,
    generate_machine_day,
    plan_line_day,
)
from ._truth import (
    MachineHistory,
    daily,
    line_shift_rows,
    machine_rows,
    period_truth,
)
from ._types import (
    CountBucket,
    Cycle,
    DowntimeEvent,
    OeeRow,
    ShiftWindow,
    StateInterval,
    WorkOrder,
)

MARTS = (
    "oee_machine_hourly",
    "oee_machine_shift",
    "oee_machine_daily",
    "oee_line_shift",
    "oee_line_daily",
)

_BLOCK_CACHE_SIZE = 512


def _check_range(start: dt.datetime, end: dt.datetime) -> None:
    require_aware(start, end)
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")


class SimulatedPlant:
    """A seeded simulation of every machine of the plant model.

    A pure function of (plant, seed, time): answers never depend on what was asked before.
    """

    def __init__(self, plant: PlantModel, seed: int = 7) -> None:
        self.plant = plant
        self.seed = seed
        self._line_day = lru_cache(maxsize=_BLOCK_CACHE_SIZE)(self._plan_line_day)
        self._machine_day = lru_cache(maxsize=_BLOCK_CACHE_SIZE)(self._generate_machine_day)

    # --- blocks -------------------------------------------------------------------------------

    def _line(self, line_id: str) -> tuple[Site, Line]:
        for site, line in self.plant.lines():
            if line.id == line_id:
                return site, line
        raise KeyError(f"unknown line {line_id!r}")

    def _plan_line_day(self, line_id: str, day: dt.date) -> LineDay:
        site, line = self._line(line_id)
        return plan_line_day(self.seed, site, line, day)

    def _generate_machine_day(self, machine_id: str, day: dt.date) -> MachineDay:
        site, line, machine = self.plant.machine(machine_id)
        return generate_machine_day(
            self.seed, site, line, machine, day, self._line_day(line.id, day)
        )

    def _machine_days(
        self, machine_id: str, start: dt.datetime, end: dt.datetime
    ) -> Iterator[MachineDay]:
        site, _, _ = self.plant.machine(machine_id)
        for day in production_days(site, start, end):
            yield self._machine_day(machine_id, day)

    # --- queries ------------------------------------------------------------------------------

    def states(self, machine_id: str, start: dt.datetime, end: dt.datetime) -> list[StateInterval]:
        """The machine's state intervals clipped to [start, end), in order and contiguous."""
        _check_range(start, end)
        lo, hi = to_us(start), to_us(end)
        answer = []
        for block in self._machine_days(machine_id, start, end):
            for index in range(bisect_right(block.interval_ends, lo), len(block.intervals)):
                interval_start, interval_end, state, reason = block.intervals[index]
                if interval_start >= hi:
                    break
                answer.append(
                    StateInterval(
                        machine_id,
                        from_us(max(lo, interval_start)),
                        from_us(min(hi, interval_end)),
                        state,
                        reason,
                    )
                )
        return answer

    def _cycle_instants(
        self, machine_id: str, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[int, bool]]:
        lo, hi = to_us(start), to_us(end)
        for block in self._machine_days(machine_id, start, end):
            first, last = bisect_left(block.cycles, lo), bisect_left(block.cycles, hi)
            rejects = set(
                block.rejects[bisect_left(block.rejects, lo) : bisect_left(block.rejects, hi)]
            )
            for ts in block.cycles[first:last]:
                yield ts, ts not in rejects

    def cycles(self, machine_id: str, start: dt.datetime, end: dt.datetime) -> list[Cycle]:
        """The parts the machine completed in [start, end)."""
        _check_range(start, end)
        return [
            Cycle(from_us(ts), good) for ts, good in self._cycle_instants(machine_id, start, end)
        ]

    def count_buckets(
        self,
        machine_id: str,
        start: dt.datetime,
        end: dt.datetime,
        bucket: dt.timedelta = dt.timedelta(minutes=1),
    ) -> list[CountBucket]:
        """Parts completed in [start, end), bucketed at multiples of `bucket` since the epoch.

        Only buckets holding a part are returned; a bucket cut by start or end holds only the parts
        inside [start, end).
        """
        _check_range(start, end)
        width = bucket // dt.timedelta(microseconds=1)
        if width <= 0 or bucket % dt.timedelta(microseconds=1):
            raise ValueError(
                f"bucket must be a positive whole number of microseconds, got {bucket}"
            )
        counts: dict[int, list[int]] = {}
        for ts, good in self._cycle_instants(machine_id, start, end):
            good_and_rejects = counts.setdefault(ts // width, [0, 0])
            good_and_rejects[0 if good else 1] += 1
        return [
            CountBucket(
                machine_id,
                from_us(key * width),
                from_us((key + 1) * width),
                good_count,
                reject_count,
            )
            for key, (good_count, reject_count) in counts.items()
        ]

    def counters(self, machine_id: str, at: dt.datetime) -> tuple[int, int]:
        """The PLC counters (good_total, reject_total) at instant `at`.

        They count the parts completed in [start of the current work order, at): the counters
        reset when a work order starts, so counters(b) - counters(a) within one order is [a, b).
        """
        require_aware(at)
        site, line, _ = self.plant.machine(machine_id)
        day = production_day_of(site, at)
        line_day = self._line_day(line.id, day)
        block = self._machine_day(machine_id, day)
        instant = to_us(at)
        reset = line_day.starts[bisect_right(line_day.starts, instant) - 1]
        total = bisect_left(block.cycles, instant) - bisect_left(block.cycles, reset)
        rejects = bisect_left(block.rejects, instant) - bisect_left(block.rejects, reset)
        return total - rejects, rejects

    def work_orders(self, line_id: str, start: dt.datetime, end: dt.datetime) -> list[WorkOrder]:
        """The line's work orders that overlap [start, end), unclipped."""
        _check_range(start, end)
        site, _ = self._line(line_id)
        return [
            order
            for day in production_days(site, start, end)
            for order in self._line_day(line_id, day).orders
            if order.start < end and order.end > start
        ]

    def shifts(self, site_id: str, start: dt.datetime, end: dt.datetime) -> list[ShiftWindow]:
        """The site's shift windows that overlap [start, end), unclipped."""
        _check_range(start, end)
        return shift_windows(self.plant.site(site_id), start, end)

    def recipes(self, line_id: str) -> tuple[Product, ...]:
        """The line's products and the current version of their recipes."""
        _, line = self._line(line_id)
        return catalogue(line)

    def downtime_events(
        self, machine_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[DowntimeEvent]:
        """The machine's reported planned downtime events that overlap [start, end), unclipped."""
        _check_range(start, end)
        site, _, _ = self.plant.machine(machine_id)
        days = production_days(site, start - dt.timedelta(days=1), end)  # an event may reach in
        return [
            event
            for day in days
            for event in self._machine_day(machine_id, day).downtime
            if event.start < end and event.end > start
        ]

    def history(self, machine_id: str, start: dt.datetime, end: dt.datetime) -> MachineHistory:
        """What the truth of the machine over [start, end) is computed from."""
        _check_range(start, end)
        site, line, machine = self.plant.machine(machine_id)
        return MachineHistory(
            site=site,
            line=line,
            machine=machine,
            states=self.states(machine_id, start, end),
            cycles=self.cycles(machine_id, start, end),
            shifts=self.shifts(site.id, start, end),
            downtime=self.downtime_events(machine_id, start, end),
            orders=self.work_orders(line.id, start, end),
            recipe_cycle_time_s={
                (product.recipe_id, product.recipe_version): product.ideal_cycle_time_s
                for product in catalogue(line)
            },
        )

    def truth(self, machine_id: str, start: dt.datetime, end: dt.datetime) -> OeeRow:
        """The machine's ground-truth OEE over [start, end): its time in shifts and its
        running outside them, and every part completed in it."""
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        return period_truth(self.history(machine_id, start, end), start, end)

    def shift_truth(self, machine_id: str, start: dt.datetime, end: dt.datetime) -> list[OeeRow]:
        """The machine's ground-truth OEE per shift window lying entirely inside [start, end)."""
        site, _, _ = self.plant.machine(machine_id)
        history = self.history(machine_id, start, end)
        return [
            period_truth(history, window.start, window.end, shift=window)
            for window in self.shifts(site.id, start, end)
            if start <= window.start and window.end <= end
        ]

    def marts(self, starts: dict[str, dt.datetime], now: dt.datetime) -> dict[str, list[OeeRow]]:
        """Every row of every OEE mart (MARTS) of the history that starts at `starts[site_id]`
        on each site and runs up to `now`, as the warehouse computes it with now pinned."""
        require_aware(now)
        now = now.astimezone(dt.UTC)
        marts: dict[str, list[OeeRow]] = {name: [] for name in MARTS}
        for site, line in self.plant.lines():
            start = starts[site.id].astimezone(dt.UTC)
            line_shifts = []
            for machine in line.machines:
                hourly, shifts = machine_rows(self.history(machine.id, start, now), start, now)
                marts["oee_machine_hourly"] += hourly
                marts["oee_machine_shift"] += shifts
                marts["oee_machine_daily"] += daily(shifts)
                line_shifts += shifts
            marts["oee_line_shift"] += line_shift_rows(line, line_shifts)
            marts["oee_line_daily"] += daily(line_shift_rows(line, line_shifts), line_level=True)
        return marts


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):  # datetimes included
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def truth_report(
    plant: PlantModel, seed: int, machine_id: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """One machine's ground truth over [start, end), with its states, as a JSON-serialisable
    dict. Timestamps are ISO 8601 strings; this is what `oee simulate truth` prints.
    """
    simulated = SimulatedPlant(plant, seed)
    states = [dataclasses.asdict(state) for state in simulated.states(machine_id, start, end)]
    truth = dataclasses.asdict(simulated.truth(machine_id, start, end))
    return _jsonable(truth | {"states": states})
