"""The UI path: dagster-webserver in a subprocess, driven over its GraphQL API as the UI is."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from oee_pipelines.services import dagster_instance_env, ensure_database, prepare_dagster_home
from oee_pipelines.settings import PROJECT_DIR
from oee_pipelines.warehouse.urls import database_name, with_database
from tests.support.database import drop_database

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webserver(
    tmp_path: Path, database_url: str, dbt_manifest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    dagster_database = f"{database_name(database_url)}_dagster"
    dagster_url = with_database(database_url, dagster_database)
    ensure_database(dagster_url, create=True)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    dagster_home = prepare_dagster_home(tmp_path, dagster_url)  # the instance oee itself writes
    with (dagster_home / "dagster.yaml").open("a") as instance_config:
        # Runs launch at once: this test runs no daemon to dequeue them.
        instance_config.write(
            "run_coordinator:\n"
            "  module: dagster.core.run_coordinator\n"
            "  class: DefaultRunCoordinator\n"
        )
    port = _free_port()
    env = {
        **os.environ,
        **dagster_instance_env(dagster_url),
        "DAGSTER_HOME": str(dagster_home),
        "OEE_DATABASE_URL": database_url,
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that its code server is stopped with it, as a group
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("dagster-webserver did not answer within 120 s")
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        drop_database(with_database(database_url, "postgres"), dagster_database)


def test_a_materialization_launched_over_graphql_succeeds(webserver: int, database_url: str):
    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver)
    run_id = client.submit_job_execution("oee_rollup_job")
    deadline = time.monotonic() + 900  # two shared cores under load: a run can take minutes
    status = client.get_run_status(run_id)
    while status not in FINISHED and time.monotonic() < deadline:
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status == DagsterRunStatus.SUCCESS, status
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM curated.machine").fetchone() == (10,)
        assert conn.execute("SELECT count(*) FROM audit.sync_log").fetchone() == (1,)
