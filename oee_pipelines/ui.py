"""`oee ui`: `dagster dev` as a child that never outlives `oee`, nor the server under it.

`dagster dev` runs in a process group of its own (webserver, daemon, code servers and run
workers join it): it is asked to stop, and what is left of its group is then killed. The
kernel sends `dagster dev` SIGTERM when `oee` dies, even by SIGKILL, and `oee` watches the
embedded PostgreSQL, so the UI never runs on without its database.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from contextlib import ExitStack, suppress
from pathlib import Path

from oee_pipelines.errors import ConfigError, OeeError, WarehouseError
from oee_pipelines.services import Services, holding_embedded_server
from oee_pipelines.settings import PROJECT_DIR

WATCH_INTERVAL_S = 0.5
"""How often `oee ui` looks for a stop request, at `dagster dev` and at the embedded server."""
STOP_GRACE_S = 5.0
"""How long `dagster dev` has to stop its tree before what is left is killed. Its webserver and
daemon have stopped working within a second; the rest is interpreter teardown."""
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
    """SIGTERM to `dagster dev`, which stops its webserver, daemon and code servers in order;
    whatever is left of its process group when it exits, or after STOP_GRACE_S, is killed.

    Only the leader is signalled: its code servers, stopped under it, would be restarted.
    """
    with suppress(ProcessLookupError):
        tree.send_signal(signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        tree.wait(timeout=STOP_GRACE_S)
    with suppress(ProcessLookupError):
        os.killpg(tree.pid, signal.SIGKILL)
    tree.wait()


def _die_with(parent: int) -> None:
    """In the child before exec: SIGTERM when `oee` dies, however it dies (Linux)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # died before the line above
        os.kill(os.getpid(), signal.SIGTERM)
