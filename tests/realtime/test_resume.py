"""A restart continues the Sparkplug host's state and counter trackers from the warehouse: killed
(`kill -9`) in the middle of the simulated plant's stream and restarted, the service has counted
every part of the simulator's ground truth exactly once, and the machine has one open state."""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
import yaml

from oee_pipelines.plant_model import PlantModel
from oee_pipelines.warehouse.hierarchy import upsert_hierarchy
from realtime.config import RealtimeConfig
from simulator import SimulatedPlant
from simulator.servers.mqtt import MqttPlant
from tests.realtime.support import Mosquitto, free_port, service_process, wait_until

PACKER = "BER-L1-PACKER"
START = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def _counted(database_url: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(good_count), 0), coalesce(sum(reject_count), 0)"
            " FROM curated.production_count WHERE machine_id = %s",
            (PACKER,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _open_states(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM curated.machine_state WHERE machine_id = %s AND end_ts IS NULL",
            (PACKER,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _publish_slowly(publisher: MqttPlant, start: dt.datetime, end: dt.datetime) -> None:
    """Minute by minute, so that the service can be killed in the middle of the stream."""
    while start < end:
        publisher.publish(start, min(start + MINUTE, end))
        start += MINUTE
        time.sleep(0.01)


@pytest.mark.slow
def test_kill_9_mid_stream_then_restart_counts_every_part_once(
    database_url: str, plant: PlantModel, tmp_path: Path
) -> None:
    with psycopg.connect(database_url) as conn:
        upsert_hierarchy(conn, plant)
    broker = Mosquitto(tmp_path, "max_queued_messages 100000\n")
    broker.start()
    port = free_port()
    config = RealtimeConfig.model_validate(
        {
            "mqtt": {"client_id": f"resume-{port}", "reconnect_max_s": 1},
            "batch": {"max_values": 200, "max_latency_s": 0.05},
            "spool": {"directory": str(tmp_path / "spool")},
            "metrics": {"port": port},
            "sources": {"sparkplug": {}},
        }
    )
    config_file = tmp_path / "realtime.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    sim = SimulatedPlant(plant)
    restarted_at, end = START + 90 * MINUTE, START + 150 * MINUTE
    publisher = MqttPlant(sim, broker.url, qos=1, client_prefix=f"sim-{port}")
    publisher.connect()
    try:
        with service_process(config_file, database_url, port, broker.url) as service:
            publisher.births(START)
            stream = threading.Thread(target=_publish_slowly, args=(publisher, START, restarted_at))
            stream.start()
            wait_until(lambda: sum(_counted(database_url)) >= 20, 60, "20 parts counted")
            service.kill()  # in the middle of the stream, which goes on while it is down
            stream.join()
        assert service.returncode == -signal.SIGKILL
        with service_process(config_file, database_url, port, broker.url) as service:
            publisher.births(restarted_at)  # an edge node rebirths when its host comes back
            publisher.publish(restarted_at, end)
            cycles = sim.cycles(PACKER, START + dt.timedelta(microseconds=1), end)
            truth = (sum(c.good for c in cycles), sum(not c.good for c in cycles))
            wait_until(lambda: _counted(database_url) == truth, 120, f"{truth} parts counted")
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
    finally:
        publisher.close()
        broker.stop()
    assert _counted(database_url) == truth
    assert truth[0] > 100
    assert _open_states(database_url) == 1
