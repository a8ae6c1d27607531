"""Seeded event generation: one block per machine (or line) per production day.

Every block is a pure function of (seed, plant model, local date): its random generator is seeded
with a string naming the seed, the machine or line and the date, so any block can be generated
alone, in any process and in any order, and always comes out the same. Times are integer
microseconds since the Unix epoch.

Recipes all run at the machine's default ideal_cycle_time_s; recipe-level cycle times arrive
with the MES issue.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from array import array
from dataclasses import dataclass

from oee_pipelines.plant_model import Line, Machine, Site

from ._calendar import from_us, production_day_start, shift_windows, to_us
from ._types import State, WorkOrder

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE

MEAN_RUN_S = 25 * 60
BREAK_US = 30 * _MINUTE
RAMP_UP_US = 5 * _MINUTE
REJECT_RATE = 0.02
RAMP_UP_REJECT_RATE = 0.08
CYCLE_FACTOR = (1.05, 1.3)
WORK_ORDER_HOURS = (3.0, 9.0)
SETUP_MINUTES = (10.0, 25.0)

# Interruptions of a running spell: (state, reason codes, shortest and longest in seconds, weight).
_INTERRUPTIONS: tuple[tuple[State, tuple[str, ...], float, float], ...] = (
    ("unplanned_stop", ("JAM", "MOTOR_FAULT", "SENSOR_FAULT", "TOOL_BREAK"), 120, 1200),
    ("starved", ("MATERIAL_SHORTAGE",), 60, 360),
    ("blocked", ("DOWNSTREAM_FULL",), 60, 360),
    ("idle", ("OPERATOR_ABSENT",), 60, 240),
)
_WEIGHTS = (0.35, 0.25, 0.2, 0.2)

Span = tuple[int, int]
Interval = tuple[int, int, State, str | None]


@dataclass(frozen=True, slots=True)
class LineDay:
    """One line's work orders on one production day, with the setup time each one starts with."""

    orders: tuple[WorkOrder, ...]
    starts: tuple[int, ...]
    setups: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MachineDay:
    """One machine's contiguous state intervals and part completions over one production day."""

    intervals: tuple[Interval, ...]
    interval_ends: tuple[int, ...]
    cycles: array[int]  # completion instants, ascending
    rejects: array[int]  # the completion instants of rejected parts, ascending


def day_bounds(site: Site, day: dt.date) -> Span:
    next_day = day + dt.timedelta(days=1)
    return to_us(production_day_start(site, day)), to_us(production_day_start(site, next_day))


def _catalogue(line: Line) -> tuple[tuple[str, str, int], ...]:
    """The line's small product catalogue: (product_sku, recipe_id, recipe_version)."""
    return tuple((f"{line.id}-SKU{k}", f"RCP-{line.id}-{k}", 1 + k % 2) for k in range(1, 5))


def plan_line_day(seed: int, site: Site, line: Line, day: dt.date) -> LineDay:
    """Cut the production day into work orders of 3-9 h each, the last one ending with the day."""
    rng = random.Random(f"{seed}:{line.id}:{day.isoformat()}:work-orders")
    start, end = day_bounds(site, day)
    shortest, longest = WORK_ORDER_HOURS
    catalogue = _catalogue(line)
    orders: list[WorkOrder] = []
    starts: list[int] = []
    setups: list[int] = []
    while start < end:
        remaining_h = (end - start) / _HOUR
        if remaining_h <= longest:
            stop = end
        else:  # leave at least `shortest` hours for the orders still to come
            stop = start + int(rng.uniform(shortest, min(longest, remaining_h - shortest)) * _HOUR)
        product_sku, recipe_id, recipe_version = rng.choice(catalogue)
        orders.append(
            WorkOrder(
                work_order_id=f"WO-{line.id}-{day:%Y%m%d}-{len(orders) + 1:02d}",
                site_id=site.id,
                line_id=line.id,
                product_sku=product_sku,
                recipe_id=recipe_id,
                recipe_version=recipe_version,
                start=from_us(start),
                end=from_us(stop),
            )
        )
        starts.append(start)
        setups.append(int(rng.uniform(*SETUP_MINUTES) * _MINUTE))
        start = stop
    return LineDay(tuple(orders), tuple(starts), tuple(setups))


def _containing(spans: list[Span], instant: int) -> Span | None:
    return next((span for span in spans if span[0] <= instant < span[1]), None)


