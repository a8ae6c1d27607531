"""What the realtime tests share: a small JSON source, brokers of their own, a TCP proxy.

The source speaks a protocol of the tests' own, so that the service is tested without the
Sparkplug and JSON sources: topic `<prefix>/<machine>/<tag>`, payload `{"ts": ISO, "value": x}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg

from oee_pipelines.settings import PROJECT_DIR, Settings
from oee_pipelines.warehouse import DeadLetter, TelemetryRecord
from oee_pipelines.warehouse.records import telemetry_record
from realtime.config import RealtimeConfig
from realtime.service import Service
from realtime.source import Decoded, Outgoing

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SHARED_BROKER = "mqtt://127.0.0.1:1883"
START = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)


class JsonTestSource:
    """`<prefix>/<machine>/<tag>` with `{"ts": ..., "value": ...}`; anything else: a dead letter."""

    def __init__(self, prefix: str, name: str = "test_json") -> None:
        self.name = name
        self.prefix = prefix

    def subscriptions(self) -> Sequence[str]:
        return [f"{self.prefix}/#"]

    def will(self) -> Outgoing | None:
        return None

    def on_connect(self) -> Sequence[Outgoing]:
        return []

    def decode(
        self, topic: str, payload: bytes, received_at: dt.datetime
    ) -> tuple[Decoded, Sequence[Outgoing]]:
        try:
            machine, tag = topic.removeprefix(self.prefix + "/").split("/")
            body = json.loads(payload)
            ts = dt.datetime.fromisoformat(body["ts"])
            record = TelemetryRecord(machine, tag, ts, float(body["value"]))
        except (ValueError, KeyError, TypeError) as exc:
            letter = DeadLetter(self.name, "telemetry", str(exc), payload, {"topic": topic})
            return Decoded(dead_letters=[letter]), []
        return Decoded(telemetry=[record]), []


def telemetry_of(decoded: Decoded) -> list[TelemetryRecord]:
    """A decoded message's telemetry as records (sources hand most of it over as tuples)."""
    return [telemetry_record(row) for row in decoded.telemetry]


def json_test_source(options: Mapping[str, Any], settings: Settings) -> JsonTestSource:
    """The factory the configuration names: `tests.realtime.support:json_test_source`."""
    return JsonTestSource(options["prefix"])


def service_config(prefix: str, spool_dir: Path, **sections: Any) -> RealtimeConfig:
    """A configuration with the test source on `prefix`, fast batches, and no metrics port."""
    raw: dict[str, Any] = {
        "mqtt": {
            "client_id": f"test-{uuid.uuid4().hex[:8]}",
            "reconnect_max_s": 1,
            "session_expiry_s": 60,
        },
        "batch": {"max_values": 200, "max_latency_s": 0.05},
        "spool": {"directory": str(spool_dir), "retry_min_s": 0.1, "retry_max_s": 0.5},
        "metrics": {"port": None},
        "sources": {
            "test": {"factory": "tests.realtime.support:json_test_source", "prefix": prefix}
        },
    }
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return RealtimeConfig.model_validate(raw)


def unique_prefix() -> str:
    return f"oee-test/{uuid.uuid4().hex[:10]}"


def message(index: int, value: float | None = None) -> bytes:
    """Reading number `index`: one second after the previous one."""
    ts = START + dt.timedelta(seconds=index)
    return json.dumps({"ts": ts.isoformat(), "value": float(index if value is None else value)})


@contextmanager
def running_service(
    config: RealtimeConfig, database_url: str, mqtt_url: str = SHARED_BROKER
) -> Iterator[Service]:
    """The service in a thread of this process, connected, until the end."""
    service = Service(config, Settings.from_env(), database_url, mqtt_url)
    with serving_in_thread(service):
        wait_until(lambda: service.metrics.health()[0], what="the sources to connect")
        yield service


@contextmanager
def serving_in_thread(service: Service) -> Iterator[Service]:
    """`service` serving in a thread of this process (its own event loop) until the block ends;
    asked to stop then, it must stop cleanly within 60 s."""
    loop = asyncio.new_event_loop()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(loop.run_until_complete(service.serve()))
    )
    thread.start()
    try:
        yield service
    finally:
        loop.call_soon_threadsafe(service.stopping.set)
        thread.join(timeout=60)
        if not thread.is_alive():
            loop.run_until_complete(asyncio.sleep(0.1))  # closed transports release their sockets
            loop.close()
    assert not thread.is_alive(), "the service did not stop within 60 s of being asked"
    assert result == [0]


@contextmanager
def publisher(mqtt_url: str = SHARED_BROKER, **tls: Any) -> Iterator[paho.Client]:
    """A connected paho client; `publish(...).wait_for_publish()` waits for the broker's PUBACK."""
    host, port = _host_port(mqtt_url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    if tls:
        client.tls_set(**tls)
    client.connect(host, port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish_all(client: paho.Client, prefix: str, indexes: range, machine: str = "M1") -> None:
    infos = [client.publish(f"{prefix}/{machine}/speed", message(i), qos=1) for i in indexes]
    for info in infos:
        info.wait_for_publish(timeout=30)


def telemetry_rows(database_url: str, tag: str = "speed") -> list[tuple[dt.datetime, float]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT ts, value FROM curated.telemetry WHERE tag = %s ORDER BY ts", (tag,)
        ).fetchall()


def dead_letters(database_url: str) -> list[tuple[str, str, bytes, dict]]:
    """(source, reason, payload, context) of each dead letter, in arrival order."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT source, reason, payload, context FROM raw.dead_letter ORDER BY dead_letter_id"
        ).fetchall()


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll until `condition()` is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout  # clock-ok: a test's patience, not an assertion
    while not condition():
        if time.monotonic() > deadline:  # clock-ok
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _host_port(url: str) -> tuple[str, int]:
    host, _, port = url.split("://", 1)[1].rpartition(":")
    return host, int(port)


class Mosquitto:
    """A Mosquitto of the test's own on a free port, persistent, that the test may restart."""

    def __init__(self, directory: Path, extra: str = "") -> None:
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"user {getpass.getuser()}\n"  # as root: keep root, to write here and read the keys
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            f"{extra}"
        )
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.directory / "mosquitto.log").open("a") as log:
            self._process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=log
            )
        wait_until(self._listening, 10, "mosquitto to listen")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0


class TcpProxy:
    """Forwards a local port to a server; `stop` cuts every connection, as a network outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                # a socket closed while a thread waits in accept() keeps listening: shut it down
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile: no connection survives
                    client.close()
                    server.close()
                    return
                self._connections += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextmanager
def service_process(
    config_file: Path, database_url: str, port: int, mqtt_url: str = SHARED_BROKER
) -> Iterator[subprocess.Popen]:
    """`oee realtime run --config FILE`, once its source is connected and subscribed."""
    env = {**os.environ, "OEE_DATABASE_URL": database_url, "OEE_MQTT_URL": mqtt_url}
    with (config_file.parent / "service.log").open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oee_pipelines.cli", "realtime", "run", "--config", config_file],
            cwd=PROJECT_DIR,
            env=env,
            stderr=log,
        )
    try:
        wait_until(lambda: _healthy(port) or process.poll() is not None, 60, "the service")
        assert process.poll() is None, (config_file.parent / "service.log").read_text()
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False
