"""Migrations and the shared writer against a real PostgreSQL: every accepted record is written
once, the last record for a key wins, a correction wins, and every record the warehouse cannot
accept is kept in raw.dead_letter with its reason, without costing its batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import psycopg
import pytest

from oee_pipelines.warehouse import (
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    TelemetryRecord,
    WarehouseWriter,
    WriteResult,
    sync_log,
    upgrade,
)
from oee_pipelines.warehouse.migrate import head_revision

from .conftest import NOW, Query
from .test_records import BAD

T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


def _timescaledb(query: Query) -> bool:
    return bool(query("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")[0][0])


def _partitions(query: Query) -> list[str]:
    rows = query("SELECT relname FROM pg_class WHERE relname ~ '^telemetry_[0-9]+$' ORDER BY 1")
    return [name for (name,) in rows]


def _write(writer: WarehouseWriter, records: list) -> WriteResult:
    """A batch of one kind of record, through that kind's method."""
    kind = next(type(r) for r in records if type(r) is not dict)
    write = {
        MachineStateRecord: writer.write_machine_states,
        ProductionCountRecord: writer.write_production_counts,
        TelemetryRecord: writer.write_telemetry,
    }[kind]
    return write(records, "test")


def _shifted(record, delta: dt.timedelta):
    """The record moved in time by `delta` (a new key)."""
    moved = {
        name: getattr(record, name) + delta
        for name in ("ts", "start_ts", "end_ts")
        if isinstance(getattr(record, name, None), dt.datetime)
    }
    return dataclasses.replace(record, **moved)


