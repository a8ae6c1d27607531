"""End-to-end throughput of `oee realtime run`: publisher -> Mosquitto -> service -> PostgreSQL.

A publisher process sends QoS 0 messages (as Sparkplug DDATA travels) to a Mosquitto started for
the run and sized as the README says (a stock one drops messages for a subscriber more than 1000
behind); the service runs in this process with a small binary source (8-byte timestamp, then
one float64 per metric), writes through the shared warehouse writer into a scratch database, and
the benchmark counts both what was published and what was committed.

Baselines in the same run: a paho subscriber that does nothing with what it receives (raw broker
delivery), and a binary COPY of the same rows into a table with the columns and the primary key
index of curated.telemetry (the raw write limit).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from psycopg import sql

from oee_pipelines.plant_model import load_plant_model
from oee_pipelines.services import embedded_postgres
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import TelemetryRecord, upgrade
from oee_pipelines.warehouse.urls import with_database
from realtime.config import RealtimeConfig
from realtime.service import Service
from realtime.source import Decoded, Outgoing

DATABASE = "oee_benchmark_realtime"
TOPIC = "oee-bench"
MESSAGES_MULTI = 10_000
"""Messages of 10 metrics each: 100,000 values."""
MESSAGES_SINGLE = 20_000
LATENCY_SECONDS = 3.0
EPOCH = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
MOSQUITTO_SIZING = "max_queued_messages 1000000\nmax_inflight_messages 0\n"


class BinarySource:
    """`oee-bench/<run>/<machine>`: an int64 microsecond timestamp, then float64 metrics m0..mN."""

    name = "benchmark"

    def subscriptions(self) -> Sequence[str]:
        return [f"{TOPIC}/#"]

    def will(self) -> Outgoing | None:
        return None

    def on_connect(self) -> Sequence[Outgoing]:
        return []

    def decode(
        self, topic: str, payload: bytes, received_at: dt.datetime
    ) -> tuple[Decoded, Sequence[Outgoing]]:
        machine = topic.rsplit("/", 1)[1]
        (micros,) = struct.unpack_from("<q", payload)
        ts = EPOCH + dt.timedelta(microseconds=micros)
        values = struct.unpack_from(f"<{(len(payload) - 8) // 8}d", payload, 8)
        records = [TelemetryRecord(machine, f"m{i}", ts, v) for i, v in enumerate(values)]
        return Decoded(telemetry=records), []


def source_from_config(options: Mapping[str, Any], settings: Settings) -> BinarySource:
    return BinarySource()


def _publish(
    url: str, run: str, machines: list[str], messages: int, metrics: int, rate: float, ready, go
):
    """In a process of its own: `messages` round-robin over machines, at most `rate` per second.

    Each run has timestamps of its own (a repeated key would be an unchanged upsert); with a
    rate, the timestamp is the wall-clock time of publication, for the latency.
    """
    offset = {"raw": 0, "multi": 0, "single": 10**9}.get(run, 0)
    host, port = url.removeprefix("mqtt://").split(":")
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{run}")
    client.max_queued_messages_set(0)
    client.connect(host, int(port))
    client.loop_start()
    values = struct.pack(f"<{metrics}d", *(float(i) for i in range(metrics)))
    ready.set()
    go.wait()
    started = time.perf_counter()
    for n in range(messages):
        if rate:
            while time.perf_counter() < started + n / rate:
                time.sleep(0.0005)
            micros = int((time.time() - EPOCH.timestamp()) * 1e6)
        else:
            micros = offset + n
        machine = machines[n % len(machines)]
        client.publish(f"{TOPIC}/{run}/{machine}", struct.pack("<q", micros) + values, qos=0)
    client.disconnect()
    client.loop_stop()


def _publisher(url: str, run: str, machines, messages, metrics, rate=0.0):
    """A started publisher process, once connected (its start-up is not measured)."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    process = context.Process(
        target=_publish, args=(url, run, machines, messages, metrics, rate, ready, go)
    )
    process.start()
    if not ready.wait(timeout=120):
        raise RuntimeError(f"the {run} publisher did not connect")
    return process, go


