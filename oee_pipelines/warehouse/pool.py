"""psycopg 3 connection pools onto the warehouse."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from oee_pipelines.warehouse.urls import libpq_url


def open_pool(database_url: str, max_size: int = 4) -> ConnectionPool:
    """An open pool; connections are made on first use, not here, so opening never blocks."""
    return ConnectionPool(
        libpq_url(database_url), min_size=0, max_size=max_size, open=True, name="warehouse"
    )
