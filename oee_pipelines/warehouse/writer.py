"""The one writer into the warehouse's time-series tables, shared by realtime ingest and backfills.

Each record is checked on its own (`records.py`): one the warehouse cannot accept (a bad field,
an implausible timestamp, an unknown machine) goes to `raw.dead_letter` with its reason and
never costs the rest of its batch. The accepted rows stream, as they are checked, into a binary
COPY straight into the table inside a savepoint, so the checks overlap the server's work;
telemetry rows it encodes itself (`binary.py`), reusing what repeats within a batch. Only
when a key is already there (a replay, a correction) or twice in the batch does the batch fall
back to a stage and an upsert that keeps the last row for a key and rewrites just the rows that
changed. Either way a replay writes nothing twice, a corrected reading wins, and one batch is
one transaction.

Telemetry on plain PostgreSQL has a partition per UTC day, created for exactly the days that
accepted rows fall on: their rows wait until the batch's other rows are copied, then follow
into the new partitions. TimescaleDB makes its own chunks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from psycopg import Connection, sql
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse import binary
from oee_pipelines.warehouse.dead_letters import escaped, insert_dead_letters, record_letter
from oee_pipelines.warehouse.pool import scalar
from oee_pipelines.warehouse.records import (
    DeadLetter,
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    Record,
    Rejected,
    TelemetryRecord,
    TelemetryRow,
    Window,
    telemetry_row,
)

_COLUMN_TYPES = {
    "machine_id": "text",
    "tag": "text",
    "ts": "timestamptz",
    "start_ts": "timestamptz",
    "end_ts": "timestamptz",
    "state": "text",
    "reason_code": "text",
    "good_count": "int8",
    "reject_count": "int8",
    "value": "float8",
    "value_text": "text",
    "unit": "text",
    "quality": "text",
    "source": "text",
    "site_id": "text",
    "line_id": "text",
}


@dataclass(frozen=True)
class WriteResult:
    received: int
    written: int
    """Rows inserted or changed; a replayed, unchanged row is not counted."""
    dead_lettered: int
    """Records of this batch rejected; a replayed rejection counts again but is stored once."""


@dataclass(frozen=True)
class _Target:
    table: str
    record: type
    """The record class: its fields, in order, are the table's first columns."""
    key: tuple[str, ...]
    with_hierarchy: bool = False
    """Fill site_id and line_id from curated.machine (telemetry carries them for fast filters)."""
    tuple_row: Callable[[tuple, Window], tuple] | None = None
    """How a record given as a plain tuple of its fields is checked, if the target takes one."""

    def __post_init__(self) -> None:
        assert self.columns[: len(self.key)] == self.key, "the key must lead the columns"

    @property
    def name(self) -> str:
        return f"curated.{self.table}"

    def row(self, record: object, window: Window) -> tuple:
        """The checked row of a record (or of a plain tuple of its fields); raises `Rejected`."""
        if type(record) is tuple and self.tuple_row is not None:
            return self.tuple_row(record, window)
        if not isinstance(record, self.record):
            raise Rejected(f"{type(record).__name__} is not a {self.record.__name__}")
        return cast(Record, record).row(window)

    def letter(self, record: object, source: str, reason: str) -> DeadLetter:
        """The dead letter of a rejected record, a tuple shown with its fields' names."""
        if type(record) is tuple and len(record) == len(dataclasses.fields(self.record)):
            record = self.record(*record)
        return record_letter(record, source, self.name, reason)

    def encoders(self) -> list[Callable[[object], bytes]]:
        """How each column's (non-NULL) value is encoded for a binary COPY (telemetry)."""
        return [binary.ENCODERS[_COLUMN_TYPES[column]] for column in self.columns]

    @property
    def columns(self) -> tuple[str, ...]:
        added = ("source", "site_id", "line_id") if self.with_hierarchy else ("source",)
        return tuple(f.name for f in dataclasses.fields(self.record)) + added


_MACHINE_STATE = _Target("machine_state", MachineStateRecord, ("machine_id", "start_ts"))
_PRODUCTION_COUNT = _Target("production_count", ProductionCountRecord, ("machine_id", "start_ts"))
_TELEMETRY = _Target(
    "telemetry", TelemetryRecord, ("machine_id", "tag", "ts"), True, tuple_row=telemetry_row
)


