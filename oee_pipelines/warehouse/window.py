"""Replacing one source's rows of a time window in one transaction: a partitioned backfill.

Inside `WindowWriter.replacing(source, start, end)` the source's telemetry, machine states and
production counts of [start, end) are already deleted, and the writer's batches join the same
transaction: the window is either replaced whole or left as it was, and re-running it
replaces exactly the same rows.

Overlap rule: where another source (realtime ingest, another backfill) already holds data of the
window, that source wins and the backfill fills the gaps. A backfill's telemetry reading at the
same machine, tag and instant as another source's is dropped; its state or count interval that
overlaps another source's interval of the same machine is dropped. `Replacement.others_telemetry`
gives the telemetry keys to drop, `Replacement.without_overlap` drops the intervals; the caller
counts what was dropped, for the run's metadata.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

import polars as pl
from psycopg import Connection
from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse.records import (
    DeadLetter,
    MachineStateRecord,
    ProductionCountRecord,
)
from oee_pipelines.warehouse.writer import WarehouseWriter

_TABLES = (
    ("telemetry", "ts"),
    ("machine_state", "start_ts"),
    ("production_count", "start_ts"),
)


class _Interval(Protocol):
    @property
    def machine_id(self) -> str: ...
    @property
    def start_ts(self) -> dt.datetime: ...
    @property
    def end_ts(self) -> dt.datetime | None: ...


_R = TypeVar("_R", MachineStateRecord, ProductionCountRecord)


class _Switch:
    """The pool the window writer writes through: the open replacement's connection, if any."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.conn: Connection | None = None

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self.conn is None:
            with self.pool.connection() as conn:
                yield conn
            return
        yield self.conn
        # The writer's stage table lives until commit; the next batch stages afresh.
        self.conn.execute("DROP TABLE IF EXISTS stage")


@dataclasses.dataclass
class Replacement:
    """The open transaction of one window: its writer, and the overlap rule."""

    conn: Connection
    source: str
    start: dt.datetime
    end: dt.datetime
    deleted: int

    def others_telemetry(self) -> pl.DataFrame:
        """The keys (machine_id, tag, ts) of the window's telemetry that other sources hold:
        the backfill's readings at these keys are dropped (read before a columnar load takes
        the connection)."""
        keys = self.conn.execute(
            "SELECT machine_id, tag, ts FROM curated.telemetry WHERE source <> %s"
            " AND ts >= %s AND ts < %s",
            (self.source, self.start, self.end),
        ).fetchall()
        return pl.DataFrame(
            keys,
            schema={"machine_id": pl.String, "tag": pl.String, "ts": pl.Datetime("us", "UTC")},
            orient="row",
        )

    def without_overlap(
        self, states: list[MachineStateRecord], counts: list[ProductionCountRecord]
    ) -> tuple[list[MachineStateRecord], list[ProductionCountRecord], dict[str, int]]:
        """The intervals that overlap no other source's, and how many were dropped per table."""
        machines = sorted({r.machine_id for r in states} | {r.machine_id for r in counts})
        kept_states = self._outside_others("machine_state", states, machines)
        kept_counts = self._outside_others("production_count", counts, machines)
        overlap = {
            "machine_state": len(states) - len(kept_states),
            "production_count": len(counts) - len(kept_counts),
        }
        return kept_states, kept_counts, overlap

    def _outside_others(self, table: str, records: list[_R], machines: Sequence[str]) -> list[_R]:
        others: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        for machine_id, start, end in self.conn.execute(
            f"SELECT machine_id, start_ts, end_ts FROM curated.{table} WHERE source <> %s"  # noqa: S608 - table is one of ours
            " AND machine_id = ANY(%s) AND start_ts < %s AND coalesce(end_ts, 'infinity') > %s"
            " ORDER BY machine_id, start_ts",
            (self.source, list(machines), self.end, self.start),
        ):
            others.setdefault(machine_id, []).append((start, end or far))
        if not others:
            return records
        return [r for r in records if not _overlaps(others.get(r.machine_id, []), r, far)]

    def dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Keep the readings that became no record (an unknown state code, a bad counter)."""
        if letters:
            self.conn.cursor().executemany(
                "INSERT INTO raw.dead_letter (source, target, reason, record) "
                "VALUES (%s, %s, %s, %s)",
                [
                    (
                        letter.source,
                        letter.target,
                        letter.reason,
                        json.dumps({**letter.payload, **letter.context}, default=str),  # type: ignore[dict-item]
                    )
                    for letter in letters
                ],
            )
        return len(letters)


class WindowWriter(WarehouseWriter):
    """The shared writer; inside `replacing` its batches join the window's transaction."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._switch = _Switch(pool)
        super().__init__(self._switch)  # type: ignore[arg-type]

    @contextmanager
    def replacing(self, source: str, start: dt.datetime, end: dt.datetime) -> Iterator[Replacement]:
        """A transaction in which `source`'s rows of [start, end) are deleted and rewritten."""
        with self._switch.pool.connection() as conn, conn.transaction():
            deleted = 0
            for table, column in _TABLES:
                deleted += conn.execute(
                    f"DELETE FROM curated.{table} WHERE source = %s"  # noqa: S608 - fixed names
                    f" AND {column} >= %s AND {column} < %s",
                    (source, start, end),
                ).rowcount
            self._switch.conn = conn
            try:
                yield Replacement(conn, source, start, end, deleted)
            finally:
                self._switch.conn = None


def _overlaps(
    others: list[tuple[dt.datetime, dt.datetime]], record: _Interval, far: dt.datetime
) -> bool:
    """Whether [record.start, record.end) meets any of the sorted, non-overlapping `others`."""
    end = record.end_ts or far
    index = bisect_left(others, (record.start_ts,))
    candidates = others[max(0, index - 1) : index + 1]
    return any(start < end and record.start_ts < stop for start, stop in candidates)
