"""The simulated plant on a real Mosquitto (127.0.0.1:1883): what it publishes, decoded by the
Sparkplug host and the JSON source, is exactly the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from collections.abc import Iterator
from itertools import groupby

import paho.mqtt.client as mqtt
import pytest

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.records import MachineStateRecord, ProductionCountRecord
from realtime.mqtt_json import MqttJsonConfig, MqttJsonSource, TopicPattern
from realtime.source import Decoded, MqttSource
from realtime.sparkplug import SparkplugSource
from simulator import SimulatedPlant
from simulator.servers.mqtt import MqttPlant

BROKER = "mqtt://127.0.0.1:1883"
PACKER, DEBURR, WASHER = "BER-L1-PACKER", "BER-L2-DEBURR", "CHI-L1-WASHER"
MS = dt.timedelta(milliseconds=1)


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def own_plant(plant: PlantModel, token: str) -> PlantModel:
    """The plant model with its MQTT addresses moved to topics of this test alone."""
    document = plant.model_dump(mode="json")
    for site in document["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                for mapping in machine["tag_map"].get("mqtt", {}).values():
                    address = mapping["address"].replace("spBv1.0/BER/", f"spBv1.0/G{token}/")
                    mapping["address"] = address.replace("plant/", f"t{token}/plant/")
    return PlantModel.model_validate(document)


class Collector:
    """A subscriber that keeps every message it receives, in order."""

    def __init__(self, filters: list[str]) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._arrived = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.client.subscribe([(f, 1) for f in filters])
        assert subscribed.wait(10), "the broker did not acknowledge the subscription"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append((msg.topic, msg.payload))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout_s: float = 60) -> list[tuple[str, bytes]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout_s)
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def collector(token: str) -> Iterator[Collector]:
    collector = Collector([f"spBv1.0/G{token}/#", f"t{token}/#"])
    yield collector
    collector.close()


def decode_all(
    source: MqttSource, messages: list[tuple[str, bytes]], received_at: dt.datetime
) -> Decoded:
    decoded = Decoded()
    for topic, payload in messages:
        part, _ = source.decode(topic, payload, received_at)
        decoded.extend(part)
    return decoded


def upserted_states(records: list[MachineStateRecord]) -> list[MachineStateRecord]:
    """What the warehouse keeps: the last record per (machine_id, start_ts)."""
    return sorted({(r.machine_id, r.start_ts): r for r in records}.values(), key=_key)


def _key(r: MachineStateRecord | ProductionCountRecord) -> tuple[str, dt.datetime]:
    return r.machine_id, r.start_ts


def truth_states(
    sim: SimulatedPlant,
    machine_id: str,
    start: dt.datetime,
    end: dt.datetime,
    resolution: dt.timedelta,
) -> list[MachineStateRecord]:
    """The simulator's intervals as a PLC reports them: a change at each start, at the
    timestamp resolution of the protocol, the last interval still open."""
    intervals = [
        (interval.state, interval.reason_code, interval.start)
        for interval in sim.states(machine_id, start, end)
    ]
    changes = [next(group) for _, group in groupby(intervals, key=lambda i: i[:2])]
    records = []
    for index, (state, reason, begin) in enumerate(changes):
        following = changes[index + 1][2] if index + 1 < len(changes) else None
        records.append(
            MachineStateRecord(
                machine_id,
                _floor(begin, resolution),
                _floor(following, resolution) if following else None,
                state,
                reason,
            )
        )
    return records


def _floor(ts: dt.datetime, resolution: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + (ts - epoch) // resolution * resolution


def test_replayed_window_decodes_into_the_ground_truth(
    own_plant: PlantModel, token: str, collector: Collector
) -> None:
    sim = SimulatedPlant(own_plant)
    order = sim.work_orders("BER-L1", *_day())[1]  # the counters reset at its start
    start, end = order.start - dt.timedelta(minutes=40), order.start + dt.timedelta(minutes=60)
    publisher = MqttPlant(sim, BROKER, qos=1, client_prefix=f"sim-{token}")
    publisher.connect()
    try:
        sent = publisher.replay(start, end) + 1 + len(publisher.devices)  # and the births
    finally:
        publisher.close()
    messages = collector.wait_for(sent)
    assert len(messages) == sent

    sparkplug = SparkplugSource(own_plant)
    pattern = TopicPattern(pattern=f"t{token}/plant/{{site}}/{{line}}/{{machine}}/{{tag}}")
    json_source = MqttJsonSource(own_plant, MqttJsonConfig(patterns=(pattern,)))
    decoded = decode_all(sparkplug, [m for m in messages if m[0].startswith("spBv1.0/")], end)
    decoded.extend(decode_all(json_source, [m for m in messages if m[0].startswith("t")], end))
    assert decoded.dead_letters == []

    states = upserted_states(decoded.states)
    counts = {(r.machine_id, r.start_ts): r for r in decoded.counts}
    for machine_id, resolution in ((PACKER, MS), (DEBURR, dt.timedelta(microseconds=1)),
                                   (WASHER, dt.timedelta(microseconds=1))):  # fmt: skip
        assert [s for s in states if s.machine_id == machine_id] == truth_states(
            sim, machine_id, start, end, resolution
        )
        rows = sorted((r for r in counts.values() if r.machine_id == machine_id), key=_key)
        cycles = sim.cycles(machine_id, start + dt.timedelta(microseconds=1), end)
        assert sum(r.good_count for r in rows) == sum(c.good for c in cycles)
        assert sum(r.reject_count for r in rows) == sum(not c.good for c in cycles)
        for row in rows:  # each row holds exactly the parts completed in (start, end]
            inside = [c for c in cycles if row.start_ts < _floor(c.ts, resolution) <= row.end_ts]
            assert (row.good_count, row.reject_count) == (
                sum(c.good for c in inside),
                sum(not c.good for c in inside),
            )
        assert all(a.end_ts <= b.start_ts for a, b in itertools.pairwise(rows))
    # the window holds a counter reset, and production after it
    assert sim.counters(PACKER, order.start - MS)[0] > 0
    assert any(c.good for c in sim.cycles(PACKER, order.start, end))

    # every counter value published is a telemetry row: the JSON ones exactly as the PLC had it
    washer_counts = [
        r for r in decoded.telemetry if (r.machine_id, r.tag) == (WASHER, "good_count")
    ]
    assert washer_counts and all(
        r.value == sim.counters(WASHER, r.ts + dt.timedelta(microseconds=1))[0]
        for r in washer_counts
    )


def _day() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def test_a_seq_gap_gets_a_rebirth_from_the_simulated_edge_node(
    own_plant: PlantModel, token: str, collector: Collector
) -> None:
    sim = SimulatedPlant(own_plant)
    start = next(s.start for s in sim.states(PACKER, *_day()) if s.state == "running")
    host = SparkplugSource(own_plant)
    answer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    answer.connect("127.0.0.1", 1883)
    answer.loop_start()
    publisher = MqttPlant(sim, BROKER, qos=1, client_prefix=f"sim-{token}")
    publisher.connect()
    try:
        publisher.births(start)
        node, device = publisher.devices[PACKER]
        node.ddata(device, start, {"good_count": 1})  # built and lost: a gap in seq
        sent = 2 + publisher.publish(start, start + dt.timedelta(minutes=5))
        requests = [
            request
            for topic, payload in collector.wait_for(sent)
            if topic.startswith("spBv1.0/")
            for request in host.decode(topic, payload, start + dt.timedelta(minutes=5))[1]
        ]
        assert [r.topic for r in requests] == [f"spBv1.0/G{token}/NCMD/L1"]
        answer.publish(requests[0].topic, requests[0].payload, qos=1).wait_for_publish(10)
        seen = len(collector.messages)
        assert publisher.rebirth_requested.wait(30)
        publisher.publish(start + dt.timedelta(minutes=5), start + dt.timedelta(minutes=10))
    finally:
        publisher.close()
        answer.disconnect()
        answer.loop_stop()
    later = [
        t for t, _ in collector.messages[seen:] if t.startswith("spBv1.0/") and "NCMD" not in t
    ]
    assert later[:2] == [f"spBv1.0/G{token}/NBIRTH/L1", f"spBv1.0/G{token}/DBIRTH/L1/PACKER"]
