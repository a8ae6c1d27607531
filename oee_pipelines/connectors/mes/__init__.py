"""MES connectors (no Dagster): a REST client and a SOAP (B2MML) client with one face.

Both answer `changes(since)` with the same plain records and take `report(actual)`, so the
assets neither know nor care which protocol a plant's MES speaks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from .records import (
    SYSTEM,
    MesChanges,
    Recipe,
    ScheduleEntry,
    ShiftAssignment,
    WorkOrder,
    WorkOrderActual,
)
from .rest import MesRestClient
from .soap import MesSoapClient

ENTITIES = ("work_orders", "schedule", "recipes", "shifts")
"""What an MES sync reads, each with a watermark of its own."""


class MesClient(Protocol):
    """What the assets use of an MES, whatever its protocol; closed when its `with` ends."""

    def __enter__(self) -> MesClient: ...

    def __exit__(self, *exc: object) -> None: ...

    def changes(self, since: Mapping[str, dt.datetime | None]) -> MesChanges: ...

    def report(self, actual: WorkOrderActual) -> None: ...


__all__ = [
    "ENTITIES",
    "SYSTEM",
    "MesChanges",
    "MesClient",
    "MesRestClient",
    "MesSoapClient",
    "Recipe",
    "ScheduleEntry",
    "ShiftAssignment",
    "WorkOrder",
    "WorkOrderActual",
]
