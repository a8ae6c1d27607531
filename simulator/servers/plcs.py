"""The simulated plant's PLCs and sensors on the wall clock: its OPC UA server, Modbus units and
HTTP sensors together, as `oee simulate` runs them beside the console feed."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .._plant import SimulatedPlant
from .http_sensors import HttpSensors
from .modbus import serving_modbus
from .opcua import follow_wall_clock, serving_opcua


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # clock-ok: the live plant follows the wall clock


@contextmanager
def serving_plcs(
    plant: SimulatedPlant,
    host: str = "127.0.0.1",
    opcua_port: int = 4840,
    modbus_port: int = 5020,
    http_port: int = 8090,
) -> Iterator[dict[str, str]]:
    """The three servers until the block ends; yields each one's endpoint by protocol."""
    stop = threading.Event()
    with (
        serving_opcua(plant, _now(), opcua_port, host=host) as opcua,
        serving_modbus(plant, _now, host, modbus_port) as (_, port),
        HttpSensors(plant, _now).serve(host, http_port) as http,
    ):
        follower = threading.Thread(target=follow_wall_clock, args=(opcua, stop), daemon=True)
        follower.start()
        try:
            yield {"opcua": opcua.endpoint, "modbus": f"{host}:{port}", "http": http.url}
        finally:
            stop.set()
            follower.join(10)