def _raw_delivery(url: str, machines: list[str]) -> float:
    """Messages per second that a paho subscriber doing nothing receives (single metric)."""
    host, port = url.removeprefix("mqtt://").split(":")
    received = 0
    done = threading.Event()
    times: list[float] = []

    def on_message(client, userdata, message) -> None:
        nonlocal received
        received += 1
        if received == 1:
            times.append(time.perf_counter())
        if received == MESSAGES_SINGLE:
            times.append(time.perf_counter())
            done.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_message = on_message
    client.connect(host, int(port))
    client.subscribe(f"{TOPIC}/raw/#", qos=0)
    client.loop_start()
    time.sleep(0.5)
    publisher, go = _publisher(url, "raw", machines, MESSAGES_SINGLE, 1)
    go.set()
    publisher.join()
    done.wait(timeout=30)
    client.disconnect()
    client.loop_stop()
    return received / (times[1] - times[0]) if len(times) == 2 else 0.0


def _written(service: Service) -> float:
    registry = service.metrics.registry
    return registry.get_sample_value("oee_realtime_rows_written_total", {"table": "telemetry"}) or 0


def _ingest(service: Service, url: str, machines: list[str], run: str, messages: int, metrics: int):
    """Publish, then wait until the committed rows stop growing; (published, committed, s)."""
    before = _written(service)
    publisher, go = _publisher(url, run, machines, messages, metrics)
    started = time.perf_counter()
    go.set()
    target = messages * metrics
    last, last_change = before, time.perf_counter() + 30  # the first batch may take a while
    while time.perf_counter() - last_change < 3.0:
        now_written = _written(service)
        if now_written != last:
            last, last_change = now_written, time.perf_counter()
        if now_written - before >= target:
            break
        time.sleep(0.01)
    publisher.join()
    return target, int(last - before), last_change - started


