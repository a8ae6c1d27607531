"""Plain MQTT JSON, decoder alone: topics to machines and tags, payload forms, bad payloads."""

from __future__ import annotations

import datetime as dt

import pytest

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.records import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)
from realtime.mqtt_json import MqttJsonConfig, MqttJsonSource, TopicPattern
from tests.realtime.support import telemetry_of

T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
DEBURR = "BER-L2-DEBURR"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def source(plant: PlantModel) -> MqttJsonSource:
    return MqttJsonSource(plant)


def test_subscriptions_cover_patterns_and_addresses(plant: PlantModel) -> None:
    assert MqttJsonSource(plant).subscriptions() == ["plant/+/+/+/+"]
    lines = MqttJsonConfig(patterns=(TopicPattern(pattern="lines/{line}/{tag}",
                                                  machine_id="BER-{line}-DEBURR"),))  # fmt: skip
    assert MqttJsonSource(plant, lines).subscriptions() == [
        "lines/+/+",
        "plant/BER/L2/DEBURR/state",
        "plant/BER/L2/DEBURR/reason",
        "plant/BER/L2/DEBURR/good",
        "plant/BER/L2/DEBURR/reject",
        "plant/BER/L2/DEBURR/vibration",
        "plant/CHI/L1/WASHER/state",
        "plant/CHI/L1/WASHER/reason",
        "plant/CHI/L1/WASHER/good",
        "plant/CHI/L1/WASHER/reject",
    ]


@pytest.mark.parametrize(
    ("payload", "record"),
    [
        (b"4.5", TelemetryRecord(DEBURR, "spindle_vibration", at(0), 4.5, unit="mm/s")),
        (
            b'{"value": 3, "timestamp": 1772438405000, "quality": "uncertain"}',
            TelemetryRecord(DEBURR, "spindle_vibration", at(5), 3, None, "mm/s", "uncertain"),
        ),
        (
            b'{"value": 2.5, "timestamp": "2026-03-02T09:00:07+01:00", "quality": 64}',
            TelemetryRecord(DEBURR, "spindle_vibration", at(7), 2.5, None, "mm/s", "uncertain"),
        ),
        (
            b'{"value": "sensor lost", "quality": 0}',
            TelemetryRecord(DEBURR, "spindle_vibration", at(0), None, "sensor lost", "mm/s", "bad"),
        ),
        (
            b'{"value": true, "quality": 192}',
            TelemetryRecord(DEBURR, "spindle_vibration", at(0), 1, unit="mm/s"),
        ),
    ],
)
def test_payload_forms(source: MqttJsonSource, payload: bytes, record: TelemetryRecord) -> None:
    decoded, answers = source.decode("plant/BER/L2/DEBURR/vibration", payload, at(0))
    assert telemetry_of(decoded) == [record]
    assert decoded.dead_letters == [] and answers == []


def test_patterns_bind_unmapped_tags_and_addresses_bind_signals(source: MqttJsonSource) -> None:
    decoded, _ = source.decode("plant/BER/L2/DEBURR/coolant_temp", b"21.5", at(0))
    assert telemetry_of(decoded) == [TelemetryRecord(DEBURR, "coolant_temp", at(0), 21.5)]

    source.decode("plant/BER/L2/DEBURR/state", b'{"value": 1, "timestamp": 1772438400000}', at(0))
    source.decode("plant/BER/L2/DEBURR/good", b'{"value": 10, "timestamp": 1772438400000}', at(0))
    decoded, _ = source.decode("plant/BER/L2/DEBURR/good", b'{"value": 12}', at(9))
    assert decoded.counts == [ProductionCountRecord(DEBURR, at(0), at(9), 2, 0)]
    source.decode("plant/BER/L2/DEBURR/reason", b'"JAM"', at(10))
    decoded, _ = source.decode("plant/BER/L2/DEBURR/state", b'"unplanned_stop"', at(10))
    assert decoded.states[-1] == MachineStateRecord(DEBURR, at(10), None, "unplanned_stop", "JAM")


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("plant/BER/L2/DEBURR/vibration", b"\xff\xfe4.5", "payload is not valid UTF-8"),
        ("plant/BER/L2/DEBURR/vibration", b"{value: 1", "payload is not JSON"),
        ("plant/BER/L2/DEBURR/vibration", b"NaN", "payload holds NaN, not a finite number"),
        ("plant/BER/L2/DEBURR/vibration", b'{"value": -Infinity}', "payload holds -Infinity"),
        ("plant/BER/L2/DEBURR/vibration", b"1e999", "value inf is not a finite number"),
        ("plant/BER/L2/DEBURR/vibration", b'{"val": 1}', "payload has no 'value' field"),
        ("plant/BER/L2/DEBURR/vibration", b'{"value": [1]}', "value is a JSON list"),
        ("plant/BER/L2/DEBURR/vibration", b"[1, 2]", "value is a JSON list"),
        (
            "plant/BER/L2/DEBURR/vibration",
            b'{"value": 1, "timestamp": "2026-03-02T08:00:00"}',
            "timestamp '2026-03-02T08:00:00' has no UTC offset",
        ),
        (
            "plant/BER/L2/DEBURR/vibration",
            b'{"value": 1, "timestamp": "yesterday"}',
            "timestamp 'yesterday' is not ISO 8601",
        ),
        (
            "plant/BER/L2/DEBURR/vibration",
            b'{"value": 1, "timestamp": 946684799000}',
            "timestamp 1999-12-31T23:59:59+00:00 is before 2000-01-01",
        ),
        (
            "plant/BER/L2/DEBURR/vibration",
            b'{"value": 1, "timestamp": 1772442000000}',
            "timestamp 2026-03-02T09:00:00+00:00 is in the future",
        ),
        ("plant/BER/L2/DEBURR/vibration", b'{"value": 1, "quality": "ok"}', "quality 'ok'"),
        ("plant/BER/L9/NOPE/vibration", b"1", "no machine 'BER-L9-NOPE' in the plant model"),
        ("elsewhere/x", b"1", "no tag map address or topic pattern matches elsewhere/x"),
        ("plant/BER/L2/DEBURR/state", b"42", "unknown state code 42 of BER-L2-DEBURR"),
        ("plant/BER/L2/DEBURR/good", b"2.5", "counter good_count of BER-L2-DEBURR is not a"),
        ("plant/BER/L2/DEBURR/vibration", b"1" * 70000, "payload of 70000 bytes exceeds"),
    ],
)
def test_bad_input_becomes_dead_letters(
    plant: PlantModel, topic: str, payload: bytes, reason: str
) -> None:
    source = MqttJsonSource(plant, MqttJsonConfig(max_payload_bytes=65536))
    decoded, _ = source.decode(topic, payload, at(0))
    (letter,) = decoded.dead_letters
    assert letter.reason.startswith(reason)
    assert (letter.source, letter.context["topic"]) == ("mqtt_json", topic)
    assert letter.payload == payload[:4096]


def test_configured_field_names(plant: PlantModel) -> None:
    config = MqttJsonConfig(value_field="v", timestamp_field="t", quality_field="q")
    source = MqttJsonSource(plant, config)
    decoded, _ = source.decode(
        "plant/BER/L2/DEBURR/vibration", b'{"v": 7, "t": "2026-03-02T08:00:03Z", "q": "bad"}', at(5)
    )
    assert telemetry_of(decoded) == [
        TelemetryRecord(DEBURR, "spindle_vibration", at(3), 7, None, "mm/s", "bad")
    ]
