"""`audit.sync_log`: one row for every sync, backfill, import and export, whatever its outcome.

A running operation holds a session-level advisory lock keyed by its sync_id on a connection of
its own, for as long as it runs. A process that is killed loses the lock with its connection,
so when the next operation starts, every 'running' row whose lock is free belongs to a process
that ended without finishing, and is marked 'abandoned'.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse.pool import scalar

SYNC_LOCK_NAMESPACE = 0x0EE5
"""First key of the two-key advisory locks on sync_ids (no other user of that key space);
the second is the sync_id modulo 2**31."""
ABANDONED = "abandoned: the process ended without finishing (killed or crashed)"

# The lock is taken in the transaction that inserts the row, so no other session ever sees
# the row 'running' without its lock.
_START = """
INSERT INTO audit.sync_log (actor, operation, source_system, target, status)
VALUES (%s, %s, %s, %s, 'running') RETURNING sync_id
"""
_LOCK = "SELECT pg_advisory_lock(%s, mod(%s, 2147483648)::integer)"
# A transaction-level try-lock succeeds only where no session holds the row's lock, and is
# released at commit.
_RECONCILE = """
WITH running AS MATERIALIZED (
    SELECT sync_id FROM audit.sync_log WHERE status = 'running'
)
UPDATE audit.sync_log AS log
SET status = 'abandoned', finished_at = now(), error = %s
FROM running
WHERE log.sync_id = running.sync_id
  AND pg_try_advisory_xact_lock(%s, mod(running.sync_id, 2147483648)::integer)
"""
_FINISH = """
UPDATE audit.sync_log
SET finished_at = now(), rows_read = %s, rows_written = %s, status = %s, error = %s
WHERE sync_id = %s
"""


@dataclass
class SyncRun:
    """Filled in by the operation while it runs; recorded when it ends."""

    rows_read: int = 0
    rows_written: int = 0


@contextmanager
def sync_log(
    pool: ConnectionPool, *, actor: str, operation: str, source_system: str, target: str
) -> Iterator[SyncRun]:
    """Record the operation as running, then as success or failed with the error.

    The log row is written on a connection of its own, in its own transactions, so a failure
    that rolls back the operation's data is still recorded. Rows left 'running' by processes
    that died are marked 'abandoned' first.
    """
    with psycopg.connect(str(pool.conninfo), autocommit=True) as conn:
        reconcile_sync_log(conn)
        with conn.transaction():
            sync_id = scalar(conn, _START, (actor, operation, source_system, target))
            conn.execute(_LOCK, (SYNC_LOCK_NAMESPACE, sync_id))
        run = SyncRun()
        status, error = "success", None
        try:
            yield run
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            conn.execute(_FINISH, (run.rows_read, run.rows_written, status, error, sync_id))


def reconcile_sync_log(conn: psycopg.Connection) -> int:
    """Mark 'abandoned' every running row whose process is gone; returns how many."""
    with conn.transaction():
        return conn.execute(_RECONCILE, (ABANDONED, SYNC_LOCK_NAMESPACE)).rowcount
