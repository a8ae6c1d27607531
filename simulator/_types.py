"""Record types the simulated plant answers with.

Frozen dataclasses, so that answers can be cached, compared for equality in determinism checks and
handed to other threads without copying. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import get_args

from oee_pipelines.vocabulary import MachineState as State

STATES: tuple[State, ...] = get_args(State)
"""Every canonical state; the simulated plant never reports `offline` itself."""


@dataclass(frozen=True, slots=True)
class StateInterval:
    """A machine in one state over [start, end)."""

    machine_id: str
    start: dt.datetime
    end: dt.datetime
    state: State
    reason_code: str | None


@dataclass(frozen=True, slots=True)
class Cycle:
    """One part completed at instant ts; good is False for a reject."""

    ts: dt.datetime
    good: bool


@dataclass(frozen=True, slots=True)
class CountBucket:
    """Parts completed in [start, end), as the warehouse stores them in production_count."""

    machine_id: str
    start: dt.datetime
    end: dt.datetime
    good_count: int
    reject_count: int


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """A production order of a whole line; the PLC counters of its machines reset at its start."""

    work_order_id: str
    site_id: str
    line_id: str
    product_sku: str
    recipe_id: str
    recipe_version: int
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One occurrence of a calendar shift; shift_date is the local date on which it starts."""

    site_id: str
    shift_date: dt.date
    shift_name: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class MachineTruth:
    """The ground-truth OEE of one machine over one period (a shift when shift_name is set)."""

    machine_id: str
    line_id: str
    site_id: str
    period_start: dt.datetime
    period_end: dt.datetime
    shift_date: dt.date | None
    shift_name: str | None
    planned_production_s: float
    run_s: float
    planned_downtime_s: float
    unplanned_downtime_s: float
    ideal_run_s: float
    total_count: int
    good_count: int
    reject_count: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    states: tuple[StateInterval, ...]
