"""The simulated plant in real time, as a feed of state changes on a console.

`oee simulate` runs this until it is stopped; the peripheral servers (OPC UA, Modbus, MQTT,
MES, ERP, historians) that later serve the same timeline run beside it in the same process.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TextIO

from ._plant import SimulatedPlant

_INSTANT = dt.timedelta(microseconds=1)


def run_live(
    plant: SimulatedPlant, out: TextIO, stop: threading.Event, poll_s: float = 1.0
) -> None:
    """Print each machine's state, reason and PLC counters whenever the state changes."""
    shown: dict[str, tuple[str, str | None]] = {}
    machine_ids = [machine.id for _, _, machine in plant.plant.machines()]
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        for machine_id in machine_ids:
            (state,) = plant.states(machine_id, now, now + _INSTANT)
            if shown.get(machine_id) != (state.state, state.reason_code):
                shown[machine_id] = (state.state, state.reason_code)
                good, reject = plant.counters(machine_id, now)
                print(
                    f"{now:%Y-%m-%dT%H:%M:%SZ} {machine_id:<14} {state.state:<15}"
                    f" {state.reason_code or '-':<18} good={good} reject={reject}",
                    file=out,
                    flush=True,
                )
        stop.wait(poll_s)
