"""The service end to end: a real Mosquitto, a real PostgreSQL, the test's own JSON source."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from tests.realtime.support import (
    dead_letters,
    publish_all,
    publisher,
    running_service,
    service_config,
    telemetry_rows,
    unique_prefix,
    wait_until,
)


@pytest.mark.parametrize("protocol", [5, 311])
def test_values_appear_in_telemetry_exactly_once(
    pool: ConnectionPool, database_url: str, tmp_path: Path, protocol: int
) -> None:
    prefix = unique_prefix()
    # MQTT 3.1.1 has no Receive Maximum: the broker sends 20 messages before our acknowledgements
    receive_maximum = 10_000 if protocol == 5 else 20
    mqtt = {"protocol": protocol, "receive_maximum": receive_maximum}
    config = service_config(prefix, tmp_path / "spool", mqtt=mqtt)
    with running_service(config, database_url), publisher() as client:
        publish_all(client, prefix, range(500))
        publish_all(client, prefix, range(100))  # the same readings again
        wait_until(lambda: len(telemetry_rows(database_url)) == 500, what="500 rows")
    rows = telemetry_rows(database_url)
    assert [value for _, value in rows] == [float(i) for i in range(500)]
    assert dead_letters(database_url) == []


def test_bad_and_oversized_payloads_are_dead_letters(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    config = service_config(prefix, tmp_path / "spool", limits={"max_payload_bytes": 100})
    with running_service(config, database_url), publisher() as client:
        client.publish(f"{prefix}/M1/speed", b"x" * 101, qos=1).wait_for_publish(10)
        client.publish(f"{prefix}/M1/speed", b"not json", qos=1).wait_for_publish(10)
        publish_all(client, prefix, range(1))
        wait_until(lambda: len(dead_letters(database_url)) == 2, what="two dead letters")
        wait_until(lambda: len(telemetry_rows(database_url)) == 1, what="the good row")
    (_, oversized, first, context), (_, undecodable, second, _) = dead_letters(database_url)
    assert oversized == "payload of 101 bytes is over the limit of 100"
    assert bytes(first) == b"x" * 100
    assert context == {"topic": f"{prefix}/M1/speed", "size": "101"}
    assert "Expecting value" in undecodable
    assert bytes(second) == b"not json"


def test_a_flood_from_one_prefix_is_rate_limited_without_costing_the_others(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    with pool.connection() as conn:
        conn.execute("INSERT INTO curated.machine VALUES ('M2', 'L1', 'S1', 'Flooder', 2.0)")
    prefix = unique_prefix()
    rate = {"messages_per_s": 0.001, "burst": 10, "prefix_levels": 3}  # per <prefix>/<machine>
    config = service_config(prefix, tmp_path / "spool", limits={"rate": rate})
    with running_service(config, database_url), publisher() as client:
        publish_all(client, prefix, range(30), machine="M2")
        publish_all(client, prefix, range(10), machine="M1")
        wait_until(lambda: len(dead_letters(database_url)) == 20, what="20 dead letters")
        wait_until(lambda: len(telemetry_rows(database_url)) == 20, what="20 rows")
    reasons = {reason for _, reason, _, _ in dead_letters(database_url)}
    assert reasons == {"rate limit of the topic prefix exceeded"}
    with pool.connection() as conn:
        per_machine = conn.execute(
            "SELECT machine_id, count(*) FROM curated.telemetry GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert per_machine == [("M1", 10), ("M2", 10)]


def test_metrics_and_health_endpoints(pool: ConnectionPool, database_url: str, tmp_path: Path):
    prefix = unique_prefix()
    config = service_config(prefix, tmp_path / "spool", metrics={"port": 0})
    with running_service(config, database_url) as service:
        with publisher() as client:
            publish_all(client, prefix, range(20))
        wait_until(lambda: len(telemetry_rows(database_url)) == 20, what="20 rows")
        base = f"http://127.0.0.1:{service.metrics_port}"
        with urllib.request.urlopen(f"{base}/metrics") as response:
            metrics = response.read().decode()
        with urllib.request.urlopen(f"{base}/health") as response:
            health = response.read().decode()
    assert 'oee_realtime_messages_total{source="test_json"} 20.0' in metrics
    assert 'oee_realtime_rows_written_total{table="telemetry"} 20.0' in metrics
    assert 'oee_realtime_source_connected{source="test_json"} 1.0' in metrics
    assert "oee_realtime_write_seconds_count" in metrics
    assert '"spool_full": false' in health and '"test_json": true' in health
