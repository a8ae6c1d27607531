"""`oee ui`: `dagster dev` as a child that never outlives `oee`, nor the server under it.

`dagster dev` runs in a process group of its own (webserver, daemon, code servers and run
workers join it), so a stop reaches the whole tree at once, as Ctrl-C in a terminal would; what
has not stopped after STOP_GRACE_S is killed. The kernel sends `dagster dev` SIGTERM when `oee`
dies, even by SIGKILL, and `oee` watches the embedded PostgreSQL, so the UI never runs on
without its database.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path

import psutil

from oee_pipelines.errors import ConfigError, OeeError, WarehouseError
from oee_pipelines.services import Services, holding_embedded_server
from oee_pipelines.settings import PROJECT_DIR

WATCH_INTERVAL_S = 2.0
"""How often `oee ui` looks at `dagster dev` and the embedded server."""
STOP_GRACE_S = 10.0
"""How long the tree has to stop after Ctrl-C or SIGTERM before it is killed."""
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def check_port_free(host: str, port: int) -> None:
    """ConfigError when the UI's address is taken: checked before anything is started."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot serve the UI on {host}:{port}: {exc.strerror};"
                " stop what uses that port, or choose another with --port"
            ) from exc


def serve_ui(services: Services, host: str, port: int) -> int:
    """Run `dagster dev` until SIGINT or SIGTERM (then 0) or until it or the database stops."""
    stop_requested: list[int] = []
    # Installed before the child starts, so that it starts with default handlers: a background
    # job of a script inherits an ignored SIGINT, and `dagster dev` would then ignore SIGTERM.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, _: stop_requested.append(signum))
    parent = os.getpid()
    dagster = Path(sys.executable).with_name("dagster")
    tree = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", host, "-p", str(port)],
        cwd=PROJECT_DIR,
        start_new_session=True,
        preexec_fn=lambda: _die_with(parent),
    )
    with ExitStack() as stack:
        if services.embedded_data_dir:
            stack.enter_context(holding_embedded_server(services.embedded_data_dir, tree.pid))
        try:
            return _watch(tree, services, stop_requested)
        finally:
            _stop(tree)


def _watch(tree: subprocess.Popen[bytes], services: Services, stop_requested: list[int]) -> int:
    while not stop_requested:
        try:
            code = tree.wait(timeout=WATCH_INTERVAL_S)
        except subprocess.TimeoutExpired:
            if services.database_stopped():
                raise WarehouseError(
                    f"the embedded PostgreSQL server ({services.embedded_data_dir}) stopped"
                    " under the UI; the UI is stopped too (see the server's log there)"
                ) from None
            continue
        raise OeeError(f"dagster dev stopped by itself (exit code {code}); see its log above")
    return 0


def _stop(tree: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to the whole tree, then SIGKILL to whatever is left of it after the grace."""
    _signal_group(tree.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    with suppress(subprocess.TimeoutExpired):
        tree.wait(timeout=STOP_GRACE_S)
    while _group_alive(tree.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    _signal_group(tree.pid, signal.SIGKILL)
    tree.wait()


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie that no init reaps does not)."""
    for process in psutil.process_iter(["status"]):
        with suppress(psutil.Error, OSError):
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == pgid:
                return True
    return False


def _die_with(parent: int) -> None:
    """In the child before exec: SIGTERM when `oee` dies, however it dies (Linux)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
