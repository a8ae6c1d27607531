"""The columnar path into the time-series tables: a polars DataFrame in, one COPY per day out.

`writer.py` checks record by record, which suits a message or a page; a file of a million
rows needs the same checks as column expressions. They are the writer's checks with the same
bounds (`Plausibility.window()`, `records.MAX_KEY_LENGTH`, the vocabulary), so a row this path
refuses is a row the writer would refuse: a rejected row goes to `raw.dead_letter` with its
reason and is handed back, with the caller's own extra columns (a row number), for reporting.

The accepted rows are copied in binary, sorted by the key, one COPY per UTC day (the telemetry
partition they land in; partitions are created for exactly those days: a day without one is
copied into a table of its own that is indexed and attached once loaded), inside a savepoint,
by a thread that owns the connection while the caller checks the next slice of a large frame
(`ColumnarLoad`). When a key is already there (a re-import, a correction) or twice in the
frame, the copies are undone and the rows are staged and merged on the key instead, the last
row of a key winning and unchanged rows left alone. The frame is one transaction, the caller's.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from psycopg import Connection, sql
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from oee_pipelines.vocabulary import QUALITIES
from oee_pipelines.warehouse import binary
from oee_pipelines.warehouse.dead_letters import insert_dead_letters
from oee_pipelines.warehouse.pool import scalar
from oee_pipelines.warehouse.records import MAX_KEY_LENGTH, DeadLetter, Plausibility, Window
from oee_pipelines.warehouse.writer import merge_from_stage

_log = logging.getLogger(__name__)

_BIGINT_MAX = 2**63 - 1
_COPY_CHUNK = 4 << 20
"""Bytes handed to COPY at a time."""
REASON = "reason"
"""Column of the rejected frame: why the row was refused (the field named first)."""
FIELD = "field"
"""Column of the rejected frame: the field that was refused."""


@dataclass(frozen=True)
class ColumnarTarget:
    """A time-series table as the columnar path writes it."""

    table: str
    key: tuple[str, ...]
    fields: tuple[str, ...]
    """The frame's columns that are stored, in order; the key leads."""
    instants: tuple[str, ...]
    """Timestamp fields, checked against the plausible window; the first picks the UTC day."""
    counts: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    """Double precision fields."""
    texts: tuple[str, ...] = ()
    """Optional text fields (besides the key), checked for NUL bytes."""
    with_hierarchy: bool = False
    """Fill site_id and line_id from curated.machine."""

    @property
    def columns(self) -> tuple[str, ...]:
        added = ("source", "site_id", "line_id") if self.with_hierarchy else ("source",)
        return self.fields + added


TELEMETRY = ColumnarTarget(
    "telemetry",
    ("machine_id", "tag", "ts"),
    ("machine_id", "tag", "ts", "value", "value_text", "unit", "quality"),
    instants=("ts",),
    numbers=("value",),
    texts=("value_text", "unit"),
    with_hierarchy=True,
)
PRODUCTION_COUNT = ColumnarTarget(
    "production_count",
    ("machine_id", "start_ts"),
    ("machine_id", "start_ts", "end_ts", "good_count", "reject_count"),
    instants=("start_ts", "end_ts"),
    counts=("good_count", "reject_count"),
)


@dataclass(frozen=True)
class ColumnarResult:
    received: int
    written: int
    """Rows inserted or changed; a re-imported, unchanged row is not counted."""
    rejected: pl.DataFrame = field(repr=False)
    """The rejected input rows, all their columns, with `field` and `reason`."""


class ColumnarWriter:
    """Writes DataFrames through a connection pool, one transaction each; thread-safe."""

    def __init__(self, pool: ConnectionPool, plausibility: Plausibility | None = None) -> None:
        self._pool = pool
        self._plausibility = plausibility or Plausibility()

    def write(
        self,
        target: ColumnarTarget,
        frame: pl.DataFrame,
        source: str,
        context: dict[str, str] | None = None,
    ) -> ColumnarResult:
        with self._pool.connection() as conn, conn.transaction():
            return write_frame(conn, target, frame, source, self._plausibility.window(), context)


