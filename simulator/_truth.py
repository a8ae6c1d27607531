"""Ground-truth OEE arithmetic (ISO 22400 / Nakajima, plain shifts).

This is the reference the warehouse SQL is checked against, so it is written out plainly from the
public answers of the simulated plant (state intervals, part completions, shift windows) in
seconds, with no shortcut shared with the generator or the warehouse.
"""

from __future__ import annotations

import datetime as dt

from ._types import Cycle, MachineTruth, ShiftWindow, StateInterval


def _overlap_s(
    start: dt.datetime, end: dt.datetime, other_start: dt.datetime, other_end: dt.datetime
) -> float:
    return max(0.0, (min(end, other_end) - max(start, other_start)).total_seconds())


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def machine_truth(
    *,
    machine_id: str,
    line_id: str,
    site_id: str,
    ideal_cycle_time_s: float,
    period: tuple[dt.datetime, dt.datetime],
    windows: list[ShiftWindow],
    states: list[StateInterval],
    cycles: list[Cycle],
    shift: ShiftWindow | None = None,
) -> MachineTruth:
    """The OEE of one machine over `period`, counting only time and parts inside shift windows.

    scheduled = shift time in the period; planned downtime = planned_stop time in it; planned
    production = scheduled - planned downtime; run = running time in it; every other state in
    planned production time is unplanned downtime. Parts count when they complete inside the period
    and inside scheduled time. availability = run / planned production, performance = ideal run /
    run (not capped), quality = good / total, oee = their product; a division by zero gives None.
    """
    period_start, period_end = period
    scheduled = [
        (max(period_start, window.start), min(period_end, window.end))
        for window in windows
        if window.start < period_end and window.end > period_start
    ]
    scheduled_s = sum((end - start).total_seconds() for start, end in scheduled)

    def scheduled_time_in(state: str) -> float:
        return sum(
            _overlap_s(interval.start, interval.end, start, end)
            for interval in states
            if interval.state == state
            for start, end in scheduled
        )

    planned_downtime_s = scheduled_time_in("planned_stop")
    run_s = scheduled_time_in("running")
    planned_production_s = scheduled_s - planned_downtime_s
    unplanned_downtime_s = planned_production_s - run_s

    counted = [
        cycle
        for cycle in cycles
        if period_start <= cycle.ts < period_end
        and any(start <= cycle.ts < end for start, end in scheduled)
    ]
    total_count = len(counted)
    good_count = sum(1 for cycle in counted if cycle.good)
    reject_count = total_count - good_count
    ideal_run_s = total_count * ideal_cycle_time_s

    availability = _ratio(run_s, planned_production_s)
    performance = _ratio(ideal_run_s, run_s)
    quality = _ratio(good_count, total_count)
    if availability is None or performance is None or quality is None:
        oee = None
    else:
        oee = availability * performance * quality
    return MachineTruth(
        machine_id=machine_id,
        line_id=line_id,
        site_id=site_id,
        period_start=period_start,
        period_end=period_end,
        shift_date=shift.shift_date if shift else None,
        shift_name=shift.shift_name if shift else None,
        planned_production_s=planned_production_s,
        run_s=run_s,
        planned_downtime_s=planned_downtime_s,
        unplanned_downtime_s=unplanned_downtime_s,
        ideal_run_s=ideal_run_s,
        total_count=total_count,
        good_count=good_count,
        reject_count=reject_count,
        availability=availability,
        performance=performance,
        quality=quality,
        oee=oee,
        states=tuple(states),
    )
