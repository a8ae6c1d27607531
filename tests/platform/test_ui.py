"""`oee ui` as an operator runs it: in the background of a script, stopped, killed, starved.

Each test starts the real tree (dagster dev, webserver, daemon, code servers) on the embedded
PostgreSQL, or on the test server with a password, and looks at it with `ps`'s eyes (psutil).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from psycopg import sql

from oee_pipelines.settings import PROJECT_DIR
from oee_pipelines.warehouse.urls import database_name, with_database
from tests.support.database import drop_database, execute

OEE = str(Path(sys.executable).with_name("oee"))
STARTUP_TIMEOUT_S = 900  # two shared cores: importing Dagster alone can take a minute


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _embedded_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "OEE_HOME": str(home)}
    for name in ("OEE_DATABASE_URL", "DAGSTER_HOME"):
        env.pop(name, None)
    return env


def _start_ui_in_background(env: dict[str, str], port: int, log: Path) -> psutil.Process:
    """`oee ui &` from a non-interactive shell script, which starts it with SIGINT ignored."""
    script = f"{OEE} ui --port {port} > {log} 2>&1 &\necho $!\nsleep 60 &\necho $!\n"
    shell = subprocess.run(
        ["sh", "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    )
    ui_pid, sibling_pid = map(int, shell.stdout.split())
    sibling = psutil.Process(sibling_pid)  # started as oee ui was, and still as it started
    assert _ignores_sigint(sibling)
    sibling.kill()
    ui = psutil.Process(ui_pid)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert ui.is_running(), log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=5).is_success:
                return ui
        except httpx.TransportError:
            time.sleep(1)
    pytest.fail(f"oee ui did not answer within {STARTUP_TIMEOUT_S} s")


def _postmaster(home: Path) -> psutil.Process:
    return psutil.Process(int((home / "postgres" / "postmaster.pid").read_text().split()[0]))


def _ignores_sigint(process: psutil.Process) -> bool:
    status = Path(f"/proc/{process.pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))[7:], 16)
    return bool(ignored & (1 << (signal.SIGINT - 1)))


def _alive(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of `processes` still running after `timeout` (a zombie no init reaps is gone)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if _status(p) not in (None, psutil.STATUS_ZOMBIE)]


def _status(process: psutil.Process) -> str | None:
    try:
        return process.status()
    except psutil.NoSuchProcess:
        return None


def _cleanup(processes: list[psutil.Process]) -> None:
    for process in processes:
        if process.is_running():
            process.kill()


@pytest.mark.slow
def test_sigterm_stops_the_whole_tree_and_the_database_within_15_s(tmp_path: Path) -> None:
    ui = _start_ui_in_background(_embedded_env(tmp_path), _free_port(), tmp_path / "ui.log")
    tree = [ui, *ui.children(recursive=True), _postmaster(tmp_path)]
    try:
        commands = " ".join(" ".join(p.cmdline()) for p in tree)
        for part in ("dagster dev", "dagster_webserver", "dagster._daemon", "code-server"):
            assert part in commands
        ui.send_signal(signal.SIGTERM)
        assert _alive(tree[1:], timeout=15) == []
        assert _alive([ui], timeout=60) == []
    finally:
        _cleanup(tree)


@pytest.mark.slow
def test_the_ui_stops_when_its_database_does_and_its_tree_dies_with_it(tmp_path: Path) -> None:
    env = _embedded_env(tmp_path)
    log = tmp_path / "ui.log"
    # The embedded server stops under a running UI: oee ui stops its tree and says why.
    ui = _start_ui_in_background(env, _free_port(), log)
    tree = [ui, *ui.children(recursive=True)]
    try:
        _postmaster(tmp_path).send_signal(signal.SIGINT)  # pg_ctl stop -m fast
        assert _alive(tree, timeout=60) == []
        last_line = log.read_text().strip().splitlines()[-1]
        assert last_line.startswith("oee: the embedded PostgreSQL server (")
        assert last_line.endswith(
            "stopped under the UI; the UI is stopped too (see the server's log there)"
        )

        # oee ui is killed: its children stop too, and the next oee command stops the server.
        ui = _start_ui_in_background(env, _free_port(), log)
        tree = [ui, *ui.children(recursive=True)]
        postmaster = _postmaster(tmp_path)
        ui.kill()
        assert _alive(tree, timeout=60) == []
        assert postmaster.is_running()
        upgrade = subprocess.run([OEE, "db", "upgrade"], env=env, capture_output=True, text=True)
        assert upgrade.returncode == 0, upgrade.stderr
        assert _alive([postmaster], timeout=30) == []
    finally:
        _cleanup(tree)


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            [OEE, "ui", "--port", str(port)],
            env=_embedded_env(tmp_path),
            capture_output=True,
            text=True,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"oee: cannot serve the UI on 127.0.0.1:{port}: Address already in use;"
        " stop what uses that port, or choose another with --port\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def role_with_password(server_url: str) -> Iterator[tuple[str, str]]:
    """A role with a password on the test server, and a URL of a warehouse it owns."""
    role, password = f"oee_test_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    name = f"{role}_warehouse"
    execute(
        server_url,
        sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)
        ),
    )
    execute(
        server_url,
        sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(role)),
    )
    url = with_database(server_url, name).replace("postgres@", f"{role}:{password}@")
    yield url, password
    for database in (name, f"{name}_dagster"):
        drop_database(server_url, database)
    execute(server_url, sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.slow
def test_the_password_is_never_printed_written_or_on_a_command_line(
    tmp_path: Path, role_with_password: tuple[str, str]
) -> None:
    url, password = role_with_password
    home = tmp_path / "home"
    env = {**_embedded_env(home), "OEE_DATABASE_URL": url, "OEE_DEMO_DAYS": "1"}
    outputs = []
    for command in (["db", "upgrade"], ["demo"]):
        result = subprocess.run([OEE, *command], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        outputs += [result.stdout, result.stderr]
    log = tmp_path / "ui.log"
    ui = _start_ui_in_background(env, _free_port(), log)
    tree = [ui, *ui.children(recursive=True)]
    try:
        command_lines = [" ".join(p.cmdline()) for p in psutil.process_iter() if _readable(p)]
        assert any("dagster_webserver" in line for line in command_lines)
        ui.send_signal(signal.SIGTERM)
        assert _alive(tree, timeout=60) == []
    finally:
        _cleanup(tree)
    outputs.append(log.read_text())
    files = {path: path.read_bytes() for path in home.rglob("*") if path.is_file()}
    assert home / "dagster" / "dagster.yaml" in files
    assert [o for o in outputs if password in o] == []
    assert [line for line in command_lines if password in line] == []
    assert [path for path, data in files.items() if password.encode() in data] == []
    with psycopg.connect(url) as conn:  # the role's own work, not the superuser's
        assert conn.execute("SELECT count(*) FROM audit.sync_log").fetchone()[0] >= 1
    assert database_name(url).endswith("_warehouse")


def _readable(process: psutil.Process) -> bool:
    try:
        process.cmdline()
        return True
    except psutil.Error:
        return False
