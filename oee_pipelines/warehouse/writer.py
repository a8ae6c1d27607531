"""The one writer into the warehouse's time-series tables, shared by realtime ingest and backfills.

Every batch is staged with COPY and merged with an upsert on the table's key, so a retried or
replayed batch never duplicates a row, and an unchanged row is not rewritten. Records the
warehouse cannot accept (unknown machine, bad value) go to `raw.dead_letter` with the reason;
they never fail the rest of the batch and never disappear.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse.records import (
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
)


class _Record(Protocol):
    machine_id: str

    def problem(self) -> str | None: ...


@dataclass(frozen=True)
class WriteResult:
    received: int
    written: int
    """Rows inserted or changed; a replayed, unchanged row is not counted."""
    dead_lettered: int


@dataclass(frozen=True)
class _Target:
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    with_hierarchy: bool = False
    """Fill site_id and line_id from curated.machine (telemetry carries them for fast filters)."""

    @property
    def name(self) -> str:
        return f"curated.{self.table}"


_MACHINE_STATE = _Target(
    "machine_state",
    ("machine_id", "start_ts", "end_ts", "state", "reason_code"),
    ("machine_id", "start_ts"),
)
_PRODUCTION_COUNT = _Target(
    "production_count",
    ("machine_id", "start_ts", "end_ts", "good_count", "reject_count"),
    ("machine_id", "start_ts"),
)
_TELEMETRY = _Target(
    "telemetry",
    ("machine_id", "tag", "ts", "value", "value_text", "unit", "quality"),
    ("machine_id", "tag", "ts"),
    with_hierarchy=True,
)


class WarehouseWriter:
    """Writes batches of records through a connection pool; safe to share between threads."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._telemetry_days: set[dt.date] = set()

    def write_machine_states(
        self, records: Iterable[MachineStateRecord], source: str
    ) -> WriteResult:
        return self._write(_MACHINE_STATE, list(records), source)

    def write_production_counts(
        self, records: Iterable[ProductionCountRecord], source: str
    ) -> WriteResult:
        return self._write(_PRODUCTION_COUNT, list(records), source)

    def write_telemetry(self, records: Iterable[TelemetryRecord], source: str) -> WriteResult:
        batch = list(records)
        self._ensure_telemetry_partitions({r.ts.astimezone(dt.UTC).date() for r in batch})
        return self._write(_TELEMETRY, batch, source)

    def _write(self, target: _Target, records: Sequence[_Record], source: str) -> WriteResult:
        checked = [(record, record.problem()) for record in records]
        rejected = [(record, reason) for record, reason in checked if reason is not None]
        accepted = [record for record, reason in checked if reason is None]
        with self._pool.connection() as conn, conn.transaction():
            _dead_letter(conn, target, source, rejected)
            _stage(conn, target, accepted)
            unknown = _dead_letter_unknown_machines(conn, target, source)
            written = _merge(conn, target, source)
        return WriteResult(len(records), written, len(rejected) + unknown)

    def _ensure_telemetry_partitions(self, days: set[dt.date]) -> None:
        """Create missing daily partitions (plain PostgreSQL); TimescaleDB makes its own chunks."""
        missing = days - self._telemetry_days
        if not missing:
            return
        with self._pool.connection() as conn:
            partitioned = conn.execute(
                "SELECT to_regproc('curated.ensure_telemetry_partitions') IS NOT NULL"
            ).fetchone()[0]
            if partitioned:
                lower = dt.datetime.combine(min(missing), dt.time(), dt.UTC)
                upper = dt.datetime.combine(max(missing), dt.time(), dt.UTC)
                conn.execute("SELECT curated.ensure_telemetry_partitions(%s, %s)", (lower, upper))
        self._telemetry_days |= missing


def _stage(conn: Connection, target: _Target, records: Sequence[_Record]) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, target.columns))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        ).format(columns=columns, table=sql.Identifier("curated", target.table))
    )
    conn.execute("ALTER TABLE stage ADD COLUMN ordinal bigint GENERATED ALWAYS AS IDENTITY")
    with conn.cursor().copy(
        sql.SQL("COPY stage ({columns}) FROM STDIN").format(columns=columns)
    ) as copy:
        for record in records:
            copy.write_row(tuple(getattr(record, c) for c in target.columns))


def _dead_letter(
    conn: Connection, target: _Target, source: str, rejected: Sequence[tuple[_Record, str]]
) -> None:
    if rejected:
        conn.cursor().executemany(
            "INSERT INTO raw.dead_letter (source, target, reason, record) VALUES (%s, %s, %s, %s)",
            [(source, target.name, reason, _as_json(r)) for r, reason in rejected],
        )


def _dead_letter_unknown_machines(conn: Connection, target: _Target, source: str) -> int:
    cursor = conn.execute(
        """
        WITH unknown AS (
            DELETE FROM stage s
            WHERE NOT EXISTS (SELECT 1 FROM curated.machine m WHERE m.machine_id = s.machine_id)
            RETURNING s.*
        )
        INSERT INTO raw.dead_letter (source, target, reason, record)
        SELECT %s, %s, 'unknown machine ' || machine_id, to_jsonb(unknown) - 'ordinal'
        FROM unknown
        """,
        (source, target.name),
    )
    return cursor.rowcount


def _merge(conn: Connection, target: _Target, source: str) -> int:
    """Upsert the staged rows; within one batch the last record for a key wins."""
    columns = [*target.columns, "source"]
    selected = [sql.SQL("s.{}").format(sql.Identifier(c)) for c in target.columns]
    selected.append(sql.Literal(source))
    if target.with_hierarchy:
        columns += ["site_id", "line_id"]
        selected += [sql.SQL("m.site_id"), sql.SQL("m.line_id")]
    updated = [c for c in columns if c not in target.key]
    statement = sql.SQL(
        """
        INSERT INTO {table} AS t ({columns})
        SELECT DISTINCT ON ({key}) {selected}
        FROM stage s JOIN curated.machine m USING (machine_id)
        ORDER BY {key}, s.ordinal DESC
        ON CONFLICT ({key_columns}) DO UPDATE SET ({updated}) = ROW({excluded})
        WHERE ({current}) IS DISTINCT FROM ({excluded})
        """
    ).format(
        table=sql.Identifier("curated", target.table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        key=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in target.key),
        selected=sql.SQL(", ").join(selected),
        key_columns=sql.SQL(", ").join(map(sql.Identifier, target.key)),
        updated=sql.SQL(", ").join(map(sql.Identifier, updated)),
        excluded=sql.SQL(", ").join(
            sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in updated
        ),
        current=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in updated),
    )
    return conn.execute(statement).rowcount


def _as_json(record: _Record) -> str:
    return json.dumps(dataclasses.asdict(record), default=str)
