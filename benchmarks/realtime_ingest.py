"""End-to-end throughput of `oee realtime run`: Sparkplug B DDATA -> Mosquitto -> PostgreSQL.

An edge node (a publisher process) births one device per machine of the plant model (NBIRTH,
then DBIRTHs declaring metrics m0..m9 with aliases), then sends DDATA by alias at QoS 0, as
Sparkplug data travels, serialized in advance and written straight onto its socket (a paho
publisher would be the slowest part), through a Mosquitto started for the run and sized as the
README says (a stock one drops messages for a subscriber more than 1000 behind). The service
runs in this process with its real Sparkplug source, writes through the shared warehouse writer
into a scratch database, and the benchmark counts both the values published and the rows
committed.

Baselines in the same run: a paho subscriber that does nothing with what it receives (raw broker
delivery), and a binary COPY of the same rows into a table with the columns and indexes of
curated.telemetry (the raw write limit).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from psycopg import sql

from benchmarks import scratch_warehouse
from oee_pipelines.connectors.sparkplug import DataType, Payload, encode_metric
from oee_pipelines.plant_model import PlantModel, load_plant_model
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from realtime.config import RealtimeConfig
from realtime.service import Service, collect_garbage_rarely
from realtime.sparkplug import SparkplugConfig, SparkplugSource

DATABASE = "oee_benchmark_realtime"
GROUP = "BENCH"
EDGE_NODE = "NODE"
METRICS = 10
MESSAGES_MULTI = 20_000
"""Messages of 10 metrics each: 200,000 values."""
MESSAGES_SINGLE = 40_000
LATENCY_SECONDS = 5.0
MOSQUITTO_SIZING = "max_queued_messages 1000000\nmax_inflight_messages 0\n"
RUN_OFFSETS_MS = {"raw": 0, "multi": 10**7, "single": 2 * 10**7, "latency": 3 * 10**7}
"""Each run's data lies in a window of its own (a repeated key would be an unchanged upsert)."""


