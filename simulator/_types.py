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
class DowntimeEvent:
    """A stop as the MES or an operator reports it (curated.downtime_event): a planned
    maintenance window, which the machine's own states need not fill exactly."""

    machine_id: str
    start: dt.datetime
    end: dt.datetime
    category: str
    reason_code: str


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One occurrence of a calendar shift; shift_date is the local date on which it starts.

    breaks: the [start, end) of each planned break of the occurrence, in order.
    """

    site_id: str
    shift_date: dt.date
    shift_name: str
    start: dt.datetime
    end: dt.datetime
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class OeeRow:
    """One ground-truth row of an OEE mart (contracts.md section 3, docs of issue 12).

    machine_id is None on a line row. shift_date and shift_name are None on an hourly row;
    shift_name is 'unscheduled' on the row of the run outside every shift on a local date.
    Counts are sums of shares of count intervals, hence floats.
    """

    machine_id: str | None
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
    total_count: float
    good_count: float
    reject_count: float
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