def write_frame(
    conn: Connection,
    target: ColumnarTarget,
    frame: pl.DataFrame,
    source: str,
    window: Window,
    context: dict[str, str] | None = None,
) -> ColumnarResult:
    """Check and store `frame` (the target's fields; timestamps timezone-aware) in the caller's
    transaction. Extra columns are kept in the rejected rows and their dead letters' context."""
    with ColumnarLoad(conn, target, source, window, context) as load:
        load.add(frame)
    return load.result()


class ColumnarLoad:
    """A frame, or consecutive slices of one, written in the caller's transaction.

    A thread of its own owns the connection from entry to exit and copies each slice while the
    caller prepares the next (reads, validates, checks), so the client's work overlaps the
    server's. On a clashing key it undoes its copies and the rows are merged at exit.
    """

    def __init__(
        self,
        conn: Connection,
        target: ColumnarTarget,
        source: str,
        window: Window,
        context: dict[str, str] | None = None,
    ) -> None:
        self._conn = conn
        self._target = target
        self._source = source
        self._window = window
        self._context = context or {}
        self._slices: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._copy_slices, name="columnar-copy")
        self._accepted: list[pl.DataFrame] = []
        self._rejected: list[pl.DataFrame] = []
        self._received = 0
        self._written = 0
        self._table = sql.Identifier("curated", target.table)
        self._days: set[dt.date] = set()
        """Days this load has copied rows of."""
        self._fresh: dict[dt.date, sql.Identifier] = {}
        """Days that had no partition: their own tables, attached once loaded."""
        self._clash = False
        self._failure: BaseException | None = None

    def __enter__(self) -> ColumnarLoad:
        self._machines = _machines(self._conn)
        self._partitioned = self._target.with_hierarchy and _partitioned(self._conn)
        self._thread.start()
        return self

    def add(self, frame: pl.DataFrame) -> None:
        """Check a slice and queue its accepted rows for the copy thread."""
        started = time.perf_counter()
        target = self._target
        frame = _conform(target, frame)
        checked = frame.with_columns(_problems(target, self._window, frame.schema))
        checked = _with_machines(self._machines, target, checked)
        accepted = checked.filter(pl.col(REASON).is_null())
        rows = accepted.select(target.fields).with_columns(source=pl.lit(self._source))
        if target.with_hierarchy:
            rows = rows.with_columns(accepted.select("site_id", "line_id"))
        rows = _nonfinite_as_text(rows)
        extra = [c for c in frame.columns if c not in target.fields]
        rejected = checked.filter(pl.col(REASON).is_not_null())
        self._rejected.append(rejected.select(*target.fields, *extra, FIELD, REASON))
        self._received += len(frame)
        _log.debug("%d rows checked in %.3f s", len(frame), time.perf_counter() - started)
        if len(rows):
            self._accepted.append(rows)
            self._slices.put(rows)

    def __exit__(self, *error: object) -> None:
        self._slices.put(None)
        self._thread.join()
        if error[0] is not None:
            return
        if self._failure is not None:
            raise self._failure
        if self._clash:
            rows = pl.concat(self._accepted)
            if self._partitioned:  # the copies' savepoint took the new days' tables with it
                days = rows[self._target.instants[0]].dt.date().unique().to_list()
                self._conn.execute(
                    "SELECT curated.ensure_telemetry_partitions(%s::date[])", (days,)
                )
            latest = rows.unique(subset=list(self._target.key), keep="last", maintain_order=True)
            self._written = _merge(self._conn, self._target, latest)
        insert_dead_letters(
            self._conn, _letters(self._target, self.rejected, self._source, self._context)
        )

    @property
    def rejected(self) -> pl.DataFrame:
        return pl.concat(self._rejected) if self._rejected else pl.DataFrame()

    def result(self) -> ColumnarResult:
        return ColumnarResult(self._received, self._written, self.rejected)

    def _copy_slices(self) -> None:
        """The copy thread: one COPY per day of each slice, then the new days attached, in one
        savepoint; after a clashing key or a failure it only drains the queue, so that `add`
        never waits for ever."""
        slices = self._queued()
        try:
            with self._conn.transaction():
                for rows in slices:
                    started = time.perf_counter()
                    self._copy_days(rows)
                    _log.debug("%d rows copied in %.3f s", len(rows), time.perf_counter() - started)
                started = time.perf_counter()
                if self._fresh:
                    self._conn.execute("SET LOCAL maintenance_work_mem = '128MB'")
                    # Rows sorted by the key make one backend's sort a single pass; parallel
                    # workers would each sort a part of the table and merge, for more CPU.
                    self._conn.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                for day in sorted(self._fresh):
                    self._conn.execute("SELECT curated.attach_telemetry_day(%s)", (day,))
                _log.debug(
                    "%d new days attached in %.3f s",
                    len(self._fresh),
                    time.perf_counter() - started,
                )
        except UniqueViolation:
            self._clash, self._written, self._fresh = True, 0, {}
        except BaseException as failure:  # noqa: BLE001 - handed to the caller at exit
            self._failure = failure
        for _ in slices:  # what is left after a failure (nothing once the end was read)
            pass

    def _queued(self) -> Iterator[pl.DataFrame]:
        """The slices `add` queues, until the end (None; a frame cannot be compared to it)."""
        while (rows := self._slices.get()) is not None:
            yield rows

    def _copy_days(self, rows: pl.DataFrame) -> None:
        """One COPY per day of the rows, each day's rows sorted by the key (encoded here, in the
        copy thread, while the caller checks the next slice)."""
        target = self._target
        day = rows[target.instants[0]].dt.date().alias("_day")
        for (key,), part in rows.with_columns(day).group_by("_day", maintain_order=True):
            data = _binary(part.sort(target.key, maintain_order=True), target)
            self._written += _copy(self._conn, self._table_of(key), target.columns, data)

    def _table_of(self, day: dt.date) -> sql.Identifier:
        """Where a day's rows are copied: a day without a telemetry partition gets a table of
        its own, indexed when it is attached at the end (curated.create_telemetry_day)."""
        if day not in self._days:
            self._days.add(day)
            if self._partitioned:
                fresh = scalar(self._conn, "SELECT curated.create_telemetry_day(%s)", (day,))
                if fresh is not None:
                    self._fresh[day] = sql.Identifier("curated", fresh)
        return self._fresh.get(day, self._table)


