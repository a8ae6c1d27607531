"""Sparkplug B 3.0 host application: births, data by alias, sequence checks, deaths, STATE.

The host keeps, per edge node, the bdSeq and next seq of its current NBIRTH and, per node and
device, the metrics registered at birth (name, alias, datatype) already bound to plant-model
tags, so that a DATA message costs one protobuf parse and a dict lookup per metric.

Mapping (the plant model's `mqtt` tag maps): an address
`spBv1.0/<group>/DDATA/<edge node>/<device>:<metric>` (or `.../NDATA/<edge node>:<metric>`) binds
that metric to the machine's tag; the tags `state`, `reason_code`, `good_count` and
`reject_count` are signals, the others telemetry. A metric of a mapped device that the tag map
does not name is telemetry of that machine under the metric's own name. Sparkplug's own metrics
(`bdSeq`, `Node Control/*`, `Device Control/*`, `Properties/*`, `*Info/*`) and transient
metrics are not stored. A device no machine maps to is dead-lettered message by message.

Faults: a seq gap, or DATA before its BIRTH, asks the edge node for a rebirth (an NCMD
`Node Control/Rebirth`, at most once per `rebirth_interval_s` per node); what cannot be resolved
(DATA before BIRTH, an unknown alias) is dead-lettered whole. NDEATH (with the bdSeq of the
current NBIRTH; an older one is a late duplicate and ignored) and DDEATH mark the machines
`offline` and their telemetry stale.

Sparkplug data travels at QoS 0, so one host should see all messages of an edge node: run one
replica per set of `group_ids`, never a shared subscription.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import Field

from oee_pipelines.connectors.mqtt import TELEMETRY, oversized
from oee_pipelines.connectors.sparkplug import (
    DataType,
    Metric,
    Payload,
    PayloadError,
    Topic,
    encode_metric,
    encode_payload,
    ms_to_datetime,
    parse_address,
    parse_payload,
    parse_topic,
    scalar,
)
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.signals import Binding, SignalConfig
from oee_pipelines.warehouse.records import DeadLetter
from realtime.source import Decoded, Outgoing

NAMESPACE = "spBv1.0"
REBIRTH = "Node Control/Rebirth"
_RESERVED_PREFIXES = (
    "Node Control/",
    "Device Control/",
    "Properties/",
    "Node Info/",
    "Device Info/",
)
_RESERVED_NAMES = frozenset({"bdSeq"})

_TOPIC_CACHE_SIZE = 100_000
DeviceKey = tuple[str, str, str | None]
"""(group, edge node, device); device None is the edge node itself."""


class SparkplugConfig(SignalConfig):
    host_id: str = Field(default="oee", min_length=1, pattern=r"^[^/+#]+$")
    """The Primary Host Application id: edge nodes wait for `spBv1.0/STATE/<host_id>`."""
    group_ids: tuple[str, ...] = ()
    """Groups to subscribe to; empty for all (`spBv1.0/#`)."""
    max_inflated_bytes: int = Field(default=16 << 20, gt=0)
    """A compressed payload inflating beyond this is a dead letter (a decompression bomb)."""
    rebirth_interval_s: float = Field(default=5.0, ge=0)
    """Least time between two rebirth requests to one edge node."""


@dataclass(slots=True)
class _Registered:
    """A metric as its BIRTH declared it."""

    name: str
    datatype: int
    binding: Binding | None
    """None: not stored (Sparkplug's own metrics)."""


@dataclass(slots=True)
class _Session:
    """The metrics of one NBIRTH or DBIRTH."""

    by_alias: dict[int, _Registered] = field(default_factory=dict)
    by_name: dict[str, _Registered] = field(default_factory=dict)
    orphan: bool = False
    """It has metrics to store but no machine is mapped to its device."""

    def bindings(self) -> list[Binding]:
        return [m.binding for m in self.by_name.values() if m.binding is not None]


@dataclass(slots=True)
class _Node:
    bd_seq: int | None
    next_seq: int
    sessions: dict[str | None, _Session] = field(default_factory=dict)
    """The node's own session (key None) and one per device born since the NBIRTH."""


@dataclass(slots=True)
class _Message:
    parts: Topic
    topic: str
    raw: bytes
    payload: Payload
    received_at: dt.datetime


class SparkplugSource:
    """An `MqttSource` for Sparkplug B; one instance per service, fed from one thread."""

    name = "sparkplug"
    mqtt_protocol = 311
    """Sparkplug data is QoS 0 and never shared, so MQTT v5 (receive maximum, shared
    subscriptions) buys it nothing, while paho decodes the v5 properties of every message at
    about half the broker's delivery rate."""

    def __init__(
        self,
        plant: PlantModel,
        config: SparkplugConfig | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),  # clock-ok
    ) -> None:
        self.config = config or SparkplugConfig()
        self.signals = self.config.machine_signals()
        """The state and counter trackers, for the service to resume after a restart."""
        self._plausibility = self.config.plausibility()
        self._clock = clock
        self._tags, self._machines = _tag_bindings(plant)
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._rebirth_asked: dict[tuple[str, str], dt.datetime] = {}
        self._state_ts: int | None = None
        self._topics: dict[str, Topic | None] = {}

    def bindings(self) -> list[Binding]:
        return [binding for tags in self._tags.values() for binding in tags.values()]

    # --- the host's own STATE ------------------------------------------------------------------

    @property
    def state_topic(self) -> str:
        return f"{NAMESPACE}/STATE/{self.config.host_id}"

    def _state(self, online: bool) -> Outgoing:
        if self._state_ts is None:
            self._state_ts = int(self._clock().timestamp() * 1000)
        body = json.dumps({"online": online, "timestamp": self._state_ts}).encode()
        return Outgoing(self.state_topic, body, qos=1, retain=True)

    def subscriptions(self) -> Sequence[str]:
        groups = self.config.group_ids
        return [f"{NAMESPACE}/{g}/#" for g in groups] if groups else [f"{NAMESPACE}/#"]

    def will(self) -> Outgoing:
        """STATE offline, with the timestamp that every online STATE of this process carries
        (spec 3.0: the Will registered once must match the births after each reconnection)."""
        return self._state(online=False)

    def on_connect(self) -> Sequence[Outgoing]:
        return [self._state(online=True)]

    # --- decoding -----------------------------------------------------------------------------

    def decode(
        self, topic: str, payload: bytes, received_at: dt.datetime
    ) -> tuple[Decoded, Sequence[Outgoing]]:
        out = Decoded()
        too_big = oversized(self.name, topic, payload, self.config.max_payload_bytes)
        if too_big is not None:
            out.dead_letters.append(too_big)
            return out, []
        parts = self._topics.get(topic)
        if parts is None:
            if len(self._topics) >= _TOPIC_CACHE_SIZE:  # a publisher inventing topics
                self._topics.clear()
            parts = self._topics[topic] = parse_topic(topic)
        if parts is None:
            out.dead_letters.append(self._letter(topic, payload, "not a Sparkplug B topic"))
            return out, []
        kind = parts.message_type
        if kind in ("STATE", "NCMD", "DCMD"):  # hosts and commands: not plant data
            return out, []
        handler = self._HANDLERS.get(kind)
        if handler is None:
            reason = f"unknown Sparkplug message type {kind!r}"
            out.dead_letters.append(self._letter(topic, payload, reason))
            return out, []
        try:
            message = parse_payload(payload, self.config.max_inflated_bytes)
        except PayloadError as exc:
            out.dead_letters.append(self._letter(topic, payload, str(exc)))
            return out, []
        answers: list[Outgoing] = []
        try:
            handler(self, _Message(parts, topic, payload, message, received_at), out, answers)
        except Exception as exc:  # noqa: BLE001  a payload no check foresaw: keep it, go on
            reason = f"cannot decode {kind}: {type(exc).__name__}: {exc}"
            return Decoded(dead_letters=[self._letter(topic, payload, reason)]), answers
        return out, answers

    def _nbirth(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> None:
        node_key = (m.parts.group, m.parts.edge_node)
        node = _Node(_bd_seq(m.payload), (m.payload.seq + 1) % 256)
        self._nodes[node_key] = node
        self._rebirth_asked.pop(node_key, None)
        self._birth(node, m, out)

    def _dbirth(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> None:
        node = self._sequenced(m, out, answers)
        if node is not None:
            self._birth(node, m, out)

    def _birth(self, node: _Node, m: _Message, out: Decoded) -> None:
        device_key = (m.parts.group, m.parts.edge_node, m.parts.device)
        bound = self._tags.get(device_key, {})
        machine_id = self._machines.get(device_key)
        session = _Session()
        for metric in m.payload.metrics:
            name = metric.name
            binding = None
            if name not in _RESERVED_NAMES and not name.startswith(_RESERVED_PREFIXES):
                binding = bound.get(name)
                if binding is None:
                    if machine_id is None:
                        session.orphan = True
                    else:
                        binding = Binding(machine_id, name)
            registered = _Registered(name, metric.datatype, binding)
            session.by_name[name] = registered
            if metric.HasField("alias"):
                session.by_alias[metric.alias] = registered
        node.sessions[m.parts.device] = session
        if session.orphan:
            out.dead_letters.append(self._unmapped(m))
        else:
            self._values(session, m, out)

    def _data(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> None:
        node = self._sequenced(m, out, answers)
        if node is None:
            return
        session = node.sessions.get(m.parts.device)
        if session is None:
            self._rebirth(m, answers)
            reason = f"{m.parts.message_type} before the DBIRTH of {_device(m.parts)}"
            out.dead_letters.append(self._letter(m.topic, m.raw, reason))
        elif session.orphan:
            out.dead_letters.append(self._unmapped(m))
        elif not self._values(session, m, out):
            self._rebirth(m, answers)

    def _ddeath(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> None:
        node = self._sequenced(m, out, answers)
        session = node.sessions.pop(m.parts.device, None) if node is not None else None
        if session is not None:
            try:
                ts = ms_to_datetime(m.payload.timestamp) if m.payload.timestamp else None
            except PayloadError:
                ts = None
            if ts is None or self._plausibility.problem(ts, m.received_at):
                ts = m.received_at  # the device is dead either way; its clock is not trusted
            self.signals.offline(ts, session.bindings(), out)

    def _ndeath(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> None:
        """The broker sends the Will long after it was written: the death is its receipt."""
        node_key = (m.parts.group, m.parts.edge_node)
        node = self._nodes.get(node_key)
        bd_seq = _bd_seq(m.payload)
        if node is None or (bd_seq is not None and bd_seq != node.bd_seq):
            return  # a late or duplicate NDEATH of an earlier session
        del self._nodes[node_key]
        bindings = [b for session in node.sessions.values() for b in session.bindings()]
        self.signals.offline(m.received_at, bindings, out)

    _HANDLERS: ClassVar[dict[str, Callable[..., None]]] = {
        "NBIRTH": _nbirth,
        "DBIRTH": _dbirth,
        "NDATA": _data,
        "DDATA": _data,
        "DDEATH": _ddeath,
        "NDEATH": _ndeath,
    }

    def _sequenced(self, m: _Message, out: Decoded, answers: list[Outgoing]) -> _Node | None:
        """The node of a message after its NBIRTH, its seq checked; None before the NBIRTH."""
        node = self._nodes.get((m.parts.group, m.parts.edge_node))
        if node is None:
            self._rebirth(m, answers)
            reason = f"{m.parts.message_type} before the NBIRTH of {_device(m.parts)}"
            out.dead_letters.append(self._letter(m.topic, m.raw, reason))
            return None
        seq = m.payload.seq
        if seq != node.next_seq:
            self._rebirth(m, answers)
        node.next_seq = (seq + 1) % 256
        return node

    def _values(self, session: _Session, m: _Message, out: Decoded) -> bool:
        """Rows of a message's metrics; False when a metric's alias or name was not born.

        The hot path of the host: a number of a plain telemetry tag becomes a `TelemetryRow`
        tuple right here (as `MachineSignals.reading` would make it a record), a finite float
        or double without even a call to `scalar`; signals and text go through the signal
        logic.
        """
        resolved = True
        received_at, payload_ms = m.received_at, m.payload.timestamp
        by_alias, by_name = session.by_alias, session.by_name
        reading, problem_of = self.signals.reading, self._plausibility.problem
        telemetry = out.telemetry
        last_ms, ts, late = -1, received_at, None
        for metric in m.payload.metrics:
            name = metric.name
            registered = by_name.get(name) if name else by_alias.get(metric.alias)
            if registered is None:
                resolved = False
                what = f"name {name!r}" if name else f"alias {metric.alias}"
                self._reject_metric(out, m.topic, metric, f"unknown metric {what}: not born")
                continue
            binding = registered.binding
            if binding is None or metric.is_transient:
                continue
            ms = metric.timestamp or payload_ms
            if ms != last_ms:
                last_ms = ms
                try:
                    ts = ms_to_datetime(ms) if ms else received_at
                    late = problem_of(ts, received_at)
                except PayloadError as exc:
                    late = str(exc)
            if late is None and not binding.signal and not metric.is_null:
                kind = metric.WhichOneof("value")  # a float or double, finite: what `scalar` says
                if kind == "double_value" or kind == "float_value":
                    value = metric.double_value if kind == "double_value" else metric.float_value
                    if value - value == 0.0:  # inf - inf and nan - nan are nan
                        machine_id, tag, unit = binding.machine_id, binding.tag, binding.unit
                        telemetry.append((machine_id, tag, ts, value, None, unit, "good"))
                        continue
            try:
                if late is not None:
                    raise PayloadError(late)
                value = scalar(metric, registered.datatype)
                if binding.signal or value is None or isinstance(value, str):
                    problem = reading(binding, ts, value, "good", out)
                else:
                    row = (binding.machine_id, binding.tag, ts, value, None, binding.unit, "good")
                    telemetry.append(row)
                    continue
            except PayloadError as exc:
                problem = str(exc)
            if problem is not None:
                self._reject_metric(out, m.topic, metric, f"{registered.name}: {problem}")
        return resolved

    # --- answers and dead letters -------------------------------------------------------------

    def _rebirth(self, m: _Message, answers: list[Outgoing]) -> None:
        node_key = (m.parts.group, m.parts.edge_node)
        asked = self._rebirth_asked.get(node_key)
        interval = dt.timedelta(seconds=self.config.rebirth_interval_s)
        if asked is not None and m.received_at - asked < interval:
            return
        self._rebirth_asked[node_key] = m.received_at
        command = encode_metric(DataType.Boolean, True, name=REBIRTH)
        answers.append(
            Outgoing(
                f"{NAMESPACE}/{m.parts.group}/NCMD/{m.parts.edge_node}",
                encode_payload([command], int(m.received_at.timestamp() * 1000)),
            )
        )

    def _letter(self, topic: str, payload: bytes, reason: str) -> DeadLetter:
        return DeadLetter(self.name, TELEMETRY, reason, payload, {"topic": topic})

    def _unmapped(self, m: _Message) -> DeadLetter:
        return self._letter(m.topic, m.raw, f"no machine is mapped to {_device(m.parts)}")

    def _reject_metric(self, out: Decoded, topic: str, metric: Metric, reason: str) -> None:
        context = {"topic": topic, "metric": metric.name or f"alias {metric.alias}"}
        out.dead_letters.append(
            DeadLetter(self.name, TELEMETRY, reason, metric.SerializeToString(), context)
        )


def _bd_seq(payload: Payload) -> int | None:
    return next((m.long_value or m.int_value for m in payload.metrics if m.name == "bdSeq"), None)


def _device(parts: Topic) -> str:
    node = f"{NAMESPACE}/{parts.group}/{parts.edge_node}"
    return f"{node}/{parts.device}" if parts.device else node


def _tag_bindings(
    plant: PlantModel,
) -> tuple[dict[DeviceKey, dict[str, Binding]], dict[DeviceKey, str]]:
    """Per device, the bound metrics and the one machine that its other metrics belong to."""
    tags: dict[DeviceKey, dict[str, Binding]] = {}
    owners: dict[DeviceKey, set[str]] = {}
    for _, _, machine in plant.machines():
        for tag, mapping in machine.tag_map.get("mqtt", {}).items():
            parsed = parse_address(mapping.address)
            if parsed is None:
                continue
            device, metric = parsed
            tags.setdefault(device, {})[metric] = Binding.of(machine.id, tag, mapping)
            owners.setdefault(device, set()).add(machine.id)
    machines = {device: ids.pop() for device, ids in owners.items() if len(ids) == 1}
    return tags, machines