def _union(spans: list[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


class _MachineWalk:
    """Walks one machine forward through one production day, recording intervals and parts."""

    def __init__(self, rng: random.Random, machine: Machine, shift_edges: set[int]) -> None:
        self.rng = rng
        self.shift_edges = shift_edges
        self.cycle_min = int(machine.ideal_cycle_time_s * CYCLE_FACTOR[0] * _SECOND)
        self.cycle_spread = int(
            machine.ideal_cycle_time_s * (CYCLE_FACTOR[1] - CYCLE_FACTOR[0]) * _SECOND
        )
        self.intervals: list[Interval] = []
        self.cycles = array("q")
        self.rejects = array("q")

    def record(self, start: int, end: int, state: State, reason: str | None) -> None:
        """Append an interval, merged into the last one if it continues it (not at shift edges)."""
        if self.intervals and start not in self.shift_edges:
            last_start, _, last_state, last_reason = self.intervals[-1]
            if (last_state, last_reason) == (state, reason):
                self.intervals[-1] = (last_start, end, state, reason)
                return
        self.intervals.append((start, end, state, reason))

    def produce(self, start: int, end: int, ramp_up_until: int) -> None:
        """Alternate running spells and interruptions over [start, end), inside one shift."""
        rng = self.rng
        while start < end:
            stop = min(end, start + max(1, int(rng.expovariate(1 / MEAN_RUN_S) * _SECOND)))
            self.record(start, stop, "running", None)
            self._run(start, stop, ramp_up_until)
            if stop == end:
                return
            state, reasons, shortest, longest = rng.choices(_INTERRUPTIONS, _WEIGHTS)[0]
            reason = rng.choice(reasons)
            start, stop = stop, min(end, stop + int(rng.uniform(shortest, longest) * _SECOND))
            self.record(start, stop, state, reason)
            start = stop

    def _run(self, start: int, stop: int, ramp_up_until: int) -> None:
        """Complete parts back to back; the part still in the machine at `stop` is not counted."""
        draw = self.rng.random
        cycle_min, cycle_spread = self.cycle_min, self.cycle_spread
        add_cycle, add_reject = self.cycles.append, self.rejects.append
        t = start + cycle_min + int(cycle_spread * draw())
        while t < stop:
            add_cycle(t)
            if draw() < (RAMP_UP_REJECT_RATE if t < ramp_up_until else REJECT_RATE):
                add_reject(t)
            t += cycle_min + int(cycle_spread * draw())


def generate_machine_day(
    seed: int, site: Site, machine: Machine, day: dt.date, line_day: LineDay
) -> MachineDay:
    """Generate one machine's production day.

    Outside every shift the machine is idle (NO_SHIFT). Inside, fixed stops come first: a
    changeover at each work-order start that falls inside a shift, then a 30-minute break in the
    middle of each shift; the rest alternates running spells and random interruptions. Every
    shift edge is an interval edge.
    """
    start, end = day_bounds(site, day)
    calendar = shift_windows(site, from_us(start), from_us(end))
    shifts = [(to_us(window.start), to_us(window.end)) for window in calendar]
    windows = [(max(start, shift_start), min(end, shift_end)) for shift_start, shift_end in shifts]
    scheduled = _union(windows)
    shift_edges = {edge for window in windows for edge in window}
    breaks = []
    for shift_start, shift_end in shifts:
        middle = (shift_start + shift_end) // 2
        breaks.append((middle - BREAK_US // 2, middle + BREAK_US // 2))
    changeovers = []
    for order_start, setup in zip(line_day.starts, line_day.setups, strict=True):
        segment = _containing(scheduled, order_start)
        if segment is not None:
            changeovers.append((order_start, min(segment[1], order_start + setup)))

    inner_edges = {edge for span in breaks + changeovers for edge in span if start < edge < end}
    edges = sorted({start, end} | shift_edges | inner_edges)
    walk = _MachineWalk(
        random.Random(f"{seed}:{machine.id}:{day.isoformat()}"), machine, shift_edges
    )
    for segment_start, segment_end in itertools.pairwise(edges):
        if _containing(scheduled, segment_start) is None:
            walk.record(segment_start, segment_end, "idle", "NO_SHIFT")
        elif _containing(changeovers, segment_start) is not None:
            walk.record(segment_start, segment_end, "changeover", "CHANGEOVER")
        elif _containing(breaks, segment_start) is not None:
            walk.record(segment_start, segment_end, "planned_stop", "BREAK")
        else:
            setup_ends = [stop for _, stop in changeovers if stop <= segment_start]
            walk.produce(
                segment_start, segment_end, max(setup_ends) + RAMP_UP_US if setup_ends else start
            )
    return MachineDay(
        intervals=tuple(walk.intervals),
        interval_ends=tuple(interval[1] for interval in walk.intervals),
        cycles=walk.cycles,
        rejects=walk.rejects,
    )