def bench_plant(plant: PlantModel) -> PlantModel:
    """The plant with each machine a device of one edge node, its metric m0 mapped (m1..m9 are
    telemetry of the same machine under their own names)."""
    raw = plant.model_dump(mode="json")
    for site in raw["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                address = f"spBv1.0/{GROUP}/DDATA/{EDGE_NODE}/{machine['id']}:m0"
                machine["tag_map"] = {"mqtt": {"m0": {"address": address}}}
    return PlantModel.model_validate(raw)


def sparkplug_source(options: Mapping[str, Any], settings: Settings) -> SparkplugSource:
    """The factory the benchmark's configuration names: the Sparkplug source on the bench plant."""
    plant = bench_plant(load_plant_model(settings.plant_model))
    return SparkplugSource(plant, SparkplugConfig.model_validate(options))


def _packet(first_byte: int, body: bytes) -> bytes:
    """An MQTT packet: its first byte, the body's length as a variable byte integer, the body."""
    length, remaining = bytearray(), len(body)
    while True:
        byte, remaining = remaining & 0x7F, remaining >> 7
        length.append(byte | (0x80 if remaining else 0))
        if not remaining:
            return bytes([first_byte]) + bytes(length) + body


def _text(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(2, "big") + data


class _RawPublisher:
    """MQTT 3.1.1 QoS 0 publishing straight onto a socket, messages serialized in advance: a
    publisher cheap enough that the broker and the subscriber set the pace, not it."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self._sock = socket.create_connection((host, port))
        connect = _text("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _text(client_id)
        self._sock.sendall(_packet(0x10, connect))
        connack = self._sock.recv(4)
        if connack[:2] != b"\x20\x02" or connack[3:4] != b"\x00":
            raise RuntimeError(f"the broker refused the benchmark publisher: {connack!r}")

    @staticmethod
    def publish_packet(topic: str, payload: bytes) -> bytes:
        return _packet(0x30, _text(topic) + payload)

    def send(self, packets: bytes) -> None:
        self._sock.sendall(packets)

    def close(self) -> None:
        self._sock.sendall(b"\xe0\x00")  # DISCONNECT
        self._sock.close()


def _publish(url, run, machines, messages, metrics, rate, epoch_ms, ready, go):
    """In a process of its own: births, then `messages` DDATA round-robin over the devices, at
    most `rate` per second. Message n is stamped epoch + run offset + n ms (unique keys); with a
    rate, metric m0 carries the wall-clock time of publication, for the latency. Without one,
    every message is serialized before the start and sent in large writes."""
    base_ms = epoch_ms + RUN_OFFSETS_MS[run]
    host, port = url.removeprefix("mqtt://").split(":")
    client = _RawPublisher(host, int(port), f"bench-pub-{run}")
    seq = 0

    def packet(topic: str, payload: Payload) -> bytes:
        nonlocal seq
        payload.seq = seq
        seq = (seq + 1) % 256
        return client.publish_packet(topic, payload.SerializeToString())

    node = f"spBv1.0/{GROUP}/{{}}/{EDGE_NODE}"
    bd_seq = encode_metric(DataType.UInt64, RUN_OFFSETS_MS[run] // 10**7, name="bdSeq")
    births = [packet(node.format("NBIRTH"), Payload(timestamp=base_ms - 1000, metrics=[bd_seq]))]
    for machine in machines:
        born = [
            encode_metric(DataType.Double, 0.0, name=f"m{i}", alias=i + 1) for i in range(METRICS)
        ]
        births.append(
            packet(
                f"{node.format('DBIRTH')}/{machine}",
                Payload(timestamp=base_ms - 1000, metrics=born),
            )
        )
    client.send(b"".join(births))
    data = Payload(
        metrics=[encode_metric(DataType.Double, float(i), alias=i + 1) for i in range(metrics)]
    )
    topics = [f"{node.format('DDATA')}/{machine}" for machine in machines]
    prepared: list[bytes] = []
    if not rate:
        for n in range(messages):
            data.timestamp = base_ms + n
            prepared.append(packet(topics[n % len(topics)], data))
    ready.set()
    go.wait()
    started = time.perf_counter()
    if rate:
        for n in range(messages):
            while time.perf_counter() < started + n / rate:
                time.sleep(0.0005)
            data.metrics[0].double_value = time.time()
            data.timestamp = base_ms + n
            client.send(packet(topics[n % len(topics)], data))
    for offset in range(0, len(prepared), 1000):
        client.send(b"".join(prepared[offset : offset + 1000]))
    client.close()


def _publisher(url, run, machines, messages, metrics, epoch_ms, rate=0.0):
    """A started publisher process, once connected and born (its start-up is not measured)."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    process = context.Process(
        target=_publish,
        args=(url, run, machines, messages, metrics, rate, epoch_ms, ready, go),
    )
    process.start()
    if not ready.wait(timeout=120):
        raise RuntimeError(f"the {run} publisher did not connect")
    return process, go


def _raw_delivery(url: str, machines: list[str], epoch_ms: int) -> float:
    """Messages per second that a paho subscriber doing nothing receives (one metric each)."""
    host, port = url.removeprefix("mqtt://").split(":")
    received = 0
    done = threading.Event()
    times: list[float] = []
    expected = MESSAGES_SINGLE + 1 + len(machines)  # with the births

    def on_message(client, userdata, message) -> None:
        nonlocal received
        received += 1
        if received == 1 + len(machines):
            times.append(time.perf_counter())
        if received == expected:
            times.append(time.perf_counter())
            done.set()

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_message = on_message
    client.connect(host, int(port))
    client.subscribe(f"spBv1.0/{GROUP}/#", qos=0)
    client.loop_start()
    time.sleep(0.5)
    publisher, go = _publisher(url, "raw", machines, MESSAGES_SINGLE, 1, epoch_ms)
    time.sleep(0.5)
    go.set()
    publisher.join()
    done.wait(timeout=30)
    client.disconnect()
    client.loop_stop()
    return MESSAGES_SINGLE / (times[1] - times[0]) if len(times) == 2 else 0.0


def _written(service: Service) -> float:
    registry = service.metrics.registry
    return registry.get_sample_value("oee_realtime_rows_written_total", {"table": "telemetry"}) or 0


def _committed(database_url: str, run: str, epoch_ms: int, messages: int) -> int:
    """Rows of the run's DDATA in curated.telemetry (the births are stamped before them)."""
    start = dt.datetime.fromtimestamp((epoch_ms + RUN_OFFSETS_MS[run]) / 1000, dt.UTC)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM curated.telemetry WHERE source = 'sparkplug'"
            " AND ts >= %s AND ts < %s",
            (start, start + dt.timedelta(milliseconds=messages)),
        ).fetchone()
    return row[0] if row else 0


def _ingest(service, database_url, url, machines, run, messages, metrics, epoch_ms):
    """Publish, wait until the committed rows stop growing; (published, committed, seconds, and
    the CPU seconds of this process: the service, on a machine too busy for wall-clock rates)."""
    births = len(machines) * METRICS
    before = _written(service)
    publisher, go = _publisher(url, run, machines, messages, metrics, epoch_ms)
    deadline = time.perf_counter() + 30
    while _written(service) < before + births and time.perf_counter() < deadline:
        time.sleep(0.01)
    before = _written(service)
    started, cpu_started = time.perf_counter(), time.process_time()
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
    cpu = time.process_time() - cpu_started
    publisher.join()
    committed = _committed(database_url, run, epoch_ms, messages)
    return target, committed, last_change - started, cpu


