"""`oee realtime run` as the process an operator runs: SIGTERM flushes, `kill -9` loses nothing."""

from __future__ import annotations

import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from psycopg_pool import ConnectionPool
from sqlalchemy.engine import make_url

from tests.realtime.support import (
    Mosquitto,
    TcpProxy,
    free_port,
    publish_all,
    publisher,
    service_config,
    service_process,
    telemetry_rows,
    unique_prefix,
    wait_until,
)


def _config_file(directory: Path, prefix: str, **sections) -> tuple[Path, int]:
    port = free_port()
    config = service_config(prefix, directory / "spool", metrics={"port": port}, **sections)
    path = directory / "realtime.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path, port


@pytest.mark.slow
def test_sigterm_writes_what_was_received_and_exits_0(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    # one batch that would wait a minute: only the flush on SIGTERM writes it in time
    config_file, port = _config_file(
        tmp_path, prefix, batch={"max_values": 100_000, "max_latency_s": 60}
    )
    with service_process(config_file, database_url, port) as process, publisher() as client:
        publish_all(client, prefix, range(300))
        wait_until(lambda: _messages(port) == 300, what="300 messages received")
        assert telemetry_rows(database_url) == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert len(telemetry_rows(database_url)) == 300


def _messages(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("oee_realtime_messages_total"):
                return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
def test_kill_9_during_a_stream_then_restart_loses_and_duplicates_nothing(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    """Killed while it writes to the warehouse and while it spools: restarted, all is there once.

    The broker is sized to queue what is published while the service is away (a stock Mosquitto
    keeps 1000 messages per session and silently drops the rest).
    """
    broker = Mosquitto(tmp_path, "max_queued_messages 100000\n")
    broker.start()
    target = make_url(database_url)
    proxy = TcpProxy(target.host, target.port)
    proxy.start()
    proxied = target.set(port=proxy.port).render_as_string(hide_password=False)
    prefix = unique_prefix()
    config_file, port = _config_file(tmp_path, prefix)
    with publisher(broker.url) as client:
        with service_process(config_file, proxied, port, broker.url) as process:
            stream = threading.Thread(target=publish_all, args=(client, prefix, range(3000)))
            stream.start()
            wait_until(lambda: len(telemetry_rows(database_url)) >= 500, what="500 rows")
            proxy.stop()  # the warehouse goes away: the service spools
            wait_until(lambda: _spooled(port) > 0, what="spooled batches")
            process.kill()
            stream.join()
        assert len(telemetry_rows(database_url)) < 3000
        proxy.start()
        with service_process(config_file, proxied, port, broker.url):
            wait_until(lambda: len(telemetry_rows(database_url)) == 3000, 90, "3000 rows")
            wait_until(lambda: _spooled(port) == 0, what="the spool to drain")
    proxy.stop()
    broker.stop()
    rows = telemetry_rows(database_url)
    assert [value for _, value in rows] == [float(i) for i in range(3000)]


def _spooled(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        return yaml.safe_load(response.read())["spool_batches"]
