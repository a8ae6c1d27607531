"""Faults a plant network produces: the warehouse away, the broker restarted, TLS with mTLS."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool
from sqlalchemy.engine import make_url

from tests.realtime.support import (
    Mosquitto,
    TcpProxy,
    publish_all,
    publisher,
    running_service,
    service_config,
    telemetry_rows,
    unique_prefix,
    wait_until,
)


def proxied(database_url: str, proxy: TcpProxy) -> str:
    return make_url(database_url).set(port=proxy.port).render_as_string(hide_password=False)


@pytest.mark.slow
def test_a_warehouse_outage_spools_and_loses_nothing(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    target = make_url(database_url)
    proxy = TcpProxy(target.host, target.port)
    proxy.start()
    prefix = unique_prefix()
    config = service_config(prefix, tmp_path / "spool")
    with running_service(config, proxied(database_url, proxy)) as service, publisher() as client:
        publish_all(client, prefix, range(200))
        wait_until(lambda: len(telemetry_rows(database_url)) == 200, what="200 rows")
        proxy.stop()
        publish_all(client, prefix, range(200, 500))
        wait_until(lambda: service.metrics.health()[1]["spool_batches"] > 0, what="spooling")
        wait_until(lambda: not service.metrics.health()[1]["database_up"], what="an alarm")
        assert len(telemetry_rows(database_url)) == 200
        proxy.start()
        wait_until(lambda: len(telemetry_rows(database_url)) == 500, 60, "500 rows")
        wait_until(lambda: service.metrics.health()[1]["spool_batches"] == 0, what="drained")
    proxy.stop()
    assert [value for _, value in telemetry_rows(database_url)] == [float(i) for i in range(500)]


@pytest.mark.slow
def test_a_full_spool_stops_intake_with_an_alarm_and_loses_nothing(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    target = make_url(database_url)
    proxy = TcpProxy(target.host, target.port)
    prefix = unique_prefix()
    config = service_config(prefix, tmp_path / "spool", spool={"max_bytes": 4000})
    with running_service(config, proxied(database_url, proxy)) as service, publisher() as client:
        publish_all(client, prefix, range(300))  # the warehouse is away from the start
        wait_until(lambda: service.metrics.health()[1]["spool_full"], what="a full spool")
        assert service.metrics.health()[0] is False
        proxy.start()
        wait_until(lambda: len(telemetry_rows(database_url)) == 300, 180, "300 rows")
        wait_until(lambda: service.metrics.health()[0], what="healthy again")
    proxy.stop()
    assert [value for _, value in telemetry_rows(database_url)] == [float(i) for i in range(300)]


@pytest.mark.slow
def test_a_broker_restart_loses_nothing(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    prefix = unique_prefix()
    try:
        with running_service(service_config(prefix, tmp_path / "spool"), database_url, broker.url):
            with publisher(broker.url) as client:
                publish_all(client, prefix, range(100))
            wait_until(lambda: len(telemetry_rows(database_url)) == 100, what="100 rows")
            broker.stop()
            broker.start()
            # published before the service is back: the broker keeps them in its session
            with publisher(broker.url) as client:
                publish_all(client, prefix, range(100, 300))
            wait_until(lambda: len(telemetry_rows(database_url)) == 300, 60, "300 rows")
    finally:
        broker.stop()
    assert [value for _, value in telemetry_rows(database_url)] == [float(i) for i in range(300)]


def _certificates(directory: Path) -> dict[str, Path]:
    """A CA, and a server and a client certificate it signed, for 127.0.0.1."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=oee test CA",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        )
    return {
        name: directory / name
        for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }


def test_mqtt_over_tls_with_client_certificates(
    pool: ConnectionPool, database_url: str, tmp_path: Path
) -> None:
    files = _certificates(tmp_path)
    broker = Mosquitto(
        tmp_path,
        f"cafile {files['ca.pem']}\ncertfile {files['server.pem']}\n"
        f"keyfile {files['server.key']}\nrequire_certificate true\n",
    )
    broker.start()
    tls = {
        "ca_file": files["ca.pem"],
        "cert_file": files["client.pem"],
        "key_file": files["client.key"],
    }
    url = f"mqtts://127.0.0.1:{broker.port}"
    prefix = unique_prefix()
    config = service_config(prefix, tmp_path / "spool", mqtt={"tls": tls})
    try:
        with running_service(config, database_url, url):
            with publisher(
                url,
                ca_certs=str(files["ca.pem"]),
                certfile=str(files["client.pem"]),
                keyfile=str(files["client.key"]),
            ) as client:
                publish_all(client, prefix, range(50))
            wait_until(lambda: len(telemetry_rows(database_url)) == 50, what="50 rows")
    finally:
        broker.stop()
