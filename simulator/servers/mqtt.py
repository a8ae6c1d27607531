"""The simulated plant on MQTT: Sparkplug B edge nodes and plain JSON topics.

Machines whose `mqtt` tag map names Sparkplug addresses are devices of simulated edge nodes
(NBIRTH with bdSeq, DBIRTH with aliases, DDATA by alias with seq, NDEATH as the Will, a rebirth
on an NCMD `Node Control/Rebirth`); the others publish each signal to its own topic as JSON
(`{"value": ..., "timestamp": ISO 8601, "quality": "good"}`). Every change of the ground truth is
published when it happens: a state interval's start (the PLC state code and reason), a part (the
PLC counters just after it) and a work order's start (the counters reset). `serve_mqtt` follows
the wall clock; `MqttPlant.replay` publishes a past window as fast as the broker takes it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from oee_pipelines.connectors.sparkplug import (
    DataType,
    Metric,
    encode_metric,
    encode_payload,
    parse_address,
    parse_payload,
)
from oee_pipelines.plant_model import PlantModel

from .._plant import SimulatedPlant
from .._types import State

PLC_STATE_CODES: dict[State, int] = {
    "offline": 0,
    "running": 1,
    "idle": 2,
    "starved": 3,
    "blocked": 4,
    "unplanned_stop": 5,
    "planned_stop": 6,
    "changeover": 7,
}
"""What the simulated PLCs report as their state."""

SIGNAL_TYPES: dict[str, int] = {
    "state": DataType.Int32,
    "reason_code": DataType.String,
    "good_count": DataType.UInt32,
    "reject_count": DataType.UInt32,
}
"""The signals a simulated PLC publishes, with their Sparkplug datatypes."""

_INSTANT = dt.timedelta(microseconds=1)
Values = dict[str, int | str]
"""Signal values by tag: state (PLC code), reason_code, good_count, reject_count."""


def plc_values(plant: SimulatedPlant, machine_id: str, at: dt.datetime) -> Values:
    """The machine's PLC signals just after instant `at` (a part completed at `at` counted)."""
    (state,) = plant.states(machine_id, at, at + _INSTANT)
    good, reject = plant.counters(machine_id, at + _INSTANT)
    return {
        "state": PLC_STATE_CODES[state.state],
        "reason_code": state.reason_code or "",
        "good_count": good,
        "reject_count": reject,
    }


def plc_changes(
    plant: SimulatedPlant, machine_id: str, start: dt.datetime, end: dt.datetime, shown: Values
) -> Iterator[tuple[dt.datetime, Values]]:
    """The signals that change in [start, end) against `shown` (updated as they are yielded)."""
    _, line, _ = plant.plant.machine(machine_id)
    instants = heapq.merge(
        (s.start for s in plant.states(machine_id, start, end)[1:]),
        (c.ts for c in plant.cycles(machine_id, start, end)),
        (o.start for o in plant.work_orders(line.id, start, end) if start < o.start < end),
    )
    for ts in itertools.chain([start], instants):
        values = plc_values(plant, machine_id, ts)
        changed = {tag: v for tag, v in values.items() if shown.get(tag) != v}
        if changed:
            shown.update(changed)
            yield ts, changed


def _ms(ts: dt.datetime) -> int:
    return int(ts.timestamp() * 1000)


