"""Throughput of a PI history backfill against the raw rate of fetching and parsing the same
responses.

200 telemetry tags at 1-second resolution (20 on each machine of the plant model) are served by
the simulated PI Web API in a process of its own. The baseline reads the window with the PI
client (HTTP, JSON, timestamps and qualities into columns, page after page) and keeps nothing;
the backfill reads the same window as the asset does (`assets.historians`: the next page read
while one is written) and maps, replaces and writes it into a scratch database
`oee_benchmark_historian` on the OEE_DATABASE_URL server (or the embedded one). The asset
replaces each UTC day of a backfill in a transaction of its own, each in its own day partition;
by default one whole day (the issue's "about a minute": 17.3 million values), 86,400 values per
tag, read in pages of `--max-count` (default 10,000, the client's); the baseline reads the same
calls and pages. `--window-minutes 60 --minutes 240` scales each day down to its first hour:
four days, one hour each, 3,600 values per tag, so no stream pages.

    python -m benchmarks.historian_backfill [--minutes 1440] [--window-minutes 1440] [--max-count N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import time
from contextlib import ExitStack
from multiprocessing.connection import Connection

from assets.historians import ReadAhead, replace_window
from benchmarks import scratch_warehouse
from oee_pipelines.connectors.historian import HistorianConfig
from oee_pipelines.connectors.pi import DEFAULT_MAX_COUNT, PiWebApi
from oee_pipelines.plant_model import PlantModel, TagMapping, load_plant_model
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import open_pool
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from oee_pipelines.warehouse.records import Plausibility
from oee_pipelines.warehouse.window import WindowWriter
from simulator import SimulatedPlant
from simulator.servers.historian import RecordedHistory, historian_tags
from simulator.servers.pi import SimulatedPiWebApi

DATABASE = "oee_benchmark_historian"
TAGS_PER_MACHINE = 20
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def _config(plant: PlantModel) -> HistorianConfig:
    return HistorianConfig(
        quality={"good": "good", "questionable": "uncertain", "substituted": "uncertain"},
        machines={
            machine.id: {
                f"sensor_{k:02d}": TagMapping(address=f"{machine.id}.Sensor{k:02d}", unit="u")
                for k in range(TAGS_PER_MACHINE)
            }
            for _, _, machine in plant.machines()
        },
    )


def _serve(plant: PlantModel, config: HistorianConfig, seed: int, pipe: Connection) -> None:
    history = RecordedHistory(
        SimulatedPlant(plant, seed), historian_tags(config.machines), dt.timedelta(seconds=1)
    )
    server = SimulatedPiWebApi(history).serve().start()
    pipe.send(server.url)
    pipe.recv()  # until told to stop
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=int, default=1440, help="History to read (default 1440, one day)."
    )
    parser.add_argument(
        "--window-minutes",
        type=int,
        default=1440,
        help="Minutes read of each day, from its start (default 1440, the whole day).",
    )
    parser.add_argument(
        "--max-count",
        type=int,
        default=DEFAULT_MAX_COUNT,
        help=f"Values per stream and call (default {DEFAULT_MAX_COUNT}).",
    )
    arguments = parser.parse_args()
    minutes, window = arguments.minutes, arguments.window_minutes
    if not 1 <= window <= 24 * 60:
        parser.error("--window-minutes must be 1..1440")
    settings = Settings.from_env()
    plant = load_plant_model(settings.plant_model)
    config = _config(plant)
    tags = list(config.bindings())
    windows = [
        (START + k * DAY, START + k * DAY + min(window, minutes - window * k) * MINUTE)
        for k in range(-(-minutes // window))
    ]
    with ExitStack() as stack:
        url = stack.enter_context(scratch_warehouse(settings, DATABASE))
        spawn = multiprocessing.get_context("spawn")  # no fork of this process's threads
        ours, theirs = spawn.Pipe()
        process = spawn.Process(
            target=_serve, args=(plant, config, settings.simulator_seed, theirs), daemon=True
        )
        process.start()
        stack.callback(process.join)
        stack.callback(ours.send, "stop")
        client = stack.enter_context(
            PiWebApi(f"{ours.recv()}/piwebapi", "PISRV01", max_count=arguments.max_count)
        )
        pool = stack.enter_context(open_pool(url))
        with pool.connection() as conn:
            upsert_hierarchy(conn, plant)
        writer = WindowWriter(pool)
        client.web_ids(tags)
        plausible = Plausibility().window()

        started, cpu, values = time.perf_counter(), time.process_time(), 0
        for start, end in windows:
            values += sum(map(len, client.pages(tags, start, end)))
        baseline_s = time.perf_counter() - started
        baseline_cpu = time.process_time() - cpu

        started, cpu, written = time.perf_counter(), time.process_time(), 0
        with ReadAhead(client.pages, tags, windows, client.tags_per_request) as pages:
            for start, end in windows:
                replaced = replace_window(
                    writer, "pi", config, pages.window(), start, end, plausible
                )
                written += replaced.results["telemetry"].written
        backfill_s = time.perf_counter() - started
        backfill_cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "benchmark": "historian_backfill",
                "unit": "values/s",
                "value": round(written / backfill_s),
                "baseline": {"name": "raw fetch and parse", "value": round(values / baseline_s)},
                "ratio": round((written / backfill_s) / (values / baseline_s), 3),
                "params": {
                    "tags": len(tags),
                    "resolution_s": 1,
                    "minutes": minutes,
                    "window_minutes": window,
                    "max_count": arguments.max_count,
                    "days": len(windows),
                    "values": values,
                    "written": written,
                },
                "cpu_us_per_value": {  # this process's, all threads: the figure on a busy machine
                    "baseline": round(baseline_cpu / values * 1e6, 2),
                    "backfill": round(backfill_cpu / written * 1e6, 2),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
