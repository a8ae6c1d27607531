"""The settings every source shares for its signals: state codes and timestamp plausibility."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from oee_pipelines.signals.routing import MachineSignals, Plausibility
from oee_pipelines.vocabulary import MachineState

SIMULATOR_STATE_CODES: dict[str, MachineState] = {
    "0": "offline",
    "1": "running",
    "2": "idle",
    "3": "starved",
    "4": "blocked",
    "5": "unplanned_stop",
    "6": "planned_stop",
    "7": "changeover",
}
"""The state codes of the simulated plant's PLCs: the default until a plant configures its own."""


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state_codes: dict[str, MachineState] = Field(
        default_factory=lambda: dict(SIMULATOR_STATE_CODES)
    )
    """A PLC's state values (as text: "5") to canonical states; canonical names map to
    themselves."""
    max_clock_skew_s: float = Field(default=300.0, ge=0)
    """A reading timestamped later than its receipt plus this is a dead letter."""
    earliest: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    """A reading timestamped before this is a dead letter."""
    max_payload_bytes: int = Field(default=1 << 20, gt=0)
    """A larger message is a dead letter (its first kilobytes kept) and is not decoded."""

    def plausibility(self) -> Plausibility:
        return Plausibility(dt.timedelta(seconds=self.max_clock_skew_s), self.earliest)

    def machine_signals(self) -> MachineSignals:
        return MachineSignals(self.state_codes)
