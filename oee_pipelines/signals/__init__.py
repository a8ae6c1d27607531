"""The signal logic every PLC source shares (MQTT, OPC UA, Modbus, historians): state codes to
machine-state intervals, counter readings to production-count deltas. Plain Python, no I/O."""

from oee_pipelines.signals.config import SIMULATOR_STATE_CODES, SignalConfig
from oee_pipelines.signals.counters import CounterTracker, counter_delta
from oee_pipelines.signals.routing import (
    SIGNALS,
    Binding,
    MachineSignals,
    Plausibility,
    Rows,
    Signal,
    Value,
)
from oee_pipelines.signals.states import StateCodes, StateTracker

__all__ = [
    "SIGNALS",
    "SIMULATOR_STATE_CODES",
    "Binding",
    "CounterTracker",
    "MachineSignals",
    "Plausibility",
    "Rows",
    "Signal",
    "SignalConfig",
    "StateCodes",
    "StateTracker",
    "Value",
    "counter_delta",
]
