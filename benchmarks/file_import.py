"""A 1,000,000-row sensor_log CSV imported end to end, against a raw COPY of the same file.

The import reads the file (polars), validates every cell (column expressions: numbers, local
times of the site's timezone, references, duplicates), checks plausibility and writes the rows
into curated.telemetry with one COPY per UTC day, recording import_file and sync_log rows. The
baseline is PostgreSQL's own CSV COPY of the same file into a plain table with the file's
columns (typed, no key), on the same server in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl

from benchmarks import scratch_warehouse
from oee_pipelines.imports import import_file
from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import Plausibility, open_pool
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy

ROWS = 1_000_000
TAGS = ("temperature", "pressure", "vibration", "current", "speed")
STEP_S = 10
DATABASE = "oee_benchmark_file_import"
START = dt.datetime(2026, 11, 2)
"""Local time of the Berlin site (no DST change in the window)."""
_BASELINE_TABLE = """
CREATE TABLE raw.file_baseline (
    "timestamp" timestamp, site text, line text, machine text, tag text,
    value double precision, unit text, quality text
)
"""


def _write_csv(path: Path, machines: list[tuple[str, str, str]]) -> None:
    """ROWS readings: every machine of the Berlin site, every tag, one per STEP_S seconds."""
    per_series = ROWS // (len(machines) * len(TAGS))
    series = pl.DataFrame(
        [(s, li, m, tag) for s, li, m in machines for tag in TAGS],
        schema=["site", "line", "machine", "tag"],
        orient="row",
    )
    steps = pl.DataFrame({"i": range(per_series)})
    frame = series.join(steps, how="cross").select(
        timestamp=(pl.lit(START) + pl.duration(seconds=pl.col("i") * STEP_S)).dt.strftime(
            "%Y-%m-%d %H:%M:%S"
        ),
        site="site",
        line="line",
        machine="machine",
        tag="tag",
        value=(pl.col("i") % 97).cast(pl.Float64) / 4,
        unit=pl.lit("u"),
        quality=pl.lit("good"),
    )
    frame.write_csv(path)


def main() -> None:
    """Runs in a scratch database on the OEE_DATABASE_URL server (or the embedded one)."""
    settings = Settings.from_env()
    with ExitStack() as stack:
        url = stack.enter_context(scratch_warehouse(settings, DATABASE))
        folder = Path(stack.enter_context(TemporaryDirectory()))
        path = folder / "sensor_log.csv"
        with open_pool(url) as pool:
            plant = load_plant_model(settings.plant_model)
            with pool.connection() as conn:
                upsert_hierarchy(conn, plant)
                conn.execute(_BASELINE_TABLE)
            berlin = [(s.id, li.id, m.id) for s, li, m in plant.machines() if s.id == "BER"]
            _write_csv(path, berlin)
            size = path.stat().st_size

            started = time.perf_counter()
            baseline_copy = "COPY raw.file_baseline FROM STDIN (FORMAT CSV, HEADER)"
            with pool.connection() as conn, conn.cursor().copy(baseline_copy) as copy:
                copy.write(path.read_bytes())
            baseline = time.perf_counter() - started

            # The data is a fixed past window: "now" is pinned just after it.
            plausibility = Plausibility(now=lambda: dt.datetime(2026, 11, 10, tzinfo=dt.UTC))
            started = time.perf_counter()
            report = import_file(pool, path.name, path.read_bytes(), plausibility=plausibility)
            seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "file_import",
                "unit": "s",
                "value": round(seconds, 3),
                "baseline": {
                    "name": "CSV COPY of the same file into a plain typed table",
                    "value": round(baseline, 3),
                },
                "ratio": round(seconds / baseline, 3),
                "params": {
                    "rows": report.rows_read,
                    "loaded": report.rows_loaded,
                    "written": report.rows_written,
                    "rejected": len(report.rejects),
                    "bytes": size,
                    "table": "curated.telemetry",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
