"""Benchmarks: `python -m benchmarks.NAME` prints one JSON line (contracts.md section 5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg
from psycopg import sql

from oee_pipelines.services import embedded_postgres
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import upgrade
from oee_pipelines.warehouse.urls import with_database


@contextmanager
def scratch_warehouse(settings: Settings, name: str) -> Iterator[str]:
    """A freshly migrated database `name` on the OEE_DATABASE_URL server (or the embedded
    one, running while the block runs); yields its URL. It is dropped and created anew on each
    run, and left behind for a look after the run."""
    with ExitStack() as stack:
        server = settings.database_url or stack.enter_context(
            embedded_postgres(settings.home / "postgres")
        )
        with psycopg.connect(with_database(server, "postgres"), autocommit=True) as conn:
            database = sql.Identifier(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
        url = with_database(server, name)
        upgrade(url)
        yield url