class WarehouseWriter:
    """Writes batches of records through a connection pool; safe to share between threads."""

    def __init__(self, pool: ConnectionPool, plausibility: Plausibility | None = None) -> None:
        self._pool = pool
        self._plausibility = plausibility or Plausibility()
        self._partitioned: bool | None = None
        """Whether telemetry has daily partitions (plain PostgreSQL); None until first asked."""
        self._partition_days: set[dt.date] = set()
        """UTC days whose telemetry partition is known to exist."""

    def write_machine_states(
        self, records: Iterable[MachineStateRecord], source: str
    ) -> WriteResult:
        return self._write(_MACHINE_STATE, records, source)

    def write_production_counts(
        self, records: Iterable[ProductionCountRecord], source: str
    ) -> WriteResult:
        return self._write(_PRODUCTION_COUNT, records, source)

    def write_telemetry(
        self, records: Iterable[TelemetryRecord | TelemetryRow], source: str
    ) -> WriteResult:
        """Telemetry given as records or, from sources with many values, as plain tuples."""
        return self._write(_TELEMETRY, records, source)

    def write_dead_letters(self, letters: Iterable[DeadLetter]) -> int:
        """Keep input that never became a record; returns how many letters were new (a replayed
        letter is stored once)."""
        with self._pool.connection() as conn, conn.transaction():
            return insert_dead_letters(conn, letters)

    def _write(self, target: _Target, records: Iterable[object], source: str) -> WriteResult:
        batch = list(records)
        source = escaped(source)
        new_days: set[dt.date] = set()
        with self._pool.connection() as conn, conn.transaction():
            check = _Check(
                target,
                self._plausibility.window(),
                _machines(conn, batch, source, target),
                self._partitions(conn) if target is _TELEMETRY else None,
            )
            stream = check.encoded(batch) if target is _TELEMETRY else check.rows(batch)
            written = _load(conn, target, stream, check.copied)
            if check.held:
                new_days = {row[_TS].date() for row in check.held}
                conn.execute(
                    "SELECT curated.ensure_telemetry_partitions(%s::date[])", (sorted(new_days),)
                )
                written += _load(conn, target, iter(check.held), check.held)
            insert_dead_letters(conn, (target.letter(r, source, why) for r, why in check.rejected))
        self._partition_days |= new_days
        return WriteResult(len(batch), written, len(check.rejected))

    def _partitions(self, conn: Connection) -> set[dt.date] | None:
        """The days with a telemetry partition, or None when TimescaleDB makes its own chunks."""
        if self._partitioned is None:
            self._partitioned = scalar(
                conn,
                "SELECT to_regprocedure('curated.ensure_telemetry_partitions(date[])') IS NOT NULL",
            )
        return self._partition_days if self._partitioned else None


_TS = _TELEMETRY.columns.index("ts")
_first = operator.itemgetter(0)
_VALUE = _TELEMETRY.columns.index("value")
_ADDED = _TELEMETRY.columns.index("source")
_BLOCK_ROWS = 1000
"""Rows encoded per `Copy.write` (about 100 kB of telemetry): few calls, yet the server starts
on a batch while the rest of it is still being checked."""
_EXACT_INT = 2**53
"""Integers up to this size are exact as float8 (larger ones take the full check)."""


