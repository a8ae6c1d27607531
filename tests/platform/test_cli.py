"""The `oee` command as a user runs it, in a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from oee_pipelines.settings import PROJECT_DIR
from oee_pipelines.warehouse.urls import database_name, with_database
from simulator import SimulatedPlant
from tests.support.database import drop_database

OEE = str(Path(sys.executable).with_name("oee"))


def oee(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OEE, *args], cwd=PROJECT_DIR, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture
def oee_env(tmp_path: Path, empty_database_url: str, server_url: str) -> Iterator[dict[str, str]]:
    """The environment of `oee` on a new database; the Dagster database it adds is dropped."""
    env = {"OEE_DATABASE_URL": empty_database_url, "OEE_HOME": str(tmp_path), "OEE_DEMO_DAYS": "2"}
    os.environ.pop("DAGSTER_HOME", None)
    yield env
    drop_database(server_url, f"{database_name(empty_database_url)}_dagster")


def test_simulate_truth_prints_the_ground_truth_as_json() -> None:
    result = oee(
        "simulate", "truth", "--machine", "BER-L1-FILLER",
        "--from", "2026-11-20T05:00:00+00:00", "--to", "2026-11-20T13:00:00+00:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    truth = json.loads(result.stdout)
    assert truth["machine_id"] == "BER-L1-FILLER"
    assert truth["planned_production_s"] == 8 * 3600 - truth["planned_downtime_s"]
    assert 0 < truth["oee"] < 1
    assert truth["states"][0]["start"] == "2026-11-20T05:00:00+00:00"
    again = oee(
        "simulate", "truth", "--machine", "BER-L1-FILLER",
        "--from", "2026-11-20T05:00:00+00:00", "--to", "2026-11-20T13:00:00+00:00",
    )  # fmt: skip
    assert again.stdout == result.stdout


def test_simulate_shows_the_plant_live_and_stops_cleanly_on_sigterm(plant) -> None:
    with subprocess.Popen(
        [OEE, "simulate"], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True
    ) as process:
        lines = [process.stdout.readline() for _ in range(1 + len(plant.machines()))]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    machine_ids = {line.split()[1] for line in lines[1:]}
    assert machine_ids == {machine.id for _, _, machine in plant.machines()}
    # Each line is the simulated plant's own state of that machine at that second.
    simulated = SimulatedPlant(plant, seed=7)
    for line in lines[1:]:
        stamp, machine_id, state = line.split()[:3]
        at = dt.datetime.fromisoformat(stamp)
        states = {s.state for s in simulated.states(machine_id, at, at + dt.timedelta(seconds=1))}
        assert state in states


def test_db_upgrade_is_idempotent(oee_env: dict[str, str]) -> None:
    for _ in range(2):
        result = oee("db", "upgrade", env=oee_env)
        assert result.returncode == 0, result.stderr
    with psycopg.connect(oee_env["OEE_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0001_foundation",)
        ]


def test_demo_prints_oee_per_line_and_shift_and_can_run_again(oee_env: dict[str, str]) -> None:
    first = oee("demo", env=oee_env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "OEE per line, last 3 shifts" in first.stdout
    for line_name in ("Bottling line 1", "Press line 2", "Machining line 1"):
        assert line_name in first.stdout
    second = oee("demo", env=oee_env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    with psycopg.connect(oee_env["OEE_DATABASE_URL"]) as conn:
        runs = conn.execute(
            "SELECT count(*) FROM audit.sync_log WHERE source_system = 'simulator'"
        ).fetchone()
        overlaps = conn.execute(
            """
            SELECT count(*) FROM curated.machine_state a JOIN curated.machine_state b
              ON a.machine_id = b.machine_id AND a.start_ts < b.start_ts AND a.end_ts > b.start_ts
            """
        ).fetchone()
    assert runs == (2,)
    assert overlaps == (0,)
    # Both runs are kept by the Dagster instance in its own PostgreSQL database.
    dagster_url = with_database(
        oee_env["OEE_DATABASE_URL"], f"{database_name(oee_env['OEE_DATABASE_URL'])}_dagster"
    )
    with psycopg.connect(dagster_url) as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'").fetchone() == (2,)
