"""Seeded event generation: one block per machine (or line) per production day.

Every block is a pure function of (seed, plant model, local date): its random generator is seeded
with a string naming the seed, the machine or line and the date, so any block can be generated
alone, in any process and in any order, and always comes out the same. Times are integer
microseconds since the Unix epoch.

Every change the blocks make (work orders, setups, maintenance, running outside the shifts) falls
on a whole minute, so no minute count bucket straddles one: counting parts by their completion
instant then equals splitting the buckets in proportion to time, as the warehouse does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from array import array
from bisect import bisect_right
from dataclasses import dataclass

from oee_pipelines.plant_model import Line, Machine, Site

from ._calendar import from_us, production_day_start, shift_windows, to_us
from ._types import DowntimeEvent, State, WorkOrder

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
RECIPE_CYCLE_FACTORS = (1.0, 1.5, 1.0, 1.5)
"""The ideal cycle time of each product of a line's catalogue, as a multiple of the line's rate."""
RUN_THROUGH_BREAK = 0.25
"""Share of (machine, break) pairs in which the machine keeps producing through the break."""
MAINTENANCE_PER_DAY = 0.35
"""Chance that a machine has a planned maintenance on a production day."""
MAINTENANCE_MINUTES = (20, 60)
MAINTENANCE_EARLY_STOP_MINUTES = 5
"""The machine stops this long before its maintenance event starts (the overlap counts once)."""
MAINTENANCE_TAIL_MINUTES = (10, 30)
"""The event ends this long after the machine is back: it runs inside a planned event."""
OFF_SHIFT_RUNS = (1, 2)
"""How many spells of running (30-180 min) a machine has in a stretch outside every shift."""
OFF_SHIFT_RUN_MINUTES = (30, 180)

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
    downtime: tuple[DowntimeEvent, ...]  # the planned maintenance events reported


def day_bounds(site: Site, day: dt.date) -> Span:
    next_day = day + dt.timedelta(days=1)
    return to_us(production_day_start(site, day)), to_us(production_day_start(site, next_day))


@dataclass(frozen=True, slots=True)
class Product:
    """A product of a line's catalogue and the current version of its recipe."""

    product_sku: str
    recipe_id: str
    recipe_version: int
    ideal_cycle_time_s: float


def line_rate_s(line: Line) -> float:
    """The line's ideal cycle time: its output machine's (its first machine's without one)."""
    by_id = {machine.id: machine for machine in line.machines}
    return by_id.get(line.output_machine or "", line.machines[0]).ideal_cycle_time_s


def paced_by_recipe(line: Line, machine: Machine) -> bool:
    """Whether the recipe's cycle time paces the machine: the output machine of a line in
    series, every machine of a line in parallel."""
    return line.output_machine in (None, machine.id)


def catalogue(line: Line) -> tuple[Product, ...]:
    """The line's small product catalogue; its products run at different paces."""
    return tuple(
        Product(
            f"{line.id}-SKU{k}",
            f"RCP-{line.id}-{k}",
            1 + k % 2,
            line_rate_s(line) * RECIPE_CYCLE_FACTORS[k - 1],
        )
        for k in range(1, 5)
    )