class _Check:
    """One batch's records, checked while they stream into COPY: the rows copied, the rows held
    back until their day's telemetry partition exists, and the records rejected with why.

    Telemetry is encoded here (`encoded`), and its common row (a finite number of a machine and
    tag already seen in this batch with the same unit and quality, at a plausible instant on a
    day with a partition) takes a shortcut: the check of its strings and the bytes they encode
    to are remembered per (machine, tag, unit, quality), and those of its timestamp are reused
    while the rows share the same datetime (the metrics of one message do).
    """

    def __init__(
        self,
        target: _Target,
        window: Window,
        machines: dict[str, tuple[str, ...]],
        partition_days: set[dt.date] | None,
    ) -> None:
        self._target = target
        self._window = window
        self._machines = machines
        self._partition_days = partition_days
        self._known: dict[tuple, tuple[bytes, bytes, tuple[str, ...]]] = {}
        """(machine, tag, unit, quality) of an accepted telemetry row: the bytes of its fields
        before `ts` and after `value`, and what the writer adds to its rows."""
        self.copied: list[tuple] = []
        self.held: list[tuple] = []
        self.rejected: list[tuple[object, str]] = []

    def rows(self, records: Iterable[object]) -> Iterator[tuple]:
        """The accepted rows that can be copied now; no record can make this raise."""
        for record in records:
            row = self._row(record)
            if row is not None:
                yield row

    def encoded(self, records: Iterable[object]) -> Iterator[bytes]:
        """The accepted telemetry rows that can be copied now, as blocks of binary COPY rows;
        no record can make this raise."""
        known, copied = self._known, self.copied
        float8, timestamptz = binary.float8, binary.timestamptz
        earliest, latest, days = self._window.earliest, self._window.latest, self._partition_days
        encoders = self._target.encoders()
        parts: list[bytes] = []
        last_ts: object = None
        ts_field: bytes | None = None
        for record in records:
            fields = record
            if type(record) is TelemetryRecord:  # its fields, as a busy source's tuple
                r = record
                fields = (r.machine_id, r.tag, r.ts, r.value, r.value_text, r.unit, r.quality)
            if type(fields) is tuple and len(fields) == 7:
                machine_id, tag, ts, value, value_text, unit, quality = fields
                ends = known.get((machine_id, tag, unit, quality))
                if (
                    ends is not None
                    and value_text is None
                    and (
                        (type(value) is float and value - value == 0.0)  # finite
                        or (type(value) is int and -_EXACT_INT <= value <= _EXACT_INT)
                    )
                ):
                    if ts is not last_ts:  # plausible, UTC, on a day with a partition
                        last_ts, ts_field = ts, None
                        if (
                            type(ts) is dt.datetime
                            and ts.tzinfo is dt.UTC
                            and earliest <= ts <= latest
                            and (days is None or ts.date() in days)
                        ):
                            ts_field = timestamptz(ts)
                    if ts_field is not None:
                        parts += (ends[0], ts_field, float8(8, value), ends[1])
                        copied.append(fields + ends[2])
                        if len(parts) >= 4 * _BLOCK_ROWS:
                            yield b"".join(parts)
                            parts = []
                        continue
            row = self._row(record)
            if row is not None:
                encoded = [
                    binary.NULL if v is None else encode(v)
                    for v, encode in zip(row, encoders, strict=True)
                ]
                head = binary.field_count(len(encoded)) + b"".join(encoded[:_TS])
                if type(row[_VALUE]) is float and row[_VALUE + 1] is None:
                    known[row[:_TS] + row[_VALUE + 2 : _VALUE + 4]] = (
                        head,
                        b"".join(encoded[_VALUE + 1 :]),
                        row[_ADDED:],
                    )
                parts.append(head + b"".join(encoded[_TS:]))
                if len(parts) >= 4 * _BLOCK_ROWS:
                    yield b"".join(parts)
                    parts = []
        if parts:
            yield b"".join(parts)

    def _row(self, record: object) -> tuple | None:
        """The row of a record to copy now (kept in `copied`); None when it is rejected or held
        back."""
        try:
            row = self._target.row(record, self._window)
        except Rejected as problem:
            self.rejected.append((record, str(problem)))
            return None
        except Exception as error:  # noqa: BLE001 - what no check foresaw costs one record
            self.rejected.append((record, f"unreadable record: {type(error).__name__}: {error}"))
            return None
        added = self._machines.get(row[0])
        if added is None:
            self.rejected.append((record, f"unknown machine {row[0]!r}"))
            return None
        row += added
        if self._partition_days is not None and row[_TS].date() not in self._partition_days:
            self.held.append(row)
            return None
        self.copied.append(row)
        return row


