"""Making batches durable: committed to the warehouse, or else fsync'd to the spool.

The writer's upserts are idempotent on the tables' natural keys, so writing a batch twice (a
message redelivered after a crash, a spooled batch replayed after its commit was cut short)
leaves the same rows. Batches are written one at a time and in order: while the spool holds
anything, new batches queue behind it, so a later reading never loses to an older one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from oee_pipelines.warehouse import (
    DeadLetter,
    MachineStateRecord,
    ProductionCountRecord,
    TelemetryRecord,
    WarehouseWriter,
)
from oee_pipelines.warehouse.records import telemetry_record
from realtime.config import SpoolConfig
from realtime.logs import log
from realtime.metrics import Metrics
from realtime.source import Decoded
from realtime.spool import Spool, SpoolFull

OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
"""Errors that mean the warehouse is unreachable (not that the batch is bad)."""


class Sink:
    """Writes batches to the warehouse, spools them while it is away, and replays them.

    `store` runs in the writer's thread and `replay` in another, so that intake never waits on
    an unreachable warehouse: once a write fails, new batches go straight to the spool, and only
    `replay` tries the warehouse again, with backoff, oldest batch first.
    """

    def __init__(
        self, pool: ConnectionPool, spool: Spool, metrics: Metrics, config: SpoolConfig
    ) -> None:
        self._pool = pool
        self._writer = WarehouseWriter(pool)
        self._spool = spool
        self._metrics = metrics
        self._retry_min_s = config.retry_min_s
        self._retry_max_s = config.retry_max_s
        self._retry_s = config.retry_min_s
        self._retry_at = 0.0
        self._reachable = True
        self._full = False
        self._report_spool()

    @property
    def spooled(self) -> int:
        return len(self._spool)

    @property
    def retry_in_s(self) -> float:
        """How long `replay` should wait before it tries the warehouse again."""
        return max(0.0, self._retry_at - time.monotonic())

    def store(self, records: Mapping[str, Decoded]) -> bool:
        """Make one batch durable; False when neither the warehouse nor the spool can take it."""
        if self._reachable and not self._spool and self._try_write(records):
            self._set_full(False)
            return True
        try:
            self._spool.append(records)
        except SpoolFull as exc:
            self._set_full(True, exc)
            return False
        self._set_full(False)
        return True

    def _set_full(self, full: bool, detail: SpoolFull | None = None) -> None:
        if full and not self._full:
            log(logging.ERROR, "spool.full", alarm="intake stops until it drains", detail=detail)
        elif self._full and not full:
            log(logging.WARNING, "spool.room", batches=len(self._spool))
        self._full = full
        self._report_spool()

    def replay(self) -> bool:
        """Write the oldest spooled batch; False when there is none or the warehouse is away."""
        batch = self._spool.oldest()
        if batch is None or not self._try_write(batch.records):
            return False
        self._spool.remove(batch)
        self._report_spool()
        if not self._spool:
            log(logging.INFO, "spool.drained")
        return True

    def _try_write(self, records: Mapping[str, Decoded]) -> bool:
        started = time.perf_counter()
        try:
            self._write(records)
        except OUTAGE as exc:
            self._retry_at = time.monotonic() + self._retry_s
            log(logging.WARNING, "warehouse.unreachable", retry_in_s=self._retry_s, error=exc)
            self._retry_s = min(self._retry_s * 2, self._retry_max_s)
            self._reachable = False
            self._metrics.set_database_up(False)
            return False
        except psycopg.Error as exc:
            self._quarantine(records, exc)
        self._metrics.write_seconds.observe(time.perf_counter() - started)
        if not self._reachable:
            log(logging.INFO, "warehouse.reachable")
        self._retry_s = self._retry_min_s
        self._reachable = True
        self._metrics.set_database_up(True)
        return True

    def _write(self, records: Mapping[str, Decoded]) -> None:
        for source, decoded in records.items():
            results = {
                "telemetry": self._writer.write_telemetry(decoded.telemetry, source)
                if decoded.telemetry
                else None,
                "machine_state": self._writer.write_machine_states(decoded.states, source)
                if decoded.states
                else None,
                "production_count": self._writer.write_production_counts(decoded.counts, source)
                if decoded.counts
                else None,
            }
            for table, result in results.items():
                if result is not None:
                    self._metrics.rows_written.labels(table).inc(result.written)
                    self._metrics.dead_letters.labels(source).inc(result.dead_lettered)
            if decoded.dead_letters:
                self._writer.write_dead_letters(decoded.dead_letters)
                self._metrics.dead_letters.labels(source).inc(len(decoded.dead_letters))

    def _quarantine(self, records: Mapping[str, Decoded], error: psycopg.Error) -> None:
        """A batch the warehouse refuses (not an outage) is kept whole as dead letters."""
        log(logging.ERROR, "warehouse.rejected_batch", error=error)
        for source, decoded in records.items():
            rows: list[TelemetryRecord | MachineStateRecord | ProductionCountRecord] = [
                *map(telemetry_record, decoded.telemetry),
                *decoded.states,
                *decoded.counts,
            ]
            reason = f"the warehouse rejected the batch: {error}"
            letters = [
                DeadLetter(source, "realtime", reason, dataclasses.asdict(row)) for row in rows
            ]
            self._writer.write_dead_letters([*letters, *decoded.dead_letters])
            self._metrics.dead_letters.labels(source).inc(len(letters) + len(decoded.dead_letters))

    def _report_spool(self) -> None:
        self._metrics.set_spool(len(self._spool), self._spool.size, self._full)
