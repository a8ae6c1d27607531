"""A historian backfill launched as the UI launches it: over the webserver's GraphQL API, run by
the daemon, into the warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oee_pipelines.services import dagster_instance_env
from oee_pipelines.settings import PROJECT_DIR
from tests.historians.truth import rows
from tests.platform.test_webserver import webserver  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow  # backfills over real HTTP into a real warehouse

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status numPartitions }
  }
}
"""
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@pytest.fixture
def pi_url(pi_api, monkeypatch: pytest.MonkeyPatch) -> str:
    """The simulated PI Web API, where the code location's PI resource finds it."""
    _, server = pi_api
    monkeypatch.setenv("OEE_PI_URL", f"{server.url}/piwebapi")
    return server.url


@pytest.fixture
def daemon(webserver: int, tmp_path: Path, database_url: str) -> Iterator[None]:  # noqa: F811
    """The Dagster daemon of the webserver's instance: it turns backfills into runs."""
    env = {
        **os.environ,
        **dagster_instance_env(database_url),  # the instance's password, as the webserver has it
        "DAGSTER_HOME": str(tmp_path),
        "OEE_DATABASE_URL": database_url,
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _graphql(port: int, query: str, variables: dict) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["data"]


def test_a_backfill_launched_over_graphql_writes_its_days(
    warehouse,
    pi_url,
    webserver,  # noqa: F811 - the imported fixture
    daemon,
):
    params = {
        "partitionNames": ["2026-10-24", "2026-10-25"],
        "assetSelection": [
            {"path": ["pi", entity]}
            for entity in ("telemetry", "machine_state", "production_count")
        ],
        "fromFailure": False,
    }
    launched = _graphql(webserver, LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 600
    status = None
    while status not in DONE and time.monotonic() < deadline:
        time.sleep(2)
        backfill = _graphql(webserver, STATUS, {"id": launched["backfillId"]})
        status = backfill["partitionBackfillOrError"]["status"]
    assert status in ("COMPLETED", "COMPLETED_SUCCESS")
    days = {ts.date().isoformat() for _, _, ts, *_ in rows(warehouse, "pi")["telemetry"]}
    assert days == {"2026-10-24", "2026-10-25"}