def plan_line_day(seed: int, site: Site, line: Line, day: dt.date) -> LineDay:
    """Cut the production day into work orders of 3-9 h each (whole minutes), the last one
    ending with the day."""
    rng = random.Random(f"{seed}:{line.id}:{day.isoformat()}:work-orders")
    start, end = day_bounds(site, day)
    shortest, longest = WORK_ORDER_HOURS
    products = catalogue(line)
    orders: list[WorkOrder] = []
    starts: list[int] = []
    setups: list[int] = []
    while start < end:
        remaining_h = (end - start) / _HOUR
        if remaining_h <= longest:
            stop = end
        else:  # leave at least `shortest` hours for the orders still to come
            hours = rng.uniform(shortest, min(longest, remaining_h - shortest))
            stop = start + int(hours * 60) * _MINUTE
        product = rng.choice(products)
        orders.append(
            WorkOrder(
                work_order_id=f"WO-{line.id}-{day:%Y%m%d}-{len(orders) + 1:02d}",
                site_id=site.id,
                line_id=line.id,
                product_sku=product.product_sku,
                recipe_id=product.recipe_id,
                recipe_version=product.recipe_version,
                start=from_us(start),
                end=from_us(stop),
            )
        )
        starts.append(start)
        setups.append(int(rng.uniform(*SETUP_MINUTES)) * _MINUTE)
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

    def __init__(self, rng: random.Random, shift_edges: set[int]) -> None:
        self.rng = rng
        self.shift_edges = shift_edges
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

    def produce(self, start: int, end: int, ramp_up_until: int, ideal_cycle_time_s: float) -> None:
        """Alternate running spells and interruptions over [start, end), at a pace somewhat
        slower than the ideal cycle time."""
        rng = self.rng
        while start < end:
            stop = min(end, start + max(1, int(rng.expovariate(1 / MEAN_RUN_S) * _SECOND)))
            self.record(start, stop, "running", None)
            self._run(start, stop, ramp_up_until, ideal_cycle_time_s)
            if stop == end:
                return
            state, reasons, shortest, longest = rng.choices(_INTERRUPTIONS, _WEIGHTS)[0]
            reason = rng.choice(reasons)
            start, stop = stop, min(end, stop + int(rng.uniform(shortest, longest) * _SECOND))
            self.record(start, stop, state, reason)
            start = stop

    def _run(self, start: int, stop: int, ramp_up_until: int, ideal_cycle_time_s: float) -> None:
        """Complete parts back to back; the part still in the machine at `stop` is not counted."""
        draw = self.rng.random
        cycle_min = int(ideal_cycle_time_s * CYCLE_FACTOR[0] * _SECOND)
        cycle_spread = int(ideal_cycle_time_s * (CYCLE_FACTOR[1] - CYCLE_FACTOR[0]) * _SECOND)
        add_cycle, add_reject = self.cycles.append, self.rejects.append
        t = start + cycle_min + int(cycle_spread * draw())
        while t < stop:
            add_cycle(t)
            if draw() < (RAMP_UP_REJECT_RATE if t < ramp_up_until else REJECT_RATE):
                add_reject(t)
            t += cycle_min + int(cycle_spread * draw())


