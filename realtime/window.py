"""Realtime ingest for a fixed window: the simulated plant publishes live to a broker while the
service ingests it, as `oee demo` runs it so that its OEE includes live data.

A demo run again continues the live machines from where the last window stopped (the service
resumes their trackers), and the history it writes ends where live data first began.

The service runs in a thread of its own (its own event loop) with the Sparkplug and plain MQTT
sources on MQTT 3.1.1 (the embedded amqtt broker speaks no v5), and stops with the same flush as
on SIGTERM. The simulated plant publishes each change when it happens, from its births at the
window's start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from pathlib import Path

import psycopg

from oee_pipelines.settings import Settings
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from oee_pipelines.warehouse.urls import libpq_url
from realtime.config import RealtimeConfig
from realtime.service import Service

_ROWS = "oee_realtime_rows_written"
SOURCES = ("sparkplug", "mqtt_json")
_EARLIEST_LIVE = """
    SELECT least(
        (SELECT min(start_ts) FROM curated.machine_state WHERE source = ANY(%(sources)s)),
        (SELECT min(start_ts) FROM curated.production_count WHERE source = ANY(%(sources)s)))
"""


def history_end(database_url: str, now: dt.datetime) -> dt.datetime:
    """Where a simulated history must end so that it never overlaps live data: at the minute
    where the live sources' states and counts begin (an earlier window's), else `now`'s (the
    history counts parts by whole minutes). The rollups add up every source, so one period of a
    machine must come from one of them."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(_EARLIEST_LIVE, {"sources": list(SOURCES)}).fetchone()
    end = min(now, row[0]) if row and row[0] else now
    return end.replace(second=0, microsecond=0)


def window_config(spool_dir: Path) -> RealtimeConfig:
    """Both MQTT sources of the simulated plant, no metrics endpoint, small fast batches."""
    return RealtimeConfig.model_validate(
        {
            "mqtt": {"client_id": "oee-demo", "protocol": 311},
            "batch": {"max_latency_s": 0.1},
            "spool": {"directory": str(spool_dir)},
            "metrics": {"port": None},
            "sources": {source: {} for source in SOURCES},
        }
    )


def ingest_live(
    settings: Settings, database_url: str, mqtt_url: str, seconds: float
) -> dict[str, int]:
    """Ingest what the simulated plant publishes during `seconds` into the (migrated) warehouse,
    whose plant hierarchy it writes first; returns the rows written per table. Raises
    RuntimeError when the service cannot connect or fails."""
    from oee_pipelines.plant_model import load_plant_model
    from simulator import SimulatedPlant
    from simulator.servers.mqtt import serve_mqtt

    model = load_plant_model(settings.plant_model)
    with psycopg.connect(libpq_url(database_url)) as conn:
        upsert_hierarchy(conn, model)  # rows of machines the warehouse does not know are refused

    config = window_config(settings.home / "realtime-spool" / "oee-demo")
    service = Service(config, settings, database_url, mqtt_url)
    loop = asyncio.new_event_loop()
    outcome: list[int] = []
    runner = threading.Thread(
        target=lambda: outcome.append(loop.run_until_complete(service.serve())),
        name="realtime-window",
    )
    runner.start()
    stop = threading.Event()
    try:
        _wait_connected(service, runner)
        plant = SimulatedPlant(model, settings.simulator_seed)
        publisher = threading.Thread(
            target=serve_mqtt, args=(plant, mqtt_url, stop), name="simulated-plant-mqtt"
        )
        publisher.start()
        stop.wait(seconds)
        stop.set()
        publisher.join()
    finally:
        stop.set()
        loop.call_soon_threadsafe(service.stopping.set)
        runner.join()
        loop.close()
    if outcome != [0]:
        raise RuntimeError("the realtime service failed during the window (see its log)")
    registry = service.metrics.registry
    return {
        table: int(registry.get_sample_value(f"{_ROWS}_total", {"table": table}) or 0)
        for table in ("telemetry", "machine_state", "production_count")
    }


def _wait_connected(service: Service, runner: threading.Thread, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not service.metrics.health()[0]:
        if not runner.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the realtime service did not connect to the broker")
        time.sleep(0.05)