def _latency(service: Service, database_url: str, url: str, machines: list[str], rate: float):
    """p50 and p99 from publication to commit, at `rate` messages per second (one metric)."""
    messages = int(rate * LATENCY_SECONDS)
    seen: list[float] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        newest = EPOCH
        publisher, go = _publisher(url, "latency", machines, messages, 1, rate)
        go.set()
        idle_since = time.perf_counter()
        while publisher.is_alive() or (
            len(seen) < messages and time.perf_counter() - idle_since < 3.0
        ):
            rows = conn.execute(
                "SELECT ts FROM curated.telemetry WHERE ts > %s AND ts > %s ORDER BY ts",
                (newest, EPOCH + dt.timedelta(days=1)),
            ).fetchall()
            observed = time.time()
            if rows:
                idle_since = time.perf_counter()
                newest = rows[-1][0]
                seen.extend(observed - ts.timestamp() for (ts,) in rows)
            time.sleep(0.005)
        publisher.join()
    seen.sort()
    if not seen:
        return None, None
    return seen[len(seen) // 2], seen[min(len(seen) - 1, int(len(seen) * 0.99))]


def _raw_copy(database_url: str, machines: list[str], rows: int) -> float:
    """Rows per second of a binary COPY into a table with telemetry's columns and indexes."""
    metrics = 10
    tuples = [
        (
            machines[(n // metrics) % len(machines)],
            f"m{n % metrics}",
            EPOCH + dt.timedelta(microseconds=n // metrics),
            "S",
            "L",
            float(n % metrics),
            "bench",
        )
        for n in range(rows)
    ]
    columns = ("machine_id", "tag", "ts", "site_id", "line_id", "value", "source")
    types = ("text", "text", "timestamptz", "text", "text", "float8", "text")
    with psycopg.connect(database_url) as conn:
        conn.execute("DROP TABLE IF EXISTS raw.copy_baseline")
        conn.execute("CREATE TABLE raw.copy_baseline (LIKE curated.telemetry INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        for offset in range(0, rows, 20_000):
            with (
                conn.transaction(),
                conn.cursor().copy(
                    sql.SQL("COPY raw.copy_baseline ({}) FROM STDIN (FORMAT BINARY)").format(
                        sql.SQL(", ").join(map(sql.Identifier, columns))
                    )
                ) as copy,
            ):
                copy.set_types(types)
                for row in tuples[offset : offset + 20_000]:
                    copy.write_row(row)
        return rows / (time.perf_counter() - started)


@contextmanager
def _mosquitto(directory: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{MOSQUITTO_SIZING}")
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([mosquitto, "-c", str(config)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


@contextmanager
def _service(config: RealtimeConfig, database_url: str, mqtt_url: str) -> Iterator[Service]:
    service = Service(config, Settings.from_env(), database_url, mqtt_url)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(service.serve(),))
    thread.start()
    while not service.metrics.health()[0]:
        time.sleep(0.05)
    try:
        yield service
    finally:
        loop.call_soon_threadsafe(service.stopping.set)
        thread.join()


def _progress(phase: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {phase}", file=sys.stderr, flush=True)


def main() -> None:
    """Runs in a scratch database on the OEE_DATABASE_URL server (or the embedded one)."""
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
        plant = load_plant_model(settings.plant_model)
        machines = [m.id for _, _, m in plant.machines()]
        from oee_pipelines.warehouse.hierarchy import upsert_hierarchy

        with psycopg.connect(url) as conn:
            upsert_hierarchy(conn, plant)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        mqtt_url = stack.enter_context(_mosquitto(scratch))

        _progress("raw broker delivery")
        broker_raw = _raw_delivery(mqtt_url, machines)
        config = RealtimeConfig.model_validate(
            {
                "mqtt": {"client_id": "bench"},
                "spool": {"directory": str(scratch / "spool")},
                "metrics": {"port": None},
                "limits": {"rate": {"messages_per_s": 1e6, "burst": 1_000_000}},
                "sources": {"bench": {"factory": "benchmarks.realtime_ingest:source_from_config"}},
            }
        )
        with _service(config, url, mqtt_url) as service:
            _progress("ingest: 10 metrics a message")
            multi = _ingest(service, mqtt_url, machines, "multi", MESSAGES_MULTI, 10)
            _progress("ingest: 1 metric a message")
            single = _ingest(service, mqtt_url, machines, "single", MESSAGES_SINGLE, 1)
            values_per_s = multi[1] / multi[2]
            messages_per_s = single[1] / single[2]
            _progress("latency at half the single-metric rate")
            p50, p99 = _latency(service, url, mqtt_url, machines, messages_per_s / 2)
        _progress("raw binary COPY")
        copy_rows_per_s = _raw_copy(url, machines, MESSAGES_MULTI * 10)
    print(
        json.dumps(
            {
                "benchmark": "realtime_ingest",
                "unit": "values/s",
                "value": round(values_per_s),
                "baseline": {"name": "raw binary COPY", "value": round(copy_rows_per_s)},
                "ratio": round(values_per_s / copy_rows_per_s, 3),
                "messages_per_s_single_metric": round(messages_per_s),
                "broker_raw_messages_per_s": round(broker_raw),
                "p50_latency_s": None if p50 is None else round(p50, 3),
                "p99_latency_s": None if p99 is None else round(p99, 3),
                "params": {
                    "source": "binary test source (not Sparkplug), QoS 0",
                    "published_values_multi": multi[0],
                    "committed_values_multi": multi[1],
                    "published_messages_single": single[0],
                    "committed_messages_single": single[1],
                    "latency_rate_messages_per_s": round(messages_per_s / 2),
                    "batch_max_values": config.batch.max_values,
                    "batch_max_latency_s": config.batch.max_latency_s,
                    "broker": "mosquitto " + MOSQUITTO_SIZING.replace("\n", "; ").strip("; "),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
