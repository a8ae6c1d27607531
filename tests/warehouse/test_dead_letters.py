"""raw.dead_letter keeps whatever arrived, exactly (bytea) and readably (escaped jsonb), and once:
a replayed batch or message adds nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

from oee_pipelines.warehouse import DeadLetter, TelemetryRecord, WarehouseWriter

from .conftest import Query

T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)

LETTERS = [
    DeadLetter(
        "sparkplug",
        "curated.telemetry",
        "undecodable protobuf",
        b"\x00\xff\xfe{not protobuf",
        {"topic": "spBv1.0/G/DDATA/N/D"},
    ),
    DeadLetter("mqtt", "curated.telemetry", "invalid UTF-8", "temp\x00 \ud800", {"topic": "a/b"}),
    DeadLetter(
        "files",
        "curated.production_count",
        "bad_number in good_count",
        {"good_count": math.nan, "raw": b"\x00\x01", "at": T0, "k\x00": ["\udcff", 2**70]},
        {"file": "C:\\drops\\counts.csv", "row": "7"},
    ),
]


def test_any_payload_is_stored_exactly_and_readably(query: Query, writer: WarehouseWriter) -> None:
    assert writer.write_dead_letters(LETTERS) == 3
    rows = query(
        "SELECT source, reason, payload_format, payload, record, context FROM raw.dead_letter"
        " ORDER BY dead_letter_id"
    )
    assert rows[0] == (
        "sparkplug",
        "undecodable protobuf",
        "bytes",
        b"\x00\xff\xfe{not protobuf",
        "\\x00\\xff\\xfe{not protobuf",
        {"topic": "spBv1.0/G/DDATA/N/D"},
    )
    assert rows[1][2:] == (
        "text",
        "temp\x00 \ud800".encode("utf-8", "surrogatepass"),
        "temp\\x00 \\ud800",
        {"topic": "a/b"},
    )
    _, _, payload_format, payload, record, context = rows[2]
    assert payload_format == "json"
    exact = json.loads(payload)
    assert math.isnan(exact.pop("good_count"))
    assert exact == {
        "raw": "b'\\x00\\x01'",
        "at": "2026-11-20T06:00:00+00:00",
        "k\x00": ["\udcff", 2**70],
    }
    assert record == {
        "good_count": "nan",
        "raw": "\\x00\x01",
        "at": "2026-11-20T06:00:00+00:00",
        "k\\x00": ["\\udcff", 2**70],
    }
    assert context == {"file": "C:\\drops\\counts.csv", "row": "7"}


def test_a_replayed_letter_is_stored_once(query: Query, writer: WarehouseWriter) -> None:
    writer.write_dead_letters(LETTERS)
    assert writer.write_dead_letters(LETTERS) == 0
    assert writer.write_dead_letters([LETTERS[0], LETTERS[0]]) == 0
    # The same payload from somewhere else is another letter.
    elsewhere = dataclasses.replace(
        LETTERS[2], context={"file": "C:\\drops\\counts.csv", "row": "9"}
    )
    assert writer.write_dead_letters([elsewhere]) == 1
    assert query("SELECT count(*) FROM raw.dead_letter") == [(4,)]


def test_a_rejected_record_is_kept_exactly(query: Query, writer: WarehouseWriter) -> None:
    bad = TelemetryRecord("M1", "te\x00mp", T0, math.inf, unit="\ud800")
    for _ in range(2):  # a replay adds no second letter
        assert writer.write_telemetry([bad], "modbus").dead_lettered == 1
    [(reason, payload, record)] = query("SELECT reason, payload, record FROM raw.dead_letter")
    assert reason == "tag contains a NUL byte"
    assert json.loads(payload) == {
        "machine_id": "M1",
        "tag": "te\x00mp",
        "ts": "2026-11-20T06:00:00+00:00",
        "value": math.inf,
        "value_text": None,
        "unit": "\ud800",
        "quality": "good",
    }
    assert (record["tag"], record["value"], record["unit"]) == ("te\\x00mp", "inf", "\\ud800")
