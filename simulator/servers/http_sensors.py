"""The simulated plant's environmental sensors: JSON over HTTP, one resource per sensor.

A machine's `http` tag map names `<sensor path>#<field>`; `GET <sensor path>` answers every
field of that sensor at `clock()`, with the reading's instant:

    {"temperature": 21.4, "humidity": 40.2, "timestamp": "2026-03-03T08:00:00+00:00"}

A value the plant lost is `null`. For the tests, a sensor can be made `failing` (503),
`garbled` (a body that is not JSON) or `slow` (it answers after a delay, without holding up the
other sensors: each request has a thread of its own).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._plant import SimulatedPlant
from ._http import Answer, Credentials, JsonServer, Raw
from ._plc import PlcImage

Clock = Callable[[], dt.datetime]


@dataclass
class HttpSensors:
    """The sensors' answers, and the faults the tests inject, by sensor path."""

    plant: SimulatedPlant
    clock: Clock
    failing: set[str] = field(default_factory=set)
    garbled: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.image = PlcImage(self.plant, "http")
        self.sensors: dict[str, list[tuple[str, str, str]]] = {}
        """Per sensor path: (machine id, tag, JSON field) of each of its values."""
        for machine_id, tags in self.image.tag_maps.items():
            for tag, mapping in tags.items():
                path, _, name = mapping.address.partition("#")
                self.sensors.setdefault(path, []).append((machine_id, tag, name))

    def route(self, path: str, query: list[tuple[str, str]]) -> Answer:
        if path not in self.sensors:
            return 404, {"error": f"no sensor at {path}"}
        time.sleep(self.slow.get(path, 0.0))
        if path in self.failing:
            return 503, {"error": "sensor busy"}
        if path in self.garbled:
            return 200, Raw("text/html", b"<html>gateway error</html>")
        at = self.clock()
        body: dict[str, object] = {"timestamp": at.isoformat()}
        for machine_id, tag, name in self.sensors[path]:
            body[name] = self.image.values(machine_id, at)[tag][0]
        return 200, body

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> JsonServer:
        """The HTTP server (started by `with`; `url` is its base URL)."""
        return JsonServer(self.route, Credentials(), host, port)