def _conform(target: ColumnarTarget, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its instants in UTC (a naive column stays naive: every row is refused)."""
    missing = [name for name in target.fields if name not in frame.columns]
    if missing:
        raise ValueError(f"{target.table} frame lacks the columns {missing}")
    conformed = []
    for name in target.instants:
        dtype = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            conformed.append(pl.col(name).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    return frame.with_columns(conformed)


def _problems(target: ColumnarTarget, window: Window, schema: pl.Schema) -> list[pl.Expr]:
    """`field` and `reason` of each row's first problem (null when it has none), in the
    writer's words (records.py)."""
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    for name in target.key:
        if name in target.instants:
            continue
        column = pl.col(name)
        checks += [
            (name, column.is_null() | (column == ""), pl.lit(f"{name} is empty")),
            (
                name,
                column.str.contains("\x00", literal=True),
                pl.lit(f"{name} contains a NUL byte"),
            ),
            (
                name,
                column.str.len_chars() > MAX_KEY_LENGTH,
                pl.lit(f"{name} is longer than {MAX_KEY_LENGTH} characters"),
            ),
        ]
    for name in target.texts:
        checks.append(
            (
                name,
                pl.col(name).str.contains("\x00", literal=True),
                pl.lit(f"{name} contains a NUL byte"),
            )
        )
    if "quality" in target.fields:
        quality = pl.col("quality")
        checks.append(
            (
                "quality",
                quality.is_null() | ~quality.is_in(sorted(QUALITIES)),
                pl.format("unknown quality '{}'", quality.fill_null("None")),
            )
        )
    for name in target.instants:
        checks += _instant_checks(name, window, schema[name])
    if len(target.instants) == 2:
        start, end = target.instants
        checks.append((end, pl.col(end) <= pl.col(start), pl.lit(f"{end} is not after {start}")))
    for name in target.counts:
        count = pl.col(name)
        checks += [
            (name, count.is_null(), pl.lit(f"{name} is missing")),
            (name, count < 0, pl.format(f"{name} {{}} is negative", count)),
            (name, count > _BIGINT_MAX, pl.lit(f"{name} is beyond the bigint range")),
        ]
    field_expr: Any = pl
    reason_expr: Any = pl
    for name, failed, reason in checks:
        failed = failed.fill_null(False)
        field_expr = field_expr.when(failed).then(pl.lit(name))
        reason_expr = reason_expr.when(failed).then(reason)
    return [
        field_expr.otherwise(pl.lit(None, pl.String)).alias(FIELD),
        reason_expr.otherwise(pl.lit(None, pl.String)).alias(REASON),
    ]


def _instant_checks(
    name: str, window: Window, dtype: pl.DataType
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
        return [(name, pl.lit(True), pl.lit(f"{name} is a timestamp without timezone"))]
    column = pl.col(name)
    earliest, latest = window.earliest, window.latest
    shown = column.dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")
    return [
        (name, column.is_null(), pl.lit(f"{name} is missing")),
        (
            name,
            column < earliest,
            pl.format(
                f"{name} {{}} is before the earliest plausible time {earliest.isoformat()}", shown
            ),
        ),
        (
            name,
            column > latest,
            pl.format(f"{name} {{}} is in the future beyond the clock skew", shown),
        ),
    ]


def _machines(conn: Connection) -> pl.DataFrame:
    """Every machine with its site and line, kept from deletion until commit."""
    rows = conn.execute(
        "SELECT machine_id, site_id, line_id FROM curated.machine FOR KEY SHARE"
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={"machine_id": pl.String, "site_id": pl.String, "line_id": pl.String},
        orient="row",
    ).with_columns(known=pl.lit(True))


def _with_machines(
    machines: pl.DataFrame, target: ColumnarTarget, frame: pl.DataFrame
) -> pl.DataFrame:
    """The frame with each known machine's site and line (for telemetry), and 'unknown machine'
    on the rest."""
    drop = [c for c in ("site_id", "line_id", "known") if c in frame.columns]
    joined = frame.drop(drop).join(machines, on="machine_id", how="left", maintain_order="left")
    unknown = pl.col(REASON).is_null() & pl.col("known").is_null()
    joined = joined.with_columns(
        pl.when(unknown).then(pl.lit("machine_id")).otherwise(pl.col(FIELD)).alias(FIELD),
        pl.when(unknown)
        .then(pl.format("unknown machine '{}'", pl.col("machine_id")))
        .otherwise(pl.col(REASON))
        .alias(REASON),
    ).drop("known")
    if not target.with_hierarchy:
        joined = joined.drop("site_id", "line_id")
    return joined


def _nonfinite_as_text(rows: pl.DataFrame) -> pl.DataFrame:
    """A NaN or infinite value is kept: value NULL, its text in value_text, quality 'bad'."""
    if "value" not in rows.columns:
        return rows
    value = pl.col("value")
    nonfinite = value.is_not_null() & ~value.is_finite()
    spelled = (
        pl.when(value.is_nan())
        .then(pl.lit("NaN"))
        .when(value > 0)
        .then(pl.lit("Infinity"))
        .otherwise(pl.lit("-Infinity"))
    )
    return rows.with_columns(
        pl.when(nonfinite).then(pl.lit(None, pl.Float64)).otherwise(value).alias("value"),
        pl.when(nonfinite)
        .then(pl.coalesce(pl.col("value_text"), spelled))
        .otherwise(pl.col("value_text"))
        .alias("value_text"),
        pl.when(nonfinite).then(pl.lit("bad")).otherwise(pl.col("quality")).alias("quality"),
    )


def _partitioned(conn: Connection) -> bool:
    """Whether telemetry has daily partitions (plain PostgreSQL, not TimescaleDB)."""
    return bool(
        scalar(
            conn,
            "SELECT to_regprocedure('curated.ensure_telemetry_partitions(date[])') IS NOT NULL",
        )
    )


_BINARY_NULL = pa.scalar(binary.NULL, pa.large_binary())
"""2000-01-01 UTC in microseconds since 1970: PostgreSQL's zero of a timestamp."""


def _binary(rows: pl.DataFrame, target: ColumnarTarget) -> bytes:
    """The rows in COPY's binary format, built a column at a time: arrow joins each row's
    fields (length, bytes) element-wise, so no number or instant is written as text for the
    server to parse back (half the client's time and a third of the server's, against CSV)."""
    fields = [_fixed(np.full(len(rows), len(target.columns), ">i2"))]
    for name in target.columns:
        column = rows[name]
        if name in target.instants:
            micros = column.dt.epoch("us").fill_null(0).to_numpy() - binary.POSTGRES_EPOCH_US
            fields.append(_nullable(column, _fixed(_with_length(micros.astype(">i8")))))
        elif name in target.counts:
            counts = column.cast(pl.Int64).fill_null(0).to_numpy()
            fields.append(_nullable(column, _fixed(_with_length(counts.astype(">i8")))))
        elif name in target.numbers:
            numbers = column.cast(pl.Float64).fill_null(0).to_numpy()
            fields.append(_nullable(column, _fixed(_with_length(numbers.astype(">f8")))))
        else:
            text = column.cast(pl.String).to_arrow().cast(pa.large_binary())
            lengths = pc.binary_length(text).fill_null(-1).to_numpy(zero_copy_only=False)
            fields += [_fixed(lengths.astype(">i4")), text.fill_null(b"")]
    joined = pc.binary_join_element_wise(*fields, pa.scalar(b"", pa.large_binary()))
    offsets = np.frombuffer(joined.buffers()[1], np.int64, len(joined) + 1, joined.offset * 8)
    body = memoryview(joined.buffers()[2])[offsets[0] : offsets[-1]]
    return b"".join((binary.SIGNATURE, body, binary.TRAILER))


def _with_length(values: np.ndarray) -> np.ndarray:
    """Each 8-byte value behind its length, as one record."""
    records = np.empty(len(values), [("length", ">i4"), ("value", values.dtype)])
    records["length"] = values.dtype.itemsize
    records["value"] = values
    return records


def _fixed(values: np.ndarray) -> pa.Array:
    """Each element's bytes as one binary value."""
    width = values.dtype.itemsize
    buffer = pa.py_buffer(np.ascontiguousarray(values).tobytes())
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(values), [None, buffer])
    return fixed.cast(pa.large_binary())


def _nullable(column: pl.Series, encoded: pa.Array) -> pa.Array:
    """A null's field is its length -1 alone."""
    if not column.null_count():
        return encoded
    return pc.if_else(column.is_null().to_arrow(), _BINARY_NULL, encoded)


def _copy(conn: Connection, table: sql.Identifier, columns: tuple[str, ...], data: bytes) -> int:
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)").format(
        table=table, columns=sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    view = memoryview(data)
    cursor = conn.cursor()
    with cursor.copy(statement) as copy:
        for start in range(0, len(view), _COPY_CHUNK):
            copy.write(view[start : start + _COPY_CHUNK])
    return cursor.rowcount


