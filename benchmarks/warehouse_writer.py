"""Throughput of the shared warehouse writer for telemetry, against a raw binary COPY.

The writer checks every record, dead-letters what it cannot accept, fills site and line from
the hierarchy and copies (falling back to an upsert on a clashing key). Measured: new rows, a
replay of the same batches (which must write nothing) and a correction of every value (which
must rewrite every row). The baseline is a binary COPY of the same rows, in the same batches,
into a table with the same columns, constraints and primary key as curated.telemetry, on the
same server in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace

from psycopg import sql
from psycopg_pool import ConnectionPool

from benchmarks import scratch_warehouse
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import (
    Plausibility,
    TelemetryRecord,
    WarehouseWriter,
    open_pool,
)
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy

ROWS = 200_000
BATCH = 50_000
TAGS = ("temperature", "pressure", "vibration", "current", "speed")
DATABASE = "oee_benchmark_writer"
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _records(machine_ids: list[str]) -> list[TelemetryRecord]:
    per_series = ROWS // (len(machine_ids) * len(TAGS))
    return [
        TelemetryRecord(machine, tag, START + dt.timedelta(seconds=i), float(i % 97), unit="u")
        for machine in machine_ids
        for tag in TAGS
        for i in range(per_series)
    ]


def main() -> None:
    """Runs in a scratch database `oee_benchmark_writer` on the OEE_DATABASE_URL server
    (or the embedded one)."""
    settings = Settings.from_env()
    with ExitStack() as stack:
        url = stack.enter_context(scratch_warehouse(settings, DATABASE))
        with open_pool(url) as pool:
            plant = load_plant_model(settings.plant_model)
            with pool.connection() as conn:
                upsert_hierarchy(conn, plant)
            records = _records([m.id for _, _, m in plant.machines()])
            # The data is a fixed past window: "now" is pinned just after it.
            writer = WarehouseWriter(pool, Plausibility(now=lambda: START + dt.timedelta(days=7)))
            writer.write_telemetry(records[:1], "warmup")  # partitions, connections
            records = records[1:]
            batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
            corrected = [
                [replace(r, value=(r.value or 0.0) + 0.5) for r in batch] for batch in batches
            ]
            with pool.connection() as conn:
                conn.execute("CREATE TABLE raw.baseline (LIKE curated.telemetry INCLUDING ALL)")

            # Writer and baseline batches take turns, so a busy machine slows both alike.
            def write(batch: list[TelemetryRecord]) -> int:
                return writer.write_telemetry(batch, "benchmark").written

            def copy(batch: list[TelemetryRecord]) -> int:
                return _raw_copy(pool, batch)

            new = replay = correction = baseline = Timed()
            for batch in batches:
                new += Timed.of(write, batch)
                baseline += Timed.of(copy, batch)
            for batch in batches:
                replay += Timed.of(write, batch)
            for batch in corrected:
                correction += Timed.of(write, batch)
    print(
        json.dumps(
            {
                "benchmark": "warehouse_writer",
                "unit": "rows/s",
                "value": round(new.rate),
                "baseline": {
                    "name": "binary COPY into a table with telemetry's columns and primary key",
                    "value": round(baseline.rate),
                },
                "ratio": round(new.rate / baseline.rate, 3),
                "params": {
                    "rows": new.rows,
                    "batch": BATCH,
                    "table": "curated.telemetry",
                    "written": new.written,
                    "replay_rows_per_s": round(replay.rate),
                    "replay_written": replay.written,
                    "correction_rows_per_s": round(correction.rate),
                    "correction_written": correction.written,
                },
            }
        )
    )


@dataclass(frozen=True)
class Timed:
    """Rows handed over, rows written, and the seconds it took."""

    rows: int = 0
    written: int = 0
    seconds: float = 0.0

    @classmethod
    def of(cls, write: Callable[[list[TelemetryRecord]], int], batch: list) -> Timed:
        """Time one write of a batch; `write` returns how many rows it wrote."""
        started = time.perf_counter()
        written = write(batch)
        return cls(len(batch), written, time.perf_counter() - started)

    def __add__(self, other: Timed) -> Timed:
        return Timed(
            self.rows + other.rows, self.written + other.written, self.seconds + other.seconds
        )

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _raw_copy(pool: ConnectionPool, batch: list[TelemetryRecord]) -> int:
    """The rows of a batch, complete with source, site and line, in one binary COPY."""
    columns = ("machine_id", "tag", "ts", "value", "value_text", "unit", "quality", "source",
               "site_id", "line_id")  # fmt: skip
    types = [
        "text",
        "text",
        "timestamptz",
        "float8",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
    ]
    statement = sql.SQL("COPY raw.baseline ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with pool.connection() as conn, conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for r in batch:
            copy.write_row(
                (r.machine_id, r.tag, r.ts, r.value, r.value_text, r.unit, r.quality, "b", "S", "L")
            )
    return cursor.rowcount


if __name__ == "__main__":
    main()