def test_migrations_run_twice_and_create_the_foundation(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        tables = conn.execute(
            """
            SELECT array_agg(table_schema || '.' || table_name ORDER BY 1)
            FROM information_schema.tables
            WHERE table_schema IN ('raw', 'curated', 'audit') AND table_name NOT LIKE 'telemetry_%'
            """
        ).fetchone()[0]
    assert version == head_revision()
    assert set(tables) == {
        "audit.sync_log", "curated.line", "curated.machine", "curated.machine_state",
        "curated.production_count", "curated.shift_pattern", "curated.site", "curated.telemetry",
        "raw.dead_letter", "curated.work_order", "curated.recipe", "curated.downtime_event",
        "curated.shift_assignment", "curated.material", "curated.labor_confirmation",
        "curated.erp_production_order", "curated.work_order_conflict", "raw.source_watermark",
        "curated.changeover", "curated.import_file", "curated.import_reject",
        "curated.shift_break", "curated.data_quality_issue", "raw.rollup_change",
        "raw.rollup_watermark",
    }  # fmt: skip


def test_dead_letters_from_before_0002_keep_their_columns_and_gain_a_payload(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0001_foundation")
    old_insert = """
        INSERT INTO raw.dead_letter (source, target, reason, record)
        VALUES ('opcua', 'curated.machine_state', 'unknown machine M9', '{"machine_id": "M9"}')
    """
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(old_insert)
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(old_insert)  # plain SQL of the old shape still works
        rows = conn.execute(
            "SELECT reason, record->>'machine_id', convert_from(payload, 'UTF8')::jsonb,"
            " payload_format, context, fingerprint FROM raw.dead_letter ORDER BY dead_letter_id"
        ).fetchall()
    assert rows == [
        ("unknown machine M9", "M9", {"machine_id": "M9"}, "json", {}, None),
        ("unknown machine M9", "M9", None, None, {}, None),
    ]


def test_telemetry_is_partitioned_by_day_without_timescaledb(
    query: Query, pool, writer: WarehouseWriter
) -> None:
    if _timescaledb(query):
        pytest.skip("TimescaleDB is installed here: telemetry is a hypertable instead")
    assert query("SELECT partstrat FROM pg_partitioned_table") == [("r",)]
    # A plain INSERT for a day without a partition lands in the default partition ...
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO curated.telemetry (machine_id, tag, ts, site_id, line_id, value, source)"
            " VALUES ('M1', 'temp', %s, 'S1', 'L1', 1.0, 'sql')",
            (T0 + DAY,),
        )
    # ... and moves into the day's partition when the writer creates it.
    writer.write_telemetry(
        [TelemetryRecord("M1", "temp", T0 + d * DAY, 20.0 + d) for d in (0, 1)], "test"
    )
    assert query("SELECT count(*) FROM curated.telemetry_default") == [(0,)]
    assert query("SELECT value, source FROM curated.telemetry_20261121") == [(21.0, "test")]
    assert query("SELECT count(*) FROM curated.telemetry") == [(2,)]


def test_partitions_are_created_only_for_days_that_accepted_rows_fall_on(
    query: Query, writer: WarehouseWriter
) -> None:
    if _timescaledb(query):
        pytest.skip("TimescaleDB is installed here: it makes its own chunks")
    year_ago = T0 - 365 * DAY
    result = writer.write_telemetry(
        [
            TelemetryRecord("M1", "temp", dt.datetime(1900, 1, 1, tzinfo=dt.UTC), 1.0),
            TelemetryRecord("M1", "temp", year_ago, 2.0),
            TelemetryRecord("M9", "temp", T0 - 100 * DAY, 3.0),  # unknown machine
            TelemetryRecord("M1", "te\x00mp", T0 - 200 * DAY, 4.0),
            TelemetryRecord("M1", "temp", T0, 5.0),
        ],
        "test",
    )
    assert (result.written, result.dead_lettered) == (2, 3)
    assert _partitions(query) == ["telemetry_20251120", "telemetry_20261120"]


def test_a_batch_over_a_known_and_a_new_day_copies_both_and_replays_once(
    query: Query, writer: WarehouseWriter
) -> None:
    first = [TelemetryRecord("M1", "temp", T0 + i * MINUTE, float(i)) for i in range(3)]
    assert writer.write_telemetry(first, "test").written == 3
    # The next batch runs over midnight into a day without a partition yet, and repeats a key.
    second = [_shifted(r, 18 * 60 * MINUTE) for r in first]  # 00:00 .. 00:02 the next day
    both = [*first, *second]
    assert writer.write_telemetry(both, "test") == WriteResult(6, 3, 0)
    assert writer.write_telemetry(both, "test") == WriteResult(6, 0, 0)
    corrected = [dataclasses.replace(r, value=r.value + 0.5) for r in both]
    assert writer.write_telemetry(corrected, "test") == WriteResult(6, 6, 0)
    assert query("SELECT count(*), sum(value) FROM curated.telemetry") == [(6, 9.0)]


def test_telemetry_is_a_compressed_hypertable_with_timescaledb(query: Query) -> None:
    if not _timescaledb(query):
        pytest.skip("TimescaleDB is not installed on this PostgreSQL server")
    assert query(
        "SELECT compression_enabled FROM timescaledb_information.hypertables"
        " WHERE hypertable_name = 'telemetry'"
    ) == [(True,)]


def test_telemetry_on_timescaledb_is_copied_once_and_corrected(
    query: Query, writer: WarehouseWriter
) -> None:
    if not _timescaledb(query):
        pytest.skip("TimescaleDB is not installed on this PostgreSQL server")
    batch = [TelemetryRecord("M1", "temp", T0 + i * DAY, float(i)) for i in range(3)]
    assert writer.write_telemetry(batch, "test").written == 3
    assert writer.write_telemetry(batch, "test").written == 0
    corrected = [dataclasses.replace(batch[0], value=9.0)]
    assert writer.write_telemetry(corrected, "test").written == 1
    assert query("SELECT sum(value) FROM curated.telemetry") == [(12.0,)]


def test_writer_upserts_so_a_replayed_batch_adds_nothing(
    query: Query, writer: WarehouseWriter
) -> None:
    states = [
        MachineStateRecord("M1", T0, T0 + 5 * MINUTE, "running"),
        MachineStateRecord("M1", T0 + 5 * MINUTE, None, "unplanned_stop", "JAM"),
    ]
    assert writer.write_machine_states(states, "test").written == 2
    assert writer.write_machine_states(states, "test").written == 0
    # The open interval closes: the same key is updated, not duplicated.
    closed = MachineStateRecord("M1", T0 + 5 * MINUTE, T0 + 9 * MINUTE, "unplanned_stop", "JAM")
    assert writer.write_machine_states([closed], "test").written == 1
    assert query("SELECT count(*), max(end_ts) FROM curated.machine_state") == [
        (2, T0 + 9 * MINUTE)
    ]


def test_a_batch_of_new_and_known_keys_writes_the_new_and_the_changed(
    query: Query, writer: WarehouseWriter
) -> None:
    counts = [
        ProductionCountRecord("M1", T0 + i * MINUTE, T0 + (i + 1) * MINUTE, i, 0) for i in range(4)
    ]
    writer.write_production_counts(counts[:2], "test")
    # counts[0] unchanged, counts[1] corrected, counts[2:] new: the copy clashes, the upsert merges.
    batch = [counts[0], dataclasses.replace(counts[1], reject_count=1), *counts[2:]]
    assert writer.write_production_counts(batch, "test") == WriteResult(4, 3, 0)
    assert query("SELECT good_count, reject_count FROM curated.production_count ORDER BY 1") == [
        (0, 0), (1, 1), (2, 0), (3, 0)
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["production_count", "telemetry"])
def test_last_record_of_a_batch_wins_for_a_key(query: Query, writer: WarehouseWriter, kind) -> None:
    if kind == "production_count":
        batch = [
            ProductionCountRecord("M1", T0, T0 + MINUTE, 10, 0),
            ProductionCountRecord("M1", T0, T0 + MINUTE, 12, 1),
        ]
        value = "SELECT good_count FROM curated.production_count"
    else:
        batch = [TelemetryRecord("M1", "temp", T0, 1.0), TelemetryRecord("M1", "temp", T0, 12.0)]
        value = "SELECT value FROM curated.telemetry"
    assert _write(writer, batch) == WriteResult(2, 1, 0)
    assert query(value) == [(12,)]


def test_records_that_cannot_be_accepted_go_to_the_dead_letter_table(
    query: Query, writer: WarehouseWriter
) -> None:
    records = [
        MachineStateRecord("M1", T0, T0 + MINUTE, "running"),
        MachineStateRecord("M9", T0, T0 + MINUTE, "running"),
        MachineStateRecord("M1", T0 + MINUTE, T0 + 2 * MINUTE, "dancing"),
        MachineStateRecord("M1", T0 + 3 * MINUTE, T0 + 2 * MINUTE, "idle"),
        MachineStateRecord("M1", dt.datetime(2026, 11, 20, 7), None, "idle"),
    ]
    result = writer.write_machine_states(records, "opcua")
    assert (result.written, result.dead_lettered) == (1, 4)
    dead = query(
        "SELECT source, target, reason, record->>'machine_id' FROM raw.dead_letter ORDER BY reason"
    )
    assert dead == [
        ("opcua", "curated.machine_state", "end_ts is not after start_ts", "M1"),
        ("opcua", "curated.machine_state", "start_ts is a timestamp without timezone", "M1"),
        ("opcua", "curated.machine_state", "unknown machine 'M9'", "M9"),
        ("opcua", "curated.machine_state", "unknown state 'dancing'", "M1"),
    ]


@pytest.mark.parametrize(("record", "change", "reason"), BAD.values(), ids=BAD.keys())
def test_one_bad_field_costs_only_its_record_and_a_retry_does_the_same(
    query: Query, writer: WarehouseWriter, record, change: dict, reason: str
) -> None:
    batch = [record, dataclasses.replace(record, **change), _shifted(record, -10 * MINUTE)]
    assert _write(writer, batch) == WriteResult(3, 2, 1)
    assert _write(writer, batch) == WriteResult(3, 0, 1)
    assert query("SELECT reason FROM raw.dead_letter") == [(reason,)]


def test_records_of_another_kind_are_dead_letters(query: Query, writer: WarehouseWriter) -> None:
    state = MachineStateRecord("M1", T0, None, "running")
    batch = [ProductionCountRecord("M1", T0, T0 + MINUTE, 1, 0), {"machine_id": "M1"}, None, state]
    assert writer.write_machine_states(batch, "test") == WriteResult(4, 1, 3)
    assert query("SELECT reason, record FROM raw.dead_letter ORDER BY reason") == [
        ("NoneType is not a MachineStateRecord", "None"),
        (
            "ProductionCountRecord is not a MachineStateRecord",
            {
                "machine_id": "M1",
                "start_ts": "2026-11-20T06:00:00+00:00",
                "end_ts": "2026-11-20T06:01:00+00:00",
                "good_count": 1,
                "reject_count": 0,
            },
        ),
        ("dict is not a MachineStateRecord", {"machine_id": "M1"}),
    ]


def test_telemetry_as_plain_tuples_is_checked_like_records(
    query: Query, writer: WarehouseWriter
) -> None:
    """Busy sources hand telemetry over as tuples of a record's fields: the same checks, the
    same rows, and a rejected tuple's dead letter names its fields."""
    good = ("M1", "temp", T0, 20.5, None, "degC", "good")
    batch = [
        good,
        ("M1", "temp", T0 + MINUTE, math.inf, None, None, "good"),
        ("M1", "temp", T0 + 2 * MINUTE, 21, None, None, "uncertain"),
        ("M1", "temp\x00", T0, 1.0, None, None, "good"),
        ("M1", "temp", T0),
    ]
    assert writer.write_telemetry(batch, "test") == WriteResult(5, 3, 2)
    assert writer.write_telemetry([good], "test") == WriteResult(1, 0, 0)  # a replay
    assert query("SELECT value, value_text, unit, quality FROM curated.telemetry ORDER BY ts") == [
        (20.5, None, "degC", "good"),
        (None, "Infinity", None, "bad"),
        (21.0, None, None, "uncertain"),
    ]
    assert query("SELECT reason, record->>'tag' FROM raw.dead_letter ORDER BY reason") == [
        ("a telemetry row has 7 fields, not 3", None),
        ("tag contains a NUL byte", r"temp\x00"),  # escaped, as the dead letters keep NUL
    ]
    rows = query("SELECT record FROM raw.dead_letter WHERE reason LIKE 'a telemetry row%'")
    assert rows == [
        ("('M1', 'temp', datetime.datetime(2026, 11, 20, 6, 0, tzinfo=datetime.timezone.utc))",)
    ]


def test_rows_like_an_earlier_one_of_the_batch_are_still_checked_each_on_its_own(
    query: Query, writer: WarehouseWriter
) -> None:
    """The writer remembers what it checked and encoded of a machine's tag within a batch; the
    value, text and timestamp of every later row of that tag are still checked on their own."""
    berlin = dt.timezone(dt.timedelta(hours=1))
    batch = [
        ("M1", "temp", T0, 20.5, None, None, "good"),
        ("M1", "temp", T0 + MINUTE, math.nan, None, None, "good"),
        ("M1", "temp", T0 + 2 * MINUTE, 7, None, None, "good"),
        ("M1", "temp", T0 + 3 * MINUTE, 1.0, "on", None, "good"),
        ("M1", "temp", (T0 + 4 * MINUTE).astimezone(berlin), 2.0, None, None, "good"),
        ("M1", "temp", T0 + DAY, 3.0, None, None, "good"),  # a day without a partition yet
        ("M1", "temp", NOW + DAY, 4.0, None, None, "good"),
        ("M1", "temp", (T0 + 5 * MINUTE).replace(tzinfo=None), 5.0, None, None, "good"),
        ("M1", "temp", T0 + 6 * MINUTE, True, None, None, "good"),
        ("nope", "temp", T0 + 7 * MINUTE, 6.0, None, None, "good"),
    ]
    assert writer.write_telemetry(batch, "test") == WriteResult(10, 6, 4)
    assert query("SELECT ts, value, value_text, quality FROM curated.telemetry ORDER BY ts") == [
        (T0, 20.5, None, "good"),
        (T0 + MINUTE, None, "NaN", "bad"),
        (T0 + 2 * MINUTE, 7.0, None, "good"),
        (T0 + 3 * MINUTE, 1.0, "on", "good"),
        (T0 + 4 * MINUTE, 2.0, None, "good"),
        (T0 + DAY, 3.0, None, "good"),
    ]
    assert query("SELECT reason FROM raw.dead_letter ORDER BY reason") == [
        ("ts 2026-12-01T12:00:00+00:00 is in the future beyond the clock skew",),
        ("ts is a timestamp without timezone",),
        ("unknown machine 'nope'",),
        ("value is bool, not a number",),
    ]


def test_implausible_timestamps_are_dead_letters_never_rows(query: Query, pool) -> None:
    writer = WarehouseWriter(
        pool,
        Plausibility(
            earliest=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            clock_skew=dt.timedelta(minutes=1),
            now=lambda: NOW,
        ),
    )
    counts = [
        ProductionCountRecord("M1", T0, T0 + MINUTE, 5, 0),
        ProductionCountRecord(
            "M1",
            dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 1, tzinfo=dt.UTC),
            5,
            0,
        ),
        ProductionCountRecord("M1", NOW, NOW + 2 * MINUTE, 5, 0),  # ends beyond the skew
    ]
    states = [
        MachineStateRecord("M1", dt.datetime(1970, 1, 1, tzinfo=dt.UTC), None, "running"),
        MachineStateRecord("M1", dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC), None, "idle"),
        MachineStateRecord("M1", NOW + MINUTE, None, "idle"),  # just within the skew
    ]
    assert writer.write_production_counts(counts, "plc") == WriteResult(3, 1, 2)
    assert writer.write_machine_states(states, "plc") == WriteResult(3, 1, 2)
    assert query("SELECT start_ts FROM curated.production_count") == [(T0,)]
    assert query("SELECT start_ts FROM curated.machine_state") == [(NOW + MINUTE,)]
    early = "is before the earliest plausible time 2026-01-01T00:00:00+00:00"
    future = "is in the future beyond the clock skew"
    assert query("SELECT reason FROM raw.dead_letter ORDER BY reason") == [
        (f"end_ts 2026-11-30T12:02:00+00:00 {future}",),
        (f"start_ts 1970-01-01T00:00:00+00:00 {early}",),
        (f"start_ts 2025-12-31T23:00:00+00:00 {early}",),
        (f"start_ts 9999-12-31T00:00:00+00:00 {future}",),
    ]


