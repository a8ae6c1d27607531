"""The Sparkplug B host application, decoder alone: births, aliases, seq, deaths, bad payloads."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import pytest

from oee_pipelines.connectors.sparkplug import (
    DataType,
    Payload,
    encode_metric,
    encode_payload,
    parse_payload,
)
from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.records import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)
from realtime.sparkplug import SparkplugConfig, SparkplugSource
from simulator.servers.mqtt import EdgeNode
from tests.realtime.support import telemetry_of

T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
PACKER = "BER-L1-PACKER"
DDATA = "spBv1.0/BER/DDATA/L1/PACKER"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def ms(seconds: float) -> int:
    return int(at(seconds).timestamp() * 1000)


@pytest.fixture
def host(plant: PlantModel) -> SparkplugSource:
    return SparkplugSource(plant, SparkplugConfig(host_id="test-host"), clock=lambda: T0)


@pytest.fixture
def node() -> EdgeNode:
    names = {"state": "State", "reason_code": "ReasonCode", "good_count": "GoodCount"}
    names["reject_count"] = "RejectCount"
    return EdgeNode("BER", "L1", {"PACKER": names}, bd_seq=3)


def born(host: SparkplugSource, node: EdgeNode, values: dict | None = None) -> None:
    """NBIRTH and DBIRTH at T0: running, 100 good, 2 rejects."""
    values = values or {"state": 1, "reason_code": "", "good_count": 100, "reject_count": 2}
    for topic, payload in (node.nbirth(at(0)), node.dbirth("PACKER", at(0), values)):
        _, answers = host.decode(topic, payload, at(0))
        assert answers == []


def test_births_and_data_by_alias_become_rows(host: SparkplugSource, node: EdgeNode) -> None:
    topic, payload = node.nbirth(at(0))
    decoded, _ = host.decode(topic, payload, at(0))
    assert len(decoded) == 0  # bdSeq and Node Control are Sparkplug's own, not stored
    topic, payload = node.dbirth(
        "PACKER", at(0), {"state": 1, "reason_code": "", "good_count": 100, "reject_count": 2}
    )
    decoded, _ = host.decode(topic, payload, at(0))
    assert decoded.states == [MachineStateRecord(PACKER, at(0), None, "running")]
    assert decoded.counts == []  # first readings: nothing counted yet
    assert TelemetryRecord(PACKER, "good_count", at(0), 100) in telemetry_of(decoded)

    topic, payload = node.ddata("PACKER", at(7), {"good_count": 103, "reject_count": 3})
    assert "GoodCount" not in str(parse_payload(payload, 1 << 20))  # by alias alone
    decoded, answers = host.decode(topic, payload, at(8))
    assert answers == []
    assert telemetry_of(decoded) == [
        TelemetryRecord(PACKER, "good_count", at(7), 103),
        TelemetryRecord(PACKER, "reject_count", at(7), 3),
    ]
    assert decoded.counts[-1] == ProductionCountRecord(PACKER, at(0), at(7), 3, 1)

    topic, payload = node.ddata("PACKER", at(9), {"state": 5, "reason_code": "JAM"})
    decoded, _ = host.decode(topic, payload, at(9))
    assert decoded.states[0] == MachineStateRecord(PACKER, at(0), at(9), "running")
    assert decoded.states[-1] == MachineStateRecord(PACKER, at(9), None, "unplanned_stop", "JAM")
    assert decoded.dead_letters == []


def test_seq_gap_asks_for_one_rebirth_and_keeps_the_data(
    host: SparkplugSource, node: EdgeNode
) -> None:
    born(host, node)
    node.ddata("PACKER", at(1), {"good_count": 101})  # lost on the way
    decoded, answers = host.decode(*node.ddata("PACKER", at(2), {"good_count": 102}), at(2))
    assert decoded.counts == [ProductionCountRecord(PACKER, at(0), at(2), 2, 0)]
    (rebirth,) = answers
    assert rebirth.topic == "spBv1.0/BER/NCMD/L1"
    (command,) = parse_payload(rebirth.payload, 1 << 10).metrics
    assert (command.name, command.boolean_value) == ("Node Control/Rebirth", True)

    node.ddata("PACKER", at(3), {"good_count": 103})  # lost again, a second later
    _, answers = host.decode(*node.ddata("PACKER", at(3), {"good_count": 104}), at(3))
    assert answers == []  # the rebirth asked for is still on its way
    _, answers = host.decode(*node.ddata("PACKER", at(3), {"good_count": 105}), at(9))
    assert answers == []  # in sequence again


def test_seq_wraps_after_255(host: SparkplugSource, node: EdgeNode) -> None:
    born(host, node)
    for count in range(300):
        _, answers = host.decode(*node.ddata("PACKER", at(1), {"good_count": 101 + count}), at(1))
        assert answers == []


def test_data_before_birth_is_dead_lettered_and_asks_for_rebirth(
    host: SparkplugSource, node: EdgeNode
) -> None:
    topic, payload = node.ddata("PACKER", at(1), {"good_count": 101})
    decoded, answers = host.decode(topic, payload, at(1))
    (letter,) = decoded.dead_letters
    assert letter.reason == "DDATA before the NBIRTH of spBv1.0/BER/L1/PACKER"
    assert letter.payload == payload
    assert letter.context["topic"] == topic
    assert [a.topic for a in answers] == ["spBv1.0/BER/NCMD/L1"]

    host.decode(*node.nbirth(at(2)), at(2))  # the node was born, its device not yet
    decoded, answers = host.decode(*node.ddata("PACKER", at(3), {"good_count": 102}), at(3))
    assert decoded.dead_letters[0].reason == "DDATA before the DBIRTH of spBv1.0/BER/L1/PACKER"
    assert [a.topic for a in answers] == ["spBv1.0/BER/NCMD/L1"]


def test_unknown_alias_is_dead_lettered(host: SparkplugSource, node: EdgeNode) -> None:
    born(host, node)
    metrics = [
        encode_metric(DataType.UInt32, 7, alias=999),
        encode_metric(DataType.UInt32, 104, alias=node.alias("PACKER", "good_count")),
    ]
    decoded, answers = host.decode(DDATA, encode_payload(metrics, ms(1), seq=2), at(1))
    (letter,) = decoded.dead_letters
    assert letter.reason == "unknown metric alias 999: not born"
    assert letter.context == {"topic": DDATA, "metric": "alias 999"}
    assert decoded.counts[0].good_count == 4  # its neighbour still counts
    assert [a.topic for a in answers] == ["spBv1.0/BER/NCMD/L1"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xff\xff", "malformed Sparkplug B protobuf"),
        (b"x" * 2000, "payload of 2000 bytes exceeds the limit of 1000 bytes"),
    ],
)
def test_bad_payloads_are_dead_letters(plant: PlantModel, payload: bytes, reason: str) -> None:
    host = SparkplugSource(plant, SparkplugConfig(max_payload_bytes=1000))
    decoded, answers = host.decode(DDATA, payload, at(0))
    (letter,) = decoded.dead_letters
    assert letter.reason.startswith(reason)
    assert letter.context["topic"] == DDATA
    assert answers == []


def test_signed_integers_are_read_from_the_unsigned_wire_fields(
    host: SparkplugSource, node: EdgeNode
) -> None:
    host.decode(*node.nbirth(at(0)), at(0))
    values = {"Int8": (DataType.Int8, -5), "Int16": (DataType.Int16, -300),
              "Int32": (DataType.Int32, -70000), "Int64": (DataType.Int64, -5_000_000_000_000),
              "UInt32": (DataType.UInt32, 4_000_000_000), "Flag": (DataType.Boolean, True),
              "Text": (DataType.String, "open"), "Gone": (DataType.Double, None)}  # fmt: skip
    metrics = [
        encode_metric(datatype, value, name=name, alias=alias)
        for alias, (name, (datatype, value)) in enumerate(values.items())
    ]
    metrics.append(encode_metric(DataType.Int8, 0, name="Wide", alias=50))
    metrics[-1].int_value = 0xFFFFFFFE  # another encoder's Int8 -2, sign-extended to 32 bits
    decoded, _ = host.decode(
        "spBv1.0/BER/DBIRTH/L1/PACKER", encode_payload(metrics, ms(0), seq=1), at(0)
    )
    assert {(r.tag, r.value, r.value_text) for r in telemetry_of(decoded)} == {
        ("Int8", -5, None), ("Int16", -300, None), ("Int32", -70000, None),
        ("Int64", -5_000_000_000_000, None), ("UInt32", 4_000_000_000, None), ("Flag", 1, None),
        ("Text", None, "open"), ("Gone", None, None), ("Wide", -2, None),
    }  # fmt: skip
    # unmapped metrics of a mapped device are that machine's telemetry under their own name
    assert {r.machine_id for r in telemetry_of(decoded)} == {PACKER}


def test_historical_metrics_keep_their_own_timestamps(
    host: SparkplugSource, node: EdgeNode
) -> None:
    born(host, node)
    alias = node.alias("PACKER", "good_count")
    metrics = [
        encode_metric(DataType.UInt32, 101, alias=alias, timestamp_ms=ms(-50), is_historical=True),
        encode_metric(DataType.UInt32, 104, alias=alias),
    ]
    decoded, _ = host.decode(DDATA, encode_payload(metrics, ms(10), seq=2), at(10))
    assert [(r.ts, r.value) for r in telemetry_of(decoded)] == [(at(-50), 101), (at(10), 104)]
    # the late reading is kept but not counted again: its parts are in the next delta
    assert decoded.counts == [ProductionCountRecord(PACKER, at(0), at(10), 4, 0)]


def test_future_timestamps_are_dead_lettered(host: SparkplugSource, node: EdgeNode) -> None:
    born(host, node)
    decoded, _ = host.decode(*node.ddata("PACKER", at(3600), {"good_count": 101}), at(1))
    (letter,) = decoded.dead_letters
    assert "is in the future" in letter.reason
    assert telemetry_of(decoded) == []


def test_ndeath_with_the_birth_bdseq_marks_the_machine_offline(
    host: SparkplugSource, node: EdgeNode
) -> None:
    born(host, node)
    stale = EdgeNode("BER", "L1", node.devices, bd_seq=2)
    decoded, _ = host.decode(*stale.ndeath(), at(20))
    assert len(decoded) == 0  # the death of an earlier session, delivered late

    decoded, _ = host.decode(*node.ndeath(), at(30))
    assert decoded.states == [
        MachineStateRecord(PACKER, at(0), at(30), "running"),
        MachineStateRecord(PACKER, at(30), None, "offline"),
    ]
    decoded, answers = host.decode(*node.ddata("PACKER", at(31), {"good_count": 1}), at(31))
    assert decoded.dead_letters[0].reason.startswith("DDATA before the NBIRTH")
    assert len(decoded.dead_letters) == 1 and len(answers) == 1

    decoded, _ = host.decode(*node.ndeath(), at(40))  # a duplicate
    assert len(decoded) == 0


def test_ddeath_marks_the_device_offline_and_its_telemetry_stale(
    host: SparkplugSource, node: EdgeNode
) -> None:
    born(host, node)
    temperature = encode_metric(DataType.Float, 21.5, alias=node.alias("PACKER", "state") + 50)
    temperature.name = "Temperature"
    host.decode(DDATA.replace("DDATA", "DBIRTH"), encode_payload([temperature], ms(1), 2), at(1))
    decoded, _ = host.decode(*node.ddeath("PACKER", at(5)), at(5))
    assert decoded.states[-1] == MachineStateRecord(PACKER, at(5), None, "offline")
    assert telemetry_of(decoded) == [
        TelemetryRecord(PACKER, "Temperature", at(5), None, quality="bad")
    ]


@pytest.mark.parametrize("algorithm", ["DEFLATE", "GZIP"])
def test_compressed_payloads_are_inflated(
    host: SparkplugSource, node: EdgeNode, algorithm: str
) -> None:
    born(host, node)
    metric = encode_metric(DataType.UInt32, 110, alias=node.alias("PACKER", "good_count"))
    payload = encode_payload([metric], ms(4), seq=2, compress=algorithm)
    decoded, _ = host.decode(DDATA, payload, at(4))
    assert decoded.counts == [ProductionCountRecord(PACKER, at(0), at(4), 10, 0)]


def test_decompression_bombs_are_rejected(plant: PlantModel) -> None:
    host = SparkplugSource(plant, SparkplugConfig(max_inflated_bytes=10_000))
    bomb = encode_payload([], ms(0), seq=1, compress="DEFLATE")
    wrapper = Payload.FromString(bomb)
    wrapper.body = zlib.compress(b"\x00" * 1_000_000)
    decoded, _ = host.decode(DDATA, wrapper.SerializeToString(), at(0))
    assert decoded.dead_letters[0].reason == "DEFLATE body inflates beyond 10000 bytes"


def test_unmapped_devices_are_dead_lettered(host: SparkplugSource) -> None:
    other = EdgeNode("XYZ", "E1", {"D1": {"good_count": "Count"}})
    host.decode(*other.nbirth(at(0)), at(0))
    decoded, _ = host.decode(*other.dbirth("D1", at(0), {"good_count": 5}), at(0))
    assert decoded.dead_letters[0].reason == "no machine is mapped to spBv1.0/XYZ/E1/D1"
    decoded, _ = host.decode(*other.ddata("D1", at(1), {"good_count": 6}), at(1))
    assert decoded.dead_letters[0].reason == "no machine is mapped to spBv1.0/XYZ/E1/D1"


def test_host_state_and_its_will(host: SparkplugSource) -> None:
    will = host.will()
    (birth,) = host.on_connect()
    assert will.topic == birth.topic == "spBv1.0/STATE/test-host"
    assert (will.qos, will.retain, birth.qos, birth.retain) == (1, True, 1, True)
    assert json.loads(will.payload) == {"online": False, "timestamp": ms(0)}
    assert json.loads(birth.payload) == {"online": True, "timestamp": ms(0)}
    assert host.subscriptions() == ["spBv1.0/#"]
    decoded, answers = host.decode(birth.topic, birth.payload, at(0))  # our own, echoed back
    assert len(decoded) == 0 and answers == []


def test_mangled_payloads_never_raise(host: SparkplugSource, node: EdgeNode) -> None:
    """Every byte flipped, dropped or doubled in a valid DDATA: each decodes or is dead-lettered
    (in the sample below some of each), and the host goes on decoding the next message."""
    born(host, node)
    metrics = [
        encode_metric(DataType.UInt32, 101, alias=node.alias("PACKER", "good_count")),
        encode_metric(
            DataType.UInt32, 3, alias=node.alias("PACKER", "reject_count"), timestamp_ms=ms(1)
        ),
    ]
    valid = encode_payload(metrics, ms(1), seq=2)
    outcomes = set()
    for index in range(len(valid)):
        for mangled in (
            valid[:index] + bytes([valid[index] ^ 0xFF]) + valid[index + 1 :],
            valid[:index] + valid[index + 1 :],
            valid[:index] + valid[index : index + 1] * 2 + valid[index + 1 :],
        ):
            decoded, _ = host.decode(DDATA, mangled, at(2))
            outcomes.add((bool(decoded.telemetry), bool(decoded.dead_letters)))
    assert (False, True) in outcomes and (True, False) in outcomes
