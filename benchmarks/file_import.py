"""A 1,000,000-row sensor_log CSV imported end to end, against a raw COPY of the same file.

The import reads the file (polars), validates every cell (column expressions: numbers, local
times of the site's timezone, references, duplicates), checks plausibility and writes the rows
into curated.telemetry with one COPY per UTC day, recording import_file and sync_log rows. The
baseline is PostgreSQL's own CSV COPY of the same file into a plain table with the file's
columns (typed, no key), on the same server in the same run.

`--breakdown` also prints, for both, the CPU seconds of this process and of the database
server's backends, and logs the import's phases (oee_pipelines.imports and
oee_pipelines.warehouse.columnar at debug level) to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TypeVar

import polars as pl
import psutil
from psycopg_pool import ConnectionPool

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
T = TypeVar("T")
START = dt.datetime(2026, 11, 2)
"""Local time of the Berlin site (no DST change in the window)."""
_BASELINE_TABLE = """
CREATE TABLE raw.file_baseline (
    "timestamp" timestamp, site text, line text, machine text, tag text,
    value double precision, unit text, quality text
)
"""


def _write_csv(path: Path, machines: list[tuple[str, str, str]], rows: int) -> None:
    """`rows` readings: every machine of the Berlin site, every tag, one per STEP_S seconds."""
    per_series = rows // (len(machines) * len(TAGS))
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


@contextmanager
def _cpu(pool: ConnectionPool, figures: dict[str, float]) -> Iterator[None]:
    """CPU seconds the block costs this process (every thread) and the server's backends of
    this database (a backend that exits meanwhile is not counted; none does here)."""

    def backends() -> dict[int, float]:
        with pool.connection() as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchall()
        seconds = {}
        for (pid,) in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:  # gone, or the server runs elsewhere
                continue
            seconds[pid] = times.user + times.system
        return seconds

    def client() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    server_before, client_before = backends(), client()
    yield
    client_after, server_after = client(), backends()
    figures["client_cpu_s"] = round(client_after - client_before, 3)
    figures["server_cpu_s"] = round(
        sum(after - server_before.get(pid, 0.0) for pid, after in server_after.items()), 3
    )


def _timed(
    pool: ConnectionPool, breakdown: bool, run: Callable[[], T]
) -> tuple[T, float, dict[str, float]]:
    """What `run` returns, its wall seconds, and with --breakdown its CPU figures."""
    figures: dict[str, float] = {}
    with _cpu(pool, figures) if breakdown else ExitStack():
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
    return result, seconds, figures


def main() -> None:
    """Runs in a scratch database on the OEE_DATABASE_URL server (or the embedded one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"Rows (default {ROWS:,}).")
    parser.add_argument(
        "--breakdown", action="store_true", help="Print CPU figures and log the phases."
    )
    arguments = parser.parse_args()
    if arguments.breakdown:
        logging.basicConfig(stream=sys.stderr, format="%(relativeCreated)8.0f ms %(message)s")
        for name in ("oee_pipelines.imports", "oee_pipelines.warehouse.columnar"):
            logging.getLogger(name).setLevel(logging.DEBUG)
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
            _write_csv(path, berlin, arguments.rows)
            size = path.stat().st_size

            def copy() -> None:
                baseline_copy = "COPY raw.file_baseline FROM STDIN (FORMAT CSV, HEADER)"
                with pool.connection() as conn, conn.cursor().copy(baseline_copy) as copy:
                    copy.write(path.read_bytes())

            _, baseline, baseline_cpu = _timed(pool, arguments.breakdown, copy)

            # The data is a fixed past window: "now" is pinned just after it.
            plausibility = Plausibility(now=lambda: dt.datetime(2026, 11, 10, tzinfo=dt.UTC))
            report, seconds, import_cpu = _timed(
                pool,
                arguments.breakdown,
                lambda: import_file(pool, path.name, path.read_bytes(), plausibility=plausibility),
            )
    print(
        json.dumps(
            {
                "benchmark": "file_import",
                "unit": "s",
                "value": round(seconds, 3),
                "baseline": {
                    "name": "CSV COPY of the same file into a plain typed table",
                    "value": round(baseline, 3),
                    **baseline_cpu,
                },
                "ratio": round(seconds / baseline, 3),
                "params": {
                    "rows": report.rows_read,
                    "loaded": report.rows_loaded,
                    "written": report.rows_written,
                    "rejected": len(report.rejects),
                    "bytes": size,
                    "table": "curated.telemetry",
                    **import_cpu,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
