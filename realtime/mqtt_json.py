"""Plain MQTT with JSON payloads: topics mapped to plant-model machines and tags.

A topic is bound by its exact address in a machine's `mqtt` tag map (so it can name a signal:
`state`, `reason_code`, `good_count`, `reject_count`), or else by a topic pattern such as
`plant/{site}/{line}/{machine}/{tag}`, whose fields compose the machine id (`{site}-{line}-
{machine}` by default); a tag the machine's tag map names is that signal, any other is telemetry.

A payload is a bare JSON value (`42.5`, `"running"`, `true`) or an object with configurable
fields for the value, the timestamp (epoch milliseconds or ISO 8601 with an offset; the receipt
time when absent) and the quality (`good`/`uncertain`/`bad` or an OPC quality code: 192 and up
good, 64-191 uncertain, below 64 bad; `good` when absent). A text value is stored as
`value_text`. Invalid UTF-8, invalid JSON, NaN or infinite numbers, a missing value field, a
naive or unreadable timestamp, an unknown quality, a topic no machine maps to: dead letters, with
the payload and topic.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oee_pipelines.connectors.mqtt import TELEMETRY, oversized
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.signals import Binding, SignalConfig, Value
from oee_pipelines.warehouse.records import DeadLetter
from realtime.source import Decoded, Outgoing

_FIELD = re.compile(r"^\{(\w+)\}$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_QUALITIES = {"good": "good", "uncertain": "uncertain", "bad": "bad"}
_TOPIC_CACHE_SIZE = 100_000


class TopicPattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = "plant/{site}/{line}/{machine}/{tag}"
    """Topic levels: literals, or `{field}` for a whole level; `{tag}` is required."""
    machine_id: str = "{site}-{line}-{machine}"
    """The plant-model machine id, composed from the pattern's fields."""

    @field_validator("pattern")
    @classmethod
    def _has_tag(cls, pattern: str) -> str:
        levels = pattern.split("/")
        if "{tag}" not in levels:
            raise ValueError(f"topic pattern {pattern!r} has no {{tag}} level")
        if any(("{" in level or "+" in level or "#" in level) and not _FIELD.match(level)
               for level in levels):  # fmt: skip
            raise ValueError(f"topic pattern {pattern!r}: a field must be a whole level")
        return pattern

    @property
    def topic_filter(self) -> str:
        return "/".join("+" if _FIELD.match(level) else level for level in self.pattern.split("/"))

    def fields(self, topic: str) -> dict[str, str] | None:
        """The pattern's fields in a topic, or None when the topic does not match."""
        levels, pattern = topic.split("/"), self.pattern.split("/")
        if len(levels) != len(pattern):
            return None
        found = {}
        for level, expected in zip(levels, pattern, strict=True):
            field = _FIELD.match(expected)
            if field is not None:
                found[field.group(1)] = level
            elif level != expected:
                return None
        return found


class MqttJsonConfig(SignalConfig):
    patterns: tuple[TopicPattern, ...] = (TopicPattern(),)
    value_field: str = Field(default="value", min_length=1)
    timestamp_field: str = Field(default="timestamp", min_length=1)
    quality_field: str = Field(default="quality", min_length=1)


class _Rejected(ValueError):
    """Why a payload or topic becomes a dead letter."""


