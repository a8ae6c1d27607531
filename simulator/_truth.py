"""Ground-truth OEE arithmetic: the time model of contracts.md section 3 (issue 12).

This is the reference the warehouse SQL is checked against, so it is written out plainly, in
seconds and from the public answers of the simulated plant (state intervals, part completions,
shift windows with their breaks, planned downtime events, work orders and their recipes), with
no shortcut shared with the generator or the warehouse.

Each instant of a machine is classified on its own. Inside a shift: running (the run class) is
planned production and run, also inside a planned window (a break or a planned downtime event);
else a planned window, a planned_stop or an excluded state is planned downtime; anything else,
no state known included, is planned production lost (unplanned downtime). Outside every shift,
only the run class counts: as planned production and run of the machine's `unscheduled` row of
that local date. Each part counts at its completion instant (the simulated plant changes work
orders, shifts and hours only on whole minutes, so a minute count bucket is never cut and this
equals the warehouse's split in proportion to time), at the ideal cycle time in force then: the
recipe of the line's active work order for the machine that paces the line, else the machine's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from oee_pipelines.plant_model import UNSCHEDULED, Line, Machine, Site

from ._types import Cycle, DowntimeEvent, OeeRow, ShiftWindow, StateInterval, WorkOrder

_HOUR = dt.timedelta(hours=1)
_MINUTE = dt.timedelta(minutes=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Kind = Literal["run", "planned_downtime", "unplanned_downtime"]


@dataclass(frozen=True, slots=True)
class LossModel:
    """The site's mapping of states to losses; the defaults are ISO 22400."""

    micro_stop_threshold_s: float = 0
    changeover: str = "availability"
    excluded_states: tuple[str, ...] = ()
    excluded_reason_codes: tuple[str, ...] = ()
    breaks_are_planned_downtime: bool = True

    @classmethod
    def of(cls, site: Site) -> LossModel:
        """The site's loss model, the defaults for a plant model without one."""
        configured = getattr(site, "loss_model", None)
        defaults = cls()
        return cls(
            **{
                name: getattr(configured, name, getattr(defaults, name))
                for name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True, slots=True)
class TimePiece:
    """[start, end) of a machine, counted as `kind`; shift is None outside every shift."""

    start: dt.datetime
    end: dt.datetime
    shift: ShiftWindow | None
    kind: Kind


@dataclass(frozen=True, slots=True)
class PartPiece:
    """One part completed at ts, with the ideal cycle time in force then."""

    ts: dt.datetime
    good: bool
    ideal_cycle_time_s: float
    shift: ShiftWindow | None


@dataclass(frozen=True, slots=True)
class MachineHistory:
    """Everything the truth of one machine is computed from, as the warehouse holds it."""

    site: Site
    line: Line
    machine: Machine
    states: list[StateInterval]
    cycles: list[Cycle]
    shifts: list[ShiftWindow]
    downtime: list[DowntimeEvent]
    orders: list[WorkOrder]
    recipe_cycle_time_s: dict[tuple[str, int], float]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _containing(spans: Iterable[tuple[dt.datetime, dt.datetime]], instant: dt.datetime) -> bool:
    return any(start <= instant < end for start, end in spans)


def _state_at(
    states: list[StateInterval], starts: list[dt.datetime], instant: dt.datetime
) -> StateInterval | None:
    index = bisect_right(starts, instant) - 1
    if index >= 0 and states[index].end > instant:
        return states[index]
    return None


def pieces(
    history: MachineHistory, start: dt.datetime, end: dt.datetime
) -> tuple[list[TimePiece], list[PartPiece]]:
    """The counted time and parts of the machine in [start, end), instant by instant."""
    loss = LossModel.of(history.site)
    states = sorted(history.states, key=lambda state: state.start)
    starts = [state.start for state in states]
    shifts = [
        (window, max(start, window.start), min(end, window.end))
        for window in history.shifts
        if window.start < end and window.end > start
    ]
    events = [(event.start, event.end) for event in history.downtime if event.category == "planned"]
    edges = {start, end}
    edges |= {instant for state in states for instant in (state.start, state.end)}
    edges |= {instant for _, lo, hi in shifts for instant in (lo, hi)}
    edges |= {instant for span in events for instant in span}
    edges |= {instant for window, _, _ in shifts for span in window.breaks for instant in span}
    edges |= _local_midnights(history.site, start, end) | _hours(start, end)
    time: list[TimePiece] = []
    for lo, hi in itertools.pairwise(sorted(edge for edge in edges if start <= edge <= end)):
        state = _state_at(states, starts, lo)
        shift = next((window for window, a, b in shifts if a <= lo < b), None)
        run = state is not None and (
            state.state == "running"
            or (state.state == "changeover" and loss.changeover == "performance")
            or (
                state.state == "unplanned_stop"
                and (state.end - state.start).total_seconds() < loss.micro_stop_threshold_s
            )
        )
        if run:
            time.append(TimePiece(lo, hi, shift, "run"))
        elif shift is None:
            continue
        elif (
            _containing(events, lo)
            or (loss.breaks_are_planned_downtime and _containing(shift.breaks, lo))
            or (state is not None and _planned_state(state, loss))
        ):
            time.append(TimePiece(lo, hi, shift, "planned_downtime"))
        else:
            time.append(TimePiece(lo, hi, shift, "unplanned_downtime"))
    parts = [
        PartPiece(
            cycle.ts,
            cycle.good,
            _ideal_cycle_time_s(history, cycle.ts),
            next((window for window, a, b in shifts if a <= cycle.ts < b), None),
        )
        for cycle in history.cycles
        if start <= cycle.ts < end
    ]
    return time, parts


def _planned_state(state: StateInterval, loss: LossModel) -> bool:
    """planned_stop, or a state the loss model excludes from planned time."""
    return (
        state.state == "planned_stop"
        or state.state in loss.excluded_states
        or (state.state != "running" and state.reason_code in loss.excluded_reason_codes)
    )


def _ideal_cycle_time_s(history: MachineHistory, instant: dt.datetime) -> float:
    """The recipe's of the line's active work order (latest start first) for the machine that
    paces the line, else the machine's own."""
    if history.line.output_machine not in (None, history.machine.id):
        return history.machine.ideal_cycle_time_s
    active = [order for order in history.orders if order.start <= instant < order.end]
    for order in sorted(active, key=lambda order: order.start, reverse=True)[:1]:
        recipe = history.recipe_cycle_time_s.get((order.recipe_id, order.recipe_version))
        if recipe is not None:
            return recipe
    return history.machine.ideal_cycle_time_s


def _floor(instant: dt.datetime, width: dt.timedelta) -> dt.datetime:
    """The start of the UTC clock hour (minute, ...) of the instant."""
    return _EPOCH + (instant - _EPOCH) // width * width


def _hours(start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    """The starts of the UTC clock hours that [start, end) overlaps."""
    hour = _floor(start, _HOUR)
    hours = set()
    while hour < end:
        hours.add(hour)
        hour += _HOUR
    return hours


def _local_midnights(site: Site, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    day = start.astimezone(site.tz).date()
    midnights = set()
    while (midnight := _local_midnight(site, day)) < end:
        midnights.add(midnight)
        day += dt.timedelta(days=1)
    return midnights


def _local_midnight(site: Site, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=site.tz).astimezone(dt.UTC)


def row(
    *,
    machine_id: str | None,
    line_id: str,
    site_id: str,
    period: tuple[dt.datetime, dt.datetime],
    shift: tuple[dt.date, str] | None,
    time: Iterable[TimePiece],
    parts: Iterable[PartPiece],
) -> OeeRow:
    """One OEE row from its time and parts: sums first, then the ratios."""
    spans = {
        "run": dt.timedelta(),
        "planned_downtime": dt.timedelta(),
        "unplanned_downtime": dt.timedelta(),
    }
    for piece in time:  # summed in whole microseconds, exactly
        spans[piece.kind] += piece.end - piece.start
    good = reject = ideal_run_s = 0.0
    for part in parts:
        good += part.good
        reject += not part.good
        ideal_run_s += part.ideal_cycle_time_s
    return _with_ratios(
        machine_id=machine_id,
        line_id=line_id,
        site_id=site_id,
        period_start=period[0],
        period_end=period[1],
        shift_date=shift[0] if shift else None,
        shift_name=shift[1] if shift else None,
        planned_production_s=(spans["run"] + spans["unplanned_downtime"]).total_seconds(),
        run_s=spans["run"].total_seconds(),
        planned_downtime_s=spans["planned_downtime"].total_seconds(),
        unplanned_downtime_s=spans["unplanned_downtime"].total_seconds(),
        ideal_run_s=ideal_run_s,
        total_count=good + reject,
        good_count=good,
        reject_count=reject,
    )


def _with_ratios(**sums: Any) -> OeeRow:
    availability = _ratio(sums["run_s"], sums["planned_production_s"])
    performance = _ratio(sums["ideal_run_s"], sums["run_s"])
    quality = _ratio(sums["good_count"], sums["total_count"])
    oee = None
    if availability is not None and performance is not None and quality is not None:
        oee = availability * performance * quality
    return OeeRow(
        **sums, availability=availability, performance=performance, quality=quality, oee=oee
    )


_MEASURES = (
    "planned_production_s", "run_s", "planned_downtime_s", "unplanned_downtime_s", "ideal_run_s",
    "total_count", "good_count", "reject_count",
)  # fmt: skip


def total(rows: list[OeeRow], **key: Any) -> OeeRow:
    """The sum of rows (a day, a line of machines in parallel): the sums of their times and
    counts, then the ratios; its period spans theirs. `key` sets the identifying columns."""
    sums = {measure: sum(getattr(one, measure) for one in rows) for measure in _MEASURES}
    return _with_ratios(
        period_start=min(one.period_start for one in rows),
        period_end=max(one.period_end for one in rows),
        **key,
        **sums,
    )


_K = TypeVar("_K", bound=Hashable)
_T = TypeVar("_T")


def _grouped(items: Iterable[_T], key: Callable[[_T], _K]) -> dict[_K, list[_T]]:
    groups: dict[_K, list[_T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def machine_rows(
    history: MachineHistory, start: dt.datetime, now: dt.datetime
) -> tuple[list[OeeRow], list[OeeRow]]:
    """The machine's hourly and machine-shift rows of the history from `start` up to `now`.

    An hour has a row when any state or part of the machine falls in it; a shift occurrence
    when any state overlaps it (measured up to now); a local date has an `unscheduled` row when
    the machine ran or counted parts outside every shift on it, from the first to the last
    instant of that (a part's instant being the minute the warehouse counts it in).
    """
    time, parts = pieces(history, start, now)
    ids = {
        "machine_id": history.machine.id,
        "line_id": history.line.id,
        "site_id": history.site.id,
    }
    hours_used = {_floor(part.ts, _HOUR) for part in parts} | {
        hour for state in history.states for hour in _hours(state.start, state.end)
    }
    time_by_hour = _grouped(time, lambda piece: _floor(piece.start, _HOUR))
    parts_by_hour = _grouped(parts, lambda part: _floor(part.ts, _HOUR))
    hourly = [
        row(
            **ids,
            period=(hour, min(hour + _HOUR, now)),
            shift=None,
            time=time_by_hour.get(hour, []),
            parts=parts_by_hour.get(hour, []),
        )
        for hour in sorted(hours_used)
        if start <= hour < now
    ]

    def period_of(item: TimePiece | PartPiece) -> Hashable:
        if item.shift is not None:
            return item.shift
        instant = item.start if isinstance(item, TimePiece) else item.ts
        return instant.astimezone(history.site.tz).date()

    time_by_period = _grouped(time, period_of)
    parts_by_period = _grouped(parts, period_of)
    shifts = []
    for window in history.shifts:
        end = min(window.end, now)
        worked = any(s.start < end and s.end > window.start for s in history.states)
        if window.start < now and worked:
            shifts.append(
                row(
                    **ids,
                    period=(window.start, end),
                    shift=(window.shift_date, window.shift_name),
                    time=time_by_period.get(window, []),
                    parts=parts_by_period.get(window, []),
                )
            )
    for day in sorted(
        key for key in {*time_by_period, *parts_by_period} if isinstance(key, dt.date)
    ):
        run = [piece for piece in time_by_period.get(day, []) if piece.kind == "run"]
        counted = parts_by_period.get(day, [])
        minutes = [_floor(part.ts, _MINUTE) for part in counted]
        shifts.append(
            row(
                **ids,
                period=(
                    min([piece.start for piece in run] + minutes),
                    max([piece.end for piece in run] + [minute + _MINUTE for minute in minutes]),
                ),
                shift=(day, UNSCHEDULED),
                time=run,
                parts=counted,
            )
        )
    return hourly, sorted(shifts, key=lambda one: one.period_start)


def daily(shift_rows: list[OeeRow], line_level: bool = False) -> list[OeeRow]:
    """Day rows: every shift row of a shift_date summed, `unscheduled` included."""
    days = _grouped(
        shift_rows, lambda one: (one.machine_id, one.line_id, one.site_id, one.shift_date)
    )
    return [
        total(
            rows,
            machine_id=None if line_level else machine_id,
            line_id=line_id,
            site_id=site_id,
            shift_date=shift_date,
            shift_name=None,
        )
        for (machine_id, line_id, site_id, shift_date), rows in days.items()
    ]


def line_shift_rows(line: Line, machine_shift_rows: list[OeeRow]) -> list[OeeRow]:
    """A line in series is its output machine's rows; a line in parallel the sums of its
    machines' rows of each shift occurrence (of each date's unscheduled time)."""
    mine = [one for one in machine_shift_rows if one.line_id == line.id]
    if line.output_machine is not None:
        return [
            _with_ratios(
                **{
                    name: getattr(one, name)
                    for name in OeeRow.__dataclass_fields__
                    if name not in ("availability", "performance", "quality", "oee")
                }
                | {"machine_id": None}
            )
            for one in mine
            if one.machine_id == line.output_machine
        ]
    occurrences = _grouped(mine, lambda one: (one.shift_date, one.shift_name))
    return [
        total(
            rows,
            machine_id=None,
            line_id=line.id,
            site_id=rows[0].site_id,
            shift_date=shift_date,
            shift_name=shift_name,
        )
        for (shift_date, shift_name), rows in occurrences.items()
    ]


def period_truth(
    history: MachineHistory,
    start: dt.datetime,
    end: dt.datetime,
    shift: ShiftWindow | None = None,
) -> OeeRow:
    """The machine's truth over [start, end): every counted instant and part in it."""
    time, parts = pieces(history, start, end)
    return row(
        machine_id=history.machine.id,
        line_id=history.line.id,
        site_id=history.site.id,
        period=(start, end),
        shift=(shift.shift_date, shift.shift_name) if shift else None,
        time=time,
        parts=parts,
    )
