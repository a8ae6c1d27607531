"""psycopg 3 connection pools onto the warehouse."""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from oee_pipelines.errors import WarehouseError
from oee_pipelines.warehouse.urls import libpq_url


def open_pool(database_url: str, max_size: int = 4) -> ConnectionPool:
    """An open pool; connections are made on first use, not here, so opening never blocks."""
    return ConnectionPool(
        libpq_url(database_url), min_size=0, max_size=max_size, open=True, name="warehouse"
    )


def scalar(conn: Connection, query: str | sql.Composed, params: Any = None) -> Any:
    """The first column of the one row a query returns."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise WarehouseError(f"no row from {query!r}")
    return row[0]
