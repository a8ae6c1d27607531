"""A deterministic, seeded simulation of the plant in the plant model.

It is the project's single source of ground truth: machine states, part counts, PLC counters,
work orders and shift windows come from one seeded event timeline, and the OEE truth the
warehouse is checked against is computed from that timeline alone.
"""

from ._calendar import production_day_start
from ._live import run_live
from ._plant import MARTS, SimulatedPlant, truth_report
from ._types import (
    STATES,
    CountBucket,
    Cycle,
    DowntimeEvent,
    OeeRow,
    ShiftWindow,
    State,
    StateInterval,
    WorkOrder,
)

__all__ = [
    "MARTS",
    "STATES",
    "CountBucket",
    "Cycle",
    "DowntimeEvent",
    "OeeRow",
    "ShiftWindow",
    "SimulatedPlant",
    "State",
    "StateInterval",
    "WorkOrder",
    "production_day_start",
    "run_live",
    "truth_report",
]
