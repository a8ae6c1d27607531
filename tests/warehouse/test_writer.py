"""Migrations, the shared writer and the audit log, against a real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from oee_pipelines.warehouse import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
    WarehouseWriter,
    sync_log,
    upgrade,
)

T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _scalar(url: str, query: str):
    return _rows(url, query)[0][0]


def _timescaledb(url: str) -> bool:
    return bool(_scalar(url, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))


def test_migrations_run_twice_and_create_the_foundation(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    assert (
        _scalar(empty_database_url, "SELECT version_num FROM alembic_version") == "0001_foundation"
    )
    tables = _scalar(
        empty_database_url,
        """
        SELECT array_agg(table_schema || '.' || table_name ORDER BY 1)
        FROM information_schema.tables
        WHERE table_schema IN ('raw', 'curated', 'audit') AND table_name NOT LIKE 'telemetry_%'
        """,
    )
    assert set(tables) == {
        "audit.sync_log", "curated.line", "curated.machine", "curated.machine_state",
        "curated.production_count", "curated.shift_pattern", "curated.site", "curated.telemetry",
        "raw.dead_letter",
    }  # fmt: skip


def test_telemetry_is_partitioned_by_day_without_timescaledb(database_url: str, pool) -> None:
    if _timescaledb(database_url):
        pytest.skip("TimescaleDB is installed here: telemetry is a hypertable instead")
    assert _scalar(database_url, "SELECT partstrat FROM pg_partitioned_table") == "r"
    # A plain INSERT for a day without a partition lands in the default partition ...
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO curated.telemetry (machine_id, tag, ts, site_id, line_id, value, source)"
            " VALUES ('M1', 'temp', %s, 'S1', 'L1', 1.0, 'sql')",
            (T0 + dt.timedelta(days=1),),
        )
    # ... and moves into the day's partition when the writer creates it.
    writer = WarehouseWriter(pool)
    writer.write_telemetry(
        [TelemetryRecord("M1", "temp", T0 + dt.timedelta(days=d), 20.0 + d) for d in (0, 1)], "test"
    )
    assert _scalar(database_url, "SELECT count(*) FROM curated.telemetry_default") == 0
    assert _scalar(database_url, "SELECT count(*) FROM curated.telemetry_20261121") == 1
    assert _scalar(database_url, "SELECT count(*) FROM curated.telemetry") == 2


def test_telemetry_is_a_compressed_hypertable_with_timescaledb(database_url: str) -> None:
    if not _timescaledb(database_url):
        pytest.skip("TimescaleDB is not installed on this PostgreSQL server")
    assert _scalar(
        database_url,
        "SELECT compression_enabled FROM timescaledb_information.hypertables"
        " WHERE hypertable_name = 'telemetry'",
    )


def test_writer_upserts_so_a_replayed_batch_adds_nothing(database_url: str, pool) -> None:
    writer = WarehouseWriter(pool)
    states = [
        MachineStateRecord("M1", T0, T0 + 5 * MINUTE, "running"),
        MachineStateRecord("M1", T0 + 5 * MINUTE, None, "unplanned_stop", "JAM"),
    ]
    assert writer.write_machine_states(states, "test").written == 2
    assert writer.write_machine_states(states, "test").written == 0
    # The open interval closes: the same key is updated, not duplicated.
    closed = MachineStateRecord("M1", T0 + 5 * MINUTE, T0 + 9 * MINUTE, "unplanned_stop", "JAM")
    assert writer.write_machine_states([closed], "test").written == 1
    assert _scalar(database_url, "SELECT count(*) FROM curated.machine_state") == 2
    assert _scalar(database_url, "SELECT max(end_ts) FROM curated.machine_state") == T0 + 9 * MINUTE


def test_last_record_of_a_batch_wins_for_a_key(database_url: str, pool) -> None:
    counts = [
        ProductionCountRecord("M1", T0, T0 + MINUTE, 10, 0),
        ProductionCountRecord("M1", T0, T0 + MINUTE, 12, 1),
    ]
    result = WarehouseWriter(pool).write_production_counts(counts, "test")
    assert (result.received, result.written) == (2, 1)
    assert _scalar(database_url, "SELECT good_count FROM curated.production_count") == 12


def test_records_that_cannot_be_accepted_go_to_the_dead_letter_table(
    database_url: str, pool
) -> None:
    records = [
        MachineStateRecord("M1", T0, T0 + MINUTE, "running"),
        MachineStateRecord("M9", T0, T0 + MINUTE, "running"),
        MachineStateRecord("M1", T0 + MINUTE, T0 + 2 * MINUTE, "dancing"),
        MachineStateRecord("M1", T0 + 3 * MINUTE, T0 + 2 * MINUTE, "idle"),
        MachineStateRecord("M1", dt.datetime(2026, 11, 20, 7), None, "idle"),
    ]
    result = WarehouseWriter(pool).write_machine_states(records, "opcua")
    assert (result.written, result.dead_lettered) == (1, 4)
    dead = _rows(
        database_url,
        "SELECT source, target, reason, record->>'machine_id' FROM raw.dead_letter ORDER BY reason",
    )
    assert dead == [
        ("opcua", "curated.machine_state", "end_ts is not after start_ts", "M1"),
        ("opcua", "curated.machine_state", "timestamp without timezone", "M1"),
        ("opcua", "curated.machine_state", "unknown machine M9", "M9"),
        ("opcua", "curated.machine_state", "unknown state 'dancing'", "M1"),
    ]


def test_telemetry_gets_its_site_and_line_from_the_hierarchy(database_url: str, pool) -> None:
    WarehouseWriter(pool).write_telemetry(
        [TelemetryRecord("M1", "pressure", T0, 4.2, unit="bar", quality="uncertain")], "modbus"
    )
    rows = _rows(
        database_url, "SELECT site_id, line_id, value, unit, quality, source FROM curated.telemetry"
    )
    assert rows == [("S1", "L1", 4.2, "bar", "uncertain", "modbus")]


def test_sync_log_records_success_and_failure(database_url: str, pool) -> None:
    with sync_log(pool, actor="test", operation="sync", source_system="mes", target="t") as run:
        run.rows_read, run.rows_written = 5, 4
    with (
        pytest.raises(RuntimeError),
        sync_log(pool, actor="test", operation="sync", source_system="erp", target="t"),
    ):
        raise RuntimeError("ERP unreachable")
    rows = _rows(
        database_url,
        "SELECT source_system, status, rows_read, rows_written, error, finished_at IS NOT NULL"
        " FROM audit.sync_log ORDER BY sync_id",
    )
    assert rows == [
        ("mes", "success", 5, 4, None, True),
        ("erp", "failed", 0, 0, "RuntimeError: ERP unreachable", True),
    ]