def _latency(service, database_url, url, machines, rate, epoch_ms):
    """p50 and p99 from publication to commit at `rate` messages per second (one metric each):
    the rows are polled every 10 ms, and m0 holds the time of publication."""
    messages = int(rate * LATENCY_SECONDS)
    start = dt.datetime.fromtimestamp((epoch_ms + RUN_OFFSETS_MS["latency"]) / 1000, dt.UTC)
    seen: list[float] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        newest = start - dt.timedelta(milliseconds=1)
        publisher, go = _publisher(url, "latency", machines, messages, 1, epoch_ms, rate)
        time.sleep(1.0)  # the births are committed
        go.set()
        idle_since = time.perf_counter()
        while publisher.is_alive() or (
            len(seen) < messages and time.perf_counter() - idle_since < 3.0
        ):
            rows = conn.execute(
                "SELECT ts, value FROM curated.telemetry WHERE tag = 'm0' AND ts > %s"
                " AND ts < %s ORDER BY ts",
                (newest, start + dt.timedelta(milliseconds=messages)),
            ).fetchall()
            observed = time.time()
            if rows:
                idle_since = time.perf_counter()
                newest = rows[-1][0]
                seen.extend(observed - value for _, value in rows)
            time.sleep(0.01)
        publisher.join()
    seen.sort()
    if not seen:
        return None, None
    return seen[len(seen) // 2], seen[min(len(seen) - 1, int(len(seen) * 0.99))]


def _raw_copy(database_url: str, machines: list[str], rows: int, epoch_ms: int) -> float:
    """Rows per second of a binary COPY into a table with telemetry's columns and indexes."""
    epoch = dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)
    tuples = [
        (
            machines[(n // METRICS) % len(machines)],
            f"m{n % METRICS}",
            epoch + dt.timedelta(milliseconds=n // METRICS),
            "S",
            "L",
            float(n % METRICS),
            "good",
            "sparkplug",
        )
        for n in range(rows)
    ]
    columns = ("machine_id", "tag", "ts", "site_id", "line_id", "value", "quality", "source")
    types = ("text", "text", "timestamptz", "text", "text", "float8", "text", "text")
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
        url = stack.enter_context(scratch_warehouse(settings, DATABASE))
        plant = load_plant_model(settings.plant_model)
        machines = [m.id for _, _, m in plant.machines()]
        with psycopg.connect(url) as conn:
            upsert_hierarchy(conn, plant)
        # the data of every run lies in the past day (timestamps must not be in the future)
        epoch_ms = (int(time.time()) // 3600 - 24) * 3600 * 1000
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        mqtt_url = stack.enter_context(_mosquitto(scratch))

        _progress("raw broker delivery")
        broker_raw = _raw_delivery(mqtt_url, machines, epoch_ms)
        config = RealtimeConfig.model_validate(
            {
                "mqtt": {"client_id": "bench"},
                "spool": {"directory": str(scratch / "spool")},
                "metrics": {"port": None},
                "limits": {"rate": {"messages_per_s": 1e6, "burst": 1_000_000}},
                "sources": {
                    "sparkplug": {
                        "factory": "benchmarks.realtime_ingest:sparkplug_source",
                        "group_ids": [GROUP],
                    }
                },
            }
        )
        collect_garbage_rarely()  # as `oee realtime run` does
        with _service(config, url, mqtt_url) as service:
            _progress("ingest: 10 metrics a message")
            multi = _ingest(service, url, mqtt_url, machines, "multi", MESSAGES_MULTI, 10, epoch_ms)
            _progress("ingest: 1 metric a message")
            single = _ingest(
                service, url, mqtt_url, machines, "single", MESSAGES_SINGLE, 1, epoch_ms
            )
            values_per_s = multi[1] / multi[2]
            messages_per_s = single[1] / single[2]
            _progress("latency at half the sustained single-metric rate")
            p50, p99 = _latency(service, url, mqtt_url, machines, messages_per_s / 2, epoch_ms)
        _progress("raw binary COPY")
        copy_rows_per_s = _raw_copy(url, machines, MESSAGES_MULTI * METRICS, epoch_ms)
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
                    "source": "Sparkplug B DDATA by alias, QoS 0, one edge node, a device per"
                    f" machine ({len(machines)})",
                    "published_values_multi": multi[0],
                    "committed_values_multi": multi[1],
                    "published_messages_single": single[0],
                    "committed_messages_single": single[1],
                    "service_cpu_us_per_value_multi": round(multi[3] / multi[1] * 1e6, 2),
                    "service_cpu_us_per_message_single": round(single[3] / single[1] * 1e6, 2),
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
