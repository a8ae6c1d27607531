"""`audit.sync_log`: one row for every sync, backfill, import and export, whatever its outcome."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool


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

    The log row is written in its own transactions, so a failure that rolls back the
    operation's data is still recorded.
    """
    with pool.connection() as conn:
        sync_id = conn.execute(
            """
            INSERT INTO audit.sync_log (actor, operation, source_system, target, status)
            VALUES (%s, %s, %s, %s, 'running') RETURNING sync_id
            """,
            (actor, operation, source_system, target),
        ).fetchone()[0]
    run = SyncRun()
    status, error = "success", None
    try:
        yield run
    except BaseException as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with pool.connection() as conn:
            conn.execute(
                """
                UPDATE audit.sync_log
                SET finished_at = now(), rows_read = %s, rows_written = %s, status = %s, error = %s
                WHERE sync_id = %s
                """,
                (run.rows_read, run.rows_written, status, error, sync_id),
            )