class MqttJsonSource:
    """An `MqttSource` for plain JSON topics; one instance per service, fed from one thread."""

    name = "mqtt_json"

    def __init__(self, plant: PlantModel, config: MqttJsonConfig | None = None) -> None:
        self.config = config or MqttJsonConfig()
        self.signals = self.config.machine_signals()
        """The state and counter trackers, for the service to resume after a restart."""
        self._plausibility = self.config.plausibility()
        self._machines = {machine.id: machine for _, _, machine in plant.machines()}
        self._addresses = {
            mapping.address: Binding.of(machine.id, tag, mapping)
            for machine in self._machines.values()
            for tag, mapping in machine.tag_map.get("mqtt", {}).items()
            if not mapping.address.startswith("spBv1.0/")
        }
        self._topics: dict[str, Binding | str] = {}
        """Each topic seen: its binding, or why it has none."""

    def bindings(self) -> list[Binding]:
        return list(self._addresses.values())

    def subscriptions(self) -> Sequence[str]:
        patterns = self.config.patterns
        filters = [p.topic_filter for p in patterns]
        unmatched = [a for a in self._addresses if not any(p.fields(a) for p in patterns)]
        return list(dict.fromkeys(filters + unmatched))

    def will(self) -> Outgoing | None:
        return None

    def on_connect(self) -> Sequence[Outgoing]:
        return []

    def decode(
        self, topic: str, payload: bytes, received_at: dt.datetime
    ) -> tuple[Decoded, Sequence[Outgoing]]:
        out = Decoded()
        too_big = oversized(self.name, topic, payload, self.config.max_payload_bytes)
        if too_big is not None:
            out.dead_letters.append(too_big)
            return out, []
        try:
            binding = self._binding(topic)
            value, ts, quality = self._reading(payload, received_at)
            problem = self.signals.reading(binding, ts, value, quality, out)
            if problem is not None:
                raise _Rejected(problem)
        except _Rejected as exc:
            out.dead_letters.append(
                DeadLetter(self.name, TELEMETRY, str(exc), payload, {"topic": topic})
            )
        return out, []

    def _binding(self, topic: str) -> Binding:
        binding = self._topics.get(topic)
        if binding is None:
            if len(self._topics) >= _TOPIC_CACHE_SIZE:  # a publisher inventing topics
                self._topics.clear()
            binding = self._topics[topic] = self._resolve(topic)
        if isinstance(binding, str):
            raise _Rejected(binding)
        return binding

    def _resolve(self, topic: str) -> Binding | str:
        binding = self._addresses.get(topic)
        if binding is not None:
            return binding
        for pattern in self.config.patterns:
            fields = pattern.fields(topic)
            if fields is None:
                continue
            try:
                machine_id = pattern.machine_id.format(**fields)
            except KeyError as exc:
                return f"topic pattern {pattern.pattern!r} has no field {exc} for its machine id"
            machine = self._machines.get(machine_id)
            if machine is None:
                return f"no machine {machine_id!r} in the plant model for topic {topic}"
            tag = fields["tag"]
            return Binding.of(machine_id, tag, machine.tag_map.get("mqtt", {}).get(tag))
        return f"no tag map address or topic pattern matches {topic}"

    def _reading(self, payload: bytes, received_at: dt.datetime) -> tuple[Value, dt.datetime, str]:
        try:
            document = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as exc:
            raise _Rejected(f"payload is not valid UTF-8: {exc}") from None
        except _Rejected:
            raise
        except ValueError as exc:  # JSONDecodeError included
            raise _Rejected(f"payload is not JSON: {exc}") from None
        if not isinstance(document, dict):
            return _value(document), received_at, "good"
        config = self.config
        if config.value_field not in document:
            raise _Rejected(f"payload has no {config.value_field!r} field")
        value = _value(document[config.value_field])
        stamp = document.get(config.timestamp_field)
        ts = received_at if stamp is None else _timestamp(stamp)
        problem = self._plausibility.problem(ts, received_at)
        if problem is not None:
            raise _Rejected(problem)
        return value, ts, _quality(document.get(config.quality_field, "good"))


def _no_constant(name: str) -> None:
    raise _Rejected(f"payload holds {name}, not a finite number")


def _value(value: Any) -> Value:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Rejected(f"value {value} is not a finite number")
        return value
    raise _Rejected(f"value is a JSON {type(value).__name__}, not a number or text")


def _timestamp(stamp: Any) -> dt.datetime:
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and math.isfinite(stamp):
        try:
            return _EPOCH + dt.timedelta(milliseconds=stamp)
        except OverflowError:
            raise _Rejected(f"timestamp {stamp} ms is out of range") from None
    if isinstance(stamp, str):
        try:
            ts = dt.datetime.fromisoformat(stamp)
        except ValueError:
            raise _Rejected(f"timestamp {stamp!r} is not ISO 8601") from None
        if ts.utcoffset() is None:
            raise _Rejected(f"timestamp {stamp!r} has no UTC offset")
        return ts.astimezone(dt.UTC)
    raise _Rejected(f"timestamp {stamp!r} is neither epoch milliseconds nor ISO 8601")


def _quality(quality: Any) -> str:
    if isinstance(quality, str) and quality.lower() in _QUALITIES:
        return _QUALITIES[quality.lower()]
    if isinstance(quality, int) and not isinstance(quality, bool) and 0 <= quality <= 255:
        return "good" if quality >= 192 else "uncertain" if quality >= 64 else "bad"
    raise _Rejected(f"quality {quality!r} is not good/uncertain/bad or an OPC code 0-255")
