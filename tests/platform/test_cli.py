"""The `oee` command as a user runs it, in a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from oee_pipelines.settings import PROJECT_DIR
from oee_pipelines.warehouse.migrate import head_revision
from oee_pipelines.warehouse.urls import database_name, server_name, with_database
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
        header = [process.stdout.readline() for _ in range(2)]  # what it serves, then how
        lines = [process.stdout.readline() for _ in range(len(plant.machines()))]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert header[0].startswith("simulated plant, seed 7, serving")
    machine_ids = {line.split()[1] for line in lines}
    assert machine_ids == {machine.id for _, _, machine in plant.machines()}
    # Each line is the simulated plant's own state of that machine at that second.
    simulated = SimulatedPlant(plant, seed=7)
    for line in lines:
        stamp, machine_id, state = line.split()[:3]
        at = dt.datetime.fromisoformat(stamp)
        states = {s.state for s in simulated.states(machine_id, at, at + dt.timedelta(seconds=1))}
        assert state in states


def test_db_upgrade_is_idempotent(oee_env: dict[str, str]) -> None:
    for _ in range(2):
        result = oee("db", "upgrade", env=oee_env)
        assert result.returncode == 0, result.stderr
    with psycopg.connect(oee_env["OEE_DATABASE_URL"]) as conn:
        applied = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert applied == [(head_revision(),)]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["demo"], {"OEE_DEMO_DAYS": "500"}, "OEE_DEMO_DAYS='500' is not valid: expected an"),
        (["db", "upgrade"], {"OEE_DATABASE_URL": "http://oee:s3cret@db/oee"}, "OEE_DATABASE_URL"),
        (
            ["simulate", "truth", "--machine", "X", "--from", "2026-11-20", "--to", "2026-11-21"],
            {},
            "--machine X: no such machine in ",
        ),
        (["demo"], {"OEE_PLANT_MODEL": "/nonexistent/plant.yaml"}, "/nonexistent/plant.yaml: "),
    ],
)
def test_an_expected_error_is_one_line_and_exit_1(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = oee(*args, env={"OEE_HOME": str(tmp_path), **env})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"oee: {message}")
    assert result.stderr.count("\n") == 1 and "s3cret" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before anything started
    debug = oee("--debug", *args, env={"OEE_HOME": str(tmp_path), **env})
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.splitlines()[-1] == result.stderr.strip()


def test_a_usage_error_stays_argparse_s(tmp_path: Path) -> None:
    result = oee("simulate", "truth", "--machine", "M1")
    assert result.returncode == 2
    assert "the following arguments are required: --from, --to" in result.stderr


def test_a_mistyped_database_is_an_error_and_db_upgrade_create_creates_it(
    oee_env: dict[str, str], server_url: str
) -> None:
    name = f"{database_name(oee_env['OEE_DATABASE_URL'])}_typo"
    env = {**oee_env, "OEE_DATABASE_URL": with_database(oee_env["OEE_DATABASE_URL"], name)}
    try:
        refused = oee("db", "upgrade", env=env)
        assert refused.returncode == 1
        assert refused.stderr == (
            f"oee: database {name} does not exist on server {server_name(server_url)};"
            " create it, or run `oee db upgrade --create`\n"
        )
        assert not {name, f"{name}_dagster"} & _databases(server_url)
        created = oee("db", "upgrade", "--create", env=env)
        assert created.returncode == 0, created.stderr
        assert {name, f"{name}_dagster"} <= _databases(server_url)
    finally:
        for database in (name, f"{name}_dagster"):
            drop_database(server_url, database)


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"postgresql://oee:s3cret@127.0.0.1:{probe.getsockname()[1]}/oee"
        result = oee("db", "upgrade", env={"OEE_DATABASE_URL": url, "OEE_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.startswith("oee: cannot reach the database server 127.0.0.1:")
    assert result.stderr.count("\n") == 1 and "s3cret" not in result.stderr


def _databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def test_demo_prints_oee_per_line_and_shift_and_can_run_again(oee_env: dict[str, str]) -> None:
    first = oee("demo", env=oee_env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "OEE per line, last 3 shifts" in first.stdout
    assert "Top 3 downtime reasons per line" in first.stdout
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
        historians = conn.execute(
            "SELECT DISTINCT source FROM curated.telemetry WHERE source IN ('pi', 'aveva')"
        ).fetchall()
        mes_syncs = conn.execute(
            "SELECT status FROM audit.sync_log WHERE source_system = 'mes' AND operation = 'sync'"
        ).fetchall()
        mes_orders = conn.execute(
            "SELECT count(*) FROM curated.work_order WHERE planned_start IS NOT NULL"
        ).fetchone()
        live = conn.execute(
            "SELECT count(*) > 0 FROM curated.telemetry WHERE source IN ('sparkplug', 'mqtt_json')"
        ).fetchone()
    assert mes_syncs == [("success",), ("success",)]  # the simulated MES, synced by each run
    assert mes_orders is not None and mes_orders[0] > 0
    assert runs == (2,)
    assert overlaps == (0,)
    assert sorted(historians) == [("aveva",), ("pi",)]
    assert live == (True,)  # the live window's realtime ingest
    # Both runs are kept by the Dagster instance in its own PostgreSQL database.
    dagster_url = with_database(
        oee_env["OEE_DATABASE_URL"], f"{database_name(oee_env['OEE_DATABASE_URL'])}_dagster"
    )
    with psycopg.connect(dagster_url) as conn:
        demo_runs = conn.execute(
            "SELECT count(*) FROM runs WHERE status = 'SUCCESS' AND pipeline_name = 'demo_job'"
        ).fetchone()
        # after the backfills and the sample files, each demo rolls up again
        rollups = conn.execute(
            "SELECT count(*) FROM runs"
            " WHERE status = 'SUCCESS' AND pipeline_name = 'oee_rollup_job'"
        ).fetchone()
    assert demo_runs == (2,)
    assert rollups == (2,)