def _machines(
    conn: Connection, records: list[object], source: str, target: _Target
) -> dict[str, tuple[str, ...]]:
    """What the writer adds to the rows of each known machine of the batch: the source, and site
    and line where the table has them. The machines are kept from deletion until commit."""
    try:  # plain tuples, as busy sources hand them over, in one step
        firsts: set[object] = set(map(_first, records))  # type: ignore[arg-type]
    except (TypeError, IndexError, KeyError):  # records, or a field that cannot be hashed
        firsts = {
            m
            for r in records
            if isinstance(
                m := r[0] if type(r) is tuple and r else getattr(r, "machine_id", None), str
            )
        }
    named = [m for m in firsts if isinstance(m, str)]
    rows = conn.execute(
        "SELECT machine_id, site_id, line_id FROM curated.machine"
        " WHERE machine_id = ANY(%s) FOR KEY SHARE",
        ([escaped(machine_id) for machine_id in named],),  # an invalid id is rejected anyway
    )
    if target.with_hierarchy:
        return {machine_id: (source, site_id, line_id) for machine_id, site_id, line_id in rows}
    return {machine_id: (source,) for machine_id, _, _ in rows}


def _load(conn: Connection, target: _Target, stream: Iterator, copied: list[tuple]) -> int:
    """Copy `stream` (rows, or blocks of rows already encoded; each row also lands in `copied`)
    into the table; if a key is already there or twice in the batch, upsert `copied` instead,
    the last row for a key winning."""
    try:
        with conn.transaction():  # a savepoint: a clashing key undoes just the copy
            return _copy(conn, sql.Identifier("curated", target.table), target, stream)
    except UniqueViolation:
        deque(stream, maxlen=0)  # the rest of the batch, so that `copied` is complete
        latest = {row[: len(target.key)]: row for row in copied}
        return _upsert(conn, target, iter(latest.values()))


def _copy(conn: Connection, table: sql.Identifier, target: _Target, stream: Iterator) -> int:
    """COPY rows given as tuples (psycopg encodes them), or as blocks of encoded rows."""
    cursor = conn.cursor()
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)").format(
        table=table, columns=sql.SQL(", ").join(map(sql.Identifier, target.columns))
    )
    with cursor.copy(statement) as copy:
        first = next(stream, None)
        if isinstance(first, bytes):
            copy.write(binary.SIGNATURE + first)
            for block in stream:
                copy.write(block)
            copy.write(binary.TRAILER)
        elif first is not None:
            copy.set_types([_COLUMN_TYPES[column] for column in target.columns])
            copy.write_row(first)
            for row in stream:
                copy.write_row(row)
    return cursor.rowcount


def _upsert(conn: Connection, target: _Target, rows: Iterator[tuple]) -> int:
    """Stage the rows and merge them on the key, rewriting only rows that changed (the stage
    goes again: the rows of new partitions may need one in the same transaction)."""
    columns = sql.SQL(", ").join(map(sql.Identifier, target.columns))
    table = sql.Identifier("curated", target.table)
    conn.execute(
        sql.SQL("CREATE TEMP TABLE stage AS SELECT {} FROM {} WITH NO DATA").format(columns, table)
    )
    _copy(conn, sql.Identifier("stage"), target, rows)
    written = conn.execute(merge_from_stage("stage", table, target.columns, target.key)).rowcount
    conn.execute("DROP TABLE stage")
    return written


def merge_from_stage(
    stage: str, table: sql.Identifier, columns: Sequence[str], key: Sequence[str]
) -> sql.Composed:
    """INSERT the stage's rows into `table`, updating a row whose key exists only when one of
    its values changed (a replay writes nothing, a correction wins)."""
    updated = [c for c in columns if c not in key]
    return sql.SQL(
        """
        INSERT INTO {table} AS t ({columns}) SELECT {columns} FROM {stage}
        ON CONFLICT ({key}) DO UPDATE SET ({updated}) = ROW({excluded})
        WHERE ({current}) IS DISTINCT FROM ({excluded})
        """
    ).format(
        table=table,
        stage=sql.Identifier(stage),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        updated=sql.SQL(", ").join(map(sql.Identifier, updated)),
        excluded=sql.SQL(", ").join(
            sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in updated
        ),
        current=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in updated),
    )
