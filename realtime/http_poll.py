"""HTTP polling (httpx): environmental sensors that answer JSON over REST.

A machine's `http` tag map names `<sensor path>#<JSON field>`; each sensor path is polled by a
task of its own every `poll_interval_s`, so a slow sensor never delays the others. Each field
of the answer is a reading of the shared signal logic, stamped with the answer's
`timestamp_field` (ISO 8601 with an offset) or else the poll's instant; `null` is a reading
without a value, of bad quality.

- 5xx answers, timeouts and refused connections are counted and logged; the sensor's next poll
  waits twice as long each time (up to `backoff_max_s`), and its interval again once it answers;
- a body that is not JSON (or not a JSON object), a field missing from it, a value that is
  neither a number nor text: dead letters, with the body and the sensor's URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import Field

from oee_pipelines.connectors.mqtt import KEPT_PREFIX_BYTES
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.signals import Binding, SignalConfig, Value
from oee_pipelines.warehouse.records import DeadLetter
from realtime.batching import Intake
from realtime.logs import log
from realtime.source import Decoded

Clock = Callable[[], dt.datetime]
_TELEMETRY = "curated.telemetry"


class HttpPollConfig(SignalConfig):
    url: str = "http://127.0.0.1:8090"
    """The base URL the sensor paths are relative to."""
    poll_interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    timestamp_field: str | None = "timestamp"


@dataclass
class _Sensor:
    path: str
    fields: list[tuple[str, Binding]]


class _Unanswered(Exception):
    """A poll without a usable answer: retried after a backoff."""


class HttpPollSource:
    """A `Connector` of the realtime service: one polling task per sensor."""

    name = "http"

    def __init__(
        self,
        plant: PlantModel,
        config: HttpPollConfig | None = None,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),  # clock-ok: stamps each poll
    ) -> None:
        self.config = config = config or HttpPollConfig()
        self.signals = config.machine_signals()
        self._plausibility = config.plausibility()
        self.clock = clock
        sensors: dict[str, _Sensor] = {}
        for _, _, machine in plant.machines():
            for tag, mapping in machine.tag_map.get("http", {}).items():
                path, _, name = mapping.address.partition("#")
                sensor = sensors.setdefault(path, _Sensor(path, []))
                sensor.fields.append((name or tag, Binding.of(machine.id, tag, mapping)))
        self.sensors = list(sensors.values())
        self.polls: Counter[str] = Counter()
        """Answered or not, per sensor path."""
        self.failures: Counter[str] = Counter()
        """5xx answers, timeouts and connection errors, per sensor path."""

    async def run(self, intake: Intake, disconnect: asyncio.Event) -> None:
        timeout = httpx.Timeout(self.config.timeout_s)
        limits = httpx.Limits(max_connections=max(10, 2 * len(self.sensors)))
        async with httpx.AsyncClient(
            base_url=self.config.url, timeout=timeout, limits=limits
        ) as client:
            await asyncio.gather(*(self._poll(client, s, intake, disconnect) for s in self.sensors))

    async def _poll(
        self, client: httpx.AsyncClient, sensor: _Sensor, intake: Intake, stop: asyncio.Event
    ) -> None:
        failures = 0
        while not stop.is_set():
            out = Decoded()
            try:
                self._answer(await self._get(client, sensor), sensor, out)
                failures = 0
            except _Unanswered as exc:
                failures += 1
                self.failures[sensor.path] += 1
                log(logging.WARNING, "http.unanswered", sensor=sensor.path, error=str(exc))
            self.polls[sensor.path] += 1
            if out and not await asyncio.to_thread(intake.put, self.name, out):
                return
            interval = self.config.poll_interval_s * 2**failures
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(interval, self.config.backoff_max_s))

    async def _get(self, client: httpx.AsyncClient, sensor: _Sensor) -> httpx.Response:
        try:
            response = await client.get(sensor.path)
        except httpx.HTTPError as exc:  # timeouts and connection errors included
            raise _Unanswered(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise _Unanswered(f"HTTP {response.status_code}")
        return response

    def _answer(self, response: httpx.Response, sensor: _Sensor, out: Decoded) -> None:
        received = self.clock()
        context = {"endpoint": str(response.url)}
        body = response.content
        try:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            document = json.loads(body, parse_constant=_no_constant)
            if not isinstance(document, dict):
                raise ValueError(f"a JSON {type(document).__name__}, not an object")
            ts = self._timestamp(document, received)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
            reason = f"sensor {sensor.path}: answer is not a JSON reading: {exc}"
            out.dead_letters.append(
                DeadLetter(self.name, _TELEMETRY, reason, body[:KEPT_PREFIX_BYTES], context)
            )
            return
        for name, binding in sensor.fields:
            problem = None
            if name not in document:
                problem = f"sensor {sensor.path}: answer has no field {name!r}"
            else:
                value = _value(document[name])
                if isinstance(value, _Bad):
                    problem = f"sensor {sensor.path}: field {name!r} is {value.reason}"
                else:
                    quality = "bad" if value is None else "good"
                    problem = self.signals.reading(binding, ts, value, quality, out)
            if problem is not None:
                letter = DeadLetter(self.name, _TELEMETRY, problem, {name: document.get(name)},
                                    {**context, "tag": binding.tag})  # fmt: skip
                out.dead_letters.append(letter)

    def _timestamp(self, document: dict[str, Any], received: dt.datetime) -> dt.datetime:
        name = self.config.timestamp_field
        if name is None or name not in document:
            return received
        stamp = document[name]
        ts = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
        if ts is None or ts.utcoffset() is None:
            raise ValueError(f"{name} {stamp!r} is not ISO 8601 with an offset")
        ts = ts.astimezone(dt.UTC)
        problem = self._plausibility.problem(ts, received)
        if problem is not None:
            raise ValueError(problem)
        return ts


@dataclass(frozen=True)
class _Bad:
    reason: str


def _no_constant(name: str) -> None:
    raise ValueError(f"the answer holds {name}, not a finite number")


def _value(value: Any) -> Value | _Bad:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    return _Bad(f"a JSON {type(value).__name__}, not a number or text")
