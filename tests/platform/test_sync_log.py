"""`audit.sync_log` reconciles itself: a row left 'running' by a killed process is abandoned."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse import sync_log
from oee_pipelines.warehouse.audit import ABANDONED

KILLED_SYNC = """
import sys, time
from oee_pipelines.warehouse import open_pool, sync_log
with open_pool(sys.argv[1]) as pool:
    with sync_log(pool, actor="test", operation="sync", source_system="mes", target="t") as run:
        run.rows_read = 5
        print("started", flush=True)
        time.sleep(600)
"""


def _rows(pool: ConnectionPool) -> list[tuple]:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT source_system, status, error, finished_at IS NOT NULL"
            " FROM audit.sync_log ORDER BY sync_id"
        ).fetchall()


def test_a_sync_killed_midway_is_marked_abandoned_when_the_next_one_starts(
    database_url: str, pool: ConnectionPool
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_SYNC), database_url],
        stdout=subprocess.PIPE,
        text=True,
    ) as killed:
        assert killed.stdout.readline() == "started\n"
        killed.send_signal(signal.SIGKILL)
    assert _rows(pool) == [("mes", "running", None, False)]

    erp = sync_log(pool, actor="test", operation="sync", source_system="erp", target="t")
    pi = sync_log(pool, actor="test", operation="sync", source_system="pi", target="t")
    with erp, pi:  # erp is alive and holds its lock while pi starts: it stays running
        assert _rows(pool) == [
            ("mes", "abandoned", ABANDONED, True),
            ("erp", "running", None, False),
            ("pi", "running", None, False),
        ]
    assert _rows(pool)[1:] == [("erp", "success", None, True), ("pi", "success", None, True)]