def _merge(conn: Connection, target: ColumnarTarget, rows: pl.DataFrame) -> int:
    """Stage the rows and merge them on the key, rewriting only rows that changed."""
    columns = sql.SQL(", ").join(map(sql.Identifier, target.columns))
    table = sql.Identifier("curated", target.table)
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE columnar_stage ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
        ).format(columns, table)
    )
    _copy(conn, sql.Identifier("columnar_stage"), target.columns, _binary(rows, target))
    merge = merge_from_stage("columnar_stage", table, target.columns, target.key)
    written = conn.execute(merge).rowcount
    conn.execute("DROP TABLE columnar_stage")
    return written


def _letters(
    target: ColumnarTarget, rejected: pl.DataFrame, source: str, context: dict[str, str]
) -> list[DeadLetter]:
    """The dead letter of each rejected row: its fields as payload, its extra columns (a row
    number) in the context beside the caller's."""
    extra = [
        c
        for c in rejected.columns
        if c not in (*target.fields, FIELD, REASON, "site_id", "line_id")
    ]
    letters = []
    for row in rejected.iter_rows(named=True):
        payload = {name: _plain(row[name]) for name in target.fields}
        where = {**context, **{name: str(row[name]) for name in extra}}
        letters.append(DeadLetter(source, f"curated.{target.table}", row[REASON], payload, where))
    return letters


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.datetime) else value
