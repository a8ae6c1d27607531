"""The buffered socket under paho: whole PUBLISH packets are taken from the buffer in one step,
everything else (other packets, QoS 2, a packet not all received yet) is left for paho to read
piece by piece, byte for byte as it arrived."""

from __future__ import annotations

import datetime as dt

from oee_pipelines.plant_model import PlantModel
from realtime.batching import Intake
from realtime.config import LimitsConfig, MqttConfig
from realtime.metrics import Metrics
from realtime.mqtt import Broker, MqttConnector, _BufferedSocket
from realtime.mqtt_json import MqttJsonSource
from tests.realtime.support import telemetry_of


class _Arrivals:
    """A non-blocking socket that receives the given chunks, one per `recv`."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        return self.chunks.pop(0)

    def close(self) -> None:
        self.chunks = []


def _publish(topic: bytes, payload: bytes, qos: int = 0, mid: int = 7) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body += payload
    length, remaining = bytearray(), len(body)
    while True:
        byte, remaining = remaining & 0x7F, remaining >> 7
        length.append(byte | (0x80 if remaining else 0))
        if not remaining:
            break
    return bytes([0x30 | qos << 1]) + bytes(length) + body


def test_whole_publish_packets_are_taken_and_the_rest_is_left_as_it_came() -> None:
    small, large = _publish(b"a/b", b"x"), _publish(b"a/c", b"y" * 300, qos=1)
    qos2, ping = _publish(b"a/d", b"z", qos=2), b"\xd0\x00"
    cut = _publish(b"a/e", b"w" * 50)
    sock = _Arrivals(small + large + qos2 + ping + cut[:20], cut[20:])
    buffered = _BufferedSocket(sock)
    assert buffered.publish_packet() is None  # nothing received yet
    assert buffered.recv(1) == small[:1]  # paho's first read fills the buffer
    assert buffered.recv(len(small) - 1) == small[1:]
    assert buffered.publish_packet() == (large[0], large[3:])  # a two-byte remaining length
    assert buffered.publish_packet() is None  # QoS 2: paho's own handshake
    assert buffered.recv(len(qos2)) == qos2
    assert buffered.publish_packet() is None  # not a PUBLISH
    assert buffered.recv(2) == ping
    assert buffered.publish_packet() is None  # not all received: paho reads it in pieces
    assert buffered.pending() == 20
    assert buffered.recv(100) + buffered.recv(100) == cut
    assert buffered.pending() == 0


def test_every_message_of_a_read_is_in_the_intake_when_the_read_returns_in_order(
    plant: PlantModel,
) -> None:
    """QoS 0 messages wait for the rest of their read to enter the intake together; a QoS 1
    message among them keeps its place, and nothing waits once the read is handled."""
    now = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    connector = MqttConnector(
        MqttJsonSource(plant),
        Broker.from_url("mqtt://127.0.0.1:1"),
        MqttConfig(protocol=311),  # the packets below are MQTT 3.1.1
        LimitsConfig(),
        Metrics(),
        lambda: now,
    )
    intake = Intake(max_values=1000, max_latency_s=60, max_pending=4, max_acks=1000)
    connector._intake = intake  # as `run` sets it
    client = connector._client()
    topic = b"plant/BER/L2/DEBURR/temp"
    packets = [_publish(topic, b"1"), _publish(topic, b"2"), _publish(topic, b"3", qos=1)]
    client._sock = _BufferedSocket(_Arrivals(b"".join([*packets, _publish(topic, b"4")])))
    client.loop_read()
    intake.close()
    batch = intake.take(timeout=0)
    assert batch is not None
    assert [r.value for r in telemetry_of(batch.records["mqtt_json"])] == [1, 2, 3, 4]
    assert len(batch.acks) == 1  # the QoS 1 message's
    assert (
        connector._metrics.registry.get_sample_value(
            "oee_realtime_messages_total", {"source": "mqtt_json"}
        )
        == 4
    )
