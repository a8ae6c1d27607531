"""Throughput of the shared warehouse writer for telemetry, against a raw COPY of the same rows.

The writer stages with COPY, dead-letters unknown machines, fills site and line from the
hierarchy and upserts on the key; the baseline is the bare COPY of the same tuples into a
table of the same shape on the same server, measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import ExitStack

import psycopg
from psycopg import sql

from assets.plant.assets import upsert_hierarchy
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.services import embedded_postgres
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import TelemetryRecord, WarehouseWriter, open_pool, upgrade
from oee_pipelines.warehouse.urls import with_database

ROWS = 200_000
BATCH = 10_000
TAGS = ("temperature", "pressure", "vibration", "current", "speed")
DATABASE = "oee_benchmark"


def _records(machine_ids: list[str]) -> list[TelemetryRecord]:
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    per_series = ROWS // (len(machine_ids) * len(TAGS))
    return [
        TelemetryRecord(machine, tag, start + dt.timedelta(seconds=i), float(i % 97), unit="u")
        for machine in machine_ids
        for tag in TAGS
        for i in range(per_series)
    ]


def main() -> None:
    """Runs in a scratch database `oee_benchmark` on the OEE_DATABASE_URL server (or embedded)."""
    settings = Settings.from_env()
    with ExitStack() as stack:
        server = settings.database_url or stack.enter_context(
            embedded_postgres(settings.home / "postgres")
        )
        url = with_database(server, DATABASE)
        with psycopg.connect(with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")
        upgrade(url)
        with open_pool(url) as pool:
            plant = load_plant_model(settings.plant_model)
            with pool.connection() as conn:
                upsert_hierarchy(conn, plant)
            records = _records([m.id for _, _, m in plant.machines()])
            writer = WarehouseWriter(pool)
            writer.write_telemetry(records[:1], "warmup")  # partitions, connections

            started = time.perf_counter()
            for offset in range(0, len(records), BATCH):
                writer.write_telemetry(records[offset : offset + BATCH], "benchmark")
            writer_s = time.perf_counter() - started

            baseline_s = _raw_copy(pool, records)
    print(
        json.dumps(
            {
                "benchmark": "warehouse_writer",
                "unit": "rows/s",
                "value": round(len(records) / writer_s),
                "baseline": {"name": "raw COPY", "value": round(len(records) / baseline_s)},
                "ratio": round(baseline_s / writer_s, 3),
                "params": {"rows": len(records), "batch": BATCH, "table": "curated.telemetry"},
            }
        )
    )


def _raw_copy(pool, records: list[TelemetryRecord]) -> float:
    columns = ("machine_id", "tag", "ts", "site_id", "line_id", "value", "unit", "source")
    with pool.connection() as conn:
        conn.execute("CREATE TABLE raw.copy_baseline (LIKE curated.telemetry INCLUDING DEFAULTS)")
        conn.commit()
        started = time.perf_counter()
        for offset in range(0, len(records), BATCH):
            with (
                conn.transaction(),
                conn.cursor().copy(
                    sql.SQL("COPY raw.copy_baseline ({}) FROM STDIN").format(
                        sql.SQL(", ").join(map(sql.Identifier, columns))
                    )
                ) as copy,
            ):
                for r in records[offset : offset + BATCH]:
                    copy.write_row((r.machine_id, r.tag, r.ts, "S", "L", r.value, r.unit, "b"))
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