def _minute_in(rng: random.Random, start: int, end: int) -> int:
    """A whole minute after `start` (itself on a whole minute) and before `end`."""
    return start + rng.randrange(max(1, (end - start) // _MINUTE)) * _MINUTE


def _off_shift_runs(rng: random.Random, gaps: list[Span]) -> list[Span]:
    """Spells in which the machine runs outside every shift (after the last shift, over a
    local midnight): whole minutes inside the gaps between shifts."""
    runs = []
    for gap_start, gap_end in gaps:
        for _ in range(rng.randint(*OFF_SHIFT_RUNS)):
            start = _minute_in(rng, gap_start, gap_end)
            minutes = rng.randint(*OFF_SHIFT_RUN_MINUTES)
            runs.append((start, min(gap_end, start + minutes * _MINUTE)))
    return _union(runs)


def _maintenance(
    rng: random.Random, machine: Machine, scheduled: list[Span]
) -> tuple[list[Span], list[DowntimeEvent]]:
    """Maybe one planned maintenance in a shift: the machine stops (planned_stop) a little
    before the reported event starts, and runs again a little before it ends."""
    long_enough = [span for span in scheduled if span[1] - span[0] >= 4 * _HOUR]
    if not long_enough or rng.random() >= MAINTENANCE_PER_DAY:
        return [], []
    segment_start, segment_end = rng.choice(long_enough)
    stop = _minute_in(rng, segment_start + _HOUR, segment_end - 2 * _HOUR)
    back = stop + rng.randint(*MAINTENANCE_MINUTES) * _MINUTE
    event = DowntimeEvent(
        machine.id,
        from_us(stop + MAINTENANCE_EARLY_STOP_MINUTES * _MINUTE),
        from_us(back + rng.randint(*MAINTENANCE_TAIL_MINUTES) * _MINUTE),
        "planned",
        "PLANNED_MAINTENANCE",
    )
    return [(stop, back)], [event]


def generate_machine_day(
    seed: int, site: Site, line: Line, machine: Machine, day: dt.date, line_day: LineDay
) -> MachineDay:
    """Generate one machine's production day.

    Outside every shift the machine is idle (NO_SHIFT) but for a few spells of running. Inside,
    fixed stops come first: a changeover at each work-order start that falls inside a shift, a
    planned maintenance now and then, the shift's breaks (from the plant model; a 30-minute
    break in the middle of a shift that has none), through which the machine sometimes keeps
    producing; the rest alternates running spells and random interruptions. Every shift edge
    and work-order start is an interval edge. The machine that counts the line's output runs
    at the pace of the recipe of the work order in force.
    """
    rng = random.Random(f"{seed}:{machine.id}:{day.isoformat()}")
    start, end = day_bounds(site, day)
    calendar = shift_windows(site, from_us(start), from_us(end))
    shifts = [(to_us(window.start), to_us(window.end)) for window in calendar]
    windows = [(max(start, shift_start), min(end, shift_end)) for shift_start, shift_end in shifts]
    scheduled = _union(windows)
    shift_edges = {edge for window in windows for edge in window}
    breaks = []
    for window, (shift_start, shift_end) in zip(calendar, shifts, strict=True):
        pauses = [(to_us(pause), to_us(resume)) for pause, resume in window.breaks]
        if not pauses:
            middle = (shift_start + shift_end) // 2
            pauses = [(middle - BREAK_US // 2, middle + BREAK_US // 2)]
        breaks += [pause for pause in pauses if rng.random() >= RUN_THROUGH_BREAK]
    changeovers = []
    for order_start, setup in zip(line_day.starts, line_day.setups, strict=True):
        segment = _containing(scheduled, order_start)
        if segment is not None:
            changeovers.append((order_start, min(segment[1], order_start + setup)))
    maintenance, downtime = _maintenance(rng, machine, scheduled)
    bounded = [(start, start), *scheduled, (end, end)]
    gaps = [(a, b) for (_, a), (b, _) in itertools.pairwise(bounded) if a < b]
    off_shift = _off_shift_runs(rng, gaps)
    paces = [
        next(p.ideal_cycle_time_s for p in catalogue(line) if p.recipe_id == order.recipe_id)
        if paced_by_recipe(line, machine)
        else machine.ideal_cycle_time_s
        for order in line_day.orders
    ]

    spans = breaks + changeovers + maintenance + off_shift
    inner_edges = {edge for span in spans for edge in span if start < edge < end}
    edges = sorted({start, end} | shift_edges | inner_edges | set(line_day.starts))
    walk = _MachineWalk(rng, shift_edges)
    for segment_start, segment_end in itertools.pairwise(edges):
        pace = paces[bisect_right(line_day.starts, segment_start) - 1]
        setup_ends = [stop for _, stop in changeovers if stop <= segment_start]
        ramp_up_until = max(setup_ends) + RAMP_UP_US if setup_ends else start
        if _containing(scheduled, segment_start) is None:
            if _containing(off_shift, segment_start) is None:
                walk.record(segment_start, segment_end, "idle", "NO_SHIFT")
            else:
                walk.produce(segment_start, segment_end, ramp_up_until, pace)
        elif _containing(changeovers, segment_start) is not None:
            walk.record(segment_start, segment_end, "changeover", "CHANGEOVER")
        elif _containing(maintenance, segment_start) is not None:
            walk.record(segment_start, segment_end, "planned_stop", "PLANNED_MAINTENANCE")
        elif _containing(breaks, segment_start) is not None:
            walk.record(segment_start, segment_end, "planned_stop", "BREAK")
        else:
            walk.produce(segment_start, segment_end, ramp_up_until, pace)
    return MachineDay(
        intervals=tuple(walk.intervals),
        interval_ends=tuple(interval[1] for interval in walk.intervals),
        cycles=walk.cycles,
        rejects=walk.rejects,
        downtime=tuple(downtime),
    )
