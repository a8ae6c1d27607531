"""What an MES answers, as plain records: the same whatever protocol it speaks (REST or SOAP).

Each record read from the MES carries `modified_at`, the MES's own time of its last change,
which the next incremental pull asks for changes since. Times are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SYSTEM = "mes"
"""The system named in errors and in `audit.sync_log`."""


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """A production order of a line: what to make with which recipe, and its status."""

    work_order_id: str
    site_id: str
    line_id: str
    product_sku: str
    recipe_id: str
    recipe_version: str
    planned_qty: float
    status: str
    modified_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """A work order's place in its line's production schedule."""

    work_order_id: str
    line_id: str
    planned_start: dt.datetime
    planned_end: dt.datetime
    priority: int
    modified_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Recipe:
    """One version of a product's recipe on a line; versions are history, never edited."""

    recipe_id: str
    version: str
    product_sku: str
    line_id: str
    ideal_cycle_time_s: float
    setup_time_s: float
    teardown_time_s: float
    valid_from: dt.datetime
    modified_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ShiftAssignment:
    """The operators of one shift occurrence on a line ('' for the whole site)."""

    site_id: str
    line_id: str
    shift_start: dt.datetime
    operator_ids: tuple[str, ...]
    modified_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WorkOrderActual:
    """What the plant did for a work order, measured in the warehouse, reported to the MES."""

    work_order_id: str
    actual_start: dt.datetime
    actual_end: dt.datetime
    produced_qty: float


@dataclass(frozen=True)
class MesChanges:
    """Everything the MES changed since a watermark (everything, without one)."""

    work_orders: list[WorkOrder]
    schedule: list[ScheduleEntry]
    recipes: list[Recipe]
    shifts: list[ShiftAssignment]