def test_non_finite_telemetry_is_kept_with_quality_bad_and_its_text(
    query: Query, writer: WarehouseWriter
) -> None:
    values = [1.5, math.nan, math.inf, -math.inf]
    batch = [TelemetryRecord("M1", "temp", T0 + i * MINUTE, v) for i, v in enumerate(values)]
    assert writer.write_telemetry(batch, "test") == WriteResult(4, 4, 0)
    assert query("SELECT value, value_text, quality FROM curated.telemetry ORDER BY ts") == [
        (1.5, None, "good"),
        (None, "NaN", "bad"),
        (None, "Infinity", "bad"),
        (None, "-Infinity", "bad"),
    ]
    assert query("SELECT avg(value) FROM curated.telemetry") == [(1.5,)]


def test_telemetry_gets_its_site_and_line_from_the_hierarchy(
    query: Query, writer: WarehouseWriter
) -> None:
    writer.write_telemetry(
        [TelemetryRecord("M1", "pressure", T0, 4.2, unit="bar", quality="uncertain")], "modbus"
    )
    assert query(
        "SELECT site_id, line_id, value, unit, quality, source FROM curated.telemetry"
    ) == [("S1", "L1", 4.2, "bar", "uncertain", "modbus")]


def test_sync_log_records_success_and_failure(query: Query, pool) -> None:
    with sync_log(pool, actor="test", operation="sync", source_system="mes", target="t") as run:
        run.rows_read, run.rows_written = 5, 4
    with (
        pytest.raises(RuntimeError),
        sync_log(pool, actor="test", operation="sync", source_system="erp", target="t"),
    ):
        raise RuntimeError("ERP unreachable")
    rows = query(
        "SELECT source_system, status, rows_read, rows_written, error, finished_at IS NOT NULL"
        " FROM audit.sync_log ORDER BY sync_id"
    )
    assert rows == [
        ("mes", "success", 5, 4, None, True),
        ("erp", "failed", 0, 0, "RuntimeError: ERP unreachable", True),
    ]