@dataclass
class EdgeNode:
    """A Sparkplug edge node: births, data and death with seq and bdSeq as the spec asks."""

    group: str
    edge_node: str
    devices: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per device, its metric name by signal tag."""
    bd_seq: int = 0
    _seq: int = field(default=0, init=False)

    def topic(self, kind: str, device: str | None = None) -> str:
        node = f"spBv1.0/{self.group}/{kind}/{self.edge_node}"
        return f"{node}/{device}" if device else node

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return seq

    def alias(self, device: str, tag: str) -> int:
        return 1 + list(self.devices).index(device) * 100 + list(SIGNAL_TYPES).index(tag)

    def ndeath(self) -> tuple[str, bytes]:
        """The Will, registered before connecting, with the bdSeq of the NBIRTH that follows."""
        bd_seq = encode_metric(DataType.UInt64, self.bd_seq, name="bdSeq")
        return self.topic("NDEATH"), encode_payload([bd_seq], 0)

    def nbirth(self, ts: dt.datetime) -> tuple[str, bytes]:
        self._seq = 0
        metrics = [
            encode_metric(DataType.UInt64, self.bd_seq, name="bdSeq"),
            encode_metric(DataType.Boolean, False, name="Node Control/Rebirth"),
        ]
        return self.topic("NBIRTH"), encode_payload(metrics, _ms(ts), self._next_seq())

    def dbirth(self, device: str, ts: dt.datetime, values: Values) -> tuple[str, bytes]:
        metrics = [
            encode_metric(SIGNAL_TYPES[tag], values[tag], name=name, alias=self.alias(device, tag))
            for tag, name in self.devices[device].items()
        ]
        return self._device_message("DBIRTH", device, ts, metrics)

    def ddata(self, device: str, ts: dt.datetime, values: Values) -> tuple[str, bytes]:
        names = self.devices[device]
        metrics = [
            encode_metric(SIGNAL_TYPES[tag], value, alias=self.alias(device, tag))
            for tag, value in values.items()
            if tag in names
        ]
        return self._device_message("DDATA", device, ts, metrics)

    def ddeath(self, device: str, ts: dt.datetime) -> tuple[str, bytes]:
        return self._device_message("DDEATH", device, ts, [])

    def _device_message(
        self, kind: str, device: str, ts: dt.datetime, metrics: list[Metric]
    ) -> tuple[str, bytes]:
        return self.topic(kind, device), encode_payload(metrics, _ms(ts), self._next_seq())


def json_message(ts: dt.datetime, value: int | str) -> bytes:
    return json.dumps({"value": value, "timestamp": ts.isoformat(), "quality": "good"}).encode()


def _plan(model: PlantModel) -> tuple[dict[str, tuple[EdgeNode, str]], dict[str, dict[str, str]]]:
    """Per Sparkplug machine its edge node and device; per JSON machine its topic by signal."""
    nodes: dict[tuple[str, str], EdgeNode] = {}
    devices: dict[str, tuple[EdgeNode, str]] = {}
    topics: dict[str, dict[str, str]] = {}
    for _, _, machine in model.machines():
        for tag, mapping in machine.tag_map.get("mqtt", {}).items():
            if tag not in SIGNAL_TYPES:
                continue
            parsed = parse_address(mapping.address)
            if parsed is None:
                topics.setdefault(machine.id, {})[tag] = mapping.address
                continue
            (group, edge, device), metric = parsed
            node = nodes.setdefault((group, edge), EdgeNode(group, edge))
            node.devices.setdefault(device or "", {})[tag] = metric
            devices[machine.id] = (node, device or "")
    return devices, topics


class MqttPlant:
    """Publishes the simulated plant: one broker connection per edge node, one for JSON.

    Not thread-safe: one thread publishes; a rebirth request is answered between two messages.
    """

    def __init__(
        self, plant: SimulatedPlant, broker_url: str, qos: int = 0, client_prefix: str = "oee-sim"
    ) -> None:
        self.plant = plant
        self.qos = qos
        self.devices, self.json_topics = _plan(plant.plant)
        self.edge_nodes = list({id(n): n for n, _ in self.devices.values()}.values())
        url = urlsplit(broker_url)
        self._address = (url.hostname or "127.0.0.1", url.port or 1883)
        self._prefix = client_prefix
        self._clients: dict[str, mqtt.Client] = {}
        self._pending: dict[str, mqtt.MQTTMessageInfo] = {}
        self._shown: dict[str, Values] = {m: {} for m in [*self.devices, *self.json_topics]}
        self._rebirths: set[str] = set()
        self.rebirth_requested = threading.Event()
        """Set when a host asked an edge node for a rebirth; answered before the next message."""
        self._last_ts: dt.datetime | None = None

    def connect(self) -> None:
        for node in self.edge_nodes:
            client = self._client(f"{self._prefix}-{node.group}-{node.edge_node}")
            client.will_set(*node.ndeath(), qos=1)
            client.on_message = self._on_command
            self._connect(client)
            client.subscribe(node.topic("NCMD"), qos=1)
            self._clients[node.topic("NCMD")] = client
        if self.json_topics:
            self._clients["json"] = self._connect(self._client(f"{self._prefix}-json"))

    def _client(self, client_id: str) -> mqtt.Client:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)

    def _connect(self, client: mqtt.Client) -> mqtt.Client:
        client.connect(*self._address, keepalive=30)
        client.loop_start()
        return client

    def _on_command(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            metrics = parse_payload(message.payload, 1 << 16).metrics
        except ValueError:
            return
        if any(m.name == "Node Control/Rebirth" and m.boolean_value for m in metrics):
            self._rebirths.add(message.topic)
            self.rebirth_requested.set()

    def close(self) -> None:
        """Disconnect cleanly (the broker discards the Wills)."""
        self.flush()
        for client in self._clients.values():
            client.disconnect()
            client.loop_stop()
        self._clients.clear()

    def flush(self) -> None:
        for info in self._pending.values():
            info.wait_for_publish(timeout=30)
        self._pending.clear()

    def _publish(self, client_key: str, topic: str, payload: bytes) -> None:
        self._pending[client_key] = self._clients[client_key].publish(topic, payload, self.qos)

    # --- what is published --------------------------------------------------------------------

    def births(self, at: dt.datetime) -> None:
        """NBIRTH of every edge node, and DBIRTH of its devices with their values at `at`."""
        for node in self.edge_nodes:
            self._birth(node, at)

    def _birth(self, node: EdgeNode, at: dt.datetime) -> None:
        key = node.topic("NCMD")
        self._publish(key, *node.nbirth(at))
        for machine_id, (owner, device) in self.devices.items():
            if owner is node:
                shown = self._shown[machine_id]
                shown.update(plc_values(self.plant, machine_id, at))
                self._publish(key, *node.dbirth(device, at, shown))

    def publish(self, start: dt.datetime, end: dt.datetime) -> int:
        """Every machine's changes in [start, end), in time order; returns the messages sent."""
        streams = [
            _tagged(machine_id, plc_changes(self.plant, machine_id, start, end, shown))
            for machine_id, shown in self._shown.items()
        ]
        sent = 0
        for ts, machine_id, values in heapq.merge(*streams, key=lambda change: change[0]):
            self._answer_rebirths(ts)
            if machine_id in self.devices:
                node, device = self.devices[machine_id]
                self._publish(node.topic("NCMD"), *node.ddata(device, ts, values))
                sent += 1
            else:
                for tag, value in values.items():
                    self._publish(
                        "json", self.json_topics[machine_id][tag], json_message(ts, value)
                    )
                    sent += 1
            self._last_ts = ts
        self.flush()
        return sent

    def _answer_rebirths(self, ts: dt.datetime) -> None:
        self.rebirth_requested.clear()
        while self._rebirths:
            topic = self._rebirths.pop()
            node = next(n for n in self.edge_nodes if n.topic("NCMD") == topic)
            self._birth(node, self._last_ts or ts)

    def replay(self, start: dt.datetime, end: dt.datetime) -> int:
        """Publish [start, end) as fast as possible: the births at `start`, then every change."""
        self.births(start)
        return self.publish(start, end)


def _tagged(
    machine_id: str, changes: Iterator[tuple[dt.datetime, Values]]
) -> Iterator[tuple[dt.datetime, str, Values]]:
    for ts, values in changes:
        yield ts, machine_id, values


def serve_mqtt(
    plant: SimulatedPlant, broker_url: str, stop: threading.Event, poll_s: float = 1.0
) -> None:
    """Publish the simulated plant live until `stop` is set (what `oee simulate` runs)."""
    publisher = MqttPlant(plant, broker_url)
    publisher.connect()
    try:
        start = dt.datetime.now(dt.UTC)  # clock-ok: the live plant follows the wall clock
        publisher.births(start)
        while True:
            now = dt.datetime.now(dt.UTC)  # clock-ok
            publisher.publish(start, now)
            start = now
            if stop.wait(poll_s):
                break
    finally:
        publisher.close()
